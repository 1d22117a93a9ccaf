/**
 * A pinned ARRAY_OF_MAPS indexed by a u32 (Cilium's per-cluster outer
 * maps). Writing a slot takes the inner map's fd; reading one returns the
 * inner map's id, as the kernel reports it to user space.
 */
import { BpfMap, unpinPath, type MapSpec } from './map.js';
import type { PinnedMap } from './pinned.js';
import { MapType } from './attr.js';
import { mapPinPath } from './bpffs.js';
import { joinErrors, wrapError } from './errors.js';
import { setU32 } from '../structs/layout.js';

function indexKey(i: number): Uint8Array {
  const b = new Uint8Array(4);
  setU32(b, 0, i);
  return b;
}

export class OuterMap {
  readonly spec: MapSpec;
  #map: BpfMap | undefined;

  constructor(name: string, maxEntries: number, inner: MapSpec) {
    this.spec = { name, type: MapType.ArrayOfMaps, keySize: 4, valueSize: 4, maxEntries, flags: 0, innerMap: inner };
  }

  get name(): string { return this.spec.name; }
  path(): string { return mapPinPath(this.spec.name); }
  get isOpen(): boolean { return this.#map !== undefined && !this.#map.closed; }

  openOrCreate(): void {
    if (this.isOpen) return;
    this.#map = BpfMap.openOrCreate(this.spec, this.path()).map;
  }

  /** The outer map, loaded (and checked) from its pin when not open yet. */
  get bpfMap(): BpfMap {
    this.#map ??= BpfMap.openPinned(this.path(), this.spec);
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
  attach(index: number, inner: PinnedMap, updateLabel: string): void {
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
  detach(index: number, inner: PinnedMap): void {
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

/**
 * Unpin `<outer>_<id>` for every id in 1…maxID, then `<outer>` itself,
 * collecting failures into `errs`; absent pins are not failures.
 */
export function unpinOuterAndInner(outerName: string, maxID: number, errs: Error[]): void {
  for (let id = 1; id <= maxID; id++) {
    try {
      unpinPath(mapPinPath(`${outerName}_${id}`));
    } catch (err) {
      errs.push(wrapError(`delete inner map for cluster ID ${id}`, err));
    }
  }
  try {
    unpinPath(mapPinPath(outerName));
  } catch (err) {
    errs.push(wrapError('delete outer map', err));
  }
}

/** A test override prefix for outer map names: non-empty, no "/"; undefined restores the default. */
export function checkNamePrefix(prefix: string | undefined): string | undefined {
  if (prefix !== undefined && (typeof prefix !== 'string' || prefix === '' || prefix.includes('/'))) {
    throw new TypeError(`outer map name prefix must be a non-empty string without "/", got ${JSON.stringify(prefix)}`);
  }
  return prefix;
}
