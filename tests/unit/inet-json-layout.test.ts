// Pure building blocks: address text (Go netip rules), protocol names, the
// Go-compatible JSON codec, and the layout module's C ABI rules.
import t from 'tap';
import {
  parseIPv4, parseIPv6, parseAddr, formatIPv6, formatIPv4, formatAddr, protoName, parseProto, swap16,
} from '../../src/structs/inet.js';
import { marshalIndent, parseJSON, JsonSyntaxError } from '../../src/structs/json.js';
import { array, bytes, pad, struct, u16, u32, u64, u8, i32 } from '../../src/structs/layout.js';
import { rng } from '../helpers/rng.js';

t.test('IPv6 text is RFC 5952 as Go netip prints it', async (t) => {
  const cases: [string, string][] = [
    ['::', '::'], ['::1', '::1'], ['1::', '1::'], ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'], ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'], ['::ffff:0102:0304', '::ffff:1.2.3.4'], ['::1.2.3.4', '::102:304'],
    ['FE80::ABCD', 'fe80::abcd'], ['1:0:0:2:0:0:0:3', '1:0:0:2::3'], ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'],
    ['0:0:1:0:0:0:0:0', '0:0:1::'], ['64:ff9b::10.0.0.1', '64:ff9b::a00:1'],
  ];
  for (const [input, want] of cases) t.equal(formatIPv6(parseIPv6(input)), want, input);
  t.equal(formatIPv4(parseIPv4('192.168.0.1')), '192.168.0.1');
  t.equal(formatAddr(parseAddr('10.1.2.3')), '10.1.2.3');
  t.equal(formatAddr(parseAddr('f00d::1')), 'f00d::1');
  t.throws(() => formatAddr(new Uint8Array(5)), /4 or 16 bytes/);
});

