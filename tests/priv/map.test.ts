// The generic map layer against the real kernel, in a private bpffs.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { caught, privateBpffs, requirePrivileged } from '../helpers/priv.js';
import {
  defaultKernel,
  BpfMap, MapType, UpdateFlags, BpfError, MapIncompatibleError, isNotExist, isBpffs, ensurePinDir, mountBpffs,
  unmountBpffs, objGet, mapGetFdById, objName, shimCandidates, loadKoffiBackend, ShimNotFoundError, IterationError,
} from '../../src/syscall/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const LRU = { name: 'test_lru', type: MapType.LRUHash, keySize: 4, valueSize: 8, maxEntries: 4096 } as const;

function key(i: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, i, true);
  return b;
}
function val(i: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(i), true);
  return b;
}

t.test('element ops: get/set/delete/nextKey, update flags, missing keys are values', async (t) => {
  if (!requirePrivileged(t)) return;
  using m = BpfMap.create(LRU);
  t.equal(m.type, MapType.LRUHash);
  t.equal(m.keySize, 4);
  t.equal(m.name, 'test_lru');
  t.ok(m.id > 0);
  t.equal(m.get(key(1)), undefined, 'a missing key is undefined');
  t.equal(m.delete(key(1)), false);
  t.equal(m.nextKey(null), undefined, 'empty map has no first key');
  m.set(key(1), val(11));
  t.same(m.get(key(1)), val(11));
  { const e = caught(() => { m.set(key(1), val(12), UpdateFlags.BPF_NOEXIST); }); t.ok(e instanceof BpfError && e.code === 'EEXIST', 'throws the expected error'); }
  t.throws(() => { m.set(key(2), val(12), UpdateFlags.BPF_EXIST); }, /ENOENT/);
  m.set(key(1), val(13), UpdateFlags.BPF_EXIST);
  const out = new Uint8Array(8);
  t.ok(m.lookupInto(key(1), out));
  t.same(out, val(13));
  t.notOk(m.lookupInto(key(9), out));
  m.set(key(2), val(2));
  const first = m.nextKey(null);
  t.ok(first !== undefined);
  const second = m.nextKey(first!);
  t.ok(second !== undefined);
  t.equal(m.nextKey(second!), undefined);
  t.equal(m.delete(key(1)), true);
  t.equal(m.get(key(1)), undefined);
  t.throws(() => m.get(new Uint8Array(3)), /key must be 4 bytes, got 3/);
  t.throws(() => { m.set(key(1), new Uint8Array(7)); }, /value must be 8 bytes, got 7/);
  t.throws(() => m.get('x' as never), /must be a Uint8Array/);
  t.throws(() => m.lookupInto(key(1), new Uint8Array(2)), /value buffer must be 8 bytes/);
  t.equal(m.count(), 1, 'a failed call changed nothing');
  t.match(String(m), /^BpfMap\(test_lru LRUHash key=4 value=8 max=4096\)$/);
  t.same(m.toJSON(), { name: 'test_lru', type: 'LRUHash', keySize: 4, valueSize: 8, maxEntries: 4096, flags: 0, id: m.id, pinnedAt: null, closed: false });
});

t.test('iteration: entries() and batch walk with ENOSPC growth over >1 chunk', async (t) => {
  if (!requirePrivileged(t)) return;
  using m = BpfMap.create({ ...LRU, type: MapType.Hash, maxEntries: 20000 });
  const keys = new Uint8Array(10000 * 4);
  const values = new Uint8Array(10000 * 8);
  for (let i = 0; i < 10000; i++) { keys.set(key(i), i * 4); values.set(val(i * 3), i * 8); }
  t.same(m.updateBatch(keys, values), { done: 10000, missing: 0 });
  let walked = 0;
  for (const [k, v] of m.entries()) {
    walked++;
    if (new DataView(v.buffer).getBigUint64(0, true) !== BigInt(new DataView(k.buffer).getUint32(0, true) * 3)) t.fail('value mismatch');
  }
  t.equal(walked, 10000);
  let batchesSeen = 0;
  const grown: number[] = [];
  const seen = new Set<number>();
  for (const b of m.batches({ chunk: 1, onGrow: (c) => grown.push(c) })) {
    batchesSeen++;
    const dv = new DataView(b.keys.buffer, b.keys.byteOffset);
    for (let i = 0; i < b.count; i++) seen.add(dv.getUint32(i * 4, true));
  }
  t.equal(seen.size, 10000, 'every entry delivered exactly once');
  t.ok(batchesSeen > 1, `${batchesSeen} batches`);
  t.ok(grown.length > 0, `chunk grew on ENOSPC: ${grown.join(' ')}`);
  t.equal(m.count(), 10000, 'count with the default chunk');
  // The pipelined walk on koffi's worker threads: the same entries in the same order, values with their keys.
  t.ok(m.kernel.threaded, 'the koffi kernel runs async calls on worker threads');
  const order = (bs: Iterable<{ keys: Uint8Array; values: Uint8Array; count: number }>, out: string[]): void => {
    for (const b of bs) for (let i = 0; i < b.count; i++) out.push(Buffer.from(b.keys.subarray(i * 4, i * 4 + 4)).toString('hex') + Buffer.from(b.values.subarray(i * 8, i * 8 + 8)).toString('hex'));
  };
  for (const chunk of [1, 64, undefined]) {
    const want: string[] = [];
    order(m.batches(chunk === undefined ? {} : { chunk }), want);
    const got: string[] = [];
    const grownAsync: number[] = [];
    for await (const b of m.batchesAsync(chunk === undefined ? {} : { chunk, onGrow: (c) => grownAsync.push(c) })) order([b], got);
    t.equal(got.length, 10000, `batchesAsync (chunk ${chunk ?? 'Cilium\'s'}): every entry`);
    t.same(got, want, 'in the synchronous walk\'s order, each value with its key');
    if (chunk === 1) t.ok(grownAsync.length > 0, `the async walk grew its chunk too: ${grownAsync.join(' ')}`);
  }
  // A break part-way, then closing the map at once: the call in flight has finished by then.
  {
    using m2 = BpfMap.fromId(m.id);
    let taken = 0;
    for await (const b of m2.batchesAsync({ chunk: 128 })) {
      taken += b.count;
      if (taken > 1000) break;
    }
    t.ok(taken > 1000 && taken < 10000, `broke off after ${taken}`);
  }
  const del = new Uint8Array(4 * 4);
  [0, 5, 999999, 6].forEach((v, i) => { del.set(key(v), i * 4); });
  t.same(m.deleteBatch(del), { done: 3, missing: 1 }, 'a vanished key is skipped, the rest are deleted');
  t.equal(m.count(), 9997);
  using arr = BpfMap.create({ name: 'arr', type: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 4 });
  t.throws(() => arr.count(), IterationError);
});

