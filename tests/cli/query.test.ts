// `ctmap ct list|count` and `nat list` with filters, and `ct get`, run as the built binary on maps the datapath
// emulator and bpftool wrote. Every filter is held to the text reference (tests/helpers/flowref.ts) over the
// unfiltered listing of the same bytes; `ct get` to the exact line and the NAT entries an independent
// ownership oracle (tests/helpers/recorded.ts) gives.
import t from 'tap';
import { join } from 'node:path';
import { populateDemoNode } from '../../src/testing/node.js';
import type { FlowFilter } from '../../src/structs/filter.js';
import { requirePrivileged, privateBpffs } from '../helpers/priv.js';
import { bpftoolBatchUpdate } from '../helpers/bpftool.js';
import { rng, type Rng } from '../helpers/rng.js';
import { parsePrinted, referenceMatch } from '../helpers/flowref.js';
import { runCli, rawEntries, hex } from '../helpers/clirun.js';
import { ownerOf } from '../helpers/recorded.js';
import type { Test } from 'tap';

const T = 100000;

/** A demo node (7,000 emulated connections) plus random entries bpftool writes: every flag, SVC, related, odd protocols. */
function node(t: Test): string {
  const root = privateBpffs(t);
  populateDemoNode({ bpffs: root }).close();
  const g = join(root, 'tc', 'globals');
  const r = rng(4242);
  const entries: [string, Uint8Array, Uint8Array][] = [];
  for (let i = 0; i < 400; i++) {
    const v4 = r.int(3) !== 0;
    const a = v4 ? 4 : 16;
    const key = new Uint8Array(v4 ? 14 : 38);
    key.set(v4 ? [10, 9, r.int(4), 1 + r.int(8)] : [0xfd, 0, ...Array<number>(13).fill(0), 1 + r.int(8)], 0);
    key.set(v4 ? [172, 16, 0, 1 + r.int(8)] : [0x20, 0x01, 0x0d, 0xb8, ...Array<number>(11).fill(0), 1 + r.int(8)], a);
    const dv = new DataView(key.buffer);
    dv.setUint16(2 * a, [80, 443, 53, 8080][r.int(4)] ?? 80);
    dv.setUint16(2 * a + 2, 30000 + r.int(100));
    const tcp = r.int(2) === 0;
    key[2 * a + 4] = tcp ? 6 : ([17, 1, 132, 58][r.int(4)] ?? 17);
    key[2 * a + 5] = r.int(8);
    const value = new Uint8Array(56);
    const vv = new DataView(value.buffer);
    vv.setUint32(32, T - 100 + r.int(200), true);
    vv.setUint16(36, r.int(0x800), true);
    entries.push([join(g, `cilium_ct${tcp ? '' : '_any'}${v4 ? 4 : 6}_global`), key, value]);
  }
  bpftoolBatchUpdate(entries);
  return root;
}

function randomFilter(r: Rng, kind: 'ct' | 'nat'): FlowFilter {
  const f: Record<string, unknown> = {};
  const addrs = ['10.0.1.0/24', '10.0.0.0/8', '8.8.8.8', '192.0.2.10', '10.9.0.0/16', '172.16.0.3', 'fd00::/8', '2001:db8::/32', 'fd00::1:5', '10.96.0.10'];
  if (r.int(3) === 0) f.src = addrs[r.int(addrs.length)];
  if (r.int(3) === 0) f.dst = addrs[r.int(addrs.length)];
  if (r.int(4) === 0) f.sport = [53, 80, 443, 30007][r.int(4)];
  if (r.int(3) === 0) f.dport = [53, 80, 443, 8443, 8080][r.int(5)];
  if (r.int(3) === 0) f.proto = ['tcp', 'UDP', 'icmp', 'Sctp', 'ICMPv6'][r.int(5)];
  if (r.int(3) === 0) f.dir = (kind === 'ct' ? ['IN', 'OUT', 'SVC', 'RELATED', 'out'] : ['IN', 'OUT'])[r.int(kind === 'ct' ? 5 : 2)];
  if (r.int(6) === 0) f.related = true;
  if (kind === 'ct') {
    if (r.int(4) === 0) f.flags = ['SeenNonSyn', 'DSRInternal', 'NodePort', 'RxClosing,TxClosing'][r.int(4)];
    if (r.int(4) === 0) f.expiredAt = T - 50 + r.int(100);
    else if (r.int(5) === 0) f.aliveAt = T - 50 + r.int(100);
  }
  return f;
}

