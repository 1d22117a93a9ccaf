// Golden tests: every worked example of the spec (ctmap.md §1-5, §8.4; nat-datapath.md §1, §3-5).
import t from 'tap';
import { inspect } from 'node:util';
import {
  CtEntry, CtKey4Global, CtKey6Global, CtMapRecord, NatEntry4, NatEntry6, NatKey4, NatKey6, NatMapRecord,
  TupleKey4, TupleKey4Global, TupleKey6, TupleKey6Global, flagsString, hexPad, marshalRecords, parseCtMapRecords,
  parseNatMapRecords, SizeofCtEntry, SizeofCtKey4Global, SizeofCtKey6Global, TUPLE_F_IN, TUPLE_F_OUT, TUPLE_F_RELATED,
  TUPLE_F_SERVICE, RxClosing, TxClosing, Nat64, LBLoopback, SeenNonSyn, NodePort, ProxyRedirect, DSRInternal, FromL7LB,
  Reserved1, FromTunnel, MaxFlags,
} from '../../src/structs/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

t.test('constants keep their Go values', async (t) => {
  t.same([TUPLE_F_OUT, TUPLE_F_IN, TUPLE_F_RELATED, TUPLE_F_SERVICE], [0, 1, 2, 4]);
  t.same([RxClosing, TxClosing, Nat64, LBLoopback, SeenNonSyn, NodePort, ProxyRedirect, DSRInternal, FromL7LB, Reserved1, FromTunnel, MaxFlags],
    [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]);
  t.equal(SizeofCtEntry, 56);
  t.equal(SizeofCtKey4Global, 14);
  t.equal(SizeofCtKey6Global, 38);
});

t.test('map names and limits, as exported from the package root and ctmap/compat', async (t) => {
  const root = await import('../../src/compat/index.js');
  const front = await import('../../src/index.js');
  t.same([front.MapNameTCP4Global, front.MapNameTCP6Global, front.MapNameAny4Global, front.MapNameAny6Global, front.MapNamePrefix, front.MaxTime],
    ['cilium_ct4_global', 'cilium_ct6_global', 'cilium_ct_any4_global', 'cilium_ct_any6_global', 'cilium_ct', 4294967295]);
  t.same([root.MapNameTCP4Global, root.MapNameTCP6Global, root.MapNameAny4Global, root.MapNameAny6Global],
    ['cilium_ct4_global', 'cilium_ct6_global', 'cilium_ct_any4_global', 'cilium_ct_any6_global']);
  t.same([root.MapNamePrefix, root.MapNameTCP4, root.MapNameTCP6, root.MapNameAny4, root.MapNameAny6],
    ['cilium_ct', 'cilium_ct4_', 'cilium_ct6_', 'cilium_ct_any4_', 'cilium_ct_any6_']);
  t.equal(root.MaxTime, 4294967295);
  t.same([root.CTMapEntriesGlobalTCPDefault, root.CTMapEntriesGlobalAnyDefault, root.LimitTableMin, root.LimitTableMax],
    [524288, 262144, 1024, 16777216]);
  t.same([root.MapNameSnat4Global, root.MapNameSnat6Global], ['cilium_snat_v4_external', 'cilium_snat_v6_external']);
  t.same([root.SnatCollisionRetries, root.NATMapEntriesGlobalDefault], [32, 524288]);
  t.equal(root.TUPLE_F_SERVICE, 4);
});

t.test('Go %#0Nx formatting', async (t) => {
  t.equal(hexPad(0x10, 4), '0x0010');
  t.equal(hexPad(0, 4), '0x0000');
  t.equal(hexPad(0x1234, 4), '0x1234');
  t.equal(hexPad(0, 2), '0x00');
  t.equal(hexPad(0x63, 2), '0x63');
});

