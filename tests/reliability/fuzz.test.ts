// Fuzzing: seeded random bytes through every decoder, random text through every parser. Reproducible (fixed seeds).
import t from 'tap';
import {
  CtKey4Global, CtKey6Global, TupleKey4Global, TupleKey6Global, TupleKey4, TupleKey6, NatKey4, NatKey6, CtEntry, NatEntry4,
  NatEntry6, parseJSON, JsonSyntaxError, parseCtMapRecords, parseNatMapRecords, parseAddr, AddrParseError, marshalIndent,
} from '../../src/structs/index.js';
import { ctLine } from '../../src/ctmap/text.js';
import { rng } from '../helpers/rng.js';

const CASES = 100_000;

t.test('every decoder: random bytes of the right size decode, print and re-encode; wrong sizes are refused', async (t) => {
  const r = rng(0xf22);
  const decoders: [string, number, (b: Uint8Array) => { toBytes(): Uint8Array; toString(): string; toJSON(): unknown }][] = [
    ['CtKey4Global', 14, (b) => CtKey4Global.fromBytes(b)], ['CtKey6Global', 38, (b) => CtKey6Global.fromBytes(b)],
    ['TupleKey4Global', 14, (b) => TupleKey4Global.fromBytes(b)], ['TupleKey6Global', 38, (b) => TupleKey6Global.fromBytes(b)],
    ['TupleKey4', 14, (b) => TupleKey4.fromBytes(b)], ['TupleKey6', 38, (b) => TupleKey6.fromBytes(b)],
    ['NatKey4', 14, (b) => NatKey4.fromBytes(b)], ['NatKey6', 38, (b) => NatKey6.fromBytes(b)],
    ['CtEntry', 56, (b) => CtEntry.fromBytes(b)], ['NatEntry4', 40, (b) => NatEntry4.fromBytes(b)], ['NatEntry6', 56, (b) => NatEntry6.fromBytes(b)],
  ];
  for (const [name, size, decode] of decoders) {
    let bad = 0;
    let refused = 0;
    for (let i = 0; i < CASES; i++) {
      const b = r.bytes(size);
      try {
        const o = decode(b);
        const back = o.toBytes();
        // Padding bytes are not part of the value (NatEntry4's last two, NatEntry6's last six).
        const cmp = name === 'NatEntry4' ? 38 : name === 'NatEntry6' ? 50 : size;
        for (let j = 0; j < cmp; j++) if (back[j] !== b[j]) { bad++; break; }
        if (o.toString().length === 0) bad++;
        JSON.stringify(o.toJSON());
      } catch {
        bad++;
      }
      if (i % 1000 === 0) {
        const wrong = r.bytes(size + 1 + r.int(8));
        try { decode(wrong.subarray(0, r.int(2) === 0 ? size - 1 : wrong.length)); } catch (err) { if (err instanceof RangeError || err instanceof TypeError) refused++; }
      }
    }
    t.equal(bad, 0, `${name}: ${CASES} random inputs decoded, printed and re-encoded`);
    t.equal(refused, CASES / 1000, `${name}: every wrong-size input refused with a RangeError/TypeError`);
  }
  // The key dumps and the CLI line on random bytes never throw.
  let threw = 0;
  for (let i = 0; i < CASES; i++) {
    const v4 = (i & 1) === 0;
    try {
      const k = r.bytes(v4 ? 14 : 38);
      (v4 ? CtKey4Global.fromBytes(k) : CtKey6Global.fromBytes(k)).toHost().dump(true);
      ctLine(k, 0, r.bytes(56), 0, v4);
    } catch {
      threw++;
    }
  }
  t.equal(threw, 0, `${CASES} random keys dumped and formatted`);
});

t.test('parsers: random text only ever fails with their own errors', async (t) => {
  const r = rng(0x7e57);
  const alphabet = '{}[]":,0123456789-+.eE truefalsnul\\u"KeyValueDestAddrSourcePort';
  const text = (): string => {
    const n = r.int(64);
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[r.int(alphabet.length)] ?? '';
    return s;
  };
  let escapes = 0;
  for (let i = 0; i < CASES; i++) {
    const s = text();
    try { parseJSON(s); } catch (err) { if (!(err instanceof JsonSyntaxError)) escapes++; }
    try { parseCtMapRecords(s); } catch (err) { if (!(err instanceof JsonSyntaxError || err instanceof TypeError || err instanceof RangeError)) escapes++; }
    try { parseNatMapRecords(s); } catch (err) { if (!(err instanceof JsonSyntaxError || err instanceof TypeError || err instanceof RangeError)) escapes++; }
  }
  t.equal(escapes, 0, `${CASES} random texts × 3 parsers: only JsonSyntaxError, TypeError or RangeError`);
  // Structurally valid records with random field values: parsed or refused, never misread.
  let wrong = 0;
  for (let i = 0; i < CASES / 10; i++) {
    const rec = { Key: { DestAddr: [r.int(300), 0, 0, 1], SourceAddr: [1, 2, 3, 4], DestPort: r.int(70000), SourcePort: 1, NextHeader: r.int(300), Flags: 0 },
      Value: { Union0: [0, 0], Packets: 0, Bytes: 0, Lifetime: r.int(2) === 0 ? -1 : 5, Flags: 0, RevNAT: 0, NatPort: 0, TxFlagsSeen: 0, RxFlagsSeen: 0, SourceSecurityID: 0, LastTxReport: 0, LastRxReport: 0 } };
    const valid = (rec.Key.DestAddr[0] ?? 0) < 256 && rec.Key.DestPort < 65536 && rec.Key.NextHeader < 256 && rec.Value.Lifetime >= 0;
    try {
      const [p] = parseCtMapRecords(marshalIndent([rec]));
      if (!valid || p?.key.destPort !== rec.Key.DestPort) wrong++;
    } catch (err) {
      if (valid || !(err instanceof TypeError || err instanceof RangeError)) wrong++;
    }
  }
  t.equal(wrong, 0, `${CASES / 10} records with random field values: in-range ones parsed exactly, the rest refused`);
  let addrEscapes = 0;
  for (let i = 0; i < CASES; i++) {
    const n = r.int(40);
    let s = '';
    for (let j = 0; j < n; j++) s += '0123456789abcdef:.%[]fx'[r.int(23)] ?? '';
    try { parseAddr(s); } catch (err) { if (!(err instanceof AddrParseError)) addrEscapes++; }
  }
  t.equal(addrEscapes, 0, `${CASES} random address texts: only AddrParseError`);
});
