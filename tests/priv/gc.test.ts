// CT garbage collection on the real kernel (ctmap.md §10-13): decisions, both delete modes, events, NAT follow-up.
// The two-process race (safe against fast mode) is in gc-race.test.ts.
import t from 'tap';
import { caught, requirePrivileged } from '../helpers/priv.js';
import { setup, tcp4Map } from '../helpers/compatmaps.js';
// Go's GC semantics through ctmap/compat (GC, gcWithFilter, Flush over process-wide settings); the JavaScript
// passes (map.gc(options), node.gc) share the engine and are tested in tests/priv/node.test.ts.
import { CtMapType, GCFilter, NatMapNext4, NatMapNext6, type ConntrackMap, type GCEvent, type GCMode, type NetAddr } from '../../src/ctmap/index.js';
import {
  Maps, newMap, InitMapInfo, WithNetworkID, setACT, GC, gcWithFilter, Flush, NewGCRunner as GCRunnerOf,
  newCTMaps, NewPerClusterCTMaps, setGCClockSource, GlobalMaps, setBackend, getBackend,
} from '../../src/compat/index.js';
import { GetCTCurTime, parseSchedstatJiffies, type PurgeHook } from '../../src/datapath/index.js';
import type { NatMap } from '../../src/nat/index.js';
import { CtEntry, CtKey4Global, CtKey6Global, TUPLE_F_IN, TUPLE_F_SERVICE, TUPLE_F_RELATED, type CtKey, type NatKey } from '../../src/structs/index.js';
import { BpfCmd, BpfMap, Errno, mapBatchAttr } from '../../src/syscall/index.js';
import { DatapathEmulator } from '../../src/testing/emulator.js';
import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';

const msg = (e: unknown): string => (e instanceof Error ? e.message : `not an error: ${String(e)}`);
const modes: GCMode[] = ['safe', 'fast'];

function key4(i: number, over: Partial<{ daddr: string; saddr: string; flags: number; proto: number }> = {}): CtKey4Global {
  return new CtKey4Global({
    destAddr: over.daddr ?? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, sourceAddr: over.saddr ?? '192.168.0.1',
    destPort: 0x5000, sourcePort: ((i & 0xff) << 8) | ((i >> 8) & 0xff), nextHeader: over.proto ?? 6, flags: over.flags ?? 0,
  });
}

function lifetimes(m: ConntrackMap): Map<string, number> {
  const out = new Map<string, number>();
  m.dumpWithCallback((k, v) => { out.set(k.toString(), v.lifetime); });
  return out;
}

t.test('expiry: lifetime < time goes, lifetime == time stays (both modes, several batches)', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t);
  const m = tcp4Map(t);
  for (const mode of modes) {
    for (let i = 0; i < 3000; i++) m.update(key4(i), new CtEntry({ lifetime: 1000 + (i % 3) - 1 }));
    const s = gcWithFilter(m, new GCFilter({ removeExpired: true, time: 1000 }), { mode, chunk: 64 });
    t.same([s.deleted, s.aliveEntries, s.skipped, s.deferred, s.completed], [1000, 2000, 0, 0, true], `${mode}: only lifetime 999 went`);
    t.ok([...lifetimes(m).values()].every((l) => l >= 1000), `${mode}: 1000 and 1001 survive`);
    t.equal(s.error, undefined);
    t.equal(s.mode, mode);
    t.equal(Flush(m), 2000);
  }
  // Without removeExpired nothing expires, whatever the time.
  m.update(key4(1), new CtEntry({ lifetime: 5 }));
  t.equal(gcWithFilter(m, new GCFilter({ time: 100 })).deleted, 0);
  t.match(msg(caught(() => gcWithFilter(m, {} as unknown as GCFilter))), 'filter must be a GCFilter');
  t.match(msg(caught(() => gcWithFilter(m, new GCFilter(), { mode: 'quick' as GCMode }))), 'mode must be');
  t.match(msg(caught(() => new GCFilter({ time: -1 }))), 'u32');
});

