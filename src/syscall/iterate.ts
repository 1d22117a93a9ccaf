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

/**
 * Iterate the map in chunks. On ENOSPC (a hash bucket larger than the chunk)
 * the chunk doubles and the same cursor is retried, so nothing is skipped;
 * ENOENT ends the walk after delivering what the final call returned.
 */
export function* batches(m: BatchTarget, opts: BatchOptions = {}): Generator<Batch, void, undefined> {
  checkBatchable(m.type);
  const { keySize, valueSize, maxEntries, kernel } = m;
  let chunk = opts.chunk ?? initialChunkSize(maxEntries);
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`batch chunk must be a positive integer, got ${chunk}`);
  let keys = new Uint8Array(chunk * keySize);
  let values = new Uint8Array(chunk * valueSize);
  // The cursor is opaque to user space (a bucket index for hash maps); 8 bytes covers every map type.
  let inCursor = new Uint8Array(8);
  let outCursor = new Uint8Array(8);
  const attr = new Uint8Array(mapBatchAttr.end);
  const dv = dataView(attr);
  const off = mapBatchAttr.offsetOf;
  let first = true;
  for (;;) {
    if (opts.signal?.aborted === true) throw opts.signal.reason;
    attr.fill(0);
    dv.setBigUint64(off.in_batch, first ? 0n : kernel.address(inCursor), true);
    dv.setBigUint64(off.out_batch, kernel.address(outCursor), true);
    dv.setBigUint64(off.keys, kernel.address(keys), true);
    dv.setBigUint64(off.values, kernel.address(values), true);
    dv.setUint32(off.count, chunk, true);
    dv.setUint32(off.map_fd, m.fdValue, true);
    const ret = kernel.bpf(BpfCmd.BPF_MAP_LOOKUP_BATCH, attr);
    const n = dv.getUint32(off.count, true);
    if (ret < 0) {
      const errno = -ret;
      if (errno === Errno.ENOENT) {
        if (n > 0) yield { keys, values, count: n, keySize, valueSize };
        return;
      }
      // The kernel reports ENOSPC only when the chunk could not take even one bucket (count 0).
      if (errno === Errno.ENOSPC) {
        if (chunk >= maxEntries) {
          throw new IterationError('failed to iterate map: batch size too small even at max_entries',
            new BpfError({ errno, command: 'BPF_MAP_LOOKUP_BATCH' }));
        }
        chunk = Math.min(chunk * 2, maxEntries);
        keys = new Uint8Array(chunk * keySize);
        values = new Uint8Array(chunk * valueSize);
        opts.onGrow?.(chunk);
        continue;
      }
      const err = new BpfError({ errno, command: 'BPF_MAP_LOOKUP_BATCH' });
      // A kernel without batch ops (before 5.6) says EINVAL: name what is missing and since when.
      if (errno === Errno.EINVAL && first && !haveFeature(Features.batchOps, kernel)) {
        throw new IterationError(`failed to iterate map: ${new NotSupportedError(Features.batchOps.description, Features.batchOps.minKernel).message}`,
          new NotSupportedError(Features.batchOps.description, Features.batchOps.minKernel, err));
      }
      throw new IterationError(`failed to iterate map: ${err.message}`, err);
    }
    if (n > 0) yield { keys, values, count: n, keySize, valueSize };
    [inCursor, outCursor] = [outCursor, inCursor];
    first = false;
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
