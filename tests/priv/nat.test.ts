// NAT maps, the CT→NAT contract and the orphan purge on the real kernel (nat-datapath.md §2-9, ctmap.md §10.6, §11, §13).
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { caught, openFdCount, requirePrivileged } from '../helpers/priv.js';
import { bpftoolJSON, bpftoolUpdate } from '../helpers/bpftool.js';
import { setup, node } from '../helpers/compatmaps.js';
// Go's semantics through ctmap/compat (process-wide settings, as Cilium's package variables).
import { NatMap, IPv4, IPv6, NatDumpEntriesWithTimeDiff, DeleteMapping4, DeleteSwappedMapping4 } from '../../src/nat/index.js';
import {
  CtMapType, NatMapNext4, NatMapNext6, NatGCStats, ConntrackMap, type GCEvent,
} from '../../src/ctmap/index.js';
import {
  GlobalMaps, setNATMapEntriesGlobal, natMapMaxEntries, RetriesMaps, NewPerClusterNATMaps, GetClusterNATMap, ClusterNATMaps,
  CleanupPerClusterNATMaps, NatClusterOuterMapNameTestOverride, PurgeOrphanNATEntries, FakePerClusterNATMaps, newMap,
  InitMapInfo, WithNetworkID, WithClusterID, NewPerClusterCTMaps, setBackend, getBackend, NewNatMap, processSettings,
} from '../../src/compat/index.js';
import { MapLoadError } from '../../src/syscall/index.js';
import type { ClockReader } from '../../src/datapath/index.js';
import {
  CtEntry, CtKey4Global, NatKey4, NatEntry4, NatKey6, NatEntry6, TupleKey4, TupleKey6Global, DSRInternal,
  TUPLE_F_IN, TUPLE_F_RELATED, TUPLE_F_SERVICE, type NatKey,
} from '../../src/structs/index.js';
import {
  MapIncompatibleError, isNotExist, NewDumpStats, BpfCmd, Errno, mapBatchAttr, mapElemAttr, possibleCPUs,
} from '../../src/syscall/index.js';
import { DatapathEmulator, DROP_NAT_NO_MAPPING } from '../../src/testing/emulator.js';

const msg = (e: unknown): string => (e instanceof Error ? e.message : `not an error: ${String(e)}`);
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/ /g, ''), 'hex'));

const counts = (s: NatGCStats): number[] => [s.egressAlive, s.ingressAlive, s.egressDeleted, s.ingressDeleted];

t.test('global NAT maps: Cilium shapes, sizes, open errors, incompatible pins', async (t) => {
  if (!requirePrivileged(t)) return;
  const root = setup(t);
  t.equal(natMapMaxEntries(), 16384);
  t.equal(setNATMapEntriesGlobal(0), 16384);
  t.equal(natMapMaxEntries(), 16777216, 'Go: 0 means LimitTableMax');
  setNATMapEntriesGlobal(16384);
  t.match(msg(caught(() => setNATMapEntriesGlobal(-1))), 'NAT map size');
  const { v4, v6 } = GlobalMaps(true, true);
  const fds = openFdCount();
  const e = caught(() => { v4?.open(); });
  t.ok(e instanceof MapLoadError && isNotExist(e));
  t.match(msg(e), `loading pinned map ${join(root, 'tc/globals/cilium_snat_v4_external')}: `);
  t.equal(v4?.openOrCreate(), 'created');
  t.equal(v6?.create(), 'created');
  t.equal(v6?.isOpen, false, 'create() closes again');
  for (const [name, k, v] of [['cilium_snat_v4_external', 14, 40], ['cilium_snat_v6_external', 38, 56]] as const) {
    const info = bpftoolJSON('map', 'show', 'pinned', join(root, 'tc/globals', name)) as Record<string, unknown>;
    t.same([info.type, info.bytes_key, info.bytes_value, info.max_entries, info.flags], ['lru_hash', k, v, 16384, 0], `${name} as Cilium creates it`);
  }
  v4?.close();
  t.equal(openFdCount(), fds);
  t.same(GlobalMaps(false, true).v4, undefined);
  // A v4 NAT map object over the v6 pin is refused, not misread.
  const wrong = NewNatMap('cilium_snat_v6_external', IPv4, 16384);
  const bad = caught(() => { wrong.open(); });
  t.ok(bad instanceof MapIncompatibleError);
  t.equal((bad as MapIncompatibleError).field, 'key size');
  t.equal(openFdCount(), fds, 'the refused pin is closed');
  t.match(msg(caught(() => new NatMap(processSettings(), 'x', 'ipv5' as 'ipv4', { maxEntries: 1 }))), 'family');
  t.match(msg(caught(() => NewNatMap('x', IPv4, 0))), 'max entries');
  t.match(msg(caught(() => new NatMap(processSettings(), '', IPv4))), 'non-empty');
  t.match(msg(caught(() => { wrong.clearAll(); })), 'clear map: events buffer and value cache are not supported');
  v6?.unpin();
  v6?.unpin();
  t.notOk(existsSync(v6?.path() ?? ''));
});

