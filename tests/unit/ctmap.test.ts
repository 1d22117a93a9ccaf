// CT map layer without the kernel: type enum, sizing, clock sources, names, mocks (ctmap.md §3, §6-8, §15-16).
import t from 'tap';
import { inspect } from 'node:util';
import { Registry } from 'prom-client';
// These are Go's semantics: the Go-shaped names come from ctmap/compat (process-wide settings), the rest from their layers.
import {
  CtMapType, ctMapTypeString, ctMapTypeName, ctMapTypeKeySize, ctMapTypeIsIPv4, ctMapTypeIsIPv6,
  ctMapTypeIsTCP, ctMapTypeValue, ctMapTypeKey, ctMapTypeGlobalName, ConntrackMap, OpenCTMap, DumpEntriesWithTimeDiff,
  PerClusterCTMapKey, PerClusterCTMapVal,
} from '../../src/ctmap/index.js';
import {
  ctMapTypeMaxEntries, ctMapFlags, setCTMapConfig, resetCTMapConfig, ctMapConfig, validateCTMapSizes, ValidateClusterID,
  setMaxConnectedClusters, clusterIDMax, Maps, NewGlobalMap, NewGlobalMapSpec, newMap, WithClusterID, WithNetworkID, WithRegistry,
  newCTMaps, ClusterOuterMapName, ClusterInnerMapName, ClusterOuterMapNameTestOverride, NewPerClusterCTMaps, GetClusterCTMaps,
  NewCtMockMap, CtMockMap, MockMapPath, NewFakePerClusterCTMaps, setMapRoot, mapRoot, mapPinPath, DefaultMapRoot,
} from '../../src/compat/index.js';
import {
  roundForDistributedLRU, GetCTCurTime, NewCTTimeToSecConverter, remainingSecondsFormatter, parseSchedstatJiffies,
  clockSourceFromOptions, systemClock, MapPressureMetricName, mapPressureLabel, Settings, type ClockReader,
} from '../../src/datapath/index.js';
import { CtEntry, CtKey4Global, CtKey6Global, CtMapRecord, TUPLE_F_IN, TUPLE_F_SERVICE } from '../../src/structs/index.js';
import { possibleCPUs, MapType, MapFlags, joinErrors } from '../../src/syscall/index.js';
import { caught } from '../helpers/priv.js';

const msg = (e: unknown): string => (e instanceof Error ? e.message : `not an error: ${String(e)}`);

t.test('map type enum: String, name, key, maxEntries and the out-of-range rules', async (t) => {
  t.same([0, 1, 2, 3, 4], [CtMapType.IPv4TCPGlobal, CtMapType.IPv6TCPGlobal, CtMapType.IPv4AnyGlobal, CtMapType.IPv6AnyGlobal, CtMapType.Max]);
  t.same([0, 1, 2, 3].map(ctMapTypeString),
    ['Global IPv4 TCP CT map', 'Global IPv6 TCP CT map', 'Global IPv4 non-TCP CT map', 'Global IPv6 non-TCP CT map']);
  t.equal(ctMapTypeString(-1), 'Unknown (-1)');
  t.equal(ctMapTypeString(4), 'Unknown (4)');
  t.same([0, 1, 2, 3].map(ctMapTypeName), ['tcp4', 'tcp6', 'any4', 'any6']);
  t.same([0, 1, 2, 3].map(ctMapTypeKeySize), [14, 38, 14, 38]);
  t.same([0, 1, 2, 3].map(ctMapTypeMaxEntries), [524288, 524288, 262144, 262144]);
  t.same([0, 1, 2, 3].map(ctMapTypeGlobalName), ['cilium_ct4_global', 'cilium_ct6_global', 'cilium_ct_any4_global', 'cilium_ct_any6_global']);
  t.same([0, 1, 2, 3].map(ctMapTypeIsIPv4), [true, false, true, false]);
  t.same([0, 1, 2, 3].map(ctMapTypeIsIPv6), [false, true, false, true]);
  t.same([0, 1, 2, 3].map(ctMapTypeIsTCP), [true, true, false, false]);
  for (const bad of [-1, 4, 1.5]) {
    for (const fn of [ctMapTypeName, ctMapTypeKeySize, ctMapTypeMaxEntries]) {
      t.equal(msg(caught(() => fn(bad))), `Unexpected map type Unknown (${bad})`, `${fn.name}(${bad}) throws`);
    }
  }
  t.ok(ctMapTypeValue() instanceof CtEntry);
  t.not(ctMapTypeValue(), ctMapTypeValue(), 'value() is fresh each time');
  t.ok(ctMapTypeKey(0, new Uint8Array(14)) instanceof CtKey4Global);
  t.ok(ctMapTypeKey(3, new Uint8Array(38)) instanceof CtKey6Global);
  t.match(msg(caught(() => new ConntrackMap(new Settings(), 'x', 7))), 'Unexpected map type Unknown (7)');
  t.match(msg(caught(() => new ConntrackMap(new Settings(), '', 0))), 'non-empty string');
  t.match(msg(caught(() => newMap('x', 7))), 'Unexpected map type Unknown (7)');
});

