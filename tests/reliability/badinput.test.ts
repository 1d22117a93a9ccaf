// Bad input at every public entry point: a clear error, and no change to any map. Wrong-shaped pins are never misread.
import t from 'tap';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { caught, privateBpffs, requirePrivileged } from '../helpers/priv.js';
import { CtKey4Global, CtKey6Global, CtEntry, NatEntry4, NatEntry6, NatKey4, NatKey6, parseCtMapRecords, JsonSyntaxError } from '../../src/structs/index.js';
import { ConntrackMap, GCFilter, NetAddrSet, CtMapType, purgeOrphans } from '../../src/ctmap/index.js';
import { Settings } from '../../src/datapath/index.js';
import { openNode } from '../../src/node/index.js';
import { NatMap } from '../../src/nat/index.js';
import { MapIncompatibleError, BpfMap, MapType, NewDumpStats } from '../../src/syscall/index.js';
import type { Test } from 'tap';
import { Maps, newMap, ValidateClusterID, WithClusterID, WithNetworkID, setMaxConnectedClusters, GetCTCurTime, NewCTTimeToSecConverter, setGCClockSource, setCTMapConfig, resetCTMapConfig, SignalQueue, ClusterOuterMapNameTestOverride, GlobalMaps, setNATMapEntriesGlobal, setMapRoot, DefaultMapRoot, mapPinPath } from '../../src/compat/index.js';
import { GetClusterCTMaps, NewPerClusterCTMaps, gcWithFilter, GetClusterNATMap } from '../../src/compat/index.js';

function digest(maps: readonly (ConntrackMap | NatMap)[]): string {
  const h = createHash('sha256');
  for (const m of maps) {
    const rows: string[] = [];
    for (const b of m.batches()) {
      for (let i = 0; i < b.count; i++) rows.push(Buffer.from(b.keys.subarray(i * b.keySize, (i + 1) * b.keySize)).toString('hex') + Buffer.from(b.values.subarray(i * b.valueSize, (i + 1) * b.valueSize)).toString('hex'));
    }
    h.update(`${m.name}:${rows.sort().join(',')};`);
  }
  return h.digest('hex');
}

function setup(t: Test): { tcp4: ConntrackMap; any4: ConntrackMap; tcp6: ConntrackMap; nat4: NatMap; all: (ConntrackMap | NatMap)[] } {
  const root = privateBpffs(t);
  setMapRoot(root);
  setCTMapConfig({ ctMapEntriesGlobalTCP: 4096, ctMapEntriesGlobalAny: 4096 });
  const prev = setNATMapEntriesGlobal(8192);
  t.teardown(() => { setMapRoot(DefaultMapRoot); resetCTMapConfig(); setNATMapEntriesGlobal(prev); });
  const [tcp4, any4, tcp6, any6] = Maps(true, true) as [ConntrackMap, ConntrackMap, ConntrackMap, ConntrackMap];
  const nat4 = GlobalMaps(true, false).v4 as NatMap;
  const all = [tcp4, any4, tcp6, any6, nat4];
  for (const m of all) m.openOrCreate();
  t.teardown(() => { for (const m of all) m.close(); });
  for (let i = 0; i < 50; i++) {
    tcp4.update(CtKey4Global.fromFlow({ src: `10.0.0.${i}:1000`, dst: '1.1.1.1:80', proto: 'TCP' }), new CtEntry({ lifetime: 100 + i }));
    nat4.update(new NatKey4({ destAddr: '1.1.1.1', sourceAddr: `10.0.0.${i}`, nextHeader: 6 }), new NatEntry4({ addr: '192.0.2.1', port: i }));
  }
  return { tcp4, any4, tcp6, nat4, all };
}

