// src/structs/natentry.ts, exactly: every field at its offset, setters, copies, text and JSON forms, and the
// message of every refusal. The mutation run (make mutation, mutation/guards.mjs) holds this file to it.
import t from 'tap';
import { inspect } from 'node:util';
import { NatEntry4, NatEntry6, ipv4NatEntry, ipv6NatEntry, rawCreated, SizeofNatEntry4, SizeofNatEntry6 } from '../../src/structs/natentry.js';

t.test('layouts: struct names, sizes and every offset', async (t) => {
  t.equal(ipv4NatEntry.name, 'ipv4_nat_entry');
  t.equal(ipv6NatEntry.name, 'ipv6_nat_entry');
  t.same([SizeofNatEntry4, SizeofNatEntry6, NatEntry4.size, NatEntry6.size], [40, 56, 40, 56]);
  t.same(ipv4NatEntry.offsetOf, { created: 0, needs_ct: 8, pad1: 16, pad2: 24, addr: 32, port: 36, _pad: 38 });
  t.same(ipv6NatEntry.offsetOf, { created: 0, needs_ct: 8, pad1: 16, pad2: 24, addr: 32, port: 48, _pad: 50 });
});

t.test('fields land at their offsets, little-endian, the port raw', async (t) => {
  const e = new NatEntry4({ created: 0x0102030405060708n, needsCT: 1n, pad1: 2n, pad2: 3n, addr: '10.1.2.3', port: 0x1f90 });
  const dv = new DataView(e.raw.buffer);
  t.equal(dv.getBigUint64(0, true), 0x0102030405060708n);
  t.equal(dv.getBigUint64(8, true), 1n);
  t.equal(dv.getBigUint64(16, true), 2n);
  t.equal(dv.getBigUint64(24, true), 3n);
  t.same([...e.raw.subarray(32, 36)], [10, 1, 2, 3]);
  t.equal(dv.getUint16(36, true), 0x1f90);
  t.same([...e.raw.subarray(38)], [0, 0]);
  t.same(e.toFields(), { created: 0x0102030405060708n, needsCT: 1n, pad1: 2n, pad2: 3n, addr: '10.1.2.3', port: 0x1f90 });
  t.same([...e.addrBytes], [10, 1, 2, 3]);
  const six = new NatEntry6({ addr: 'fd00::1', port: 1, needsCT: 0n });
  t.same([...six.raw.subarray(32, 48)], [0xfd, 0, ...Array<number>(13).fill(0), 1]);
  t.equal(new DataView(six.raw.buffer).getUint16(48, true), 1);
  t.equal(six.addr, 'fd00::1');
  t.equal(new NatEntry6({ addr: Uint8Array.from({ length: 16 }, (_, i) => i) }).addr, '1:203:405:607:809:a0b:c0d:e0f');
  t.same(new NatEntry4().raw, new Uint8Array(40), 'no fields: all zero');
  t.equal(new NatEntry4({ needsCT: 5n }).needsCT, 5n, 'needsCT given alone');
  t.equal(new NatEntry4({ addr: '1.2.3.4' }).needsCT, 0n, 'needsCT not given stays 0');
});

t.test('setters write their field and check it', async (t) => {
  const e = new NatEntry4();
  e.created = 7n;
  e.needsCT = 1n;
  e.port = 0xabcd;
  t.same([e.created, e.needsCT, e.port], [7n, 1n, 0xabcd]);
  t.equal(new DataView(e.raw.buffer).getBigUint64(0, true), 7n);
  t.equal(new DataView(e.raw.buffer).getBigUint64(8, true), 1n);
  t.throws(() => { e.created = -1n; }, { name: 'RangeError', message: 'created: -1 is out of range for u64 (0..18446744073709551615)' });
  t.throws(() => { e.needsCT = 1.5 as unknown as bigint; }, { message: 'needsCT: expected a bigint (u64), got 1.5' });
  t.throws(() => { e.port = 65536; }, { message: 'port: 65536 is out of range for u16 (0..65535)' });
  const six = new NatEntry6();
  six.port = 2;
  t.equal(new DataView(six.raw.buffer).getUint16(48, true), 2, 'the v6 port sits at 48');
});

t.test('copies: toBytes, fromBytes and toHost do not share bytes; a Uint8Array given is the entry', async (t) => {
  const e = new NatEntry4({ port: 0x1234, addr: '1.2.3.4' });
  const b = e.toBytes();
  b[36] = 0;
  t.equal(e.port, 0x1234, 'toBytes is a copy');
  const f = NatEntry4.fromBytes(e.raw);
  f.port = 1;
  t.equal(e.port, 0x1234, 'fromBytes copies');
  const h = e.toHost();
  t.equal(h.port, 0x3412, 'toHost swaps the port');
  t.equal(h.addr, '1.2.3.4', 'and nothing else');
  h.port = 9;
  t.equal(e.port, 0x1234, 'toHost is a copy');
  t.equal(new NatEntry6({ port: 0x0102 }).toHost().port, 0x0201);
  const raw = new Uint8Array(40);
  const shared = new NatEntry4(raw);
  shared.port = 3;
  t.equal(new DataView(raw.buffer).getUint16(36, true), 3, 'constructed over bytes: a view of them');
});