/** The CLI flags for a filter (expired/alive at --time). */
function flags(f: FlowFilter): string[] {
  const a: string[] = [];
  if (f.src !== undefined) a.push('--src', f.src);
  if (f.dst !== undefined) a.push('--dst', f.dst);
  if (f.sport !== undefined) a.push('--sport', String(f.sport));
  if (f.dport !== undefined) a.push('--dport', String(f.dport));
  if (f.proto !== undefined) a.push('-p', String(f.proto));
  if (f.dir !== undefined) a.push('--dir', f.dir);
  if (f.related === true) a.push('--related');
  if (f.flags !== undefined) a.push('--flags', typeof f.flags === 'string' ? f.flags : f.flags.join(','));
  if (f.expiredAt !== undefined) a.push('--expired', '--time', String(f.expiredAt));
  if (f.aliveAt !== undefined) a.push('--alive', '--time', String(f.aliveAt));
  return a;
}

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');
/** NAT lines show Created relative to now; two runs a second apart differ there only. */
const natLinesOf = (s: string): string[] => lines(s).map((l) => l.replace(/Created=\S+( sec ago|sec ago)?/, 'Created=…'));

t.test('filters on ct list, ct count and nat list = the text reference over the unfiltered listing', async (t) => {
  if (!requirePrivileged(t)) return;
  const root = node(t);
  const all = runCli(root, 'ct', 'list');
  t.equal(all.code, 0, all.err);
  const allLines = lines(all.out);
  t.ok(allLines.length > 11000, `${allLines.length} CT lines`);
  const natAll = natLinesOf(runCli(root, 'nat', 'list').out);
  const r = rng(99);
  let nonEmpty = 0;
  let cases = 0;
  // Each case spawns the CLI on an 11k-entry node; the breadth (10k random maps) is in tests/unit/filter.test.ts.
  for (let i = 0; i < 24; i++) {
    const f = randomFilter(r, 'ct');
    if (Object.keys(f).length === 0) continue;
    const want = allLines.filter((l) => referenceMatch(parsePrinted(l, 'ct'), f));
    const got = runCli(root, 'ct', 'list', ...flags(f));
    t.equal(got.code, 0, got.err);
    const gl = lines(got.out);
    if (gl.length !== want.length || gl.some((l, j) => l !== want[j])) t.fail(`ct list ${flags(f).join(' ')}: ${gl.length} lines, reference ${want.length}`);
    cases++;
    if (want.length > 0) nonEmpty++;
    if (i % 8 === 0) {
      // --limit keeps the first n, in the same order; count agrees with the listing.
      const lim = runCli(root, 'ct', 'list', ...flags(f), '--limit', '3');
      t.same(lines(lim.out), want.slice(0, 3), `--limit 3 on ${flags(f).join(' ')}`);
      const cnt = runCli(root, 'ct', 'count', ...flags(f));
      const matched = [...cnt.out.matchAll(/: (\d+) matching of (\d+) entries/g)].reduce((n, m) => n + Number(m[1]), 0);
      t.equal(matched, want.length, `ct count ${flags(f).join(' ')}`);
    }
  }
  t.ok(cases >= 20 && nonEmpty >= 8, `${cases} filters, ${nonEmpty} matching something`);
  for (let i = 0; i < 10; i++) {
    const f = randomFilter(r, 'nat');
    if (Object.keys(f).length === 0) continue;
    const want = natAll.filter((l) => referenceMatch(parsePrinted(l, 'nat'), f));
    const got = natLinesOf(runCli(root, 'nat', 'list', ...flags(f)).out);
    if (got.length !== want.length || got.some((l, j) => l !== want[j])) t.fail(`nat list ${flags(f).join(' ')}: ${got.length} lines, reference ${want.length}`);
  }
  // Machine formats list the same entries: JSON records, and a jsonpath over them.
  const f: FlowFilter = { dst: '8.8.8.8', dport: 53 };
  const want = allLines.filter((l) => referenceMatch(parsePrinted(l, 'ct'), f));
  const js = JSON.parse(runCli(root, 'ct', 'list', ...flags(f), '-o', 'json').out) as { Key: { DestPort: number } }[];
  t.equal(js.length, want.length, 'json lists the same entries');
  const jp = runCli(root, 'ct', 'list', ...flags(f), '-o', 'jsonpath={range [*]}{.Value.Lifetime}{"\\n"}{end}');
  t.same(lines(jp.out), want.map((l) => String(parsePrinted(l, 'ct').lifetime)), 'jsonpath reads each record');
  const y = runCli(root, 'ct', 'list', ...flags(f), '--limit', '1', '-o', 'yaml');
  t.match(y.out, /^- key:\n {4}tuplekey4global:\n {8}tuplekey4:\n {12}destaddr:\n/);
  t.equal((y.out.match(/^- key:/gm) ?? []).length, 1);
  // A filter that rules a map out does not print its separator line; the unfiltered listing keeps Cilium's.
  t.equal(runCli(root, 'ct', 'list', '-p', 'udp', '--dport', '99').out, '\n\n', 'the two Any maps read, nothing matched');
});

