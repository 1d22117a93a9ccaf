// Pure logic of the syscall layer against an injected fake kernel: the batch
// iterator's ENOSPC growth and partial-ENOENT end, batched deletes that
// continue past vanished keys, the bounded key walk, and BpfError hints.
import t from 'tap';
import { FakeKernel } from '../helpers/fakekernel.js';
import { BpfMap } from '../../src/syscall/map.js';
import { BpfCmd, MapType } from '../../src/syscall/attr.js';
import { BpfError, Errno, errnoCode, isNotExist, isNotSupported, NotSupportedError, MapIncompatibleError } from '../../src/syscall/errors.js';
import { initialChunkSize, IterationError } from '../../src/syscall/iterate.js';

// The fake is a Kernel value handed to each map: nothing process-wide is swapped.
let current: FakeKernel = new FakeKernel();
function withFake(): FakeKernel {
  current = new FakeKernel();
  return current;
}

function key(i: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, i, true);
  return b;
}

t.test('initial chunk size follows Cilium', async (t) => {
  t.same([524288, 262144, 1000, 65536, 8].map(initialChunkSize), [1024, 1024, 64, 512, 4]);
  t.equal(initialChunkSize(1), 1);
});

t.test('batch walk: every entry once, ENOSPC doubles the chunk from the same cursor', async (t) => {
  const k = withFake();
  const m = BpfMap.create({ name: 'f', type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 64 }, { kernel: current.kernel });
  for (let i = 0; i < 60; i++) m.set(key(i), new Uint8Array(8).fill(i));
  const grown: number[] = [];
  const seen = new Set<number>();
  for (const b of m.batches({ chunk: 1, onGrow: (c) => grown.push(c) })) {
    const dv = new DataView(b.keys.buffer, b.keys.byteOffset);
    for (let i = 0; i < b.count; i++) {
      const id = dv.getUint32(i * 4, true);
      t.notOk(seen.has(id), `key ${id} seen once`);
      seen.add(id);
      t.equal(b.values[i * 8], id, 'value travels with its key');
    }
  }
  t.equal(seen.size, 60);
  t.ok(grown.length > 0 && grown[0] === 2, `grew: ${grown.join(',')}`);
  t.ok(k.calls.includes(BpfCmd.BPF_MAP_LOOKUP_BATCH));
  t.equal(m.count(), 60);
  m.close();
});

t.test('batch walk errors', async (t) => {
  const k = withFake();
  const m = BpfMap.create({ name: 'f', type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 8 }, { kernel: current.kernel });
  for (let i = 0; i < 8; i++) m.set(key(i), new Uint8Array(8));
  k.inject.push({ cmd: BpfCmd.BPF_MAP_LOOKUP_BATCH, errno: Errno.EFAULT });
  const err = (() => { try { m.count(); return undefined; } catch (e) { return e; } })();
  t.ok(err instanceof IterationError, 'an IterationError');
  t.match((err as Error).message, /^failed to iterate map: BPF_MAP_LOOKUP_BATCH: bad address \(EFAULT\)/);
  t.ok(BpfError.is(err, 'EFAULT'), 'the errno is still visible');
  // ENOSPC at the cap: nothing more to grow into.
  for (let i = 0; i < 4; i++) k.inject.push({ cmd: BpfCmd.BPF_MAP_LOOKUP_BATCH, errno: Errno.ENOSPC });
  t.throws(() => m.count({ chunk: 4 }), /batch size too small even at max_entries/);
  k.inject.length = 0;
  const ac = new AbortController();
  ac.abort(new Error('stop'));
  t.throws(() => m.count({ signal: ac.signal }), /stop/);
  t.throws(() => m.count({ chunk: 0 }), /positive integer/);
  const arr = BpfMap.create({ name: 'a', type: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 8 }, { kernel: current.kernel });
  t.throws(() => arr.count(), /unsupported map type Array, must be one either hash or lru-hash types/);
  arr.close();
  m.close();
});

t.test('deleteBatch continues past keys that vanished', async (t) => {
  withFake();
  const m = BpfMap.create({ name: 'f', type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 64 }, { kernel: current.kernel });
  for (let i = 0; i < 10; i++) m.set(key(i), new Uint8Array(8));
  const keys = new Uint8Array(4 * 6);
  [0, 100, 1, 101, 102, 2].forEach((v, i) => { keys.set(key(v), i * 4); });
  t.same(m.deleteBatch(keys), { done: 3, missing: 3 });
  t.equal(m.count(), 7);
  t.throws(() => m.deleteBatch(keys, 7), /does not fit/);
  m.close();
});

