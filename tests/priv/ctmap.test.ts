// CT maps on the real kernel in a private bpffs (ctmap.md §6-9, §15), checked against bpftool.
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { caught, openFdCount, privateBpffs, requirePrivileged } from '../helpers/priv.js';
import { bpftoolJSON, bpftoolUpdate } from '../helpers/bpftool.js';
// Go's semantics through ctmap/compat (process-wide settings, as Cilium's package variables).
import { ConntrackMap, OpenCTMap, DumpEntriesWithTimeDiff, writeEntriesWithTimeDiff, CtMapType } from '../../src/ctmap/index.js';
import {
  Maps, newMap, newCTMaps, setCTMapConfig, resetCTMapConfig, NewPerClusterCTMaps, GetClusterCTMaps, CleanupPerClusterCTMaps,
  ClusterOuterMapNameTestOverride, setMaxConnectedClusters, WithRegistry, setMapRoot, DefaultMapRoot, mapPinPath, setLogger,
} from '../../src/compat/index.js';
import type { ClockReader } from '../../src/datapath/index.js';
import { CtEntry, CtKey4Global, CtKey6Global } from '../../src/structs/index.js';
import { BpfMap, MapType, MapIncompatibleError, isNotExist, BpfError, MapLoadError } from '../../src/syscall/index.js';
import { Registry } from 'prom-client';
import type { Test } from 'tap';

const msg = (e: unknown): string => (e instanceof Error ? e.message : `not an error: ${String(e)}`);

/** A private bpffs as the map root, small CT sizes so tests do not pin 190 MB of LRU maps. */
function setup(t: Test): string {
  const root = privateBpffs(t);
  setMapRoot(root);
  setCTMapConfig({ ctMapEntriesGlobalTCP: 8192, ctMapEntriesGlobalAny: 4096 });
  t.teardown(() => { setMapRoot(DefaultMapRoot); resetCTMapConfig(); });
  return root;
}

function key4(i: number, flags = 0, proto = 6): CtKey4Global {
  return new CtKey4Global({
    destAddr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, sourceAddr: '192.168.0.1',
    destPort: 0x5000, sourcePort: ((i & 0xff) << 8) | ((i >> 8) & 0xff), nextHeader: proto, flags,
  });
}

t.test('Maps(): openOrCreate pins Cilium-shaped maps that bpftool reads the same way', async (t) => {
  if (!requirePrivileged(t)) return;
  const root = setup(t);
  resetCTMapConfig();
  const maps = Maps(true, true);
  t.teardown(() => { for (const m of maps) m.close(); });
  for (const m of maps) t.equal(m.openOrCreate(), 'created', `${m.name} created`);
  const want: Record<string, [number, number, number, string]> = {
    cilium_ct4_global: [14, 56, 524288, 'cilium_ct4_glob'],
    cilium_ct_any4_global: [14, 56, 262144, 'cilium_ct_any4_'],
    cilium_ct6_global: [38, 56, 524288, 'cilium_ct6_glob'],
    cilium_ct_any6_global: [38, 56, 262144, 'cilium_ct_any6_'],
  };
  for (const m of maps) {
    const path = join(root, 'tc/globals', m.name);
    t.equal(m.path(), path);
    t.ok(existsSync(path), `pinned at ${path}`);
    const info = bpftoolJSON('map', 'show', 'pinned', path) as Record<string, unknown>;
    const [k, v, max, kname] = want[m.name] ?? [0, 0, 0, ''];
    t.same([info.type, info.bytes_key, info.bytes_value, info.max_entries, info.name, info.flags],
      ['lru_hash', k, v, max, kname, 0], `bpftool sees ${m.name} as Cilium creates it`);
  }
  // A second object over the same pins opens rather than recreates.
  const again = Maps(true, true);
  for (const m of again) {
    t.equal(m.openOrCreate(), 'opened');
    m.close();
  }
});