t.test('MatchIPs: either side, per network, v4 never equals v4-mapped v6; emit only for kept entries', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t);
  for (const mode of modes) {
    const m = tcp4Map(t);
    m.update(key4(1, { daddr: '10.0.0.1', saddr: '8.8.8.8' }), new CtEntry({ lifetime: 9999 }));
    m.update(key4(2, { daddr: '10.0.0.2', saddr: '10.0.0.1' }), new CtEntry({ lifetime: 9999 }));
    m.update(key4(3, { daddr: '10.0.0.3', saddr: '8.8.4.4' }), new CtEntry({ lifetime: 9999 }));
    const emitted: string[] = [];
    const s = gcWithFilter(m, new GCFilter({
      matchIPs: ['10.0.0.1', '::ffff:10.0.0.3'],
      emitCTEntryCB: (src, dst, sp, dp, nh, flags, entry) => { emitted.push(`${src.addr}/${src.netID}:${sp} ${dst.addr}:${dp} ${nh} ${flags} ${entry.lifetime}`); },
    }), { mode });
    t.equal(s.deleted, 2, `${mode}: the address matched as source and as destination`);
    t.same(emitted, ['10.0.0.3/0:20480 8.8.4.4:768 6 0 9999'], `${mode}: only the kept entry is emitted, with the flow's own source`);
    Flush(m);
    m.close();
    // A map of another network matches only addresses of that network.
    const net = newMap('cilium_ct4_global', CtMapType.IPv4TCPGlobal, WithNetworkID(3));
    net.open();
    net.update(key4(1, { daddr: '10.0.0.1' }), new CtEntry({ lifetime: 9999 }));
    t.equal(gcWithFilter(net, new GCFilter({ matchIPs: ['10.0.0.1'] }), { mode }).deleted, 0, `${mode}: netID 0 does not match network 3`);
    const n3: NetAddr = { addr: '10.0.0.1', netID: 3 };
    t.equal(gcWithFilter(net, new GCFilter({ matchIPs: [n3] }), { mode }).deleted, 1, `${mode}: netID 3 matches`);
    net.close();
  }
  t.match(msg(caught(() => new GCFilter({ matchIPs: [{ addr: '1.1.1.1', netID: -1 }] }))), 'netID');
  t.match(msg(caught(() => new GCFilter({ matchIPs: ['not-an-ip'] }))), 'not-an-ip');
});

t.test('service entries call the ACT hook; flush keeps lifetime 0xFFFFFFFF; GC uses the clock', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t);
  const m = tcp4Map(t);
  const calls: string[] = [];
  const hook: PurgeHook = { countFailed4: (r, b) => calls.push(`4:${r}:${b}`), countFailed6: (r, b) => calls.push(`6:${r}:${b}`) };
  setACT(hook);
  m.update(key4(1, { flags: TUPLE_F_SERVICE }), new CtEntry({ lifetime: 1, revNAT: 0x0700, union0: [0n, 0x1_0000_0005n] }));
  m.update(key4(2, { flags: TUPLE_F_SERVICE | TUPLE_F_RELATED }), new CtEntry({ lifetime: 1 }));
  m.update(key4(3, { flags: TUPLE_F_IN }), new CtEntry({ lifetime: 1 }));
  m.update(key4(4), new CtEntry({ lifetime: 0xffffffff }));
  m.update(key4(5), new CtEntry({ lifetime: 0xfffffffe }));
  const events: GCEvent[] = [];
  t.equal(Flush(m, (ev) => events.push(ev)), 4);
  t.same(calls, ['4:1792:5'], 'ACT: raw RevNAT and the low 32 bits of the backend ID, for exactly-SERVICE keys');
  t.equal(events.length, 4);
  t.ok(events.every((e) => e.key instanceof CtKey4Global && e.entry instanceof CtEntry && e.natMap === undefined));
  t.same([...lifetimes(m).values()], [0xffffffff], 'lifetime 0xFFFFFFFF survives a flush');
  setACT(undefined);
  // GC overwrites the time with "now" from the clock source.
  const now = Number(GetCTCurTime({ mode: 'ktime' }));
  m.update(key4(6), new CtEntry({ lifetime: now - 10 }));
  m.update(key4(7), new CtEntry({ lifetime: now + 1000 }));
  const f = new GCFilter({ removeExpired: true, time: 0 });
  const s = GC(m, f);
  t.ok(f.time >= now, 'the filter time was set from the clock');
  t.equal(s.deleted, 1);
  t.equal(GC(m, new GCFilter({ removeExpired: false, time: 7 })).deleted, 0);
  setGCClockSource({ mode: 'jiffies', hertz: 250 });
  t.teardown(() => { setGCClockSource({ mode: 'ktime' }); });
  m.update(key4(8), new CtEntry({ lifetime: 1 }));
  // Jiffies come from /proc/schedstat; a kernel without it (CONFIG_SCHEDSTATS off, as on the machine this was
  // written on) fails the clock, and Go then uses 0: nothing counts as expired, so the lifetime-1 entry stays.
  const jiffies = (): number | undefined => {
    try {
      return Number(parseSchedstatJiffies(readFileSync('/proc/schedstat', 'utf8')) >> 8n);
    } catch {
      return undefined;
    }
  };
  const before = jiffies();
  const j = new GCFilter({ removeExpired: true, time: 12345 });
  const js = GC(m, j);
  const after = jiffies();
  if (before === undefined || after === undefined) {
    t.equal(j.time, 0, 'no jiffies clock: the time is 0');
    t.equal(js.deleted, 0, 'and nothing counts as expired');
    t.ok(m.lookup(key4(8)) !== undefined);
  } else {
    t.ok(j.time >= before && j.time <= after, `jiffies time ${j.time} within [${before}, ${after}]`);
    // What is left are key 7 (lifetime ktime-now + 1000) and key 8 (lifetime 1); on the jiffies clock both may be
    // in the past (a jiffies CT time is not comparable with a ktime one).
    const want = [now + 1000, 1].filter((l) => l < j.time).length;
    t.equal(js.deleted, want, `the entries whose lifetime is below the jiffies time went (${want})`);
    t.ok(want >= 1, 'the lifetime-1 entry is expired in jiffies too');
    t.equal(m.lookup(key4(8)), undefined);
  }
  t.match(msg(caught(() => { setGCClockSource({ mode: 'tsc' }); })), 'invalid clocksource');
});

