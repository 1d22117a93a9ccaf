// The ctmap CLI as a subprocess against a private bpffs filled by the emulator and by bpftool (api.md CLI, nat-datapath.md §11).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { privateBpffs, requirePrivileged } from '../helpers/priv.js';
import { bpftoolUpdate } from '../helpers/bpftool.js';
import { type ConntrackMap } from '../../src/ctmap/index.js';
import { type NatMap } from '../../src/nat/index.js';
import { parseCtMapRecords, parseNatMapRecords, CtKey4Global, CtEntry } from '../../src/structs/index.js';
import { BpfMap, MapType } from '../../src/syscall/index.js';
import { DatapathEmulator } from '../../src/testing/emulator.js';
import type { Test } from 'tap';
import { Maps, setCTMapConfig, resetCTMapConfig, GlobalMaps, setNATMapEntriesGlobal, setMapRoot, DefaultMapRoot } from '../../src/compat/index.js';
import { NewPerClusterCTMaps, GetClusterCTMaps, NewPerClusterNATMaps } from '../../src/compat/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = resolve(here, '..', '..', 'dist', 'bin', 'ctmap.cjs');
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/ /g, ''), 'hex'));

interface Run { code: number | null; out: string; err: string }
function run(root: string, ...args: string[]): Run {
  const r = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, CTMAP_BPFFS: root }, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

interface Node { root: string; tcp4: ConntrackMap; any4: ConntrackMap; tcp6: ConntrackMap; any6: ConntrackMap; nat4: NatMap; nat6: NatMap }

/** A small node: entries written by bpftool with known text, plus emulated flows. */
function node(t: Test, opts: { v6?: boolean } = {}): Node {
  const root = privateBpffs(t);
  setMapRoot(root);
  setCTMapConfig({ ctMapEntriesGlobalTCP: 8192, ctMapEntriesGlobalAny: 8192 });
  const prev = setNATMapEntriesGlobal(16384);
  t.teardown(() => { setMapRoot(DefaultMapRoot); resetCTMapConfig(); setNATMapEntriesGlobal(prev); });
  const [tcp4, any4, tcp6, any6] = Maps(true, true) as [ConntrackMap, ConntrackMap, ConntrackMap, ConntrackMap];
  const { v4, v6 } = GlobalMaps(true, true);
  const nat4 = v4 as NatMap;
  const nat6 = v6 as NatMap;
  for (const m of [tcp4, any4, nat4]) m.openOrCreate();
  if (opts.v6 !== false) for (const m of [tcp6, any6, nat6]) m.openOrCreate();
  t.teardown(() => { for (const m of [tcp4, any4, tcp6, any6, nat4, nat6]) m.close(); });
  return { root, tcp4, any4, tcp6, any6, nat4, nat6 };
}

const line1 = 'TCP OUT 10.0.0.1:40000 -> 10.0.0.2:80 expires=12345 Packets=3 Bytes=180 RxFlagsSeen=0x10 LastRxReport=200 TxFlagsSeen=0x12 LastTxReport=100 Flags=0x0013 [ RxClosing TxClosing SeenNonSyn ] RevNAT=5 SourceSecurityID=1234 BackendID=7 NatPort=8080 \n';
const lineUdp = 'UDP IN 192.168.1.10:54321 -> 8.8.8.8:53 expires=4294967295 Packets=0 Bytes=0 RxFlagsSeen=0x00 LastRxReport=0 TxFlagsSeen=0x00 LastTxReport=0 Flags=0x8001 [ RxClosing Unknown=0x8000 ] RevNAT=0 SourceSecurityID=0 BackendID=0 NatPort=0 \n';
const line6 = 'UDP IN fd00::1:50000 -> fd00::2:443 related expires=99 Packets=0 Bytes=0 RxFlagsSeen=0x00 LastRxReport=0 TxFlagsSeen=0x00 LastTxReport=0 Flags=0x0000 [ ] RevNAT=0 SourceSecurityID=0 BackendID=0 NatPort=0 \n';

