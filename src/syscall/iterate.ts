/**
 * Walking a map: the batch iterator (BPF_MAP_LOOKUP_BATCH) that bulk work
 * uses, and the batched delete/update helpers.
 *
 * A yielded Batch is a view into buffers the iterator reuses: consumers
 * decode straight from `keys`/`values` and copy only what they keep, so a
 * walk over a million entries holds one chunk in memory, never the map.
 */
import type { Kernel } from './kernel.js';
import { BpfCmd, MapType, mapBatchAttr, mapTypeName } from './attr.js';
import { BpfError, Errno, NotSupportedError } from './errors.js';
import { Features, haveFeature } from './features.js';
import { dataView } from '../structs/bytes.js';

export interface Batch {
  /** `count` keys, `keySize` bytes each, starting at offset 0. */
  readonly keys: Uint8Array;
  readonly values: Uint8Array;
  readonly count: number;
  readonly keySize: number;
  readonly valueSize: number;
}

export interface BatchTarget {
  readonly kernel: Kernel;
  readonly fdValue: number;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
}

export interface BatchOptions {
  /** Override the starting chunk (entries per syscall); mostly for tests of ENOSPC growth. */
  readonly chunk?: number;
  readonly signal?: AbortSignal;
  /** Called on every ENOSPC growth with the new chunk size. */
  readonly onGrow?: (chunk: number) => void;
}

/** An iteration that could not finish; the kernel's error is the cause. */
export class IterationError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'IterationError';
  }
}

/** Cilium's starting chunk: 2^ceil(log2(sqrt(2 * max_entries))), at most max_entries. */
export function initialChunkSize(maxEntries: number): number {
  const c = 2 ** Math.ceil(Math.log2(Math.sqrt(2 * maxEntries)));
  return Math.max(1, Math.min(c, maxEntries));
}

const batchable = new Set<number>([MapType.Hash, MapType.LRUHash, MapType.LPMTrie]);

export function checkBatchable(type: number): void {
  if (!batchable.has(type)) {
    throw new IterationError(`unsupported map type ${mapTypeName(type)}, must be one either hash or lru-hash types`);
  }
}

/** The chunk a walk starts with: the caller's, or Cilium's for the map. */
export function startChunk(m: BatchTarget, opts: BatchOptions): number {
  const chunk = opts.chunk ?? initialChunkSize(m.maxEntries);
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`batch chunk must be a positive integer, got ${chunk}`);
  return chunk;
}

/** Fill a LOOKUP_BATCH attr for one call (zeroed first: the attr is reused call after call). A null in_batch starts at the map's beginning. */
export function fillLookup(kernel: Kernel, dv: DataView, attr: Uint8Array, fd: number, inCursor: Uint8Array | null, outCursor: Uint8Array,
  keys: Uint8Array, values: Uint8Array, chunk: number): void {
  const off = mapBatchAttr.offsetOf;
  attr.fill(0);
  dv.setBigUint64(off.in_batch, inCursor === null ? 0n : kernel.address(inCursor), true);
  dv.setBigUint64(off.out_batch, kernel.address(outCursor), true);
  dv.setBigUint64(off.keys, kernel.address(keys), true);
  dv.setBigUint64(off.values, kernel.address(values), true);
  dv.setUint32(off.count, chunk, true);
  dv.setUint32(off.map_fd, fd, true);
}

/** What a walk does after one LOOKUP_BATCH call: deliver and go on, deliver and stop, or double the chunk. */
const MORE = 0;
const LAST = 1;
const GROW = 2;

/** The step after a call that returned `ret`; kernel errors that end the walk are thrown. */
function stepAfter(ret: number, first: boolean, chunk: number, m: BatchTarget): typeof MORE | typeof LAST | typeof GROW {
  if (ret >= 0) return MORE;
  const errno = -ret;
  // ENOENT: past the last bucket; what this call returned is the walk's tail.
  if (errno === Errno.ENOENT) return LAST;
  // The kernel reports ENOSPC only when the chunk could not take even one bucket (count 0).
  if (errno === Errno.ENOSPC) {
    if (chunk >= m.maxEntries) {
      throw new IterationError('failed to iterate map: batch size too small even at max_entries',
        new BpfError({ errno, command: 'BPF_MAP_LOOKUP_BATCH' }));
    }
    return GROW;
  }
  const err = new BpfError({ errno, command: 'BPF_MAP_LOOKUP_BATCH' });
  // A kernel without batch ops (before 5.6) says EINVAL: name what is missing and since when.
  if (errno === Errno.EINVAL && first && !haveFeature(Features.batchOps, m.kernel)) {
    throw new IterationError(`failed to iterate map: ${new NotSupportedError(Features.batchOps.description, Features.batchOps.minKernel).message}`,
      new NotSupportedError(Features.batchOps.description, Features.batchOps.minKernel, err));
  }
  throw new IterationError(`failed to iterate map: ${err.message}`, err);
}

