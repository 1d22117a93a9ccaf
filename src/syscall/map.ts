/**
 * A generic BPF map: a MapSpec (plain data, as in cilium/ebpf) and a BpfMap
 * that owns an fd. ctmap's CT and NAT maps are typed wrappers over this.
 *
 * Element operations copy through per-map scratch buffers whose addresses
 * are computed once, so a lookup costs one FFI call and two small copies.
 */
import { unlinkSync } from 'node:fs';
import { check, defaultKernel, type Kernel } from './kernel.js';
import { BpfCmd, MapType, UpdateFlags, cmdName, mapElemAttr, mapTypeName, type MapTypeValue } from './attr.js';
import { BpfError, Errno, MapIncompatibleError } from './errors.js';
import { FD } from './fd.js';
import { ensurePinDir } from './bpffs.js';
import { valueBufferSize } from './cpus.js';
import { mapCreate, mapGetFdById, objGetMapInfo, objGetRaw, objPin, type MapCreateParams } from './sys.js';
import { batches, batchesAsync, deleteBatch, updateBatch, type Batch, type BatchOptions, type BatchResult } from './iterate.js';
import { countParallel, type ParallelCountOptions } from './pcount.js';
import { Features, haveFeature } from './features.js';
import { dataView, setU32 } from '../structs/bytes.js';

export interface MapSpec {
  readonly name: string;
  readonly type: MapTypeValue;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags?: number;
  /** For ARRAY_OF_MAPS / HASH_OF_MAPS: the template every inner map must match. */
  readonly innerMap?: MapSpec;
}

export interface MapInfo {
  readonly type: number;
  readonly id: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly name: string;
}

export type OpenOutcome = 'opened' | 'created' | 'recreated';

export interface OpenOrCreateResult {
  readonly map: BpfMap;
  readonly outcome: OpenOutcome;
  /** Why an existing pin was replaced (outcome 'recreated'): the caller decides how to report it. */
  readonly replaced?: MapIncompatibleError;
}

/** Which kernel a map talks to (default: the real one, through the shim). */
export interface KernelOption {
  readonly kernel?: Kernel | undefined;
}

export interface OpenPinnedOptions extends KernelOption {
  /** Refuse (MapIncompatibleError) a pin that differs from this spec, closing it. */
  readonly expect?: MapSpec | undefined;
}

const decoder = new TextDecoder();

function infoOf(k: Kernel, fd: number): MapInfo {
  const i = objGetMapInfo(k, fd);
  const nul = i.name.indexOf(0);
  return {
    type: i.type, id: i.id, keySize: i.key_size, valueSize: i.value_size, maxEntries: i.max_entries,
    flags: i.map_flags, name: decoder.decode(i.name.subarray(0, nul < 0 ? i.name.length : nul)),
  };
}

/** The first property in which `info` differs from `spec`, as Cilium's compatibility check sees it. */
export function incompatibility(path: string, spec: MapSpec, info: MapInfo): MapIncompatibleError | undefined {
  if (info.type !== spec.type) return new MapIncompatibleError(path, 'type', mapTypeName(spec.type), mapTypeName(info.type));
  if (info.keySize !== spec.keySize) return new MapIncompatibleError(path, 'key size', spec.keySize, info.keySize);
  if (info.valueSize !== spec.valueSize) return new MapIncompatibleError(path, 'value size', spec.valueSize, info.valueSize);
  if (info.maxEntries !== spec.maxEntries) return new MapIncompatibleError(path, 'max entries', spec.maxEntries, info.maxEntries);
  const flags = spec.flags ?? 0;
  if (info.flags !== flags) return new MapIncompatibleError(path, 'flags', `0x${flags.toString(16)}`, `0x${info.flags.toString(16)}`);
  return undefined;
}

function checkBuf(what: string, buf: unknown, size: number, mapName: string): Uint8Array {
  if (!(buf instanceof Uint8Array)) throw new TypeError(`map ${mapName}: ${what} must be a Uint8Array of ${size} bytes`);
  if (buf.length !== size) throw new RangeError(`map ${mapName}: ${what} must be ${size} bytes, got ${buf.length}`);
  return buf;
}

export class BpfMap {
  readonly kernel: Kernel;
  readonly fd: FD;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  /** What one element's value occupies in user space: valueSize, or a slot of round_up(valueSize, 8) per possible CPU. */
  readonly valueBufferSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly name: string;
  readonly id: number;
  #pinnedAt: string | undefined;

