// `ctmap ct delete` (exact, with the NAT follow-up; --dry-run changes nothing) and `ct stats` / `nat stats`
// (figures equal to counts made independently from the listings), as the built binary on an emulated node.
import t from 'tap';
import { join } from 'node:path';
import { populateDemoNode } from '../../src/testing/node.js';
import { requirePrivileged, privateBpffs } from '../helpers/priv.js';
import { parsePrinted, inPrefix, type Printed } from '../helpers/flowref.js';
import { runCli, rawEntries, digest } from '../helpers/clirun.js';
import { ownerOf } from '../helpers/recorded.js';
import type { Test } from 'tap';

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');
const CT = ['cilium_ct4_global', 'cilium_ct_any4_global', 'cilium_ct6_global', 'cilium_ct_any6_global'];
const NAT = ['cilium_snat_v4_external', 'cilium_snat_v6_external'];

function node(t: Test): string {
  const root = privateBpffs(t);
  populateDemoNode({ bpffs: root }).close();
  return root;
}

/** Every CT and NAT entry, raw (bpftool): map name -> key hex -> value hex. */
function snapshot(root: string): Map<string, Map<string, string>> {
  return new Map([...CT, ...NAT].map((n) => [n, rawEntries(join(root, 'tc', 'globals', n))]));
}

/** What changed between two snapshots: removed keys per map; any other difference is reported as such. */
function changes(before: Map<string, Map<string, string>>, after: Map<string, Map<string, string>>): { removed: Map<string, Set<string>>; other: string[] } {
  const removed = new Map<string, Set<string>>();
  const other: string[] = [];
  for (const [name, b] of before) {
    const a = after.get(name) ?? new Map<string, string>();
    const gone = new Set<string>();
    for (const [k, v] of b) {
      const now = a.get(k);
      if (now === undefined) gone.add(k);
      else if (now !== v) other.push(`${name} ${k} changed`);
    }
    for (const k of a.keys()) if (!b.has(k)) other.push(`${name} ${k} appeared`);
    removed.set(name, gone);
  }
  return { removed, other };
}

/** The NAT keys the oracle says the given CT keys (hex) own. */
function ownedNat(before: Map<string, Map<string, string>>, ctKeys: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const n of NAT) {
    for (const [k, v] of before.get(n) ?? []) {
      const o = ownerOf(Buffer.from(k, 'hex'), Buffer.from(v, 'hex'));
      if (ctKeys.has(o.ct) || (o.dsr !== undefined && ctKeys.has(o.dsr))) out.add(k);
    }
  }
  return out;
}

t.test('ct delete: exactly the matching entries and the NAT entries they own; --dry-run changes nothing', async (t) => {
  if (!requirePrivileged(t)) return;
  const root = node(t);
  const all = lines(runCli(root, 'ct', 'list').out);
  // The pod with the most entries, and its UDP flows.
  const counts = new Map<string, number>();
  for (const l of all) { const p = parsePrinted(l, 'ct'); counts.set(p.src, (counts.get(p.src) ?? 0) + 1); }
  const pod = [...counts].filter(([a]) => a.startsWith('10.0.')).sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
  const match = (p: Printed): boolean => p.src === pod && p.proto === 'UDP';
  const want = all.filter((l) => match(parsePrinted(l, 'ct')));
  t.ok(want.length > 0, `${want.length} UDP entries of ${pod}`);
  const d0 = digest(root);
  const dry = runCli(root, 'ct', 'delete', '--src', pod, '-p', 'udp', '--dry-run');
  t.equal(dry.code, 0, dry.err);
  t.equal(digest(root), d0, 'a dry run changes no byte');
  const dryCt = lines(dry.out).filter((l) => !l.startsWith('  '));
  t.same(dryCt, want, 'the dry run lists exactly the matching entries');
  const dryNat = lines(dry.out).filter((l) => l.startsWith('  '));
  t.match(dry.err, /cilium_ct_any4_global: would delete \d+, alive \d+/);
  for (const refused of [[], ['--limit', '5'], ['--time', '5']]) {
    const r = runCli(root, 'ct', 'delete', ...refused);
    t.equal(r.code, 1, `delete ${refused.join(' ')} is refused`);
    t.match(r.err, /refusing to delete without a flow or a filter .*ct flush/);
  }
  t.equal(digest(root), d0, 'refusals change nothing');
  const before = snapshot(root);
  const del = runCli(root, 'ct', 'delete', '--src', pod, '-p', 'udp');
  t.equal(del.code, 0, del.err);
  t.same(lines(del.out), want, 'the deleted entries on stdout');
  const after = snapshot(root);
  const { removed, other } = changes(before, after);
  t.same(other, [], 'nothing changed but removals');
  const ctGone = new Set([...CT].flatMap((n) => [...(removed.get(n) ?? [])]));
  t.equal(ctGone.size, want.length, 'as many CT entries went as matched');
  const natGone = new Set([...NAT].flatMap((n) => [...(removed.get(n) ?? [])]));
  const owned = ownedNat(before, ctGone);
  t.same([...natGone].sort(), [...owned].sort(), `exactly the ${owned.size} NAT entries the removed entries owned`);
  t.equal(dryNat.length, owned.size, 'the dry run showed each of them');
  t.match(del.err, new RegExp(`NAT entries deleted ${owned.size}\\n`));
  // One flow by its printed form: that key, its SNAT pair, nothing else.
  const rest = lines(runCli(root, 'ct', 'list', '-p', 'tcp', '--dir', 'OUT', '--dport', '443', '--limit', '1').out)[0] ?? '';
  const p = parsePrinted(rest, 'ct');
  const b2 = snapshot(root);
  const one = runCli(root, 'ct', 'delete', 'TCP', 'OUT', `${p.src}:${p.sport}`, '->', `${p.dst}:${p.dport}`, '--mode', 'fast');
  t.equal(one.code, 0, one.err);
  t.same(lines(one.out), [rest]);
  const c2 = changes(b2, snapshot(root));
  t.same(c2.other, []);
  const gone2 = new Set([...CT].flatMap((n) => [...(c2.removed.get(n) ?? [])]));
  t.equal(gone2.size, 1, 'one CT entry');
  t.same([...NAT].flatMap((n) => [...(c2.removed.get(n) ?? [])]).sort(), [...ownedNat(b2, gone2)].sort(), 'and its NAT pair');
  t.equal(runCli(root, 'ct', 'delete', 'tcp', '1.2.3.4:1', '5.6.7.8:2', '--src', '9.9.9.9').code, 1, 'a flag that contradicts the flow is refused');
});

