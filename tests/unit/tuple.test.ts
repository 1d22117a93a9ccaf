// src/structs/tuple.ts, byte by byte: the CT/NAT key layouts (struct ipv4_ct_tuple / ipv6_ct_tuple), every
// accessor, the Go text and JSON forms, and the input checks. Guards tuple.ts in `make mutation`
// (mutation/guards.mjs); the byte offsets are the ones bpf/lib/common.h gives (and tests/priv/layout checks with
// a C compiler's offsetof).
import t from 'tap';
import {
  CtKey4Global, CtKey6Global, NatKey4, NatKey6, TupleKey4, TupleKey4Global, TupleKey6, TupleKey6Global, TupleBase,
  copyExact, splitHostPort, SizeofTupleKey4, SizeofTupleKey6, TUPLE_F_IN, TUPLE_F_OUT, TUPLE_F_RELATED, TUPLE_F_SERVICE, ipv4CtTuple, ipv6CtTuple,
} from '../../src/structs/tuple.js';
import { inspect } from 'node:util';

const v4 = (): CtKey4Global => new CtKey4Global({ destAddr: '10.0.0.1', sourceAddr: '192.168.7.9', destPort: 0x1234, sourcePort: 0xabcd, nextHeader: 6, flags: TUPLE_F_IN });
const v6 = (): CtKey6Global => new CtKey6Global({ destAddr: 'fd00::1', sourceAddr: '2001:db8::ff', destPort: 0x0102, sourcePort: 0x0304, nextHeader: 17, flags: TUPLE_F_SERVICE });

t.test('flag values and sizes are the datapath\'s', async (t) => {
  t.same([TUPLE_F_OUT, TUPLE_F_IN, TUPLE_F_RELATED, TUPLE_F_SERVICE], [0, 1, 2, 4]);
  t.equal(SizeofTupleKey4, 14);
  t.equal(SizeofTupleKey6, 38);
  t.equal(CtKey4Global.size, 14);
  t.equal(CtKey6Global.size, 38);
});

t.test('IPv4 key bytes: daddr 0..3, saddr 4..7, dport 8..9, sport 10..11 (host order u16, little-endian), nexthdr 12, flags 13', async (t) => {
  const k = v4();
  t.same([...k.raw], [10, 0, 0, 1, 192, 168, 7, 9, 0x34, 0x12, 0xcd, 0xab, 6, 1]);
  t.same([...k.toBytes()], [...k.raw]);
  t.not(k.toBytes().buffer, k.raw.buffer, 'toBytes is a copy');
  t.same([...k.destAddrBytes], [10, 0, 0, 1]);
  t.same([...k.sourceAddrBytes], [192, 168, 7, 9]);
  k.destAddrBytes[3] = 2;
  t.equal(k.destAddr, '10.0.0.2', 'destAddrBytes is a view into the key');
  t.equal(k.sourceAddr, '192.168.7.9');
  t.equal(k.destPort, 0x1234);
  t.equal(k.sourcePort, 0xabcd);
  t.equal(k.getDestPort(), 0x1234);
  t.equal(k.getSourcePort(), 0xabcd);
  t.equal(k.getNextHeader(), 6);
  t.equal(k.getFlags(), 1);
});

t.test('IPv6 key bytes: daddr 0..15, saddr 16..31, dport 32..33, sport 34..35, nexthdr 36, flags 37', async (t) => {
  const k = v6();
  const want = new Array<number>(38).fill(0);
  want[0] = 0xfd; want[15] = 1;
  want[16] = 0x20; want[17] = 0x01; want[18] = 0x0d; want[19] = 0xb8; want[31] = 0xff;
  want[32] = 0x02; want[33] = 0x01; want[34] = 0x04; want[35] = 0x03; want[36] = 17; want[37] = 4;
  t.same([...k.raw], want);
  t.same([...k.destAddrBytes], want.slice(0, 16));
  t.same([...k.sourceAddrBytes], want.slice(16, 32));
  t.equal(k.destAddr, 'fd00::1');
  t.equal(k.sourceAddr, '2001:db8::ff');
  t.same([k.destPort, k.sourcePort, k.nextHeader, k.flags], [0x0102, 0x0304, 17, 4]);
});