t.test('max entries: 0 means default, validation texts, distributed LRU rounding', async (t) => {
  t.teardown(resetCTMapConfig);
  setCTMapConfig({ ctMapEntriesGlobalTCP: 2048, ctMapEntriesGlobalAny: 0 });
  t.same([0, 1, 2, 3].map(ctMapTypeMaxEntries), [2048, 2048, 262144, 262144]);
  setCTMapConfig({ ctMapEntriesGlobalAny: 1024 });
  t.same([0, 2].map(ctMapTypeMaxEntries), [2048, 1024]);
  const before = ctMapConfig();
  t.equal(msg(caught(() => setCTMapConfig({ ctMapEntriesGlobalTCP: 1023 }))), 'specified CT tables values 1023/1024 must be greater or equal to 1024');
  t.equal(msg(caught(() => setCTMapConfig({ ctMapEntriesGlobalAny: 16777217 }))), 'specified CT tables values 2048/16777217 must not exceed maximum 16777216');
  t.match(msg(caught(() => setCTMapConfig({ ctMapEntriesGlobalAny: 1.5 }))), 'integer');
  t.match(msg(caught(() => setCTMapConfig({ distributedLRU: 'yes' as unknown as boolean }))), 'boolean');
  t.same(ctMapConfig(), before, 'a refused configuration changes nothing');
  t.doesNotThrow(() => { validateCTMapSizes(1024, 16777216); });
  t.equal(ctMapFlags(), 0);
  t.equal(possibleCPUs('0-3\n'), 4);
  t.equal(possibleCPUs('0-3,5,8-9'), 7);
  t.equal(possibleCPUs('0'), 1);
  t.match(msg(caught(() => possibleCPUs('garbage'))), 'cannot parse possible CPUs');
  t.ok(possibleCPUs() >= 1, 'this machine has CPUs');
  t.equal(roundForDistributedLRU(1000, 3), 1002);
  t.equal(roundForDistributedLRU(16777216, 3), 16777215, 'capped at LimitTableMax rounded down');
  setCTMapConfig({ distributedLRU: true, ctMapEntriesGlobalTCP: 1025 });
  const cpus = possibleCPUs();
  t.equal(ctMapFlags(), MapFlags.BPF_F_NO_COMMON_LRU);
  t.equal(ctMapTypeMaxEntries(0), Math.ceil(1025 / cpus) * cpus);
  t.equal(ctMapTypeMaxEntries(0) % cpus, 0);
});