t.test('flags text', async (t) => {
  t.equal(flagsString(0), 'Flags=0x0000 [ ]');
  t.equal(flagsString(0x13), 'Flags=0x0013 [ RxClosing TxClosing SeenNonSyn ]');
  t.equal(flagsString(0x0200), 'Flags=0x0200 [ ]');
  t.equal(flagsString(0x8001), 'Flags=0x8001 [ RxClosing Unknown=0x8000 ]');
  t.equal(flagsString(0x05ff), 'Flags=0x05ff [ RxClosing TxClosing Nat64 LBLoopback SeenNonSyn NodePort ProxyRedirect DSRInternal FromL7LB FromTunnel ]');
  t.equal(flagsString(0xffff), 'Flags=0xffff [ RxClosing TxClosing Nat64 LBLoopback SeenNonSyn NodePort ProxyRedirect DSRInternal FromL7LB FromTunnel Unknown=0xf800 ]');
});

t.test('raw port semantics', async (t) => {
  const k = new CtKey4Global({ destPort: 0x5000 });
  t.equal(hex(k.toBytes().subarray(8, 10)), '0050', 'port 80 is stored 00 50, raw 0x5000');
  const n = new NatKey4({ sourcePort: 0x50d6 });
  t.equal(hex(n.toBytes().subarray(10, 12)), 'd650');
  t.equal(n.toHost().sourcePort, 54864);
});

t.test('ct_entry flag bytes', async (t) => {
  t.equal(hex(new CtEntry({ flags: DSRInternal }).toBytes().subarray(36, 38)), '8000');
  t.equal(hex(new CtEntry({ flags: SeenNonSyn | RxClosing }).toBytes().subarray(36, 38)), '1100');
});

t.test('CT key String() and Dump()', async (t) => {
  const out = CtKey4Global.fromFlow({ src: '10.0.0.1:40000', dst: '10.0.0.2:80', proto: 'TCP', dir: 'OUT' });
  t.equal(hex(out.toBytes()), '0a0000010a00000200509c400600', 'addresses reversed, ports network order');
  t.equal(out.toString(), '10.0.0.2:16540 --> 10.0.0.1:20480, 6, 0', 'String() prints raw ports and the protocol number');
  t.equal(out.toHost().dump(true), 'TCP OUT 10.0.0.1:40000 -> 10.0.0.2:80 ');
  t.equal(out.toHost().dump(false), 'TCP OUT 10.0.0.2:40000 -> 10.0.0.1:80 ');
  const inb = CtKey4Global.fromFlow({ src: '192.168.1.5:51000', dst: '10.0.0.2:443', proto: 'tcp', dir: 'IN' });
  t.equal(inb.toHost().dump(true), 'TCP IN 192.168.1.5:51000 -> 10.0.0.2:443 ');
  const rel = CtKey4Global.fromFlow({ src: '10.0.0.1:40000', dst: '10.0.0.2:80', proto: 'TCP', related: true });
  t.equal(rel.toHost().dump(true), 'ICMP OUT 10.0.0.1:0 -> 10.0.0.2:0 related ');
  const svc = CtKey4Global.fromFlow({ src: '10.0.0.9:33000', dst: '172.20.0.10:53', proto: 'UDP', dir: 'SVC' });
  t.equal(svc.toHost().dump(true), 'UDP SVC 10.0.0.9:33000 -> 172.20.0.10:53 ', 'SVC ignores reverse');
  t.equal(svc.toHost().dump(false), 'UDP SVC 10.0.0.9:33000 -> 172.20.0.10:53 ');
  t.equal(new CtKey4Global({ nextHeader: 0 }).dump(true), undefined, 'NextHeader 0 dumps nothing');
  t.equal(new CtKey4Global({ nextHeader: 99, flags: TUPLE_F_IN | TUPLE_F_RELATED }).dump(false), '99 IN 0.0.0.0:0 -> 0.0.0.0:0 related ');

  const v6 = CtKey6Global.fromFlow({ src: '[f00d::1]:40000', dst: '[2001:db8::2]:80', proto: 'TCP' });
  t.equal(v6.toString(), '[2001:db8::2]:16540 --> [f00d::1]:20480, 6, 0');
  t.equal(v6.toHost().dump(true), 'TCP OUT f00d::1:40000 -> 2001:db8::2:80 ', 'IPv6 is not bracketed in ctmap dumps');
  const mapped = new CtKey6Global({ sourceAddr: '::ffff:10.1.2.3', destAddr: '::', nextHeader: 17, flags: TUPLE_F_SERVICE });
  t.equal(mapped.dump(false), 'UDP SVC ::ffff:10.1.2.3:0 -> :::0 ');
  t.equal(new CtKey6Global({ nextHeader: 58, flags: TUPLE_F_IN }).dump(true), 'ICMPv6 IN :::0 -> :::0 ');
});