t.test('update, lookup, delete and dump text of entries written by bpftool', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t);
  const [tcp4, any4, tcp6] = Maps(true, true) as [ConntrackMap, ConntrackMap, ConntrackMap, ConntrackMap];
  t.teardown(() => { tcp4.close(); any4.close(); tcp6.close(); });
  for (const m of [tcp4, any4, tcp6]) m.openOrCreate();
  const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/ /g, ''), 'hex'));
  // Bytes as the datapath lays them out: daddr saddr dport sport nexthdr flags; ports big-endian.
  const k1 = hex('0a000001 0a000002 0050 9c40 06 00');
  const v1 = hex('0000000000000000 0700000000000000 0300000000000000 b400000000000000 39300000 1300 0005 1f90 12 10 d2040000 64000000 c8000000');
  const kSvc = hex('0a60000a 0a000005 0035 1f90 06 04');
  const vSvc = hex('00'.repeat(32) + '01000000' + '00'.repeat(20));
  const kNoProto = hex('01010101 02020202 0000 0000 00 00');
  const kUdp = hex('c0a8010a 08080808 0035 d431 11 01');
  const vUdp = hex('00'.repeat(32) + 'ffffffff' + '0180' + '00'.repeat(18));
  const k6 = hex('fd000000000000000000000000000001 fd000000000000000000000000000002 01bb c350 11 03');
  const v6 = hex('00'.repeat(32) + '63000000' + '00'.repeat(20));
  bpftoolUpdate(tcp4.path(), k1, v1);
  bpftoolUpdate(tcp4.path(), kSvc, vSvc);
  bpftoolUpdate(tcp4.path(), kNoProto, vSvc);
  bpftoolUpdate(any4.path(), kUdp, vUdp);
  bpftoolUpdate(tcp6.path(), k6, v6);

  const lines = (s: string): string[] => s.split(/(?<=\n)/).sort();
  t.same(lines(tcp4.dumpEntriesWithTimeDiff()), [
    'TCP OUT 10.0.0.1:40000 -> 10.0.0.2:80 expires=12345 Packets=3 Bytes=180 RxFlagsSeen=0x10 LastRxReport=200 TxFlagsSeen=0x12 LastTxReport=100 Flags=0x0013 [ RxClosing TxClosing SeenNonSyn ] RevNAT=5 SourceSecurityID=1234 BackendID=7 NatPort=8080 \n',
    'TCP SVC 10.0.0.5:53 -> 10.96.0.10:8080 expires=1 Packets=0 Bytes=0 RxFlagsSeen=0x00 LastRxReport=0 TxFlagsSeen=0x00 LastTxReport=0 Flags=0x0000 [ ] RevNAT=0 SourceSecurityID=0 BackendID=0 NatPort=0 \n',
  ].sort(), 'Cilium text; the next-header-0 entry is left out');
  t.equal(any4.dumpEntriesWithTimeDiff(),
    'UDP IN 192.168.1.10:54321 -> 8.8.8.8:53 expires=4294967295 Packets=0 Bytes=0 RxFlagsSeen=0x00 LastRxReport=0 TxFlagsSeen=0x00 LastTxReport=0 Flags=0x8001 [ RxClosing Unknown=0x8000 ] RevNAT=0 SourceSecurityID=0 BackendID=0 NatPort=0 \n');
  t.equal(DumpEntriesWithTimeDiff(tcp6),
    'UDP IN fd00::1:50000 -> fd00::2:443 related expires=99 Packets=0 Bytes=0 RxFlagsSeen=0x00 LastRxReport=0 TxFlagsSeen=0x00 LastTxReport=0 Flags=0x0000 [ ] RevNAT=0 SourceSecurityID=0 BackendID=0 NatPort=0 \n');
  const clock: ClockReader = { monotonicNs: () => 12_000_500_000_000n, jiffies: () => 0n };
  t.match(tcp4.dumpEntriesWithTimeDiff({ mode: 'ktime' }, clock), 'expires=12345 (remaining: 345 sec(s)) Packets=3');
  t.match(tcp4.dumpEntriesWithTimeDiff({ mode: 'jiffies', hertz: 1000 }, clock), 'expires=12345 (remaining: 3160 sec(s))',
    'jiffies: (12345 << 8) / 1000 − 0');
  t.equal(msg(caught(() => tcp4.dumpEntriesWithTimeDiff({ mode: 'jiffies' }, clock))), 'invalid clock Hertz value (0)');

  // Values decoded from the kernel's bytes, through the typed API.
  const e = tcp4.lookup(CtKey4Global.fromBytes(k1));
  t.ok(e instanceof CtEntry);
  t.same([e?.lifetime, e?.packets, e?.bytes, e?.revNAT, e?.sourceSecurityID, e?.backendID], [12345, 3n, 180n, 0x0500, 1234, 7n]);
  t.equal(tcp4.lookup(key4(999)), undefined, 'a missing key is undefined');
  // What ctmap writes, bpftool reads byte for byte.
  const mine = key4(77);
  const val = new CtEntry({ lifetime: 4242, packets: 1n, sourceSecurityID: 9 });
  tcp4.update(mine, val);
  const dumped = bpftoolJSON('map', 'lookup', 'pinned', tcp4.path(), 'key', 'hex',
    ...[...mine.raw].map((b) => b.toString(16).padStart(2, '0'))) as { value: string[] };
  t.same(dumped.value.map((h) => parseInt(h, 16)), [...val.raw], 'bpftool reads the value ctmap wrote');
  t.equal(tcp4.count(), 4);
  t.equal(tcp4.delete(mine), true);
  t.equal(tcp4.delete(mine), false);
  const seen: string[] = [];
  tcp4.dumpWithCallback((k, v) => { seen.push(`${k.toString()} ${v.lifetime}`); });
  t.equal(seen.length, 3, 'dumpWithCallback visits every entry, next header 0 included');
  t.equal(msg(caught(() => { tcp4.dumpWithCallback(undefined); })), 'empty callback');
  // Wrong keys or values change nothing.
  t.match(msg(caught(() => { tcp4.update(new CtKey6Global(), val); })), 'key must be a CtKey4Global (14 bytes)');
  t.match(msg(caught(() => { tcp6.update(key4(1), val); })), 'key must be a CtKey6Global (38 bytes)');
  t.match(msg(caught(() => { tcp4.update(key4(1), {} as unknown as CtEntry); })), 'value must be a CtEntry');
  t.equal(tcp4.count(), 3, 'nothing written by refused updates');
  // Streaming writer sees the same text.
  const parts: string[] = [];
  writeEntriesWithTimeDiff(any4, undefined, (s) => { parts.push(s); });
  t.equal(parts.join(''), any4.dumpEntriesWithTimeDiff());
});

