// Property tests: random bytes → decode to fields → encode is the identity
// for every struct (padding aside), and toHost(toNetwork(k)) is k. Seeded.
import t from 'tap';
import {
  CtEntry, CtKey4Global, CtKey6Global, NatEntry4, NatEntry6, NatKey4, NatKey6, TupleKey4Global, TupleKey6Global,
  ipv4NatEntry, ipv6NatEntry,
} from '../../src/structs/index.js';
import { rng } from '../helpers/rng.js';

const CASES = 100_000;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

t.test('tuple keys round-trip through their fields', async (t) => {
  const r = rng(0xc7);
  const kinds = [[CtKey4Global, 14], [CtKey6Global, 38], [NatKey4, 14], [NatKey6, 38], [TupleKey4Global, 14], [TupleKey6Global, 38]] as const;
  for (const [K, n] of kinds) {
    let bad = 0;
    let swapBad = 0;
    for (let i = 0; i < CASES; i++) {
      const b = r.bytes(n);
      const k = K.fromBytes(b);
      const again = new K(k.toFields());
      if (!sameBytes(again.toBytes(), b)) bad++;
      if (!sameBytes(k.toNetwork().toHost().toBytes(), b)) swapBad++;
    }
    t.equal(bad, 0, `${K.name}: ${CASES} decode/encode cases`);
    t.equal(swapBad, 0, `${K.name}: ${CASES} toHost(toNetwork(k)) cases`);
  }
});

t.test('values round-trip through their fields', async (t) => {
  const r = rng(0xe7);
  let bad = 0;
  for (let i = 0; i < CASES; i++) {
    const b = r.bytes(56);
    if (!sameBytes(new CtEntry(CtEntry.fromBytes(b).toFields()).toBytes(), b)) bad++;
  }
  t.equal(bad, 0, `CtEntry: ${CASES} cases`);
  for (const [E, L] of [[NatEntry4, ipv4NatEntry], [NatEntry6, ipv6NatEntry]] as const) {
    let nbad = 0;
    for (let i = 0; i < CASES; i++) {
      const b = r.bytes(L.size);
      // Trailing alignment padding carries no field (Go's `_`), so it is zero after a round trip.
      b.fill(0, L.offsetOf.port + 2);
      if (!sameBytes(new E(E.fromBytes(b).toFields()).toBytes(), b)) nbad++;
    }
    t.equal(nbad, 0, `${E.name}: ${CASES} cases`);
  }
});

t.test('JSON round-trips for random structs', async (t) => {
  const r = rng(0x15);
  let bad = 0;
  for (let i = 0; i < 20_000; i++) {
    const kb = r.bytes(14);
    const eb = r.bytes(56);
    const k = CtKey4Global.fromJSON(JSON.parse(JSON.stringify(CtKey4Global.fromBytes(kb))));
    const e = CtEntry.fromJSON(JSON.parse(JSON.stringify(CtEntry.fromBytes(eb))));
    if (!sameBytes(k.toBytes(), kb) || !sameBytes(e.toBytes(), eb)) bad++;
  }
  t.equal(bad, 0, '20000 key+entry JSON round trips');
});

t.test('ctLine (the CLI\'s buffer formatter) writes exactly what the key and entry objects write', async (t) => {
  const { ctLine } = await import('../../src/ctmap/text.js');
  const { CtKey4Global, CtKey6Global, CtEntry } = await import('../../src/structs/index.js');
  const r = rng(77);
  let mismatches = 0;
  let skipped = 0;
  const cases = 100_000;
  for (let i = 0; i < cases; i++) {
    const v4 = (i & 1) === 0;
    const k = r.bytes(v4 ? 14 : 38);
    const v = r.bytes(56);
    // Cover the common shapes often: small flags, a known protocol, sometimes next header 0, small u64s.
    k[k.length - 1] = r.int(8);
    if (r.int(4) !== 0) k[k.length - 2] = [1, 6, 17, 58, 132][r.int(5)] ?? 6;
    if (r.int(16) === 0) k[k.length - 2] = 0;
    if (r.int(2) === 0) v.fill(0, 20, 24);
    if (r.int(2) === 0) v.fill(0, 12, 16);
    const key = v4 ? new CtKey4Global(k.slice()) : new CtKey6Global(k.slice());
    const want = key.toHost().dump(true);
    const rem = r.int(2) === 0 ? undefined : (l: number) => `remaining: ${l - 5} sec(s)`;
    const got = ctLine(k, 0, v, 0, v4, rem);
    if (want === undefined) {
      if (got !== undefined) mismatches++;
      skipped++;
      continue;
    }
    if (got !== want + new CtEntry(v.slice()).stringWithTimeDiff(rem)) mismatches++;
  }
  t.equal(mismatches, 0, `${cases} random entries (${skipped} with next header 0), v4 and v6: identical text`);
});