t.test('pinning, openPinned, openOrCreate and incompatible pins', async (t) => {
  if (!requirePrivileged(t)) return;
  const fs = privateBpffs(t);
  t.ok(isBpffs(fs));
  const path = join(fs, 'tc', 'globals', 'test_lru');

  const r1 = BpfMap.openOrCreate(LRU, path);
  t.equal(r1.outcome, 'created');
  t.ok(existsSync(path));
  r1.map.set(key(7), val(7));
  r1.map.close();
  const r2 = BpfMap.openOrCreate(LRU, path);
  t.equal(r2.outcome, 'opened');
  t.same(r2.map.get(key(7)), val(7), 'contents kept');
  t.equal(r2.map.pinnedAt, path);
  r2.map.close();

  { const e = caught(() => BpfMap.openPinned(path, { expect: { ...LRU, keySize: 14 } })); t.ok(e instanceof MapIncompatibleError && e.field === 'key size' && e.want === 14 && e.got === 4, 'throws the expected error'); }
  t.throws(() => BpfMap.openPinned(path, { expect: { ...LRU, type: MapType.Hash } }), /type is LRUHash, expected Hash/);
  t.throws(() => BpfMap.openPinned(path, { expect: { ...LRU, valueSize: 56 } }), /value size is 8, expected 56/);
  t.throws(() => BpfMap.openPinned(path, { expect: { ...LRU, maxEntries: 1 } }), /max entries is 4096, expected 1/);
  t.throws(() => BpfMap.openPinned(path, { expect: { ...LRU, flags: 2 } }), /flags is 0x0, expected 0x2/);
  using still = BpfMap.openPinned(path);
  t.same(still.get(key(7)), val(7), 'a refused open changed nothing');

  const r3 = BpfMap.openOrCreate({ ...LRU, valueSize: 16 }, path);
  t.equal(r3.outcome, 'recreated');
  t.equal(r3.replaced?.field, 'value size');
  t.match(r3.replaced?.message, `pinned map ${path} is incompatible: value size is 8, expected 16`, 'the reason is a value: the caller decides how to report it');
  t.equal(r3.map.valueSize, 16);
  t.equal(r3.map.count(), 0, 'contents of the incompatible map are gone');
  r3.map.unpin();
  r3.map.unpin();
  t.notOk(existsSync(path), 'unpin removed the pin, and is idempotent');
  r3.map.close();

  const missing = join(fs, 'nope');
  { const e = caught(() => BpfMap.openPinned(missing)); t.ok(e instanceof BpfError && e.code === 'ENOENT'
    && e.message.includes(missing) && isNotExist(e), 'throws the expected error'); }
  t.throws(() => objGet(defaultKernel(), missing), /ENOENT/);
  using m = BpfMap.create(LRU);
  t.throws(() => { m.pin('/tmp/not-bpffs/x'); }, /not on a bpffs mount/);
  t.throws(() => { ensurePinDir('/proc/x/y'); }, /not on a bpffs mount/);
  m.pin(join(fs, 'a'));
  { const e = caught(() => { m.pin(join(fs, 'a')); }); t.ok(e instanceof BpfError && e.code === 'EEXIST', 'throws the expected error'); }
  writeFileSync(join(fs, '..', 'ctmap-not-a-map-probe'), '');
  t.throws(() => BpfMap.openPinned(join(fs, '..', 'ctmap-not-a-map-probe')), BpfError);
});