t.test('events and the NAT follow-up: finished before the pass returns, by observer or inline', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t);
  const [tcp4, any4, tcp6, any6] = Maps(true, true) as [ConntrackMap, ConntrackMap, ConntrackMap, ConntrackMap];
  const { v4, v6 } = GlobalMaps(true, true);
  const nat4 = v4 as NatMap;
  const nat6 = v6 as NatMap;
  for (const m of [tcp4, any4, tcp6, any6, nat4, nat6]) m.openOrCreate();
  t.teardown(() => { for (const m of [tcp4, any4, tcp6, any6, nat4, nat6]) m.close(); });
  InitMapInfo(nat4, nat6);
  const emu = new DatapathEmulator({ tcp4, any4, tcp6, any6, nat4, nat6 }, { now: 100000, seed: 1 });
  const fill = (): void => {
    for (let i = 0; i < 200; i++) {
      emu.masquerade({ src: `10.0.${i >> 8}.${i & 255}:40000`, dst: '1.1.1.1:443', proto: 'TCP' }, '192.0.2.1', { age: i % 2 === 0 ? 50000 : 0 });
      emu.masquerade({ src: `[fd00::${i.toString(16)}]:40000`, dst: '[2001:db8::1]:443', proto: 'UDP' }, 'fd00::99', { age: i % 2 === 0 ? 50000 : 0 });
    }
    // A DSR entry expired, with its legacy SNAT entry.
    emu.dsrBackend('198.51.100.7:51000', '10.0.9.9:8080', '203.0.113.10:80', 'TCP', { age: 50000 });
  };
  const cases: [string, GCMode, boolean][] = [['observer', 'safe', false], ['inline', 'safe', true], ['inline', 'fast', true], ['observer', 'fast', false]];
  for (const [how, mode, inline] of cases) {
    fill();
    t.equal(nat4.count(), 401);
    t.equal(nat6.count(), 400);
    const seen4: GCEvent[] = [];
    const next4 = inline ? (ev: GCEvent) => { seen4.push(ev); } : (ev: GCEvent) => { seen4.push(ev); NatMapNext4(ev); };
    const next6 = inline ? undefined : NatMapNext6;
    const f = new GCFilter({ removeExpired: true, time: 100000 });
    const s4 = gcWithFilter(tcp4, f, { mode, next4, natFollowUp: inline });
    const s6 = gcWithFilter(any6, f, next6 === undefined ? { mode, natFollowUp: inline } : { mode, next6, natFollowUp: inline });
    t.same([s4.deleted, s6.deleted], [101, 200], `${how}/${mode}: the expired half went (v6 UDP: entries and their related ICMPv6 twins)`);
    t.equal(nat4.count(), 200, `${how}/${mode}: their v4 SNAT pairs and the DSR entry went in the same pass`);
    t.equal(nat6.count(), 200, `${how}/${mode}: and the v6 ones`);
    if (inline) t.equal(s4.natDeleted, 201, `${how}/${mode}: 100 pairs and one DSR entry deleted inline`);
    t.equal(seen4.length, 101);
    t.ok(seen4.every((e) => e.natMap === nat4), 'events name the NAT map');
    const ev = seen4[0] as GCEvent;
    const before = ev.key.toString();
    tcp4.update(key4(999), new CtEntry({ lifetime: 1 }));
    t.equal(ev.key.toString(), before, 'events hold copies, not views into reused buffers');
    tcp4.delete(key4(999));
    // Reset for the next case.
    for (const m of [tcp4, any4, tcp6, any6]) Flush(m);
    nat4.flush();
    nat6.flush();
  }
  // A CT map without a registered NAT map still emits events, with natMap undefined.
  InitMapInfo(undefined, undefined);
  tcp4.update(key4(1), new CtEntry({ lifetime: 1 }));
  const evs: GCEvent[] = [];
  Flush(tcp4, { next4: (e) => evs.push(e), natFollowUp: true });
  t.same(evs.map((e) => e.natMap), [undefined]);
});

