// `ctmap ct watch` against a scripted writer, the Prometheus exporter scraped over loopback with a real HTTP
// client, and Cilium's open rule (missing maps skipped with its message; families found from any pinned map).
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { openNode } from '../../src/node/node.js';
import { CtKey4Global, CtKey6Global } from '../../src/structs/tuple.js';
import { CtEntry } from '../../src/structs/ctentry.js';
import { CtWatcher, type WatchEvent } from '../../src/ctmap/watch.js';
import { populateDemoNode } from '../../src/testing/node.js';
import { BpfMap } from '../../src/syscall/map.js';
import { requirePrivileged, privateBpffs } from '../helpers/priv.js';
import { cliPath, runCli, rawEntries } from '../helpers/clirun.js';
import type { Test } from 'tap';

function small(t: Test, init: { ipv6?: boolean } = {}): ReturnType<typeof openNode> {
  const root = privateBpffs(t);
  const node = openNode({ bpffs: root, ctSizes: { tcp: 4096, any: 4096 }, natEntries: 8192, ipv4: true, ipv6: init.ipv6 ?? true, create: true });
  t.teardown(() => { node.close(); });
  return node;
}

const flow = (i: number, dport = 80): CtKey4Global => CtKey4Global.fromFlow({ src: `10.0.0.${1 + (i % 200)}:${30000 + i}`, dst: `192.0.2.1:${dport}`, proto: 'TCP' });