  // Scratch for element ops: key, value and next-key buffers, and one attr per call shape with the
  // pointers written once, so a call writes at most the flags (no BigInt work on the hot path).
  readonly #attrKV = new Uint8Array(mapElemAttr.end);
  readonly #attrK = new Uint8Array(mapElemAttr.end);
  readonly #attrFirst = new Uint8Array(mapElemAttr.end);
  readonly #attrNext = new Uint8Array(mapElemAttr.end);
  // Their addresses, for Kernel.bpf's `at` (the attrs live as long as this object).
  readonly #attrKVAt: number;
  readonly #attrKAt: number;
  readonly #attrFirstAt: number;
  readonly #attrNextAt: number;
  #kvFlags = 0;
  /** This kernel has no LOOKUP_AND_DELETE_ELEM for this map's type (hash maps before 5.14): read, then delete. */
  #splitLookupAndDelete = false;
  readonly #key: Uint8Array;
  readonly #value: Uint8Array;
  readonly #next: Uint8Array;
  readonly #keyAddr: bigint;
  readonly #valueAddr: bigint;
  readonly #nextAddr: bigint;

  private constructor(kernel: Kernel, fd: FD, info: MapInfo, pinnedAt?: string) {
    this.kernel = kernel;
    this.fd = fd;
    this.type = info.type;
    this.keySize = info.keySize;
    this.valueSize = info.valueSize;
    this.valueBufferSize = valueBufferSize(info.type, info.valueSize);
    this.maxEntries = info.maxEntries;
    this.flags = info.flags;
    this.name = info.name;
    this.id = info.id;
    this.#pinnedAt = pinnedAt;
    this.#key = new Uint8Array(Math.max(1, info.keySize));
    this.#value = new Uint8Array(Math.max(1, this.valueBufferSize));
    this.#next = new Uint8Array(Math.max(1, info.keySize));
    this.#keyAddr = kernel.address(this.#key);
    this.#valueAddr = kernel.address(this.#value);
    this.#nextAddr = kernel.address(this.#next);
    const off = mapElemAttr.offsetOf;
    const fill = (attr: Uint8Array, key: bigint, value: bigint): void => {
      const dv = dataView(attr);
      dv.setUint32(off.map_fd, fd.value, true);
      dv.setBigUint64(off.key, key, true);
      dv.setBigUint64(off.value, value, true);
    };
    fill(this.#attrKV, this.#keyAddr, this.#valueAddr);
    fill(this.#attrK, this.#keyAddr, 0n);
    fill(this.#attrFirst, 0n, this.#nextAddr);
    fill(this.#attrNext, this.#keyAddr, this.#nextAddr);
    this.#attrKVAt = kernel.addressNumber(this.#attrKV);
    this.#attrKAt = kernel.addressNumber(this.#attrK);
    this.#attrFirstAt = kernel.addressNumber(this.#attrFirst);
    this.#attrNextAt = kernel.addressNumber(this.#attrNext);
  }

  /** Wrap an fd this object now owns; closes it if reading its info fails. */
  static fromFd(fdNum: number, opts: KernelOption & { readonly pinnedAt?: string | undefined } = {}): BpfMap {
    const k = opts.kernel ?? defaultKernel();
    const fd = new FD(fdNum);
    try {
      return new BpfMap(k, fd, infoOf(k, fdNum), opts.pinnedAt);
    } catch (err) {
      fd.close();
      throw err;
    }
  }

  static create(spec: MapSpec, opts: KernelOption = {}): BpfMap {
    const k = opts.kernel ?? defaultKernel();
    let innerFd: number | undefined;
    if (spec.innerMap !== undefined) {
      if (spec.type !== MapType.ArrayOfMaps && spec.type !== MapType.HashOfMaps) {
        throw new TypeError(`map ${spec.name}: an inner map spec needs type ArrayOfMaps or HashOfMaps`);
      }
      // The template only tells the kernel what inner maps look like; it is closed right after.
      innerFd = mapCreate(k, { ...createParams(spec.innerMap) });
    } else if (spec.type === MapType.ArrayOfMaps || spec.type === MapType.HashOfMaps) {
      throw new TypeError(`map ${spec.name}: ${mapTypeName(spec.type)} needs an innerMap spec`);
    }
    try {
      const fd = mapCreate(k, innerFd === undefined ? createParams(spec) : { ...createParams(spec), innerMapFd: innerFd });
      return BpfMap.fromFd(fd, { kernel: k });
    } finally {
      if (innerFd !== undefined) new FD(innerFd).close();
    }
  }

  /** Load a pinned map. With `expect`, refuse (MapIncompatibleError) a pin that differs, closing it. */
  static openPinned(path: string, opts: OpenPinnedOptions = {}): BpfMap {
    const k = opts.kernel ?? defaultKernel();
    const ret = objGetRaw(k, path);
    if (ret < 0) {
      throw new BpfError({ errno: -ret, command: 'BPF_OBJ_GET', subject: path });
    }
    const m = BpfMap.fromFd(ret, { kernel: k, pinnedAt: path });
    const expect = opts.expect;
    if (expect !== undefined) {
      const bad = incompatibility(path, expect, m.info());
      if (bad !== undefined) {
        m.close();
        throw bad;
      }
    }
    return m;
  }

  /**
   * Cilium's OpenOrCreate: reuse a compatible pin; replace an incompatible one
   * (its contents are lost: `replaced` says why, for the caller to report);
   * create and pin otherwise.
   */
  static openOrCreate(spec: MapSpec, pinPath: string, opts: KernelOption = {}): OpenOrCreateResult {
    const k = opts.kernel ?? defaultKernel();
    const ret = objGetRaw(k, pinPath);
    if (ret >= 0) {
      const m = BpfMap.fromFd(ret, { kernel: k, pinnedAt: pinPath });
      const bad = incompatibility(pinPath, spec, m.info());
      if (bad === undefined) return { map: m, outcome: 'opened' };
      m.close();
      unpinPath(pinPath);
      const fresh = BpfMap.create(spec, { kernel: k });
      fresh.#pinOrClose(pinPath);
      return { map: fresh, outcome: 'recreated', replaced: bad };
    }
    if (-ret !== Errno.ENOENT) throw new BpfError({ errno: -ret, command: 'BPF_OBJ_GET', subject: pinPath });
    const m = BpfMap.create(spec, { kernel: k });
    m.#pinOrClose(pinPath);
    return { map: m, outcome: 'created' };
  }

  static fromId(id: number, opts: KernelOption = {}): BpfMap {
    const k = opts.kernel ?? defaultKernel();
    return BpfMap.fromFd(mapGetFdById(k, id), { kernel: k });
  }

  #pinOrClose(path: string): void {
    try {
      this.pin(path);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** The fd number; throws EBADF once closed. */
  get fdValue(): number {
    return this.fd.value;
  }

  get closed(): boolean {
    return this.fd.closed;
  }

  get pinnedAt(): string | undefined {
    return this.#pinnedAt;
  }

  info(): MapInfo {
    return infoOf(this.kernel, this.fd.value);
  }

  pin(path: string): void {
    ensurePinDir(path);
    objPin(this.kernel, this.fd.value, path);
    this.#pinnedAt = path;
  }

  /** Remove the pin (if any). Idempotent: a pin that is already gone is not an error. */
  unpin(): void {
    if (this.#pinnedAt === undefined) return;
    unpinPath(this.#pinnedAt);
    this.#pinnedAt = undefined;
  }

  close(): void {
    this.fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** One element op on a prepared attr. A closed map fails with EBADF, never reaching a reused descriptor. */
  #call(cmd: number, attr: Uint8Array, at: number): number {
    if (this.fd.closed) throw new BpfError({ errno: Errno.EBADF, command: cmdName(cmd), subject: this.name });
    return this.kernel.bpf(cmd, attr, at);
  }

  /** LOOKUP/UPDATE/LOOKUP_AND_DELETE on the key and value scratch; only the flags may change between calls. */
  #kv(cmd: number, flags: number): number {
    if (flags !== this.#kvFlags) {
      setU32(this.#attrKV, mapElemAttr.offsetOf.flags, flags);
      this.#kvFlags = flags;
    }
    return this.#call(cmd, this.#attrKV, this.#attrKVAt);
  }

  /**
   * Hot-path access for bulk work: the map's own key and value scratch. Write
   * a key into `scratchKey`, call an `…InPlace` op, read `scratchValue` —
   * no argument checks, no copies. Valid until the next op on this map.
   */
  get scratchKey(): Uint8Array { return this.#key; }
  get scratchValue(): Uint8Array { return this.#value; }

  /** LOOKUP of `scratchKey` into `scratchValue`; false when absent. */
  lookupInPlace(): boolean {
    return this.#inPlace(this.#kv(BpfCmd.BPF_MAP_LOOKUP_ELEM, 0), BpfCmd.BPF_MAP_LOOKUP_ELEM);
  }

  /** DELETE of `scratchKey`; false when absent. */
  deleteInPlace(): boolean {
    return this.#inPlace(this.#call(BpfCmd.BPF_MAP_DELETE_ELEM, this.#attrK, this.#attrKAt), BpfCmd.BPF_MAP_DELETE_ELEM);
  }

  /**
   * LOOKUP_AND_DELETE of `scratchKey` into `scratchValue`; false when absent. Hash maps gained the command in
   * Linux 5.14 (commit 3e87f192b405, "bpf: Add lookup_and_delete_elem support to hashtab"); before that the kernel
   * answers EINVAL/ENOTSUPP and this falls back to a lookup then a delete — not atomic: a writer may refresh the
   * entry between the two, and the refreshed entry is deleted with the old value returned. True only when this
   * call's delete removed the key.
   */
  lookupAndDeleteInPlace(): boolean {
    if (this.#splitLookupAndDelete) return this.#lookupThenDelete();
    const cmd = BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_ELEM;
    const ret = this.#kv(cmd, 0);
    if (ret === -Errno.ENOENT) return false;
    if ((ret === -Errno.EINVAL || ret === -Errno.ENOTSUPP || ret === -Errno.EOPNOTSUPP) && isHashType(this.type) &&
      !haveFeature(Features.lookupAndDeleteHash, this.kernel)) {
      this.#splitLookupAndDelete = true;
      return this.#lookupThenDelete();
    }
    check(ret, cmd, this.name);
    return true;
  }

  #lookupThenDelete(): boolean {
    return this.lookupInPlace() && this.deleteInPlace();
  }

  /** An element op's result as "was the key there": ENOENT is false, any other error throws. */
  #inPlace(ret: number, cmd: number): boolean {
    if (ret === -Errno.ENOENT) return false;
    check(ret, cmd, this.name);
    return true;
  }

  /** Look `key` up into `out` (valueBufferSize bytes). Returns false when the key is absent. */
  lookupInto(key: Uint8Array, out: Uint8Array): boolean {
    this.#key.set(checkBuf('key', key, this.keySize, this.name));
    checkBuf('value buffer', out, this.valueBufferSize, this.name);
    if (!this.lookupInPlace()) return false;
    out.set(this.#value);
    return true;
  }

  /** The value stored under `key`, or undefined when there is none. */
  get(key: Uint8Array): Uint8Array | undefined {
    const out = new Uint8Array(this.valueBufferSize);
    return this.lookupInto(key, out) ? out : undefined;
  }

  set(key: Uint8Array, value: Uint8Array, flags: number = UpdateFlags.BPF_ANY): void {
    this.#key.set(checkBuf('key', key, this.keySize, this.name));
    this.#value.set(checkBuf('value', value, this.valueBufferSize, this.name));
    check(this.#kv(BpfCmd.BPF_MAP_UPDATE_ELEM, flags), BpfCmd.BPF_MAP_UPDATE_ELEM, this.name);
  }

  /**
   * Look up and delete in one syscall (hash maps: Linux 5.14+). False when
   * the key was absent. Older kernels answer EINVAL/ENOTSUPP (isNotSupported).
   */
  lookupAndDelete(key: Uint8Array, out: Uint8Array): boolean {
    this.#key.set(checkBuf('key', key, this.keySize, this.name));
    checkBuf('value buffer', out, this.valueBufferSize, this.name);
    if (!this.lookupAndDeleteInPlace()) return false;
    out.set(this.#value);
    return true;
  }

  /** Delete `key`; false when it was not there. */
  delete(key: Uint8Array): boolean {
    this.#key.set(checkBuf('key', key, this.keySize, this.name));
    return this.deleteInPlace();
  }

  /** The key after `key` (or the first key for null); undefined at the end. */
  nextKey(key: Uint8Array | null): Uint8Array | undefined {
    if (key !== null) this.#key.set(checkBuf('key', key, this.keySize, this.name));
    const ret = key === null
      ? this.#call(BpfCmd.BPF_MAP_GET_NEXT_KEY, this.#attrFirst, this.#attrFirstAt)
      : this.#call(BpfCmd.BPF_MAP_GET_NEXT_KEY, this.#attrNext, this.#attrNextAt);
    if (ret === -Errno.ENOENT) return undefined;
    check(ret, BpfCmd.BPF_MAP_GET_NEXT_KEY, this.name);
    return this.#next.slice();
  }

  /**
   * Walk with GET_NEXT_KEY + LOOKUP, yielding a fresh key and value each time.
   * Keys deleted between the two calls are skipped; more than max_entries
   * steps (a map being rewritten under us makes the kernel restart) aborts.
   */
  *entries(): Generator<[Uint8Array, Uint8Array], void, undefined> {
    let prev: Uint8Array | null = null;
    let steps = 0;
    for (;;) {
      let key: Uint8Array | undefined;
      try {
        key = this.nextKey(prev);
      } catch (err) {
        throw new Error(`get next key: ${(err as Error).message}`, { cause: err });
      }
      if (key === undefined) return;
      if (++steps > this.maxEntries) throw new Error('iteration aborted');
      let value: Uint8Array | undefined;
      try {
        value = this.get(key);
      } catch (err) {
        throw new Error(`look up next key: ${(err as Error).message}`, { cause: err });
      }
      if (value !== undefined) yield [key, value];
      prev = key;
    }
  }

  *keys(): Generator<Uint8Array, void, undefined> {
    for (const [k] of this.entries()) yield k;
  }

  [Symbol.iterator](): Generator<[Uint8Array, Uint8Array], void, undefined> {
    return this.entries();
  }

  /** Batch walk (hash/LRU/LPM maps); each Batch is a view into reused buffers. */
  batches(opts: BatchOptions = {}): Generator<Batch, void, undefined> {
    return batches(this, opts);
  }

  /**
   * batches(), pipelined (./iterate.ts batchesAsync): the kernel fills the
   * next batch on a worker thread while the caller works on this one.
   */
  batchesAsync(opts: BatchOptions = {}): AsyncGenerator<Batch, void, undefined> {
    return batchesAsync(this, opts);
  }

  /** Number of entries, counted with the batch iterator. */
  count(opts: BatchOptions = {}): number {
    let n = 0;
    for (const b of this.batches(opts)) n += b.count;
    return n;
  }

  /**
   * The number of entries, counted off the event loop: hash and LRU hash
   * maps by `workers` threads over bucket ranges (./pcount.ts), other maps
   * and kernels without threads by the sequential walk.
   */
  async countAsync(opts: ParallelCountOptions = {}): Promise<number> {
    if ((this.type === MapType.Hash || this.type === MapType.LRUHash) && this.kernel.threaded) return countParallel(this, opts);
    return this.count(opts.chunk === undefined ? {} : { chunk: opts.chunk });
  }

  /**
   * Delete `count` keys packed in `keys`; keys that vanished are skipped,
   * counted as missing and reported to `onMissing` by index.
   */
  deleteBatch(keys: Uint8Array, count = Math.floor(keys.length / this.keySize), onMissing?: (index: number) => void): BatchResult {
    return deleteBatch(this, keys, this.keySize, count, onMissing);
  }

  updateBatch(keys: Uint8Array, values: Uint8Array, count = Math.floor(keys.length / this.keySize),
    flags: number = UpdateFlags.BPF_ANY): BatchResult {
    return updateBatch(this, keys, this.keySize, values, this.valueBufferSize, count, flags);
  }

  /** Map-in-map: store `inner` (by fd) at `key` of this outer map. */
  setInner(key: Uint8Array, inner: BpfMap): void {
    const v = new Uint8Array(4);
    dataView(v).setUint32(0, inner.fdValue, true);
    this.set(key, v);
  }

  /** Map-in-map: the id of the inner map at `key`, or undefined. */
  innerId(key: Uint8Array): number | undefined {
    const v = this.get(key);
    return v === undefined ? undefined : dataView(v).getUint32(0, true);
  }

  toString(): string {
    return `BpfMap(${this.name || '<anon>'} ${mapTypeName(this.type)} key=${this.keySize} value=${this.valueSize} max=${this.maxEntries}${this.closed ? ' closed' : ''})`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString() + (this.#pinnedAt === undefined ? '' : ` @ ${this.#pinnedAt}`);
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, type: mapTypeName(this.type), keySize: this.keySize, valueSize: this.valueSize,
      maxEntries: this.maxEntries, flags: this.flags, id: this.id, pinnedAt: this.#pinnedAt ?? null, closed: this.closed };
  }
}

function createParams(spec: MapSpec): MapCreateParams {
  return { type: spec.type, keySize: spec.keySize, valueSize: spec.valueSize, maxEntries: spec.maxEntries,
    flags: spec.flags ?? 0, name: spec.name };
}

/** Remove a pin; a missing one is fine. */
export function unpinPath(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** The hash map types (their LOOKUP_AND_DELETE_ELEM arrived in 5.14). */
function isHashType(type: number): boolean {
  return type === MapType.Hash || type === MapType.PerCPUHash || type === MapType.LRUHash || type === MapType.LRUPerCPUHash;
}