t.test('fast mode: keys evicted between the batch read and the batch delete are skipped, the rest still go', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t);
  const m = tcp4Map(t);
  for (let i = 0; i < 1000; i++) m.update(key4(i), new CtEntry({ lifetime: 1 }));
  const real = getBackend();
  t.teardown(() => setBackend(real));
  // Hash maps walk in bucket order, and the keys of earlier batches are gone by the time a batch is
  // deleted, so the 10th and 50th keys of a fresh walk belong to the batch about to be deleted.
  let evicted = 0;
  let inside = false;
  let lastCmd = -1;
  setBackend({
    ...real,
    call: (cmd, attr, size) => {
      // Only the first delete after a batch read: the retries after a vanished key continue the same batch.
      const first = cmd === BpfCmd.BPF_MAP_DELETE_BATCH && lastCmd === BpfCmd.BPF_MAP_LOOKUP_BATCH;
      if (!inside) lastCmd = cmd;
      if (first && !inside) {
        inside = true;
        const walk = [...m.bpfMap.keys()];
        for (const j of [10, 50]) {
          const k = walk[j];
          if (k !== undefined && m.bpfMap.delete(k)) evicted++;
        }
        inside = false;
      }
      return real.call(cmd, attr, size);
    },
  });
  const s = gcWithFilter(m, new GCFilter({ removeExpired: true, time: 10 }), { mode: 'fast', chunk: 128 });
  setBackend(real);
  t.ok(evicted > 0, `${evicted} keys evicted inside delete batches`);
  t.equal(s.skipped, evicted, 'each evicted key was skipped, not fatal');
  t.equal(s.deleted + s.skipped, 1000, 'every other doomed key still went');
  t.equal(m.count(), 0, 'nothing doomed was left behind');
  t.equal(s.error, undefined);
  t.equal(s.completed, true);
});

t.test('GCRunner: run over the active maps, events to observers, signal passes purge orphans, additional pairs', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t);
  const cell = newCTMaps({ ipv4: true, ipv6: true });
  cell.start();
  t.teardown(() => { cell.stop(); });
  const [tcp4, any4] = cell.activeMaps() as [ConntrackMap, ConntrackMap];
  const { v4 } = GlobalMaps(true, false);
  const nat4 = v4 as NatMap;
  nat4.openOrCreate();
  t.teardown(() => { nat4.close(); });
  InitMapInfo(nat4, undefined);
  const emu = new DatapathEmulator({ tcp4, any4, nat4 }, { now: Number(GetCTCurTime({ mode: 'ktime' })), seed: 2 });
  // Expired entries get lifetime 0 (a fresh VM's CT clock may be too young for an "old" creation time).
  const expire = (k: CtKey): void => { const e = tcp4.lookup(k) as CtEntry; e.lifetime = 0; tcp4.update(k, e); };
  for (let i = 0; i < 50; i++) {
    const f = emu.masquerade({ src: `10.0.0.${i}:4000`, dst: '1.1.1.1:80', proto: 'TCP' }, '192.0.2.1', { related: false, established: true });
    if (i < 20) expire(f.ctKey);
  }
  const reg = new Registry();
  const runner = GCRunnerOf({ ctMaps: cell, ipv4: true, ipv6: true, registry: reg });
  const seen: CtKey[] = [];
  const sub = runner.observe4().subscribe((ev) => { seen.push(ev.key); });
  const deleted = runner.run(new GCFilter({ removeExpired: true }));
  t.equal(deleted, 20, 'the 20 expired flows');
  t.equal(seen.length, 20, 'v4 events reach the observer');
  t.equal(nat4.count(), 60, 'the SNAT pairs of the expired flows went inline');
  sub.unsubscribe();
  const runs = await reg.getSingleMetric('cilium_datapath_conntrack_gc_runs_total')?.get();
  t.ok((runs?.values.length ?? 0) >= 2, 'runs recorded per family and protocol');
  // Orphans appear behind GC's back; a signal-triggered pass purges them, a timer pass does not.
  const orphan = emu.masquerade({ src: '10.0.1.1:4000', dst: '1.1.1.1:80', proto: 'TCP' }, '192.0.2.1');
  tcp4.delete(orphan.ctKey);
  let r = runner.runGC(true, true, false, new GCFilter({ removeExpired: true }));
  t.same([r.success, r.nat.length], [true, 0]);
  t.ok(nat4.lookup(orphan.natOut as NatKey) !== undefined);
  r = runner.runGC(true, false, true, new GCFilter({ removeExpired: true }));
  t.equal(r.nat.length, 1, 'one purge per (TCP, Any) pair with a NAT map (v6 has none)');
  t.same([r.nat[0]?.egressDeleted, r.nat[0]?.ingressDeleted], [1, 1]);
  // Additional pairs (per-cluster maps) are opened for the pass and closed after it.
  const pc = NewPerClusterCTMaps(true, false);
  pc.openOrCreate();
  pc.createClusterCTMaps(4);
  t.teardown(() => { pc.close(); });
  const pair = pc.getAllClusterCTMaps();
  const inner = pair[0]?.tcp as ConntrackMap;
  inner.open();
  inner.update(key4(1), new CtEntry({ lifetime: 1 }));
  inner.close();
  const withExtra = GCRunnerOf({ ctMaps: cell, ipv4: true, ipv6: true, additionalCTMaps: [() => pc.getAllClusterCTMaps(), undefined] });
  r = withExtra.runGC(true, true, false, new GCFilter({ removeExpired: true, time: 10 }));
  t.equal(r.stats.length, 6, 'four global maps and one cluster pair');
  t.equal(r.stats.find((s) => s.map === 'cilium_per_cluster_ct_tcp4_4')?.deleted, 1);
  t.ok(r.maxDeleteRatio > 0);
  pc.deleteClusterCTMaps(4);
  const missing = GCRunnerOf({ ctMaps: cell, ipv4: true, ipv6: true, additionalCTMaps: [() => [{ tcp: newMap('cilium_per_cluster_ct_tcp4_9', 0), any: newMap('cilium_per_cluster_ct_any4_9', 2), isOpen: false }]] });
  r = missing.runGC(true, true, false, new GCFilter({ removeExpired: true, time: 10 }));
  t.equal(r.success, false, 'a pair that cannot be opened makes the pass unsuccessful');
  t.equal(r.stats.length, 4, 'and is skipped');
  // Observer mode: NatMapNext4 subscribed as in Cilium; same outcome.
  const obs = GCRunnerOf({ ctMaps: cell, ipv4: true, ipv6: false, natFollowUp: 'observer', mode: 'fast' });
  const f2 = emu.masquerade({ src: '10.0.2.1:4000', dst: '1.1.1.1:80', proto: 'TCP' }, '192.0.2.1', { related: false });
  expire(f2.ctKey);
  obs.run(new GCFilter({ removeExpired: true }));
  t.equal(nat4.lookup(f2.natOut as NatKey), undefined, 'the observer deleted the pair');
  await obs.stop();
  t.ok(obs.observe4().completed, 'stop completes the streams');
});

