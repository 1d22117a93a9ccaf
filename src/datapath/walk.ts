/**
 * Iterating a map's entries as JavaScript values: a batch walk underneath
 * (one chunk of keys and values in memory, whatever the map size), each
 * entry decided by a matcher straight from the batch buffers, and only the
 * entries that match turned into objects (a fresh copy each: the caller may
 * keep them). Breaking out of the loop ends the walk; nothing stays held.
 *
 * The async form yields to the event loop after every batch, so a server
 * embedding the library keeps answering while a million entries go by; on
 * a kernel with threads it is also pipelined: the next batch is read on a
 * worker thread while this one is decoded (iterate.ts batchesAsync).
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

/** Where a walk reads from: anything with a batch iterator (and its pipelined form, for the async walk). */
export interface Walkable {
  readonly kernel: { readonly threaded: boolean };
  batches(opts?: BatchOptions): Generator<Batch, void, undefined>;
  batchesAsync(opts?: BatchOptions): AsyncGenerator<Batch, void, undefined>;
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

const DONE: IteratorReturnResult<void> = Object.freeze({ value: undefined, done: true });

/**
 * walk() for `for await`: the matching records of one batch are made at once
 * (before the pipelined walk refills its buffers) and handed out one by one.
 * Written as an iterator object rather than an async generator: a generator's
 * `yield` costs several promise turns per record (~220 ns a record here
 * against ~80 ns for a resolved promise, measured over 1M records), which
 * for a million entries is most of a dump's JavaScript time. Between batches
 * the walk waits for a call on a worker thread, which arrives through the
 * event loop; on a kernel without threads it gives the event loop a turn
 * itself. `signal` aborts between batches; return() (a `break`) ends the
 * batch walk and waits for the call in flight.
 */
class AsyncWalk<T> implements AsyncGenerator<T, void, undefined> {
  readonly #match: Matcher;
  readonly #make: RecordMaker<T>;
  readonly #threaded: boolean;
  readonly #batches: AsyncGenerator<Batch, void, undefined>;
  #left: number;
  #records: T[] = [];
  #at = 0;
  #started = false;
  #done: boolean;
  /** The refill (or return) in progress: a next() that arrives meanwhile waits for it, as a generator's queue would. */
  #busy: Promise<unknown> | undefined;

  constructor(m: Walkable, match: Matcher, limit: number | undefined, make: RecordMaker<T>, opts: WalkOptions) {
    this.#match = match;
    this.#make = make;
    this.#threaded = m.kernel.threaded;
    this.#left = limit ?? Infinity;
    this.#done = this.#left <= 0;
    // An async generator's body runs on the first next(): nothing is read (or checked) before then.
    this.#batches = m.batchesAsync(batchOptions(opts));
  }

  next(): Promise<IteratorResult<T, void>> {
    if (this.#busy !== undefined) return this.#busy.then(() => this.next(), () => this.next());
    const at = this.#at;
    if (at < this.#records.length) {
      this.#at = at + 1;
      return Promise.resolve({ value: this.#records[at] as T, done: false });
    }
    return this.#run(this.#refill());
  }

  return(): Promise<IteratorResult<T, void>> {
    if (this.#busy !== undefined) return this.#busy.then(() => this.return(), () => this.return());
    return this.#run(this.#close().then(() => DONE));
  }

  /** Ends the walk and rejects with `e`, as a generator without a catch does. */
  async throw(e: unknown): Promise<IteratorResult<T, void>> {
    await this.return();
    throw e;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  #run<R>(p: Promise<R>): Promise<R> {
    const busy = p.finally(() => {
      if (this.#busy === busy) this.#busy = undefined;
    });
    this.#busy = busy;
    return busy;
  }

  async #close(): Promise<void> {
    this.#records = [];
    this.#at = 0;
    this.#done = true;
    // On a finished or never-started batch walk this is a no-op; on a running one it waits for the call in flight.
    await this.#batches.return();
  }

  async #refill(): Promise<IteratorResult<T, void>> {
    const records = this.#records;
    records.length = 0;
    this.#at = 0;
    while (!this.#done) {
      if (this.#started && !this.#threaded) await nextTurn();
      this.#started = true;
      let r: IteratorResult<Batch, void>;
      try {
        r = await this.#batches.next();
      } catch (e) {
        this.#done = true;
        throw e;
      }
      if (r.done === true) {
        this.#done = true;
        break;
      }
      const { keys, values, keySize, valueSize, count } = r.value;
      const match = this.#match;
      const make = this.#make;
      let left = this.#left;
      for (let i = 0; i < count && left > 0; i++) {
        const ko = i * keySize;
        const vo = i * valueSize;
        if (!match(keys, ko, values, vo)) continue;
        records.push(make(keys, ko, values, vo));
        left--;
      }
      this.#left = left;
      // The limit reached: the batch walk ends now (its call in flight is waited for), the records still go out.
      if (left <= 0) {
        this.#done = true;
        await this.#batches.return();
      }
      if (records.length > 0) {
        this.#at = 1;
        return { value: records[0] as T, done: false };
      }
    }
    return DONE;
  }
}

/** walk(), yielding to the event loop between batches (AsyncWalk); `signal` aborts between batches. */
export function walkAsync<T>(m: Walkable, match: Matcher, limit: number | undefined, make: RecordMaker<T>,
  opts: WalkOptions = {}): AsyncGenerator<T, void, undefined> {
  return new AsyncWalk(m, match, limit, make, opts);
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
