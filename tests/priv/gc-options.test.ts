// The JavaScript GC options (src/ctmap/gc.ts planFromOptions) and what a pass reports (GCStats): every option is
// checked before anything is read or deleted, with an error naming it; the defaults (time = now on the settings'
// clock, safe mode, the safe window by the kernel's vector entry point); GCStats' JSON, duration and printed form.
import t from 'tap';
import type { Test } from 'tap';
import { inspect } from 'node:util';
import { caught, privateBpffs, requirePrivileged } from '../helpers/priv.js';
import { recordingKernel } from '../helpers/vecspy.js';
import { setup, node } from '../helpers/compatmaps.js';
import { gcWithFilter } from '../../src/compat/index.js';
import { openNode, silentLogger, GCStats, type Node, type GCOptions } from '../../src/index.js';
import { GCFilter, setFilterNow, basePlan } from '../../src/ctmap/index.js';
import { CtEntry, CtKey4Global } from '../../src/structs/index.js';
import { BpfCmd, Errno, Kernel, defaultKernel, mapBatchAttr } from '../../src/syscall/index.js';
import { dataView } from '../../src/structs/bytes.js';

const NOW = 1000;
const clock = { monotonicNs: () => BigInt(NOW) * 1_000_000_000n, jiffies: () => 0n };

function key(i: number): CtKey4Global {
  return CtKey4Global.fromFlow({ src: `10.0.${i >> 8}.${i & 255}:4000`, dst: '192.168.0.1:80', proto: 'TCP' });
}

/** A node whose clock reads NOW, with entries of lifetimes NOW-1 (expired), NOW and NOW+1 (not yet). */
function build(t: Test, kernel?: Kernel): Node {
  const n = openNode({ bpffs: privateBpffs(t), ctSizes: { tcp: 2048, any: 1024 }, natEntries: 4096, logger: silentLogger, create: true, ipv6: false, clock,
    ...(kernel === undefined ? {} : { kernel }) });
  t.teardown(() => { n.close(); });
  return n;
}

function lifetimes(n: Node): number[] {
  return [...n.ct.tcp4].map((r) => r.entry.lifetime).sort((a, b) => a - b);
}

const msg = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : `not an error: ${String(e)}`);

t.test('every option is checked first: a bad one throws, names itself, and nothing is read or deleted', async (t) => {
  if (!requirePrivileged(t)) return;
  const n = build(t);
  for (let i = 0; i < 3; i++) n.ct.tcp4.update(key(i), new CtEntry({ lifetime: NOW - 1 + i }));
  const gc = (o: unknown): string => msg(caught(() => n.ct.tcp4.gc(o as GCOptions)));
  t.equal(gc(null), 'TypeError: gc: options must be an object, got null');
  t.equal(gc(5), 'TypeError: gc: options must be an object, got 5');
  t.equal(gc('all'), 'TypeError: gc: options must be an object, got "all"');
  t.equal(gc({ tim: 5 }), 'TypeError: gc: unknown option "tim"');
  for (const k of ['removeExpired', 'all', 'dryRun', 'natFollowUp']) t.equal(gc({ [k]: 'yes' }), `TypeError: gc: ${k} must be a boolean, got "yes"`);
  for (const k of ['onRemoved', 'onKept', 'onProgress']) t.equal(gc({ [k]: 5 }), `TypeError: gc: ${k} must be a function, got 5`);
  for (const bad of [-1, 1.5, 2 ** 32, Number.NaN]) t.equal(gc({ time: bad }), `RangeError: gc: time must be a u32 CT time, got ${String(bad)}`);
  t.equal(gc({ mode: 'quick' }), 'RangeError: gc: mode must be "safe" or "fast", got "quick"');
  for (const bad of [0, 4097, 1.5, '8']) t.equal(gc({ safeWindow: bad }), `RangeError: gc: safeWindow must be an integer 1…4096, got ${typeof bad === 'string' ? `"${bad}"` : String(bad)}`);
  t.same(lifetimes(n), [NOW - 1, NOW, NOW + 1], 'no refused pass deleted anything');
  // The edges that are allowed.
  for (const w of [1, 4096]) t.equal(n.ct.tcp4.gc({ safeWindow: w, dryRun: true }).deleted, 1, `safeWindow ${w} is accepted`);
  t.equal(n.ct.tcp4.gc({ time: 0xffffffff, dryRun: true }).deleted, 3, 'time 0xFFFFFFFF is a CT time');
  t.equal(n.ct.tcp4.gc({ time: 0, dryRun: true }).deleted, 0, 'and so is 0');
});

