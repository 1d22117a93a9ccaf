/**
 * Several bpf(2) calls in one FFI crossing: the shim's `ctmap_bpf_vec`
 * runs a vector of calls TypeScript built, in order, each result written
 * back next to its call, stopping after the first failure when asked. The C
 * decides nothing between calls; a chain works only because the attrs were
 * built to chain (a batch lookup's out_batch is the next one's in_batch).
 *
 * Each call costs about 0.4 µs more through the FFI than from C (issue
 * #16's profile); a vector pays that once. A kernel whose backend has no
 * vector entry point — a fake kernel, an intercepted one (fault injection
 * must see every call), a shim built before it — runs the same calls one by
 * one through Kernel.bpf, with the same results.
 *
 * Layout of one call (shim/bpfshim.c, struct ctmap_bpf_call, LP64):
 * int cmd @0, unsigned size @4, void *attr @8, long ret @16; 24 bytes.
 */
import type { Kernel } from './kernel.js';

const CALL = 24;

export class BpfVector {
  readonly kernel: Kernel;
  readonly capacity: number;
  readonly #calls: Uint8Array;
  readonly #dv: DataView;
  // The attrs stay referenced here until the next clear(): the kernel reads them during run().
  readonly #attrs: Uint8Array[] = [];
  #ran = 0;

  constructor(kernel: Kernel, capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 65536) throw new RangeError(`a vector holds 1…65536 calls, got ${String(capacity)}`);
    this.kernel = kernel;
    this.capacity = capacity;
    this.#calls = new Uint8Array(CALL * capacity);
    this.#dv = new DataView(this.#calls.buffer);
  }

  get length(): number {
    return this.#attrs.length;
  }

  /** Calls that ran in the last run (all of them, or up to the first failure with stopOnError). */
  get ran(): number {
    return this.#ran;
  }

  clear(): void {
    this.#attrs.length = 0;
    this.#ran = 0;
  }

  /** Queue `cmd` with all of `attr`; returns the call's index. */
  add(cmd: number, attr: Uint8Array): number {
    return this.addAt(cmd, attr, this.kernel.addressNumber(attr));
  }

  /**
   * add() with the attr's address already known (Kernel.addressNumber): loops that reuse the same attrs
   * (ElemVector) compute each address once instead of once per call.
   */
  addAt(cmd: number, attr: Uint8Array, address: number): number {
    const i = this.#attrs.length;
    if (i >= this.capacity) throw new RangeError(`vector full (${this.capacity} calls)`);
    const o = i * CALL;
    const dv = this.#dv;
    dv.setInt32(o, cmd, true);
    dv.setUint32(o + 4, attr.byteLength, true);
    // The pointer as two 32-bit halves: exact for any address below 2^53, and no BigInt on this path.
    dv.setUint32(o + 8, address % 2 ** 32, true);
    dv.setUint32(o + 12, Math.floor(address / 2 ** 32), true);
    dv.setUint32(o + 16, 0, true);
    dv.setUint32(o + 20, 0, true);
    this.#attrs.push(attr);
    return i;
  }

  /** The result of call `i` (≥ 0, or -errno); undefined when it did not run. */
  result(i: number): number | undefined {
    if (!Number.isInteger(i) || i < 0 || i >= this.#ran) return undefined;
    const o = i * CALL + 16;
    const low = this.#dv.getInt32(o, true);
    // A result that fits 32 bits (every -errno, fd and count) has a high half that only extends the sign.
    if (this.#dv.getInt32(o + 4, true) === (low < 0 ? -1 : 0)) return low;
    return Number(this.#dv.getBigInt64(o, true));
  }

  /** Run the queued calls in one crossing; returns how many ran. */
  run(stopOnError = false): number {
    const n = this.#attrs.length;
    const b = this.kernel.backend;
    this.#ran = b.callVec === undefined ? this.#oneByOne(stopOnError) : b.callVec(this.#calls, n, stopOnError);
    return this.#ran;
  }

  /** run() on a worker thread (Kernel.bpfAsync's thread pool); the vector and its attrs stay referenced until it settles. */
  async runAsync(stopOnError = false): Promise<number> {
    const n = this.#attrs.length;
    const b = this.kernel.backend;
    this.#ran = b.callVecAsync === undefined ? this.#oneByOne(stopOnError) : await b.callVecAsync(this.#calls, n, stopOnError);
    return this.#ran;
  }

  #oneByOne(stopOnError: boolean): number {
    for (let i = 0; i < this.#attrs.length; i++) {
      const ret = this.kernel.bpf(this.#dv.getInt32(i * CALL, true), this.#attrs[i] as Uint8Array);
      this.#dv.setInt32(i * CALL + 16, ret, true);
      this.#dv.setInt32(i * CALL + 20, ret < 0 ? -1 : 0, true);
      if (ret < 0 && stopOnError) return i + 1;
    }
    return this.#attrs.length;
  }
}