t.test('NAT dump text of bpftool-written entries, JSON records, batch dumps', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t);
  const { v4, v6 } = GlobalMaps(true, true);
  const n4 = v4 as NatMap;
  const n6 = v6 as NatMap;
  n4.openOrCreate();
  n6.openOrCreate();
  t.teardown(() => { n4.close(); n6.close(); });
  // The spec's example line: TCP OUT 10.0.1.99:34520 -> 1.1.1.1:80 XLATE_SRC 10.0.2.15:34520.
  bpftoolUpdate(n4.path(), hex('01010101 0a000163 0050 86d8 06 00'), hex('e803000000000000 0000000000000000' + '00'.repeat(16) + '0a00020f 86d8 0000'));
  bpftoolUpdate(n4.path(), hex('0a00020f 01010101 86d8 0050 06 01'), hex('e803000000000000 0100000000000000' + '00'.repeat(16) + '0a000163 86d8 0000'));
  bpftoolUpdate(n4.path(), hex('01010101 0a000163 0000 0000 00 00'), hex('00'.repeat(40)));
  bpftoolUpdate(n6.path(), hex('20010db8000000000000000000000001 fd000000000000000000000000000005 0035 c350 11 00'),
    hex('0500000000000000 0000000000000000' + '00'.repeat(16) + 'fd000000000000000000000000000099 c350 000000000000'));
  const lines = (s: string): string[] => s.split(/(?<=\n)/).sort();
  t.same(lines(n4.dumpEntries()), [
    'TCP OUT 10.0.1.99:34520 -> 1.1.1.1:80 XLATE_SRC 10.0.2.15:34520 Created=? (raw 1000) NeedsCT=0\n',
    'TCP IN 1.1.1.1:80 -> 10.0.2.15:34520 XLATE_DST 10.0.1.99:34520 Created=? (raw 1000) NeedsCT=1\n',
  ].sort(), 'Cilium text; the next-header-0 entry is skipped');
  t.equal(NatDumpEntriesWithTimeDiff(n6),
    'UDP OUT [fd00::5]:50000 -> [2001:db8::1]:53 XLATE_SRC [fd00::99]:50000 Created=? (raw 5) NeedsCT=0\n');
  const clock: ClockReader = { monotonicNs: () => 1_060_000_000_000n, jiffies: () => 0n };
  t.match(n4.dumpEntriesWithTimeDiff({ mode: 'ktime' }, clock), 'Created=60sec ago NeedsCT=0');
  t.match(n6.dumpEntriesWithTimeDiff({ mode: 'ktime' }, { monotonicNs: () => 1_000_000_000n, jiffies: () => 0n }), 'Created=-4sec ago',
    'negative when created after "now"');
  t.equal(msg(caught(() => n4.dumpEntriesWithTimeDiff({ mode: 'jiffies' }, clock))), 'invalid clock Hertz value (0)');
  // Typed access.
  const out = new NatKey4({ destAddr: '1.1.1.1', sourceAddr: '10.0.1.99', destPort: 0x5000, sourcePort: 0xd886, nextHeader: 6 });
  const val = n4.lookup(out);
  t.ok(val instanceof NatEntry4);
  t.same([val?.addr, val?.port, val?.created], ['10.0.2.15', 0xd886, 1000n]);
  t.equal(n4.lookup(new NatKey4({ destAddr: '9.9.9.9', nextHeader: 6 })), undefined);
  t.match(msg(caught(() => { n4.update(new NatKey6(), new NatEntry6()); })), 'key must be a NatKey4 (14 bytes)');
  t.match(msg(caught(() => { n4.update(out, new NatEntry6()); })), 'value must be a NatEntry4');
  // Batch dumps: raw tuples, family checked.
  const seen: string[] = [];
  t.equal(n4.dumpBatch4((k, v) => { seen.push(`${k.toString()} ${v.addr}`); }), 3);
  t.equal(seen.length, 3);
  t.equal(msg(caught(() => n4.dumpBatch6(() => undefined))), 'not implemented: wrong ip family: ipv4');
  t.equal(msg(caught(() => n6.dumpBatch4(() => undefined))), 'not implemented: wrong ip family: ipv6');
  t.equal(n6.dumpBatch6(() => undefined), 1);
  t.equal(msg(caught(() => { n4.dumpWithCallback(undefined); })), 'empty callback');
  t.equal(msg(caught(() => { n4.dumpReliablyWithCallback(undefined, NewDumpStats(n4)); })), 'empty callback');
  t.equal(msg(caught(() => { n4.dumpReliablyWithCallback(() => undefined, undefined); })), 'stats is nil');
  const stats = NewDumpStats(n4.bpfMap);
  const rel: string[] = [];
  n4.dumpReliablyWithCallback((k) => { rel.push(k.toString()); }, stats);
  t.equal(rel.length, 3);
  t.ok(stats.completed);
  t.equal(stats.maxEntries, 16384);
  // Flush: every entry goes, the count says how many.
  t.equal(n4.flush(), 3);
  t.equal(n4.count(), 0);
  t.equal(n4.flush(), 0, 'flushing an empty map');
  t.equal(n4.delete(out), false, 'a missing key is a value, not an error');
});

