/**
 * Cilium's CT map object (Go `ctmap.Map`): a spec fixed at construction (LRU
 * hash, 14/38-byte keys, 56-byte CtEntry values, max entries from the
 * configuration) plus an fd opened lazily from the pin at
 * `<root>/tc/globals/<name>`, as Cilium's bpf.Map does.
 *
 * The class is `ConntrackMap` rather than Go's `Map` so it does not shadow
 * JavaScript's Map; `CtMap` is Go's interface, also implemented by the mock.
 */
import type { Registry } from 'prom-client';
import type { MapSpec } from '../syscall/map.js';
import { PinnedMap } from '../syscall/pinned.js';
import { MapType } from '../syscall/attr.js';
import { MapLoadError } from '../syscall/errors.js';
import type { BatchOptions } from '../syscall/iterate.js';
import { CtKey4Global, CtKey6Global, type CtKey } from '../structs/tuple.js';
import { CtEntry, SizeofCtEntry } from '../structs/ctentry.js';
import { describe } from '../structs/layout.js';
import {
  ctMapFlags, ctMapTypeFor, ctMapTypeGlobalName, ctMapTypeIsIPv4, ctMapTypeIsTCP, ctMapTypeKey, ctMapTypeKeySize,
  ctMapTypeMaxEntries, ctMapTypeName, ctMapTypeString, isCtMapType, CtMapType, type CtMapTypeValue,
} from './types.js';
import { remainingSecondsFormatter, systemClock, type ClockReader, type ClockSource } from './clock.js';
import { pressureSink } from './metrics.js';
import { GC, Flush, gcWithFilter, type GCFilter, type GCPassOptions, type GCStats } from './gc.js';
import type { GCEvent } from './gcevent.js';

/** Go bpf.DumpCallback for CT maps: a fresh key and value on every call. */
export type DumpCallback = (key: CtKey, value: CtEntry) => void;

/** Options for count(): an AbortSignal (Go's ctx) and the batch chunk override. */
export type CountOptions = BatchOptions;

/** Go's CtMap interface: what the real map and the mock both offer. */
export interface CtMap {
  open(): void;
  close(): void;
  path(): string;
  dumpEntriesWithTimeDiff(clockSource?: ClockSource): string;
  dumpWithCallback(cb: DumpCallback | undefined): void;
  count(opts?: CountOptions): number;
  update(key: CtKey, value: CtEntry): void;
}

interface MapOptionState {
  registry: Registry | undefined;
  networkID: number;
  clusterID: number;
}

/** Go's functional MapOption. */
export type MapOption = (o: MapOptionState) => void;

function u32(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new TypeError(`${what} must be an unsigned 32-bit integer, got ${describe(v)}`);
  }
  return v;
}

/** Enable the map-pressure gauge (cilium_bpf_map_pressure) on `registry`. */
export function WithRegistry(registry: Registry): MapOption {
  return (o) => { o.registry = registry; };
}

/** Mark the map as belonging to another network: overlapping addresses, no NAT map. */
export function WithNetworkID(id: number): MapOption {
  const v = u32(id, 'network ID');
  return (o) => { o.networkID = v; };
}

/** Mark the map as the inner CT map of a remote cluster (GC then uses that cluster's NAT map). */
export function WithClusterID(id: number): MapOption {
  const v = u32(id, 'cluster ID');
  return (o) => { o.clusterID = v; };
}

/** The creation spec of a CT map of `type` named `name` (no options involved). */
function specFor(name: string, type: CtMapTypeValue): MapSpec {
  return {
    name, type: MapType.LRUHash, keySize: ctMapTypeKeySize(type), valueSize: SizeofCtEntry,
    maxEntries: ctMapTypeMaxEntries(type), flags: ctMapFlags(),
  };
}

export { MapLoadError };

export class ConntrackMap extends PinnedMap implements CtMap {
  readonly mapType: CtMapTypeValue;
  readonly clusterID: number;
  readonly networkID: number;