t.test('count: batch iterator over more than one chunk, ENOSPC growth, pressure', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t);
  const reg = new Registry();
  const m = newMap('cilium_ct4_global', CtMapType.IPv4TCPGlobal, WithRegistry(reg));
  t.teardown(() => { m.close(); });
  m.openOrCreate();
  t.equal(m.count(), 0);
  const n = 5000;
  const keys = new Uint8Array(n * 14);
  const values = new Uint8Array(n * 56);
  for (let i = 0; i < n; i++) {
    keys.set(key4(i).raw, i * 14);
    values.set(new CtEntry({ lifetime: i }).raw, i * 56);
  }
  t.same(m.bpfMap.updateBatch(keys, values), { done: n, missing: 0 });
  let batches = 0;
  for (const b of m.batches()) { batches++; t.ok(b.count <= 128, 'chunk of Cilium size for 8192 entries'); }
  t.ok(batches > 1, `more than one chunk (${batches})`);
  t.equal(m.count(), n);
  const grown: number[] = [];
  t.equal(m.count({ chunk: 1, onGrow: (c) => grown.push(c) }), n, 'every entry counted after ENOSPC growth');
  t.ok(grown.length > 0 && grown[0] === 2, `chunk grew from 1 (${grown.join(',')})`);
  const p = m.pressure();
  t.same(p, { count: n, maxEntries: 8192, pressure: n / 8192 });
  const g = await reg.getSingleMetric('cilium_bpf_map_pressure')?.get();
  t.same(g?.values.map((v) => [v.labels.map_name, v.value]), [['ct4_global', n / 8192]]);
  const ac = new AbortController();
  ac.abort(new Error('cancelled'));
  t.equal(msg(caught(() => m.count({ signal: ac.signal }))), 'cancelled', 'a cancelled signal stops the count');
});