t.test('ct stats and nat stats: every figure equals a count made from the listings', async (t) => {
  if (!requirePrivileged(t)) return;
  const root = node(t);
  const T = 99800;
  const ct = lines(runCli(root, 'ct', 'list').out).map((l) => parsePrinted(l, 'ct'));
  const r = runCli(root, 'ct', 'stats', '--time', String(T), '--top', '5', '-o', 'json');
  t.equal(r.code, 0, r.err);
  interface Top { endpoint: string; count: number; error: number }
  const s = JSON.parse(r.out) as { now: number; total: number; maps: { map: string; entries: number }[]; byProto: Record<string, number>; byDir: Record<string, number>; related: number; byFlag: Record<string, number>; lifetime: { label: string; count: number }[]; top: { sources: Top[]; destinations: Top[]; services: Top[]; exact: boolean } };
  t.equal(s.now, T);
  t.equal(s.total, ct.length);
  const tally = <K extends string | number>(xs: readonly K[]): Map<K, number> => { const m = new Map<K, number>(); for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1); return m; };
  t.same(new Map(Object.entries(s.byProto)), tally(ct.map((p) => p.proto)), 'by protocol');
  const dirs = tally(ct.map((p) => p.dir));
  t.same(s.byDir, { IN: dirs.get('IN') ?? 0, OUT: dirs.get('OUT') ?? 0, SVC: dirs.get('SVC') ?? 0 }, 'by direction');
  t.equal(s.related, ct.filter((p) => p.related).length, 'related');
  t.same(new Map(Object.entries(s.byFlag)), tally(ct.flatMap((p) => p.flags)), 'by flag');
  const bounds: [string, number][] = [['10s', 10], ['1m', 60], ['5m', 300], ['1h', 3600], ['6h', 21600], ['1d', 86400]];
  const bucket = (left: number): string => (left < 0 ? 'expired' : bounds.find(([, b]) => left <= b)?.[0] ?? 'more');
  t.same(new Map(s.lifetime.filter((b) => b.count > 0).map((b) => [b.label, b.count])), tally(ct.map((p) => bucket(p.lifetime - T))), 'the lifetime histogram');
  const svc = (p: Printed): string => (p.dst.includes(':') ? `[${p.dst}]:${p.dport}` : `${p.dst}:${p.dport}`);
  const distinct = [new Set(ct.map((p) => p.src)).size, new Set(ct.map((p) => p.dst)).size, new Set(ct.map(svc)).size];
  t.equal(s.top.exact, distinct.every((d) => d <= 4096), `exact exactly when every kind of endpoint fits the 4096 counters (${distinct.join(', ')} distinct)`);
  const checkTop = (got: Top[], want: Map<string, number>, what: string): void => {
    t.equal(got.length, Math.min(5, want.size), `${what}: five endpoints`);
    // Space-Saving's bounds: each count is an upper bound at most `error` above the truth.
    t.ok(got.every((x) => { const real = want.get(x.endpoint) ?? 0; return x.count >= real && x.count - x.error <= real; }), `${what}: each count within its bounds`);
    const [first, second] = [...want].sort((a, b) => b[1] - a[1]);
    if (first !== undefined && second !== undefined && first[1] - second[1] > Math.max(0, ...got.map((x) => x.error))) t.equal(got[0]?.endpoint, first[0], `${what}: the heaviest first`);
    if (s.top.exact) t.same(got.map((x) => x.count), [...want.values()].sort((a, b) => b - a).slice(0, 5), `${what}: exact counts`);
  };
  checkTop(s.top.sources, tally(ct.map((p) => p.src)), 'sources');
  checkTop(s.top.destinations, tally(ct.map((p) => p.dst)), 'destinations');
  checkTop(s.top.services, tally(ct.map(svc)), 'destination endpoints');
  t.same(s.maps.map((m) => m.entries), CT.map((n) => rawEntries(join(root, 'tc', 'globals', n)).size), 'entries per map');
  // A filter narrows every figure; the text form carries the same numbers.
  const udp = JSON.parse(runCli(root, 'ct', 'stats', '-p', 'udp', '-o', 'json').out) as { total: number; byProto: Record<string, number> };
  t.equal(udp.total, ct.filter((p) => p.proto === 'UDP').length);
  t.same(Object.keys(udp.byProto), ['UDP']);
  const text = runCli(root, 'ct', 'stats', '--time', String(T)).out;
  t.match(text, new RegExp(`Entries: ${ct.length}\\n  by protocol:  TCP ${s.byProto.TCP ?? 0}, `));
  t.match(text, /Top sources:\n {2}\S+ +\d+\n/);

  // NAT: port usage from the RevSNAT lines (remote D:d -> external X:p).
  const nat = lines(runCli(root, 'nat', 'list').out).map((l) => parsePrinted(l, 'nat'));
  const n = JSON.parse(runCli(root, 'nat', 'stats', '-o', 'json').out) as { total: number; byDir: Record<string, number>; byProto: Record<string, number>; snat: { external: string; proto: string; mappings: number; ports: number; rangeSize: number; busiest?: { remote: string; ports: number } }[] };
  t.equal(n.total, nat.length);
  t.same(n.byDir, { IN: nat.filter((p) => p.dir === 'IN').length, OUT: nat.filter((p) => p.dir === 'OUT').length });
  t.same(new Map(Object.entries(n.byProto)), tally(nat.map((p) => p.proto)));
  const groups = new Map<string, { mappings: number; ports: Set<number>; remotes: Map<string, number> }>();
  for (const p of nat.filter((x) => x.dir === 'IN')) {
    const k = `${p.dst} ${p.proto}`;
    const g = groups.get(k) ?? { mappings: 0, ports: new Set<number>(), remotes: new Map<string, number>() };
    g.mappings++;
    g.ports.add(p.dport);
    const remote = p.src.includes(':') ? `[${p.src}]:${p.sport}` : `${p.src}:${p.sport}`;
    g.remotes.set(remote, (g.remotes.get(remote) ?? 0) + 1);
    groups.set(k, g);
  }
  t.equal(n.snat.length, groups.size, 'one row per external address and protocol');
  for (const u of n.snat) {
    const g = groups.get(`${u.external} ${u.proto}`);
    t.equal(u.mappings, g?.mappings, `${u.external} ${u.proto}: mappings`);
    t.equal(u.ports, g?.ports.size, `${u.external} ${u.proto}: distinct ports`);
    t.equal(u.rangeSize, u.proto.startsWith('ICMP') ? 65536 : 32768);
    t.equal(u.busiest?.ports, Math.max(...(g?.remotes.values() ?? [0])), `${u.external} ${u.proto}: the busiest remote's ports`);
    t.equal(g?.remotes.get(u.busiest?.remote ?? ''), u.busiest?.ports);
  }
  t.ok(inPrefix('192.0.2.10', '192.0.2.0/24') && n.snat.some((u) => u.external === '192.0.2.10'), 'the node address is the external address');
  t.match(runCli(root, 'nat', 'stats').out, /SNAT ports by external address:\n {2}ADDRESS +PROTO +MAPPINGS +PORTS +RANGE +BUSIEST REMOTE +ITS PORTS\n/);
  t.match(runCli(root, 'nat', 'stats', '--port-range', '9-1').err, /invalid --port-range "9-1"/);
  t.match(runCli(root, 'ct', 'stats', '--top', '0').err, /invalid --top "0"/);
});
