/**
 * Cilium's DumpReliablyWithCallback (pkg/bpf): a GET_NEXT_KEY walk that
 * survives keys vanishing under it. When the current key is gone the walk
 * falls back once to the previous key (from which the kernel finds the next
 * one again), else skips ahead; it gives up after 4 × max_entries steps
 * rather than loop forever on a map being rewritten.
 */
/** Go bpf.DumpStats: what a reliable walk saw. */
export class DumpStats {
  started: Date | undefined;
  finished: Date | undefined;
  lookup = 0;
  lookupFailed = 0;
  prevKeyUnavailable = 0;
  keyFallback = 0;
  readonly maxEntries: number;
  interrupted = 0;
  completed = false;

  constructor(maxEntries: number) {
    this.maxEntries = maxEntries;
  }

  /** Finished − Started in milliseconds (0 until both are set). */
  duration(): number {
    return this.started === undefined || this.finished === undefined ? 0 : this.finished.getTime() - this.started.getTime();
  }

  toJSON(): Record<string, unknown> {
    return {
      started: this.started?.toISOString() ?? null, finished: this.finished?.toISOString() ?? null, lookup: this.lookup,
      lookupFailed: this.lookupFailed, prevKeyUnavailable: this.prevKeyUnavailable, keyFallback: this.keyFallback,
      maxEntries: this.maxEntries, interrupted: this.interrupted, completed: this.completed,
    };
  }
}

/** Go NewDumpStats(m): MaxEntries from the map. */
export function NewDumpStats(m: { readonly maxEntries: number }): DumpStats {
  return new DumpStats(m.maxEntries);
}

/** ErrMaxLookup: the walk took more than 4 × max_entries lookups. */
export class MaxLookupError extends Error {
  constructor() {
    super('maximum number of lookups reached');
    this.name = 'MaxLookupError';
  }
}

/** What the reliable walk needs from a map. */
export interface ReliableTarget {
  readonly closed: boolean;
  readonly keySize: number;
  readonly valueBufferSize: number;
  nextKey(key: Uint8Array | null): Uint8Array | undefined;
  lookupInto(key: Uint8Array, out: Uint8Array): boolean;
}

/**
 * Walk `m`, calling `cb(key, value)`: each key is a fresh buffer, the value
 * buffer is reused between calls (copy what you keep).
 */
export function dumpReliably(m: ReliableTarget, cb: ((key: Uint8Array, value: Uint8Array) => void) | undefined,
  stats: DumpStats | undefined): void {
  if (typeof cb !== 'function') throw new TypeError('empty callback');
  if (!(stats instanceof DumpStats)) throw new TypeError('stats is nil');
  stats.started = new Date();
  try {
    if (m.closed) throw new Error('map is closed');
    let current: Uint8Array | undefined;
    try {
      current = m.nextKey(null);
    } catch {
      // Go ignores any error but "not exist" on the first step and walks on from a zero key.
      current = new Uint8Array(m.keySize);
    }
    if (current === undefined) {
      stats.lookup = 1;
      stats.completed = true;
      return;
    }
    const value = new Uint8Array(m.valueBufferSize);
    const maxLookup = 4 * stats.maxEntries;
    let prev: Uint8Array | undefined;
    for (stats.lookup = 1; stats.lookup <= maxLookup; stats.lookup++) {
      let next: Uint8Array | undefined;
      let nextErr: Error | undefined;
      try {
        next = m.nextKey(current);
      } catch (err) {
        nextErr = err instanceof Error ? err : new Error(String(err));
      }
      let found: boolean;
      try {
        found = m.lookupInto(current, value);
      } catch {
        found = false;
      }
      if (!found) {
        stats.lookupFailed++;
        if (prev !== undefined) {
          current = prev;
          prev = undefined;
          stats.keyFallback++;
        } else {
          if (next === undefined) {
            // Nothing after a vanished key: the walk is over (or failed with the next-key error).
            if (nextErr !== undefined) throw nextErr;
            stats.completed = true;
            return;
          }
          current = next;
          stats.interrupted++;
        }
        continue;
      }
      cb(current, value);
      if (next === undefined) {
        if (nextErr !== undefined) throw nextErr;
        stats.completed = true;
        return;
      }
      prev = current;
      current = next;
    }
    throw new MaxLookupError();
  } finally {
    stats.finished = new Date();
  }
}