t.test('open: missing pin, incompatible pin, recreation with the warning, OpenCTMap', async (t) => {
  if (!requirePrivileged(t)) return;
  const root = setup(t);
  const m = newMap('cilium_ct4_global', 0);
  const fds = openFdCount();
  const e = caught(() => { m.open(); });
  t.ok(e instanceof MapLoadError);
  t.equal(msg(e).split(':')[0], `loading pinned map ${join(root, 'tc/globals/cilium_ct4_global')}`);
  t.ok(isNotExist(e), 'not-exist sees through the wrapping');
  t.equal((e as MapLoadError).code, 'ENOENT');
  const r = OpenCTMap(m);
  t.equal(r.path, m.path(), 'OpenCTMap returns the path even on failure');
  t.ok(isNotExist(r.error));
  t.equal(openFdCount(), fds, 'no fd leaked by failed opens');

  // A map with the right name and the wrong key size: refused on open, replaced by openOrCreate.
  const wrong = BpfMap.create({ name: 'cilium_ct4_global', type: MapType.LRUHash, keySize: 16, valueSize: 56, maxEntries: 8192 });
  wrong.pin(m.path());
  wrong.set(new Uint8Array(16), new Uint8Array(56));
  wrong.close();
  const bad = caught(() => { m.open(); });
  t.ok(bad instanceof MapIncompatibleError);
  t.same([(bad as MapIncompatibleError).field, (bad as MapIncompatibleError).want, (bad as MapIncompatibleError).got], ['key size', 14, 16]);
  t.equal(m.isOpen, false);
  t.equal(openFdCount(), fds, 'the refused pin was closed');
  const wrongType = BpfMap.create({ name: 'cilium_ct6_global', type: MapType.Hash, keySize: 38, valueSize: 56, maxEntries: 8192 });
  wrongType.pin(mapPinPath('cilium_ct6_global'));
  wrongType.close();
  const m6 = newMap('cilium_ct6_global', CtMapType.IPv6TCPGlobal);
  t.match(msg(caught(() => { m6.open(); })), 'type is Hash, expected LRUHash');
  const warnings: string[] = [];
  const prev = setLogger((level, text) => { if (level === 'warn') warnings.push(text); });
  t.teardown(() => setLogger(prev));
  t.equal(m.openOrCreate(), 'recreated');
  t.same(warnings, ['Unpinning map with incompatible properties']);
  t.equal(m.count(), 0, 'the old contents are gone');
  t.equal(m.bpfMap.keySize, 14);
  m.close();
  // A pin with a different max entries is opened as is (the configuration may have changed since), and replaced by openOrCreate.
  setCTMapConfig({ ctMapEntriesGlobalTCP: 16384 });
  const bigger = newMap('cilium_ct4_global', 0);
  bigger.open();
  t.equal(bigger.maxEntries, 8192, 'open keeps the pinned map as it is');
  bigger.close();
  t.equal(bigger.openOrCreate(), 'recreated');
  t.equal(bigger.maxEntries, 16384);
  bigger.close();
  t.equal(OpenCTMap(bigger).error, undefined);
  bigger.close();
  t.equal(openFdCount(), fds);
  // unpin is idempotent; an open fd keeps the map usable.
  const u = newMap('cilium_ct4_global', 0);
  u.open();
  u.unpin();
  u.unpin();
  t.notOk(existsSync(u.path()));
  u.update(key4(1), new CtEntry({ lifetime: 1 }));
  t.equal(u.count(), 1);
  u.close();
});

