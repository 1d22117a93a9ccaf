// src/syscall/iterate.ts against the fake kernel, call by call: the cursor chain (a NULL in_batch on the first call
// only), the errors that end a walk (ENOSPC at max_entries; EINVAL on a kernel without batch ops, named as such
// only when it is the first call), no empty batch handed out, the pipelined walk's two sets of buffers, and the
// batched update/delete: input checks that touch nothing, skipping keys that are not there, BatchError's fields.
import t from 'tap';
import { FakeKernel } from '../helpers/fakekernel.js';
import { BpfMap } from '../../src/syscall/map.js';
import { Kernel } from '../../src/syscall/kernel.js';
import { BpfCmd, MapType, UpdateFlags, mapBatchAttr } from '../../src/syscall/attr.js';
import { BpfError, Errno, NotSupportedError } from '../../src/syscall/errors.js';
import { Features, haveFeature } from '../../src/syscall/features.js';
import { BatchError, IterationError, deleteBatch, type Batch } from '../../src/syscall/iterate.js';
import { dataView } from '../../src/structs/bytes.js';

const o = mapBatchAttr.offsetOf;

function key(i: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, i, true);
  return b;
}
function val(i: number): Uint8Array {
  return new Uint8Array(8).fill(i);
}
function packed(ids: number[], size: 4 | 8): Uint8Array {
  const out = new Uint8Array(ids.length * size);
  ids.forEach((id, i) => { out.set(size === 4 ? key(id) : val(id), i * size); });
  return out;
}

/** A LOOKUP_BATCH call as the kernel saw it. */
interface Seen { inBatch: bigint; count: number }

/** A kernel over `fake` that records each LOOKUP_BATCH call and lets a test answer one itself. */
function spyKernel(fake: FakeKernel, seen: Seen[], answer?: (n: number, attr: Uint8Array) => number | undefined): Kernel {
  let n = 0;
  return new Kernel({
    name: 'fake+spy',
    address: (buf) => fake.address(buf),
    call: (cmd, attr, size) => {
      if (cmd === BpfCmd.BPF_MAP_LOOKUP_BATCH) {
        const dv = dataView(attr);
        seen.push({ inBatch: dv.getBigUint64(o.in_batch, true), count: dv.getUint32(o.count, true) });
        const r = answer?.(n++, attr);
        if (r !== undefined) return r;
      }
      return fake.call(cmd, attr, size);
    },
  });
}

function filled(kernel: Kernel, n: number, maxEntries = 64): BpfMap {
  const m = BpfMap.create({ name: 'f', type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries }, { kernel });
  for (let i = 0; i < n; i++) m.set(key(i), val(i));
  return m;
}

function idsOf(b: Batch): number[] {
  const dv = new DataView(b.keys.buffer, b.keys.byteOffset);
  return Array.from({ length: b.count }, (_, i) => dv.getUint32(i * 4, true));
}

type Walk = (m: BpfMap, chunk?: number) => Promise<Batch[]>;
const walks: [string, Walk][] = [
  ['batches()', async (m, chunk) => {
    // Copied as they come: a batch's buffers are reused by the next call.
    const out: Batch[] = [];
    for (const b of m.batches(chunk === undefined ? {} : { chunk })) out.push({ ...b, keys: b.keys.slice(), values: b.values.slice() });
    return out;
  }],
  ['batchesAsync()', async (m, chunk) => {
    const out: Batch[] = [];
    for await (const b of m.batchesAsync(chunk === undefined ? {} : { chunk })) out.push({ ...b, keys: b.keys.slice(), values: b.values.slice() });
    return out;
  }],
];

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return undefined;
}

t.test('IterationError carries a cause only when given one', async (t) => {
  const plain = new IterationError('x');
  t.equal(plain.name, 'IterationError');
  t.notOk(Object.hasOwn(plain, 'cause'), 'no cause property at all');
  const inner = new Error('inner');
  t.equal(new IterationError('y', inner).cause, inner);
});