/**
 * Iterate the map in chunks. On ENOSPC (a hash bucket larger than the chunk)
 * the chunk doubles and the same cursor is retried, so nothing is skipped;
 * ENOENT ends the walk after delivering what the final call returned.
 */
export function* batches(m: BatchTarget, opts: BatchOptions = {}): Generator<Batch, void, undefined> {
  checkBatchable(m.type);
  const { keySize, valueSize, maxEntries, kernel } = m;
  let chunk = startChunk(m, opts);
  let keys = new Uint8Array(chunk * keySize);
  let values = new Uint8Array(chunk * valueSize);
  // The cursor is opaque to user space (a bucket index for hash maps); 8 bytes covers every map type.
  let inCursor = new Uint8Array(8);
  let outCursor = new Uint8Array(8);
  const attr = new Uint8Array(mapBatchAttr.end);
  const dv = dataView(attr);
  const countAt = mapBatchAttr.offsetOf.count;
  let first = true;
  for (;;) {
    if (opts.signal?.aborted === true) throw opts.signal.reason;
    fillLookup(kernel, dv, attr, m.fdValue, first ? null : inCursor, outCursor, keys, values, chunk);
    const ret = kernel.bpf(BpfCmd.BPF_MAP_LOOKUP_BATCH, attr);
    const n = dv.getUint32(countAt, true);
    const step = stepAfter(ret, first, chunk, m);
    if (step === GROW) {
      chunk = Math.min(chunk * 2, maxEntries);
      keys = new Uint8Array(chunk * keySize);
      values = new Uint8Array(chunk * valueSize);
      opts.onGrow?.(chunk);
      continue;
    }
    if (n > 0) yield { keys, values, count: n, keySize, valueSize };
    if (step === LAST) return;
    [inCursor, outCursor] = [outCursor, inCursor];
    first = false;
  }
}

/** One of the pipelined walk's two sets of buffers. */
interface Slot {
  keys: Uint8Array;
  values: Uint8Array;
  readonly attr: Uint8Array;
  readonly dv: DataView;
}

/**
 * batches(), pipelined: while the caller decodes one batch, the kernel
 * copies the next into a second set of buffers on one of koffi's worker
 * threads (Kernel.bpfAsync), so the copy-out and the decoding overlap on two
 * cores instead of taking turns. The cursor chain is the same as batches()'s
 * — call k+1 starts from call k's out_batch, issued only once call k has
 * returned — so the entries and their order are too. A yielded batch stays
 * valid until the caller asks for the next one (its buffers are refilled only
 * then). Ending the loop early waits for the call in flight, so no buffer is
 * written after the walk has returned. On a kernel without threads each call
 * runs synchronously, one batch ahead.
 */
export async function* batchesAsync(m: BatchTarget, opts: BatchOptions = {}): AsyncGenerator<Batch, void, undefined> {
  checkBatchable(m.type);
  const { keySize, valueSize, maxEntries, kernel } = m;
  let chunk = startChunk(m, opts);
  // A slot's buffers are made by issue(), on its first call and whenever the chunk has grown since its last.
  const slot = (): Slot => {
    const attr = new Uint8Array(mapBatchAttr.end);
    return { keys: new Uint8Array(0), values: new Uint8Array(0), attr, dv: dataView(attr) };
  };
  const slots = [slot(), slot()] as const;
  let inCursor = new Uint8Array(8);
  let outCursor = new Uint8Array(8);
  const countAt = mapBatchAttr.offsetOf.count;
  let first = true;
  const issue = (s: Slot): Promise<number> => {
    if (opts.signal?.aborted === true) throw opts.signal.reason;
    // A new slot, or one last filled before the chunk grew, gets buffers of the current size.
    if (s.keys.length < chunk * keySize) {
      s.keys = new Uint8Array(chunk * keySize);
      s.values = new Uint8Array(chunk * valueSize);
    }
    fillLookup(kernel, s.dv, s.attr, m.fdValue, first ? null : inCursor, outCursor, s.keys, s.values, chunk);
    return kernel.bpfAsync(BpfCmd.BPF_MAP_LOOKUP_BATCH, s.attr);
  };
  let cur = 0;
  let pending: Promise<number> | undefined = issue(slots[0]);
  try {
    for (;;) {
      const ret = await pending;
      pending = undefined;
      const s = slots[cur] as Slot;
      const n = s.dv.getUint32(countAt, true);
      const step = stepAfter(ret, first, chunk, m);
      if (step === GROW) {
        chunk = Math.min(chunk * 2, maxEntries);
        opts.onGrow?.(chunk);
        pending = issue(s);
        continue;
      }
      if (step === LAST) {
        if (n > 0) yield { keys: s.keys, values: s.values, count: n, keySize, valueSize };
        return;
      }
      [inCursor, outCursor] = [outCursor, inCursor];
      first = false;
      cur ^= 1;
      pending = issue(slots[cur] as Slot);
      if (n > 0) yield { keys: s.keys, values: s.values, count: n, keySize, valueSize };
    }
  } finally {
    // The kernel may still be writing into the other slot (a break, a throw in the caller's loop).
    if (pending !== undefined) await pending.catch(() => undefined);
  }
}