t.test('faults inside a pass: failed deletes count nothing, a half-done batch counts its done part, a failed walk is reported', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t);
  const m = tcp4Map(t);
  const real = getBackend();
  t.teardown(() => setBackend(real));
  const fill = (): void => { for (let i = 0; i < 100; i++) m.update(key4(i), new CtEntry({ lifetime: 1 })); };
  const f = (): GCFilter => new GCFilter({ removeExpired: true, time: 10 });
  // Safe mode: every 10th delete fails with EPERM; every 25th re-read fails with EIO.
  fill();
  let dels = 0;
  let reads = 0;
  setBackend({ ...real, call: (cmd, attr, size) => {
    if (cmd === BpfCmd.BPF_MAP_DELETE_ELEM && ++dels % 10 === 0) return -Errno.EPERM;
    if (cmd === BpfCmd.BPF_MAP_LOOKUP_ELEM && ++reads % 25 === 0) return -Errno.EIO;
    return real.call(cmd, attr, size);
  } });
  let s = gcWithFilter(m, f(), { mode: 'safe' });
  setBackend(real);
  t.equal(s.deleted, m.count() === 0 ? 100 : 100 - m.count(), 'deleted counts exactly what went');
  t.equal(s.deleted + m.count(), 100, 'what failed is still there, nothing counted twice');
  t.ok(m.count() > 0, `${m.count()} entries survived injected failures`);
  Flush(m);
  // Fast mode: the kernel stops a delete batch after 30 keys with EIO.
  fill();
  setBackend({ ...real, call: (cmd, attr, size) => {
    if (cmd !== BpfCmd.BPF_MAP_DELETE_BATCH) return real.call(cmd, attr, size);
    const dv = new DataView(attr.buffer, attr.byteOffset);
    const want = dv.getUint32(mapBatchAttr.offsetOf.count, true);
    dv.setUint32(mapBatchAttr.offsetOf.count, Math.min(30, want), true);
    const r = real.call(cmd, attr, size);
    return r < 0 ? r : want > 30 ? -Errno.EIO : r;
  } });
  const seen: GCEvent[] = [];
  s = gcWithFilter(m, f(), { mode: 'fast', next4: (e) => seen.push(e) });
  setBackend(real);
  t.equal(s.deleted, 30, 'the 30 keys the kernel deleted are counted');
  t.equal(seen.length, 30, 'and reported');
  t.equal(m.count(), 70);
  Flush(m);
  // The walk itself fails: Go still marks the pass completed and reports the error.
  fill();
  const reg = new Registry();
  setBackend({ ...real, call: (cmd, attr, size) => (cmd === BpfCmd.BPF_MAP_LOOKUP_BATCH ? -Errno.EIO : real.call(cmd, attr, size)) });
  s = gcWithFilter(m, f(), { registry: reg });
  setBackend(real);
  t.match(s.error?.message, 'failed to iterate map');
  t.same([s.completed, s.deleted], [true, 0]);
  const runs = await reg.getSingleMetric('cilium_datapath_conntrack_gc_runs_total')?.get();
  t.same(runs?.values.map((v) => [v.labels.family, v.labels.protocol, v.labels.status, v.value]), [['ipv4', 'TCP', 'completed', 1]]);
  const entries = await reg.getSingleMetric('cilium_datapath_conntrack_gc_entries')?.get();
  t.same(entries?.values.map((v) => [v.labels.status, v.value]).sort(), [['alive', 0], ['deleted', 0]]);
  t.equal(m.count(), 100, 'nothing deleted by a walk that never read');
});