t.test('a table of bad inputs: each refused with a clear error, no map changed', async (t) => {
  if (!requirePrivileged(t)) return;
  const { tcp4, tcp6, nat4, all } = setup(t);
  const before = digest(all);
  const key = CtKey4Global.fromFlow({ src: '10.0.0.1:1000', dst: '1.1.1.1:80', proto: 'TCP' });
  const entry = new CtEntry({ lifetime: 1 });
  const bm = tcp4.bpfMap;
  const any = (v: unknown): never => v as never;
  const cases: [string, () => unknown, RegExp][] = [
    ['key: bad address text', () => new CtKey4Global({ destAddr: 'nope' }), /nope/],
    ['key: IPv6 text in an IPv4 key', () => new CtKey4Global({ destAddr: 'fd00::1' }), /fd00::1/],
    ['key: IPv4 text in an IPv6 key', () => new CtKey6Global({ destAddr: '1.2.3.4' }), /1\.2\.3\.4/],
    ['key: port above 65535', () => new CtKey4Global({ destPort: 70000 }), /destPort/],
    ['key: negative port', () => new CtKey4Global({ sourcePort: -1 }), /sourcePort/],
    ['key: fractional port', () => new CtKey4Global({ destPort: 1.5 }), /destPort/],
    ['key: next header 256', () => new CtKey4Global({ nextHeader: 256 }), /nextHeader/],
    ['key: negative flags', () => new CtKey4Global({ flags: -1 }), /flags/],
    ['key: unknown field', () => new CtKey4Global(any({ bogus: 1 })), /unknown field "bogus"/],
    ['key: a string instead of fields', () => new CtKey4Global(any('x')), /expected an object/],
    ['key: 13 bytes for a v4 key', () => CtKey4Global.fromBytes(new Uint8Array(13)), /14 bytes/],
    ['key: 14 bytes for a v6 key', () => CtKey6Global.fromBytes(new Uint8Array(14)), /38 bytes/],
    ['key: an array instead of bytes', () => CtKey4Global.fromBytes(any([1, 2])), /Uint8Array/],
    ['key: port out of range in a flow', () => CtKey4Global.fromFlow({ src: '1.2.3.4:99999', dst: '1.1.1.1:80', proto: 'TCP' }), /out of range/],
    ['key: unknown direction', () => CtKey4Global.fromFlow({ src: '1.2.3.4:9', dst: '1.1.1.1:80', proto: 'TCP', dir: any('UP') }), /dir must be/],
    ['key: unknown protocol', () => CtKey4Global.fromFlow({ src: '1.2.3.4:9', dst: '1.1.1.1:80', proto: 'BOGUS' }), /BOGUS/],
    ['entry: lifetime 2^32', () => new CtEntry({ lifetime: 2 ** 32 }), /lifetime/],
    ['entry: fractional packets', () => new CtEntry({ packets: any(1.5) }), /packets/],
    ['entry: packets as a string', () => new CtEntry({ packets: any('7') }), /packets/],
    ['entry: negative bytes', () => new CtEntry({ bytes: -1n }), /bytes/],
    ['entry: union0 of one word', () => new CtEntry({ union0: any([0n]) }), /union0/],
    ['entry: 55 bytes', () => CtEntry.fromBytes(new Uint8Array(55)), /56 bytes/],
    ['entry: unknown field', () => new CtEntry(any({ expires: 5 })), /unknown field "expires"/],
    ['NAT entry: v6 address in a v4 entry', () => new NatEntry4({ addr: 'fd00::1' }), /fd00::1/],
    ['NAT entry: port 65536', () => new NatEntry4({ port: 65536 }), /port/],
    ['NAT entry: v4 address in a v6 entry', () => new NatEntry6({ addr: '1.1.1.1' }), /1\.1\.1\.1/],
    ['CT map: a v6 key in a v4 map', () => { tcp4.update(any(new CtKey6Global()), entry); }, /CtKey4Global \(14 bytes\)/],
    ['CT map: a v4 key in a v6 map', () => { tcp6.update(key, entry); }, /CtKey6Global \(38 bytes\)/],
    ['CT map: a NAT entry as value', () => { tcp4.update(key, any(new NatEntry4())); }, /value must be a CtEntry/],
    ['CT map: lookup of a string', () => tcp4.lookup(any('x')), /key must be/],
    ['CT map: delete of null', () => tcp4.delete(any(null)), /key must be/],
    ['NAT map: a v6 key in the v4 map', () => { nat4.update(new NatKey6(), new NatEntry4()); }, /NatKey4 \(14 bytes\)/],
    ['NAT map: a v6 entry in the v4 map', () => { nat4.update(new NatKey4(), new NatEntry6()); }, /NatEntry4/],
    ['BPF map: 13-byte key', () => { bm.set(new Uint8Array(13), new Uint8Array(56)); }, /key must be 14 bytes/],
    ['BPF map: 55-byte value', () => { bm.set(new Uint8Array(14), new Uint8Array(55)); }, /value must be 56 bytes/],
    ['BPF map: a string key', () => bm.get(any('abc')), /Uint8Array/],
    ['BPF map: batch count beyond the buffer', () => bm.deleteBatch(new Uint8Array(14), 2), /does not fit/],
    ['BPF map: update batch with short values', () => bm.updateBatch(new Uint8Array(28), new Uint8Array(56), 2), /does not fit/],
    ['BPF map: chunk 0', () => [...bm.batches({ chunk: 0 })], /positive integer/],
    ['BPF map: chunk 1.5', () => [...bm.batches({ chunk: 1.5 })], /positive integer/],
    ['cluster ID 0', () => { ValidateClusterID(0); }, /ClusterID 0 is reserved/],
    ['cluster ID 256', () => { ValidateClusterID(256); }, /ClusterID > 255 is not supported/],
    ['cluster ID -1', () => { ValidateClusterID(-1); }, /unsigned 32-bit/],
    ['cluster ID 1.5', () => { ValidateClusterID(1.5); }, /unsigned 32-bit/],
    ['cluster maps of ID 0', () => GetClusterCTMaps(0, true, true), /ClusterID 0 is reserved/],
    ['cluster CT maps of ID 300', () => { NewPerClusterCTMaps(true, false).createClusterCTMaps(300); }, /ClusterID > 255/],
    ['cluster NAT map of ID 0', () => GetClusterNATMap(0, 'ipv4'), /ClusterID 0 is reserved/],
    ['map option: cluster ID -1', () => WithClusterID(-1), /unsigned 32-bit/],
    ['map option: network ID 2^32', () => WithNetworkID(2 ** 32), /unsigned 32-bit/],
    ['max connected clusters 300', () => setMaxConnectedClusters(300), /255 or 511/],
    ['clock: unknown mode', () => GetCTCurTime({ mode: 'tsc' }), /invalid clocksource: tsc/],
    ['clock: no source', () => NewCTTimeToSecConverter(undefined), /clockSource is nil/],
    ['clock: jiffies at 0 Hz', () => NewCTTimeToSecConverter({ mode: 'jiffies', hertz: 0 }), /invalid clock Hertz value \(0\)/],
    ['clock: fractional Hz', () => NewCTTimeToSecConverter({ mode: 'jiffies', hertz: 2.5 }), /integer/],
    ['clock: GC source of an unknown mode', () => { setGCClockSource({ mode: 'x' }); }, /invalid clocksource: x/],
    ['config: TCP table below 1024', () => setCTMapConfig({ ctMapEntriesGlobalTCP: 1000 }), /must be greater or equal to 1024/],
    ['config: Any table above the max', () => setCTMapConfig({ ctMapEntriesGlobalAny: 2 ** 25 }), /must not exceed maximum 16777216/],
    ['config: negative NAT size', () => setNATMapEntriesGlobal(-5), /NAT map size/],
    ['map root: relative', () => { setMapRoot('relative'); }, /absolute path/],
    ['map name: empty', () => new ConntrackMap(new Settings(), '', 0), /non-empty/],
    ['map type 9', () => newMap('x', 9), /Unexpected map type Unknown \(9\)/],
    ['NAT family ipv5', () => new NatMap(new Settings(), 'x', any('ipv5')), /family/],
    // The JavaScript API: settings, node options, GC options, filters.
    ['settings: relative bpffs', () => new Settings({ bpffs: 'fs' }), /absolute path/],
    ['settings: fractional CT size', () => new Settings({ ctSizes: { tcp: 2048.5 } }), /ctSizes.tcp/],
    ['settings: CT size below the agent minimum', () => new Settings({ ctSizes: { any: 100 } }), /must be greater or equal to 1024/],
    ['settings: 300 clusters', () => new Settings({ maxConnectedClusters: 300 }), /255 or 511/],
    ['settings: clock source tsc', () => new Settings({ clockSource: any({ mode: 'tsc' }) }), /invalid clocksource: tsc/],
    ['settings: a logger that is not a function', () => new Settings({ logger: any('stderr') }), /logger must be a function/],
    ['settings: a kernel that is not a Kernel', () => new Settings({ kernel: any({}) }), /kernel must be a Kernel/],
    ['openNode: ipv4 "yes"', () => openNode({ bpffs: '/tmp', ipv4: any('yes') }), /ipv4 must be a boolean/],
    ['openNode: settings of another kind', () => openNode({ settings: any({ bpffs: '/' }) }), /Settings object/],
    ['map.gc: an unknown option', () => tcp4.gc(any({ tim: 1 })), /unknown option "tim"/],
    ['map.gc: Go\'s GCFilter', () => tcp4.gc(any(new GCFilter({ removeExpired: true, time: 1e9 }))), /options object/],
    ['map.gc: time -1', () => tcp4.gc({ time: -1 }), /u32 CT time/],
    ['map.gc: mode "quick"', () => tcp4.gc({ mode: any('quick') }), /mode must be/],
    ['map.gc: onRemoved not a function', () => tcp4.gc({ time: 1e9, onRemoved: any(5) }), /onRemoved must be a function/],
    ['map.flush: positional sinks', () => tcp4.flush(any(() => undefined)), /options object/],
    ['filter: prefix /33', () => tcp4.entries({ filter: { src: '10.0.0.0/33' } }).next(), /bad bits/],
    ['filter: dport 65536', () => tcp4.entries({ filter: { dport: 65536 } }).next(), /dport: 65536 is out of range/],
    ['filter: unknown CT flag', () => tcp4.entries({ filter: { flags: 'Closing' } }).next(), /unknown CT flag "Closing"/],
    ['filter: direction UP', () => tcp4.entries({ filter: { dir: any('UP') } }).next(), /dir must be IN, OUT, SVC or RELATED/],
    ['filter: limit 0', () => tcp4.entries({ filter: { limit: 0 } }).next(), /limit must be at least 1/],
    ['filter: an unknown field', () => tcp4.entries({ filter: any({ port: 80 }) }).next(), /unknown field "port"/],
    ['filter: CT flags on a NAT map', () => nat4.entries({ filter: { flags: ['SeenNonSyn'] } }).next(), /CT entries only/],
    ['filter: a filtered GC with an expiry in scope', () => tcp4.gc({ time: 1e9, filter: { expiredAt: -3 } }), /expiredAt/],
    ['purge: strategy "guess"', () => purgeOrphans(tcp4, tcp6, { strategy: any('guess') }), /strategy must be/],
    ['GC filter: time -1', () => new GCFilter({ time: -1 }), /u32/],
    ['GC filter: time 2^32', () => new GCFilter({ time: 2 ** 32 }), /u32/],
    ['GC filter: bad match address', () => new GCFilter({ matchIPs: ['bad'] }), /bad/],
    ['GC filter: bad network ID', () => new GCFilter({ matchIPs: [{ addr: '1.1.1.1', netID: -1 }] }), /netID/],
    ['GC: not a filter', () => gcWithFilter(tcp4, any({ removeExpired: true, time: 1e9 })), /must be a GCFilter/],
    ['GC: unknown mode', () => gcWithFilter(tcp4, new GCFilter({ removeExpired: true, time: 1e9 }), { mode: any('quick') }), /mode must be/],
    ['dump without a callback', () => { tcp4.dumpWithCallback(undefined); }, /empty callback/],
    ['reliable dump without stats', () => { nat4.dumpReliablyWithCallback(() => undefined, undefined); }, /stats is nil/],
    ['reliable dump without a callback', () => { nat4.dumpReliablyWithCallback(undefined, NewDumpStats(nat4)); }, /empty callback/],
    ['v6 batch dump of a v4 NAT map', () => nat4.dumpBatch6(() => undefined), /wrong ip family: ipv4/],
    ['signal data 5', () => new SignalQueue().push(5), /signal data must be/],
    ['match set of a non-address', () => new NetAddrSet([any({})]), /MatchIPs/],
    ['records: broken JSON', () => parseCtMapRecords('{'), /invalid JSON/],
    ['records: empty key and value', () => parseCtMapRecords('[{"Key":{},"Value":{}}]'), /DestAddr/],
    ['outer map name prefix with a slash', () => { ClusterOuterMapNameTestOverride('a/b'); }, /without "\/"/],
    ['pin name ..', () => mapPinPath('..'), /invalid map name/],
  ];
  for (const [what, fn, want] of cases) {
    const e = caught(fn);
    t.ok(e instanceof Error, `${what}: refused`);
    t.match((e as Error | undefined)?.message ?? '', want, `${what}: ${(e as Error | undefined)?.message ?? 'no error'}`);
  }
  t.ok(cases.length >= 60, `${cases.length} cases`);
  t.ok(caught(() => parseCtMapRecords('[')) instanceof JsonSyntaxError);
  t.equal(digest(all), before, 'no map changed');
});