t.test('retries histograms: per-CPU arrays read per possible CPU and cleared', async (t) => {
  if (!requirePrivileged(t)) return;
  const root = setup(t);
  const [r4, r6] = RetriesMaps(true, true);
  if (r4 === undefined || r6 === undefined) throw new Error('two retries maps expected');
  r4.create();
  r6.openOrCreate();
  t.teardown(() => { r4.close(); r6.close(); });
  const info = bpftoolJSON('map', 'show', 'pinned', join(root, 'tc/globals/cilium_snat_v4_alloc_retries')) as Record<string, unknown>;
  t.same([info.type, info.bytes_key, info.bytes_value, info.max_entries], ['percpu_array', 4, 4, 33]);
  t.equal(r4.bpfMap.valueBufferSize, 8 * possibleCPUs(), 'one 8-byte slot per possible CPU');
  t.same(r4.sums(), new Array<number>(33).fill(0));
  const nat4 = GlobalMaps(true, false).v4 as NatMap;
  nat4.openOrCreate();
  const tcp4 = newMap('cilium_ct4_global', CtMapType.IPv4TCPGlobal);
  tcp4.openOrCreate();
  t.teardown(() => { nat4.close(); tcp4.close(); });
  const emu = new DatapathEmulator({ tcp4, nat4, retries4: r4 }, { now: 1000, seed: 3 });
  // 40 packets from the same source port to one destination through a range of 4 ports: collisions, then failures.
  const results = [];
  for (let i = 0; i < 8; i++) {
    results.push(emu.snatNewMapping({ src: `10.0.0.${i + 1}:40000`, dst: '1.1.1.1:443', proto: 'TCP' }, { addr: '192.0.2.1', minPort: 40000, maxPort: 40003 }));
  }
  const ok = results.filter((r) => r !== DROP_NAT_NO_MAPPING);
  t.equal(ok.length, 4, 'four ports, four mappings');
  t.equal(results.filter((r) => r === DROP_NAT_NO_MAPPING).length, 4, 'the rest fail with DROP_NAT_NO_MAPPING');
  const sums = r4.sums();
  t.equal(sums[0], 1, 'the first found its own port');
  t.equal(sums[32], 4, 'four gave up after 32 retries');
  t.equal(sums.reduce((a, b) => a + b, 0), 8);
  t.equal(nat4.count(), 8, 'a SNAT and a RevSNAT entry per mapping');
  r4.clearAll();
  t.same(r4.sums(), new Array<number>(33).fill(0), 'ClearAll zeroes every CPU');
  const missing = RetriesMaps(false, true)[0];
  missing?.unpin();
  t.ok(isNotExist(caught(() => { missing?.open(); })));
});