/** Start the CLI in the background; resolves once stderr has a line matching `ready`. */
function start(t: Test, root: string, args: string[], ready: RegExp): Promise<{ child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [cliPath, ...args], { env: { ...process.env, CTMAP_BPFFS: root } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => { child.on('exit', (code) => { resolve(code); }); });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no ${String(ready)} on stderr within 20 s: ${err}`)); }, 20000);
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (ready.test(err)) {
        clearTimeout(timer);
        resolve({ child, out: () => out, err: () => err, exited });
      }
    });
    void exited.then((code) => { clearTimeout(timer); if (!ready.test(err)) reject(new Error(`exited ${String(code)} before ready: ${err}`)); });
  });
}

t.test('CtWatcher: appeared, refreshed, disappeared between polls; a filter bounds what is watched', async (t) => {
  if (!requirePrivileged(t)) return;
  const node = small(t);
  const tcp4 = node.ct.tcp4;
  for (let i = 0; i < 50; i++) tcp4.update(flow(i), new CtEntry({ lifetime: 1000 + i }));
  const w = new CtWatcher([tcp4, node.ct.tcp6]);
  const seen: WatchEvent[] = [];
  t.equal(w.poll((e) => seen.push(e)), 0, 'the first poll records the baseline');
  t.equal(w.size, 50);
  tcp4.update(flow(100), new CtEntry({ lifetime: 5 }));
  tcp4.update(flow(3), new CtEntry({ lifetime: 2000 }));
  tcp4.update(flow(4), new CtEntry({ lifetime: 1004, packets: 9n }));
  tcp4.delete(flow(7));
  node.ct.tcp6.update(CtKey6Global.fromFlow({ src: '[fd00::1]:1', dst: '[fd00::2]:2', proto: 'TCP' }), new CtEntry({ lifetime: 1 }));
  t.equal(w.poll((e) => seen.push(e)), 4);
  const by = (k: string): string[] => seen.filter((e) => e.kind === k).map((e) => e.record.key.toHost().dump(true) ?? '').sort();
  t.same(by('appeared'), [flow(100).toHost().dump(true), 'TCP OUT fd00::1:1 -> fd00::2:2 '].sort());
  t.same(by('refreshed'), [flow(3).toHost().dump(true)], 'a lifetime that moved; a packet count alone is not a refresh');
  t.same(by('disappeared'), [flow(7).toHost().dump(true)]);
  const gone = seen.find((e) => e.kind === 'disappeared');
  t.equal(gone?.record.entry.lifetime, 1007, 'a disappeared entry carries the lifetime last seen');
  t.equal(seen.find((e) => e.kind === 'refreshed')?.previousLifetime, 1003);
  seen.length = 0;
  t.equal(w.poll((e) => seen.push(e)), 0, 'no change, no event');
  // With a filter an entry that stops matching disappears; the initial poll can report what is there.
  const f = new CtWatcher([tcp4], { filter: { dport: 80, aliveAt: 1040 } });
  t.equal(f.poll((e) => seen.push(e), true), 11, 'initial: the 10 entries alive at 1040, plus the refreshed one');
  tcp4.update(flow(45), new CtEntry({ lifetime: 1 }));
  seen.length = 0;
  f.poll((e) => seen.push(e));
  t.same(seen.map((e) => `${e.kind} ${e.record.key.toHost().dump(true) ?? ''}`), [`disappeared ${flow(45).toHost().dump(true) ?? ''}`]);
});

t.test('ct watch: reports exactly what a scripted writer did between two polls', async (t) => {
  if (!requirePrivileged(t)) return;
  const node = small(t, { ipv6: false });
  const tcp4 = node.ct.tcp4;
  for (let i = 0; i < 30; i++) tcp4.update(flow(i), new CtEntry({ lifetime: 500 }));
  const w = await start(t, node.settings.bpffs, ['ct', 'watch', '--interval', '1500ms', '--polls', '2', '-o', 'json'], /watching 30 entries/);
  // The script: three new flows, two refreshed, two closed, one touched without a new lifetime.
  for (const i of [40, 41, 42]) tcp4.update(flow(i), new CtEntry({ lifetime: 900 }));
  for (const i of [1, 2]) tcp4.update(flow(i), new CtEntry({ lifetime: 600 }));
  for (const i of [5, 6]) tcp4.delete(flow(i));
  tcp4.update(flow(9), new CtEntry({ lifetime: 500, bytes: 100n }));
  t.equal(await w.exited, 0, w.err());
  const events = w.out().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { event: string; map: string; Key: { SourcePort: number } });
  const sport = (e: { Key: { SourcePort: number } }): number => ((e.Key.SourcePort & 0xff) << 8 | (e.Key.SourcePort >> 8)) - 30000;
  const of = (k: string): number[] => events.filter((e) => e.event === k).map(sport).sort((a, b) => a - b);
  t.same(of('appeared'), [40, 41, 42]);
  t.same(of('refreshed'), [1, 2]);
  t.same(of('disappeared'), [5, 6]);
  t.equal(events.length, 7, 'nothing else, and nothing from the second poll');
  t.ok(events.every((e) => e.map === 'cilium_ct4_global'));
  // Text form, filters, and what is refused.
  const once = runCli(node.settings.bpffs, 'ct', 'watch', '--interval', '10ms', '--polls', '1', '--initial', '--sport', '30010');
  t.equal(once.code, 0, once.err);
  t.match(once.out, /^\[APPEARED\] TCP OUT 10\.0\.0\.11:30010 -> 192\.0\.2\.1:80 expires=500 /);
  t.match(runCli(node.settings.bpffs, 'ct', 'watch', '--interval', 'soon').err, /invalid --interval "soon"/);
  t.match(runCli(node.settings.bpffs, 'ct', 'watch', '-o', 'yaml').err, /use -o json: one object per line/);
  t.match(runCli(node.settings.bpffs, 'ct', 'watch', '--polls', '0').err, /invalid --polls "0"/);
});

/** Prometheus text exposition -> series (name{labels}) -> value. */
function series(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of text.split('\n')) {
    if (l === '' || l.startsWith('#')) continue;
    const i = l.lastIndexOf(' ');
    out.set(l.slice(0, i), Number(l.slice(i + 1)));
  }
  return out;
}

/** Poll /metrics until `ready(series)` holds (or ~10 s pass); the last scrape. */
async function scrapeUntil(t: Test, base: string, ready: (m: Map<string, number>) => boolean): Promise<Map<string, number>> {
  let m = new Map<string, number>();
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${base}/metrics`);
    t.equal(res.status, 200);
    m = series(await res.text());
    if (ready(m)) return m;
    await new Promise((r) => setTimeout(r, 100));
  }
  return m;
}

const sum = (m: Map<string, number>, prefix: string): number => [...m].filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);
const natSize = (g: string): number => rawEntries(join(g, 'cilium_snat_v4_external')).size + rawEntries(join(g, 'cilium_snat_v6_external')).size;
const ctSize = (g: string): number => ['cilium_ct4_global', 'cilium_ct_any4_global', 'cilium_ct6_global', 'cilium_ct_any6_global'].reduce((a, n) => a + rawEntries(join(g, n)).size, 0);

