// Faults: a full LRU map under GC, pins deleted mid-walk, fds closed under iterators, bpffs unmounted,
// no CAP_BPF, a memlock limit. Each gives the documented error, leaks no fd and leaves maps as they were.
import t from 'tap';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { caught, openFdCount, privateBpffs, requirePrivileged } from '../helpers/priv.js';
import { GCFilter, type ConntrackMap } from '../../src/ctmap/index.js';
import { CtKey4Global, CtEntry } from '../../src/structs/index.js';
import { mountBpffs, unmountBpffs, BpfError, isNotExist, IterationError } from '../../src/syscall/index.js';
import { setLogger } from '../../src/compat/index.js';
import type { Test } from 'tap';
import { Maps, newMap, setCTMapConfig, resetCTMapConfig, MapLoadError, setMapRoot, DefaultMapRoot } from '../../src/compat/index.js';
import { gcWithFilter } from '../../src/compat/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const key = (i: number): CtKey4Global => CtKey4Global.fromBytes(Uint8Array.of(10, (i >> 16) & 255, (i >> 8) & 255, i & 255, 192, 168, 0, 1, 0, 0x50, (i >> 8) & 255, i & 255, 6, 0));

function setup(t: Test, tcp = 1024): string {
  const root = privateBpffs(t);
  setMapRoot(root);
  setCTMapConfig({ ctMapEntriesGlobalTCP: tcp, ctMapEntriesGlobalAny: 1024 });
  const prevLog = setLogger(() => undefined);
  t.teardown(() => { setMapRoot(DefaultMapRoot); resetCTMapConfig(); setLogger(prevLog); });
  return root;
}

t.test('a full LRU map evicting under GC: passes finish, counts add up, no fd leaks', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t);
  const m = newMap('cilium_ct4_global', 0);
  m.openOrCreate();
  t.teardown(() => { m.close(); });
  for (let i = 0; i < 1024; i++) m.update(key(i), new CtEntry({ lifetime: 1 }));
  const fds = openFdCount();
  // A writer keeps inserting new entries into the full map: the kernel evicts old ones under the pass.
  // (Its report is not needed here: stdout is discarded so a large report cannot block its exit.)
  const child = spawn(process.execPath, [resolve(here, '..', 'helpers', 'ctwriter.mjs'), m.path(), '1500', '2000', '60000', '1', '5'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  const state = { running: true };
  void exited.then(() => { state.running = false; });
  let passes = 0;
  let skipped = 0;
  let errors = 0;
  while (state.running) {
    for (const mode of ['safe', 'fast'] as const) {
      const s = gcWithFilter(m, new GCFilter({ removeExpired: true, time: 10 }), { mode, chunk: 64 });
      if (s.error !== undefined) errors++;
      skipped += s.skipped;
      passes++;
    }
    await new Promise((r) => setImmediate(r));
  }
  t.equal(await exited, 0);
  t.comment(`${passes} passes on a full map under eviction; ${skipped} doomed keys were already evicted (skipped)`);
  t.equal(errors, 0, 'no pass failed');
  t.ok(passes > 4);
  t.ok(m.count() <= 1024);
  t.equal(openFdCount(), fds);
});

t.test('the pin deleted mid-walk: the walk finishes on the open fd; a later open says the pin is missing', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t);
  const m = newMap('cilium_ct4_global', 0);
  m.openOrCreate();
  t.teardown(() => { m.close(); });
  for (let i = 0; i < 500; i++) m.update(key(i), new CtEntry({ lifetime: 1000 + i }));
  let seen = 0;
  m.dumpWithCallback(() => { if (seen++ === 10) m.unpin(); });
  t.equal(seen, 500, 'every entry seen');
  t.notOk(existsSync(m.path()));
  t.equal(gcWithFilter(m, new GCFilter({ removeExpired: true, time: 1100 })).deleted, 100, 'GC works on the open fd');
  const again = newMap('cilium_ct4_global', 0);
  const e = caught(() => { again.open(); });
  t.ok(e instanceof MapLoadError && isNotExist(e), 'reopening: loading pinned map …: not exist');
});

