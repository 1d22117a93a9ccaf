/**
 * A compact set of fixed-size byte keys with one tag byte each: open
 * addressing over typed arrays, so a snapshot of a million 14-byte CT keys
 * costs ~14 MB of key bytes plus a 4-byte slot table, and no JS object per
 * key. Used where one batch read of a map beats a lookup syscall per key.
 */
export class KeySet {
  readonly keySize: number;
  #keys: Uint8Array;
  #tags: Uint8Array;
  #slots: Int32Array;
  #mask: number;
  #count = 0;

  constructor(keySize: number, expected = 1024) {
    if (!Number.isInteger(keySize) || keySize < 1) throw new RangeError(`key size must be a positive integer, got ${String(keySize)}`);
    this.keySize = keySize;
    const cap = Math.max(16, 2 ** Math.ceil(Math.log2(Math.max(1, expected))));
    this.#keys = new Uint8Array(cap * keySize);
    this.#tags = new Uint8Array(cap);
    this.#slots = new Int32Array(cap * 2);
    this.#mask = cap * 2 - 1;
  }

  get size(): number { return this.#count; }

  /** The bytes a set of `n` keys of `keySize` bytes takes at most (keys, tags, slot table; capacity rounds up to a power of two). */
  static bytesFor(keySize: number, n: number): number {
    const cap = Math.max(16, 2 ** Math.ceil(Math.log2(Math.max(1, n))));
    return cap * keySize + cap + cap * 2 * 4;
  }

  /** Bytes held (keys, tags and slot table). */
  get byteLength(): number { return this.#keys.byteLength + this.#tags.byteLength + this.#slots.byteLength; }

  // FNV-1a: cheap, and tuples differ in many bytes, so it spreads them well enough.
  #hash(src: Uint8Array, off: number): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < this.keySize; i++) h = Math.imul(h ^ (src[off + i] ?? 0), 0x01000193);
    return h >>> 0;
  }

  #equal(index: number, src: Uint8Array, off: number): boolean {
    const ks = this.keySize;
    const base = index * ks;
    const keys = this.#keys;
    for (let i = 0; i < ks; i++) if (keys[base + i] !== src[off + i]) return false;
    return true;
  }

  /** The index of the key at `src[off…]`, or -1. */
  find(src: Uint8Array, off = 0): number {
    const slots = this.#slots;
    for (let s = this.#hash(src, off) & this.#mask; ; s = (s + 1) & this.#mask) {
      const v = slots[s] ?? 0;
      if (v === 0) return -1;
      if (this.#equal(v - 1, src, off)) return v - 1;
    }
  }

  has(src: Uint8Array, off = 0): boolean {
    return this.find(src, off) >= 0;
  }

  /** The tag stored with key `index`. */
  tag(index: number): number {
    return this.#tags[index] ?? 0;
  }

  /** Add the key at `src[off…]` with `tag` (a key already present gets the new tag). */
  add(src: Uint8Array, off: number, tag = 0): void {
    const found = this.find(src, off);
    if (found >= 0) {
      this.#tags[found] = tag;
      return;
    }
    if (this.#count >= this.#tags.length) this.#grow();
    const index = this.#count++;
    this.#keys.set(src.subarray(off, off + this.keySize), index * this.keySize);
    this.#tags[index] = tag;
    this.#place(index, this.#hash(src, off));
  }

  #place(index: number, hash: number): void {
    const slots = this.#slots;
    let s = hash & this.#mask;
    while ((slots[s] ?? 0) !== 0) s = (s + 1) & this.#mask;
    slots[s] = index + 1;
  }

  #grow(): void {
    const cap = this.#tags.length * 2;
    const keys = new Uint8Array(cap * this.keySize);
    keys.set(this.#keys);
    const tags = new Uint8Array(cap);
    tags.set(this.#tags);
    this.#keys = keys;
    this.#tags = tags;
    this.#slots = new Int32Array(cap * 2);
    this.#mask = cap * 2 - 1;
    for (let i = 0; i < this.#count; i++) this.#place(i, this.#hash(keys, i * this.keySize));
  }
}

/** An append-only list of fixed-size keys in one growing buffer (what batched deletes take). */
export class KeyList {
  readonly keySize: number;
  #buf: Uint8Array;
  #count = 0;

  constructor(keySize: number, expected = 256) {
    this.keySize = keySize;
    this.#buf = new Uint8Array(Math.max(1, expected) * keySize);
  }

  get count(): number { return this.#count; }

  /** The packed keys (a view; valid until the next push). */
  get bytes(): Uint8Array { return this.#buf.subarray(0, this.#count * this.keySize); }

  /** Forget the keys (the buffer is kept for reuse). */
  clear(): void {
    this.#count = 0;
  }

  push(src: Uint8Array, off: number): void {
    const end = (this.#count + 1) * this.keySize;
    if (end > this.#buf.length) {
      const next = new Uint8Array(Math.max(end, this.#buf.length * 2));
      next.set(this.#buf);
      this.#buf = next;
    }
    // A byte loop, not subarray(): a view per key would be an allocation per key on the GC hot path.
    const buf = this.#buf;
    const ks = this.keySize;
    const base = this.#count * ks;
    for (let i = 0; i < ks; i++) buf[base + i] = src[off + i] ?? 0;
    this.#count++;
  }
}