t.test('NewGlobalMapSpec agrees with NewGlobalMap; Maps() order', async (t) => {
  for (const ipv6 of [false, true]) {
    for (const tcp of [false, true]) {
      const spec = NewGlobalMapSpec({ ipv6, tcp });
      const m = NewGlobalMap('extra_ct', { ipv6, tcp });
      t.equal(spec.type, MapType.LRUHash);
      t.same([spec.type, spec.keySize, spec.valueSize, spec.maxEntries, spec.flags],
        [m.spec.type, m.spec.keySize, m.spec.valueSize, m.spec.maxEntries, m.spec.flags], `ipv6=${ipv6} tcp=${tcp}`);
      t.equal(m.isIPv4, !ipv6);
      t.equal(m.isTCP, tcp);
    }
  }
  t.same(Maps(true, true).map((m) => m.name), ['cilium_ct4_global', 'cilium_ct_any4_global', 'cilium_ct6_global', 'cilium_ct_any6_global']);
  t.same(Maps(true, false).map((m) => m.name), ['cilium_ct4_global', 'cilium_ct_any4_global']);
  t.same(Maps(false, true).map((m) => m.mapType), [CtMapType.IPv6TCPGlobal, CtMapType.IPv6AnyGlobal]);
  t.same(Maps(false, false), []);
  t.same(newCTMaps({ ipv4: true, ipv6: true }).activeMaps().map((m) => m.name),
    ['cilium_ct4_global', 'cilium_ct_any4_global', 'cilium_ct6_global', 'cilium_ct_any6_global'], 'activeMaps order: v4 TCP, v4 Any, v6 TCP, v6 Any');
  t.same(newCTMaps({ ipv4: false, ipv6: true }).activeMaps().map((m) => m.name), ['cilium_ct6_global', 'cilium_ct_any6_global']);
  t.match(inspect(newCTMaps({ ipv4: true, ipv6: false })), 'CTMaps [cilium_ct4_global, cilium_ct_any4_global]');
  t.equal(JSON.stringify(newCTMaps({ ipv4: false, ipv6: false })), '[]');
});

t.test('map options, paths under the map root, REPL forms', async (t) => {
  t.teardown(() => { setMapRoot(DefaultMapRoot); });
  t.equal(mapRoot(), '/sys/fs/bpf');
  const m = newMap('cilium_ct4_global', 0, WithClusterID(7), WithNetworkID(3));
  t.equal(m.path(), '/sys/fs/bpf/tc/globals/cilium_ct4_global');
  t.equal(m.clusterID, 7);
  t.equal(m.networkID, 3);
  setMapRoot('/run/ctmap-bpffs/');
  // Compat maps capture the process settings when built (Go fixes a map's path on first use): a later root
  // applies to maps built after it, never to one already handed out.
  t.equal(m.path(), '/sys/fs/bpf/tc/globals/cilium_ct4_global', 'an existing map keeps the root it was built with');
  t.equal(newMap('cilium_ct4_global', 0).path(), '/run/ctmap-bpffs/tc/globals/cilium_ct4_global', 'a new map takes the new root');
  t.equal(mapPinPath('x'), '/run/ctmap-bpffs/tc/globals/x');
  setMapRoot('/');
  t.equal(mapPinPath('x'), '/tc/globals/x');
  t.match(msg(caught(() => { setMapRoot('relative'); })), 'absolute path');
  t.match(msg(caught(() => mapPinPath('a/b'))), 'invalid map name');
  t.match(msg(caught(() => WithClusterID(-1))), 'unsigned 32-bit');
  t.match(msg(caught(() => WithNetworkID(2 ** 32))), 'unsigned 32-bit');
  t.equal(String(m), 'cilium_ct4_global');
  t.match(inspect(m), /^ConntrackMap\(cilium_ct4_global tcp4 max=524288 cluster=7 network=3 closed\) @ \/sys\/fs\/bpf\/tc\/globals\/cilium_ct4_global$/);
  t.equal(inspect(newMap('cilium_ct4_global', 0)), 'ConntrackMap(cilium_ct4_global tcp4 max=524288 closed) @ /tc/globals/cilium_ct4_global');
  t.same(JSON.parse(JSON.stringify(m)), {
    name: 'cilium_ct4_global', type: 'tcp4', path: '/sys/fs/bpf/tc/globals/cilium_ct4_global', keySize: 14, valueSize: 56,
    maxEntries: 524288, clusterID: 7, networkID: 3, open: false,
  });
  t.equal(m.isOpen, false);
  t.doesNotThrow(() => { m.close(); }, 'closing an unopened map is fine');
});