t.test('map-in-map: array and hash of maps, inner ids, reopen by id', async (t) => {
  if (!requirePrivileged(t)) return;
  const inner = { name: 'inner', type: MapType.LRUHash, keySize: 4, valueSize: 8, maxEntries: 1024 } as const;
  for (const type of [MapType.ArrayOfMaps, MapType.HashOfMaps] as const) {
    using outer = BpfMap.create({ name: 'outer', type, keySize: 4, valueSize: 4, maxEntries: 8, innerMap: inner });
    using a = BpfMap.create(inner);
    a.set(key(1), val(42));
    outer.setInner(key(3), a);
    const id = outer.innerId(key(3));
    t.equal(id, a.id, 'a lookup returns the inner map id');
    using again = BpfMap.fromId(id!);
    t.same(again.get(key(1)), val(42));
    t.equal(outer.innerId(key(4)), type === MapType.HashOfMaps ? undefined : undefined);
    using wrong = BpfMap.create({ ...inner, keySize: 8 });
    t.throws(() => { outer.setInner(key(5), wrong); }, /EINVAL/, 'an inner map that does not match the template is refused');
    t.equal(outer.delete(key(3)), true);
  }
  t.throws(() => BpfMap.create({ name: 'x', type: MapType.ArrayOfMaps, keySize: 4, valueSize: 4, maxEntries: 2 }), /needs an innerMap spec/);
  t.throws(() => BpfMap.create({ ...LRU, innerMap: inner }), /needs type ArrayOfMaps or HashOfMaps/);
  t.throws(() => mapGetFdById(defaultKernel(), 0x7ffffff0), /ENOENT/);
});

t.test('creation errors name the parameter', async (t) => {
  if (!requirePrivileged(t)) return;
  t.throws(() => BpfMap.create({ ...LRU, maxEntries: 0 }), /maxEntries must be a positive u32, got 0/);
  t.throws(() => BpfMap.create({ ...LRU, keySize: -1 }), /keySize must be a positive u32/);
  t.throws(() => BpfMap.create({ ...LRU, name: 'bad name!' }), /only letters, digits/);
  { const e = caught(() => BpfMap.create({ ...LRU, type: 99 as never })); t.ok(e instanceof BpfError && e.code === 'EINVAL'
    && /type=MapType\(99\) key_size=4 value_size=8 max_entries=4096 flags=0x0/.test(e.message), 'throws the expected error'); }
  t.throws(() => BpfMap.create({ ...LRU, flags: 0x40000000 }), /EINVAL/);
  t.equal(new TextDecoder().decode(objName('cilium_ct4_global')).replace(/\0+$/, ''), 'cilium_ct4_glob', 'names are cut to 15 bytes');
});

t.test('EPERM when capabilities are dropped: the error says what to do', async (t) => {
  if (!requirePrivileged(t)) return;
  const script = resolve(here, '..', 'helpers', 'tryCreate.mjs');
  const out = execFileSync('capsh', ['--drop=cap_bpf,cap_sys_admin,cap_perfmon,cap_net_admin', '--', '-c', `exec ${process.execPath} ${script}`], { encoding: 'utf8' });
  const r = JSON.parse(out) as { ok: boolean; code?: string; message?: string; command?: string };
  t.equal(r.ok, false, 'creating a map without CAP_BPF fails');
  t.equal(r.code, 'EPERM');
  t.equal(r.command, 'BPF_MAP_CREATE');
  t.match(r.message, /run as root or with CAP_BPF/);
});

t.test('the shim: resolution order and a clear error', async (t) => {
  const c = shimCandidates({ CTMAP_SHIM: '/x/y.so' });
  t.equal(c[0], '/x/y.so');
  t.match(c[1], /build\/libctmapbpf\.so$/);
  t.match(c[2], new RegExp(`prebuilds/linux-${process.arch}/libctmapbpf\\.so$`), 'then the prebuild for this architecture');
  const e = caught(() => loadKoffiBackend({ CTMAP_SHIM: '/nonexistent.so' }, '/nonexistent-root'));
  t.ok(e instanceof ShimNotFoundError, 'a ShimNotFoundError');
  t.match((e as Error).message, new RegExp(`tried: /nonexistent\\.so, /nonexistent-root/build/libctmapbpf\\.so, /nonexistent-root/prebuilds/linux-${process.arch}/libctmapbpf\\.so \\(and no /nonexistent-root/shim/bpfshim\\.c to compile\\); run make`), 'lists every path tried');
  t.throws(() => loadKoffiBackend({ CTMAP_SHIM: '/etc/hostname' }), /run make/);
});

t.test('mountBpffs / unmountBpffs', async (t) => {
  if (!requirePrivileged(t)) return;
  const fs = privateBpffs(t);
  const sub = join(fs, 'nested');
  mountBpffs(sub);
  mountBpffs(sub);
  t.ok(isBpffs(sub));
  unmountBpffs(sub);
  unmountBpffs(sub);
  t.ok(isBpffs(sub), 'still inside the outer bpffs');
});
