// NAT pieces without the kernel: key derivations (§8.3), the reliable walk (§6.3/§13.1), the key set, the port clamp.
import t from 'tap';
import { inspect } from 'node:util';
import { egressCTKeyFromEgressNatKey, dsrCTKeyFromEgressNatKey, egressCTKeyFromIngressNatKeyAndVal, IPv4, NatMap } from '../../src/nat/index.js';
import { NatGCStats } from '../../src/ctmap/index.js';
import {
  NatClusterOuterMapName, NatClusterInnerMapName, NatClusterOuterMapNameTestOverride, GetClusterNATMap,
} from '../../src/compat/index.js';
import { NatKey4, NatKey6, NatEntry4, NatEntry6, TupleKey4Global, TupleKey6Global, KeySet, KeyList } from '../../src/structs/index.js';
import { DumpStats, NewDumpStats, MaxLookupError, dumpReliably, type ReliableTarget } from '../../src/syscall/index.js';
import { clampPort, seededRandom } from '../../src/testing/emulator.js';
import { caught } from '../helpers/priv.js';

const msg = (e: unknown): string => (e instanceof Error ? e.message : `not an error: ${String(e)}`);

t.test('key derivations follow the spec table (nothing byte-swapped)', async (t) => {
  const k = new NatKey4({ destAddr: '1.1.1.1', sourceAddr: '10.0.1.5', destPort: 0x5000, sourcePort: 0x409c, nextHeader: 6, flags: 0 });
  const e = egressCTKeyFromEgressNatKey(k);
  t.ok(e instanceof TupleKey4Global);
  t.same(e.toFields(), { destAddr: '10.0.1.5', sourceAddr: '1.1.1.1', destPort: 0x5000, sourcePort: 0x409c, nextHeader: 6, flags: 0 });
  const d = dsrCTKeyFromEgressNatKey(k);
  t.same(d.toFields(), { destAddr: '1.1.1.1', sourceAddr: '10.0.1.5', destPort: 0x409c, sourcePort: 0x5000, nextHeader: 6, flags: 0 });
  const rin = new NatKey4({ destAddr: '192.0.2.1', sourceAddr: '1.1.1.1', destPort: 0x0080, sourcePort: 0x5000, nextHeader: 6, flags: 1 });
  const v = new NatEntry4({ addr: '10.0.1.5', port: 0x409c });
  const i = egressCTKeyFromIngressNatKeyAndVal(rin, v);
  t.same(i.toFields(), { destAddr: '10.0.1.5', sourceAddr: '1.1.1.1', destPort: 0x5000, sourcePort: 0x409c, nextHeader: 6, flags: 0 },
    'the RevSNAT entry leads back to the egress CT key');
  const k6 = new NatKey6({ destAddr: '2001:db8::1', sourceAddr: 'fd00::5', destPort: 0x3500, sourcePort: 0x50c3, nextHeader: 17, flags: 0 });
  const e6 = egressCTKeyFromEgressNatKey(k6);
  t.ok(e6 instanceof TupleKey6Global);
  t.same([e6.destAddr, e6.sourceAddr, e6.destPort, e6.sourcePort], ['fd00::5', '2001:db8::1', 0x3500, 0x50c3]);
  const i6 = egressCTKeyFromIngressNatKeyAndVal(new NatKey6({ sourceAddr: '2001:db8::1', sourcePort: 0x3500, nextHeader: 17, flags: 1 }),
    new NatEntry6({ addr: 'fd00::5', port: 0x50c3 }));
  t.same([i6.destAddr, i6.sourceAddr, i6.sourcePort, i6.destPort, i6.flags], ['fd00::5', '2001:db8::1', 0x50c3, 0x3500, 0]);
});