t.test('text: String(), Dump (SRC/DST by the key, brackets for v6), inspect', async (t) => {
  const e = new NatEntry4({ addr: '10.0.0.1', port: 0x5000, created: 12n, needsCT: 1n });
  t.equal(e.toString(), 'Addr=10.0.0.1 Port=20480 Created=12 NeedsCT=1\n');
  t.equal(e.toHost().dump({ flags: 0 }), 'XLATE_SRC 10.0.0.1:80 Created=? (raw 12) NeedsCT=1\n');
  t.equal(e.toHost().dump({ flags: 1 }, (c) => `${c}s`), 'XLATE_DST 10.0.0.1:80 Created=12s NeedsCT=1\n');
  t.equal(e.toHost().dump({ flags: 3 }), 'XLATE_DST 10.0.0.1:80 Created=? (raw 12) NeedsCT=1\n', 'IN with RELATED is still DST');
  t.equal(new NatEntry6({ addr: 'fd00::2', port: 0x5000 }).toHost().dump({ flags: 2 }), 'XLATE_SRC [fd00::2]:80 Created=? (raw 0) NeedsCT=0\n');
  t.equal(rawCreated(5n), '? (raw 5)');
  t.equal(inspect(e), 'NatEntry4 Addr=10.0.0.1 Port=20480 Created=12 NeedsCT=1');
  t.equal(inspect(new NatEntry6()), 'NatEntry6 Addr=:: Port=0 Created=0 NeedsCT=0');
});

t.test('JSON: Go\'s shape, u64 exact through toGoJSON, decimal strings beyond 2^53 through toJSON, and back', async (t) => {
  const big = 2n ** 60n + 1n;
  const e = new NatEntry4({ addr: '1.2.3.4', port: 7, created: big, needsCT: 1n, pad1: 2n, pad2: 3n });
  t.same(e.toGoJSON(), { Created: big, NeedsCT: 1n, Pad1: 2n, Pad2: 3n, Addr: [1, 2, 3, 4], Port: 7 });
  t.same(e.toJSON(), { Created: big.toString(), NeedsCT: 1, Pad1: 2, Pad2: 3, Addr: [1, 2, 3, 4], Port: 7 });
  t.same(NatEntry4.fromJSON(e.toJSON()).raw, e.raw);
  t.same(NatEntry4.fromJSON(e.toGoJSON()).raw, e.raw);
  const six = new NatEntry6({ addr: 'fd00::9', port: 1 });
  t.same(NatEntry6.fromJSON(JSON.parse(JSON.stringify(six))).raw, six.raw);
  const ok = { Created: 0, NeedsCT: 0, Pad1: 0, Pad2: 0, Addr: [0, 0, 0, 0], Port: 0 };
  const bad: [unknown, string][] = [
    [null, 'NatEntry4: expected a JSON object, got null'], [[1], 'NatEntry4: expected a JSON object, got array(1)'],
    ['x', 'NatEntry4: expected a JSON object, got "x"'], [{ ...ok, Extra: 1 }, 'NatEntry4: unknown field "Extra"'],
    [{ ...ok, Created: -1 }, 'NatEntry4.Created: -1 is out of range for u64'], [{ ...ok, NeedsCT: 'x' }, 'NatEntry4.NeedsCT: expected an unsigned integer, got string'],
    [{ ...ok, Pad1: undefined }, 'NatEntry4.Pad1: expected an unsigned integer, got nothing'], [{ ...ok, Pad2: 1.5 }, 'NatEntry4.Pad2: expected an unsigned integer, got number'],
    [{ ...ok, Addr: [1, 2, 3] }, 'NatEntry4.Addr: expected 4 numbers, got 3'], [{ ...ok, Port: 65536 }, 'NatEntry4.Port: 65536 is out of range (0..65535)'],
  ];
  for (const [v, msg] of bad) t.throws(() => NatEntry4.fromJSON(v), { message: msg }, msg);
  t.throws(() => NatEntry6.fromJSON({ ...ok }), { message: 'NatEntry6.Addr: expected 16 numbers, got 4' });
  t.throws(() => NatEntry6.fromJSON(5), { message: 'NatEntry6: expected a JSON object, got 5' });
});

t.test('bad input: the message names the class and field, and nothing is built', async (t) => {
  const bad: [() => unknown, RegExp | string][] = [
    [() => new NatEntry4(new Uint8Array(39)), 'NatEntry4: expected 40 bytes, got 39'],
    [() => new NatEntry6(new Uint8Array(40)), 'NatEntry6: expected 56 bytes, got 40'],
    [() => new NatEntry4(5 as never), 'NatEntry4: expected an object of fields, got 5'],
    [() => new NatEntry6(null as never), 'NatEntry6: expected an object of fields, got null'],
    [() => new NatEntry4({ addr: 'fd00::1' }), 'NatEntry4.addr: "fd00::1" is not an IPv4 address'],
    [() => new NatEntry6({ addr: '1.2.3.4' }), 'NatEntry6.addr: "1.2.3.4" is not an IPv6 address'],
    [() => new NatEntry4({ addr: new Uint8Array(5) }), /NatEntry4\.addr: expected 4 bytes, got 5/],
    [() => new NatEntry6({ addr: new Uint8Array(17) }), /NatEntry6\.addr: expected 16 bytes, got 17/],
    [() => new NatEntry4({ port: 70000 }), 'NatEntry4.port: 70000 is out of range for u16 (0..65535)'],
    [() => new NatEntry4({ _pad: [0, 0] } as never), 'NatEntry4: unknown field "_pad"'],
    [() => new NatEntry4({ needs_ct: 1n } as never), 'NatEntry4: unknown field "needs_ct" (write needsCT)'],
    [() => new NatEntry4({ bogus: 1 } as never), 'NatEntry4: unknown field "bogus"'],
    [() => NatEntry4.fromBytes(new Uint8Array(41)), 'NatEntry4.fromBytes: expected 40 bytes, got 41'],
    [() => NatEntry6.fromBytes([1, 2] as never), 'NatEntry6.fromBytes: expected a Uint8Array, got array(2)'],
  ];
  for (const [fn, msg] of bad) t.throws(fn, typeof msg === 'string' ? { message: msg } : msg, String(msg));
});
