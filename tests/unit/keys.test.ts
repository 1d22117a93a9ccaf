// src/nat/keys.ts byte by byte: how CT keys and NAT keys derive from each other (nat-datapath.md §3.4, §7, §8.3).
// Every input byte is distinct, so a byte taken from the wrong place shows; the outputs are written at an offset
// into a buffer that already holds other bytes, so a write outside the key shows too. The offsets are spelled
// out (struct ipv4_ct_tuple / ipv6_ct_tuple; ipv4_nat_entry's union at 32, ipv6_nat_entry's at 32), not read from
// the module under test. Guards keys.ts in `make mutation` (mutation/guards.mjs).
import t, { type Test } from 'tap';
import {
  tuple4, tuple6, swappedAddrsKey, swappedPortsKey, egressKeyFromIngress, reverseNatKey,
  egressCTKeyFromEgressNatKey, dsrCTKeyFromEgressNatKey, egressCTKeyFromIngressNatKeyAndVal,
} from '../../src/nat/keys.js';
import { NatKey4, NatKey6, NatEntry4, NatEntry6, TupleKey4Global, TupleKey6Global } from '../../src/structs/index.js';

const seq = (n: number, from: number): number[] => Array.from({ length: n }, (_, i) => (from + i) & 255);

// v4 key: daddr 1..4, saddr 5..8, dport 9,10, sport 11,12, nexthdr 13, flags 1 (IN).
const k4 = Uint8Array.from([...seq(12, 1), 13, 1]);
// v6 key: daddr 1..16, saddr 17..32, dport 33,34, sport 35,36, nexthdr 37, flags 1.
const k6 = Uint8Array.from([...seq(36, 1), 37, 1]);
// NAT values: bytes 100.. everywhere, so the address (at 32) and port (v4 at 36, v6 at 48) are recognisable.
const v4 = Uint8Array.from(seq(40, 100));
const v6 = Uint8Array.from(seq(56, 100));

/** Run `fn` writing into a 0xEE-filled buffer at offset 3; the key bytes, and the untouched rest checked. */
function into(t: Test, size: number, fn: (dst: Uint8Array, d: number) => void): number[] {
  const dst = new Uint8Array(size + 6).fill(0xee);
  fn(dst, 3);
  t.same([...dst.subarray(0, 3), ...dst.subarray(3 + size)], [0xee, 0xee, 0xee, 0xee, 0xee, 0xee], 'nothing written outside the key');
  return [...dst.subarray(3, 3 + size)];
}


/** The input placed at offset 5 of a larger buffer, to prove source offsets are honoured. */
function at5(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length + 9).fill(0xdd);
  out.set(b, 5);
  return out;
}

t.test('the offsets are the kernel structs\'', async (t) => {
  t.same(tuple4, { size: 14, addrLen: 4, daddr: 0, saddr: 4, dport: 8, sport: 10, nexthdr: 12, flags: 13, natAddr: 32, natPort: 36 });
  t.same(tuple6, { size: 38, addrLen: 16, daddr: 0, saddr: 16, dport: 32, sport: 34, nexthdr: 36, flags: 37, natAddr: 32, natPort: 48 });
});

t.test('swappedAddrsKey: addresses exchanged, ports kept, flags OUT', async (t) => {
  t.same(into(t, 14, (d, o) => { swappedAddrsKey(tuple4, at5(k4), 5, d, o); }), [5, 6, 7, 8, 1, 2, 3, 4, 9, 10, 11, 12, 13, 0]);
  t.same(into(t, 38, (d, o) => { swappedAddrsKey(tuple6, at5(k6), 5, d, o); }), [...seq(16, 17), ...seq(16, 1), 33, 34, 35, 36, 37, 0]);
});

t.test('swappedPortsKey: ports exchanged, addresses kept, flags OUT', async (t) => {
  t.same(into(t, 14, (d, o) => { swappedPortsKey(tuple4, at5(k4), 5, d, o); }), [1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 9, 10, 13, 0]);
  t.same(into(t, 38, (d, o) => { swappedPortsKey(tuple6, at5(k6), 5, d, o); }), [...seq(32, 1), 35, 36, 33, 34, 37, 0]);
});

t.test('egressKeyFromIngress: DestAddr = value.Addr, SourceAddr = key.SourceAddr, SourcePort = value.Port, DestPort = key.SourcePort', async (t) => {
  // v4 value: addr = bytes 32..35 = 132..135, port = bytes 36,37 = 136,137.
  t.same(into(t, 14, (d, o) => { egressKeyFromIngress(tuple4, at5(k4), 5, at5(v4), 5, d, o); }), [132, 133, 134, 135, 5, 6, 7, 8, 11, 12, 136, 137, 13, 0]);
  // v6 value: addr = bytes 32..47 = 132..147, port = bytes 48,49 = 148,149.
  t.same(into(t, 38, (d, o) => { egressKeyFromIngress(tuple6, at5(k6), 5, at5(v6), 5, d, o); }), [...seq(16, 132), ...seq(16, 17), 35, 36, 148, 149, 37, 0]);
});

