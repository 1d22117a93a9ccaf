/**
 * A map known by name and shape, pinned under the settings' bpffs root
 * (Cilium's bpf.Map): the spec is fixed at construction, the fd is opened
 * lazily from `<root>/tc/globals/<name>`. The CT, NAT and retries maps
 * build on it.
 */
import { BpfMap, incompatibility, unpinPath, type MapSpec, type OpenOutcome } from '../syscall/map.js';
import { Errno, MapLoadError } from '../syscall/errors.js';
import { objGetRaw } from '../syscall/sys.js';
import { FD } from '../syscall/fd.js';
import type { Batch, BatchOptions } from '../syscall/iterate.js';
import type { ParallelCountOptions } from '../syscall/pcount.js';
import { describe } from '../structs/describe.js';
import type { Settings } from './settings.js';

export abstract class PinnedMap {
  readonly name: string;
  /** What this map is created with. */
  readonly spec: MapSpec;
  /** Where it pins, which kernel it talks to, who hears about it. */
  readonly settings: Settings;
  #map: BpfMap | undefined;
  readonly #onPressure: ((pressure: number) => void) | undefined;

  /** `onPressure` receives every figure updatePressureMetricWithSize computes (a metrics gauge). */
  protected constructor(settings: Settings, spec: MapSpec, onPressure?: (pressure: number) => void) {
    this.name = spec.name;
    this.spec = spec;
    this.settings = settings;
    this.#onPressure = onPressure;
  }

  get keySize(): number { return this.spec.keySize; }
  get valueSize(): number { return this.spec.valueSize; }

  /** The pinned map's max entries once open (a pin may predate the configuration), else the spec's. */
  get maxEntries(): number { return this.#map?.maxEntries ?? this.spec.maxEntries; }

  get isOpen(): boolean { return this.#map !== undefined && !this.#map.closed; }

  /** `<root>/tc/globals/<name>`. */
  path(): string {
    return this.settings.pinPath(this.name);
  }

  /**
   * Whether an object is pinned at path(): false only when the kernel says
   * there is none (ENOENT). Opening it may still fail (permissions, another
   * shape), which open() reports.
   */
  pinned(): boolean {
    if (this.isOpen) return true;
    const fd = objGetRaw(this.settings.kernel, this.path());
    if (fd >= 0) new FD(fd).close();
    return fd >= 0 || fd !== -Errno.ENOENT;
  }

  /**
   * Load the pin. Unlike Go's Open, the pin's type and key/value sizes are
   * checked, so a map of another shape is refused (MapIncompatibleError)
   * instead of misread; other max entries or flags are accepted as they are.
   */
  open(): void {
    if (this.isOpen) return;
    const path = this.path();
    let m: BpfMap;
    try {
      m = BpfMap.openPinned(path, { kernel: this.settings.kernel });
    } catch (err) {
      throw new MapLoadError(path, err);
    }
    const info = m.info();
    const bad = incompatibility(path, { ...this.spec, maxEntries: info.maxEntries, flags: info.flags }, info);
    if (bad !== undefined) {
      m.close();
      throw bad;
    }
    this.#map = m;
  }

  /**
   * Go OpenOrCreate: reuse a compatible pin, replace an incompatible one
   * (contents lost, Cilium's warning logged), or create and pin a new map.
   */
  openOrCreate(): OpenOutcome {
    if (this.isOpen) return 'opened';
    const { map, outcome, replaced } = BpfMap.openOrCreate(this.spec, this.path(), { kernel: this.settings.kernel });
    if (replaced !== undefined) this.settings.logger('warn', 'Unpinning map with incompatible properties', { path: this.path(), reason: replaced.message });
    this.#map = map;
    return outcome;
  }

  /** Go Create: OpenOrCreate, then Close (the pin stays). */
  create(): OpenOutcome {
    const outcome = this.openOrCreate();
    this.close();
    return outcome;
  }

  /** Release the fd (idempotent); the pin stays. */
  close(): void {
    this.#map?.close();
    this.#map = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Remove the pin; a missing pin is not an error. An open fd keeps the map alive until closed. */
  unpin(): void {
    unpinPath(this.path());
  }

  /** The underlying generic map, opened from the pin if needed. */
  get bpfMap(): BpfMap {
    this.open();
    return this.#map as BpfMap;
  }

  /** The bytes of a typed key, refused unless it has this map's key size. */
  protected keyBytes(key: unknown, typeName: string): Uint8Array {
    const raw = (key as { raw?: unknown } | null)?.raw;
    if (!(raw instanceof Uint8Array) || raw.length !== this.keySize) {
      throw new TypeError(`${this.name}: key must be a ${typeName} (${this.keySize} bytes), got ${describe(key)}`);
    }
    return raw;
  }

  /** Batch walk: views into reused buffers; decode what you need, copy what you keep. */
  batches(opts: BatchOptions = {}): Generator<Batch, void, undefined> {
    return this.bpfMap.batches(opts);
  }

  /** The number of entries, walked with the batch iterator. */
  count(opts: BatchOptions = {}): number {
    return this.bpfMap.count(opts);
  }

  /** The number of entries, counted on `workers` threads (BpfMap.countAsync). */
  countAsync(opts: ParallelCountOptions = {}): Promise<number> {
    return this.bpfMap.countAsync(opts);
  }

  /**
   * Go UpdatePressureMetricWithSize: `size / max_entries`, also handed to
   * the pressure gauge when the map has one.
   */
  updatePressureMetricWithSize(size: number): number {
    const pressure = size / this.maxEntries;
    this.#onPressure?.(pressure);
    return pressure;
  }

  /** Go Map.String(): the map's name. */
  toString(): string {
    return this.name;
  }
}