t.test('setters write the same bytes the constructor does, and check their ranges', async (t) => {
  const k = new CtKey4Global();
  t.same([...k.raw], new Array<number>(14).fill(0));
  k.destAddr = '10.0.0.1'; k.sourceAddr = '192.168.7.9'; k.destPort = 0x1234; k.sourcePort = 0xabcd; k.nextHeader = 6; k.flags = 1;
  t.ok(k.equals(v4()));
  t.throws(() => { k.destPort = 65536; }, { name: 'RangeError', message: 'destPort' });
  t.throws(() => { k.sourcePort = -1; }, { name: 'RangeError', message: 'sourcePort' });
  t.throws(() => { k.nextHeader = 256; }, { name: 'RangeError', message: 'nextHeader' });
  t.throws(() => { k.flags = 256; }, { name: 'RangeError', message: 'flags' });
  t.throws(() => { k.destAddr = '10.0.0.256'; }, { name: 'RangeError', message: 'destAddr' });
  t.throws(() => { k.sourceAddr = 'fd00::1'; }, { name: 'RangeError', message: 'sourceAddr: "fd00::1" is not an IPv4 address' });
  t.ok(k.equals(v4()), 'failed sets changed nothing');
  const k6 = new CtKey6Global();
  k6.sourceAddr = '::ffff:10.0.0.1';
  t.equal(k6.sourceAddr, '::ffff:10.0.0.1');
  t.throws(() => { k6.destAddr = '10.0.0.1'; }, { message: 'destAddr: "10.0.0.1" is not an IPv6 address (write ::ffff:10.0.0.1 for a v4-mapped address)' });
});

t.test('constructor input checks: nothing half-built, every field named', async (t) => {
  t.throws(() => new CtKey4Global({ destAddr: '10.0.0.1', port: 1 } as never), { name: 'TypeError', message: 'CtKey4Global: unknown field "port"' });
  t.throws(() => new CtKey4Global('10.0.0.1' as never), { name: 'TypeError', message: 'CtKey4Global: expected an object of fields' });
  t.throws(() => new CtKey4Global(new Uint8Array(13)), { name: 'RangeError', message: 'CtKey4Global: expected 14 bytes, got 13' });
  t.throws(() => new CtKey6Global(new Uint8Array(14)), { name: 'RangeError', message: 'CtKey6Global: expected 38 bytes, got 14' });
  t.throws(() => new NatKey4({ destPort: 65536 }), { name: 'RangeError', message: 'NatKey4.destPort' });
  t.throws(() => new NatKey4({ sourcePort: 1.5 }), { name: 'TypeError', message: 'NatKey4.sourcePort: expected an integer (u16), got 1.5' });
  t.throws(() => new NatKey4({ nextHeader: 256 }), { name: 'RangeError', message: 'NatKey4.nextHeader' });
  t.throws(() => new NatKey4({ flags: -1 }), { name: 'RangeError', message: 'NatKey4.flags' });
  // Regression: a 17-byte IPv6 address was accepted (and 16 of its bytes written).
  t.throws(() => new CtKey6Global({ destAddr: new Uint8Array(17) }), { name: 'RangeError', message: 'CtKey6Global.destAddr: expected 16 address bytes, got 17' });
  t.throws(() => new CtKey6Global({ sourceAddr: new Uint8Array(15) }), { name: 'RangeError', message: 'CtKey6Global.sourceAddr: expected 16 address bytes, got 15' });
  t.throws(() => new CtKey4Global({ destAddr: new Uint8Array(5) }), { name: 'RangeError', message: 'CtKey4Global.destAddr: expected 4 address bytes, got 5' });
  t.throws(() => new CtKey4Global({ destAddr: 167772161 as never }), { name: 'TypeError', message: 'CtKey4Global.destAddr: expected an address string, got' });
  t.throws(() => new CtKey4Global({ destAddr: '1.2.3' }), { name: 'RangeError', message: 'CtKey4Global.destAddr: ' });
  t.throws(() => new CtKey6Global({ destAddr: 'fd00::1::2' }), { name: 'RangeError', message: 'CtKey6Global.destAddr: ' });
  const bytes = Uint8Array.from([192, 0, 2, 1]);
  const k = new CtKey4Global({ sourceAddr: bytes });
  t.equal(k.sourceAddr, '192.0.2.1', 'address bytes are accepted at their exact length');
  t.same([...k.destAddrBytes], [0, 0, 0, 0]);
  const raw = new Uint8Array(14);
  t.equal(new CtKey4Global(raw).raw, raw, 'a Uint8Array of the exact size is the key\'s storage (no copy)');
});