t.test('address parse errors', async (t) => {
  const bad4 = ['', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.256', '1..3.4', 'a.b.c.d', '1.2.3.'];
  for (const s of bad4) t.throws(() => parseIPv4(s), /ParseAddr/, `v4 ${JSON.stringify(s)}`);
  const bad6 = ['', ':', ':::', '1:2', '1::2::3', '12345::', 'fe80::1%eth0', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8::', '::ffff:1.2.3', 'g::1', '1:', '1:2:3:4:5:6:1.2.3.4:5', '1.2.3.4::', '1:2:3:4:5:6:7:1.2.3.4'];
  for (const s of bad6) t.throws(() => parseIPv6(s), /ParseAddr/, `v6 ${JSON.stringify(s)}`);
  t.throws(() => parseAddr('nonsense'), /unable to parse IP/);
  t.throws(() => parseAddr(''), /empty string/);
  t.throws(() => parseAddr(5 as never), /expected an address string/);
  t.throws(() => parseIPv4(5 as never), /expected an IPv4/);
  t.throws(() => parseIPv6(5 as never), /expected an IPv6/);
});

t.test('IPv6 text round-trips for random addresses', async (t) => {
  const r = rng(6);
  let bad = 0;
  for (let i = 0; i < 20_000; i++) {
    const b = r.bytes(16);
    // Bias towards zero runs, the interesting case for '::'.
    for (let g = 0; g < 8; g++) if (r.int(3) === 0) { b[g * 2] = 0; b[g * 2 + 1] = 0; }
    const back = parseIPv6(formatIPv6(b));
    if (Buffer.compare(Buffer.from(back), Buffer.from(b)) !== 0) bad++;
  }
  t.equal(bad, 0);
});

t.test('protocol names', async (t) => {
  t.equal(protoName(6), 'TCP');
  t.equal(protoName(58), 'ICMPv6');
  t.equal(protoName(132), 'SCTP');
  t.equal(protoName(99), '99');
  t.equal(parseProto('udp'), 17);
  t.equal(parseProto('icmpv6'), 58);
  t.equal(parseProto('47'), 47);
  t.equal(parseProto(0), 0);
  t.throws(() => parseProto('bogus'), /unknown protocol/);
  t.throws(() => parseProto(-1), /out of range/);
  t.throws(() => parseProto(null as never), /name or a number/);
  t.equal(swap16(0x5000), 80);
  t.equal(swap16(swap16(0xabcd)), 0xabcd);
});

t.test('Go JSON marshal and exact parse', async (t) => {
  t.equal(marshalIndent({ a: [1, 2], b: {}, c: [], d: 'x<y>&"\n\u2028', e: null, f: true, g: 18446744073709551615n }),
    '{\n  "a": [\n    1,\n    2\n  ],\n  "b": {},\n  "c": [],\n  "d": "x\\u003cy\\u003e\\u0026\\"\\n\\u2028",\n  "e": null,\n  "f": true,\n  "g": 18446744073709551615\n}');
  t.throws(() => marshalIndent(NaN), /unsupported value/);
  t.same(parseJSON('{"a":[1,-2.5e3,18446744073709551615,9007199254740991],"b":"\\u0041\\n","c":[true,false,null]}'),
    { a: [1, -2500, 18446744073709551615n, 9007199254740991], b: 'A\n', c: [true, false, null] });
  const bad = ['', '{', '[1,]', '{"a":1,}', '01', '"\\x"', '"abc', '[1 2]', 'tru', '{"a" 1}', '{1:2}', '"\u0001"', '1 2', '"\\u12"'];
  for (const s of bad) t.throws(() => parseJSON(s), JsonSyntaxError, JSON.stringify(s));
  t.throws(() => parseJSON('['.repeat(100) + ']'.repeat(100)), /nesting too deep/);
  t.throws(() => parseJSON(5 as never), /expected a string/);
  t.same(parseJSON('{"__proto__": 1}'), JSON.parse('{"__proto__": 1}'), '__proto__ is an ordinary key');
});

t.test('JSON parser fuzz: random input never escapes as anything but a JsonSyntaxError', async (t) => {
  const r = rng(0xf022);
  const alphabet = '{}[],:"\\-+.eE0123456789 truefalsn\n\tu';
  let other = 0;
  let parsed = 0;
  for (let i = 0; i < 100_000; i++) {
    const n = 1 + r.int(24);
    let s = '';
    for (let j = 0; j < n; j++) s += alphabet.charAt(r.int(alphabet.length));
    try {
      parseJSON(s);
      parsed++;
    } catch (err) {
      if (!(err instanceof JsonSyntaxError)) other++;
    }
  }
  t.equal(other, 0, '100000 random inputs');
  t.ok(parsed > 0, `${parsed} of them were valid JSON`);
});

t.test('layout module follows the C ABI', async (t) => {
  const s = struct('s', { a: u8, b: u32, c: u16, d: u64 });
  t.same([s.offsetOf.a, s.offsetOf.b, s.offsetOf.c, s.offsetOf.d], [0, 4, 8, 16]);
  t.equal(s.size, 24);
  t.equal(s.end, 24);
  const p = struct('p', { a: u8, b: u32, c: u16 }, { packed: true });
  t.same([p.offsetOf.b, p.offsetOf.c, p.size, p.align], [1, 5, 7, 1]);
  const e = struct('e', { a: u64, b: u8 });
  t.same([e.end, e.size], [9, 16], 'size rounds up to alignment; end is offsetofend');
  const al = struct('al', { a: u8 }, { align: 8 });
  t.equal(al.size, 8);
  const n = struct('n', { x: u8, inner: s });
  t.equal(n.offsetOf.inner, 8, 'nested struct aligned to its widest member');
  const v = s.from({ a: 1, d: 5n });
  t.same(v, { a: 1, b: 0, c: 0, d: 5n });
  const buf = s.encode(v);
  t.same(s.decode(buf), v);
  t.throws(() => s.decode(new Uint8Array(23)), /need 24 bytes/);
  t.throws(() => s.encode(v, new Uint8Array(10)), /need 24 bytes/);
  t.throws(() => s.from({ zz: 1 } as never), /unknown field "zz"/);
  t.throws(() => s.check(null, 's'), /expected an object/);
  const w = struct('w', { a: array(u16, 3), b: bytes(2), _p: pad(2), c: i32 });
  const wv = w.from({ a: [1, 2, 3], b: new Uint8Array([9, 8]), c: -5 });
  t.same(w.decode(w.encode(wv)), wv);
  t.throws(() => w.from({ a: [1, 2] }), /expected 3 elements/);
  t.throws(() => w.from({ a: 5 }), /expected an array/);
  t.throws(() => w.from({ b: new Uint8Array(3) }), /expected 2 bytes/);
  t.throws(() => w.from({ b: [1, 2] }), /expected a Uint8Array/);
  t.throws(() => w.from({ c: 2 ** 31 }), /out of range for i32/);
  t.throws(() => w.from({ _p: 1 }), /unknown field "_p"/);
  t.throws(() => u64.check('1', 'x'), /expected a bigint/);
  t.equal(u64.check(5, 'x'), 5n, 'safe integer numbers are accepted for u64');
  t.same(w.zero(), { a: [0, 0, 0], b: new Uint8Array(2), c: 0 });
});
