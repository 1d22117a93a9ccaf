/**
 * Counting a hash map's entries on several threads at once.
 *
 * BPF_MAP_LOOKUP_BATCH's cursor is opaque by the UAPI, but for the hash
 * map family it is the index of the next bucket (kernel/bpf/hashtab.c,
 * __htab_map_lookup_and_delete_batch: `batch` starts at in_batch, a call
 * returns whole buckets only, and out_batch is the bucket after the last one
 * returned; past the last bucket the call answers ENOENT). The table has
 * roundup_pow_of_two(max_entries) buckets. So workers can start at bucket
 * boundaries of their own — worker i walks from `from_i` until the cursor
 * reaches `from_{i+1}` — each with its own buffers, on koffi's worker
 * threads (Kernel.bpfAsync), and the kernel work that dominates a count
 * (copying every key and value out) runs on several cores.
 *
 * A worker's last call can run past its end into the next worker's buckets.
 * Those entries are counted twice unless taken off: since both walks visit
 * the same buckets in the same order, the run-over is a suffix of worker i's
 * last batch that equals the start of worker i+1's walk, found by comparing
 * keys. Without concurrent writers the total is exact (the tests compare it
 * with the sequential count on real maps); with the datapath writing, it is
 * a snapshot as approximate as any count.
 *
 * Should a kernel ever treat the cursor differently, every range still ends
 * at the map's end or at a cursor past its bound, so nothing is skipped; use
 * `count()` (one thread, no assumption) where that matters.
 */
import type { Kernel } from './kernel.js';
import { BpfCmd, MapType, mapBatchAttr } from './attr.js';
import { BpfError, Errno } from './errors.js';
import { IterationError, checkBatchable, fillLookup, startChunk, type BatchTarget } from './iterate.js';
import { dataView } from '../structs/bytes.js';

export interface ParallelCountOptions {
  /**
   * Concurrent walks (default 4; 1 walks on one worker thread). More walks
   * than cores still pay: each call's round trip through the event loop
   * leaves its thread idle for a moment that another walk fills (measured on
   * 2 cores, 1M entries: 2 walks 240 ms, 4 walks 160 ms; C on 1 thread 250 ms).
   */
  readonly workers?: number;
  /**
   * Entries per call (default: Cilium's starting chunk for the map). Larger
   * chunks are slower per entry: the kernel kvmalloc()s a buffer of the
   * chunk's size for every call (kernel/bpf/hashtab.c), so the vector
   * chains calls instead of growing them.
   */
  readonly chunk?: number;
}

interface RangeWalk {
  /** Entries returned, the run-over included. */
  count: number;
  /** Keys of the last call (the one that reached or passed the range's end), back to back. */
  tail: Uint8Array;
  /** The walk's first keys, back to back: enough to cover the previous worker's run-over. */
  head: Uint8Array;
}

/** The kernel's bucket count for a hash map of `maxEntries` (htab_map_alloc: roundup_pow_of_two). */
export function hashBuckets(maxEntries: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, maxEntries)));
}

/** The most chained batch lookups one crossing runs. */
const MAX_CHAIN = 16;

/**
 * One walk over buckets [from, to): rounds of up to MAX_CHAIN chained batch
 * lookups (call k's out_batch is call k+1's in_batch), each round one
 * crossing on a worker thread. Each call has its own key buffer (the run-over
 * and the head are keys) and all share one value buffer (values are not
 * needed to count). Calls of a round past the range's end were wasted work,
 * so the chain is sized to what the range still holds.
 */