t.test('ct get: the exact entry of a pasted ct list line, and the NAT entries it owns', async (t) => {
  if (!requirePrivileged(t)) return;
  const root = node(t);
  const g = join(root, 'tc', 'globals');
  const nat = new Map([...rawEntries(join(g, 'cilium_snat_v4_external')), ...rawEntries(join(g, 'cilium_snat_v6_external'))]);
  const natLines = new Set(natLinesOf(runCli(root, 'nat', 'list').out));
  const ct = new Map<string, string>();
  for (const n of ['cilium_ct4_global', 'cilium_ct_any4_global', 'cilium_ct6_global', 'cilium_ct_any6_global']) for (const [k, v] of rawEntries(join(g, n))) ct.set(k, v);
  // Each CT key hex -> the NAT keys it owns, by the oracle.
  const ownedBy = new Map<string, string[]>();
  for (const [k, v] of nat) {
    const o = ownerOf(Buffer.from(k, 'hex'), Buffer.from(v, 'hex'));
    for (const owner of [o.ct, ...(o.dsr === undefined ? [] : [o.dsr])]) {
      if (!ct.has(owner)) continue;
      if (owner === o.dsr && ((parseInt((ct.get(owner) ?? '').slice(72, 76), 16) >> 8) & 0x80) === 0) continue;
      ownedBy.set(owner, [...(ownedBy.get(owner) ?? []), k]);
    }
  }
  const json = JSON.parse(runCli(root, 'ct', 'list', '-o', 'json').out) as unknown[];
  const all = lines(runCli(root, 'ct', 'list').out);
  t.equal(json.length, all.length);
  const r = rng(7);
  let withNat = 0;
  for (let i = 0; i < 24; i++) {
    const line = all[r.int(all.length)] ?? '';
    const p = parsePrinted(line, 'ct');
    const tokens = [p.proto, p.dir, `${p.src}:${p.sport}`, '->', `${p.dst}:${p.dport}`, ...(p.related ? ['related'] : [])];
    const got = runCli(root, 'ct', 'get', ...tokens);
    t.equal(got.code, 0, `${tokens.join(' ')}: ${got.err}`);
    const out = lines(got.out);
    t.equal(out[0], line, 'the entry, as ct list prints it');
    const natOut = natLinesOf(out.slice(1).map((l) => l.replace(/^ {2}(SNAT|RevSNAT|DSR) +/, '')).join('\n'));
    t.ok(natOut.every((l) => natLines.has(l)), 'NAT lines are nat list lines');
    // The owning key: the CT key that prints as this line (the JSON record at the same position).
    const idx = all.indexOf(line);
    const rec = json[idx] as { Key: { DestAddr: number[]; SourceAddr: number[]; DestPort: number; SourcePort: number; NextHeader: number; Flags: number } };
    const kb = [...rec.Key.DestAddr, ...rec.Key.SourceAddr];
    const key = Buffer.alloc(kb.length + 6);
    Buffer.from(kb).copy(key);
    key.writeUInt16LE(rec.Key.DestPort, kb.length);
    key.writeUInt16LE(rec.Key.SourcePort, kb.length + 2);
    key[kb.length + 4] = rec.Key.NextHeader;
    key[kb.length + 5] = rec.Key.Flags;
    const owned = p.dir === 'OUT' ? ownedBy.get(hex(key)) ?? [] : [];
    t.equal(natOut.length, owned.length, `${tokens.join(' ')}: ${owned.length} NAT entries owned`);
    if (owned.length > 0) withNat++;
  }
  t.ok(withNat >= 3, `${withNat} of the looked-up entries own NAT entries`);
  // Without a direction each of OUT, IN and SVC is looked up; JSON carries the record and its NAT pair.
  const snat = all.find((l) => l.startsWith('UDP OUT ') && l.includes(':53 ')) ?? '';
  const sp = parsePrinted(snat, 'ct');
  const j = JSON.parse(runCli(root, 'ct', 'get', 'udp', `${sp.src}:${sp.sport}`, `${sp.dst}:${sp.dport}`, '-o', 'json').out) as { entries: { map: string; record: { Value: { Lifetime: number } }; nat: { role: string }[] }[] };
  t.equal(j.entries.length, 1);
  t.equal(j.entries[0]?.record.Value.Lifetime, sp.lifetime);
  t.same(j.entries[0]?.nat.map((n) => n.role), ['SNAT', 'RevSNAT']);
  const miss = runCli(root, 'ct', 'get', 'tcp', '1.2.3.4:1', '5.6.7.8:2');
  t.equal(miss.code, 1);
  t.match(miss.err, /^Error: no CT entry for TCP 1\.2\.3\.4:1 -> 5\.6\.7\.8:2 in .*cilium_ct4_global\n$/);
  t.match(runCli(root, 'ct', 'get').err, /missing required argument 'flow'/);
});
