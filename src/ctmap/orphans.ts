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
 * - the lookups go CHUNK NAT entries at a time, each CT map's in one FFI
 *   crossing (an ElemVector): first every entry's first candidate key, then
 *   the swapped-ports key of the egress entries whose first key was absent.
 *   The syscalls are Cilium's, one per candidate; only the crossings are
 *   fewer. Nothing is deleted between the lookups and the batch's delete.
 */
import type { Registry } from 'prom-client';
import type { BpfMap } from '../syscall/map.js';
import { DumpStats } from '../syscall/reliable.js';
import { Errno, isNotExist } from '../syscall/errors.js';
import { ElemVector } from '../syscall/elemvec.js';
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
  /** CT lookup syscalls issued, and whether the purge switched to CT snapshots (a map whose snapshot walk failed stays on lookups). */
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
// through the FFI costs ~1 µs; reading and hashing a CT entry from a batch ~0.4 µs,
// so a snapshot costs 0.4 lookups' worth per CT map entry.
const SNAPSHOT_LOOKUPS_PER_ENTRY = 0.4;
const DEFAULT_SNAPSHOT_BUDGET = 64 * 1024 * 1024;
/** NAT entries whose CT lookups share a crossing. */
const CHUNK = 256;

const FLAGS_OFF = ctEntryLayout.offsetOf.flags;

/** One CT map as the purge consults it: open, missing (ENOENT), or unusable (counts as "exists"). */
export class CtView {
  readonly map: BpfMap | undefined;
  readonly missing: boolean;
  #set: KeySet | undefined;
  readonly #vec: ElemVector | undefined;
  /** The last run() failed as a whole: every key it held counts as existing. */
  // Stryker disable next-line BooleanLiteral: equivalent — run() sets it before any answer() reads it.
  #runFailed = false;
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
    // Made now, while the map is known open: a map closed under the purge then fails its crossing (EBADF, every
    // key it held counts as existing) instead of stopping the walk.
    this.#vec = map === undefined ? undefined : new ElemVector(map, CHUNK);
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
   * What can be said without a syscall: a missing map holds nothing, an unusable one everything, the snapshot
   * what it holds (with the DSR tag when one is needed). Undefined: ask the kernel.
   */
  known(keys: Uint8Array, ko: number, needDSR: boolean): boolean | undefined {
    if (this.map === undefined) return !this.missing;
    const set = this.#set;
    if (set !== undefined) {
      const i = set.find(keys, ko);
      if (i >= 0 && (!needDSR || set.tag(i) === 1)) return true;
    }
    return undefined;
  }

  /** Queue a lookup of the key at keys[ko…] (one CT lookup counted); returns its slot for answer(). */
  queue(keys: Uint8Array, ko: number): number {
    const v = this.#vec as ElemVector;
    const ks = v.map.keySize;
    const slot = v.length;
    v.keys.set(keys.subarray(ko, ko + ks), slot * ks);
    v.lookup(slot);
    this.#stats.ctLookups++;
    return slot;
  }

  /** Run the queued lookups in one crossing. */
  run(): void {
    const v = this.#vec;
    this.#runFailed = false;
    if (v === undefined || v.length === 0) return;
    try {
      v.run();
    } catch (err) {
      this.#runFailed = true;
      this.#log('warn', 'CT lookups failed; their NAT entries are kept', { error: err });
    }
  }