/** A map of string keys with scripted vanishings, as the reliable walk sees one. */
function fakeMap(keys: string[], opts: { vanishOnLookup?: Set<string>; nextError?: string; closed?: boolean; firstError?: boolean; loop?: boolean } = {}): ReliableTarget {
  const enc = (s: string): Uint8Array => Uint8Array.of(s.charCodeAt(0));
  const dec = (b: Uint8Array): string => String.fromCharCode(b[0] ?? 0);
  return {
    closed: opts.closed ?? false,
    keySize: 1,
    valueBufferSize: 1,
    nextKey(key) {
      if (key === null) {
        if (opts.firstError === true) throw new Error('EIO');
        return keys.length === 0 ? undefined : enc(keys[0] ?? '');
      }
      const i = keys.indexOf(dec(key));
      if (opts.nextError !== undefined && dec(key) === opts.nextError) throw new Error('get next key failed');
      // A key the kernel no longer has restarts the walk from the first key, as hash maps do.
      if (i < 0) return enc(keys[0] ?? '');
      if (opts.loop === true && i === keys.length - 1) return enc(keys[0] ?? '');
      return i + 1 < keys.length ? enc(keys[i + 1] ?? '') : undefined;
    },
    lookupInto(key, out) {
      const k = dec(key);
      if (opts.vanishOnLookup?.has(k) === true) {
        opts.vanishOnLookup.delete(k);
        keys.splice(keys.indexOf(k), 1);
        return false;
      }
      out[0] = k.charCodeAt(0);
      return keys.includes(k);
    },
  };
}

t.test('dumpReliably: vanished keys fall back or skip, the walk is bounded, errors are Go\'s', async (t) => {
  const seen = (m: ReliableTarget, stats: DumpStats): string[] => {
    const out: string[] = [];
    dumpReliably(m, (k, v) => { out.push(String.fromCharCode(k[0] ?? 0) + String.fromCharCode(v[0] ?? 0)); }, stats);
    return out;
  };
  let s = new DumpStats(10);
  t.same(seen(fakeMap(['a', 'b', 'c']), s), ['aa', 'bb', 'cc']);
  t.same([s.lookup, s.completed, s.lookupFailed], [3, true, 0]);
  t.ok(s.started instanceof Date && s.finished instanceof Date && s.duration() >= 0);
  s = new DumpStats(10);
  t.same(seen(fakeMap([]), s), []);
  t.same([s.lookup, s.completed], [1, true], 'an empty map completes at once');
  // "b" vanishes between GET_NEXT_KEY and LOOKUP: fall back to "a", whose next is now "c".
  s = new DumpStats(10);
  t.same(seen(fakeMap(['a', 'b', 'c'], { vanishOnLookup: new Set(['b']) }), s), ['aa', 'aa', 'cc']);
  t.same([s.lookupFailed, s.keyFallback, s.interrupted, s.completed], [1, 1, 0, true], 'key fallback once');
  // The first key vanishes: no previous key, skip ahead.
  s = new DumpStats(10);
  t.same(seen(fakeMap(['a', 'b'], { vanishOnLookup: new Set(['a']) }), s), ['bb']);
  t.same([s.lookupFailed, s.interrupted], [1, 1]);
  // The last key vanishes with nothing after it and no fallback left: the walk is over.
  s = new DumpStats(10);
  t.same(seen(fakeMap(['a'], { vanishOnLookup: new Set(['a']) }), s), []);
  t.ok(s.completed);
  // A map rewritten under the walk forever: bounded by 4 × max_entries.
  s = new DumpStats(2);
  const e = caught(() => seen(fakeMap(['a', 'b'], { loop: true }), s));
  t.ok(e instanceof MaxLookupError);
  t.equal(msg(e), 'maximum number of lookups reached');
  t.equal(s.lookup, 9);
  t.notOk(s.completed);
  t.ok(s.finished instanceof Date, 'finished is stamped on failure too');
  t.equal(msg(caught(() => seen(fakeMap(['a', 'b'], { nextError: 'a' }), new DumpStats(10)))), 'get next key failed');
  t.equal(msg(caught(() => seen(fakeMap(['a'], { closed: true }), new DumpStats(10)))), 'map is closed');
  t.equal(msg(caught(() => { dumpReliably(fakeMap(['a']), undefined, new DumpStats(1)); })), 'empty callback');
  t.equal(msg(caught(() => { dumpReliably(fakeMap(['a']), () => undefined, undefined); })), 'stats is nil');
  // Go ignores a failing first GET_NEXT_KEY and walks on from a zero key.
  s = new DumpStats(4);
  t.same(seen(fakeMap(['a'], { firstError: true }), s), ['aa'], 'walks on from the zero key');
  t.equal(NewDumpStats({ maxEntries: 7 }).maxEntries, 7);
  t.same(Object.keys(new DumpStats(1).toJSON()), ['started', 'finished', 'lookup', 'lookupFailed', 'prevKeyUnavailable', 'keyFallback', 'maxEntries', 'interrupted', 'completed']);
});

