/**
 * Cilium's SNAT maps (Go `nat.Map`): LRU hashes keyed by the 14/38-byte
 * tuple in packet orientation, valued by NatEntry4 (40 bytes) or NatEntry6
 * (56), pinned at `<root>/tc/globals/cilium_snat_v{4,6}_external`.
 */
import type { Registry } from 'prom-client';
import { PinnedMap } from '../syscall/pinned.js';
import { MapType } from '../syscall/attr.js';
import { wrapError } from '../syscall/errors.js';
import { dumpReliably, DumpStats } from '../syscall/reliable.js';
import {
  NatKey4, NatKey6, TupleKey4Global, TupleKey6Global, SizeofTupleKey4, SizeofTupleKey6, type NatKey,
} from '../structs/tuple.js';
import { NatEntry4, NatEntry6, SizeofNatEntry4, SizeofNatEntry6, rawCreated, type NatEntry } from '../structs/natentry.js';
import { describe } from '../structs/layout.js';
import { LimitTableMax } from '../ctmap/names.js';
import { ctMapFlags } from '../ctmap/types.js';
import { GetCTCurTime, NewCTTimeToSecConverter, systemClock, type ClockReader, type ClockSource } from '../ctmap/clock.js';
import { pressureSink } from '../ctmap/metrics.js';
import { MapNameSnat4Global, MapNameSnat6Global, NATMapEntriesGlobalDefault } from './names.js';

/** Go nat.IPFamily (a bool there): its String() values. */
export type IPFamily = 'ipv4' | 'ipv6';
export const IPv4: IPFamily = 'ipv4';
export const IPv6: IPFamily = 'ipv6';

// ---------------------------------------------------------------------------
// Sizing: option.Config.NATMapEntriesGlobal. Go's CLI process leaves it 0,
// which maxEntries() turns into LimitTableMax; the agent fills in its
// default. ctmap starts from the agent's default because creating a map is
// an agent's act here, and a 16M-entry LRU map is ~2 GB of kernel memory.

let natEntries = NATMapEntriesGlobalDefault;

/** Set --bpf-nat-global-max (0 means LimitTableMax, as in Go). Returns the previous value. */
export function setNATMapEntriesGlobal(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0 || n > LimitTableMax) {
    throw new RangeError(`NAT map size must be an integer in 0…${LimitTableMax}, got ${String(n)}`);
  }
  const prev = natEntries;
  natEntries = n;
  return prev;
}

/** Go nat maxEntries(): the configured size, or LimitTableMax when it is 0. */
export function natMapMaxEntries(): number {
  return natEntries === 0 ? LimitTableMax : natEntries;
}

export type NatDumpCallback = (key: NatKey, value: NatEntry) => void;

export interface NatMapOptions {
  /** Enables the map-pressure gauge. */
  readonly registry?: Registry;
  /** The cluster an inner per-cluster NAT map belongs to (0 for the global maps). */
  readonly clusterID?: number;
}

export class NatMap extends PinnedMap {
  readonly family: IPFamily;
  readonly clusterID: number;

  constructor(name: string, family: IPFamily, entries: number, opts: NatMapOptions = {}) {
    if (typeof name !== 'string' || name === '') throw new TypeError(`NAT map name must be a non-empty string, got ${describe(name)}`);
    if (family !== IPv4 && family !== IPv6) throw new TypeError(`NAT map family must be "ipv4" or "ipv6", got ${describe(family)}`);
    if (!Number.isInteger(entries) || entries < 1) throw new RangeError(`NAT map max entries must be a positive integer, got ${String(entries)}`);
    const v4 = family === IPv4;
    super({
      name, type: MapType.LRUHash, keySize: v4 ? SizeofTupleKey4 : SizeofTupleKey6,
      valueSize: v4 ? SizeofNatEntry4 : SizeofNatEntry6, maxEntries: entries, flags: ctMapFlags(),
    }, pressureSink(opts.registry, name));
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

  /** GET_NEXT_KEY walk; fresh key and value per call; vanished keys skipped; bounded. */
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
    for (const b of this.batches()) {
      for (let i = 0; i < b.count; i++) {
        each(b.keys.slice(i * b.keySize, (i + 1) * b.keySize), b.values.slice(i * b.valueSize, (i + 1) * b.valueSize));
        n++;
      }
    }
    return n;
  }

  dumpEntriesWithTimeDiff(clockSource?: ClockSource, clock: ClockReader = systemClock): string {
    return NatDumpEntriesWithTimeDiff(this, clockSource, clock);
  }

  /** Go DumpEntries: the text without a clock source (`Created=? (raw N)`). */
  dumpEntries(): string {
    return NatDumpEntriesWithTimeDiff(this);
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
      } catch {
        // Go logs "Unable to delete NAT entry" and carries on.
      }
    }, stats ?? new DumpStats(m.maxEntries));
    return n;
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

/** Go nat.NewMap. */
export function NewNatMap(name: string, family: IPFamily, entries: number, opts: NatMapOptions = {}): NatMap {
  return new NatMap(name, family, entries, opts);
}

/** Go GlobalMaps: the global SNAT maps of the enabled families (not opened). */
export function GlobalMaps(ipv4: boolean, ipv6: boolean, registry?: Registry): { v4: NatMap | undefined; v6: NatMap | undefined } {
  const opts: NatMapOptions = registry === undefined ? {} : { registry };
  return {
    v4: ipv4 ? new NatMap(MapNameSnat4Global, IPv4, natMapMaxEntries(), opts) : undefined,
    v6: ipv6 ? new NatMap(MapNameSnat6Global, IPv6, natMapMaxEntries(), opts) : undefined,
  };
}

/**
 * The NAT text (`cilium-dbg bpf nat list`): key in host order (not
 * reversed), then `XLATE_SRC|DST addr:port Created=… NeedsCT=…`. Without a
 * clock source Created prints `? (raw N)`; with one, `<now − created>sec ago`.
 */
export function writeNatEntriesWithTimeDiff(m: { dumpWithCallback(cb: NatDumpCallback): void }, clockSource: ClockSource | undefined,
  write: (s: string) => void, clock: ClockReader = systemClock): void {
  let toDeltaSecs = rawCreated;
  if (clockSource !== undefined) {
    const now = GetCTCurTime(clockSource, clock);
    const conv = NewCTTimeToSecConverter(clockSource);
    const nowSec = BigInt.asIntN(64, conv(now));
    toDeltaSecs = (t) => `${BigInt.asIntN(64, nowSec - BigInt.asIntN(64, conv(t)))}sec ago`;
  }
  m.dumpWithCallback((key, value) => {
    const k = key.toHost().dump(false);
    if (k === undefined) return;
    write(k + value.toHost().dump(key, toDeltaSecs));
  });
}

/** Go nat.DumpEntriesWithTimeDiff (exported as NatDumpEntriesWithTimeDiff beside the CT one). */
export function NatDumpEntriesWithTimeDiff(m: { dumpWithCallback(cb: NatDumpCallback): void }, clockSource?: ClockSource,
  clock: ClockReader = systemClock): string {
  const parts: string[] = [];
  writeNatEntriesWithTimeDiff(m, clockSource, (s) => { parts.push(s); }, clock);
  return parts.join('');
}