t.test('equals compares every byte, and the family', async (t) => {
  t.ok(v4().equals(v4()));
  t.ok(v6().equals(v6()));
  for (const i of [0, 13]) {
    const k = v4();
    k.raw[i] = (k.raw[i] ?? 0) ^ 1;
    t.notOk(v4().equals(k), `byte ${i} differs`);
    t.notOk(k.equals(v4()), `byte ${i} differs (other way)`);
  }
  const k = v6();
  k.raw[37] = 0;
  t.notOk(v6().equals(k), 'last IPv6 byte differs');
  t.notOk(new CtKey4Global().equals(new CtKey6Global()), 'an all-zero v4 key is not an all-zero v6 key');
  t.notOk(new CtKey6Global().equals(new CtKey4Global()));
  t.ok(new NatKey4(v4().raw).equals(v4()), 'the bytes decide, not the class');
});

t.test('swapAddresses, toNetwork/toHost', async (t) => {
  const k = v4();
  k.swapAddresses();
  t.same([k.destAddr, k.sourceAddr], ['192.168.7.9', '10.0.0.1']);
  t.same([k.destPort, k.sourcePort, k.nextHeader, k.flags], [0x1234, 0xabcd, 6, 1], 'only the addresses move');
  const k6 = v6();
  k6.swapAddresses();
  t.same([k6.destAddr, k6.sourceAddr], ['2001:db8::ff', 'fd00::1']);
  t.equal(k6.destPort, 0x0102);
  for (const k of [v4(), new CtKey4Global(v4().raw), new NatKey4(v4().raw), new TupleKey4Global(v4().raw), new TupleKey4(v4().raw)]) {
    const n = k.toNetwork();
    t.equal(n.constructor, k.constructor, `${k.constructor.name}.toNetwork keeps the class`);
    t.same([n.destPort, n.sourcePort], [0x3412, 0xcdab]);
    t.same([n.destAddr, n.sourceAddr, n.nextHeader, n.flags], [k.destAddr, k.sourceAddr, k.nextHeader, k.flags]);
    t.same([k.destPort, k.sourcePort], [0x1234, 0xabcd], 'the original is untouched');
    t.ok(k.toHost().equals(n), 'the same swap both ways (little-endian)');
  }
  for (const k of [v6(), new NatKey6(v6().raw), new TupleKey6Global(v6().raw), new TupleKey6(v6().raw)]) {
    const n = k.toHost();
    t.equal(n.constructor, k.constructor);
    t.same([n.destPort, n.sourcePort], [0x0201, 0x0403]);
    t.ok(k.toNetwork().equals(n));
  }
});

t.test('getTupleKey shares the key\'s bytes', async (t) => {
  const k = v4();
  const tk = k.getTupleKey();
  t.ok(tk instanceof TupleKey4Global);
  tk.destPort = 7;
  t.equal(k.destPort, 7);
  t.ok(new CtKey6Global().getTupleKey() instanceof TupleKey6Global);
  t.ok(new NatKey4().getTupleKey() instanceof TupleKey4Global);
  t.ok(new NatKey6().getTupleKey() instanceof TupleKey6Global);
});

