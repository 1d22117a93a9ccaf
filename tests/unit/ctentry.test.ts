// src/structs/ctentry.ts byte by byte: struct ct_entry (56 bytes; offsets from bpf/lib/common.h, checked with a C
// compiler's offsetof in tests/priv), every accessor and its range, the flag names, the Go text and JSON forms, and
// the input checks. Guards ctentry.ts in `make mutation` (mutation/guards.mjs).
import t from 'tap';
import { inspect } from 'node:util';
import {
  CtEntry, SizeofCtEntry, ctEntryLayout, ctFlagNames, ctFlagByName, flagsString, hexPad,
  RxClosing, TxClosing, Nat64, LBLoopback, SeenNonSyn, NodePort, ProxyRedirect, DSRInternal, FromL7LB, Reserved1, FromTunnel, MaxFlags,
} from '../../src/structs/ctentry.js';

/** Every field with a distinct value (ports and revNAT raw). */
const full = (): CtEntry => new CtEntry({
  union0: [0x0807060504030201n, 0x100f0e0d0c0b0a09n], packets: 0x1817161514131211n, bytes: 0x2019181716151413n,
  lifetime: 0x24232221, flags: 0x2625, revNAT: 0x2827, natPort: 0x2a29, txFlagsSeen: 0x2b, rxFlagsSeen: 0x2c,
  sourceSecurityID: 0x302f2e2d, lastTxReport: 0x34333231, lastRxReport: 0x38373635,
});

t.test('the layout: 56 bytes, each field at its offset, little-endian', async (t) => {
  t.equal(SizeofCtEntry, 56);
  t.equal(CtEntry.size, 56);
  t.same(ctEntryLayout.offsetOf, {
    union0: 0, packets: 16, bytes: 24, lifetime: 32, flags: 36, rev_nat_index: 38, nat_port: 40, tx_flags_seen: 42,
    rx_flags_seen: 43, src_sec_id: 44, last_tx_report: 48, last_rx_report: 52,
  });
  const e = full();
  t.same([...e.raw], [
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, // union0
    0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, // packets
    0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x20, // bytes
    0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, // lifetime flags revnat natport tx rx
    0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, // secid lasttx lastrx
  ]);
  t.same(e.toFields(), {
    union0: [0x0807060504030201n, 0x100f0e0d0c0b0a09n], packets: 0x1817161514131211n, bytes: 0x2019181716151413n,
    lifetime: 0x24232221, flags: 0x2625, revNAT: 0x2827, natPort: 0x2a29, txFlagsSeen: 0x2b, rxFlagsSeen: 0x2c,
    sourceSecurityID: 0x302f2e2d, lastTxReport: 0x34333231, lastRxReport: 0x38373635,
  });
  t.equal(e.backendID, 0x100f0e0d0c0b0a09n, 'BackendID is Union0[1]');
  t.same([...e.toBytes()], [...e.raw]);
  t.not(e.toBytes().buffer, e.raw.buffer, 'toBytes copies');
});

t.test('setters: the same bytes, ranges checked, a failed set changes nothing', async (t) => {
  const e = new CtEntry();
  t.same([...e.raw], new Array<number>(56).fill(0));
  const f = full();
  e.union0 = [0x0807060504030201n, 0x100f0e0d0c0b0a09n];
  e.packets = f.packets; e.bytes = f.bytes; e.lifetime = f.lifetime; e.flags = f.flags; e.revNAT = f.revNAT; e.natPort = f.natPort;
  e.txFlagsSeen = f.txFlagsSeen; e.rxFlagsSeen = f.rxFlagsSeen; e.sourceSecurityID = f.sourceSecurityID;
  e.lastTxReport = f.lastTxReport; e.lastRxReport = f.lastRxReport;
  t.same([...e.raw], [...f.raw]);
  const cases: [string, () => void][] = [
    ['union0', () => { e.union0 = [1n] as never; }],
    ['union0', () => { e.union0 = [1n, -1n]; }],
    ['packets', () => { e.packets = -1n; }],
    ['packets', () => { e.packets = 1n << 64n; }],
    ['bytes', () => { e.bytes = 1n << 64n; }],
    ['lifetime', () => { e.lifetime = 2 ** 32; }],
    ['lifetime', () => { e.lifetime = -1; }],
    ['flags', () => { e.flags = 0x10000; }],
    ['revNAT', () => { e.revNAT = 0x10000; }],
    ['natPort', () => { e.natPort = 0x10000; }],
    ['txFlagsSeen', () => { e.txFlagsSeen = 256; }],
    ['rxFlagsSeen', () => { e.rxFlagsSeen = 256; }],
    ['sourceSecurityID', () => { e.sourceSecurityID = 2 ** 32; }],
    ['lastTxReport', () => { e.lastTxReport = 2 ** 32; }],
    ['lastRxReport', () => { e.lastRxReport = 2 ** 32; }],
  ];
  for (const [name, fn] of cases) t.throws(fn, { message: name }, `${name} out of range`);
  t.same([...e.raw], [...f.raw], 'nothing changed');
  e.lifetime = 0xffffffff; e.flags = 0xffff; e.txFlagsSeen = 255; e.packets = (1n << 64n) - 1n;
  t.same([e.lifetime, e.flags, e.txFlagsSeen, e.packets], [0xffffffff, 0xffff, 255, (1n << 64n) - 1n], 'the maxima fit');
});

