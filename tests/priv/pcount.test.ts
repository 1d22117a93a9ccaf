// The vector entry point (shim ctmap_bpf_vec, src/syscall/vector.ts) and the parallel count over bucket ranges
// (src/syscall/pcount.ts), on real maps: exact against the one-thread count for every shape we can think of.
import t from 'tap';
import { BpfMap } from '../../src/syscall/map.js';
import { BpfCmd, MapType, mapElemAttr, type MapTypeValue } from '../../src/syscall/attr.js';
import { defaultKernel } from '../../src/syscall/kernel.js';
import { countParallel, hashBuckets } from '../../src/syscall/pcount.js';
import { Errno } from '../../src/syscall/errors.js';
import { dataView } from '../../src/structs/bytes.js';
import { requirePrivileged } from '../helpers/priv.js';
import { rng } from '../helpers/rng.js';

function filled(type: MapTypeValue, maxEntries: number, n: number, seed: number, keySize = 14, valueSize = 56): BpfMap {
  const m = BpfMap.create({ name: 'ctmap_pcount', type, keySize, valueSize, maxEntries });
  const r = rng(seed);
  const keys = new Uint8Array(n * keySize);
  for (let i = 0; i < n; i++) {
    keys.set(r.bytes(keySize), i * keySize);
    dataView(keys).setUint32(i * keySize, i, true); // unique
  }
  if (n > 0) m.updateBatch(keys, r.bytes(n * valueSize), n);
  return m;
}

t.test('the vector: calls run in one crossing, results in place, stop after the first failure when asked', async (t) => {
  if (!requirePrivileged(t)) return;
  const k = defaultKernel();
  t.ok(k.backend.callVec !== undefined, 'the built shim has ctmap_bpf_vec');
  const m = filled(MapType.Hash, 64, 10, 1, 4, 8);
  t.teardown(() => { m.close(); });
  const lookups = [0, 3, 999, 9].map((i) => {
    const key = new Uint8Array(4);
    dataView(key).setUint32(0, i, true);
    const value = new Uint8Array(8);
    const attr = new Uint8Array(mapElemAttr.end);
    const dv = dataView(attr);
    dv.setUint32(mapElemAttr.offsetOf.map_fd, m.fdValue, true);
    dv.setBigUint64(mapElemAttr.offsetOf.key, k.address(key), true);
    dv.setBigUint64(mapElemAttr.offsetOf.value, k.address(value), true);
    return { key, value, attr };
  });
  const v = k.vector(8);
  for (const l of lookups) v.add(BpfCmd.BPF_MAP_LOOKUP_ELEM, l.attr);
  t.equal(v.length, 4);
  t.equal(v.run(false), 4, 'all four ran');
  t.same([0, 1, 2, 3].map((i) => v.result(i)), [0, 0, -Errno.ENOENT, 0], 'the missing key is -ENOENT in its slot');
  t.same(lookups[1]?.value, m.get(lookups[1]?.key ?? new Uint8Array(4)), 'the value landed in the caller\'s buffer');
  t.equal(v.run(true), 3, 'stopOnError: nothing after the failing call');
  t.equal(v.result(3), undefined, 'a call that did not run has no result');
  t.equal(await v.runAsync(false), 4, 'on a worker thread too');
  t.equal(v.result(2), -Errno.ENOENT);
  // Fault injection sees every call: an intercepted kernel has no vector entry point and runs them one by one.
  const seen: number[] = [];
  const ik = k.intercept((cmd, attr, size, next) => { seen.push(cmd); return next(cmd, attr, size); });
  const iv = ik.vector(4);
  for (const l of lookups) iv.add(BpfCmd.BPF_MAP_LOOKUP_ELEM, l.attr);
  t.equal(iv.run(true), 3);
  t.same([0, 1, 2].map((i) => iv.result(i)), [0, 0, -Errno.ENOENT]);
  t.same(seen, [1, 1, 1], 'three calls through the interceptor');
  v.clear();
  t.equal(v.length, 0);
  t.throws(() => k.vector(0), /1…65536 calls/);
  const one = k.vector(1);
  one.add(BpfCmd.BPF_MAP_LOOKUP_ELEM, lookups[0]?.attr ?? new Uint8Array(0));
  t.throws(() => one.add(BpfCmd.BPF_MAP_LOOKUP_ELEM, new Uint8Array(8)), /vector full \(1 calls\)/);
});

t.test('parallel count = one-thread count: map types, sizes, fill levels, workers, chunk sizes', async (t) => {
  if (!requirePrivileged(t)) return;
  const shapes: [MapTypeValue, number, number][] = [
    [MapType.LRUHash, 1000, 0], [MapType.LRUHash, 1000, 1], [MapType.LRUHash, 1000, 700], [MapType.Hash, 4096, 4096],
    [MapType.Hash, 65536, 50000], [MapType.LRUHash, 262144, 120000], [MapType.Hash, 3, 3],
  ];
  let checked = 0;
  for (const [type, max, n] of shapes) {
    const m = filled(type, max, n, max + n);
    const want = m.count();
    // An LRU map may evict on insert when per-CPU lists run dry: compare with what is there, and know it is most of it.
    t.ok(type === MapType.LRUHash ? want > n * 0.8 || n < 10 : want === n, `${want} of ${n} entries in a map of ${max}`);
    for (const workers of [1, 2, 3, 4, 7]) {
      for (const chunk of [undefined, 1, 7, 256]) {
        if (chunk !== undefined && chunk < 7 && n > 5000) continue;
        const got = await countParallel(m, { workers, ...(chunk === undefined ? {} : { chunk }) });
        checked++;
        if (got !== want) t.equal(got, want, `${n} entries, max ${max}, ${workers} workers, chunk ${String(chunk)}`);
      }
    }
    t.equal(await m.countAsync(), want, 'countAsync with its defaults');
    m.close();
  }
  t.ok(checked > 100, `${checked} parallel counts compared`);
  t.equal(hashBuckets(1000), 1024);
  t.equal(hashBuckets(1024), 1024);
  t.equal(hashBuckets(1), 1);
});

t.test('parallel count: bad options are refused, other map types counted on one thread', async (t) => {
  if (!requirePrivileged(t)) return;
  const m = filled(MapType.Hash, 128, 50, 3);
  t.teardown(() => { m.close(); });
  for (const workers of [0, 65, 1.5]) await t.rejects(countParallel(m, { workers }), /workers must be an integer in 1…64/);
  await t.rejects(countParallel(m, { chunk: 0 }), /batch chunk must be a positive integer/);
  const arr = BpfMap.create({ name: 'ctmap_arr', type: MapType.Array, keySize: 4, valueSize: 4, maxEntries: 8 });
  t.teardown(() => { arr.close(); });
  await t.rejects(countParallel(arr, {}), /unsupported map type|needs a hash or LRU hash map/);
});
