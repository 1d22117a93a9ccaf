// The pipelined batch walk (iterate.ts batchesAsync) and the async record walk over it (walk.ts walkAsync),
// against the fake kernel: once with its calls synchronous (a kernel without threads) and once with them
// deferred to a later turn of the event loop, as koffi's worker threads deliver them.
import t from 'tap';
import type { Test } from 'tap';
import { FakeKernel } from '../helpers/fakekernel.js';
import { BpfMap } from '../../src/syscall/map.js';
import { Kernel } from '../../src/syscall/kernel.js';
import { BpfCmd, MapType } from '../../src/syscall/attr.js';
import { BpfError, Errno } from '../../src/syscall/errors.js';
import { IterationError, type Batch } from '../../src/syscall/iterate.js';
import { walkAsync } from '../../src/datapath/walk.js';

function key(i: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, i, true);
  return b;
}

/** Calls and their completions in order: `call` when issued, `done` when its result is delivered. */
type Event = { what: 'call' | 'done'; cmd: number } | { what: 'batch'; first: number };

/** A kernel over `fake` whose async calls complete on a later turn (like a worker thread's), logging each step. */
function threadedKernel(fake: FakeKernel, log: Event[]): Kernel {
  return new Kernel({
    name: 'fake+threads',
    call: (cmd, attr, size) => fake.call(cmd, attr, size),
    address: (buf) => fake.address(buf),
    callAsync: (cmd, attr, size) => {
      log.push({ what: 'call', cmd });
      return new Promise((resolve) => setImmediate(() => {
        const r = fake.call(cmd, attr, size);
        log.push({ what: 'done', cmd });
        resolve(r);
      }));
    },
  });
}

function filled(kernel: Kernel, n: number, maxEntries = 64): BpfMap {
  const m = BpfMap.create({ name: 'f', type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries }, { kernel });
  for (let i = 0; i < n; i++) m.set(key(i), new Uint8Array(8).fill(i));
  return m;
}

/** Every (key, value) of a batch, as key ids; checks each value belongs to its key. */
function ids(t: Test, b: Batch): number[] {
  const dv = new DataView(b.keys.buffer, b.keys.byteOffset);
  const out: number[] = [];
  for (let i = 0; i < b.count; i++) {
    const id = dv.getUint32(i * 4, true);
    if (b.values[i * 8] !== id) t.fail(`value of key ${id} is ${b.values[i * 8]}`);
    out.push(id);
  }
  return out;
}

function syncOrder(m: BpfMap, chunk: number): number[] {
  const out: number[] = [];
  for (const b of m.batches({ chunk })) out.push(...ids(t, b));
  return out;
}

t.test('batchesAsync: the same entries in the same order as batches(), chunk growth included, on both kernels', async (t) => {
  for (const threaded of [false, true]) {
    const fake = new FakeKernel();
    const log: Event[] = [];
    const kernel = threaded ? threadedKernel(fake, log) : fake.kernel;
    t.equal(kernel.threaded, threaded);
    const m = filled(kernel, 60);
    const want = syncOrder(m, 1);
    t.equal(want.length, 60);
    const grownSync: number[] = [];
    for (const b of m.batches({ chunk: 1, onGrow: (c) => grownSync.push(c) })) t.ok(b.count > 0);
    const grown: number[] = [];
    const got: number[] = [];
    for await (const b of m.batchesAsync({ chunk: 1, onGrow: (c) => grown.push(c) })) got.push(...ids(t, b));
    t.same(got, want, `${threaded ? 'threaded' : 'synchronous'} kernel: same entries, same order`);
    t.same(grown, grownSync, 'the chunk grows as the synchronous walk\'s does');
    t.ok(grown.length > 0, 'growth happened');
    if (threaded) t.ok(log.filter((e) => e.what === 'call').every((e) => e.what === 'call' && e.cmd === BpfCmd.BPF_MAP_LOOKUP_BATCH),
      'every call of the walk went through bpfAsync');
    m.close();
  }
});

