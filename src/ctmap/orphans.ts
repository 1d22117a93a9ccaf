/**
 * The orphan SNAT purge (Go PurgeOrphanNATEntries, nat-datapath.md §8):
 * remove NAT entries whose owning CT entry is gone (LRU eviction, reuse).
 *
 * Same outcomes as Cilium, cheaper on large maps:
 * - the NAT map is read with batch lookups and decided straight from the
 *   batch buffers; the keys condemned in a batch are removed with one
 *   BPF_MAP_DELETE_BATCH right after it (keys that vanished meanwhile are
 *   skipped), so memory is one batch whatever the map size. A walk that fails
 *   stops the purge; what earlier batches condemned is gone, as in Cilium,
 *   which deletes during its walk.
 * - whether a CT entry exists is asked with one lookup per candidate key,
 *   as Cilium does, until those lookups would cost more than reading the CT
 *   maps once; then a snapshot of the CT keys (a compact hash set) answers
 *   instead — unless the snapshot would exceed its memory budget. A key the
 *   snapshot does not hold is confirmed with a real lookup before its NAT
 *   entry is condemned, so a CT entry created after the snapshot still
 *   protects its NAT entry. A CT entry deleted after the snapshot leaves its
 *   NAT entry alive until the next purge: the error is always towards keeping.
 * - a CT map that cannot be read for any reason but "no such pin" counts as
 *   holding every key: its NAT entries are kept.
 */
import type { Registry } from 'prom-client';
import type { BpfMap } from '../syscall/map.js';
import { DumpStats } from '../syscall/reliable.js';
import { isNotExist } from '../syscall/errors.js';
import { KeyList, KeySet } from '../structs/keyset.js';
import { ctEntryLayout, DSRInternal } from '../structs/ctentry.js';
import { getU16 } from '../structs/bytes.js';
import { TUPLE_F_IN } from '../structs/tuple.js';
import { describe } from '../structs/describe.js';
import { natGCDeletedCounter, natGCEntriesGauge } from '../datapath/metrics.js';
import type { Logger } from '../datapath/log.js';
import { egressKeyFromIngress, swappedAddrsKey, swappedPortsKey, tuple4, tuple6 } from '../nat/keys.js';
import type { IPFamily } from '../nat/natmap.js';
import type { ConntrackMap } from './ctmap.js';

/** How CT existence is decided: per-key lookups, one CT snapshot, or lookups until a snapshot is cheaper. */
export type CtCheckStrategy = 'auto' | 'lookup' | 'snapshot';

export interface PurgeOptions {
  readonly strategy?: CtCheckStrategy;
  /** Record nat_gc_entries and nat_gc_deleted_total here (default: the CT map's settings' registry). */
  readonly registry?: Registry | undefined;
  /** Bytes a CT snapshot may take before 'auto' keeps to lookups (default 64 MiB). */
  readonly snapshotBudget?: number;
}

/** Go NatGCStats, plus what this implementation did to get there. */
export class NatGCStats {
  readonly dumpStats: DumpStats;
  readonly family: IPFamily;
  readonly clusterID: number;
  ingressAlive = 0;
  ingressDeleted = 0;
  egressDeleted = 0;
  egressAlive = 0;
  /** Set when the NAT walk failed (the purge stopped there). */
  error: Error | undefined;
  /** CT lookup syscalls issued, and whether a CT snapshot was taken. */
  ctLookups = 0;
  snapshot = false;

  constructor(family: IPFamily, clusterID: number, dumpStats: DumpStats) {
    this.family = family;
    this.clusterID = clusterID;
    this.dumpStats = dumpStats;
  }

  toJSON(): Record<string, unknown> {
    return {
      family: this.family, clusterID: this.clusterID, ingressAlive: this.ingressAlive, ingressDeleted: this.ingressDeleted,
      egressAlive: this.egressAlive, egressDeleted: this.egressDeleted, completed: this.dumpStats.completed,
      error: this.error?.message ?? null, ctLookups: this.ctLookups, snapshot: this.snapshot,
    };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `NatGCStats(${this.family}${this.clusterID !== 0 ? ` cluster=${this.clusterID}` : ''} ingress alive=${this.ingressAlive} deleted=${this.ingressDeleted}`
      + ` egress alive=${this.egressAlive} deleted=${this.egressDeleted}${this.error === undefined ? '' : ` error=${JSON.stringify(this.error.message)}`})`;
  }
}