function bpftoolEntries(n: Node): void {
  bpftoolUpdate(n.tcp4.path(), hex('0a000001 0a000002 0050 9c40 06 00'),
    hex('0000000000000000 0700000000000000 0300000000000000 b400000000000000 39300000 1300 0005 1f90 12 10 d2040000 64000000 c8000000'));
  bpftoolUpdate(n.tcp4.path(), hex('01010101 02020202 0000 0000 00 00'), hex('00'.repeat(56)));
  bpftoolUpdate(n.any4.path(), hex('c0a8010a 08080808 0035 d431 11 01'), hex('00'.repeat(32) + 'ffffffff' + '0180' + '00'.repeat(18)));
  bpftoolUpdate(n.tcp6.path(), hex('fd000000000000000000000000000001 fd000000000000000000000000000002 01bb c350 11 03'),
    hex('00'.repeat(32) + '63000000' + '00'.repeat(20)));
  bpftoolUpdate(n.nat4.path(), hex('01010101 0a000163 0050 86d8 06 00'), hex('e803000000000000 0000000000000000' + '00'.repeat(16) + '0a00020f 86d8 0000'));
}

t.test('ct list: byte-identical to cilium-dbg (each map, then Println\'s newline)', async (t) => {
  if (!requirePrivileged(t)) return;
  const n = node(t);
  bpftoolEntries(n);
  const r = run(n.root, 'ct', 'list');
  t.equal(r.code, 0, r.err);
  t.equal(r.err, '');
  t.equal(r.out, `${line1}\n${lineUdp}\n${line6}\n\n`, 'tcp4, any4, tcp6, any6 in Go\'s order, each followed by Println\'s newline; the next-header-0 entry left out');
  t.equal(run(n.root, 'ct', 'list', 'global').out, r.out, '"global" is the default');
  t.equal(run(n.root, 'ct', 'ls').out, r.out, 'alias ls');
  t.equal(run(n.root, '--ipv4', 'ct', 'list').out, `${line1}\n${lineUdp}\n`, '--ipv4 restricts to one family');
  t.equal(run(n.root, '--ipv6', 'ct', 'list').out, `${line6}\n\n`);
  const d = run(n.root, 'ct', 'list', '-d');
  t.match(d.out, /^TCP OUT 10\.0\.0\.1:40000 -> 10\.0\.0\.2:80 expires=12345 \(remaining: -?\d+ sec\(s\)\) Packets=3 /);
  const j = run(n.root, 'ct', 'list', '-d', '--time-diff-clocksource-mode', 'jiffies', '--time-diff-clocksource-hz', '100');
  t.equal(j.code, 1, 'jiffies needs /proc/schedstat, which this kernel may lack');
  t.ok(j.code === 0 || /schedstat|jiffies/.test(j.err), j.err);
  // JSON: Go's MarshalIndent of every record, then an empty line; it parses back to the same records.
  const js = run(n.root, 'ct', 'list', '-o', 'json');
  t.equal(js.code, 0);
  t.ok(js.out.endsWith('\n]\n\n'), 'the array, a newline, then an empty line');
  const recs = parseCtMapRecords(js.out);
  t.equal(recs.length, 4, 'JSON lists every entry, next header 0 included');
  const first = recs.find((x) => x.key.toString() === CtKey4Global.fromBytes(hex('0a000001 0a000002 0050 9c40 06 00')).toString());
  t.same(first?.value.toGoJSON(), new CtEntry({ union0: [0n, 7n], packets: 3n, bytes: 180n, lifetime: 12345, flags: 0x13, revNAT: 0x0500,
    natPort: 0x901f, txFlagsSeen: 0x12, rxFlagsSeen: 0x10, sourceSecurityID: 1234, lastTxReport: 100, lastRxReport: 200 }).toGoJSON());
  t.match(js.out, /"DestPort": 20480,\n {6}"SourcePort": 16540,/, 'raw ports, Go\'s indentation');
});