t.test('NAT follow-up (NatMapNext4/6): the SNAT pair of a plain egress entry goes, nothing else does', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t);
  const n = node(t);
  const f = n.emu.masquerade({ src: '10.0.1.5:40000', dst: '1.1.1.1:80', proto: 'TCP' }, '192.0.2.1', { established: true });
  t.ok(f.natOut !== undefined && f.natIn !== undefined);
  t.equal(n.nat4.count(), 2);
  const entry = n.tcp4.lookup(f.ctKey) as CtEntry;
  const ev = (key: GCEvent['key'], e: CtEntry, natMap: NatMap | undefined): GCEvent => ({ key, entry: e, natMap });
  // Keys that are not exactly OUT own no mapping.
  for (const flags of [TUPLE_F_IN, TUPLE_F_RELATED, TUPLE_F_SERVICE]) {
    const k = CtKey4Global.fromBytes(f.ctKey.raw);
    k.flags = flags;
    NatMapNext4(ev(k, entry, n.nat4));
  }
  NatMapNext4(ev(f.ctKey, entry, undefined));
  NatMapNext6(ev(f.ctKey, entry, n.nat4));
  t.equal(n.nat4.count(), 2, 'IN, RELATED, SERVICE, no NAT map and the wrong family leave the pair alone');
  NatMapNext4(ev(f.ctKey, entry, n.nat4));
  t.equal(n.nat4.count(), 0, 'the SNAT and RevSNAT entries are gone');
  NatMapNext4(ev(f.ctKey, entry, n.nat4));
  t.equal(n.nat4.count(), 0, 'a second event for the same flow is harmless');
  // A missing OUT entry leaves the IN entry alone (the purge catches it later).
  const g = n.emu.masquerade({ src: '10.0.1.6:40000', dst: '1.1.1.1:80', proto: 'TCP' }, '192.0.2.1');
  n.nat4.delete(g.natOut as NatKey);
  NatMapNext4(ev(g.ctKey, n.tcp4.lookup(g.ctKey) as CtEntry, n.nat4));
  t.equal(n.nat4.count(), 1);
  t.ok(n.nat4.lookup(g.natIn as NatKey) !== undefined);
  // DSR: the legacy swapped-port entry goes instead.
  const d = n.emu.dsrBackend('198.51.100.7:51000', '10.0.1.9:8080', '203.0.113.10:80', 'TCP');
  t.ok(d.dsrNat !== undefined && n.nat4.lookup(d.dsrNat) !== undefined);
  const de = n.tcp4.lookup(d.ctKey) as CtEntry;
  t.ok((de.flags & DSRInternal) !== 0);
  NatMapNext4(ev(d.ctKey, de, n.nat4));
  t.equal(n.nat4.lookup(d.dsrNat as NatKey), undefined, 'the DSR SNAT entry is deleted');
  // v6 through NatMapNext6.
  const s6 = n.emu.masquerade({ src: '[fd00::5]:40000', dst: '[2001:db8::1]:443', proto: 'TCP' }, 'fd00::99');
  t.equal(n.nat6.count(), 2);
  NatMapNext6(ev(s6.ctKey, n.tcp6.lookup(s6.ctKey) as CtEntry, n.nat6));
  t.equal(n.nat6.count(), 0);
  // The delete helpers check the tuple type, with Go's %T spelling.
  t.equal(msg(caught(() => { DeleteMapping4(n.nat4, new TupleKey4() as never); })), 'wrong type *tuple.TupleKey4 for key');
  t.equal(msg(caught(() => { DeleteSwappedMapping4(n.nat4, new TupleKey6Global() as never); })), 'wrong type *tuple.TupleKey6Global for key');
});