  constructor(name: string, mapType: number, ...opts: MapOption[]) {
    if (typeof name !== 'string' || name === '') throw new TypeError(`CT map name must be a non-empty string, got ${describe(name)}`);
    if (!isCtMapType(mapType)) throw new RangeError(`Unexpected map type ${ctMapTypeString(mapType)}`);
    const o: MapOptionState = { registry: undefined, networkID: 0, clusterID: 0 };
    for (const opt of opts) opt(o);
    super(specFor(name, mapType), pressureSink(o.registry, name));
    this.mapType = mapType;
    this.clusterID = o.clusterID;
    this.networkID = o.networkID;
  }

  get isIPv4(): boolean { return ctMapTypeIsIPv4(this.mapType); }
  get isTCP(): boolean { return ctMapTypeIsTCP(this.mapType); }

  #keyBytes(key: unknown): Uint8Array {
    return this.keyBytes(key, this.isIPv4 ? 'CtKey4Global' : 'CtKey6Global');
  }

  update(key: CtKey, value: CtEntry): void {
    const k = this.#keyBytes(key);
    if (!(value instanceof CtEntry)) throw new TypeError(`${this.name}: value must be a CtEntry, got ${describe(value)}`);
    this.bpfMap.set(k, value.raw);
  }

  /** The entry stored under `key`, or undefined. */
  lookup(key: CtKey): CtEntry | undefined {
    const v = this.bpfMap.get(this.#keyBytes(key));
    return v === undefined ? undefined : new CtEntry(v);
  }

  /** Delete `key`; false when it was not there. */
  delete(key: CtKey): boolean {
    return this.bpfMap.delete(this.#keyBytes(key));
  }

  /** Decode a key of this map's family from bytes (copied). */
  keyFromBytes(b: Uint8Array): CtKey {
    return ctMapTypeKey(this.mapType, b);
  }

  /**
   * Go DumpWithCallback: GET_NEXT_KEY + LOOKUP walk, a fresh key and value
   * per call; keys deleted mid-walk are skipped; bounded by max_entries.
   */
  dumpWithCallback(cb: DumpCallback | undefined): void {
    if (typeof cb !== 'function') throw new TypeError('empty callback');
    const v4 = this.isIPv4;
    // entries() hands out fresh arrays, so the key and value own them without another copy.
    for (const [k, v] of this.bpfMap.entries()) cb(v4 ? new CtKey4Global(k) : new CtKey6Global(k), new CtEntry(v));
  }

  dumpEntriesWithTimeDiff(clockSource?: ClockSource, clock: ClockReader = systemClock): string {
    return DumpEntriesWithTimeDiff(this, clockSource, clock);
  }

  /** Count the entries and report the map pressure (count / max_entries). */
  pressure(opts: CountOptions = {}): { count: number; maxEntries: number; pressure: number } {
    const count = this.count(opts);
    return { count, maxEntries: this.maxEntries, pressure: this.updatePressureMetricWithSize(count) };
  }

  /**
   * Go Map.GC: one pass removing what `filter` condemns; with removeExpired
   * the filter's time is set to "now" first. `next4`/`next6` receive the
   * removed entries synchronously.
   */
  gc(filter: GCFilter, next4?: (ev: GCEvent) => void, next6?: (ev: GCEvent) => void, opts: GCPassOptions = {}): GCStats {
    return GC(this, filter, withNext(opts, next4, next6));
  }

  /** One pass with the filter exactly as given (Go doGC): what tests call with explicit times. */
  gcWithFilter(filter: GCFilter, opts: GCPassOptions = {}): GCStats {
    return gcWithFilter(this, filter, opts);
  }

  /** Go Map.Flush: remove every entry whose lifetime is below 0xFFFFFFFF; returns how many. */
  flush(next4?: (ev: GCEvent) => void, next6?: (ev: GCEvent) => void, opts: GCPassOptions = {}): number {
    return Flush(this, withNext(opts, next4, next6));
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const extra = [
      this.clusterID !== 0 ? `cluster=${this.clusterID}` : '',
      this.networkID !== 0 ? `network=${this.networkID}` : '',
      this.isOpen ? 'open' : 'closed',
    ].filter((s) => s !== '').join(' ');
    return `ConntrackMap(${this.name} ${ctMapTypeName(this.mapType)} max=${this.maxEntries} ${extra}) @ ${this.path()}`;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name, type: ctMapTypeName(this.mapType), path: this.path(), keySize: this.keySize,
      valueSize: this.valueSize, maxEntries: this.maxEntries, clusterID: this.clusterID, networkID: this.networkID,
      open: this.isOpen,
    };
  }
}