t.test('ct count, nat list (text and JSON), per-cluster lists', async (t) => {
  if (!requirePrivileged(t)) return;
  const n = node(t);
  bpftoolEntries(n);
  const c = run(n.root, 'ct', 'count');
  t.equal(c.code, 0);
  t.equal(c.out, [
    `${join(n.root, 'tc/globals/cilium_ct4_global')}: 2 entries, max 8192, pressure 0.02%`,
    `${join(n.root, 'tc/globals/cilium_ct_any4_global')}: 1 entries, max 8192, pressure 0.01%`,
    `${join(n.root, 'tc/globals/cilium_ct6_global')}: 1 entries, max 8192, pressure 0.01%`,
    `${join(n.root, 'tc/globals/cilium_ct_any6_global')}: 0 entries, max 8192, pressure 0.00%`,
  ].join('\n') + '\n');
  const nl = run(n.root, 'nat', 'list');
  t.equal(nl.code, 0, nl.err);
  t.match(nl.out, /^TCP OUT 10\.0\.1\.99:34520 -> 1\.1\.1\.1:80 XLATE_SRC 10\.0\.2\.15:34520 Created=-?\d+sec ago NeedsCT=0\n\n\n$/,
    'the v4 map\'s line, Println\'s newline, then the empty v6 map\'s');
  const nj = run(n.root, 'nat', 'list', '-o', 'json');
  const recs = parseNatMapRecords(nj.out);
  t.equal(recs.length, 1);
  t.same([recs[0]?.value.addr, recs[0]?.value.port, recs[0]?.value.created], ['10.0.2.15', 0xd886, 1000n]);
  t.equal(run(n.root, '--ipv6', 'nat', 'list', '-o', 'json').out, '[]\n\n', 'an empty list is []');
  // Per-cluster maps.
  const pc = NewPerClusterCTMaps(true, true);
  pc.openOrCreate();
  pc.createClusterCTMaps(7);
  pc.close();
  const pn = NewPerClusterNATMaps(true, true);
  pn.openOrCreate();
  pn.createClusterNATMaps(7);
  pn.close();
  const [inner] = GetClusterCTMaps(7, true, false) as [ConntrackMap];
  inner.open();
  inner.update(CtKey4Global.fromBytes(hex('0a000001 0a000002 0050 9c40 06 00')), new CtEntry({ lifetime: 12345 }));
  inner.close();
  const cl = run(n.root, 'ct', 'list', 'cluster', '7');
  t.equal(cl.code, 0, cl.err);
  t.match(cl.out, /^TCP OUT 10\.0\.0\.1:40000 -> 10\.0\.0\.2:80 expires=12345 /);
  t.equal(run(n.root, 'nat', 'list', 'cluster', '7').out, '\n\n', 'empty cluster NAT maps');
});

t.test('ct gc --safe-window: safe mode entry by entry or a window at a time, the same outcome', async (t) => {
  if (!requirePrivileged(t)) return;
  for (const w of ['1', '16']) {
    const n = node(t);
    const emu = new DatapathEmulator({ tcp4: n.tcp4, any4: n.any4, tcp6: n.tcp6, any6: n.any6, nat4: n.nat4, nat6: n.nat6 }, { now: 10000, seed: 3 });
    for (let i = 0; i < 30; i++) emu.masquerade({ src: `10.0.0.${i}:4000`, dst: '1.1.1.1:80', proto: 'TCP' }, '192.0.2.1', { related: false, age: i < 10 ? 5000 : 0 });
    const g = run(n.root, 'ct', 'gc', '--time', '9000', '--safe-window', w);
    t.equal(g.code, 0, g.err);
    t.match(g.out, /^cilium_ct4_global: deleted 10, alive 20, skipped 0, deferred 0, NAT entries deleted 20\n/, `window ${w}`);
    t.equal(n.tcp4.count(), 20);
    t.equal(n.nat4.count(), 40, `window ${w}: the deleted flows' SNAT pairs went with them`);
  }
});