/**
 * A batched delete/update the kernel stopped part-way: the keys before
 * `processed` (minus the `missing` ones) were applied, the rest were not.
 */
export class BatchError extends Error {
  readonly processed: number;
  readonly missing: number;
  readonly errno: number;
  readonly code: string;

  constructor(cause: BpfError, processed: number, missing: number) {
    super(cause.message, { cause });
    this.name = 'BatchError';
    this.processed = processed;
    this.missing = missing;
    this.errno = cause.errno;
    this.code = cause.code;
  }
}

export interface BatchResult {
  /** Elements the kernel processed. */
  readonly done: number;
  /** Keys that were not there (vanished under us, e.g. LRU eviction); skipped, not fatal. */
  readonly missing: number;
}

/** What a batched delete/update needs from a map. */
export interface BatchWriteTarget {
  readonly kernel: Kernel;
  readonly fdValue: number;
}

function runBatch(cmd: number, m: BatchWriteTarget, keys: Uint8Array, keySize: number,
  values: Uint8Array | null, valueSize: number, count: number, elemFlags: number, onMissing?: (index: number) => void): BatchResult {
  if (!Number.isInteger(count) || count < 0 || count * keySize > keys.length) {
    throw new RangeError(`batch of ${count} keys does not fit a ${keys.length}-byte key buffer (key size ${keySize})`);
  }
  if (values !== null && count * valueSize > values.length) {
    throw new RangeError(`batch of ${count} values does not fit a ${values.length}-byte value buffer (value size ${valueSize})`);
  }
  const attr = new Uint8Array(mapBatchAttr.end);
  const dv = dataView(attr);
  const off = mapBatchAttr.offsetOf;
  const { kernel } = m;
  const fdValue = m.fdValue;
  const keyBase = kernel.address(keys);
  const valueBase = values === null ? 0n : kernel.address(values);
  let pos = 0;
  let done = 0;
  let missing = 0;
  while (pos < count) {
    attr.fill(0);
    dv.setBigUint64(off.keys, keyBase + BigInt(pos * keySize), true);
    if (values !== null) dv.setBigUint64(off.values, valueBase + BigInt(pos * valueSize), true);
    dv.setUint32(off.count, count - pos, true);
    dv.setUint32(off.map_fd, fdValue, true);
    dv.setBigUint64(off.elem_flags, BigInt(elemFlags), true);
    const ret = kernel.bpf(cmd, attr);
    const n = dv.getUint32(off.count, true);
    done += n;
    pos += n;
    if (ret >= 0) break;
    const errno = -ret;
    // The kernel stops at the first key it cannot process and reports how many it did;
    // a key that vanished is skipped and the rest still go.
    if (errno === Errno.ENOENT) {
      onMissing?.(pos);
      missing++;
      pos++;
      continue;
    }
    throw new BatchError(new BpfError({ errno, command: cmd === BpfCmd.BPF_MAP_DELETE_BATCH ? 'BPF_MAP_DELETE_BATCH' : 'BPF_MAP_UPDATE_BATCH',
      subject: `after ${done} of ${count} elements` }), pos, missing);
  }
  return { done, missing };
}

export function deleteBatch(m: BatchWriteTarget, keys: Uint8Array, keySize: number, count: number,
  onMissing?: (index: number) => void): BatchResult {
  return runBatch(BpfCmd.BPF_MAP_DELETE_BATCH, m, keys, keySize, null, 0, count, 0, onMissing);
}

export function updateBatch(m: BatchWriteTarget, keys: Uint8Array, keySize: number, values: Uint8Array,
  valueSize: number, count: number, elemFlags: number): BatchResult {
  return runBatch(BpfCmd.BPF_MAP_UPDATE_BATCH, m, keys, keySize, values, valueSize, count, elemFlags);
}