async function walkRange(m: BatchTarget, kernel: Kernel, from: number, to: number, startChunk: number, headKeys: number): Promise<RangeWalk> {
  const { keySize, valueSize, maxEntries } = m;
  const off = mapBatchAttr.offsetOf;
  let chunk = startChunk;
  let keys: Uint8Array[] = [];
  let values = new Uint8Array(0);
  const cursors = Array.from({ length: MAX_CHAIN + 1 }, () => new Uint8Array(8));
  const cviews = cursors.map((c) => dataView(c));
  const attrs = Array.from({ length: MAX_CHAIN }, () => new Uint8Array(mapBatchAttr.end));
  const aviews = attrs.map((a) => dataView(a));
  const vec = kernel.vector(MAX_CHAIN);
  const alloc = (): void => {
    keys = Array.from({ length: MAX_CHAIN }, () => new Uint8Array(chunk * keySize));
    values = new Uint8Array(chunk * valueSize);
  };
  alloc();
  const head = new Uint8Array(headKeys * keySize);
  let headLen = 0;
  let count = 0;
  let cursor = from;
  let chain = to === Infinity ? MAX_CHAIN : 1;
  for (;;) {
    vec.clear();
    for (let k = 0; k < chain; k++) {
      const a = attrs[k] as Uint8Array;
      // Bucket 0 is where a walk without a cursor starts; a later start passes the bucket index.
      const fromCursor = k > 0 || cursor !== 0;
      if (k === 0) (cviews[0] as DataView).setUint32(0, cursor, true);
      fillLookup(kernel, aviews[k] as DataView, a, m.fdValue, fromCursor ? cursors[k] as Uint8Array : null, cursors[k + 1] as Uint8Array,
        keys[k] as Uint8Array, values, chunk);
      vec.add(BpfCmd.BPF_MAP_LOOKUP_BATCH, a);
    }
    // The buffers stay referenced by this frame until the round settles.
    const ran = await vec.runAsync(true);
    let prev = cursor;
    for (let k = 0; k < ran; k++) {
      const ret = vec.result(k) ?? 0;
      const n = (aviews[k] as DataView).getUint32(off.count, true);
      if (ret < 0 && -ret === Errno.ENOSPC) {
        // A bucket larger than the chunk: grow and go on from this call's cursor.
        if (chunk >= maxEntries) throw new IterationError('failed to count map: batch size too small even at max_entries', new BpfError({ errno: Errno.ENOSPC, command: 'BPF_MAP_LOOKUP_BATCH' }));
        chunk = Math.min(chunk * 2, maxEntries);
        alloc();
        break;
      }
      if (ret < 0 && -ret !== Errno.ENOENT) {
        const err = new BpfError({ errno: -ret, command: 'BPF_MAP_LOOKUP_BATCH' });
        throw new IterationError(`failed to count map: ${err.message}`, err);
      }
      const batch = keys[k] as Uint8Array;
      const take = Math.min(n, headKeys - headLen);
      if (take > 0) {
        head.set(batch.subarray(0, take * keySize), headLen * keySize);
        headLen += take;
      }
      count += n;
      const next = ret < 0 ? Infinity : (cviews[k + 1] as DataView).getUint32(0, true);
      // Past the range's end, at the map's end, or a cursor that did not move on: this walk is done.
      if (next >= to || next <= prev) return { count, tail: batch.slice(0, n * keySize), head: head.slice(0, headLen * keySize) };
      prev = next;
    }
    // Size the next chain to what is left of the range at the density seen so far (the last range runs to the end).
    if (to === Infinity) {
      chain = MAX_CHAIN;
    } else {
      const expected = (count / Math.max(1, prev - from)) * (to - prev);
      chain = Math.max(1, Math.min(MAX_CHAIN, Math.ceil(expected / chunk) + 1));
    }
    cursor = prev;
  }
}

function equalBytes(a: Uint8Array, ao: number, b: Uint8Array, bo: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

/**
 * How many of `tail`'s last keys are the first keys of the next walk, or
 * undefined when the next walk's recorded head is too short to tell.
 */
function runOver(tail: Uint8Array, next: RangeWalk, keySize: number): number | undefined {
  const t = tail.length / keySize;
  const h = next.head.length / keySize;
  for (let j = 0; j < t; j++) {
    const len = t - j;
    if (len > h) {
      // The run-over could be this long only if the next walk returned at least as many keys.
      if (next.count > h) return undefined;
      continue;
    }
    if (equalBytes(tail, j * keySize, next.head, 0, len * keySize)) return len;
  }
  return 0;
}

/** The entries of a hash or LRU hash map, counted by `workers` threads over bucket ranges. */
export async function countParallel(m: BatchTarget, opts: ParallelCountOptions = {}): Promise<number> {
  checkBatchable(m.type);
  if (m.type !== MapType.Hash && m.type !== MapType.LRUHash) throw new IterationError('a parallel count needs a hash or LRU hash map (bucket cursors)');
  const workers = opts.workers ?? 4;
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new RangeError(`workers must be an integer in 1…64, got ${String(workers)}`);
  const chunk = startChunk(m, opts);
  const buckets = hashBuckets(m.maxEntries);
  const bounds = Array.from({ length: workers + 1 }, (_, i) => Math.floor((buckets * i) / workers));
  const headKeys = Math.max(4 * chunk, 4096);
  const walks = await Promise.all(Array.from({ length: workers }, (_, i) =>
    walkRange(m, m.kernel, bounds[i] ?? 0, i === workers - 1 ? Infinity : (bounds[i + 1] ?? buckets), chunk, headKeys)));
  let total = 0;
  for (let i = 0; i < walks.length; i++) {
    const w = walks[i] as RangeWalk;
    const next = walks[i + 1];
    const over = next === undefined ? 0 : runOver(w.tail, next, m.keySize);
    // A bucket larger than every head (never seen in practice): count on one thread instead.
    if (over === undefined) return (await walkRange(m, m.kernel, 0, Infinity, chunk, 0)).count;
    total += w.count - over;
  }
  return total;
}