t.test('defaults: expired by the settings\' clock, safe mode; removeExpired false with matchIPs removes only matches', async (t) => {
  if (!requirePrivileged(t)) return;
  const n = build(t);
  for (let i = 0; i < 3; i++) n.ct.tcp4.update(key(i), new CtEntry({ lifetime: NOW - 1 + i }));
  n.ct.tcp4.update(key(10), new CtEntry({ lifetime: NOW + 100 }));
  const none = n.ct.tcp4.gc({ removeExpired: false });
  t.equal(none.deleted, 0, 'removeExpired false and nothing else: nothing goes');
  t.equal(none.mode, 'safe', 'safe mode by default');
  // key(10)'s printed source is 10.0.0.10: the key's DestAddr.
  const ips = n.ct.tcp4.gc({ removeExpired: false, matchIPs: ['10.0.0.10'] });
  t.equal(ips.deleted, 1, 'matchIPs alone removes the matching entry, whatever its lifetime');
  t.same(lifetimes(n), [NOW - 1, NOW, NOW + 1]);
  t.equal(n.ct.tcp4.gc({ removeExpired: false, matchIPs: [] }).deleted, 0, 'an empty matchIPs matches nothing');
  const s = n.ct.tcp4.gc({});
  t.equal(s.deleted, 1, 'the default pass removes lifetime < now (now = 1000 on this node\'s clock)');
  t.same(lifetimes(n), [NOW, NOW + 1], 'an entry at exactly now stays');
});

t.test('the safe window\'s default: 16 re-reads to a crossing with the vector entry point, one by one without it', async (t) => {
  if (!requirePrivileged(t)) return;
  const vectors: { cmd: number; n: number }[] = [];
  const withVec = build(t, recordingKernel(vectors));
  for (let i = 0; i < 40; i++) withVec.ct.tcp4.update(key(i), new CtEntry({ lifetime: 1 }));
  t.equal(withVec.ct.tcp4.gc({ natFollowUp: false }).deleted, 40);
  const reads = vectors.filter((v) => v.cmd === BpfCmd.BPF_MAP_LOOKUP_ELEM).map((v) => v.n);
  t.equal(Math.max(...reads), 16, `re-reads go 16 to a crossing (${reads.join(',')})`);
  t.equal(reads.reduce((a, b) => a + b, 0), 40, 'one re-read per doomed entry');
  // A window of 1, a fast pass and a dry run use no vector for the CT map.
  for (const [what, o] of [['safeWindow 1', { safeWindow: 1 }], ['fast mode', { mode: 'fast' }], ['a dry run', { dryRun: true }]] as const) {
    for (let i = 0; i < 20; i++) withVec.ct.tcp4.update(key(i), new CtEntry({ lifetime: 1 }));
    vectors.length = 0;
    const s = withVec.ct.tcp4.gc({ natFollowUp: false, ...o });
    t.equal(s.deleted, 20, `${what}: the expired entries (would) go`);
    t.same(vectors, [], `${what}: no vector crossing`);
    if (what === 'a dry run') withVec.ct.tcp4.gc({ natFollowUp: false, mode: 'fast' });
  }
  // An intercepted kernel has no vector entry point: each re-read is followed by its delete.
  const order: string[] = [];
  const plain = defaultKernel().intercept((cmd, attr, size, next) => {
    if (cmd === BpfCmd.BPF_MAP_LOOKUP_ELEM) order.push('L');
    if (cmd === BpfCmd.BPF_MAP_DELETE_ELEM) order.push('D');
    return next(cmd, attr, size);
  });
  const without = build(t, plain);
  for (let i = 0; i < 5; i++) without.ct.tcp4.update(key(i), new CtEntry({ lifetime: 1 }));
  order.length = 0;
  t.equal(without.ct.tcp4.gc({ natFollowUp: false }).deleted, 5);
  t.equal(order.join(''), 'LDLDLDLDLD', 'window 1: re-read, delete, re-read, delete…');
});