t.test('exporter: scraped over loopback, its series equal the maps; Cilium\'s NAT GC metrics with --purge-orphans', async (t) => {
  if (!requirePrivileged(t)) return;
  const root = privateBpffs(t);
  populateDemoNode({ bpffs: root }).close();
  const g = join(root, 'tc', 'globals');
  const natBefore = natSize(g);
  // No GC loop here: the purge is then the only thing deleting, so its counter must equal what the maps lost
  // whatever this machine's clock says about the demo's expiries (the GC loop is the next test).
  const ex = await start(t, root, ['exporter', '--listen', '127.0.0.1:0', '--interval', '200ms', '--purge-orphans'], /listening on http:\/\/(127\.0\.0\.1:\d+)\/metrics/);
  const base = `http://${/listening on http:\/\/(127\.0\.0\.1:\d+)/.exec(ex.err())?.[1] ?? ''}`;
  await scrapeUntil(t, base, (m) => [...m.keys()].some((k) => k.startsWith('cilium_datapath_nat_gc_deleted_total')));
  // Two collections later the purge has nothing left to do: the maps are stable; compare with them.
  await new Promise((r) => setTimeout(r, 600));
  const m = series(await (await fetch(`${base}/metrics`)).text());
  for (const name of ['cilium_ct4_global', 'cilium_ct_any4_global', 'cilium_ct6_global', 'cilium_ct_any6_global', 'cilium_snat_v4_external', 'cilium_snat_v6_external']) {
    const n = rawEntries(join(g, name)).size;
    t.equal(m.get(`ctmap_map_entries{map="${name}"}`), n, `${name}: entries`);
    t.equal(m.get(`cilium_bpf_map_pressure{map_name="${name.slice('cilium_'.length)}"}`), n / (m.get(`ctmap_map_max_entries{map="${name}"}`) ?? 1), `${name}: pressure`);
    if (name.includes('_ct')) {
      t.equal(sum(m, `ctmap_ct_entries_by_protocol{map="${name}"`), n, `${name}: by protocol adds up`);
      t.equal(sum(m, `ctmap_ct_entries_by_direction{map="${name}"`), n, `${name}: by direction adds up`);
    }
  }
  const natAfter = natSize(g);
  t.equal(sum(m, 'cilium_datapath_nat_gc_deleted_total'), natBefore - natAfter, `nat_gc_deleted_total counts the ${natBefore - natAfter} orphans the purge removed`);
  t.ok(natBefore - natAfter > 400, 'the demo node had its orphans');
  // SNAT port usage from the NAT list, counted here.
  const lines = runCli(root, '--ipv4', 'nat', 'list', '--dir', 'IN', '-p', 'tcp').out.split('\n').filter((l) => l !== '');
  const ports = new Set(lines.map((l) => /-> 192\.0\.2\.10:(\d+) /.exec(l)?.[1]));
  t.equal(m.get('ctmap_snat_mappings{family="ipv4",address="192.0.2.10",proto="TCP"}'), lines.length);
  t.equal(m.get('ctmap_snat_ports_in_use{family="ipv4",address="192.0.2.10",proto="TCP"}'), ports.size);
  t.equal(m.get('ctmap_snat_port_range_size{family="ipv4",address="192.0.2.10",proto="TCP"}'), 32768);
  t.equal(m.get('cilium_datapath_conntrack_gc_runs_total{family="ipv4",protocol="TCP",status="completed"}'), undefined, 'no GC loop without --gc');
  t.ok((m.get('ctmap_last_collect_timestamp_seconds') ?? 0) > Date.now() / 1000 - 60);
  t.equal((await fetch(`${base}/nope`)).status, 404);
  t.equal((await fetch(`${base}/`)).status, 200);
  ex.child.kill('SIGTERM');
  t.equal(await ex.exited, 0, 'SIGTERM stops it cleanly');
  t.match(runCli(root, 'exporter', '--listen', 'nowhere').err, /invalid --listen "nowhere"/);
});

t.test('exporter --gc: Cilium\'s GC loop and its metrics; what it says it deleted is what the maps lost', async (t) => {
  if (!requirePrivileged(t)) return;
  const root = privateBpffs(t);
  populateDemoNode({ bpffs: root }).close();
  const g = join(root, 'tc', 'globals');
  const ctBefore = ctSize(g);
  const ex = await start(t, root, ['exporter', '--listen', '127.0.0.1:0', '--interval', '200ms', '--gc'], /listening on http:\/\/(127\.0\.0\.1:\d+)\/metrics/);
  const base = `http://${/listening on http:\/\/(127\.0\.0\.1:\d+)/.exec(ex.err())?.[1] ?? ''}`;
  const runs = (m: Map<string, number>): string[] => [...m.keys()].filter((k) => k.startsWith('cilium_datapath_conntrack_gc_runs_total') && k.includes('status="completed"'));
  // One completed run per family and protocol class; the next run is minutes away, so the maps are then still.
  const m = await scrapeUntil(t, base, (s) => runs(s).length === 4);
  t.same(runs(m).sort(), ['ipv4', 'ipv6'].flatMap((f) => ['TCP', 'non-TCP'].map((p) => `cilium_datapath_conntrack_gc_runs_total{family="${f}",protocol="${p}",status="completed"}`)).sort(), 'a completed GC run for each family and protocol class');
  const ctAfter = ctSize(g);
  const gcEntries = (status: string): number => [...m].filter(([k]) => k.startsWith('cilium_datapath_conntrack_gc_entries{') && k.endsWith(`status="${status}"}`)).reduce((x, [, v]) => x + v, 0);
  t.equal(gcEntries('deleted'), ctBefore - ctAfter, `conntrack_gc_entries{status="deleted"} counts the ${ctBefore - ctAfter} entries the GC removed`);
  t.equal(gcEntries('alive'), ctAfter, 'conntrack_gc_entries{status="alive"} is what the maps still hold');
  t.equal(sum(m, 'cilium_datapath_nat_gc_deleted_total'), 0, 'no purge counted without --purge-orphans');
  ex.child.kill('SIGTERM');
  t.equal(await ex.exited, 0, 'SIGTERM stops it cleanly');
});