t.test('map pressure: count / max_entries, exported on the registry when asked', async (t) => {
  const reg = new Registry();
  const a = newMap('cilium_ct4_global', 0, WithRegistry(reg));
  const b = newMap('cilium_ct_any4_global', 2, WithRegistry(reg));
  t.equal(a.updatePressureMetricWithSize(131072), 0.25);
  t.equal(b.updatePressureMetricWithSize(262144), 1);
  const metric = await reg.getSingleMetric(MapPressureMetricName)?.get();
  t.same(metric?.values.map((v) => [v.labels.map_name, v.value]).sort(), [['ct4_global', 0.25], ['ct_any4_global', 1]]);
  t.equal(mapPressureLabel('other'), 'other');
  t.equal(newMap('x', 0).updatePressureMetricWithSize(524288), 1, 'without a registry the figure is still returned');
  const reg2 = new Registry();
  newMap('y', 0, WithRegistry(reg2));
  newMap('z', 0, WithRegistry(reg2));
  t.equal(reg2.getMetricsAsArray().length, 1, 'one gauge per registry, shared by its maps');
});

t.test('clock sources: ktime and jiffies conversions and error texts (§8.3)', async (t) => {
  const clock = (ns: bigint, jiffies: bigint): ClockReader => ({ monotonicNs: () => ns, jiffies: () => jiffies });
  const c = clock(12_345_999_999_999n, 0x1_0000_0400n);
  t.equal(GetCTCurTime({ mode: 'ktime' }, c), 12345n, 'ktime: CLOCK_MONOTONIC seconds, truncated');
  t.equal(GetCTCurTime({ mode: 'jiffies', hertz: 250 }, c), 0x1_0000_04n, 'jiffies: shifted right by 8');
  t.equal(msg(caught(() => GetCTCurTime({ mode: 'tsc' }, c))), 'invalid clocksource: tsc');
  t.equal(msg(caught(() => GetCTCurTime(undefined, c))), 'invalid clocksource: undefined');
  t.equal(msg(caught(() => NewCTTimeToSecConverter(undefined))), 'clockSource is nil');
  t.equal(msg(caught(() => NewCTTimeToSecConverter({ mode: 'jiffies', hertz: 0 }))), 'invalid clock Hertz value (0)');
  t.equal(msg(caught(() => NewCTTimeToSecConverter({ mode: 'jiffies' }))), 'invalid clock Hertz value (0)');
  t.equal(msg(caught(() => NewCTTimeToSecConverter({ mode: 'bogus' }))), 'invalid clocksource: bogus');
  t.match(msg(caught(() => NewCTTimeToSecConverter({ mode: 'jiffies', hertz: 2.5 }))), 'integer');
  const id = NewCTTimeToSecConverter({ mode: 'ktime' });
  t.equal(id(42), 42n);
  t.equal(id(2n ** 64n + 5n), 5n, 'u64');
  const j250 = NewCTTimeToSecConverter({ mode: 'jiffies', hertz: 250 });
  const j1000 = NewCTTimeToSecConverter({ mode: 'jiffies', hertz: 1000 });
  const j100 = NewCTTimeToSecConverter({ mode: 'jiffies', hertz: 100 });
  // (t << 8) / HZ: 250 Hz → 1000 scaled jiffies is 256000 jiffies is 1024 s.
  t.equal(j250(1000), 1024n);
  t.equal(j1000(1000), 256n);
  t.equal(j100(1), 2n, '256 / 100 truncates');
  t.equal(j250(0xffffffff), 4398046510n);
  t.equal(j250(0), 0n);
  // Go shifts in u64: bits shifted past 64 are lost.
  t.equal(j250(2n ** 63n + 1n), 256n / 250n, 'the shift wraps in u64');
  t.equal(j250(2n ** 56n), 0n);
  t.equal(parseSchedstatJiffies('version 15\ntimestamp 4295012345\ncpu0 0 0\n'), 4295012345n);
  t.match(msg(caught(() => parseSchedstatJiffies('version 15\n'))), 'failed to find jiffies');
  const ktimeRem = remainingSecondsFormatter({ mode: 'ktime' }, clock(1000_000_000_000n, 0n));
  t.equal(ktimeRem(1060), 'remaining: 60 sec(s)');
  t.equal(ktimeRem(940), 'remaining: -60 sec(s)', 'expired entries go negative');
  t.equal(ktimeRem(0), 'remaining: -1000 sec(s)');
  // jiffies at 250 Hz: now = 2^32 jiffies → 2^24 scaled → (2^24 << 8) / 250 s.
  const jRem = remainingSecondsFormatter({ mode: 'jiffies', hertz: 250 }, clock(0n, 2n ** 32n));
  const nowSec = (2n ** 24n << 8n) / 250n;
  t.equal(jRem(2 ** 24 + 250), `remaining: ${((2n ** 24n + 250n) << 8n) / 250n - nowSec} sec(s)`);
  t.equal(jRem(2 ** 24 + 250), 'remaining: 256 sec(s)');
  t.same(clockSourceFromOptions(), { mode: 'ktime' });
  t.same(clockSourceFromOptions({ jiffiesHz: 300 }), { mode: 'jiffies', hertz: 300 });
  const now = GetCTCurTime({ mode: 'ktime' });
  t.ok(now > 0n && now === systemClock.monotonicNs() / 1_000_000_000n || now + 1n === systemClock.monotonicNs() / 1_000_000_000n,
    'the system clock is CLOCK_MONOTONIC seconds');
});