t.test('batchesAsync pipelines: the next call is in flight while a batch is handed out, into other buffers', async (t) => {
  const fake = new FakeKernel();
  const log: Event[] = [];
  const m = filled(threadedKernel(fake, log), 200, 256);
  log.length = 0;
  const want = syncOrder(m, 16);
  let batches = 0;
  const got: number[] = [];
  const ahead: number[] = [];
  for await (const b of m.batchesAsync({ chunk: 16, onGrow: () => t.fail('no growth expected at chunk 16') })) {
    batches++;
    const calls = log.filter((e) => e.what === 'call').length;
    const done = log.filter((e) => e.what === 'done').length;
    t.equal(done, batches, `batch ${batches}: its own call is done`);
    // Issued but not finished when the batch comes out: the next call (none after the last batch).
    ahead.push(calls - done);
    const before = ids(t, b);
    const keysCopy = b.keys.slice(0, b.count * 4);
    // Let the call in flight finish: it must not write into the batch being held.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    t.same(b.keys.subarray(0, b.count * 4), keysCopy, `batch ${batches}: its buffer is untouched by the next call`);
    got.push(...before);
  }
  t.same(got, want, 'all entries, in order');
  t.ok(batches > 3, `several batches (${batches})`);
  // Every batch but the last came out with the next call already in flight; the last call answered ENOENT.
  t.same(ahead, [...Array<number>(batches - 1).fill(1), 0], 'one call ahead of every batch but the last');
  t.equal(log.filter((e) => e.what === 'call').length, batches);
  m.close();
});

t.test('batchesAsync: a break waits for the call in flight; errors, abort and bad input as batches()', async (t) => {
  const fake = new FakeKernel();
  const log: Event[] = [];
  const m = filled(threadedKernel(fake, log), 60);
  log.length = 0;
  let grows = 0;
  for await (const b of m.batchesAsync({ chunk: 4, onGrow: () => grows++ })) {
    t.ok(b.count > 0);
    break;
  }
  t.equal(log.at(-1)?.what, 'done', 'by the time the loop has ended, the call issued ahead has returned');
  t.equal(log.filter((e) => e.what === 'call').length, 2 + grows, 'one batch taken (after any ENOSPC retries), one call ahead');
  const drain = async (opts: Parameters<BpfMap['batchesAsync']>[0]): Promise<unknown> => {
    try {
      for await (const b of m.batchesAsync(opts)) if (b.count === 0) t.fail('an empty batch');
      return undefined;
    } catch (e) {
      return e;
    }
  };
  // An error on a later call, after batches were delivered.
  fake.inject.push({ cmd: BpfCmd.BPF_MAP_LOOKUP_BATCH, errno: Errno.EFAULT, after: 2 });
  const err = await drain({ chunk: 4 });
  t.ok(err instanceof IterationError, 'an IterationError');
  t.match((err as Error).message, /^failed to iterate map: BPF_MAP_LOOKUP_BATCH: bad address \(EFAULT\)/);
  t.ok(BpfError.is(err, 'EFAULT'));
  fake.inject.length = 0;
  for (let i = 0; i < 8; i++) fake.inject.push({ cmd: BpfCmd.BPF_MAP_LOOKUP_BATCH, errno: Errno.ENOSPC });
  t.match(await drain({ chunk: 32 }), /batch size too small even at max_entries/);
  fake.inject.length = 0;
  const ac = new AbortController();
  ac.abort(new Error('stop'));
  t.match(await drain({ signal: ac.signal }), /stop/, 'an aborted signal stops before the first call');
  // Aborted while a batch is being worked on: the next call is not issued, the one in flight is waited for.
  const ac2 = new AbortController();
  log.length = 0;
  let seen = 0;
  const mid = await (async () => {
    try {
      for await (const b of m.batchesAsync({ chunk: 4, signal: ac2.signal })) {
        seen += b.count > 0 ? 1 : 0;
        ac2.abort(new Error('stopped mid-walk'));
      }
      return undefined;
    } catch (e) {
      return e;
    }
  })();
  t.match(mid, /stopped mid-walk/);
  t.equal(seen, 1, 'one batch, then the abort');
  t.equal(log.at(-1)?.what, 'done', 'nothing left in flight');
  t.match(await drain({ chunk: 0 }), /positive integer/);
  const arr = BpfMap.create({ name: 'a', type: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 8 }, { kernel: fake.kernel });
  await t.rejects(async () => { for await (const b of arr.batchesAsync()) t.fail(`a batch of ${b.count}`); }, /unsupported map type Array/);
  arr.close();
  m.close();
});

/** A record of the fake map: the key id. */
const make = (keys: Uint8Array, ko: number): number => new DataView(keys.buffer, keys.byteOffset).getUint32(ko, true);
const all = (): boolean => true;