t.test('orphan purge: the upstream scenarios (egress pair, ICMP, DSR switch, no NAT map)', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t);
  const n = node(t);
  const tcp = n.emu.masquerade({ src: '10.0.1.5:40000', dst: '1.1.1.1:80', proto: 'TCP' }, '192.0.2.1', { established: true });
  const udp = n.emu.masquerade({ src: '10.0.1.5:53000', dst: '8.8.8.8:53', proto: 'UDP' }, '192.0.2.1');
  const icmp = n.emu.masquerade({ src: '10.0.1.5:77', dst: '8.8.4.4', proto: 'ICMP' }, '192.0.2.1');
  let s = PurgeOrphanNATEntries(n.tcp4, n.any4) as NatGCStats;
  t.ok(s instanceof NatGCStats);
  t.same([s.family, s.clusterID, s.egressAlive, s.ingressAlive, s.egressDeleted, s.ingressDeleted], [IPv4, 0, 3, 3, 0, 0], 'everything owned');
  t.ok(s.dumpStats.completed);
  // The CT entry goes behind the NAT map's back (LRU eviction): both NAT entries become orphans.
  n.tcp4.delete(tcp.ctKey);
  s = PurgeOrphanNATEntries(n.tcp4, n.any4) as NatGCStats;
  t.same([s.egressAlive, s.ingressAlive, s.egressDeleted, s.ingressDeleted], [2, 2, 1, 1]);
  t.equal(n.nat4.lookup(tcp.natOut as NatKey), undefined);
  t.equal(n.nat4.lookup(tcp.natIn as NatKey), undefined);
  n.any4.delete(icmp.ctKey);
  s = PurgeOrphanNATEntries(n.tcp4, n.any4) as NatGCStats;
  t.same([s.egressAlive, s.ingressAlive, s.egressDeleted, s.ingressDeleted], [1, 1, 1, 1], 'ICMP pairs are checked in the any map');
  t.ok(n.nat4.lookup(udp.natOut as NatKey) !== undefined);
  // DSR: the swapped-port NAT entry lives while its CT entry carries DSRInternal …
  const d = n.emu.dsrBackend('198.51.100.7:51000', '10.0.1.9:8080', '203.0.113.10:80', 'TCP');
  s = PurgeOrphanNATEntries(n.tcp4, n.any4) as NatGCStats;
  t.same([s.egressAlive, s.egressDeleted], [2, 0], 'DSR entry alive');
  // … and is an orphan once the CT entry at that key is no longer a DSR one (the switch case).
  const e = n.tcp4.lookup(d.ctKey) as CtEntry;
  e.flags &= ~DSRInternal;
  n.tcp4.update(d.ctKey, e);
  s = PurgeOrphanNATEntries(n.tcp4, n.any4) as NatGCStats;
  t.same([s.egressAlive, s.egressDeleted], [1, 1], 'DSR entry deleted after the switch');
  t.equal(n.nat4.lookup(d.dsrNat as NatKey), undefined);
  // v6 pairs purge the same way.
  const v6 = n.emu.masquerade({ src: '[fd00::5]:40000', dst: '[2001:db8::1]:443', proto: 'TCP' }, 'fd00::99');
  n.tcp6.delete(v6.ctKey);
  s = PurgeOrphanNATEntries(n.tcp6, n.any6) as NatGCStats;
  t.same([s.family, s.egressDeleted, s.ingressDeleted], [IPv6, 1, 1]);
  t.equal(n.nat6.count(), 0);
  // Pairs without a NAT map return nothing and touch nothing.
  t.equal(PurgeOrphanNATEntries(newMap('x_tcp', 0, WithNetworkID(3)), newMap('x_any', 2, WithNetworkID(3))), undefined, 'network-scoped maps');
  InitMapInfo(undefined, n.nat6);
  t.equal(PurgeOrphanNATEntries(n.tcp4, n.any4), undefined, 'no v4 NAT map registered');
  InitMapInfo({ not: 'a nat map' }, n.nat4);
  t.equal(PurgeOrphanNATEntries(n.tcp6, n.any6), undefined, 'a v4 map offered as the v6 one counts as none');
  t.equal(n.nat4.count(), 2, 'the udp pair is still there');
});