t.test('GCStats: JSON, duration and the printed form', async (t) => {
  if (!requirePrivileged(t)) return;
  const fresh = new GCStats({ name: 'cilium_ct4_global', isIPv4: true, isTCP: true }, 'fast', 1024);
  t.equal(fresh.dryRun, false, 'not a dry run unless told');
  t.equal(fresh.completed, false, 'not completed before its pass finishes');
  t.equal(fresh.family, 'ipv4');
  t.equal(fresh.protocol, 'TCP');
  t.equal(new GCStats({ name: 'x', isIPv4: false, isTCP: false }, 'safe', 1, true).protocol, 'non-TCP');
  const n = build(t);
  for (let i = 0; i < 3; i++) n.ct.tcp4.update(key(i), new CtEntry({ lifetime: NOW - 1 + i }));
  const s = n.ct.tcp4.gc({ dryRun: true });
  const j = s.toJSON();
  t.same(Object.keys(j), ['map', 'family', 'protocol', 'mode', 'dryRun', 'deleted', 'alive', 'skipped', 'deferred', 'natDeleted', 'completed', 'error', 'durationMs']);
  t.same({ ...j, durationMs: 0 }, { map: 'cilium_ct4_global', family: 'ipv4', protocol: 'TCP', mode: 'safe', dryRun: true, deleted: 1, alive: 2, skipped: 0,
    deferred: 0, natDeleted: 0, completed: true, error: null, durationMs: 0 });
  t.ok(s.finished instanceof Date, 'a finished pass has its end time');
  t.equal(s.duration(), (s.finished as Date).getTime() - s.started.getTime(), 'duration is end minus start');
  t.ok(s.duration() >= 0 && s.duration() < 60_000, `${s.duration()} ms`);
  t.equal(inspect(s), 'GCStats(cilium_ct4_global safe dry-run: deleted=1 alive=2 skipped=0 deferred=0)');
  s.natDeleted = 4;
  s.error = new Error('walk "failed"');
  t.equal(inspect(s), 'GCStats(cilium_ct4_global safe dry-run: deleted=1 alive=2 skipped=0 deferred=0 natDeleted=4 error="walk \\"failed\\"")');
  t.equal(s.toJSON().error, 'walk "failed"');
  t.equal(inspect(fresh), 'GCStats(cilium_ct4_global fast: deleted=0 alive=0 skipped=0 deferred=0)');
  // An unfinished pass measures up to now.
  t.ok(fresh.finished === undefined && fresh.duration() >= 0 && fresh.duration() < 60_000);
});

t.test('Go\'s filter pass reads "now" from the settings\' clock; a clock that fails makes nothing expired, with a warning', async (t) => {
  if (!requirePrivileged(t)) return;
  const logs: string[] = [];
  let broken = false;
  const n = openNode({ bpffs: privateBpffs(t), ctSizes: { tcp: 2048, any: 1024 }, natEntries: 4096, create: true, ipv6: false,
    logger: (level, m, f) => { logs.push(`${level}: ${m}${f?.error instanceof Error ? ` (${f.error.message})` : ''}`); },
    clock: { monotonicNs: () => { if (broken) throw new Error('no clock'); return BigInt(NOW) * 1_000_000_000n; }, jiffies: () => 0n } });
  t.teardown(() => { n.close(); });
  const f = new GCFilter({ removeExpired: true });
  setFilterNow(n.ct.tcp4, f);
  t.equal(f.time, NOW, 'now on the settings\' clock');
  broken = true;
  setFilterNow(n.ct.tcp4, f);
  t.equal(f.time, 0, 'a failed read: 0, so nothing counts as expired');
  t.same(logs, ['warn: Unable to read the CT clock; nothing counts as expired (no clock)'], 'the warning carries the error');
  const keep = new GCFilter({ removeExpired: false, time: 77 });
  setFilterNow(n.ct.tcp4, keep);
  t.equal(keep.time, 77, 'a filter that does not remove expired entries keeps its time');
  t.equal(logs.length, 1, 'and reads no clock');
});

