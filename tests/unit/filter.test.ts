// Flow filters (src/structs/filter.ts) against a reference that reads the printed text: 10,000 random maps,
// CT and NAT, both families, one random filter each. The reference knows nothing of key layouts: it parses
// the `ct list` / `nat list` line and checks addresses with Node's net.BlockList.
import t from 'tap';
import { compileFilter, CheckedFilter, matchAll, matchNone, printedView, type FlowFilter, type PrintedView } from '../../src/structs/filter.js';
import { ctLine } from '../../src/ctmap/text.js';
import { natLine } from '../../src/nat/natmap.js';
import { NatKey4, NatKey6 } from '../../src/structs/tuple.js';
import { NatEntry4, NatEntry6 } from '../../src/structs/natentry.js';
import { rng, type Rng } from '../helpers/rng.js';
import { parsePrinted as parse, protoText, referenceMatch as reference } from '../helpers/flowref.js';

const v4Pool = ['10.0.0.1', '10.0.0.2', '10.0.1.7', '192.168.3.4', '8.8.8.8', '10.0.0.129'];
const v6Pool = ['fd00::1', 'fd00::2', 'fd00::1:7', '2001:db8::8', 'fd00::ff:1'];
const ports = [0, 53, 80, 443, 8080, 40000, 65535];
const protos = [6, 17, 1, 58, 132, 6, 17, 99];
const flagNames = ['RxClosing', 'TxClosing', 'Nat64', 'LBLoopback', 'SeenNonSyn', 'NodePort', 'ProxyRedirect', 'DSRInternal', 'FromL7LB', 'FromTunnel'];
const T = 1000;