// Break-even figures measured on this project's benchmark machine: a CT lookup
// through the FFI costs ~1 µs; reading and hashing a CT entry from a batch ~0.4 µs.
const LOOKUP_COST = 1.0;
const SNAPSHOT_COST_PER_ENTRY = 0.4;
const DEFAULT_SNAPSHOT_BUDGET = 64 * 1024 * 1024;

const FLAGS_OFF = ctEntryLayout.offsetOf.flags;

/** One CT map as the purge consults it: open, missing (ENOENT), or unusable (counts as "exists"). */
export class CtView {
  readonly map: BpfMap | undefined;
  readonly missing: boolean;
  #set: KeySet | undefined;
  readonly #stats: NatGCStats;
  readonly #log: Logger;

  constructor(m: ConntrackMap, stats: NatGCStats) {
    this.#stats = stats;
    this.#log = m.settings.logger;
    let map: BpfMap | undefined;
    let missing = false;
    try {
      map = m.bpfMap;
    } catch (err) {
      // Only an absent pin means "no CT entries"; any other failure keeps NAT entries.
      missing = isNotExist(err);
    }
    this.map = map;
    this.missing = missing;
  }

  get maxEntries(): number { return this.map?.maxEntries ?? 0; }

  /** What a snapshot of this map may take at most (keys, tags and the slot table at full size). */
  get snapshotBytes(): number {
    return this.map === undefined ? 0 : KeySet.bytesFor(this.map.keySize, this.map.maxEntries);
  }

