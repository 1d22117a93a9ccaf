/**
 * The heaviest keys of a stream in fixed memory: Metwally, Agrawal and El
 * Abbadi's Space-Saving ("Efficient Computation of Frequent and Top-k
 * Elements in Data Streams", ICDT 2005). `capacity` counters, whatever the
 * number of distinct keys, so `ct stats` over 16M entries holds a few
 * thousand counters.
 *
 * While the distinct keys fit, the counts are exact. Past that, a key that
 * arrives when every counter is taken replaces the smallest one and inherits
 * its count as an error bound: every reported count is at most `error` too
 * high, and any key seen more than total/capacity times is guaranteed to be
 * held.
 */

export interface TopItem<K> {
  readonly key: K;
  /** Upper bound of the key's true count (exact when `error` is 0). */
  readonly count: number;
  /** How much `count` may exceed the true count. */
  readonly error: number;
}

export class SpaceSaving<K> {
  readonly capacity: number;
  readonly #index = new Map<K, number>();
  // A min-heap by count over the slots: parallel arrays, no object per key.
  readonly #keys: K[] = [];
  readonly #counts: Float64Array;
  readonly #errors: Float64Array;
  #total = 0;
  #evictions = 0;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`SpaceSaving: capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.#counts = new Float64Array(capacity);
    this.#errors = new Float64Array(capacity);
  }

  /** Keys offered so far (with their weights). */
  get total(): number {
    return this.#total;
  }

  /** True while no counter has been reused: the counts are exact. */
  get exact(): boolean {
    return this.#evictions === 0;
  }

  add(key: K, weight = 1): void {
    this.#total += weight;
    const at = this.#index.get(key);
    if (at !== undefined) {
      this.#counts[at] = (this.#counts[at] ?? 0) + weight;
      this.#down(at);
      return;
    }
    const n = this.#keys.length;
    if (n < this.capacity) {
      this.#keys.push(key);
      this.#counts[n] = weight;
      this.#errors[n] = 0;
      this.#index.set(key, n);
      this.#up(n);
      return;
    }
    // Every counter taken: the smallest (the heap's root) goes to the newcomer, its count as the error.
    this.#evictions++;
    const min = this.#counts[0] ?? 0;
    const old = this.#keys[0] as K;
    this.#index.delete(old);
    this.#keys[0] = key;
    this.#index.set(key, 0);
    this.#counts[0] = min + weight;
    this.#errors[0] = min;
    this.#down(0);
  }

  /** The `n` largest counts, largest first (ties by insertion order of the heap, stable per run). */
  top(n: number): TopItem<K>[] {
    const all: TopItem<K>[] = this.#keys.map((key, i) => ({ key, count: this.#counts[i] ?? 0, error: this.#errors[i] ?? 0 }));
    all.sort((a, b) => b.count - a.count || a.error - b.error);
    return all.slice(0, Math.max(0, n));
  }

  #less(i: number, j: number): boolean {
    return (this.#counts[i] ?? 0) < (this.#counts[j] ?? 0);
  }

  #swap(i: number, j: number): void {
    const ki = this.#keys[i] as K;
    const kj = this.#keys[j] as K;
    this.#keys[i] = kj;
    this.#keys[j] = ki;
    const c = this.#counts[i] ?? 0;
    this.#counts[i] = this.#counts[j] ?? 0;
    this.#counts[j] = c;
    const e = this.#errors[i] ?? 0;
    this.#errors[i] = this.#errors[j] ?? 0;
    this.#errors[j] = e;
    this.#index.set(kj, i);
    this.#index.set(ki, j);
  }

  #up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(i, p)) return;
      this.#swap(i, p);
      i = p;
    }
  }

  #down(i: number): void {
    const n = this.#keys.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.#less(l, m)) m = l;
      if (r < n && this.#less(r, m)) m = r;
      if (m === i) return;
      this.#swap(i, m);
      i = m;
    }
  }
}