t.test('tuple-level Dump (NAT keys): brackets v6, related and service suffixes', async (t) => {
  const k = new NatKey4({ sourceAddr: '10.0.1.99', destAddr: '1.1.1.1', sourcePort: 0xd886, destPort: 0x5000, nextHeader: 6 });
  t.equal(k.toHost().dump(false), 'TCP OUT 10.0.1.99:34520 -> 1.1.1.1:80 ');
  const v = new NatEntry4({ addr: '10.0.2.15', port: 0xd886, created: 1000n });
  t.equal((k.toHost().dump(false) ?? '') + v.toHost().dump(k), 'TCP OUT 10.0.1.99:34520 -> 1.1.1.1:80 XLATE_SRC 10.0.2.15:34520 Created=? (raw 1000) NeedsCT=0\n');
  const rk = new NatKey4({ sourceAddr: '1.1.1.1', destAddr: '10.0.2.15', sourcePort: 0x5000, destPort: 0xd886, nextHeader: 6, flags: TUPLE_F_IN });
  const rv = new NatEntry4({ addr: '10.0.1.99', port: 0xd886, created: 37400n, needsCT: 1n });
  t.equal(rv.toHost().dump(rk), 'XLATE_DST 10.0.1.99:34520 Created=? (raw 37400) NeedsCT=1\n');
  t.equal(rv.toHost().dump(rk, (c) => `${1000n - c}sec ago`), 'XLATE_DST 10.0.1.99:34520 Created=-36400sec ago NeedsCT=1\n');
  t.equal(rv.toString(), 'Addr=10.0.1.99 Port=55430 Created=37400 NeedsCT=1\n', 'String() has the raw port');
  const k6 = new NatKey6({ sourceAddr: 'f00d::1', destAddr: '2001:db8::1', sourcePort: 0x3500, destPort: 0x3500, nextHeader: 17, flags: TUPLE_F_RELATED | TUPLE_F_SERVICE });
  t.equal(k6.toHost().dump(true), 'UDP OUT [2001:db8::1]:53 -> [f00d::1]:53 related service ');
  t.equal(k6.dump(true), 'UDP OUT [2001:db8::1]:13568 -> [f00d::1]:13568 related service ', 'Dump prints the ports as held');
  t.equal(k6.toString(), '[f00d::1]:13568 --> [2001:db8::1]:13568, 17, 6');
  const v6 = new NatEntry6({ addr: 'f00d::63', port: 0x3500 });
  t.equal(v6.toHost().dump(new NatKey6({ flags: 1 })), 'XLATE_DST [f00d::63]:53 Created=? (raw 0) NeedsCT=0\n');
  t.equal(new TupleKey4Global({ nextHeader: 6, flags: 5 }).dump(false), 'TCP IN 0.0.0.0:0 -> 0.0.0.0:0 service ');
  t.equal(new TupleKey6Global({ nextHeader: 6 }).dump(false), 'TCP OUT [::]:0 -> [::]:0 ');
  t.equal(new TupleKey6Global({ nextHeader: 0 }).dump(false), undefined);
});