  /** Read every key once into a set tagged with the DSR flag; on failure stay with lookups. */
  takeSnapshot(): void {
    if (this.map === undefined || this.#set !== undefined) return;
    const set = new KeySet(this.map.keySize, 1024);
    try {
      for (const b of this.map.batches()) {
        for (let i = 0; i < b.count; i++) {
          const dsr = (getU16(b.values, i * b.valueSize + FLAGS_OFF) & DSRInternal) !== 0 ? 1 : 0;
          set.add(b.keys, i * b.keySize, dsr);
        }
      }
    } catch (err) {
      this.#log('debug', 'CT snapshot failed, using lookups', { error: err });
      return;
    }
    this.#set = set;
  }

  /**
   * Go ctEntryExist: found (and, for DSR keys, flagged DSRInternal), or any
   * lookup error but ENOENT. A key the snapshot holds (with the DSR tag when
   * one is needed) is answered from it; anything else asks the kernel.
   */
  exists(key: Uint8Array, needDSR: boolean): boolean {
    if (this.map === undefined) return !this.missing;
    const set = this.#set;
    if (set !== undefined) {
      const i = set.find(key, 0);
      if (i >= 0 && (!needDSR || set.tag(i) === 1)) return true;
    }
    this.#stats.ctLookups++;
    const m = this.map;
    const sk = m.scratchKey;
    for (let i = 0; i < key.length; i++) sk[i] = key[i] ?? 0;
    let found: boolean;
    try {
      found = m.lookupInPlace();
    } catch {
      return true;
    }
    if (!found) return false;
    return !needDSR || (getU16(m.scratchValue, FLAGS_OFF) & DSRInternal) !== 0;
  }
}

function checkOptions(o: PurgeOptions): { strategy: CtCheckStrategy; budget: number; registry: Registry | undefined } {
  if (typeof (o as unknown) !== 'object' || (o as unknown) === null) throw new TypeError(`purge: options must be an object, got ${describe(o)}`);
  const strategy: unknown = o.strategy ?? 'auto';
  if (strategy !== 'auto' && strategy !== 'lookup' && strategy !== 'snapshot') throw new RangeError(`purge: strategy must be auto, lookup or snapshot, got ${describe(strategy)}`);
  const budget = o.snapshotBudget ?? DEFAULT_SNAPSHOT_BUDGET;
  if (typeof budget !== 'number' || !(budget >= 0)) throw new RangeError(`purge: snapshotBudget must be a non-negative number of bytes, got ${describe(budget)}`);
  return { strategy, budget, registry: o.registry };
}

/**
 * Remove the orphan NAT entries of a (TCP, Any) CT map pair. Undefined when
 * the pair has no NAT map (network-scoped, NAT disabled, per-cluster NAT
 * map missing or unopenable).
 */
export function purgeOrphans(ctMapTCP: ConntrackMap, ctMapAny: ConntrackMap, opts: PurgeOptions = {}): NatGCStats | undefined {
  const { strategy, budget, registry: given } = checkOptions(opts);
  const lease = ctMapTCP.natLease();
  const nat = lease.natMap;
  if (nat === undefined) return undefined;
  const settings = ctMapTCP.settings;
  try {
    let natMap: BpfMap;
    try {
      natMap = nat.bpfMap;
    } catch (err) {
      settings.logger('warn', 'Unable to open NAT map for orphan purge', { map: nat.name, error: err });
      return undefined;
    }
    const stats = new NatGCStats(nat.family, ctMapTCP.clusterID, new DumpStats(natMap.maxEntries));
    purge(natMap, ctMapTCP, ctMapAny, stats, strategy, budget);
    if (stats.error === undefined) nat.updatePressureMetricWithSize(stats.ingressAlive + stats.egressAlive);
    const registry = 'registry' in opts ? given : settings.registry;
    if (registry !== undefined) {
      const g = natGCEntriesGauge(registry);
      g.set({ family: stats.family, direction: 'ingress', status: 'alive' }, stats.ingressAlive);
      g.set({ family: stats.family, direction: 'ingress', status: 'deleted' }, stats.ingressDeleted);
      g.set({ family: stats.family, direction: 'egress', status: 'alive' }, stats.egressAlive);
      g.set({ family: stats.family, direction: 'egress', status: 'deleted' }, stats.egressDeleted);
      const c = natGCDeletedCounter(registry);
      c.inc({ family: stats.family, direction: 'ingress' }, stats.ingressDeleted);
      c.inc({ family: stats.family, direction: 'egress' }, stats.egressDeleted);
    }
    return stats;
  } finally {
    lease.release();
  }
}

function purge(natMap: BpfMap, ctMapTCP: ConntrackMap, ctMapAny: ConntrackMap, stats: NatGCStats, strategy: CtCheckStrategy, budget: number): void {
  const L = natMap.keySize === tuple4.size ? tuple4 : tuple6;
  const tcp = new CtView(ctMapTCP, stats);
  const any = new CtView(ctMapAny, stats);
  const snapshotAll = (): void => {
    tcp.takeSnapshot();
    any.takeSnapshot();
    stats.snapshot = true;
  };
  if (strategy === 'snapshot') snapshotAll();
  // Ski rental: rent (look up) until the rent paid equals the price of buying (reading the CT maps),
  // unless buying would take more memory than allowed.
  const affordable = tcp.snapshotBytes + any.snapshotBytes <= budget;
  const breakEven = strategy === 'auto' && affordable ? ((tcp.maxEntries + any.maxEntries) * SNAPSHOT_COST_PER_ENTRY) / LOOKUP_COST : Infinity;
  const egressQ = new KeyList(L.size);
  const ingressQ = new KeyList(L.size);
  const k1 = new Uint8Array(L.size);
  const k2 = new Uint8Array(L.size);
  const ds = stats.dumpStats;
  ds.started = new Date();
  try {
    for (const b of natMap.batches()) {
      const { keys, values, keySize, valueSize } = b;
      for (let i = 0; i < b.count; i++) {
        if (!stats.snapshot && stats.ctLookups > breakEven) snapshotAll();
        ds.lookup++;
        const ko = i * keySize;
        const ct = keys[ko + L.nexthdr] === 6 ? tcp : any;
        if (((keys[ko + L.flags] ?? 0) & TUPLE_F_IN) !== 0) {
          egressKeyFromIngress(L, keys, ko, values, i * valueSize, k1, 0);
          if (ct.exists(k1, false)) stats.ingressAlive++;
          else ingressQ.push(keys, ko);
        } else {
          swappedAddrsKey(L, keys, ko, k1, 0);
          let alive = ct.exists(k1, false);
          if (!alive) {
            swappedPortsKey(L, keys, ko, k2, 0);
            alive = ct.exists(k2, true);
          }
          if (alive) stats.egressAlive++;
          else egressQ.push(keys, ko);
        }
      }
      // The batch's orphans go now: the cursor is past their buckets, and memory stays one batch.
      stats.egressDeleted += natMap.deleteBatch(egressQ.bytes, egressQ.count).done;
      stats.ingressDeleted += natMap.deleteBatch(ingressQ.bytes, ingressQ.count).done;
      egressQ.clear();
      ingressQ.clear();
    }
    ds.completed = true;
  } catch (err) {
    stats.error = err instanceof Error ? err : new Error(String(err));
    ctMapTCP.settings.logger('warn', 'NATmap dump failed during GC', { error: stats.error });
  } finally {
    ds.finished = new Date();
  }
}