t.test('orphan purge: uncertain CT lookups keep NAT entries; a failed walk deletes nothing; missing CT pins do not', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t);
  const n = node(t);
  const a = n.emu.masquerade({ src: '10.0.1.5:40000', dst: '1.1.1.1:80', proto: 'TCP' }, '192.0.2.1');
  n.emu.masquerade({ src: '10.0.1.6:40000', dst: '1.1.1.1:80', proto: 'TCP' }, '192.0.2.1');
  n.tcp4.delete(a.ctKey);
  const real = getBackend();
  t.teardown(() => setBackend(real));
  const fdOf = (attr: Uint8Array, off: number): number => new DataView(attr.buffer, attr.byteOffset).getUint32(off, true);
  // CT lookups fail with EPERM: "exists" — nothing is deleted.
  const ctFd = n.tcp4.bpfMap.fdValue;
  setBackend({ ...real, call: (cmd, attr, size) => (cmd === BpfCmd.BPF_MAP_LOOKUP_ELEM && fdOf(attr, mapElemAttr.offsetOf.map_fd) === ctFd ? -Errno.EPERM : real.call(cmd, attr, size)) });
  let s = PurgeOrphanNATEntries(n.tcp4, n.any4, { strategy: 'lookup' }) as NatGCStats;
  setBackend(real);
  t.same([s.egressAlive, s.ingressAlive, s.egressDeleted, s.ingressDeleted], [2, 2, 0, 0], 'a lookup error other than ENOENT counts as alive');
  // The NAT walk fails after the first batch: nothing is deleted, the partial counts stay.
  const natFd = n.nat4.bpfMap.fdValue;
  let calls = 0;
  setBackend({ ...real, call: (cmd, attr, size) => (cmd === BpfCmd.BPF_MAP_LOOKUP_BATCH && fdOf(attr, mapBatchAttr.offsetOf.map_fd) === natFd && ++calls > 0 ? -Errno.EIO : real.call(cmd, attr, size)) });
  s = PurgeOrphanNATEntries(n.tcp4, n.any4) as NatGCStats;
  setBackend(real);
  t.match(s.error?.message, 'failed to iterate map');
  t.equal(s.dumpStats.completed, false);
  t.same([s.egressDeleted, s.ingressDeleted], [0, 0]);
  t.equal(n.nat4.count(), 4, 'nothing deleted after a failed walk');
  // A CT map whose pin is gone (and not open) means "no CT entries": its NAT entries are orphans.
  n.tcp4.close();
  n.tcp4.unpin();
  s = PurgeOrphanNATEntries(n.tcp4, n.any4) as NatGCStats;
  t.same([s.egressDeleted, s.ingressDeleted], [2, 2]);
  t.equal(n.nat4.count(), 0);
});