t.test('CTMaps provider: start opens-or-creates, stop closes, a failed start holds nothing', async (t) => {
  if (!requirePrivileged(t)) return;
  const root = setup(t);
  const fds = openFdCount();
  const cell = newCTMaps({ ipv4: true, ipv6: true });
  cell.start();
  t.same(cell.activeMaps().map((m) => m.isOpen), [true, true, true, true]);
  t.equal(openFdCount(), fds + 4);
  for (const m of cell.activeMaps()) t.ok(existsSync(join(root, 'tc/globals', m.name)));
  cell.stop();
  t.same(cell.activeMaps().map((m) => m.isOpen), [false, false, false, false]);
  t.equal(openFdCount(), fds);
  // A root that is not bpffs: creating works, pinning cannot.
  setMapRoot('/proc');
  const broken = newCTMaps({ ipv4: true, ipv6: false });
  const e = caught(() => { broken.start(); });
  t.match(msg(e), /^failed to open and create cilium_ct4_global map: /);
  t.same(broken.activeMaps().map((m) => m.isOpen), [false, false]);
  t.equal(openFdCount(), fds, 'no fd held after a failed start');
  setMapRoot(root);
});

t.test('per-cluster CT maps: create, idempotence, lookups, delete, cleanup (§15)', async (t) => {
  if (!requirePrivileged(t)) return;
  const root = setup(t);
  const fds = openFdCount();
  const mgr = NewPerClusterCTMaps(true, true);
  mgr.openOrCreate();
  t.teardown(() => { mgr.close(); });
  const globals = join(root, 'tc/globals');
  for (const name of ['cilium_per_cluster_ct_tcp4', 'cilium_per_cluster_ct_any4', 'cilium_per_cluster_ct_tcp6', 'cilium_per_cluster_ct_any6']) {
    const info = bpftoolJSON('map', 'show', 'pinned', join(globals, name)) as Record<string, unknown>;
    t.same([info.type, info.bytes_key, info.bytes_value, info.max_entries], ['array_of_maps', 4, 4, 256], `${name} is Cilium's outer map`);
  }
  mgr.createClusterCTMaps(1);
  mgr.createClusterCTMaps(1);
  mgr.createClusterCTMaps(255);
  t.same(mgr.clusterIDs().sort((a, b) => a - b), [1, 255]);
  const inner = GetClusterCTMaps(1, true, true);
  t.same(inner.map((m) => m.name), ['cilium_per_cluster_ct_tcp4_1', 'cilium_per_cluster_ct_any4_1', 'cilium_per_cluster_ct_tcp6_1', 'cilium_per_cluster_ct_any6_1']);
  for (const [i, m] of inner.entries()) {
    m.open();
    t.equal(m.clusterID, 1);
    const outer = mgr.outer[i];
    t.equal(outer?.innerId(1), m.bpfMap.id, `outer ${outer?.name}[1] holds ${m.name}`);
    t.equal(outer?.innerId(2), undefined, 'an unset slot is empty');
    const info = bpftoolJSON('map', 'show', 'pinned', m.path()) as Record<string, unknown>;
    t.same([info.type, info.bytes_key, info.max_entries], ['lru_hash', i < 2 ? 14 : 38, i % 2 === 0 ? 8192 : 4096], `${m.name} has the CT shape`);
    m.close();
  }
  // Data written to an inner map is visible through its pin.
  const tcp4 = inner[0] as ConntrackMap;
  tcp4.update(key4(5), new CtEntry({ lifetime: 10 }));
  tcp4.close();
  const pairs = mgr.getAllClusterCTMaps();
  t.equal(pairs.length, 4, 'two pairs per cluster with both families');
  t.ok(pairs.every((p) => !p.isOpen && p.tcp.isTCP && !p.any.isTCP && p.tcp.isIPv4 === p.any.isIPv4));
  t.equal(msg(caught(() => { mgr.createClusterCTMaps(0); })), 'ClusterID 0 is reserved');
  t.equal(msg(caught(() => { mgr.createClusterCTMaps(256); })), 'ClusterID > 255 is not supported');
  t.equal(msg(caught(() => { mgr.deleteClusterCTMaps(256); })), 'ClusterID > 255 is not supported');
  mgr.deleteClusterCTMaps(1);
  mgr.deleteClusterCTMaps(1);
  t.same(mgr.clusterIDs(), [255]);
  for (const m of GetClusterCTMaps(1, true, true)) {
    t.notOk(existsSync(m.path()), `${m.name} unpinned`);
    t.ok(isNotExist(caught(() => { m.open(); })), 'opening a deleted cluster map says not exist');
  }
  t.ok(mgr.outer.every((o) => o.innerId(1) === undefined), 'outer slots cleared');
  t.ok(mgr.outer.every((o) => o.innerId(255) !== undefined), 'other clusters untouched');
  mgr.close();
  CleanupPerClusterCTMaps(true, false);
  t.notOk(existsSync(join(globals, 'cilium_per_cluster_ct_tcp4')));
  t.notOk(existsSync(join(globals, 'cilium_per_cluster_ct_tcp4_255')));
  t.ok(existsSync(join(globals, 'cilium_per_cluster_ct_tcp6')), 'families not asked for stay');
  t.ok(existsSync(join(globals, 'cilium_per_cluster_ct_any6_255')));
  CleanupPerClusterCTMaps(true, true);
  CleanupPerClusterCTMaps(true, true);
  t.notOk(existsSync(join(globals, 'cilium_per_cluster_ct_any6_255')), 'cleanup of everything, then of nothing');
  t.equal(openFdCount(), fds, 'no fd held');
});