t.test('legacy local tuple text forms', async (t) => {
  const k = new TupleKey4({ destAddr: '10.0.0.1', sourceAddr: '10.0.0.2', destPort: 80, sourcePort: 1234, nextHeader: 6, flags: 0 });
  t.equal(k.toString(), '10.0.0.1:1234, 80, 6, 0');
  t.equal(k.dump(false), 'TCP OUT 10.0.0.1 80:1234 ');
  t.equal(k.dump(true), 'TCP OUT 10.0.0.2 80:1234 ');
  k.flags = TUPLE_F_IN | TUPLE_F_RELATED | TUPLE_F_SERVICE;
  t.equal(k.dump(false), 'TCP IN 10.0.0.1 1234:80 related service ');
  const k6 = new TupleKey6({ destAddr: 'f00d::1', nextHeader: 17, sourcePort: 1 });
  t.equal(k6.toString(), '[f00d::1]:1, 0, 17, 0');
  t.equal(k6.dump(false), 'UDP OUT f00d::1 0:1 ');
  t.equal(new TupleKey6({}).dump(false), undefined);
});

t.test('CtEntry String() and StringWithTimeDiff()', async (t) => {
  const e = new CtEntry({
    union0: [0n, 42n], packets: 3n, bytes: 180n, lifetime: 37400, flags: 0x13, revNAT: 0x0700, natPort: 0x901f,
    txFlagsSeen: 0x02, rxFlagsSeen: 0x1b, sourceSecurityID: 2, lastTxReport: 100, lastRxReport: 200,
  });
  t.equal(e.toString(), 'expires=37400 Packets=3 Bytes=180 RxFlagsSeen=0x1b LastRxReport=200 TxFlagsSeen=0x02 LastTxReport=100 Flags=0x0013 [ RxClosing TxClosing SeenNonSyn ] RevNAT=7 SourceSecurityID=2 BackendID=42 NatPort=8080 \n');
  t.equal(e.stringWithTimeDiff((l) => `remaining: ${l - 37500} sec(s)`),
    'expires=37400 (remaining: -100 sec(s)) Packets=3 Bytes=180 RxFlagsSeen=0x1b LastRxReport=200 TxFlagsSeen=0x02 LastTxReport=100 Flags=0x0013 [ RxClosing TxClosing SeenNonSyn ] RevNAT=7 SourceSecurityID=2 BackendID=42 NatPort=8080 \n');
  t.equal(new CtEntry().toString(), 'expires=0 Packets=0 Bytes=0 RxFlagsSeen=0x00 LastRxReport=0 TxFlagsSeen=0x00 LastTxReport=0 Flags=0x0000 [ ] RevNAT=0 SourceSecurityID=0 BackendID=0 NatPort=0 \n');
  t.ok(!e.isDsrInternalEntry() && new CtEntry({ flags: DSRInternal }).isDsrInternalEntry());
  e.lifetime = 5;
  e.flags = 0x8001;
  t.match(e.toString(), /^expires=5 .*Flags=0x8001 \[ RxClosing Unknown=0x8000 \]/);
});