function addrBytes(s: string): number[] {
  if (s.includes('.')) return s.split('.').map(Number);
  const [head = '', tail = ''] = s.split('::');
  const h = head === '' ? [] : head.split(':');
  const tl = tail === '' ? [] : tail.split(':');
  const groups = [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl].map((g) => parseInt(g, 16));
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

function pick<T>(r: Rng, a: readonly T[]): T {
  return a[r.int(a.length)] as T;
}

/** A random key and value of a family (14/38-byte key; CT value 56 bytes, NAT value 40/56). */
function entry(r: Rng, v4: boolean, kind: 'ct' | 'nat'): { key: Uint8Array; value: Uint8Array } {
  const a = v4 ? 4 : 16;
  const key = new Uint8Array(v4 ? 14 : 38);
  key.set(addrBytes(pick(r, v4 ? v4Pool : v6Pool)), 0);
  key.set(addrBytes(pick(r, v4 ? v4Pool : v6Pool)), a);
  const dv = new DataView(key.buffer);
  dv.setUint16(2 * a, pick(r, ports));
  dv.setUint16(2 * a + 2, pick(r, ports));
  key[2 * a + 4] = pick(r, protos);
  key[2 * a + 5] = r.int(8);
  const value = new Uint8Array(kind === 'ct' ? 56 : v4 ? 40 : 56);
  const vv = new DataView(value.buffer);
  if (kind === 'ct') {
    vv.setUint32(32, T - 5 + r.int(10), true);
    vv.setUint16(36, r.int(0x800), true);
  } else {
    value.set(addrBytes(pick(r, v4 ? v4Pool : v6Pool)), 32);
    vv.setUint16(32 + a, pick(r, ports));
  }
  return { key, value };
}

function randomFilter(r: Rng, v4: boolean, kind: 'ct' | 'nat'): FlowFilter {
  const f: Record<string, unknown> = {};
  const fam = r.int(10) === 0 ? !v4 : v4;
  const addr = (): string => {
    const a = pick(r, fam ? v4Pool : v6Pool);
    if (r.int(2) === 0) return a;
    return `${a}/${r.int(fam ? 33 : 129)}`;
  };
  if (r.int(3) === 0) f.src = addr();
  if (r.int(3) === 0) f.dst = addr();
  if (r.int(3) === 0) f.sport = pick(r, ports);
  if (r.int(3) === 0) f.dport = pick(r, ports);
  if (r.int(3) === 0) {
    const p = pick(r, [1, 6, 17, 58, 132]);
    const name = protoText[p] ?? '';
    f.proto = r.int(3) === 0 ? p : r.int(2) === 0 ? name.toUpperCase() : name;
  }
  if (r.int(3) === 0) f.dir = pick(r, kind === 'ct' ? ['IN', 'OUT', 'SVC', 'RELATED', 'in', 'out'] : ['IN', 'OUT', 'RELATED', 'in']);
  if (r.int(5) === 0) f.related = r.int(2) === 0;
  if (kind === 'ct') {
    if (r.int(4) === 0) f.flags = r.int(2) === 0 ? pick(r, flagNames) : [pick(r, flagNames), pick(r, flagNames).toLowerCase()];
    const when = r.int(8);
    if (when === 0) f.expiredAt = T - 3 + r.int(6);
    else if (when === 1) f.aliveAt = T - 3 + r.int(6);
  }
  return f;
}

function text(kind: 'ct' | 'nat', v4: boolean, key: Uint8Array, value: Uint8Array): string | undefined {
  if (kind === 'ct') return ctLine(key, 0, value, 0, v4);
  const k = v4 ? new NatKey4(key) : new NatKey6(key);
  const e = v4 ? new NatEntry4(value) : new NatEntry6(value);
  return natLine(k, e, () => '0sec ago');
}

t.test('10,000 random maps: the compiled filter decides each entry as the printed text says', async (t) => {
  const r = rng(1515);
  let maps = 0;
  let decided = 0;
  let matched = 0;
  let mismatches = 0;
  const firstMismatches: string[] = [];
  for (; maps < 10000; maps++) {
    const kind = r.int(3) === 0 ? 'nat' : 'ct';
    const v4 = r.int(2) === 0;
    const f = randomFilter(r, v4, kind);
    const match = compileFilter(f, kind, v4 ? 4 : 6);
    const n = 1 + r.int(24);
    for (let i = 0; i < n; i++) {
      const { key, value } = entry(r, v4, kind);
      const line = text(kind, v4, key, value);
      // Lines Go would not print (next header 0) never reach a listing.
      if (line === undefined) continue;
      const want = reference(parse(line, kind), f);
      const got = match(key, 0, value, 0);
      decided++;
      if (got) matched++;
      if (got !== want) {
        mismatches++;
        if (firstMismatches.length < 5) firstMismatches.push(`${JSON.stringify(f)} on ${line.trimEnd()}: filter ${got}, reference ${want}`);
      }
    }
  }
  t.equal(mismatches, 0, firstMismatches.join('\n'));
  t.ok(decided > 100000, `${decided} entries decided`);
  // Neither side trivially true nor trivially false.
  t.ok(matched > decided * 0.05 && matched < decided * 0.95, `${matched} of ${decided} matched`);
});

t.test('the printed view: CT SVC, other CT entries and NAT entries read their fields from different offsets', async (t) => {
  const at: PrintedView = { src: -1, dst: -1, sport: -1, dport: -1 };
  const key = new Uint8Array(14);
  key[13] = 4; // SVC
  printedView('ct', 4)(key, 0, at);
  t.same(at, { src: 4, dst: 0, sport: 8, dport: 10 }, 'SVC: saddr:dport -> daddr:sport');
  key[13] = 1;
  printedView('ct', 4)(key, 100, at);
  t.same(at, { src: 100, dst: 104, sport: 110, dport: 108 }, 'IN/OUT: daddr:sport -> saddr:dport, at the key offset');
  printedView('nat', 6)(new Uint8Array(38), 0, at);
  t.same(at, { src: 16, dst: 0, sport: 34, dport: 32 }, 'NAT: saddr:sport -> daddr:dport');
});

t.test('checked filters: what is refused, and what matches everything or nothing', async (t) => {
  t.equal(compileFilter(undefined, 'ct', 4), matchAll);
  t.equal(compileFilter({ limit: 3 }, 'ct', 4), matchAll, 'a limit alone matches every entry');
  t.equal(compileFilter({ src: 'fd00::1' }, 'ct', 4), matchNone, 'an address of the other family matches nothing');
  t.equal(compileFilter({ dst: '10.0.0.0/8' }, 'nat', 6), matchNone);
  t.throws(() => compileFilter({ flags: 'SeenNonSyn' }, 'nat', 4), /flags apply to CT entries only/);
  t.throws(() => compileFilter({ expiredAt: 5, aliveAt: 1 }, 'nat', 4), /expiredAt, aliveAt apply to CT entries only/);
  const bad: [unknown, RegExp][] = [
    [null, /filter must be an object/], [{ port: 80 }, /unknown field "port"/], [{ src: 5 }, /filter.src must be an address or CIDR string/],
    [{ src: '10.0.0.1/33' }, /filter.src/], [{ dst: 'host' }, /filter.dst/], [{ sport: 65536 }, /filter.sport: 65536 is out of range/],
    [{ dport: 1.5 }, /filter.dport must be an integer/], [{ proto: 'tcpx' }, /filter.proto: unknown protocol "tcpx"/],
    [{ proto: 256 }, /out of range/], [{ dir: 'UP' }, /filter.dir must be IN, OUT, SVC or RELATED/], [{ related: 'yes' }, /filter.related must be a boolean/],
    [{ flags: [] }, /filter.flags must be flag names/], [{ flags: 'Bogus' }, /unknown CT flag "Bogus"/], [{ limit: 0 }, /limit must be at least 1/],
    [{ expiredAt: -1 }, /out of range/], [{ aliveAt: 2 ** 32 }, /out of range/],
  ];
  for (const [f, re] of bad) t.throws(() => new CheckedFilter(f as FlowFilter), re, JSON.stringify(f));
  const c = new CheckedFilter({ src: '10.0.0.0/8', limit: 5 });
  t.equal(c.withLimit(2).limit, 2);
  t.equal(c.withLimit(undefined).limit, undefined);
  t.equal(c.withLimit(2).src?.bits, 8, 'the rest of the filter is kept');
  t.same(c.source, { src: '10.0.0.0/8', limit: 5 });
  t.ok(Object.isFrozen(c));
});