t.test('the fd closed under an iterator: the next step fails with EBADF, nothing crashes or leaks', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t);
  const m = newMap('cilium_ct4_global', 0);
  m.openOrCreate();
  for (let i = 0; i < 1000; i++) m.update(key(i), new CtEntry({ lifetime: 5 }));
  // (An LRU map this full may already have evicted a few on some kernels: compare with what is there.)
  const entries = m.count();
  const fds = openFdCount();
  const e1 = caught(() => { for (const b of m.batches({ chunk: 16 })) { if (b.count >= 0) m.close(); } });
  t.ok(e1 instanceof IterationError || e1 instanceof BpfError, `batch walk: ${(e1 as Error).message}`);
  t.ok(BpfError.is(e1, 'EBADF'), 'EBADF underneath');
  m.open();
  const bm = m.bpfMap;
  const e2 = caught(() => { for (const [k] of bm.entries()) { if (k.length > 0) bm.close(); } });
  t.ok(BpfError.is(e2, 'EBADF'), `key walk: ${(e2 as Error).message}`);
  m.close();
  t.equal(openFdCount(), fds - 1, 'the closed fds are gone, no new ones');
  m.open();
  t.equal(m.count(), entries, 'the map is as it was');
  m.close();
});

t.test('bpffs unmounted under open maps: open fds keep working, new opens fail cleanly', async (t) => {
  if (!requirePrivileged(t)) return;
  const prevLog = setLogger(() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'ctmap-unmount-'));
  mountBpffs(dir);
  setMapRoot(dir);
  setCTMapConfig({ ctMapEntriesGlobalTCP: 1024, ctMapEntriesGlobalAny: 1024 });
  t.teardown(() => { unmountBpffs(dir); rmSync(dir, { recursive: true, force: true }); setMapRoot(DefaultMapRoot); resetCTMapConfig(); setLogger(prevLog); });
  const [tcp4] = Maps(true, false) as [ConntrackMap];
  tcp4.openOrCreate();
  tcp4.update(key(1), new CtEntry({ lifetime: 5 }));
  execFileSync('umount', [dir]);
  t.equal(tcp4.count(), 1, 'the open fd still reads the map');
  tcp4.update(key(2), new CtEntry({ lifetime: 5 }));
  t.equal(gcWithFilter(tcp4, new GCFilter({ removeExpired: true, time: 10 })).deleted, 2);
  tcp4.close();
  const e = caught(() => { newMap('cilium_ct4_global', 0).open(); });
  t.ok(e instanceof MapLoadError && isNotExist(e), 'the pin went with the mount');
  const cli = resolve(here, '..', '..', 'dist', 'bin', 'ctmap.cjs');
  const r = spawnSync(process.execPath, [cli, '--bpffs', dir, 'ct', 'list'], { encoding: 'utf8' });
  t.equal(r.status, 1);
  t.match(r.stderr, /no CT map pinned: looked for/);
  const create = caught(() => { newMap('cilium_ct4_global', 0).openOrCreate(); });
  t.match((create as Error).message, /not on a bpffs mount/, 'creating where no bpffs is mounted says so');
  mountBpffs(dir);
});

t.test('without CAP_BPF: creating fails with the privileges hint and pins nothing; a memlock limit of 0 is not needed on this kernel', async (t) => {
  if (!requirePrivileged(t)) return;
  const root = setup(t);
  newMap('cilium_ct_any4_global', 2).create();
  const script = resolve(here, '..', 'helpers', 'capless.mjs');
  const out = execFileSync('capsh', ['--drop=cap_bpf,cap_sys_admin,cap_perfmon,cap_net_admin', '--', '-c', `exec ${process.execPath} ${script} ${root}`], { encoding: 'utf8' });
  const res = JSON.parse(out) as Record<string, { ok: boolean; code?: string; message?: string }>;
  t.equal(res.openOrCreate?.ok, false);
  t.equal(res.openOrCreate?.code, 'EPERM');
  t.match(res.openOrCreate?.message, /CAP_BPF/);
  t.match(res.openOrCreate?.message, /ulimit -l/, 'the hint also names memlock (kernels before 5.11)');
  t.notOk(existsSync(join(root, 'tc/globals/cilium_ct4_global')), 'nothing pinned');
  t.comment(`opening an existing pin without CAP_BPF: ${res.open?.ok === true ? 'allowed (file permissions decide)' : String(res.open?.message)}`);
  // RLIMIT_MEMLOCK 0: kernels since 5.11 charge map memory to the memory cgroup instead, so creation works.
  const m = spawnSync('prlimit', ['--memlock=0:0', process.execPath, script, root], { encoding: 'utf8' });
  const r2 = JSON.parse(m.stdout) as Record<string, { ok: boolean; code?: string; message?: string }>;
  t.ok(r2.openOrCreate?.ok === true || (r2.openOrCreate?.code === 'EPERM' && /memlock|ulimit/.test(r2.openOrCreate.message ?? '')),
    `memlock 0: ${r2.openOrCreate?.ok === true ? 'created (memcg accounting)' : String(r2.openOrCreate?.message)}`);
});