t.test('Cilium\'s open rule: a missing map is skipped with its message; families come from any pinned map', async (t) => {
  if (!requirePrivileged(t)) return;
  const root = privateBpffs(t);
  // Only the IPv4 Any map is pinned (and no NAT map at all).
  const node = openNode({ bpffs: root, ctSizes: { tcp: 1024, any: 1024 }, ipv4: true, ipv6: false });
  node.ct.any4.create();
  node.ct.any4.update(CtKey4Global.fromFlow({ src: '10.0.0.1:5353', dst: '8.8.8.8:53', proto: 'UDP' }), new CtEntry({ lifetime: 77 }));
  node.close();
  const list = runCli(root, 'ct', 'list');
  t.equal(list.code, 0, list.err);
  t.match(list.out, /^UDP OUT 10\.0\.0\.1:5353 -> 8\.8\.8\.8:53 expires=77 /);
  t.equal(list.err, `Unable to open ${join(root, 'tc/globals/cilium_ct4_global')}: loading pinned map ${join(root, 'tc/globals/cilium_ct4_global')}: no such file or directory. Skipping.\n`, 'only IPv4 maps are looked for: the family was found from the Any map');
  t.match(runCli(root, 'ct', 'count').out, /cilium_ct_any4_global: 1 entries/);
  const nat = runCli(root, 'nat', 'list');
  t.equal(nat.code, 1);
  t.match(nat.err, /no NAT map pinned: looked for .*cilium_snat_v4_external \(is Cilium running/);
  // A node with only per-cluster maps lists them; the global selection names every path it looked for.
  const r2 = privateBpffs(t);
  const n2 = openNode({ bpffs: r2, ctSizes: { tcp: 1024, any: 1024 }, natEntries: 2048, ipv4: true, ipv6: false });
  const pc = n2.perClusterCTMaps();
  pc.openOrCreate();
  pc.createClusterCTMaps(5);
  pc.close();
  const cm = n2.cluster(5);
  cm.ct.maps()[0]?.update(CtKey4Global.fromFlow({ src: '10.1.0.1:1000', dst: '10.2.0.1:443', proto: 'TCP' }), new CtEntry({ lifetime: 9 }));
  n2.close();
  const c5 = runCli(r2, 'ct', 'list', 'cluster', '5');
  t.equal(c5.code, 0, c5.err);
  t.match(c5.out, /^TCP OUT 10\.1\.0\.1:1000 -> 10\.2\.0\.1:443 expires=9 /);
  t.equal(runCli(r2, 'ct', 'list', '--cluster', '5').out, c5.out, '--cluster is the same selection');
  const global = runCli(r2, 'ct', 'list');
  t.equal(global.code, 1);
  t.match(global.err, /no CT map pinned: looked for .*cilium_ct4_global and .*cilium_ct_any4_global \(is Cilium running/);
  t.match(runCli(r2, 'ct', 'list', 'cluster', '5', '--cluster', '6').err, /two clusters given: cluster 5 and --cluster 6/);
  // A pinned map of the wrong shape is fatal, not skipped.
  const bad = BpfMap.create({ name: 'cilium_ct4_global', type: 9, keySize: 16, valueSize: 56, maxEntries: 64 });
  bad.pin(join(root, 'tc/globals/cilium_ct4_global'));
  bad.close();
  const wrong = runCli(root, 'ct', 'list');
  t.equal(wrong.code, 1);
  t.match(wrong.err, /Unable to open .*cilium_ct4_global: .*incompatible/);
});