for (const [name, walk] of walks) {
  t.test(`${name}: the first call starts from a NULL in_batch, each next one from the previous out_batch`, async (t) => {
    const fake = new FakeKernel();
    const seen: Seen[] = [];
    const m = filled(spyKernel(fake, seen), 40);
    const got = (await walk(m, 16)).flatMap(idsOf);
    t.same([...got].sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i), 'every entry once');
    t.ok(seen.length >= 3, `${seen.length} calls`);
    t.equal(seen[0]?.inBatch, 0n, 'first call: in_batch is NULL (start of the map)');
    t.ok(seen.slice(1).every((s) => s.inBatch !== 0n), 'every later call: in_batch points at a cursor');
    m.close();
  });

  t.test(`${name}: never hands out an empty batch`, async (t) => {
    // An empty map: the one call answers ENOENT with count 0.
    const fake = new FakeKernel();
    const seen: Seen[] = [];
    const empty = filled(spyKernel(fake, seen), 0);
    t.same(await walk(empty, 8), [], 'an empty map yields nothing');
    t.equal(seen.length, 1, 'one call');
    empty.close();
    // A call that succeeds with no entries (its cursor unmoved: out_batch = in_batch) is passed over, and the walk
    // goes on from there.
    const fake2 = new FakeKernel();
    const seen2: Seen[] = [];
    const m = filled(spyKernel(fake2, seen2, (n, attr) => {
      if (n !== 1) return undefined;
      const dv = dataView(attr);
      fake2.memory(dv.getBigUint64(o.out_batch, true), 4).set(fake2.memory(dv.getBigUint64(o.in_batch, true), 4));
      dv.setUint32(o.count, 0, true);
      return 0;
    }), 30);
    const batches = await walk(m, 8);
    t.ok(batches.every((b) => b.count > 0), `counts ${batches.map((b) => b.count).join(',')}`);
    t.same(batches.flatMap(idsOf).sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i), 'every entry once');
    t.ok(seen2.length >= 3, 'the empty answer came between others');
    m.close();
  });

  t.test(`${name}: ENOSPC with the chunk at max_entries ends the walk`, async (t) => {
    const fake = new FakeKernel();
    const m = filled(fake.kernel, 8, 8);
    fake.inject.push({ cmd: BpfCmd.BPF_MAP_LOOKUP_BATCH, errno: Errno.ENOSPC });
    fake.inject.push({ cmd: BpfCmd.BPF_MAP_LOOKUP_BATCH, errno: Errno.ENOSPC });
    const err = await failure(walk(m, 4));
    t.ok(err instanceof IterationError);
    t.equal((err as Error).message, 'failed to iterate map: batch size too small even at max_entries');
    t.ok(BpfError.is((err as Error).cause, 'ENOSPC'), 'the kernel\'s ENOSPC is the cause');
    t.equal(((err as Error).cause as BpfError).command, 'BPF_MAP_LOOKUP_BATCH');
    m.close();
  });

  t.test(`${name}: EINVAL is "needs Linux 5.6" only on a first call, on a kernel without batch ops`, async (t) => {
    // No batch ops: the walk's first call and the probe's both say EINVAL.
    const old = new FakeKernel();
    const m = filled(old.kernel, 8);
    old.inject.push({ cmd: BpfCmd.BPF_MAP_LOOKUP_BATCH, errno: Errno.EINVAL });
    old.inject.push({ cmd: BpfCmd.BPF_MAP_LOOKUP_BATCH, errno: Errno.EINVAL });
    const e1 = await failure(walk(m, 8));
    t.ok(e1 instanceof IterationError);
    t.equal((e1 as Error).message, `failed to iterate map: ${new NotSupportedError(Features.batchOps.description, '5.6').message}`);
    t.match((e1 as Error).message, /requires Linux 5\.6 or newer/);
    const ns = (e1 as Error).cause;
    t.ok(ns instanceof NotSupportedError, 'the cause is a NotSupportedError');
    t.ok(BpfError.is((ns as Error).cause, 'EINVAL'), '…over the kernel\'s EINVAL');
    t.equal(haveFeature(Features.batchOps, old.kernel), false, 'the probe ran and was remembered');
    // On that kernel, another errno on the first call is the kernel's own error, not "needs 5.6".
    old.inject.push({ cmd: BpfCmd.BPF_MAP_LOOKUP_BATCH, errno: Errno.EFAULT });
    const e0 = await failure(walk(m, 8));
    t.match((e0 as Error).message, /^failed to iterate map: BPF_MAP_LOOKUP_BATCH: bad address \(EFAULT\)/);
    t.notOk((e0 as Error).cause instanceof NotSupportedError);
    // The same kernel, EINVAL on a later call: a plain kernel error (the walk had already worked).
    old.inject.push({ cmd: BpfCmd.BPF_MAP_LOOKUP_BATCH, errno: Errno.EINVAL, after: 1 });
    const e2 = await failure(walk(m, 2));
    t.ok(e2 instanceof IterationError);
    t.match((e2 as Error).message, /^failed to iterate map: BPF_MAP_LOOKUP_BATCH: invalid argument \(EINVAL\)/);
    t.ok(BpfError.is((e2 as Error).cause, 'EINVAL'));
    t.notOk((e2 as Error).cause instanceof NotSupportedError);
    m.close();
    // A kernel with batch ops (the probe succeeds): EINVAL on the first call is the kernel's own error.
    const cur = new FakeKernel();
    const m2 = filled(cur.kernel, 8);
    cur.inject.push({ cmd: BpfCmd.BPF_MAP_LOOKUP_BATCH, errno: Errno.EINVAL });
    const e3 = await failure(walk(m2, 8));
    t.match((e3 as Error).message, /^failed to iterate map: BPF_MAP_LOOKUP_BATCH: invalid argument \(EINVAL\)/);
    t.notOk((e3 as Error).cause instanceof NotSupportedError);
    t.equal(haveFeature(Features.batchOps, cur.kernel), true);
    m2.close();
  });
}