t.test('all: every entry in scope goes, expired or not; the filter\'s limit caps the removals', async (t) => {
  if (!requirePrivileged(t)) return;
  const n = build(t);
  for (let i = 0; i < 6; i++) n.ct.tcp4.update(key(i), new CtEntry({ lifetime: NOW + 100 }));
  n.ct.tcp4.update(key(300), new CtEntry({ lifetime: NOW + 100 }));
  // key(300) prints as 10.0.1.44: outside 10.0.0.0/24.
  const capped = n.ct.tcp4.gc({ all: true, filter: { src: '10.0.0.0/24', limit: 2 } });
  t.equal(capped.deleted, 2, 'the limit');
  const rest = n.ct.tcp4.gc({ all: true, filter: { src: '10.0.0.0/24' } });
  t.equal(rest.deleted, 4, 'the rest of the scope, none of them expired');
  t.same([...n.ct.tcp4].map((r) => r.key.toString()), [key(300).toString()], 'the entry out of scope stays');
});

t.test('basePlan: what Go\'s filter passes start from — nothing removed, no follow-up, a real (not dry) safe pass', async (t) => {
  if (!requirePrivileged(t)) return;
  const n = build(t);
  const p = basePlan(n.ct.tcp4);
  t.same({ removeExpired: p.removeExpired, time: p.time, matchIPs: p.matchIPs, limit: p.limit, all: p.all, dryRun: p.dryRun, mode: p.mode,
    natFollowUp: p.natFollowUp, next: p.next, onKept: p.onKept, emit: p.emit, signal: p.signal, chunk: p.chunk, onProgress: p.onProgress, safeWindow: p.safeWindow },
  { removeExpired: false, time: 0, matchIPs: undefined, limit: Infinity, all: false, dryRun: false, mode: 'safe', natFollowUp: false, next: undefined,
    onKept: undefined, emit: undefined, signal: undefined, chunk: undefined, onProgress: undefined, safeWindow: 16 });
  t.equal(p.act, n.settings.act);
  t.equal(p.registry, n.settings.registry);
});