t.test('KeySet and KeyList: compact sets of fixed-size keys', async (t) => {
  const set = new KeySet(14, 4);
  const keys: Uint8Array[] = [];
  const r = seededRandom(5);
  for (let i = 0; i < 5000; i++) {
    const k = new Uint8Array(14);
    for (let j = 0; j < 14; j++) k[j] = Math.floor(r() * 256);
    keys.push(k);
    set.add(k, 0, i & 1);
  }
  t.equal(set.size, 5000, 'grew from 16 slots');
  t.ok(keys.every((k, i) => set.tag(set.find(k)) === (i & 1)), 'every key found with its tag');
  const buf = new Uint8Array(28);
  buf.set(keys[42] ?? new Uint8Array(14), 14);
  t.ok(set.has(buf, 14), 'keys are found at an offset in a larger buffer');
  t.notOk(set.has(new Uint8Array(14)), 'absent key');
  set.add(keys[0] ?? new Uint8Array(14), 0, 9);
  t.equal(set.size, 5000, 'adding a present key only retags it');
  t.equal(set.tag(set.find(keys[0] ?? new Uint8Array(14))), 9);
  t.ok(set.byteLength >= 5000 * 14);
  t.match(msg(caught(() => new KeySet(0))), 'key size');
  const list = new KeyList(3, 1);
  for (let i = 0; i < 100; i++) list.push(Uint8Array.of(9, i, i, i, 9), 1);
  t.equal(list.count, 100);
  t.same([...list.bytes.subarray(297, 300)], [99, 99, 99]);
});

t.test('the datapath port clamp and the seeded generator', async (t) => {
  t.equal(clampPort(32768, 65535, 0), 32768);
  t.equal(clampPort(32768, 65535, 65535), 65535);
  t.equal(clampPort(0, 65535, 65536), 0, '65536 × 65536 wraps in u32');
  t.equal(clampPort(40000, 40003, 32768), 40002);
  const a = seededRandom(1);
  const b = seededRandom(1);
  const xs = Array.from({ length: 5 }, () => a());
  t.same(xs, Array.from({ length: 5 }, () => b()), 'same seed, same sequence');
  t.ok(xs.every((x) => x >= 0 && x < 1));
});

t.test('per-cluster NAT names and stats printing', async (t) => {
  t.teardown(() => { NatClusterOuterMapNameTestOverride(undefined); });
  t.equal(NatClusterOuterMapName('ipv4'), 'cilium_per_cluster_snat_v4_external');
  t.equal(NatClusterInnerMapName('ipv6', 7), 'cilium_per_cluster_snat_v6_external_7');
  NatClusterOuterMapNameTestOverride('test');
  t.equal(NatClusterOuterMapName('ipv4'), 'test_cilium_per_cluster_snat_v4_external');
  t.match(msg(caught(() => { NatClusterOuterMapNameTestOverride(''); })), 'non-empty');
  NatClusterOuterMapNameTestOverride(undefined);
  const m = GetClusterNATMap(5, 'ipv4');
  t.ok(m instanceof NatMap);
  t.same([m.name, m.clusterID, m.isOpen], ['cilium_per_cluster_snat_v4_external_5', 5, false]);
  t.match(inspect(m), /^NatMap\(cilium_per_cluster_snat_v4_external_5 ipv4 max=\d+ cluster=5 closed\)/);
  t.equal(String(m), 'cilium_per_cluster_snat_v4_external_5');
  t.same((JSON.parse(JSON.stringify(m)) as { family: string }).family, 'ipv4');
  t.equal(msg(caught(() => GetClusterNATMap(256, 'ipv4'))), 'ClusterID > 255 is not supported');
  const s = new NatGCStats(IPv4, 0, new DumpStats(10));
  s.egressDeleted = 3;
  t.equal(inspect(s), 'NatGCStats(ipv4 ingress alive=0 deleted=0 egress alive=0 deleted=3)');
  s.error = new Error('boom');
  t.match(inspect(s), 'error="boom"');
  t.same((JSON.parse(JSON.stringify(s)) as { egressDeleted: number }).egressDeleted, 3);
});
