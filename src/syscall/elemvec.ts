/**
 * Element operations on one map, many in one FFI crossing: the bulk form of
 * BpfMap's `…InPlace` ops. The caller writes keys into numbered slots of
 * `keys`, queues a lookup, delete or lookup-and-delete per slot, runs the
 * vector (./vector.ts: one crossing, the calls in the order queued), then
 * reads each call's result and, for lookups, the slot's value in `values`.
 *
 * Every slot has two prepared attrs (bpf_attr.map_elem: key and value
 * pointers for LOOKUP and LOOKUP_AND_DELETE; key only for DELETE, whose
 * `value` must stay zero — the kernel's CHECK_ATTR rejects non-zero bytes
 * past a command's last field) with their addresses computed once, so
 * queuing a call writes 24 bytes and no BigInt.
 *
 * The C decides nothing between the calls: whatever depends on a result
 * (safe GC's "was it refreshed?", the purge's second key) is decided here
 * after the run, and queued as the next vector.
 */
import type { BpfMap } from './map.js';
import type { BpfVector } from './vector.js';
import { BpfCmd, mapElemAttr } from './attr.js';
import { BpfError, Errno } from './errors.js';
import { dataView } from '../structs/bytes.js';

const ATTR = mapElemAttr.end;

export class ElemVector {
  readonly map: BpfMap;
  readonly capacity: number;
  /** Slot i's key at i × keySize. */
  readonly keys: Uint8Array;
  /** Slot i's value (lookups write it) at i × valueBufferSize. */
  readonly values: Uint8Array;
  readonly #vec: BpfVector;
  readonly #kv: Uint8Array;
  readonly #k: Uint8Array;
  readonly #kvAt: Uint8Array[];
  readonly #kAt: Uint8Array[];
  // Each attr's address (Kernel.addressNumber, for BpfVector.addAt).
  readonly #kvAddr: number[] = [];
  readonly #kAddr: number[] = [];

  constructor(map: BpfMap, capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 65536) throw new RangeError(`an element vector holds 1…65536 slots, got ${String(capacity)}`);
    const k = map.kernel;
    const ks = map.keySize;
    const vs = map.valueBufferSize;
    this.map = map;
    this.capacity = capacity;
    this.keys = new Uint8Array(ks * capacity);
    this.values = new Uint8Array(vs * capacity);
    this.#vec = k.vector(capacity);
    this.#kv = new Uint8Array(ATTR * capacity);
    this.#k = new Uint8Array(ATTR * capacity);
    this.#kvAt = [];
    this.#kAt = [];
    const off = mapElemAttr.offsetOf;
    const fd = map.fdValue;
    const kvv = dataView(this.#kv);
    const kv = dataView(this.#k);
    for (let i = 0; i < capacity; i++) {
      const o = i * ATTR;
      const keyAddr = k.address(this.keys.subarray(i * ks, (i + 1) * ks));
      const valueAddr = k.address(this.values.subarray(i * vs, (i + 1) * vs));
      kvv.setUint32(o + off.map_fd, fd, true);
      kvv.setBigUint64(o + off.key, keyAddr, true);
      kvv.setBigUint64(o + off.value, valueAddr, true);
      kv.setUint32(o + off.map_fd, fd, true);
      kv.setBigUint64(o + off.key, keyAddr, true);
      const a = this.#kv.subarray(o, o + ATTR);
      const b = this.#k.subarray(o, o + ATTR);
      this.#kvAt.push(a);
      this.#kAt.push(b);
      this.#kvAddr.push(k.addressNumber(a));
      this.#kAddr.push(k.addressNumber(b));
    }
  }

  /** Calls queued since the last clear(). */
  get length(): number {
    return this.#vec.length;
  }

  /** Forget the queued calls and their results (the slots' keys and values stay). */
  clear(): void {
    this.#vec.clear();
  }

  #slot(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.capacity) throw new RangeError(`slot ${String(i)} is not in 0…${this.capacity - 1}`);
  }

  /** Queue BPF_MAP_LOOKUP_ELEM of slot i's key into slot i's value; returns the call's index. */
  lookup(i: number): number {
    this.#slot(i);
    return this.#vec.addAt(BpfCmd.BPF_MAP_LOOKUP_ELEM, this.#kvAt[i] as Uint8Array, this.#kvAddr[i] as number);
  }

  /** Queue BPF_MAP_DELETE_ELEM of slot i's key. */
  delete(i: number): number {
    this.#slot(i);
    return this.#vec.addAt(BpfCmd.BPF_MAP_DELETE_ELEM, this.#kAt[i] as Uint8Array, this.#kAddr[i] as number);
  }

  /** Queue BPF_MAP_LOOKUP_AND_DELETE_ELEM of slot i's key into slot i's value (hash maps: Linux 5.14+). */
  lookupAndDelete(i: number): number {
    this.#slot(i);
    return this.#vec.addAt(BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_ELEM, this.#kvAt[i] as Uint8Array, this.#kvAddr[i] as number);
  }

  /**
   * Run the queued calls in one crossing. A closed map fails with EBADF
   * before any call is made (the attrs hold its fd number, which the process
   * may have reused).
   */
  run(): void {
    if (this.map.closed) throw new BpfError({ errno: Errno.EBADF, command: 'BPF_MAP_LOOKUP_ELEM', subject: this.map.name });
    this.#vec.run(false);
  }

  /** Call c's result: 0, or -errno (-ENOENT: the key was absent). */
  result(c: number): number {
    const r = this.#vec.result(c);
    if (r === undefined) throw new RangeError(`call ${String(c)} did not run`);
    return r;
  }
}