t.test('batchesAsync() fills two sets of buffers in turn, sized to the chunk, new ones only when it grows', async (t) => {
  const fake = new FakeKernel();
  const m = filled(fake.kernel, 100, 128);
  const bufs = new Set<Uint8Array>();
  let n = 0;
  for await (const b of m.batchesAsync({ chunk: 8 })) {
    n++;
    bufs.add(b.keys);
    t.equal(b.keys.length, 8 * 4, 'keys sized to the chunk');
    t.equal(b.values.length, 8 * 8, 'values sized to the chunk');
  }
  t.ok(n > 4, `${n} batches`);
  t.equal(bufs.size, 2, 'two key buffers over the whole walk');
  // Growth: buffers follow the chunk; after the growth, again two of them.
  const sizes: number[] = [];
  const after = new Set<Uint8Array>();
  for await (const b of m.batchesAsync({ chunk: 1, onGrow: () => { after.clear(); } })) {
    sizes.push(b.keys.length);
    after.add(b.keys);
    t.ok(b.keys.length >= b.count * 4);
  }
  t.ok(sizes.at(-1)! > 4, `grew to ${sizes.at(-1)! / 4} entries`);
  t.ok(after.size <= 2, `at most two buffers since the last growth (${after.size})`);
  m.close();
});

t.test('batched update/delete: bad counts and short buffers throw and touch nothing', async (t) => {
  const fake = new FakeKernel();
  const m = filled(fake.kernel, 4);
  const calls = (): number => fake.calls.length;
  const before = calls();
  const keys = packed([0, 1, 2], 4);
  for (const count of [-1, 1.5, Number.NaN, 4]) {
    t.throws(() => m.deleteBatch(keys, count), RangeError, `deleteBatch count ${count}`);
    t.throws(() => m.updateBatch(keys, packed([7, 7, 7], 8), count), RangeError, `updateBatch count ${count}`);
  }
  t.throws(() => m.deleteBatch(keys, -1), { message: 'batch of -1 keys does not fit a 12-byte key buffer (key size 4)' });
  t.throws(() => m.updateBatch(keys, packed([7, 7], 8), 3),
    { name: 'RangeError', message: 'batch of 3 values does not fit a 16-byte value buffer (value size 8)' });
  t.equal(calls(), before, 'no call reached the kernel');
  t.equal(m.count(), 4);
  t.same(m.get(key(0)), val(0), 'nothing changed');
  t.same(m.deleteBatch(keys, 0), { done: 0, missing: 0 }, 'an empty batch is no call');
  m.close();
});