t.test('reverseNatKey: SourceAddr = key.DestAddr, SourcePort = key.DestPort, DestAddr = value.Addr, DestPort = value.Port, flags IN', async (t) => {
  const out = Uint8Array.from(k4);
  out[13] = 0;
  t.same(into(t, 14, (d, o) => { reverseNatKey(tuple4, at5(out), 5, at5(v4), 5, d, o); }), [132, 133, 134, 135, 1, 2, 3, 4, 136, 137, 9, 10, 13, 1]);
  t.same(into(t, 38, (d, o) => { reverseNatKey(tuple6, at5(k6), 5, at5(v6), 5, d, o); }), [...seq(16, 132), ...seq(16, 1), 148, 149, 33, 34, 37, 1]);
});

t.test('the object forms (Go names) wrap the same bytes in the family\'s tuple type', async (t) => {
  const e4 = egressCTKeyFromEgressNatKey(new NatKey4(Uint8Array.from(k4)));
  t.ok(e4 instanceof TupleKey4Global);
  t.same([...e4.raw], [5, 6, 7, 8, 1, 2, 3, 4, 9, 10, 11, 12, 13, 0]);
  const e6 = egressCTKeyFromEgressNatKey(new NatKey6(Uint8Array.from(k6)));
  t.ok(e6 instanceof TupleKey6Global);
  t.same([...e6.raw], [...seq(16, 17), ...seq(16, 1), 33, 34, 35, 36, 37, 0]);
  const d4 = dsrCTKeyFromEgressNatKey(new NatKey4(Uint8Array.from(k4)));
  t.ok(d4 instanceof TupleKey4Global);
  t.same([...d4.raw], [1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 9, 10, 13, 0]);
  const d6 = dsrCTKeyFromEgressNatKey(new NatKey6(Uint8Array.from(k6)));
  t.ok(d6 instanceof TupleKey6Global);
  t.same([...d6.raw], [...seq(32, 1), 35, 36, 33, 34, 37, 0]);
  const i4 = egressCTKeyFromIngressNatKeyAndVal(new NatKey4(Uint8Array.from(k4)), { raw: v4 });
  t.ok(i4 instanceof TupleKey4Global);
  t.same([...i4.raw], [132, 133, 134, 135, 5, 6, 7, 8, 11, 12, 136, 137, 13, 0]);
  const i6 = egressCTKeyFromIngressNatKeyAndVal(new NatKey6(Uint8Array.from(k6)), { raw: v6 });
  t.ok(i6 instanceof TupleKey6Global);
  t.same([...i6.raw], [...seq(16, 132), ...seq(16, 17), 35, 36, 148, 149, 37, 0]);
  // With real entries: the RevSNAT entry of a masqueraded flow names the flow's egress CT key.
  const revKey = new NatKey4({ destAddr: '192.0.2.10', sourceAddr: '1.1.1.1', destPort: 0x3930, sourcePort: 0x5000, nextHeader: 6, flags: 1 });
  const revVal = new NatEntry4({ addr: '10.0.1.5', port: 0x409c });
  const ct = egressCTKeyFromIngressNatKeyAndVal(revKey, revVal);
  t.same([ct.destAddr, ct.sourceAddr, ct.destPort, ct.sourcePort, ct.nextHeader, ct.flags], ['10.0.1.5', '1.1.1.1', 0x5000, 0x409c, 6, 0]);
  const revVal6 = new NatEntry6({ addr: 'fd00::5', port: 0x409c });
  const ct6 = egressCTKeyFromIngressNatKeyAndVal(new NatKey6({ destAddr: 'fd00::99', sourceAddr: '2001:db8::1', destPort: 1, sourcePort: 0x5000, nextHeader: 6, flags: 1 }), revVal6);
  t.same([ct6.destAddr, ct6.sourceAddr, ct6.destPort, ct6.sourcePort], ['fd00::5', '2001:db8::1', 0x5000, 0x409c]);
});

t.test('a short source reads as zeros, never as bytes from elsewhere', async (t) => {
  // The byte forms read past a short buffer as 0 (typed-array reads out of range are undefined).
  t.same(into(t, 14, (d, o) => { swappedAddrsKey(tuple4, new Uint8Array(0), 0, d, o); }), new Array<number>(14).fill(0));
  t.same(into(t, 14, (d, o) => { swappedPortsKey(tuple4, new Uint8Array(0), 0, d, o); }), new Array<number>(14).fill(0));
  t.same(into(t, 14, (d, o) => { egressKeyFromIngress(tuple4, new Uint8Array(0), 0, new Uint8Array(0), 0, d, o); }), new Array<number>(14).fill(0));
  t.same(into(t, 14, (d, o) => { reverseNatKey(tuple4, new Uint8Array(0), 0, new Uint8Array(0), 0, d, o); }), [...new Array<number>(13).fill(0), 1]);
});