/** Pass options with the positional event sinks laid over them (only those given). */
function withNext(opts: GCPassOptions, next4: ((ev: GCEvent) => void) | undefined, next6: ((ev: GCEvent) => void) | undefined): GCPassOptions {
  return { ...opts, ...(next4 === undefined ? {} : { next4 }), ...(next6 === undefined ? {} : { next6 }) };
}

/** Go newMap: the CT map `name` of `type`, not opened yet. */
export function newMap(name: string, type: number, ...opts: MapOption[]): ConntrackMap {
  return new ConntrackMap(name, type, ...opts);
}

/** Go MapConfig: which of the four global types a map is. */
export interface MapConfig {
  readonly ipv6: boolean;
  readonly tcp: boolean;
}

/** Go NewGlobalMap: an extra CT map (e.g. registered for GC) of the type chosen by `cfg`. */
export function NewGlobalMap(name: string, cfg: MapConfig, ...opts: MapOption[]): ConntrackMap {
  return newMap(name, ctMapTypeFor(cfg), ...opts);
}

/** Go NewGlobalMapSpec: only the creation spec (its name is left empty, as Go's is). */
export function NewGlobalMapSpec(cfg: MapConfig): MapSpec {
  return { ...specFor('', ctMapTypeFor(cfg)) };
}

/** Go Maps(ipv4, ipv6): unopened global maps, v4 TCP, v4 Any, then v6 TCP, v6 Any. */
export function Maps(ipv4: boolean, ipv6: boolean, ...opts: MapOption[]): ConntrackMap[] {
  const out: ConntrackMap[] = [];
  const add = (t: CtMapTypeValue): void => { out.push(newMap(ctMapTypeGlobalName(t), t, ...opts)); };
  if (ipv4) {
    add(CtMapType.IPv4TCPGlobal);
    add(CtMapType.IPv4AnyGlobal);
  }
  if (ipv6) {
    add(CtMapType.IPv6TCPGlobal);
    add(CtMapType.IPv6AnyGlobal);
  }
  return out;
}

/**
 * Go OpenCTMap: the map's path, and the open error (if any) as a value, so
 * callers can tell an absent map (isNotExist) from other failures.
 */
export function OpenCTMap(m: CtMap): { path: string; error: Error | undefined } {
  const path = m.path();
  try {
    m.open();
    return { path, error: undefined };
  } catch (err) {
    return { path, error: err instanceof Error ? err : new Error(String(err)) };
  }
}

/**
 * Write each entry's Cilium text (`cilium-dbg bpf ct list`): key in host
 * order dumped reversed, then the value with an optional "remaining" figure.
 * Entries whose next header is 0 are skipped, as Go's Dump returns false.
 */
export function writeEntriesWithTimeDiff(m: CtMap, clockSource: ClockSource | undefined, write: (s: string) => void,
  clock: ClockReader = systemClock): void {
  const toRemSecs = clockSource === undefined ? undefined : remainingSecondsFormatter(clockSource, clock);
  m.dumpWithCallback((key, value) => {
    const k = key.toHost().dump(true);
    if (k === undefined) return;
    write(k + value.stringWithTimeDiff(toRemSecs));
  });
}

/** Go DumpEntriesWithTimeDiff: the whole text (use writeEntriesWithTimeDiff to stream). */
export function DumpEntriesWithTimeDiff(m: CtMap, clockSource?: ClockSource, clock: ClockReader = systemClock): string {
  const parts: string[] = [];
  writeEntriesWithTimeDiff(m, clockSource, (s) => { parts.push(s); }, clock);
  return parts.join('');
}

/** Go MapPair: a TCP and an Any map; `isOpen` means the caller keeps them open (GC neither opens nor closes). */
export interface MapPair {
  readonly tcp: ConntrackMap;
  readonly any: ConntrackMap;
  readonly isOpen: boolean;
}