t.test('observers and the ACT hook may call back into the CT map during a safe pass: the follow-up is unaffected', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t);
  const [tcp4, any4] = Maps(true, false) as [ConntrackMap, ConntrackMap];
  const nat4 = GlobalMaps(true, false).v4 as NatMap;
  for (const m of [tcp4, any4, nat4]) m.openOrCreate();
  t.teardown(() => { for (const m of [tcp4, any4, nat4]) m.close(); });
  InitMapInfo(nat4, undefined);
  const emu = new DatapathEmulator({ tcp4, any4, nat4 }, { now: 100000, seed: 4 });
  for (let i = 0; i < 50; i++) emu.masquerade({ src: `10.0.0.${i}:4000`, dst: '1.1.1.1:80', proto: 'TCP' }, '192.0.2.1', { related: false, age: i % 2 === 0 ? 50000 : 0 });
  emu.service('10.0.9.9:5000', '10.96.0.10:80', 'TCP', 3n, 9, { age: 50000 });
  const probe = key4(4242);
  let calls = 0;
  setACT({ countFailed4: () => { calls++; tcp4.lookup(probe); }, countFailed6: () => undefined });
  const s = gcWithFilter(tcp4, new GCFilter({ removeExpired: true, time: 100000 }), {
    mode: 'safe', natFollowUp: true, next4: () => { tcp4.lookup(probe); tcp4.count(); },
  });
  t.equal(s.deleted, 26, '25 expired flows and the service entry');
  t.equal(calls, 1);
  t.equal(nat4.count(), 50, 'exactly the 25 expired flows\' SNAT pairs went, although every observer used the map');
});

t.test('MatchIPs compares whole addresses of the right family and the whole network ID', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t);
  for (const mode of modes) {
    // IPv6: two addresses that differ only in their last byte.
    const m6 = newMap('cilium_ct6_global', CtMapType.IPv6TCPGlobal);
    m6.openOrCreate();
    const k6 = (d: string, s: string): CtKey => CtKey4GlobalOrV6(d, s);
    m6.update(k6('fd00::1', '2001:db8::9'), new CtEntry({ lifetime: 9999 }));
    m6.update(k6('fd00::2', '2001:db8::9'), new CtEntry({ lifetime: 9999 }));
    m6.update(k6('a00:1::', '2001:db8::9'), new CtEntry({ lifetime: 9999 }));
    let s = gcWithFilter(m6, new GCFilter({ matchIPs: ['fd00::1'] }), { mode });
    t.same([s.deleted, s.aliveEntries], [1, 2], `${mode}: fd00::1 matches, fd00::2 does not`);
    t.equal(m6.lookup(k6('fd00::1', '2001:db8::9')), undefined, `${mode}: fd00::1's entry went`);
    t.not(m6.lookup(k6('fd00::2', '2001:db8::9')), undefined, `${mode}: fd00::2's entry stayed`);
    t.not(m6.lookup(k6('a00:1::', '2001:db8::9')), undefined, `${mode}: a00:1::'s entry stayed`);
    // An IPv4 address never matches an IPv6 key whose leading bytes are the same (0a000001…).
    s = gcWithFilter(m6, new GCFilter({ matchIPs: ['10.0.0.1'] }), { mode });
    t.equal(s.deleted, 0, `${mode}: 10.0.0.1 does not match a00:1:: in a v6 key`);
    s = gcWithFilter(m6, new GCFilter({ matchIPs: ['2001:db8::9'] }), { mode });
    t.equal(s.deleted, 2, `${mode}: the shared source matches both remaining entries`);
    m6.close();
    m6.unpin();
    const m4 = tcp4Map(t);
    m4.update(key4(1, { daddr: '10.0.0.1', saddr: '8.8.8.8' }), new CtEntry({ lifetime: 9999 }));
    t.equal(gcWithFilter(m4, new GCFilter({ matchIPs: ['a00:1::'] }), { mode }).deleted, 0, `${mode}: an IPv6 address never matches a v4 key`);
    t.equal(gcWithFilter(m4, new GCFilter({ matchIPs: ['10.0.0.2', '8.8.8.9'] }), { mode }).deleted, 0, `${mode}: neighbours do not match`);
    t.equal(gcWithFilter(m4, new GCFilter({ matchIPs: ['8.8.8.8'] }), { mode }).deleted, 1, `${mode}: the key's SourceAddr (the flow's destination) matches`);
    m4.close();
    m4.unpin();
    // Network IDs are compared as whole u32s: 3 and 2^24 + 3 (and 2^16 + 3) are different networks.
    for (const [mapNet, want] of [[0x01000003, 0], [0x00010003, 0], [3, 1]] as const) {
      const net = newMap('cilium_ct4_global', CtMapType.IPv4TCPGlobal, WithNetworkID(mapNet));
      net.openOrCreate();
      net.update(key4(1, { daddr: '10.0.0.1' }), new CtEntry({ lifetime: 9999 }));
      t.equal(gcWithFilter(net, new GCFilter({ matchIPs: [{ addr: '10.0.0.1', netID: 3 }] }), { mode }).deleted, want, `${mode}: netID 3 against a map of network ${mapNet}: ${want}`);
      t.equal(gcWithFilter(net, new GCFilter({ matchIPs: [{ addr: '10.0.0.1', netID: mapNet }] }), { mode }).deleted, 1 - want, `${mode}: netID ${mapNet} against its own network`);
      net.close();
      net.unpin();
    }
  }
});