t.test('per-cluster NAT maps: create, delete, cleanup, and the purge of a cluster pair', async (t) => {
  if (!requirePrivileged(t)) return;
  const root = setup(t);
  const globals = join(root, 'tc/globals');
  const fds = openFdCount();
  const mgr = NewPerClusterNATMaps(true, true);
  mgr.openOrCreate();
  for (const name of ['cilium_per_cluster_snat_v4_external', 'cilium_per_cluster_snat_v6_external']) {
    const info = bpftoolJSON('map', 'show', 'pinned', join(globals, name)) as Record<string, unknown>;
    t.same([info.type, info.bytes_key, info.bytes_value, info.max_entries], ['array_of_maps', 4, 4, 256]);
  }
  mgr.createClusterNATMaps(3);
  mgr.createClusterNATMaps(3);
  const inner = mgr.getClusterNATMap(3, IPv4);
  t.equal(inner.name, 'cilium_per_cluster_snat_v4_external_3');
  inner.open();
  t.equal(mgr.outer[0]?.innerId(3), inner.bpfMap.id, 'the outer slot holds the inner map');
  const info = bpftoolJSON('map', 'show', 'pinned', inner.path()) as Record<string, unknown>;
  t.same([info.type, info.bytes_key, info.bytes_value, info.max_entries], ['lru_hash', 14, 40, 16384]);
  inner.close();
  t.equal(msg(caught(() => mgr.getClusterNATMap(0, IPv4))), 'ClusterID 0 is reserved');
  t.equal(msg(caught(() => NewPerClusterNATMaps(true, false).getClusterNATMap(3, IPv6))), 'IP family ipv6 not enabled');
  t.equal(msg(caught(() => { mgr.createClusterNATMaps(256); })), 'ClusterID > 255 is not supported');
  t.same(Object.keys(ClusterNATMaps(3, true, false)).filter((k) => ClusterNATMaps(3, true, false)[k as 'v4' | 'v6'] !== undefined), ['v4']);

  // A per-cluster CT pair purges against its own cluster's NAT map.
  const ct = NewPerClusterCTMaps(true, false);
  ct.openOrCreate();
  ct.createClusterCTMaps(3);
  const [ctTcp, ctAny] = [ct.outer[0]?.innerMap(3), ct.outer[1]?.innerMap(3)] as [ConntrackMap, ConntrackMap];
  const nat = GetClusterNATMap(3, IPv4);
  const emu = new DatapathEmulator({ tcp4: ctTcp, any4: ctAny, nat4: nat }, { now: 5000 });
  const kept = emu.masquerade({ src: '10.1.0.5:40000', dst: '1.1.1.1:80', proto: 'TCP' }, '192.0.2.1');
  const gone = emu.masquerade({ src: '10.1.0.6:40000', dst: '1.1.1.1:80', proto: 'TCP' }, '192.0.2.1');
  ctTcp.delete(gone.ctKey);
  const s = PurgeOrphanNATEntries(ctTcp, ctAny) as NatGCStats;
  t.same([s.clusterID, s.egressAlive, s.egressDeleted, s.ingressDeleted], [3, 1, 1, 1]);
  t.ok(nat.lookup(kept.natOut as NatKey) !== undefined);
  t.equal(nat.isOpen, true, 'the map the test opened stays open');
  nat.close();
  // The purge opens the cluster's NAT map for itself and closes it when done (its lease).
  const held = openFdCount();
  t.same(counts(PurgeOrphanNATEntries(ctTcp, ctAny) as NatGCStats), [1, 1, 0, 0]);
  t.equal(openFdCount(), held, 'the purge released the cluster NAT map');
  // So does a GC pass with its NAT follow-up.
  const gcs = ctTcp.gc({ time: 1 });
  t.same([gcs.deleted, gcs.natDeleted], [0, 0]);
  t.equal(openFdCount(), held, 'the GC pass released the cluster NAT map');
  t.equal(PurgeOrphanNATEntries(newMap('cilium_per_cluster_ct_tcp4_9', 0, WithClusterID(9)), newMap('cilium_per_cluster_ct_any4_9', 2, WithClusterID(9))),
    undefined, 'a cluster without a NAT map');
  for (const m of [ctTcp, ctAny]) m.close();
  ct.close();

  mgr.deleteClusterNATMaps(3);
  mgr.deleteClusterNATMaps(3);
  t.notOk(existsSync(join(globals, 'cilium_per_cluster_snat_v4_external_3')));
  t.equal(mgr.outer[0]?.innerId(3), undefined);
  mgr.createClusterNATMaps(200);
  mgr.close();
  NatClusterOuterMapNameTestOverride('test');
  t.teardown(() => { NatClusterOuterMapNameTestOverride(undefined); });
  CleanupPerClusterNATMaps(true, true);
  t.ok(existsSync(join(globals, 'cilium_per_cluster_snat_v4_external_200')), 'the override points cleanup elsewhere');
  NatClusterOuterMapNameTestOverride(undefined);
  CleanupPerClusterNATMaps(true, false);
  t.notOk(existsSync(join(globals, 'cilium_per_cluster_snat_v4_external_200')));
  t.ok(existsSync(join(globals, 'cilium_per_cluster_snat_v6_external_200')), 'v6 untouched');
  CleanupPerClusterNATMaps(true, true);
  CleanupPerClusterNATMaps(true, true);
  t.notOk(existsSync(join(globals, 'cilium_per_cluster_snat_v6_external')));
  t.equal(openFdCount(), fds, 'no fd held');
  const fake = new FakePerClusterNATMaps();
  fake.openOrCreate();
  fake.createClusterNATMaps(0);
  t.ok(fake.has(0));
  fake.deleteClusterNATMaps(0);
  fake.close();
  t.notOk(fake.has(0));
});