t.test('constructor input checks', async (t) => {
  t.throws(() => new CtEntry({ expires: 1 } as never), { name: 'TypeError', message: 'CtEntry: unknown field "expires"' });
  t.throws(() => new CtEntry(7 as never), { name: 'TypeError', message: 'CtEntry: expected an object of fields, got' });
  t.throws(() => new CtEntry(new Uint8Array(55)), { name: 'RangeError', message: 'CtEntry: expected 56 bytes, got 55' });
  t.throws(() => new CtEntry({ lifetime: 2 ** 32 }), { message: 'lifetime' });
  const raw = new Uint8Array(56);
  t.equal(new CtEntry(raw).raw, raw, 'exact-size bytes are the entry\'s storage');
  const copy = CtEntry.fromBytes(full().raw);
  t.same([...copy.raw], [...full().raw]);
  t.throws(() => CtEntry.fromBytes(new Uint8Array(57)), { message: 'CtEntry.fromBytes: expected 56 bytes, got 57' });
  t.same(new CtEntry({ lifetime: 5 }).toFields().flags, 0, 'unset fields are zero');
});

t.test('flags: bits, names, and the printed form', async (t) => {
  t.same([RxClosing, TxClosing, Nat64, LBLoopback, SeenNonSyn, NodePort, ProxyRedirect, DSRInternal, FromL7LB, Reserved1, FromTunnel, MaxFlags],
    [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]);
  t.same(ctFlagNames.map(([, n]) => n), ['RxClosing', 'TxClosing', 'Nat64', 'LBLoopback', 'SeenNonSyn', 'NodePort', 'ProxyRedirect', 'DSRInternal', 'FromL7LB', 'FromTunnel']);
  t.equal(ctFlagByName('SeenNonSyn'), SeenNonSyn);
  t.equal(ctFlagByName('nodeport'), NodePort);
  t.equal(ctFlagByName('DSRINTERNAL'), DSRInternal);
  t.equal(ctFlagByName('Reserved1'), undefined, 'Reserved1 has no printed name');
  t.equal(ctFlagByName('nope'), undefined);
  t.equal(flagsString(0), 'Flags=0x0000 [ ]');
  t.equal(flagsString(0x13), 'Flags=0x0013 [ RxClosing TxClosing SeenNonSyn ]');
  t.equal(flagsString(0x7ff), 'Flags=0x07ff [ RxClosing TxClosing Nat64 LBLoopback SeenNonSyn NodePort ProxyRedirect DSRInternal FromL7LB FromTunnel ]');
  t.equal(flagsString(Reserved1), 'Flags=0x0200 [ ]', 'Reserved1 is never printed');
  t.equal(flagsString(0x0800), 'Flags=0x0800 [ Unknown=0x0800 ]');
  t.equal(flagsString(0xf001), 'Flags=0xf001 [ RxClosing Unknown=0xf000 ]');
  t.equal(hexPad(0x1a, 2), '0x1a');
  t.equal(hexPad(5, 4), '0x0005');
  t.equal(hexPad(0x12345, 4), '0x12345');
  const e = new CtEntry({ flags: DSRInternal });
  t.ok(e.isDsrInternalEntry());
  t.notOk(new CtEntry({ flags: 0xffff & ~DSRInternal }).isDsrInternalEntry());
  t.equal(e.flagsString(), 'Flags=0x0080 [ DSRInternal ]');
});

t.test('Go text: StringWithTimeDiff and String', async (t) => {
  const e = new CtEntry({
    union0: [0n, 7n], packets: 3n, bytes: 1500n, lifetime: 100030, flags: SeenNonSyn | RxClosing, revNAT: 0x0500, natPort: 0x5000,
    txFlagsSeen: 0x1a, rxFlagsSeen: 0x02, sourceSecurityID: 2, lastTxReport: 99990, lastRxReport: 99980,
  });
  const want = 'expires=100030 Packets=3 Bytes=1500 RxFlagsSeen=0x02 LastRxReport=99980 TxFlagsSeen=0x1a LastTxReport=99990 '
    + 'Flags=0x0011 [ RxClosing SeenNonSyn ] RevNAT=5 SourceSecurityID=2 BackendID=7 NatPort=80 \n';
  t.equal(e.stringWithTimeDiff(), want);
  t.equal(e.toString(), want);
  t.equal(e.stringWithTimeDiff((l) => `remaining: ${l - 100000} sec(s)`), want.replace('expires=100030 ', 'expires=100030 (remaining: 30 sec(s)) '));
  t.equal(inspect(e), `CtEntry ${want.trimEnd()}`);
});

