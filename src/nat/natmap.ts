/**
 * Cilium's SNAT maps (Go `nat.Map`): LRU hashes keyed by the 14/38-byte
 * tuple in packet orientation, valued by NatEntry4 (40 bytes) or NatEntry6
 * (56), pinned at `<bpffs>/tc/globals/cilium_snat_v{4,6}_external`.
 *
 * JavaScript code iterates (`for (const { key, entry } of nat)`, `entries(filter)`,
 * the async forms); the Go-shaped walks (`dumpWithCallback`,
 * `dumpReliablyWithCallback`, `dumpBatch4/6`, the text dumps) are kept below
 * for code ported from Go.
 */
import type { Registry } from 'prom-client';
import { wrapError } from '../syscall/errors.js';
import { MapType } from '../syscall/attr.js';
import { dumpReliably, DumpStats } from '../syscall/reliable.js';
import {
  NatKey4, NatKey6, TupleKey4Global, TupleKey6Global, SizeofTupleKey4, SizeofTupleKey6, type NatKey,
} from '../structs/tuple.js';
import { NatEntry4, NatEntry6, SizeofNatEntry4, SizeofNatEntry6, rawCreated, type NatEntry } from '../structs/natentry.js';
import { describe } from '../structs/describe.js';
import { compileFilter, type FilterInput } from '../structs/filter.js';
import { PinnedMap } from '../datapath/pinned.js';
import type { Settings } from '../datapath/settings.js';
import { pressureSink } from '../datapath/metrics.js';
import { GetCTCurTime, NewCTTimeToSecConverter, systemClock, type ClockReader, type ClockSource } from '../datapath/clock.js';
import { walk, walkAsync, countMatching, batchOptions, type WalkOptions } from '../datapath/walk.js';

/** Go nat.IPFamily (a bool there): its String() values. */
export type IPFamily = 'ipv4' | 'ipv6';
export const IPv4: IPFamily = 'ipv4';
export const IPv6: IPFamily = 'ipv6';

/** One NAT entry as iteration yields it: its own copies of the key and value bytes. */
export interface NatRecord {
  readonly key: NatKey;
  readonly entry: NatEntry;
}

export type NatDumpCallback = (key: NatKey, value: NatEntry) => void;

export interface NatMapOptions {
  /** Enables the map-pressure gauge (default: the settings' registry). */
  readonly registry?: Registry | undefined;
  /** The cluster an inner per-cluster NAT map belongs to (0 for the global maps). */
  readonly clusterID?: number;
  /** Max entries to create it with (default: the settings' NAT size). */
  readonly maxEntries?: number;
}

export interface NatIterOptions extends WalkOptions {
  readonly filter?: FilterInput | undefined;
}

function makeRecord4(keys: Uint8Array, ko: number, values: Uint8Array, vo: number): NatRecord {
  return { key: new NatKey4(keys.slice(ko, ko + SizeofTupleKey4)), entry: new NatEntry4(values.slice(vo, vo + SizeofNatEntry4)) };
}

function makeRecord6(keys: Uint8Array, ko: number, values: Uint8Array, vo: number): NatRecord {
  return { key: new NatKey6(keys.slice(ko, ko + SizeofTupleKey6)), entry: new NatEntry6(values.slice(vo, vo + SizeofNatEntry6)) };
}

export class NatMap extends PinnedMap {
  readonly family: IPFamily;
  readonly clusterID: number;

  constructor(settings: Settings, name: string, family: IPFamily, opts: NatMapOptions = {}) {
    if (typeof name !== 'string' || name === '') throw new TypeError(`NAT map name must be a non-empty string, got ${describe(name)}`);
    if (family !== IPv4 && family !== IPv6) throw new TypeError(`NAT map family must be "ipv4" or "ipv6", got ${describe(family)}`);
    const entries = opts.maxEntries ?? settings.natMaxEntries();
    if (!Number.isInteger(entries) || entries < 1) throw new RangeError(`NAT map max entries must be a positive integer, got ${String(entries)}`);
    const v4 = family === IPv4;
    super(settings, {
      name, type: MapType.LRUHash, keySize: v4 ? SizeofTupleKey4 : SizeofTupleKey6,
      valueSize: v4 ? SizeofNatEntry4 : SizeofNatEntry6, maxEntries: entries, flags: settings.mapFlags(),
    }, pressureSink('registry' in opts ? opts.registry : settings.registry, name));
    this.family = family;
    this.clusterID = opts.clusterID ?? 0;
  }

  get isIPv4(): boolean { return this.family === IPv4; }