t.test('updateBatch with BPF_EXIST skips keys that are not there; each later value lands with its key', async (t) => {
  const fake = new FakeKernel();
  const m = filled(fake.kernel, 3);
  const ids = [0, 100, 1, 101, 102, 2];
  const values = packed(ids.map((i) => i + 50), 8);
  t.same(m.updateBatch(packed(ids, 4), values, ids.length, UpdateFlags.BPF_EXIST), { done: 3, missing: 3 });
  for (const i of [0, 1, 2]) t.same(m.get(key(i)), val(i + 50), `key ${i} has its new value`);
  for (const i of [100, 101, 102]) t.equal(m.get(key(i)), undefined, `key ${i} was not created`);
});

t.test('BatchError: the kernel\'s error, which command, how far it got', async (t) => {
  const fake = new FakeKernel();
  const m = filled(fake.kernel, 3);
  // BPF_NOEXIST on a present key: the kernel stops there with EEXIST.
  const e = (() => {
    try {
      m.updateBatch(packed([10, 11, 1, 12], 4), packed([1, 1, 1, 1], 8), 4, UpdateFlags.BPF_NOEXIST);
    } catch (err) {
      return err;
    }
    return undefined;
  })();
  t.ok(e instanceof BatchError);
  const be = e as BatchError;
  t.equal(be.name, 'BatchError');
  t.equal(be.processed, 2);
  t.equal(be.missing, 0);
  t.equal(be.errno, Errno.EEXIST);
  t.equal(be.code, 'EEXIST');
  t.ok(be.cause instanceof BpfError);
  t.equal((be.cause as BpfError).command, 'BPF_MAP_UPDATE_BATCH');
  t.equal(be.message, (be.cause as BpfError).message);
  t.match(be.message, /^BPF_MAP_UPDATE_BATCH after 2 of 4 elements: /);
  t.equal(m.get(key(11))?.[0], 1, 'the keys before it were written');
  t.equal(m.get(key(12)), undefined, 'the ones after it were not');
  // A delete the kernel cuts short with EPERM after two keys (a missing one before it counted).
  const del = new FakeKernel();
  const m2 = filled(del.kernel, 6);
  const cut = new Kernel({
    name: 'fake+cut', address: (b) => del.address(b),
    call: (cmd, attr, size) => {
      if (cmd !== BpfCmd.BPF_MAP_DELETE_BATCH) return del.call(cmd, attr, size);
      const dv = dataView(attr);
      const want = dv.getUint32(o.count, true);
      if (want < 4) {
        dv.setUint32(o.count, 2, true);
        const r = del.call(cmd, attr, size);
        return r < 0 ? r : -Errno.EPERM;
      }
      return del.call(cmd, attr, size);
    },
  });
  const e2 = (() => {
    try {
      deleteBatch({ kernel: cut, fdValue: m2.fdValue }, packed([0, 99, 1, 2, 3], 4), 4, 5);
    } catch (err) {
      return err;
    }
    return undefined;
  })();
  t.ok(e2 instanceof BatchError);
  const be2 = e2 as BatchError;
  t.equal((be2.cause as BpfError).command, 'BPF_MAP_DELETE_BATCH');
  t.match(be2.message, /^BPF_MAP_DELETE_BATCH after 3 of 5 elements: operation not permitted \(EPERM\)/);
  t.equal(be2.processed, 4, 'key 0, the missing 99, keys 1 and 2');
  t.equal(be2.missing, 1);
  t.equal(be2.code, 'EPERM');
  t.equal(m2.count(), 3, 'keys 0, 1, 2 deleted; 3, 4, 5 left');
  m.close();
  m2.close();
});