t.test('Go JSON: exact u64 through toGoJSON, strings past 2^53 through toJSON, and back', async (t) => {
  const e = full();
  t.same(e.toGoJSON(), {
    Union0: [0x0807060504030201n, 0x100f0e0d0c0b0a09n], Packets: 0x1817161514131211n, Bytes: 0x2019181716151413n,
    Lifetime: 0x24232221, Flags: 0x2625, RevNAT: 0x2827, NatPort: 0x2a29, TxFlagsSeen: 0x2b, RxFlagsSeen: 0x2c,
    SourceSecurityID: 0x302f2e2d, LastTxReport: 0x34333231, LastRxReport: 0x38373635,
  });
  const j = e.toJSON();
  t.same(j.Union0, [String(0x0807060504030201n), String(0x100f0e0d0c0b0a09n)]);
  t.equal(j.Packets, '1735880461161533969');
  t.equal(j.Bytes, String(0x2019181716151413n));
  const small = new CtEntry({ union0: [1n, 2n], packets: 3n, bytes: 4n });
  t.same([small.toJSON().Union0, small.toJSON().Packets, small.toJSON().Bytes], [[1, 2], 3, 4], 'small u64 stay numbers');
  const back = CtEntry.fromJSON(JSON.parse(JSON.stringify(e)));
  t.same([...back.raw], [...e.raw], 'round trip');
  const good = JSON.parse(JSON.stringify(e)) as Record<string, unknown>;
  const bad: [Record<string, unknown>, string][] = [
    [{ ...good, Extra: 1 }, 'CtEntry: unknown field "Extra"'],
    [{ ...good, Union0: [1] }, 'CtEntry.Union0: expected an array of 2 integers'],
    [{ ...good, Union0: 'x' }, 'CtEntry.Union0: expected an array of 2 integers'],
    [{ ...good, Union0: [-1, 0] }, 'CtEntry.Union0[0]'],
    [{ ...good, Union0: [0, -1] }, 'CtEntry.Union0[1]'],
    [{ ...good, Packets: -1 }, 'CtEntry.Packets'],
    [{ ...good, Bytes: '18446744073709551616' }, 'CtEntry.Bytes'],
    [{ ...good, Lifetime: 2 ** 32 }, 'CtEntry.Lifetime'],
    [{ ...good, Flags: 0x10000 }, 'CtEntry.Flags'],
    [{ ...good, RevNAT: 0x10000 }, 'CtEntry.RevNAT'],
    [{ ...good, NatPort: 0x10000 }, 'CtEntry.NatPort'],
    [{ ...good, TxFlagsSeen: 256 }, 'CtEntry.TxFlagsSeen'],
    [{ ...good, RxFlagsSeen: 256 }, 'CtEntry.RxFlagsSeen'],
    [{ ...good, SourceSecurityID: 2 ** 32 }, 'CtEntry.SourceSecurityID'],
    [{ ...good, LastTxReport: 2 ** 32 }, 'CtEntry.LastTxReport'],
    [{ ...good, LastRxReport: 2 ** 32 }, 'CtEntry.LastRxReport'],
  ];
  for (const [v, msg] of bad) t.throws(() => CtEntry.fromJSON(v), { message: msg }, msg);
  for (const v of [null, [], 'x']) t.throws(() => CtEntry.fromJSON(v), { name: 'TypeError', message: 'CtEntry: expected a JSON object' });
  // The maxima are accepted.
  const max = CtEntry.fromJSON({ ...good, Lifetime: 0xffffffff, Flags: 0xffff, RevNAT: 0xffff, NatPort: 0xffff, TxFlagsSeen: 255, RxFlagsSeen: 255, SourceSecurityID: 0xffffffff, LastTxReport: 0xffffffff, LastRxReport: 0xffffffff, Packets: '18446744073709551615' });
  t.same([max.lifetime, max.flags, max.revNAT, max.natPort, max.txFlagsSeen, max.rxFlagsSeen, max.sourceSecurityID, max.lastTxReport, max.lastRxReport, max.packets],
    [0xffffffff, 0xffff, 0xffff, 0xffff, 255, 255, 0xffffffff, 0xffffffff, 0xffffffff, (1n << 64n) - 1n]);
});

t.test('the layout is the C struct the offsetof probe compiles, and field errors name CtEntry', async (t) => {
  // tests/unit/probe.test.ts looks the layout up by this name in bpf/lib/conntrack.h's structs.
  t.equal(ctEntryLayout.name, 'ct_entry');
  // A value out of its C type's range: the message names the Go type and the C field.
  t.throws(() => new CtEntry({ lifetime: 2 ** 32 }), { name: 'RangeError', message: /^CtEntry\.lifetime: / });
  t.throws(() => new CtEntry({ revNAT: -1 }), { message: /^CtEntry\.rev_nat_index: / });
});
