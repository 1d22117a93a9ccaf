/**
 * A pinned ARRAY_OF_MAPS indexed by a u32 (what Cilium's per-cluster outer
 * maps are). Writing a slot takes the inner map's fd; reading one returns
 * the inner map's id, as the kernel reports it to user space. Where it is
 * pinned is the caller's business.
 */
import { BpfMap, type MapSpec } from './map.js';
import { MapType } from './attr.js';
import { joinErrors, wrapError } from './errors.js';
import type { Kernel } from './kernel.js';
import { setU32 } from '../structs/bytes.js';

/** An inner map as an outer map attaches it: a map known by its pin, opened on demand. */
export interface InnerMap {
  openOrCreate(): unknown;
  close(): void;
  unpin(): void;
  readonly bpfMap: BpfMap;
}

function indexKey(i: number): Uint8Array {
  const b = new Uint8Array(4);
  setU32(b, 0, i);
  return b;
}

export class OuterMap {
  readonly spec: MapSpec;
  readonly #path: string;
  readonly #kernel: (() => Kernel) | undefined;
  #map: BpfMap | undefined;

  /** `kernel` is asked when the map is first opened (default: the real kernel). */
  constructor(name: string, maxEntries: number, inner: MapSpec, path: string, kernel?: () => Kernel) {
    this.spec = { name, type: MapType.ArrayOfMaps, keySize: 4, valueSize: 4, maxEntries, flags: 0, innerMap: inner };
    this.#path = path;
    this.#kernel = kernel;
  }

  get name(): string { return this.spec.name; }
  path(): string { return this.#path; }
  get isOpen(): boolean { return this.#map !== undefined && !this.#map.closed; }

  openOrCreate(): void {
    if (this.isOpen) return;
    this.#map = BpfMap.openOrCreate(this.spec, this.#path, { kernel: this.#kernel?.() }).map;
  }

  /** The outer map, loaded (and checked) from its pin when not open yet. */
  get bpfMap(): BpfMap {
    this.#map ??= BpfMap.openPinned(this.#path, { kernel: this.#kernel?.(), expect: this.spec });
    return this.#map;
  }

  close(): void {
    this.#map?.close();
    this.#map = undefined;
  }

  /** outer[index] = inner (by fd). */
  setInner(index: number, inner: BpfMap): void {
    this.bpfMap.setInner(indexKey(index), inner);
  }

  /** Clear outer[index]; an empty slot is fine. */
  clear(index: number): void {
    this.bpfMap.delete(indexKey(index));
  }

  /**
   * Create (or reuse) and pin `inner`, point outer[index] at it, and close
   * the inner fd (its pin and the outer slot keep it alive). Failures say
   * which step: `create inner map: …` or `<updateLabel>: …`.
   */
  attach(index: number, inner: InnerMap, updateLabel: string): void {
    try {
      inner.openOrCreate();
    } catch (err) {
      throw wrapError('create inner map', err);
    }
    try {
      this.setInner(index, inner.bpfMap);
    } catch (err) {
      throw wrapError(updateLabel, err);
    } finally {
      inner.close();
    }
  }

  /** Unpin `inner` and clear outer[index]; both tolerate absence. */
  detach(index: number, inner: InnerMap): void {
    try {
      inner.unpin();
    } catch (err) {
      throw wrapError('delete inner map', err);
    }
    try {
      this.clear(index);
    } catch (err) {
      throw wrapError('update outer map', err);
    }
  }

  /** The id of the map in outer[index], or undefined when empty. */
  innerId(index: number): number | undefined {
    return this.bpfMap.innerId(indexKey(index));
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `OuterMap(${this.name} ${this.isOpen ? 'open' : 'closed'}) @ ${this.path()}`;
  }
}

/**
 * Run `fn` on every item, wrapping each failure as `<label(item)>: <err>`
 * and throwing them joined at the end: no early stop, no rollback (how
 * Cilium's per-cluster managers treat their outer maps).
 */
export function forEachJoined<T>(items: Iterable<T>, label: (item: T) => string, fn: (item: T) => void): void {
  const errs: Error[] = [];
  for (const item of items) {
    try {
      fn(item);
    } catch (err) {
      errs.push(wrapError(label(item), err));
    }
  }
  const joined = joinErrors(errs);
  if (joined !== undefined) throw joined;
}
