/**
 * Cilium's CT map object (Go `ctmap.Map`): a spec fixed at construction (LRU
 * hash, 14/38-byte keys, 56-byte CtEntry values, max entries from the
 * settings) plus an fd opened lazily from the pin at
 * `<bpffs>/tc/globals/<name>`, as Cilium's bpf.Map does.
 *
 * JavaScript code iterates it (`for (const { key, entry } of map)`,
 * `entries({ filter })`, the async forms) and collects it with
 * `gc(options)`. The class is `ConntrackMap` rather than Go's `Map` so it
 * does not shadow JavaScript's Map; `CtMap` is Go's interface, kept (with
 * `dumpWithCallback` and `dumpEntriesWithTimeDiff`) for code ported from Go.
 */
import type { Registry } from 'prom-client';
import type { MapSpec } from '../syscall/map.js';
import { MapType } from '../syscall/attr.js';
import { isNotExist } from '../syscall/errors.js';
import { CtKey4Global, CtKey6Global, type CtKey } from '../structs/tuple.js';
import { CtEntry, SizeofCtEntry } from '../structs/ctentry.js';
import { describe } from '../structs/describe.js';
import { compileFilter, type FilterInput } from '../structs/filter.js';
import { PinnedMap } from '../datapath/pinned.js';
import type { Settings } from '../datapath/settings.js';
import { remainingSecondsFormatter, type ClockReader, type ClockSource } from '../datapath/clock.js';
import { pressureSink } from '../datapath/metrics.js';
import { walk, walkAsync, countMatching, batchOptions, type WalkOptions } from '../datapath/walk.js';
import type { NatMap } from '../nat/natmap.js';
import { IPv4, IPv6 } from '../nat/natmap.js';
import { clusterNatMap } from '../nat/percluster.js';
import {
  ctMapTypeIsIPv4, ctMapTypeIsTCP, ctMapTypeKey, ctMapTypeKeySize, ctMapTypeMaxEntries, ctMapTypeName, ctMapTypeString,
  isCtMapType, type CtMapTypeValue,
} from './types.js';
import { GCFilter } from './gcfilter.js';
import { planFromOptions, runGC, runGCAsync, type GCOptions, type GCStats, type GCTarget, type NatMapLease } from './gc.js';
import { ctRecord4, ctRecord6, type CtRecord } from './record.js';
import { MaxTime } from './names.js';

/** Go bpf.DumpCallback for CT maps: a fresh key and value on every call. */
export type DumpCallback = (key: CtKey, value: CtEntry) => void;

/** Options for counting: an AbortSignal (Go's ctx), a filter, the batch chunk override. */
export interface CountOptions extends WalkOptions {
  readonly filter?: FilterInput | undefined;
}

/** Options for iterating: which entries (a filter, with its limit), an AbortSignal, the chunk override. */
export type CtIterOptions = CountOptions;

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

export interface ConntrackMapOptions {
  /** The inner CT map of a remote cluster (GC then uses that cluster's NAT map). */
  readonly clusterID?: number;
  /** Another network's map: overlapping addresses, no NAT map. */
  readonly networkID?: number;
  /** Map-pressure gauge (default: the settings' registry). */
  readonly registry?: Registry | undefined;
  /** Where the global NAT map this CT map pairs with comes from (asked at each GC pass). */
  readonly nat?: (() => NatMap | undefined) | undefined;
}

function u32(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new TypeError(`${what} must be an unsigned 32-bit integer, got ${describe(v)}`);
  }
  return v;
}

/** The creation spec of a CT map of `type` named `name` under `settings`. */
export function ctMapSpec(settings: Settings, name: string, type: CtMapTypeValue): MapSpec {
  return {
    name, type: MapType.LRUHash, keySize: ctMapTypeKeySize(type), valueSize: SizeofCtEntry,
    maxEntries: ctMapTypeMaxEntries(settings, type), flags: settings.mapFlags(),
  };
}

const none: NatMapLease = { natMap: undefined, release: () => undefined };

export class ConntrackMap extends PinnedMap implements CtMap, GCTarget {
  readonly mapType: CtMapTypeValue;
  readonly clusterID: number;
  readonly networkID: number;
  readonly #nat: (() => NatMap | undefined) | undefined;