t.test('cluster IDs: reserved 0, the 255/511 maximum, names and override (§15)', async (t) => {
  t.teardown(() => { setMaxConnectedClusters(255); ClusterOuterMapNameTestOverride(undefined); });
  t.equal(msg(caught(() => { ValidateClusterID(0); })), 'ClusterID 0 is reserved');
  t.equal(msg(caught(() => { ValidateClusterID(256); })), 'ClusterID > 255 is not supported');
  t.doesNotThrow(() => { ValidateClusterID(1); ValidateClusterID(255); });
  t.match(msg(caught(() => { ValidateClusterID(-1); })), 'unsigned 32-bit');
  t.equal(setMaxConnectedClusters(511), 255);
  t.equal(clusterIDMax(), 511);
  t.doesNotThrow(() => { ValidateClusterID(511); });
  t.equal(msg(caught(() => { ValidateClusterID(512); })), 'ClusterID > 511 is not supported');
  t.match(msg(caught(() => setMaxConnectedClusters(300))), 'must be 255 or 511');
  t.same([0, 1, 2, 3].map(ClusterOuterMapName),
    ['cilium_per_cluster_ct_tcp4', 'cilium_per_cluster_ct_tcp6', 'cilium_per_cluster_ct_any4', 'cilium_per_cluster_ct_any6']);
  t.equal(ClusterInnerMapName(CtMapType.IPv4TCPGlobal, 1), 'cilium_per_cluster_ct_tcp4_1');
  t.equal(ClusterInnerMapName(CtMapType.IPv6AnyGlobal, 511), 'cilium_per_cluster_ct_any6_511');
  ClusterOuterMapNameTestOverride('test');
  t.equal(ClusterOuterMapName(0), 'test_cilium_per_cluster_ct_tcp4');
  t.equal(ClusterInnerMapName(2, 3), 'test_cilium_per_cluster_ct_any4_3');
  t.match(msg(caught(() => { ClusterOuterMapNameTestOverride('a/b'); })), 'without "/"');
  ClusterOuterMapNameTestOverride(undefined);
  t.equal(ClusterOuterMapName(0), 'cilium_per_cluster_ct_tcp4');
  t.equal(String(new PerClusterCTMapKey(42)), '42');
  t.same([...new PerClusterCTMapKey(0x01020304).toBytes()], [4, 3, 2, 1]);
  t.equal(PerClusterCTMapKey.fromBytes(Uint8Array.of(7, 0, 0, 0)).clusterID, 7);
  t.equal(String(new PerClusterCTMapVal(9)), 'fd=9');
  t.same(GetClusterCTMaps(3, true, true).map((m) => [m.name, m.clusterID]),
    [['cilium_per_cluster_ct_tcp4_3', 3], ['cilium_per_cluster_ct_any4_3', 3], ['cilium_per_cluster_ct_tcp6_3', 3], ['cilium_per_cluster_ct_any6_3', 3]]);
  t.same(GetClusterCTMaps(3, false, true).map((m) => m.name), ['cilium_per_cluster_ct_tcp6_3', 'cilium_per_cluster_ct_any6_3']);
  t.equal(msg(caught(() => GetClusterCTMaps(0, true, true))), 'ClusterID 0 is reserved');
  const mgr = NewPerClusterCTMaps(true, false);
  t.same(mgr.outer.map((m) => m.name), ['cilium_per_cluster_ct_tcp4', 'cilium_per_cluster_ct_any4']);
  t.equal(mgr.outer[0]?.spec.maxEntries, 512, 'outer max entries: ClusterIDMax + 1 (511 set above)');
  t.equal(mgr.outer[0]?.spec.type, MapType.ArrayOfMaps);
  t.same(mgr.getAllClusterCTMaps(), [], 'no clusters yet');
  t.equal(msg(caught(() => { mgr.createClusterCTMaps(0); })), 'ClusterID 0 is reserved');
  t.same(mgr.clusterIDs(), [], 'a refused ID is not remembered');
  t.match(inspect(mgr), 'PerClusterCTMaps [cilium_per_cluster_ct_tcp4, cilium_per_cluster_ct_any4] clusters=[]');
});