  #keyBytes(key: unknown): Uint8Array {
    return this.keyBytes(key, this.isIPv4 ? 'NatKey4' : 'NatKey6');
  }

  keyFromBytes(b: Uint8Array): NatKey {
    return this.isIPv4 ? NatKey4.fromBytes(b) : NatKey6.fromBytes(b);
  }

  valueFromBytes(b: Uint8Array): NatEntry {
    return this.isIPv4 ? NatEntry4.fromBytes(b) : NatEntry6.fromBytes(b);
  }

  /** The entry stored under `key`, or undefined. */
  lookup(key: NatKey | TupleKey4Global | TupleKey6Global): NatEntry | undefined {
    const v = this.bpfMap.get(this.#keyBytes(key));
    if (v === undefined) return undefined;
    return this.isIPv4 ? new NatEntry4(v) : new NatEntry6(v);
  }

  update(key: NatKey, value: NatEntry): void {
    const k = this.#keyBytes(key);
    const ok = this.isIPv4 ? value instanceof NatEntry4 : value instanceof NatEntry6;
    if (!ok) throw new TypeError(`${this.name}: value must be a ${this.isIPv4 ? 'NatEntry4' : 'NatEntry6'}, got ${describe(value)}`);
    this.bpfMap.set(k, value.raw);
  }

  /**
   * Go Delete (SilentDelete): true when removed, false when the key was not
   * there; other failures name the key and the map.
   */
  delete(key: NatKey | TupleKey4Global | TupleKey6Global): boolean {
    const k = this.#keyBytes(key);
    const m = this.bpfMap;
    try {
      return m.delete(k);
    } catch (err) {
      throw wrapError(`unable to delete element ${key.toString()} from map ${this.name}`, err);
    }
  }

  // --- iteration -----------------------------------------------------------

  #make(): (keys: Uint8Array, ko: number, values: Uint8Array, vo: number) => NatRecord {
    return this.isIPv4 ? makeRecord4 : makeRecord6;
  }

  /** Every entry, `{ key, entry }`, decoded from batch reads (one batch in memory). */
  [Symbol.iterator](): Generator<NatRecord, void, undefined> {
    return this.entries();
  }

  /** The entries matching `filter` (as `nat list` prints them), at most `filter.limit`. */
  entries(opts: NatIterOptions = {}): Generator<NatRecord, void, undefined> {
    const match = compileFilter(opts.filter, 'nat', this.isIPv4 ? 4 : 6);
    return walk(this.bpfMap, match, opts.filter?.limit, this.#make(), opts);
  }

  *keys(opts: NatIterOptions = {}): Generator<NatKey, void, undefined> {
    for (const r of this.entries(opts)) yield r.key;
  }

  /** entries(), yielding to the event loop between batches. */
  [Symbol.asyncIterator](): AsyncGenerator<NatRecord, void, undefined> {
    return this.entriesAsync();
  }

  entriesAsync(opts: NatIterOptions = {}): AsyncGenerator<NatRecord, void, undefined> {
    const match = compileFilter(opts.filter, 'nat', this.isIPv4 ? 4 : 6);
    return walkAsync(this.bpfMap, match, opts.filter?.limit, this.#make(), opts);
  }

  /** The number of entries (matching `filter`, when given). */
  override count(opts: NatIterOptions = {}): number {
    if (opts.filter === undefined) return super.count(batchOptions(opts));
    return countMatching(this.bpfMap, compileFilter(opts.filter, 'nat', this.isIPv4 ? 4 : 6), opts);
  }

  /**
   * Go Flush: delete every entry found by a reliable walk; returns how many
   * deletes succeeded (a key that vanished meanwhile is not counted).
   */
  flush(stats?: DumpStats): number {
    const m = this.bpfMap;
    let n = 0;
    dumpReliably(m, (k) => {
      try {
        if (m.delete(k)) n++;
      } catch (err) {
        // Go logs "Unable to delete NAT entry" and carries on.
        this.settings.logger('warn', 'Unable to delete NAT entry', { map: this.name, error: err });
      }
    }, stats ?? new DumpStats(m.maxEntries));
    return n;
  }

  // --- Go's nat.Map walks, for code ported from Go ------------------------

  /** Go DumpWithCallback: GET_NEXT_KEY walk; fresh key and value per call; vanished keys skipped; bounded. */
  dumpWithCallback(cb: NatDumpCallback | undefined): void {
    if (typeof cb !== 'function') throw new TypeError('empty callback');
    const v4 = this.isIPv4;
    for (const [k, v] of this.bpfMap.entries()) {
      if (v4) cb(new NatKey4(k), new NatEntry4(v));
      else cb(new NatKey6(k), new NatEntry6(v));
    }
  }

  /** Go DumpReliablyWithCallback: fresh keys; the value handed out is a fresh copy too. */
  dumpReliablyWithCallback(cb: NatDumpCallback | undefined, stats: DumpStats | undefined): void {
    if (typeof cb !== 'function') throw new TypeError('empty callback');
    const v4 = this.isIPv4;
    dumpReliably(this.bpfMap, (k, v) => {
      if (v4) cb(new NatKey4(k), new NatEntry4(v.slice()));
      else cb(new NatKey6(k), new NatEntry6(v.slice()));
    }, stats);
  }

  /** Go DumpBatch4: a batch walk handing raw tuple keys and values; returns the count. */
  dumpBatch4(fn: (key: TupleKey4Global, value: NatEntry4) => void): number {
    return this.#dumpBatch(IPv4, (k, v) => { fn(new TupleKey4Global(k), new NatEntry4(v)); });
  }

  dumpBatch6(fn: (key: TupleKey6Global, value: NatEntry6) => void): number {
    return this.#dumpBatch(IPv6, (k, v) => { fn(new TupleKey6Global(k), new NatEntry6(v)); });
  }

  /** The batch walk of DumpBatch4/6: fresh key and value bytes per entry; the wrong family is Go's error. */
  #dumpBatch(want: IPFamily, each: (key: Uint8Array, value: Uint8Array) => void): number {
    if (this.family !== want) throw new Error(`not implemented: wrong ip family: ${this.family}`);
    let n = 0;
    for (const r of this.entries()) {
      each(r.key.raw, r.entry.raw);
      n++;
    }
    return n;
  }

  /** Go DumpEntriesWithTimeDiff: the `cilium-dbg bpf nat list` text. */
  dumpEntriesWithTimeDiff(clockSource?: ClockSource, clock: ClockReader = this.settings.clock): string {
    return NatDumpEntriesWithTimeDiff(this, clockSource, clock);
  }

  /** Go DumpEntries: the text without a clock source (`Created=? (raw N)`). */
  dumpEntries(): string {
    return NatDumpEntriesWithTimeDiff(this);
  }

  /** Go's generic ClearAll refuses maps with a value cache or events buffer, which NAT maps have. */
  clearAll(): never {
    throw new Error('clear map: events buffer and value cache are not supported');
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `NatMap(${this.name} ${this.family} max=${this.maxEntries}${this.clusterID !== 0 ? ` cluster=${this.clusterID}` : ''} ${this.isOpen ? 'open' : 'closed'}) @ ${this.path()}`;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, family: this.family, path: this.path(), keySize: this.keySize, valueSize: this.valueSize,
      maxEntries: this.maxEntries, clusterID: this.clusterID, open: this.isOpen };
  }
}