  constructor(settings: Settings, name: string, mapType: number, opts: ConntrackMapOptions = {}) {
    if (typeof name !== 'string' || name === '') throw new TypeError(`CT map name must be a non-empty string, got ${describe(name)}`);
    if (!isCtMapType(mapType)) throw new RangeError(`Unexpected map type ${ctMapTypeString(mapType)}`);
    const clusterID = u32(opts.clusterID ?? 0, 'cluster ID');
    const networkID = u32(opts.networkID ?? 0, 'network ID');
    if (opts.nat !== undefined && typeof opts.nat !== 'function') throw new TypeError('nat must be a function returning the NAT map');
    super(settings, ctMapSpec(settings, name, mapType), pressureSink('registry' in opts ? opts.registry : settings.registry, name));
    this.mapType = mapType;
    this.clusterID = clusterID;
    this.networkID = networkID;
    this.#nat = opts.nat;
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

  /** Delete `key`; false when it was not there. No NAT follow-up: gc({ filter, all: true }) does that. */
  delete(key: CtKey): boolean {
    return this.bpfMap.delete(this.#keyBytes(key));
  }

  /** Decode a key of this map's family from bytes (copied). */
  keyFromBytes(b: Uint8Array): CtKey {
    return ctMapTypeKey(this.mapType, b);
  }

  // --- iteration -----------------------------------------------------------

  #make(): (keys: Uint8Array, ko: number, values: Uint8Array, vo: number) => CtRecord {
    return this.isIPv4 ? ctRecord4 : ctRecord6;
  }

  /** Every entry as `{ key, entry }`, decoded from batch reads (one batch in memory). */
  [Symbol.iterator](): Generator<CtRecord, void, undefined> {
    return this.entries();
  }

  /** The entries matching `filter` (as `ct list` prints them), at most `filter.limit`. */
  entries(opts: CtIterOptions = {}): Generator<CtRecord, void, undefined> {
    const match = compileFilter(opts.filter, 'ct', this.isIPv4 ? 4 : 6);
    return walk(this.bpfMap, match, opts.filter?.limit, this.#make(), opts);
  }

  *keys(opts: CtIterOptions = {}): Generator<CtKey, void, undefined> {
    for (const r of this.entries(opts)) yield r.key;
  }

  /** entries(), yielding to the event loop between batches. */
  [Symbol.asyncIterator](): AsyncGenerator<CtRecord, void, undefined> {
    return this.entriesAsync();
  }

  entriesAsync(opts: CtIterOptions = {}): AsyncGenerator<CtRecord, void, undefined> {
    const match = compileFilter(opts.filter, 'ct', this.isIPv4 ? 4 : 6);
    return walkAsync(this.bpfMap, match, opts.filter?.limit, this.#make(), opts);
  }

  /** The number of entries (matching `filter`, when given), counted from batch reads. */
  override count(opts: CountOptions = {}): number {
    if (opts.filter === undefined) return super.count(batchOptions(opts));
    return countMatching(this.bpfMap, compileFilter(opts.filter, 'ct', this.isIPv4 ? 4 : 6), opts);
  }

  /** Count the entries and report the map pressure (count / max_entries). */
  pressure(opts: CountOptions = {}): { count: number; maxEntries: number; pressure: number } {
    const count = this.count(opts);
    return { count, maxEntries: this.maxEntries, pressure: this.updatePressureMetricWithSize(count) };
  }

  // --- garbage collection --------------------------------------------------

  /**
   * One GC pass: removes the entries expired at `time` (default now on the
   * settings' clock) or matching `matchIPs`, within `filter`, with the NAT
   * follow-up; see GCOptions. Synchronous; gcAsync() yields between batches.
   */
  gc(options: GCOptions = {}): GCStats {
    return runGC(this, planFromOptions(this, checkNotFilter(options)));
  }

  /** gc(), yielding to the event loop after every batch. */
  gcAsync(options: GCOptions = {}): Promise<GCStats> {
    return runGCAsync(this, planFromOptions(this, checkNotFilter(options)));
  }

  /**
   * Remove every entry whose lifetime is below 0xFFFFFFFF (Go Flush; one at
   * exactly that lifetime survives), with the NAT follow-up.
   */
  flush(options: Omit<GCOptions, 'removeExpired' | 'time' | 'all'> = {}): GCStats {
    return this.gc({ ...checkNotFilter(options), removeExpired: true, time: MaxTime });
  }

  /**
   * The NAT map GC follows up on (§7.4): a global map uses the NAT map it was
   * built with (opened if needed); a per-cluster one that cluster's NAT map,
   * opened for the pass; a network-scoped one none. A NAT map that cannot be
   * opened is logged and means none, as in Cilium.
   */
  natLease(): NatMapLease {
    if (this.networkID !== 0) return none;
    const log = this.settings.logger;
    if (this.clusterID !== 0) {
      let nm: NatMap;
      try {
        nm = clusterNatMap(this.settings, this.clusterID, this.isIPv4 ? IPv4 : IPv6);
        nm.open();
      } catch (err) {
        log('warn', 'Unable to open per-cluster NAT map', { clusterID: this.clusterID, error: err });
        return none;
      }
      return { natMap: nm, release: () => { nm.close(); } };
    }
    const nm = this.#nat?.();
    if (nm === undefined) return none;
    try {
      nm.open();
    } catch (err) {
      // A node without a NAT map (NAT disabled) is normal; anything else is worth a warning.
      log(isNotExist(err) ? 'debug' : 'warn', 'Unable to open NAT map', { map: nm.name, error: err });
      return none;
    }
    return { natMap: nm, release: () => undefined };
  }

  // --- Go's CtMap interface, for code ported from Go ----------------------

  /**
   * Go DumpWithCallback: GET_NEXT_KEY + LOOKUP walk, a fresh key and value
   * per call; keys deleted mid-walk are skipped; bounded by max_entries.
   */
  dumpWithCallback(cb: DumpCallback | undefined): void {
    if (typeof cb !== 'function') throw new TypeError('empty callback');
    // entries() of the generic map hands out fresh arrays, so the key and value own them.
    const v4 = this.isIPv4;
    for (const [k, v] of this.bpfMap.entries()) cb(v4 ? new CtKey4Global(k) : new CtKey6Global(k), new CtEntry(v));
  }

  /** Go Map.DumpEntriesWithTimeDiff: the `cilium-dbg bpf ct list` text of this map. */
  dumpEntriesWithTimeDiff(clockSource?: ClockSource, clock: ClockReader = this.settings.clock): string {
    return DumpEntriesWithTimeDiff(this, clockSource, clock);
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

/** Options, refusing Go's GCFilter (and its positional event sinks) with a pointer to the Go entry points. */
function checkNotFilter<T>(o: T): T {
  if (o instanceof GCFilter || typeof o === 'function') {
    throw new TypeError('gc/flush take an options object ({ time, matchIPs, mode, … }); for Go\'s Map.GC(filter, next4, next6) use GC(map, filter, next4, next6) from ctmap/compat');
  }
  return o;
}

/** One CT entry's `ct list` text: the key in host order dumped reversed, then the value. */
export function ctEntryText(key: CtKey, entry: CtEntry, toRemSecs?: (lifetime: number) => string): string | undefined {
  const k = key.toHost().dump(true);
  return k === undefined ? undefined : k + entry.stringWithTimeDiff(toRemSecs);
}

/**
 * Write each entry's Cilium text (`cilium-dbg bpf ct list`): key in host
 * order dumped reversed, then the value with an optional "remaining" figure.
 * Entries whose next header is 0 are skipped, as Go's Dump returns false.
 */
export function writeEntriesWithTimeDiff(m: CtMap, clockSource: ClockSource | undefined, write: (s: string) => void,
  clock?: ClockReader): void {
  const toRemSecs = clockSource === undefined ? undefined : remainingSecondsFormatter(clockSource, clock);
  m.dumpWithCallback((key, value) => {
    const line = ctEntryText(key, value, toRemSecs);
    if (line !== undefined) write(line);
  });
}

/** Go DumpEntriesWithTimeDiff: the whole text (use writeEntriesWithTimeDiff to stream). */
export function DumpEntriesWithTimeDiff(m: CtMap, clockSource?: ClockSource, clock?: ClockReader): string {
  const parts: string[] = [];
  writeEntriesWithTimeDiff(m, clockSource, (s) => { parts.push(s); }, clock);
  return parts.join('');
}

/** Go OpenCTMap: the map's path, and the open error (if any) as a value. */
export function OpenCTMap(m: CtMap): { path: string; error: Error | undefined } {
  const path = m.path();
  try {
    m.open();
    return { path, error: undefined };
  } catch (err) {
    return { path, error: err instanceof Error ? err : new Error(String(err)) };
  }
}

/** Go MapPair: a TCP and an Any map; `isOpen` means the caller keeps them open (GC neither opens nor closes). */
export interface MapPair {
  readonly tcp: ConntrackMap;
  readonly any: ConntrackMap;
  readonly isOpen: boolean;
}