t.test('per-cluster: the 511 setting, the name override, errors are wrapped and joined', async (t) => {
  if (!requirePrivileged(t)) return;
  const root = setup(t);
  setMaxConnectedClusters(511);
  ClusterOuterMapNameTestOverride('test');
  t.teardown(() => { setMaxConnectedClusters(255); ClusterOuterMapNameTestOverride(undefined); });
  const mgr = NewPerClusterCTMaps(true, false);
  mgr.openOrCreate();
  t.teardown(() => { mgr.close(); });
  mgr.createClusterCTMaps(300);
  t.ok(existsSync(join(root, 'tc/globals/test_cilium_per_cluster_ct_tcp4_300')));
  const outer = bpftoolJSON('map', 'show', 'pinned', join(root, 'tc/globals/test_cilium_per_cluster_ct_any4')) as Record<string, unknown>;
  t.equal(outer.max_entries, 512);
  // With a root that is not bpffs every inner map fails to pin; each type reports, none stops the others.
  setMapRoot('/proc');
  const closedOuter = NewPerClusterCTMaps(true, false);
  const e = caught(() => { closedOuter.createClusterCTMaps(7); });
  t.ok(e instanceof AggregateError, 'one error per outer map, joined');
  const lines = msg(e).split('\n');
  t.equal(lines.length, 2);
  t.match(lines[0], /^tcp4: create inner map: /);
  t.match(lines[1], /^any4: create inner map: /);
  t.same(closedOuter.clusterIDs(), [7], 'the ID is remembered even though creation failed (as in Cilium)');
  setMapRoot(root);
  const lazy = NewPerClusterCTMaps(true, false);
  const e2 = caught(() => { lazy.createClusterCTMaps(8); });
  t.equal(e2, undefined, 'with the root back, a manager never opened loads the outer maps lazily from their pins');
  lazy.close();
  closedOuter.close();
  t.ok(BpfError.is(caught(() => NewPerClusterCTMaps(false, true).outer[0]?.bpfMap), 'ENOENT'), 'an outer map never created is not found');
});