/** The `created` formatter of the NAT text: `<now − created>sec ago` against a clock source, else `? (raw N)`. */
export function natCreatedFormatter(clockSource: ClockSource | undefined, clock: ClockReader = systemClock): (t: bigint) => string {
  if (clockSource === undefined) return rawCreated;
  const now = GetCTCurTime(clockSource, clock);
  const conv = NewCTTimeToSecConverter(clockSource);
  const nowSec = BigInt.asIntN(64, conv(now));
  return (t) => `${BigInt.asIntN(64, nowSec - BigInt.asIntN(64, conv(t)))}sec ago`;
}

/** One NAT entry's `nat list` line: the key in host order (not reversed), then its value. */
export function natLine(key: NatKey, entry: NatEntry, created: (t: bigint) => string): string | undefined {
  const k = key.toHost().dump(false);
  return k === undefined ? undefined : k + entry.toHost().dump(key, created);
}

/**
 * The NAT text (`cilium-dbg bpf nat list`): each entry's line, in the map's
 * order. Without a clock source Created prints `? (raw N)`.
 */
export function writeNatEntriesWithTimeDiff(m: { dumpWithCallback(cb: NatDumpCallback): void }, clockSource: ClockSource | undefined,
  write: (s: string) => void, clock: ClockReader = systemClock): void {
  const created = natCreatedFormatter(clockSource, clock);
  m.dumpWithCallback((key, value) => {
    const line = natLine(key, value, created);
    if (line !== undefined) write(line);
  });
}

/** Go nat.DumpEntriesWithTimeDiff (exported as NatDumpEntriesWithTimeDiff beside the CT one). */
export function NatDumpEntriesWithTimeDiff(m: { dumpWithCallback(cb: NatDumpCallback): void }, clockSource?: ClockSource,
  clock: ClockReader = systemClock): string {
  const parts: string[] = [];
  writeNatEntriesWithTimeDiff(m, clockSource, (s) => { parts.push(s); }, clock);
  return parts.join('');
}