/** A v6 CT key with the given addresses (the rest fixed). */
function CtKey4GlobalOrV6(daddr: string, saddr: string): CtKey {
  return new CtKey6Global({ destAddr: daddr, sourceAddr: saddr, destPort: 0x5000, sourcePort: 0x3930, nextHeader: 6, flags: 0 });
}

t.test('safe mode between the batch read and the delete: a vanished entry is skipped, a refreshed one deferred, a re-read error keeps it', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t);
  // safeWindow 1 re-reads and deletes entry by entry; 4 takes the six doomed entries in two windows (the first
  // full inside the batch, the second at its end); 64 in one.
  for (const safeWindow of [1, 4, 64]) {
    const m = tcp4Map(t);
    for (let i = 0; i < 6; i++) m.update(key4(i), new CtEntry({ lifetime: 10 }));
    const bm = m.bpfMap;
    // The pass re-reads in batch order: the nth re-read is of order[n].
    const order: number[] = [];
    const keyOf = new Map<number, Uint8Array>();
    for (const b of bm.batches()) {
      for (let i = 0; i < b.count; i++) {
        const k = b.keys.slice(i * b.keySize, (i + 1) * b.keySize);
        const e = (k[2] ?? 0) * 256 + (k[3] ?? 0);
        order.push(e);
        keyOf.set(e, k);
      }
    }
    t.equal(order.length, 6);
    // A second handle on the same map, as the datapath would be: its writes are not the pass's.
    const other = BpfMap.openPinned(m.path());
    const real = getBackend();
    t.teardown(() => setBackend(real));
    // Before the re-reads of entries 1, 2 and 3 this "datapath" acts: entry 1 vanishes, entry 2 is refreshed
    // (lifetime 5000), entry 3's re-read fails with EPERM.
    const fdOf = (attr: Uint8Array): number => new DataView(attr.buffer, attr.byteOffset).getUint32(0, true);
    let reReads = 0;
    let calls = '';
    setBackend({
      ...real,
      call: (cmd, attr, size) => {
        if (fdOf(attr) === bm.fdValue && cmd === BpfCmd.BPF_MAP_DELETE_ELEM) calls += 'D';
        if (cmd === BpfCmd.BPF_MAP_LOOKUP_ELEM && fdOf(attr) === bm.fdValue) {
          calls += 'L';
          const i = order[reReads++];
          const key = keyOf.get(i ?? -1) as Uint8Array;
          if (i === 1) other.delete(key);
          if (i === 2) other.set(key, new CtEntry({ lifetime: 5000 }).toBytes());
          if (i === 3) return -Errno.EPERM;
        }
        return real.call(cmd, attr, size);
      },
    });
    const s = gcWithFilter(m, new GCFilter({ removeExpired: true, time: 100 }), { mode: 'safe', safeWindow });
    setBackend(real);
    other.close();
    t.equal(reReads, 6, `window ${safeWindow}: each doomed entry re-read once`);
    t.same([s.deleted, s.skipped, s.deferred, s.aliveEntries], [3, 1, 1, 0], `window ${safeWindow}: deleted 0, 4, 5; skipped 1; deferred 2; 3 kept after a failed re-read`);
    const left = [...lifetimes(m).values()].sort((a, b) => a - b);
    t.same(left, [10, 5000], `window ${safeWindow}: entry 2 (refreshed) and entry 3 (re-read failed) are still there`);
    // How the syscalls interleave is the window's promise: at most safeWindow re-reads before their deletes.
    if (safeWindow === 1) t.match(calls, /^(LD?)+$/, 'window 1: each delete right after its own re-read');
    if (safeWindow === 4) t.match(calls, /^LLLLD+LLD*$/, 'window 4: four re-reads, their deletes, two re-reads, theirs');
    if (safeWindow === 64) t.equal(calls, 'LLLLLLDDD', 'window 64: all six re-reads, then the three deletes');
    t.equal(calls.replace(/L/g, '').length, 3, `window ${safeWindow}: three deletes`);
    m.close();
    m.unpin();
  }
  // The window is checked like every option: a bad one changes nothing.
  const m = tcp4Map(t);
  m.update(key4(1), new CtEntry({ lifetime: 10 }));
  for (const bad of [0, 4097, 1.5, '8', -1]) {
    t.throws(() => gcWithFilter(m, new GCFilter({ removeExpired: true, time: 100 }), { safeWindow: bad as number }), /safeWindow must be an integer 1…4096/);
  }
  t.equal(lifetimes(m).size, 1, 'nothing deleted by the refused passes');
});