const rec4 = new CtMapRecord(
  new CtKey4Global({ destAddr: '10.0.0.1', sourceAddr: '10.0.0.2', destPort: 0x5000, sourcePort: 0x409c, nextHeader: 6, flags: 0 }),
  new CtEntry({ lifetime: 12345, packets: 3n, bytes: 180n, flags: 0x13, revNAT: 0x0500, natPort: 0x901f, txFlagsSeen: 0x12,
    rxFlagsSeen: 0x10, sourceSecurityID: 1234, lastTxReport: 100, lastRxReport: 200, union0: [0n, 7n] }));
const recSvc = new CtMapRecord(
  new CtKey4Global({ destAddr: '10.96.0.10', sourceAddr: '10.0.0.5', destPort: 0x3500, sourcePort: 0x901f, nextHeader: 6, flags: TUPLE_F_SERVICE }),
  new CtEntry({ lifetime: 1 }));
const recZero = new CtMapRecord(new CtKey4Global({ destAddr: '1.1.1.1', nextHeader: 0 }), new CtEntry({ lifetime: 5 }));
const rec6 = new CtMapRecord(
  new CtKey6Global({ destAddr: 'fd00::1', sourceAddr: 'fd00::2', destPort: 0xbb01, sourcePort: 0x50c3, nextHeader: 17, flags: TUPLE_F_IN | 2 }),
  new CtEntry({ lifetime: 99, flags: 0x8001 }));

const expected4 = 'TCP OUT 10.0.0.1:40000 -> 10.0.0.2:80 expires=12345 Packets=3 Bytes=180 RxFlagsSeen=0x10 LastRxReport=200 '
  + 'TxFlagsSeen=0x12 LastTxReport=100 Flags=0x0013 [ RxClosing TxClosing SeenNonSyn ] RevNAT=5 SourceSecurityID=1234 BackendID=7 NatPort=8080 \n';

