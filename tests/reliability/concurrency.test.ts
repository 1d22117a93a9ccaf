// GC, count, dumps and the orphan purge while two writer processes insert, refresh and delete at full speed.
import t from 'tap';
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openFdCount, privateBpffs, requirePrivileged } from '../helpers/priv.js';
import { GCFilter, type ConntrackMap } from '../../src/ctmap/index.js';
import { type NatMap } from '../../src/nat/index.js';
import { CtKey4Global, CtEntry, NatKey4, NatEntry4 } from '../../src/structs/index.js';
import { setLogger } from '../../src/compat/index.js';
import { Maps, setCTMapConfig, resetCTMapConfig, InitMapInfo, GlobalMaps, setNATMapEntriesGlobal, PurgeOrphanNATEntries, setMapRoot, DefaultMapRoot } from '../../src/compat/index.js';
import { gcWithFilter } from '../../src/compat/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const key = (i: number): CtKey4Global => CtKey4Global.fromBytes(Uint8Array.of(10, (i >> 16) & 255, (i >> 8) & 255, i & 255, 192, 168, 0, 1, 0, 0x50, (i >> 8) & 255, i & 255, 6, 0));
const FUTURE = 0x7fffffff;

t.test('two writers at full speed: no exception, nothing alive lost, nothing expired left, no key twice in a walk', async (t) => {
  if (!requirePrivileged(t)) return;
  const root = privateBpffs(t);
  setMapRoot(root);
  setCTMapConfig({ ctMapEntriesGlobalTCP: 16384, ctMapEntriesGlobalAny: 1024 });
  const prevNat = setNATMapEntriesGlobal(16384);
  const prevLog = setLogger(() => undefined);
  t.teardown(() => { setMapRoot(DefaultMapRoot); resetCTMapConfig(); setNATMapEntriesGlobal(prevNat); InitMapInfo(undefined, undefined); setLogger(prevLog); });
  const [tcp4, any4] = Maps(true, false) as [ConntrackMap, ConntrackMap];
  const nat4 = GlobalMaps(true, false).v4 as NatMap;
  for (const m of [tcp4, any4, nat4]) m.openOrCreate();
  t.teardown(() => { for (const m of [tcp4, any4, nat4]) m.close(); });
  InitMapInfo(nat4, undefined);
  const fds = openFdCount();
  // 500 long-lived flows with their SNAT pairs (nobody touches them), and 200 orphan SNAT pairs.
  const natKeys = (i: number): [NatKey4, NatKey4] => {
    const k = key(i);
    return [new NatKey4({ destAddr: k.sourceAddr, sourceAddr: k.destAddr, destPort: k.destPort, sourcePort: k.sourcePort, nextHeader: 6 }),
      new NatKey4({ destAddr: '192.0.2.1', sourceAddr: k.sourceAddr, destPort: i, sourcePort: k.destPort, nextHeader: 6, flags: 1 })];
  };
  for (let i = 0; i < 700; i++) {
    if (i < 500) tcp4.update(key(i), new CtEntry({ lifetime: FUTURE }));
    const [o, r] = natKeys(i);
    const k = key(i);
    nat4.update(o, new NatEntry4({ addr: '192.0.2.1', port: i }));
    nat4.update(r, new NatEntry4({ addr: k.destAddr, port: k.sourcePort }));
  }
  const writer = (lo: number, hi: number, life: number, seed: number): { done: Promise<{ ops: number; alive: number[] }> } => {
    const child = spawn(process.execPath, [resolve(here, '..', 'helpers', 'ctwriter.mjs'), tcp4.path(), '3000', String(lo), String(hi), String(life), String(seed)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    // 'close', not 'exit': only then is all of stdout read and the pipe's fd closed (the fd count below).
    return { done: new Promise((res, rej) => child.on('close', (code) => { if (code === 0) res(JSON.parse(out) as { ops: number; alive: number[] }); else rej(new Error(`writer exited ${String(code)}`)); })) };
  };
  const alive = writer(1000, 4000, FUTURE, 11);
  const expired = writer(5000, 8000, 1, 12);
  const state = { running: true };
  void Promise.allSettled([alive.done, expired.done]).then(() => { state.running = false; });
  let passes = 0;
  let walks = 0;
  let dupWalks = 0;
  let errors = 0;
  let deferred = 0;
  let purges = 0;
  while (state.running) {
    try {
      const s = gcWithFilter(tcp4, new GCFilter({ removeExpired: true, time: 1000 }), { mode: passes % 2 === 0 ? 'safe' : 'fast', natFollowUp: true });
      deferred += s.deferred;
      if (s.error !== undefined) errors++;
      passes++;
      tcp4.count();
      const seen = new Set<string>();
      let dup = false;
      for (const b of tcp4.batches()) {
        for (let i = 0; i < b.count; i++) {
          const h = Buffer.from(b.keys.subarray(i * 14, (i + 1) * 14)).toString('hex');
          if (seen.has(h)) dup = true;
          seen.add(h);
        }
      }
      walks++;
      if (dup) dupWalks++;
      if (passes % 5 === 0) {
        PurgeOrphanNATEntries(tcp4, any4);
        purges++;
      }
    } catch {
      errors++;
    }
    await new Promise((r) => setImmediate(r));
  }
  const [a, b] = await Promise.all([alive.done, expired.done]);
  t.comment(`${passes} GC passes (half safe, half fast; ${deferred} deferred), ${walks} batch walks, ${purges} purges while the writers did ${a.ops + b.ops} ops`);
  t.equal(errors, 0, 'no exception escaped and no pass failed');
  t.equal(dupWalks, 0, 'no walk saw a key twice');
  t.ok(passes > 10, `${passes} passes ran concurrently`);
  const present = new Set<string>();
  tcp4.dumpWithCallback((k) => { present.add(k.toString()); });
  const missing = [...Array.from({ length: 500 }, (_, i) => i), ...a.alive].filter((i) => !present.has(key(i).toString()));
  t.same(missing, [], `all ${500 + a.alive.length} entries alive at the end are there`);
  const s = gcWithFilter(tcp4, new GCFilter({ removeExpired: true, time: 1000 }), { natFollowUp: true });
  t.ok(s.deleted >= 0);
  let leftExpired = 0;
  tcp4.dumpWithCallback((_k, v) => { if (v.lifetime < 1000) leftExpired++; });
  t.equal(leftExpired, 0, 'a pass after the writers stopped leaves no expired entry');
  PurgeOrphanNATEntries(tcp4, any4);
  t.equal(nat4.count(), 1000, 'the purge removed exactly the 200 orphan pairs; the 500 live pairs stayed');
  for (let i = 0; i < 500; i++) {
    const [o] = natKeys(i);
    if (nat4.lookup(o) === undefined) { t.fail(`SNAT entry of live flow ${i} lost`); break; }
  }
  t.equal(openFdCount(), fds, 'no fd leaked');
});