t.test('pins of the right name and the wrong shape are detected, never misread', async (t) => {
  if (!requirePrivileged(t)) return;
  const root = privateBpffs(t);
  setMapRoot(root);
  t.teardown(() => { setMapRoot(DefaultMapRoot); });
  const make = (name: string, type: number, keySize: number, valueSize: number): void => {
    const m = BpfMap.create({ name, type: type as never, keySize, valueSize, maxEntries: 64 });
    m.pin(join(root, 'tc/globals', name));
    m.close();
  };
  make('cilium_ct4_global', MapType.LRUHash, 14, 40);
  make('cilium_ct6_global', MapType.Hash, 38, 56);
  make('cilium_ct_any4_global', MapType.LRUHash, 38, 56);
  make('cilium_snat_v4_external', MapType.LRUHash, 14, 56);
  const expect = [
    [newMap('cilium_ct4_global', CtMapType.IPv4TCPGlobal), 'value size'],
    [newMap('cilium_ct6_global', CtMapType.IPv6TCPGlobal), 'type'],
    [newMap('cilium_ct_any4_global', CtMapType.IPv4AnyGlobal), 'key size'],
    [GlobalMaps(true, false).v4 as NatMap, 'value size'],
  ] as const;
  for (const [m, field] of expect) {
    const e = caught(() => { m.open(); });
    t.ok(e instanceof MapIncompatibleError, `${m.name}: refused`);
    t.equal((e as MapIncompatibleError).field, field, `${m.name}: the ${field} differs`);
    t.equal(m.isOpen, false);
  }
});