t.test('gcAsync decides as gc does, and gives the event loop turns inside a batch, not only between batches', async (t) => {
  if (!requirePrivileged(t)) return;
  const fill = (n: Node): void => {
    const m = n.ct.tcp4.bpfMap;
    const N = 60_000;
    const keys = new Uint8Array(N * 14);
    const values = new Uint8Array(N * 56);
    for (let i = 0; i < N; i++) {
      keys.set(CtKey4Global.fromFlow({ src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:4000`, dst: '192.168.0.1:80', proto: 'TCP' }).raw, i * 14);
      values.set(new CtEntry({ lifetime: i % 2 === 0 ? 10 : 5000 }).raw, i * 56);
    }
    m.updateBatch(keys, values, N);
  };
  const a = openNode({ bpffs: privateBpffs(t), ctSizes: { tcp: 65536, any: 1024 }, natEntries: 4096, logger: silentLogger, create: true, ipv6: false });
  const b = openNode({ bpffs: privateBpffs(t), ctSizes: { tcp: 65536, any: 1024 }, natEntries: 4096, logger: silentLogger, create: true, ipv6: false });
  t.teardown(() => { a.close(); b.close(); });
  fill(a);
  fill(b);
  const sync = a.ct.tcp4.gc({ time: 100, natFollowUp: false });
  // One batch holds the whole map, so any turn before the batch's end came from inside it.
  let ticks = 0;
  let ticksAtEnd = -1;
  const timer = setInterval(() => { ticks++; }, 1);
  const async = await b.ct.tcp4.gcAsync({ time: 100, natFollowUp: false, chunk: 65536, onProgress: () => { if (ticksAtEnd < 0) ticksAtEnd = ticks; } });
  clearInterval(timer);
  t.same([async.deleted, async.aliveEntries], [sync.deleted, sync.aliveEntries], 'the same decisions');
  t.same([async.deleted, async.aliveEntries], [30_000, 30_000]);
  t.same(new Set([...b.ct.tcp4.keys()].map(String)), new Set([...a.ct.tcp4.keys()].map(String)), 'the same entries left');
  t.ok(ticksAtEnd > 0, `the timer ran ${ticksAtEnd} times before the (only) batch ended`);
});

t.test('Go\'s filter pass leaves the NAT map to its observers: no inline follow-up unless asked', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t);
  const n = node(t, 100000);
  const flows = (base: number): void => {
    for (let i = 0; i < 10; i++) n.emu.masquerade({ src: `10.1.0.${base + i}:40000`, dst: '1.1.1.1:443', proto: 'TCP' }, '192.0.2.1', { established: true, age: 9000, related: false });
  };
  flows(0);
  t.equal(n.nat4.count(), 20);
  const s = gcWithFilter(n.tcp4, new GCFilter({ removeExpired: true, time: 100000 }));
  t.same([s.deleted, s.natDeleted], [10, 0], 'CT entries go, nothing else');
  t.equal(n.nat4.count(), 20, 'the SNAT pairs are still there (Go\'s NatMapNext4 observer would take them)');
  n.nat4.flush();
  flows(20);
  const asked = gcWithFilter(n.tcp4, new GCFilter({ removeExpired: true, time: 100000 }), { natFollowUp: true });
  t.same([asked.deleted, asked.natDeleted], [10, 20], 'asked: with their SNAT pairs');
  t.equal(n.nat4.count(), 0);
});

t.test('the ACT hook gets each service entry\'s own RevNAT and backend ID, in every delete mode', async (t) => {
  if (!requirePrivileged(t)) return;
  for (const [what, o] of [['safe, window 16', { mode: 'safe' }], ['safe, window 1', { mode: 'safe', safeWindow: 1 }], ['fast', { mode: 'fast' }], ['dry run', { dryRun: true }]] as const) {
    const calls: string[] = [];
    const n = openNode({ bpffs: privateBpffs(t), ctSizes: { tcp: 2048, any: 1024 }, natEntries: 4096, logger: silentLogger, create: true, ipv6: false,
      act: { countFailed4: (r, b) => calls.push(`${r}:${b}`), countFailed6: () => calls.push('v6?') } });
    t.teardown(() => { n.close(); });
    const want: string[] = [];
    for (let i = 0; i < 6; i++) {
      const k = CtKey4Global.fromFlow({ src: `10.0.0.${i + 1}:4000`, dst: '10.96.0.10:80', proto: 'TCP', dir: 'SVC' });
      n.ct.tcp4.update(k, new CtEntry({ lifetime: 1, revNAT: 0x100 + i, union0: [0n, 0x7_0000_0000n + BigInt(1000 + i)] }));
      want.push(`${0x100 + i}:${1000 + i}`);
    }
    const s = n.ct.tcp4.gc({ time: 100, natFollowUp: false, ...o });
    t.equal(s.deleted, 6, `${what}: every service entry (would) go`);
    t.same(calls.sort(), what === 'dry run' ? [] : want.sort(), `${what}: ${what === 'dry run' ? 'a dry run calls no hook' : 'each entry\'s own RevNAT and the low 32 bits of its backend ID'}`);
  }
});

t.test('fast mode: a batch delete the kernel refuses counts nothing, and the warning carries the map and the error', async (t) => {
  if (!requirePrivileged(t)) return;
  const logs: string[] = [];
  // Refused before the first key, as the kernel reports it: -EPERM with count 0 written back.
  const kernel = defaultKernel().intercept((cmd, attr, size, next) => {
    if (cmd !== BpfCmd.BPF_MAP_DELETE_BATCH) return next(cmd, attr, size);
    dataView(attr).setUint32(mapBatchAttr.offsetOf.count, 0, true);
    return -Errno.EPERM;
  });
  const n = openNode({ bpffs: privateBpffs(t), ctSizes: { tcp: 2048, any: 1024 }, natEntries: 4096, create: true, ipv6: false, kernel,
    logger: (level, m, f) => { logs.push(`${level}: ${m} ${String(f?.map)} ${(f?.error as { code?: string } | undefined)?.code ?? '-'}`); } });
  t.teardown(() => { n.close(); });
  for (let i = 0; i < 5; i++) n.ct.tcp4.update(key(i), new CtEntry({ lifetime: 1 }));
  const s = n.ct.tcp4.gc({ time: 100, mode: 'fast', natFollowUp: false });
  t.same([s.deleted, s.skipped], [0, 0], 'nothing counted');
  t.equal(n.ct.tcp4.count(), 5, 'nothing deleted');
  t.same(logs, ['warn: Unable to delete CT entries cilium_ct4_global EPERM']);
});