t.test('Go JSON: addresses as byte arrays, raw ports; fromJSON checks every field', async (t) => {
  t.same(v4().toJSON(), { DestAddr: [10, 0, 0, 1], SourceAddr: [192, 168, 7, 9], DestPort: 0x1234, SourcePort: 0xabcd, NextHeader: 6, Flags: 1 });
  const j6 = v6().toJSON();
  t.same(j6.DestAddr, [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  t.same([j6.DestPort, j6.SourcePort, j6.NextHeader, j6.Flags], [0x0102, 0x0304, 17, 4]);
  for (const [cls, k] of [[CtKey4Global, v4()], [NatKey4, v4()], [TupleKey4Global, v4()], [CtKey6Global, v6()], [NatKey6, v6()], [TupleKey6Global, v6()]] as const) {
    const back = cls.fromJSON(JSON.parse(JSON.stringify(k)));
    t.ok(back.equals(k), `${cls.name} round-trips`);
    t.ok(back instanceof cls);
  }
  const good = v4().toJSON();
  // Regression: DestPort 65536 was accepted (and written as 0).
  t.throws(() => CtKey4Global.fromJSON({ ...good, DestPort: 65536 }), { name: 'RangeError', message: 'CtKey4Global.DestPort' });
  t.equal(CtKey4Global.fromJSON({ ...good, DestPort: 65535 }).destPort, 65535);
  t.throws(() => CtKey4Global.fromJSON({ ...good, SourcePort: 65536 }), { message: 'CtKey4Global.SourcePort' });
  t.throws(() => CtKey4Global.fromJSON({ ...good, NextHeader: 256 }), { message: 'CtKey4Global.NextHeader' });
  t.equal(CtKey4Global.fromJSON({ ...good, NextHeader: 255 }).nextHeader, 255);
  t.throws(() => CtKey4Global.fromJSON({ ...good, Flags: 256 }), { message: 'CtKey4Global.Flags' });
  t.equal(CtKey4Global.fromJSON({ ...good, Flags: 255 }).flags, 255);
  t.throws(() => CtKey4Global.fromJSON({ ...good, DestAddr: [10, 0, 0] }), { message: 'CtKey4Global.DestAddr' });
  t.throws(() => CtKey6Global.fromJSON({ ...good }), { message: 'CtKey6Global.DestAddr' });
  t.throws(() => CtKey4Global.fromJSON({ ...good, SourceAddr: [10, 0, 0, 1, 2] }), { message: 'CtKey4Global.SourceAddr' });
  t.throws(() => NatKey4.fromJSON({ ...good, Extra: 1 }), { name: 'TypeError', message: 'NatKey4: unknown field "Extra"' });
  for (const bad of [null, [], 'x', 3]) t.throws(() => NatKey6.fromJSON(bad), { name: 'TypeError', message: 'NatKey6: expected a JSON object' });
});

t.test('splitHostPort: the forms the CLI and fromFlow accept', async (t) => {
  t.same(splitHostPort('10.0.0.1:80', 4), ['10.0.0.1', 80]);
  t.same(splitHostPort('10.0.0.1', 4), ['10.0.0.1', 0]);
  t.same(splitHostPort('10.0.0.1:65535', 4), ['10.0.0.1', 65535]);
  t.same(splitHostPort('10.0.0.1:0', 4), ['10.0.0.1', 0]);
  t.throws(() => splitHostPort('10.0.0.1:65536', 4), { name: 'RangeError', message: 'port 65536 in "10.0.0.1:65536" is out of range (0..65535)' });
  t.throws(() => splitHostPort('10.0.0.1:', 4), { name: 'RangeError', message: 'bad port in "10.0.0.1:"' });
  t.throws(() => splitHostPort('10.0.0.1:8o', 4), { message: 'bad port in' });
  t.throws(() => splitHostPort('10.0.0.1:-1', 4), { message: 'bad port in' });
  t.same(splitHostPort('[fd00::1]:443', 6), ['fd00::1', 443]);
  // Regression: '[ip]' without a port gave NaN, which fromFlow then wrote as port 0 silently.
  t.same(splitHostPort('[fd00::1]', 6), ['fd00::1', 0]);
  t.same(splitHostPort('fd00::1', 6), ['fd00::1', 0]);
  t.same(splitHostPort('[fd00::1]:65535', 6), ['fd00::1', 65535]);
  t.throws(() => splitHostPort('[fd00::1]:65536', 6), { message: 'port 65536 in "[fd00::1]:65536" is out of range' });
  t.throws(() => splitHostPort('[fd00::1', 6), { name: 'RangeError', message: 'bad IPv6 endpoint "[fd00::1" (want [ip]:port)' });
  t.throws(() => splitHostPort('[fd00::1]:', 6), { message: 'bad IPv6 endpoint' });
  t.throws(() => splitHostPort('[]:80', 6), { message: 'bad IPv6 endpoint' });
  t.throws(() => splitHostPort(80 as never, 4), { name: 'TypeError', message: 'expected "ip:port", got' });
});

t.test('fromFlow: the key the datapath writes for a flow', async (t) => {
  // OUT: addresses reversed, ports named for the original direction, network order.
  const out = CtKey4Global.fromFlow({ src: '10.0.0.1:40000', dst: '192.0.2.1:443', proto: 'TCP' });
  t.same([out.destAddr, out.sourceAddr, out.destPort, out.sourcePort, out.nextHeader, out.flags], ['10.0.0.1', '192.0.2.1', 0xbb01, 0x409c, 6, TUPLE_F_OUT]);
  const inn = CtKey4Global.fromFlow({ src: '10.0.0.1:40000', dst: '192.0.2.1:443', proto: 'udp', dir: 'IN' });
  t.same([inn.destAddr, inn.sourceAddr, inn.destPort, inn.sourcePort, inn.nextHeader, inn.flags], ['10.0.0.1', '192.0.2.1', 0xbb01, 0x409c, 17, TUPLE_F_IN]);
  // SVC: packet orientation for the addresses, the ports swapped.
  const svc = CtKey4Global.fromFlow({ src: '10.0.0.1:40000', dst: '10.96.0.10:443', proto: 'TCP', dir: 'SVC' });
  t.same([svc.destAddr, svc.sourceAddr, svc.destPort, svc.sourcePort, svc.flags], ['10.96.0.10', '10.0.0.1', 0x409c, 0xbb01, TUPLE_F_SERVICE]);
  // Related: ICMP of the family, no ports.
  const rel = CtKey6Global.fromFlow({ src: '[fd00::1]:40000', dst: '[2001:db8::1]:443', proto: 'TCP', related: true });
  t.same([rel.destAddr, rel.sourceAddr, rel.destPort, rel.sourcePort, rel.nextHeader, rel.flags], ['fd00::1', '2001:db8::1', 0, 0, 58, TUPLE_F_RELATED]);
  const rel4 = CtKey4Global.fromFlow({ src: '10.0.0.1:1', dst: '10.0.0.2:2', proto: 'UDP', dir: 'IN', related: true });
  t.same([rel4.nextHeader, rel4.flags], [1, TUPLE_F_IN | TUPLE_F_RELATED]);
  const bare = CtKey6Global.fromFlow({ src: '[fd00::1]', dst: 'fd00::2', proto: 'ICMPv6' });
  t.same([bare.destPort, bare.sourcePort], [0, 0], 'no port given is port 0, not NaN');
  t.throws(() => CtKey4Global.fromFlow({ src: '10.0.0.1:1', dst: '10.0.0.2:2', proto: 'TCP', dir: 'UP' as never }), { name: 'RangeError', message: 'fromFlow: dir must be OUT, IN or SVC, got "UP"' });
  t.throws(() => CtKey4Global.fromFlow(null as never), { name: 'TypeError', message: 'fromFlow: expected {src, dst, proto, dir}' });
  t.throws(() => CtKey4Global.fromFlow({ src: '10.0.0.1:1', dst: '10.0.0.2:99999', proto: 'TCP' }), { message: 'out of range' });
});

t.test('Go text forms', async (t) => {
  const k = v4();
  t.equal(k.toString(), '192.168.7.9:43981 --> 10.0.0.1:4660, 6, 1');
  t.equal(new TupleKey4Global(k.raw).toString(), '192.168.7.9:43981 --> 10.0.0.1:4660, 6, 1');
  t.equal(new NatKey4(k.raw).toString(), '192.168.7.9:43981 --> 10.0.0.1:4660, 6, 1');
  t.equal(v6().toString(), '[2001:db8::ff]:772 --> [fd00::1]:258, 17, 4');
  t.equal(new TupleKey6Global(v6().raw).toString(), '[2001:db8::ff]:772 --> [fd00::1]:258, 17, 4');
  t.equal(new NatKey6(v6().raw).toString(), '[2001:db8::ff]:772 --> [fd00::1]:258, 17, 4');
  t.equal(new TupleKey4(k.raw).toString(), '10.0.0.1:43981, 4660, 6, 1');
  t.equal(new TupleKey6(v6().raw).toString(), '[fd00::1]:772, 258, 17, 4');
  // ctmap's CtKey dump: IN and OUT reverse the addresses on request; SVC prints the ports swapped back.
  t.equal(k.dump(false), 'TCP IN 192.168.7.9:43981 -> 10.0.0.1:4660 ');
  t.equal(k.dump(true), 'TCP IN 10.0.0.1:43981 -> 192.168.7.9:4660 ');
  const out = v4(); out.flags = TUPLE_F_OUT;
  t.equal(out.dump(true), 'TCP OUT 10.0.0.1:43981 -> 192.168.7.9:4660 ');
  t.equal(out.dump(false), 'TCP OUT 192.168.7.9:43981 -> 10.0.0.1:4660 ');
  const rel = v4(); rel.flags = TUPLE_F_OUT | TUPLE_F_RELATED;
  t.equal(rel.dump(false), 'TCP OUT 192.168.7.9:43981 -> 10.0.0.1:4660 related ');
  t.equal(v6().dump(false), 'UDP SVC 2001:db8::ff:258 -> fd00::1:772 ', 'SVC: no brackets, the ports swapped');
  t.equal(v6().dump(true), 'UDP SVC 2001:db8::ff:258 -> fd00::1:772 ', 'SVC ignores reverse');
  const svcRel = v6(); svcRel.flags = TUPLE_F_SERVICE | TUPLE_F_RELATED;
  t.equal(svcRel.dump(false), 'UDP SVC 2001:db8::ff:258 -> fd00::1:772 related ');
  t.equal(new CtKey4Global().dump(false), undefined, 'nexthdr 0 prints nothing');
  t.equal(new CtKey6Global().dump(true), undefined);
  // pkg/tuple's dump (NAT and tuple keys): brackets for IPv6, related and service suffixes.
  const nk = new NatKey6(v6().raw);
  t.equal(nk.dump(false), 'UDP OUT [2001:db8::ff]:772 -> [fd00::1]:258 service ');
  t.equal(nk.dump(true), 'UDP OUT [fd00::1]:772 -> [2001:db8::ff]:258 service ');
  const nk4 = new NatKey4(v4().raw);
  t.equal(nk4.dump(false), 'TCP IN 192.168.7.9:43981 -> 10.0.0.1:4660 ');
  nk4.flags = TUPLE_F_IN | TUPLE_F_RELATED | TUPLE_F_SERVICE;
  t.equal(nk4.dump(false), 'TCP IN 192.168.7.9:43981 -> 10.0.0.1:4660 related service ');
  t.equal(new TupleKey4Global(v4().raw).dump(true), 'TCP IN 10.0.0.1:43981 -> 192.168.7.9:4660 ');
  t.equal(new TupleKey6Global().dump(false), undefined);
  t.equal(new NatKey4().dump(false), undefined);
  // The legacy local tuple dump: one address, the ports side by side.
  const lk = new TupleKey4(v4().raw);
  t.equal(lk.dump(false), 'TCP IN 10.0.0.1 43981:4660 ');
  t.equal(lk.dump(true), 'TCP IN 192.168.7.9 43981:4660 ');
  lk.flags = TUPLE_F_OUT | TUPLE_F_RELATED | TUPLE_F_SERVICE;
  t.equal(lk.dump(false), 'TCP OUT 10.0.0.1 4660:43981 related service ');
  t.equal(new TupleKey6(v6().raw).dump(false), 'UDP OUT fd00::1 258:772 service ');
  t.equal(new TupleKey6().dump(false), undefined);
});

t.test('util.inspect shows the flow as it prints, then the fields', async (t) => {
  const k = CtKey4Global.fromFlow({ src: '10.0.0.1:40000', dst: '192.0.2.1:443', proto: 'TCP' });
  t.equal(inspect(k), 'CtKey4Global TCP OUT 10.0.0.1:40000 -> 192.0.2.1:443 {"destAddr":"10.0.0.1","sourceAddr":"192.0.2.1","destPort":47873,"sourcePort":16540,"nextHeader":6,"flags":0}');
  t.equal(inspect(new CtKey4Global()), 'CtKey4Global 0.0.0.0:0 --> 0.0.0.0:0, 0, 0 {"destAddr":"0.0.0.0","sourceAddr":"0.0.0.0","destPort":0,"sourcePort":0,"nextHeader":0,"flags":0}');
  const k6 = CtKey6Global.fromFlow({ src: '[fd00::1]:40000', dst: '[2001:db8::1]:443', proto: 'TCP' });
  t.match(inspect(k6), /^CtKey6Global TCP OUT fd00::1:40000 -> 2001:db8::1:443 \{/);
  t.match(inspect(new CtKey6Global()), /^CtKey6Global \[::\]:0 --> \[::\]:0, 0, 0 \{/);
  const n = new NatKey4({ destAddr: '192.0.2.10', sourceAddr: '10.0.0.1', destPort: 0x5000, sourcePort: 0x409c, nextHeader: 6, flags: 0 });
  t.match(inspect(n), /^NatKey4 TCP OUT 10\.0\.0\.1:40000 -> 192\.0\.2\.10:80 \{/);
  t.match(inspect(new NatKey4()), /^NatKey4 0\.0\.0\.0:0 --> 0\.0\.0\.0:0, 0, 0 \{/);
  t.match(inspect(new NatKey6(v6().raw)), /^NatKey6 UDP OUT \[2001:db8::ff\]:1027 -> \[fd00::1\]:513 service \{/);
  t.match(inspect(new NatKey6()), /^NatKey6 \[::\]:0 --> \[::\]:0, 0, 0 \{/);
  t.match(inspect(new TupleKey4(v4().raw)), /^TupleKey4 10\.0\.0\.1:43981, 4660, 6, 1 \{/);
  t.match(inspect(new TupleKey6(v6().raw)), /^TupleKey6 \[fd00::1\]:772, 258, 17, 4 \{/);
  t.match(inspect(new TupleKey4Global(v4().raw)), /^TupleKey4Global 192\.168\.7\.9:43981 --> 10\.0\.0\.1:4660, 6, 1 \{/);
  t.match(inspect(new TupleKey6Global(v6().raw)), /^TupleKey6Global \[2001:db8::ff\]:772 --> \[fd00::1\]:258, 17, 4 \{/);
  t.same(k.toFields(), { destAddr: '10.0.0.1', sourceAddr: '192.0.2.1', destPort: 47873, sourcePort: 16540, nextHeader: 6, flags: 0 });
});

t.test('fromBytes and copyExact copy exactly the key\'s size', async (t) => {
  const raw = v4().raw;
  for (const cls of [CtKey4Global, NatKey4, TupleKey4Global, TupleKey4]) {
    const k = cls.fromBytes(raw);
    t.ok(k.equals(v4()), `${cls.name}.fromBytes`);
    t.not(k.raw.buffer, raw.buffer, 'a copy');
    t.throws(() => cls.fromBytes(raw.subarray(0, 13)), { name: 'RangeError', message: `${cls.name}.fromBytes: expected 14 bytes, got 13` });
  }
  for (const cls of [CtKey6Global, NatKey6, TupleKey6Global, TupleKey6]) {
    t.ok(cls.fromBytes(v6().raw).equals(v6()), `${cls.name}.fromBytes`);
    t.throws(() => cls.fromBytes(new Uint8Array(39)), { message: `${cls.name}.fromBytes: expected 38 bytes, got 39` });
  }
  t.throws(() => copyExact([1, 2] as never, 2, 'X'), { name: 'TypeError', message: 'X.fromBytes: expected a Uint8Array, got' });
  const c = copyExact(Uint8Array.from([1, 2, 3]), 3, 'X');
  t.same([...c], [1, 2, 3]);
  t.equal(TupleBase.layoutFor(4).size, 14);
  t.equal(TupleBase.layoutFor(6).size, 38);
});

t.test('the layouts are the C structs the offsetof probe compiles: their names, and packed', async (t) => {
  // tests/unit/probe.test.ts looks each layout up by name in bpf/lib/common.h's structs; __attribute__((packed))
  // makes the tuple's alignment 1, so a struct or array embedding it puts the next member right after its bytes.
  t.equal(ipv4CtTuple.name, 'ipv4_ct_tuple');
  t.equal(ipv6CtTuple.name, 'ipv6_ct_tuple');
  t.equal(ipv4CtTuple.align, 1, 'ipv4_ct_tuple is packed');
  t.equal(ipv6CtTuple.align, 1, 'ipv6_ct_tuple is packed');
});

t.test('errors name the key type they were building', async (t) => {
  const wrongSize: [string, number, () => unknown][] = [
    ['TupleKey4Global', 14, () => new TupleKey4Global(new Uint8Array(15))],
    ['TupleKey6Global', 38, () => new TupleKey6Global(new Uint8Array(39))],
    ['TupleKey4', 14, () => new TupleKey4(new Uint8Array(15))],
    ['TupleKey6', 38, () => new TupleKey6(new Uint8Array(39))],
    ['NatKey6', 38, () => new NatKey6(new Uint8Array(39))],
  ];
  for (const [name, size, make] of wrongSize) t.throws(make, { name: 'RangeError', message: `${name}: expected ${size} bytes, got ${size + 1}` });
  t.throws(() => TupleKey4Global.fromJSON({}), /TupleKey4Global/);
  t.throws(() => TupleKey6Global.fromJSON({}), /TupleKey6Global/);
  // A bad address keeps the parser's error as its cause.
  let err: unknown;
  try {
    new TupleKey4Global({ destAddr: '10.0.0.300' });
  } catch (e) {
    err = e;
  }
  t.type(err, RangeError);
  t.match((err as Error).message, /^TupleKey4Global\.destAddr: /);
  t.ok((err as Error).cause instanceof Error, 'the parser\'s error is the cause');
});

t.test('splitHostPort anchors the whole text', async (t) => {
  t.throws(() => splitHostPort('x[::1]:80', 6), /bad IPv6 endpoint/, 'nothing before the bracket');
  t.same(splitHostPort(':80', 4), ['', 80], 'an empty host with a port is split at the first character');
});
