/**
 * Iterating a map's entries as JavaScript values: a batch walk underneath
 * (one chunk of keys and values in memory, whatever the map size), each
 * entry decided by a matcher straight from the batch buffers, and only the
 * entries that match turned into objects (a fresh copy each: the caller may
 * keep them). Breaking out of the loop ends the walk; nothing stays held.
 *
 * The async form yields to the event loop after every batch, so a server
 * embedding the library keeps answering while a million entries go by.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Batch, BatchOptions } from '../syscall/iterate.js';
import type { FilterInput, Matcher } from '../structs/filter.js';

/** Makes the value a walk yields from one entry's bytes (copy what is kept: the buffers are reused). */
export type RecordMaker<T> = (keys: Uint8Array, ko: number, values: Uint8Array, vo: number) => T;

export interface WalkOptions {
  readonly signal?: AbortSignal | undefined;
  /** Batch chunk override (tests of small chunks). */
  readonly chunk?: number | undefined;
  /** Called on every ENOSPC growth of the batch chunk. */
  readonly onGrow?: ((chunk: number) => void) | undefined;
}

/** What every stats walk takes (`ct stats`, `nat stats`): a filter, the top-N size and its counters, progress. */
export interface StatsWalkOptions extends WalkOptions {
  /** Only the entries this filter matches are counted (its limit is ignored: stats see every match). */
  readonly filter?: FilterInput | undefined;
  /** How many of the heaviest endpoints to report (default 10). */
  readonly top?: number | undefined;
  /** Counters each top-N keeps (default 4096): exact while the distinct endpoints fit. */
  readonly capacity?: number | undefined;
  /** After each batch: entries seen so far. */
  readonly onProgress?: ((seen: number) => void) | undefined;
}

/** The batch options a walk passes on (only those set). */
export function batchOptions(o: WalkOptions): BatchOptions {
  return {
    ...(o.signal === undefined ? {} : { signal: o.signal }), ...(o.chunk === undefined ? {} : { chunk: o.chunk }),
    ...(o.onGrow === undefined ? {} : { onGrow: o.onGrow }),
  };
}

/** Where a walk reads from: anything with a batch iterator. */
export interface Walkable {
  batches(opts?: BatchOptions): Generator<Batch, void, undefined>;
}

/** The matching entries of `m`, at most `limit` of them. */
export function* walk<T>(m: Walkable, match: Matcher, limit: number | undefined, make: RecordMaker<T>, opts: WalkOptions = {}): Generator<T, void, undefined> {
  let left = limit ?? Infinity;
  if (left <= 0) return;
  for (const b of m.batches(batchOptions(opts))) {
    const { keys, values, keySize, valueSize, count } = b;
    for (let i = 0; i < count; i++) {
      const ko = i * keySize;
      const vo = i * valueSize;
      if (!match(keys, ko, values, vo)) continue;
      yield make(keys, ko, values, vo);
      if (--left <= 0) return;
    }
  }
}

/** walk(), yielding to the event loop between batches; `signal` aborts between batches. */
export async function* walkAsync<T>(m: Walkable, match: Matcher, limit: number | undefined, make: RecordMaker<T>,
  opts: WalkOptions = {}): AsyncGenerator<T, void, undefined> {
  let left = limit ?? Infinity;
  if (left <= 0) return;
  // Records are made before the first await of a batch: the iterator reuses its buffers on the next step.
  const pending: T[] = [];
  for (const b of m.batches(batchOptions(opts))) {
    const { keys, values, keySize, valueSize, count } = b;
    for (let i = 0; i < count && left > 0; i++) {
      const ko = i * keySize;
      const vo = i * valueSize;
      if (!match(keys, ko, values, vo)) continue;
      pending.push(make(keys, ko, values, vo));
      left--;
    }
    for (const r of pending) yield r;
    pending.length = 0;
    if (left <= 0) return;
    await nextTurn();
  }
}

/** Count the matching entries (no objects). */
export function countMatching(m: Walkable, match: Matcher, opts: WalkOptions = {}): number {
  let n = 0;
  for (const b of m.batches(batchOptions(opts))) {
    const { keys, values, keySize, valueSize, count } = b;
    for (let i = 0; i < count; i++) if (match(keys, i * keySize, values, i * valueSize)) n++;
  }
  return n;
}