  /** Go ctEntryExist from a slot's lookup: found (flagged DSRInternal when needed), or any error but ENOENT. */
  answer(slot: number, needDSR: boolean): boolean {
    const v = this.#vec as ElemVector;
    if (this.#runFailed) return true;
    const ret = v.result(slot);
    if (ret === -Errno.ENOENT) return false;
    if (ret < 0) return true;
    return !needDSR || (getU16(v.values, slot * v.map.valueBufferSize + FLAGS_OFF) & DSRInternal) !== 0;
  }

  /** Forget the queued lookups. */
  clear(): void {
    this.#vec?.clear();
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
    // The lease opened the NAT map (or said there is none, and a warning named why): it is there to use.
    const natMap = nat.bpfMap;
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
  const breakEven = strategy === 'auto' && affordable ? (tcp.maxEntries + any.maxEntries) * SNAPSHOT_LOOKUPS_PER_ENTRY : Infinity;
  const egressQ = new KeyList(L.size);
  const ingressQ = new KeyList(L.size);
  const k1 = new Uint8Array(L.size);
  const ds = stats.dumpStats;
  ds.started = new Date();
  try {
    // Per chunk: each entry's CT map, its first key's lookup slot (or the answer, when known without one), and the
    // same for the egress entries' second key.
    const view: CtView[] = [];
    const first = new Int32Array(CHUNK);
    const second = new Int32Array(CHUNK);
    const ANSWER_NO = -1;
    const ANSWER_YES = -2;
    // Stryker disable next-line UnaryOperator: equivalent — every ASK is replaced by a slot or an answer before a slot is read as one.
    const ASK = -3;
    const keysA = new Uint8Array(CHUNK * L.size);
    for (const b of natMap.batches()) {
      const { keys, values, keySize, valueSize } = b;
      for (let from = 0; from < b.count; from += CHUNK) {
        const to = Math.min(b.count, from + CHUNK);
        // First candidates: the ingress entry's egress key, or the egress entry's swapped-addresses key.
        for (let i = from; i < to; i++) {
          if (!stats.snapshot && stats.ctLookups > breakEven) snapshotAll();
          ds.lookup++;
          const ko = i * keySize;
          const ct = keys[ko + L.nexthdr] === 6 ? tcp : any;
          view[i - from] = ct;
          if (((keys[ko + L.flags] ?? 0) & TUPLE_F_IN) !== 0) egressKeyFromIngress(L, keys, ko, values, i * valueSize, k1, 0);
          else swappedAddrsKey(L, keys, ko, k1, 0);
          const k = ct.known(k1, 0, false);
          first[i - from] = k === undefined ? ct.queue(k1, 0) : k ? ANSWER_YES : ANSWER_NO;
        }
        tcp.run();
        any.run();
        // Second candidates: the swapped-ports key of egress entries whose first key is absent (DSR). The first
        // answers are read before the vectors are cleared for the second lookups.
        for (let i = from; i < to; i++) {
          const j = i - from;
          const f = first[j] as number;
          const alive = f === ANSWER_YES || (f >= 0 && (view[j] as CtView).answer(f, false));
          first[j] = alive ? ANSWER_YES : ANSWER_NO;
          const ko = i * keySize;
          const candidate = !alive && ((keys[ko + L.flags] ?? 0) & TUPLE_F_IN) === 0;
          second[j] = candidate ? ASK : ANSWER_NO;
          if (candidate) swappedPortsKey(L, keys, ko, keysA, j * L.size);
        }
        tcp.clear();
        any.clear();
        for (let j = 0; j < to - from; j++) {
          if (second[j] !== ASK) continue;
          const ct = view[j] as CtView;
          const k = ct.known(keysA, j * L.size, true);
          second[j] = k === undefined ? ct.queue(keysA, j * L.size) : k ? ANSWER_YES : ANSWER_NO;
        }
        tcp.run();
        any.run();
        for (let i = from; i < to; i++) {
          const j = i - from;
          const ko = i * keySize;
          const ingress = ((keys[ko + L.flags] ?? 0) & TUPLE_F_IN) !== 0;
          const s2 = second[j] as number;
          const alive = first[j] === ANSWER_YES || s2 === ANSWER_YES || (s2 >= 0 && (view[j] as CtView).answer(s2, true));
          if (ingress) {
            if (alive) stats.ingressAlive++;
            else ingressQ.push(keys, ko);
          } else if (alive) {
            stats.egressAlive++;
          } else {
            egressQ.push(keys, ko);
          }
        }
        tcp.clear();
        any.clear();
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