t.test('ct gc and flushes: one pass with NAT follow-up, Cilium\'s flush lines', async (t) => {
  if (!requirePrivileged(t)) return;
  const n = node(t);
  const emu = new DatapathEmulator({ tcp4: n.tcp4, any4: n.any4, tcp6: n.tcp6, any6: n.any6, nat4: n.nat4, nat6: n.nat6 }, { now: 10000, seed: 3 });
  for (let i = 0; i < 30; i++) emu.masquerade({ src: `10.0.0.${i}:4000`, dst: '1.1.1.1:80', proto: 'TCP' }, '192.0.2.1', { age: i < 10 ? 5000 : 0 });
  // An orphan: its CT entry evicted, its related ICMP entry (in the any map) still alive.
  const orphan = emu.masquerade({ src: '10.0.9.9:4000', dst: '1.1.1.1:80', proto: 'TCP' }, '192.0.2.1', { established: true });
  n.tcp4.delete(orphan.ctKey);
  const g = run(n.root, 'ct', 'gc', '--time', '9000', '--mode', 'fast', '--purge-orphans');
  t.equal(g.code, 0, g.err);
  t.equal(g.out, [
    'cilium_ct4_global: deleted 10, alive 20, skipped 0, deferred 0, NAT entries deleted 20',
    'cilium_ct_any4_global: deleted 10, alive 21, skipped 0, deferred 0',
    'cilium_ct6_global: deleted 0, alive 0, skipped 0, deferred 0',
    'cilium_ct_any6_global: deleted 0, alive 0, skipped 0, deferred 0',
    'cilium_snat_v4_external: orphans deleted 1 egress / 1 ingress, alive 20 egress / 20 ingress',
    'cilium_snat_v6_external: orphans deleted 0 egress / 0 ingress, alive 0 egress / 0 ingress',
  ].join('\n') + '\n');
  t.equal(n.nat4.count(), 40);
  const f = run(n.root, 'ct', 'flush');
  t.equal(f.out, [
    `Flushed 20 entries from ${join(n.root, 'tc/globals/cilium_ct4_global')}`,
    `Flushed 21 entries from ${join(n.root, 'tc/globals/cilium_ct_any4_global')}`,
    `Flushed 0 entries from ${join(n.root, 'tc/globals/cilium_ct6_global')}`,
    `Flushed 0 entries from ${join(n.root, 'tc/globals/cilium_ct_any6_global')}`,
  ].join('\n') + '\n');
  t.equal(n.nat4.count(), 0, 'the NAT pairs of flushed egress entries went too');
  emu.masquerade({ src: '10.0.0.1:4000', dst: '1.1.1.1:80', proto: 'TCP' }, '192.0.2.1');
  n.tcp4.delete(CtKey4Global.fromFlow({ src: '10.0.0.1:4000', dst: '1.1.1.1:80', proto: 'TCP' }));
  t.equal(run(n.root, 'nat', 'flush').out, `Flushed 2 entries from ${join(n.root, 'tc/globals/cilium_snat_v4_external')}\nFlushed 0 entries from ${join(n.root, 'tc/globals/cilium_snat_v6_external')}\n`);
  t.equal(run(n.root, 'ct', 'gc').code, 0, 'gc with the clock\'s time');
});