t.test('mock CT map: records in order, copies of values, the shared dump text (§16)', async (t) => {
  const m = NewCtMockMap([rec4, recSvc, recZero, rec6]);
  t.ok(m instanceof CtMockMap);
  t.equal(m.path(), MockMapPath);
  t.equal(m.path(), '/this/is/a/mock/map');
  t.doesNotThrow(() => { m.open(); m.close(); m.update(rec4.key, rec4.value); });
  t.equal(m.count(), 4);
  const seen: string[] = [];
  m.dumpWithCallback((k, v) => {
    seen.push(k.toString());
    v.lifetime = 0;
  });
  t.same(seen, [rec4.key.toString(), recSvc.key.toString(), recZero.key.toString(), rec6.key.toString()]);
  t.equal(rec4.value.lifetime, 12345, 'the callback got a copy of the value');
  t.doesNotThrow(() => { m.dumpWithCallback(undefined); }, 'a missing callback does nothing on the mock');
  const text = DumpEntriesWithTimeDiff(m);
  t.equal(text, expected4
    + 'TCP SVC 10.0.0.5:53 -> 10.96.0.10:8080 expires=1 Packets=0 Bytes=0 RxFlagsSeen=0x00 LastRxReport=0 TxFlagsSeen=0x00 LastTxReport=0 Flags=0x0000 [ ] RevNAT=0 SourceSecurityID=0 BackendID=0 NatPort=0 \n'
    + 'UDP IN fd00::1:50000 -> fd00::2:443 related expires=99 Packets=0 Bytes=0 RxFlagsSeen=0x00 LastRxReport=0 TxFlagsSeen=0x00 LastTxReport=0 Flags=0x8001 [ RxClosing Unknown=0x8000 ] RevNAT=0 SourceSecurityID=0 BackendID=0 NatPort=0 \n',
  'the entry with next header 0 is skipped');
  const clock: ClockReader = { monotonicNs: () => 12_000_000_000_000n, jiffies: () => 0n };
  const withDiff = m.dumpEntriesWithTimeDiff({ mode: 'ktime' }, clock);
  t.match(withDiff, 'expires=12345 (remaining: 345 sec(s)) Packets=3');
  t.match(withDiff, 'expires=1 (remaining: -11999 sec(s)) Packets=0');
  t.equal(msg(caught(() => m.dumpEntriesWithTimeDiff({ mode: 'jiffies', hertz: 0 }, clock))), 'invalid clock Hertz value (0)');
  t.equal(msg(caught(() => DumpEntriesWithTimeDiff(m, { mode: 'nope' }, clock))), 'invalid clocksource: nope');
  t.equal(DumpEntriesWithTimeDiff(NewCtMockMap()), '');
  t.same(OpenCTMap(m), { path: MockMapPath, error: undefined });
  t.match(inspect(m), 'CtMockMap(4 records)');
  t.match(msg(caught(() => new CtMockMap([{} as unknown as CtMapRecord]))), 'CtMapRecord objects');
});

t.test('fake per-cluster mapper: a set of IDs, no validation, never fails', async (t) => {
  const f = NewFakePerClusterCTMaps();
  t.doesNotThrow(() => { f.openOrCreate(); f.close(); });
  f.createClusterCTMaps(0);
  f.createClusterCTMaps(9999);
  t.ok(f.has(0) && f.has(9999));
  f.deleteClusterCTMaps(0);
  t.notOk(f.has(0));
  f.deleteClusterCTMaps(12345);
  t.same(f.getAllClusterCTMaps(), []);
  t.match(msg(caught(() => { NewCtMockMap().update({} as unknown as CtKey4Global, new CtEntry()); })), 'key must be');
  t.match(msg(caught(() => { NewCtMockMap().update(rec4.key, {} as unknown as CtEntry); })), 'value must be');
});

t.test('joined errors read like Go errors.Join', async (t) => {
  t.equal(joinErrors([]), undefined);
  const one = new Error('a');
  t.equal(joinErrors([one]), one);
  const j = joinErrors([new Error('tcp4: x'), new Error('any4: y')]);
  t.ok(j instanceof AggregateError);
  t.equal(j?.message, 'tcp4: x\nany4: y');
});