t.test('JSON in Go encoding/json shape, and back', async (t) => {
  const key = CtKey4Global.fromFlow({ src: '10.0.0.1:40000', dst: '10.0.0.2:80', proto: 'TCP' });
  const value = new CtEntry({ union0: [0xffffffffffffffffn, 1n], lifetime: 7, packets: 2n ** 60n });
  const rec = new CtMapRecord(key, value);
  t.equal(JSON.stringify(key), '{"DestAddr":[10,0,0,1],"SourceAddr":[10,0,0,2],"DestPort":20480,"SourcePort":16540,"NextHeader":6,"Flags":0}');
  const text = marshalRecords([rec]);
  t.match(text, /^\[\n {2}\{\n {4}"Key": \{\n {6}"DestAddr": \[\n {8}10,\n/);
  t.match(text, /"Union0": \[\n {8}18446744073709551615,\n {8}1\n {6}\]/, 'u64 printed exactly');
  t.match(text, /"Packets": 1152921504606846976,/);
  const back = parseCtMapRecords(text);
  t.equal(back.length, 1);
  t.equal(hex(back[0]!.key.toBytes()), hex(key.toBytes()));
  t.equal(hex(back[0]!.value.toBytes()), hex(value.toBytes()));
  t.ok(back[0]!.key instanceof CtKey4Global);
  t.equal(JSON.stringify(value), '{"Union0":["18446744073709551615",1],"Packets":"1152921504606846976","Bytes":0,"Lifetime":7,"Flags":0,"RevNAT":0,"NatPort":0,"TxFlagsSeen":0,"RxFlagsSeen":0,"SourceSecurityID":0,"LastTxReport":0,"LastRxReport":0}',
    'JSON.stringify cannot hold u64 beyond 2^53: those become strings, which fromJSON accepts');
  t.equal(hex(CtEntry.fromJSON(JSON.parse(JSON.stringify(value))).toBytes()), hex(value.toBytes()));
  const k6 = new CtKey6Global({ destAddr: 'f00d::1', nextHeader: 17 });
  const r6 = parseCtMapRecords(marshalRecords([new CtMapRecord(k6, new CtEntry())]))[0]!;
  t.ok(r6.key instanceof CtKey6Global);
  t.equal(r6.key.destAddr, 'f00d::1');
  t.equal(marshalRecords([]), '[]');

  const nrec = new NatMapRecord(new NatKey4({ sourceAddr: '10.0.1.99', nextHeader: 6 }), new NatEntry4({ addr: '10.0.2.15', port: 1, created: 3n }));
  t.equal(JSON.stringify(nrec), '{"Key":{"DestAddr":[0,0,0,0],"SourceAddr":[10,0,1,99],"DestPort":0,"SourcePort":0,"NextHeader":6,"Flags":0},"Value":{"Created":3,"NeedsCT":0,"Pad1":0,"Pad2":0,"Addr":[10,0,2,15],"Port":1}}');
  const nback = parseNatMapRecords(marshalRecords([nrec]))[0]!;
  t.equal(hex(nback.value.toBytes()), hex(nrec.value.toBytes()));
  const n6 = new NatMapRecord(new NatKey6({ nextHeader: 6 }), new NatEntry6({ addr: 'f00d::1' }));
  t.ok(parseNatMapRecords(JSON.stringify([n6]))[0]!.key instanceof NatKey6);
  t.throws(() => new NatMapRecord(new NatKey4(), new NatEntry6()), /NatKey4\+NatEntry4/);
  t.throws(() => parseCtMapRecords('{}'), /expected a JSON array/);
  t.throws(() => parseCtMapRecords('[{"Key":{"DestAddr":[1,2,3]},"Value":{}}]'), /4 or 16/);
  t.throws(() => parseCtMapRecords('[{"Key":1}]'), /expected a JSON object/);
  t.throws(() => parseCtMapRecords('[{"Kee":1}]'), /unknown field "Kee"/);
  t.throws(() => CtEntry.fromJSON({ Union0: [0, 0], Lifetime: -1 }), /Packets: expected an unsigned integer/);
  t.throws(() => CtKey4Global.fromJSON({ DestAddr: [1, 2, 3, 256], SourceAddr: [0, 0, 0, 0], DestPort: 0, SourcePort: 0, NextHeader: 0, Flags: 0 }), /DestAddr\[3\]: 256 is out of range/);
});

t.test('toNetwork/toHost return copies; getTupleKey shares the bytes', async (t) => {
  const k = new CtKey4Global({ sourcePort: 0x1234, destPort: 0xabcd, destAddr: '1.2.3.4', nextHeader: 6, flags: 1 });
  const n = k.toNetwork();
  t.ok(n instanceof CtKey4Global);
  t.equal(n.sourcePort, 0x3412);
  t.equal(n.destPort, 0xcdab);
  t.equal(k.sourcePort, 0x1234, 'receiver unchanged');
  t.equal(hex(n.toHost().toBytes()), hex(k.toBytes()));
  const tk = k.getTupleKey();
  t.ok(tk instanceof TupleKey4Global);
  tk.flags = 0;
  t.equal(k.getFlags(), 0, 'Go returns a pointer to the embedded tuple');
  const s = new TupleKey4Global({ sourceAddr: '1.1.1.1', destAddr: '2.2.2.2' });
  s.swapAddresses();
  t.equal(s.sourceAddr, '2.2.2.2');
  t.equal(s.destAddr, '1.1.1.1');
  const k6 = new CtKey6Global({ sourceAddr: 'f00d::1', destPort: 1 });
  t.ok(k6.toNetwork() instanceof CtKey6Global);
  t.ok(k6.getTupleKey() instanceof TupleKey6Global);
  t.ok(new NatKey6().getTupleKey() instanceof TupleKey6Global);
  t.ok(new NatKey4().toNetwork() instanceof NatKey4);
  t.equal(new NatKey4({ destAddr: '9.9.9.9' }).getTupleKey().destAddr, '9.9.9.9');
});

t.test('REPL printing', async (t) => {
  const k = CtKey4Global.fromFlow({ src: '10.0.0.1:40000', dst: '10.0.0.2:80', proto: 'TCP' });
  t.match(inspect(k), /^CtKey4Global TCP OUT 10\.0\.0\.1:40000 -> 10\.0\.0\.2:80 \{"destAddr":"10\.0\.0\.1"/);
  t.match(inspect(new CtEntry({ lifetime: 9 })), /^CtEntry expires=9 Packets=0/);
  t.match(inspect(new NatEntry4({ addr: '1.2.3.4' })), /^NatEntry4 Addr=1\.2\.3\.4 Port=0/);
  t.match(inspect(new CtMapRecord(k, new CtEntry())), /^CtMapRecord TCP OUT 10\.0\.0\.1:40000 -> 10\.0\.0\.2:80 expires=0/);
  t.match(inspect(new NatMapRecord(new NatKey4({ nextHeader: 6 }), new NatEntry4())), /^NatMapRecord TCP OUT 0\.0\.0\.0:0 -> 0\.0\.0\.0:0 XLATE_SRC/);
  t.match(inspect(new NatKey6({ nextHeader: 17 })), /^NatKey6 UDP OUT \[::\]:0 -> \[::\]:0/);
  t.match(inspect(new TupleKey4({ nextHeader: 6 })), /^TupleKey4 0\.0\.0\.0:0, 0, 6, 0/);
  t.match(inspect(new CtKey6Global()), /^CtKey6Global \[::\]:0 --> \[::\]:0, 0, 0/, 'NextHeader 0 falls back to String()');
});

t.test('bad input gets a clear error and builds nothing', async (t) => {
  t.throws(() => new CtKey4Global({ destAddr: '10.0.0.256' }), /destAddr.*IPv4 field has value >255/);
  t.throws(() => new CtKey4Global({ destAddr: 'f00d::1' }), /not an IPv4 address/);
  t.throws(() => new CtKey6Global({ destAddr: '10.0.0.1' }), /not an IPv6 address \(write ::ffff:10\.0\.0\.1/);
  t.throws(() => new CtKey4Global({ destPort: 65536 }), /destPort: 65536 is out of range for u16/);
  t.throws(() => new CtKey4Global({ sourcePort: -1 }), /out of range/);
  t.throws(() => new CtKey4Global({ nextHeader: 1.5 }), /expected an integer/);
  t.throws(() => new CtKey4Global({ flags: 256 }), /flags: 256 is out of range/);
  t.throws(() => new CtKey4Global({ destAddr: 7 as unknown as string }), /expected an address string/);
  t.throws(() => new CtKey4Global({ destAddr: new Uint8Array(5) }), /expected 4 address bytes/);
  t.throws(() => new CtKey4Global({ bogus: 1 } as never), /unknown field "bogus"/);
  t.throws(() => new CtKey4Global(5 as never), /expected an object of fields/);
  t.throws(() => CtKey4Global.fromBytes(new Uint8Array(13)), /expected 14 bytes, got 13/);
  t.throws(() => CtKey6Global.fromBytes(new Uint8Array(14)), /expected 38 bytes, got 14/);
  t.throws(() => CtKey4Global.fromBytes('x' as never), /expected a Uint8Array/);
  t.throws(() => CtEntry.fromBytes(new Uint8Array(55)), /expected 56 bytes/);
  t.throws(() => new CtEntry(new Uint8Array(57)), /expected 56 bytes/);
  t.throws(() => NatEntry4.fromBytes(new Uint8Array(56)), /expected 40 bytes/);
  t.throws(() => NatEntry6.fromBytes(new Uint8Array(40)), /expected 56 bytes/);
  t.throws(() => new CtEntry({ lifetime: 2 ** 32 }), /lifetime: 4294967296 is out of range for u32/);
  t.throws(() => new CtEntry({ packets: -1n }), /packets: -1 is out of range for u64/);
  t.throws(() => new CtEntry({ packets: 1.5 as unknown as bigint }), /expected a bigint/);
  t.throws(() => new CtEntry({ union0: [1n] }), /expected 2 elements/);
  t.throws(() => new CtEntry({ nope: 1 } as never), /unknown field "nope"/);
  t.throws(() => new CtEntry('x' as never), /expected an object/);
  t.throws(() => new NatEntry4({ addr: 'f00d::1' }), /not an IPv4 address/);
  t.throws(() => new NatEntry6({ addr: '1.2.3.4' }), /not an IPv6 address/);
  t.throws(() => new NatEntry4({ port: 70000 }), /out of range/);
  t.throws(() => new NatEntry4({ needs_ct: 1n } as never), /unknown field/);
  t.throws(() => CtKey4Global.fromFlow({ src: '10.0.0.1:99999', dst: '10.0.0.2:80', proto: 'TCP' }), /port 99999 .* out of range/);
  t.throws(() => CtKey4Global.fromFlow({ src: '10.0.0.1:x', dst: '10.0.0.2:80', proto: 'TCP' }), /bad port/);
  t.throws(() => CtKey4Global.fromFlow({ src: '10.0.0.1:1', dst: '10.0.0.2:80', proto: 'FOO' }), /unknown protocol "FOO"/);
  t.throws(() => CtKey4Global.fromFlow({ src: '10.0.0.1:1', dst: '10.0.0.2:80', proto: 300 }), /out of range/);
  t.throws(() => CtKey4Global.fromFlow({ src: '10.0.0.1:1', dst: '10.0.0.2:80', proto: 6, dir: 'UP' as never }), /dir must be OUT, IN or SVC/);
  t.throws(() => CtKey6Global.fromFlow({ src: '[f00d::1:80', dst: '[f00d::2]:80', proto: 6 }), /bad IPv6 endpoint/);
  t.throws(() => CtKey4Global.fromFlow(null as never), /expected \{src, dst, proto, dir\}/);
  const k = new CtKey4Global({ destPort: 1 });
  t.throws(() => { k.destPort = 1e6; }, /out of range/);
  t.equal(k.destPort, 1, 'a failed set changes nothing');
  const e = new CtEntry({ lifetime: 3 });
  t.throws(() => { e.lifetime = -1; }, /out of range/);
  t.equal(e.lifetime, 3);
});

t.test('fromFlow without ports (ICMP) and the v6 forms', async (t) => {
  const icmp = CtKey4Global.fromFlow({ src: '10.0.0.1', dst: '8.8.8.8', proto: 'ICMP' });
  t.equal(icmp.toHost().dump(true), 'ICMP OUT 10.0.0.1:0 -> 8.8.8.8:0 ');
  const v6 = CtKey6Global.fromFlow({ src: 'f00d::1', dst: 'f00d::2', proto: 58, dir: 'IN', related: true });
  t.equal(v6.toHost().dump(true), 'ICMPv6 IN f00d::1:0 -> f00d::2:0 related ');
  const svc6 = CtKey6Global.fromFlow({ src: '[f00d::1]:1000', dst: '[fd00::10]:80', proto: 'TCP', dir: 'SVC' });
  t.equal(svc6.toHost().dump(true), 'TCP SVC f00d::1:1000 -> fd00::10:80 ');
});