t.test('errors: Cilium\'s messages, exit status 1, nothing changed', async (t) => {
  if (!requirePrivileged(t)) return;
  const n = node(t);
  bpftoolEntries(n);
  const before = run(n.root, 'ct', 'list', '-o', 'json').out;
  const natBefore = n.nat4.count();
  const cases: [string[], RegExp | string][] = [
    [['ct', 'list', 'cluster'], 'Error: Invalid argument: missing clusterID\n'],
    [['ct', 'list', 'cluster', '0'], 'Error: Invalid argument: invalid clusterID: ClusterID 0 is reserved\n'],
    [['ct', 'list', 'cluster', '256'], 'Error: Invalid argument: invalid clusterID: ClusterID > 255 is not supported\n'],
    [['ct', 'list', 'cluster', 'x'], /invalid clusterID: strconv\.ParseUint: parsing "x": invalid syntax/],
    [['ct', 'list', 'cluster', '99999999999'], /value out of range/],
    [['ct', 'list', 'endpoint', '5'], 'Error: Invalid argument: unknown type endpoint\n'],
    [['ct', 'list', '-d', '--time-diff-clocksource-mode', 'tsc'], 'Error: could not determine clocksource: invalid clocksource\n'],
    [['ct', 'list', '-d', '--time-diff-clocksource-mode', 'jiffies', '--time-diff-clocksource-hz', '0'], 'Error: could not determine clocksource: invalid HZ value\n'],
    [['ct', 'list', '-o', 'xml'], /unsupported output format "xml" \(use one of: json, yaml, jsonpath=<template>\)/],
    [['ct', 'list', '-o', 'jsonpath={.[0'], /invalid jsonpath template/],
    [['ct', 'flush', 'cluster', '0'], /ClusterID 0 is reserved/],
    [['ct', 'flush', 'cluster', '3'], /no CT map of cluster 3 pinned: looked for .*cilium_per_cluster_ct_tcp4_3, .*cilium_per_cluster_ct_any4_3, .*cilium_per_cluster_ct_tcp6_3 and .*cilium_per_cluster_ct_any6_3 \(is Cilium running/],
    [['ct', 'gc', '--mode', 'quick'], /argument 'quick' is invalid\. Allowed choices are safe, fast/],
    [['ct', 'gc', '--safe-window', '0'], 'Error: invalid --safe-window "0" (an integer 1…4096)\n'],
    [['ct', 'gc', '--safe-window', '4097'], /invalid --safe-window "4097"/],
    [['ct', 'gc', '--safe-window', '1.5'], /invalid --safe-window "1\.5"/],
    [['ct', 'gc', '--safe-window', '8', '--mode', 'fast'], 'Error: --safe-window applies to --mode safe only\n'],
    [['ct', 'gc', '--time', '-5'], /invalid --time/],
    [['ct', 'gc', 'extra'], /Invalid argument: extra/],
    [['ct', 'count', 'extra'], /Invalid argument: extra/],
    [['nat', 'list', 'bogus'], 'Error: Invalid argument\n'],
    [['nat', 'list', 'cluster', '0'], /ClusterID 0 is reserved/],
    [['nat', 'flush', 'x'], /Invalid argument: x/],
    [['ct', 'nope'], /unknown command 'nope'/],
    [['--bpffs', 'relative', 'ct', 'list'], /--bpffs must be an absolute path/],
  ];
  for (const [args, want] of cases) {
    const r = run(n.root, ...args);
    t.equal(r.code, 1, `ctmap ${args.join(' ')} exits 1`);
    t.equal(r.out, '', 'nothing on stdout');
    if (typeof want === 'string') t.equal(r.err, want);
    else t.match(r.err, want);
  }
  // A missing pin names every path looked for; a pin of the wrong shape names the field.
  const empty = privateBpffs(t);
  const none = run(empty, 'ct', 'list');
  t.equal(none.err, `Error: no CT map pinned: looked for ${join(empty, 'tc/globals/cilium_ct4_global')} and ${join(empty, 'tc/globals/cilium_ct6_global')} (is Cilium running, and is --bpffs the right bpffs?)\n`);
  const wrong = BpfMap.create({ name: 'cilium_ct4_global', type: MapType.LRUHash, keySize: 16, valueSize: 56, maxEntries: 64 });
  wrong.pin(join(empty, 'tc/globals/cilium_ct4_global'));
  wrong.close();
  const bad = run(empty, '--ipv4', 'ct', 'list');
  t.match(bad.err, /Unable to open .*cilium_ct4_global: pinned map .* is incompatible: key size is 16, expected 14/);
  t.equal(run(empty, '--ipv4', 'ct', 'flush').code, 1, 'flush refuses too');
  const missingAny = run(empty, '--ipv4', 'ct', 'count');
  t.equal(missingAny.code, 1);
  // Nothing changed by any of it.
  t.equal(run(n.root, 'ct', 'list', '-o', 'json').out, before, 'CT maps unchanged');
  t.equal(n.nat4.count(), natBefore, 'NAT map unchanged');
  // As an unprivileged user the pins cannot be opened: the error says to run as root.
  // (A clean environment: the coverage hook tap puts in NODE_OPTIONS cannot write its files as nobody.)
  const nobody = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', '-i', `CTMAP_BPFFS=${n.root}`, process.execPath, cli, 'ct', 'list'], { encoding: 'utf8' });
  t.equal(nobody.status, 1);
  t.match(nobody.stderr, /^Error: Unable to open .*cilium_ct4_global: permission denied; run as root \(or with CAP_BPF\)\n$/);
  t.equal(run(n.root, '--help').code, 0, '--help is not an error');
});