t.test('walkAsync: records one by one, filter and limit, break and return(), on both kernels', async (t) => {
  for (const threaded of [false, true]) {
    const fake = new FakeKernel();
    const log: Event[] = [];
    const kernel = threaded ? threadedKernel(fake, log) : fake.kernel;
    const m = filled(kernel, 60);
    const want = syncOrder(m, 4);
    const got: number[] = [];
    for await (const id of walkAsync(m, all, undefined, make, { chunk: 4 })) got.push(id);
    t.same(got, want, 'every entry, in the batch walk\'s order');
    const even: number[] = [];
    for await (const id of walkAsync(m, (k, ko) => k[ko]! % 2 === 0, undefined, make, { chunk: 4 })) even.push(id);
    t.same(even, want.filter((x) => x % 2 === 0), 'the matcher decides');
    const limited: number[] = [];
    for await (const id of walkAsync(m, all, 7, make, { chunk: 4 })) limited.push(id);
    t.same(limited, want.slice(0, 7), 'the limit, across batches');
    const none: number[] = [];
    for await (const id of walkAsync(m, all, 0, make, { chunk: 4 })) none.push(id);
    t.same(none, [], 'limit 0: nothing');
    // The limit ends the batch walk: no call is left in flight once the last record is out.
    if (threaded) {
      log.length = 0;
      const it = walkAsync(m, all, 5, make, { chunk: 4 });
      const five: number[] = [];
      for (let r = await it.next(); r.done !== true; r = await it.next()) five.push(r.value);
      t.same(five, want.slice(0, 5));
      t.equal(log.at(-1)?.what, 'done', 'the limit: nothing in flight');
    }
    // break (return()) part-way, then the iterator is finished.
    const it = walkAsync(m, all, undefined, make, { chunk: 4 });
    const head: number[] = [];
    for await (const id of it) {
      head.push(id);
      if (head.length === 6) break;
    }
    t.same(head, want.slice(0, 6));
    t.same(await it.next(), { value: undefined, done: true }, 'after a break the walk is over');
    // next() calls issued together are answered in order, like a generator's queue.
    const q = walkAsync(m, all, undefined, make, { chunk: 4 });
    const rs = await Promise.all([q.next(), q.next(), q.next(), q.next(), q.next(), q.next()]);
    t.same(rs.map((r) => r.value), want.slice(0, 6), 'concurrent next() calls: in order, none lost or repeated');
    const ret = await Promise.all([q.next(), q.return(), q.next()]);
    t.same(ret.map((r) => r.done), [false, true, true], 'a return() queued behind a next() ends the walk after it');
    // throw(): ends the walk and rejects with the thrown value, as a generator without a catch would.
    const th = walkAsync(m, all, undefined, make, { chunk: 4 });
    await th.next();
    await t.rejects(th.throw(new Error('thrown in')), /thrown in/);
    t.same(await th.next(), { value: undefined, done: true });
    // `await using` disposes it.
    {
      await using d = walkAsync(m, all, undefined, make, { chunk: 4 });
      t.equal((await d.next()).value, want[0]);
    }
    // return() before the first next(): no call is made.
    const calls = fake.calls.length;
    const early = walkAsync(m, all, undefined, make, { chunk: 4 });
    t.same(await early.return(), { value: undefined, done: true });
    t.same(await early.next(), { value: undefined, done: true });
    t.equal(fake.calls.length, calls, 'a walk ended before it began reads nothing');
    m.close();
  }
});

t.test('walkAsync: errors reach the caller once; the event loop turns between batches without threads', async (t) => {
  const fake = new FakeKernel();
  const m = filled(fake.kernel, 60);
  fake.inject.push({ cmd: BpfCmd.BPF_MAP_LOOKUP_BATCH, errno: Errno.EPERM, after: 3 });
  const got: number[] = [];
  const err = await (async () => {
    try {
      for await (const id of walkAsync(m, all, undefined, make, { chunk: 4 })) got.push(id);
      return undefined;
    } catch (e) {
      return e;
    }
  })();
  t.ok(BpfError.is(err, 'EPERM'), 'the failing call\'s errno');
  t.ok(got.length > 0 && got.length < 60, `the records before the failure went out (${got.length})`);
  // Between batches of a synchronous kernel, a timer gets its turn.
  let ticks = 0;
  const timer = setInterval(() => { ticks++; }, 0);
  let n = 0;
  for await (const r of walkAsync(m, all, undefined, () => 1, { chunk: 4 })) n += r;
  clearInterval(timer);
  t.equal(n, 60);
  t.ok(ticks > 0, `a timer ran during the walk (${ticks})`);
  m.close();
});