t.test('a pass aborted through its signal stops between batches and says why', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t);
  const m = tcp4Map(t);
  for (let i = 0; i < 3000; i++) m.update(key4(i), new CtEntry({ lifetime: i % 2 === 0 ? 10 : 9999 }));
  const ac = new AbortController();
  ac.abort(new Error('operator said stop'));
  const s = m.gc({ time: 100, signal: ac.signal, chunk: 256 });
  t.equal(s.error?.message, 'operator said stop', 'the reason is the pass\'s error');
  t.equal(s.deleted, 0, 'nothing deleted after the abort');
  t.equal(m.count(), 3000);
  // Aborted after the first batch: that batch's decisions stand, nothing after.
  const ac2 = new AbortController();
  let batches = 0;
  const s2 = m.gc({ time: 100, signal: ac2.signal, chunk: 256, onProgress: () => { if (++batches === 1) ac2.abort(new Error('enough')); } });
  t.equal(batches, 1);
  t.equal(s2.error?.message, 'enough');
  t.ok(s2.deleted > 0 && s2.deleted < 1500, `the first batch's expired entries went (${s2.deleted}), no more`);
  t.equal(m.count(), 3000 - s2.deleted);
  const s3 = await m.gcAsync({ time: 100, signal: ac2.signal });
  t.equal(s3.error?.message, 'enough', 'gcAsync too');
  t.equal(s3.deleted, 0);
});

t.test('GC metrics: runs, entries, duration, and the zero-initialised interrupt and fallback series', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t);
  const m = tcp4Map(t);
  for (let i = 0; i < 10; i++) m.update(key4(i), new CtEntry({ lifetime: i < 4 ? 10 : 9999 }));
  const reg = new Registry();
  const st = gcWithFilter(m, new GCFilter({ removeExpired: true, time: 100 }), { registry: reg });
  const json = await reg.getMetricsAsJSON();
  const get = (name: string, labels: Record<string, string> = {}): number | undefined => json.find((x) => x.name === name)?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
  t.equal(get('cilium_datapath_conntrack_gc_runs_total', { family: 'ipv4', protocol: 'TCP', status: 'completed' }), 1);
  t.equal(get('cilium_datapath_conntrack_gc_entries', { family: 'ipv4', protocol: 'TCP', status: 'alive' }), 6);
  t.equal(get('cilium_datapath_conntrack_gc_entries', { family: 'ipv4', protocol: 'TCP', status: 'deleted' }), 4);
  t.equal(get('cilium_datapath_conntrack_dump_resets_total', { area: 'conntrack', name: 'dump_interrupts', family: 'ipv4' }), 0);
  t.equal(get('cilium_datapath_conntrack_gc_key_fallbacks_total', { family: 'ipv4', protocol: 'TCP' }), 0);
  const d = json.find((x) => x.name === 'cilium_datapath_conntrack_gc_duration_seconds');
  t.ok(d !== undefined, 'the duration histogram exists');
  t.equal(d?.values.find((v) => (v as { metricName?: string }).metricName === 'cilium_datapath_conntrack_gc_duration_seconds_count' && v.labels.status === 'completed')?.value, 1, 'one observation');
  const sum = d?.values.find((v) => (v as { metricName?: string }).metricName === 'cilium_datapath_conntrack_gc_duration_seconds_sum')?.value;
  t.equal(sum, st.duration() / 1000, `the pass's duration, in seconds (${String(sum)} s)`);
  gcWithFilter(m, new GCFilter({ removeExpired: true, time: 100 }), { registry: undefined });
  t.equal((await reg.getMetricsAsJSON()).find((x) => x.name === 'cilium_datapath_conntrack_gc_runs_total')?.values.find((v) => v.labels.status === 'completed')?.value, 1, 'a pass told registry: undefined records nothing');
});