t.test('key walk skips vanished keys and is bounded by max_entries', async (t) => {
  const k = withFake();
  const m = BpfMap.create({ name: 'f', type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 4 }, { kernel: current.kernel });
  for (let i = 0; i < 4; i++) m.set(key(i), new Uint8Array(8));
  t.equal([...m.keys()].length, 4);
  // A lookup that finds nothing (deleted between GET_NEXT_KEY and LOOKUP) is skipped.
  k.inject.push({ cmd: BpfCmd.BPF_MAP_LOOKUP_ELEM, errno: Errno.ENOENT, after: 1 });
  t.equal([...m.entries()].length, 3);
  k.inject.push({ cmd: BpfCmd.BPF_MAP_LOOKUP_ELEM, errno: Errno.EIO });
  t.throws(() => [...m.entries()], /^look up next key: BPF_MAP_LOOKUP_ELEM f: /);
  k.inject.push({ cmd: BpfCmd.BPF_MAP_GET_NEXT_KEY, errno: Errno.EIO });
  t.throws(() => [...m.entries()], /^get next key: /);
  // A map that grows under the walk: more steps than max_entries aborts.
  const fm = k.maps.get(m.fdValue)!;
  for (let i = 10; i < 20; i++) fm.entries.set(Buffer.from(key(i)).toString('hex'), new Uint8Array(8));
  t.throws(() => [...m.entries()], /^iteration aborted$/);
  m.close();
});

t.test('BpfError carries errno, code, command and an actionable hint', async (t) => {
  const e = new BpfError({ errno: Errno.EPERM, command: 'BPF_MAP_CREATE', subject: 'x' });
  t.equal(e.code, 'EPERM');
  t.equal(e.errno, 1);
  t.equal(e.command, 'BPF_MAP_CREATE');
  t.match(e.message, /^BPF_MAP_CREATE x: operation not permitted \(EPERM\): run as root or with CAP_BPF/);
  t.match(e.hint, /RLIMIT_MEMLOCK/);
  t.match(new BpfError({ errno: Errno.ENOENT, command: 'BPF_OBJ_GET', subject: '/p' }).message, /no pinned object at \/p/);
  t.match(new BpfError({ errno: Errno.ENOSPC, command: 'BPF_MAP_LOOKUP_BATCH' }).hint, /larger batch/);
  t.match(new BpfError({ errno: Errno.ENOSPC, command: 'BPF_MAP_UPDATE_ELEM' }).hint, /full/);
  t.match(new BpfError({ errno: Errno.E2BIG, command: 'BPF_MAP_CREATE' }).hint, /kernel too old/);
  t.match(new BpfError({ errno: Errno.E2BIG, command: 'BPF_MAP_UPDATE_BATCH' }).hint, /full/);
  t.match(new BpfError({ errno: Errno.EINVAL, command: 'BPF_OBJ_PIN' }).hint, /bpffs/);
  t.match(new BpfError({ errno: Errno.EEXIST, command: 'BPF_OBJ_PIN', subject: '/p' }).hint, /already pinned at \/p/);
  t.match(new BpfError({ errno: Errno.EEXIST, command: 'BPF_MAP_UPDATE_ELEM' }).hint, /NOEXIST/);
  t.match(new BpfError({ errno: Errno.ENOMEM, command: 'BPF_MAP_CREATE' }).hint, /max_entries/);
  t.match(new BpfError({ errno: Errno.EBADF, command: 'x' }).hint, /closed/);
  t.equal(new BpfError({ errno: Errno.EINVAL, command: 'BPF_MAP_LOOKUP_ELEM' }).hint, undefined);
  t.equal(new BpfError({ errno: 999, command: 'x' }).code, 'E999');
  t.equal(new BpfError({ errno: 999, command: 'x' }).message, 'x: unknown error (E999)');
  t.equal(new BpfError({ errno: Errno.EIO, command: 'BPF_MAP_LOOKUP_BATCH' }).message, 'BPF_MAP_LOOKUP_BATCH: input/output error (EIO)', 'every named code has its text');
  t.equal(errnoCode(524), 'ENOTSUPP');
  const ns = new BpfError({ errno: Errno.ENOTSUPP, command: 'BPF_MAP_LOOKUP_BATCH' });
  t.ok(isNotSupported(ns));
  t.ok(isNotSupported(new Error('wrapped', { cause: new BpfError({ errno: Errno.EOPNOTSUPP, command: 'x' }) })));
  t.ok(isNotExist(new Error('wrapped', { cause: new BpfError({ errno: Errno.ENOENT, command: 'x' }) })));
  t.notOk(isNotExist(new Error('plain')));
  t.notOk(isNotExist('string'));
  t.match(new NotSupportedError('batch ops on LRU hash', '5.6').message, /requires Linux 5\.6 or newer/);
  const inc = new MapIncompatibleError('/p', 'key size', 14, 16);
  t.equal(inc.message, 'pinned map /p is incompatible: key size is 16, expected 14');
});
