/**
 * Garbage collection of one CT map (ctmap.md §10–12): the filter, the
 * per-entry decision, the pass over the batch iterator, flush, GC events and
 * the NAT follow-up.
 *
 * Decisions are made straight from the batch buffers (a lifetime and two
 * addresses at fixed offsets): no object per entry unless someone asked to
 * see it (an emit callback, an event observer). Memory is one batch plus the
 * keys doomed in it.
 *
 * Two delete strategies (Cilium's open problems cilium/cilium#36981, #46298):
 * - **safe** (default): right before deleting a doomed entry it is read
 *   again. If it vanished it is `skipped`; if its lifetime changed since the
 *   batch read and the fresh entry would now be kept, it is `deferred` (left
 *   alone: the datapath refreshed it). Otherwise it is deleted at once. The
 *   window in which a connection reopened under the same key can be lost
 *   shrinks from a whole batch (Cilium) to the gap between the re-read and
 *   the delete syscall (about a microsecond); it is not zero, because the
 *   kernel has no compare-and-delete for hash maps.
 * - **fast**: the doomed keys of a batch are removed with one
 *   BPF_MAP_DELETE_BATCH; a key that vanished (LRU eviction) stops the kernel
 *   at it, so it is counted as `skipped` and the rest still go. Entries
 *   refreshed between the batch read and the delete are lost, as in Cilium.
 *
 * Go serialises passes on one map type with a mutex; here a pass is
 * synchronous JavaScript, so passes in one process cannot interleave.
 */
import type { Registry } from 'prom-client';
import type { BpfMap } from '../syscall/map.js';
import { BpfError, isNotSupported } from '../syscall/errors.js';
import { BatchError } from '../syscall/iterate.js';
import { KeyList, KeySet } from '../structs/keyset.js';
import { CtEntry, ctEntryLayout, DSRInternal } from '../structs/ctentry.js';
import { CtKey4Global, CtKey6Global, TUPLE_F_OUT, TUPLE_F_SERVICE } from '../structs/tuple.js';
import { getU16, getU32, getU64, setU32 } from '../structs/layout.js';
import { formatAddr, parseAddr } from '../structs/inet.js';
import { describe } from '../structs/layout.js';
import { log } from '../log.js';
import { reverseNatKey, swappedAddrsKey, swappedPortsKey, tuple4, tuple6, type TupleOffsets } from '../nat/keys.js';
import type { NatMap } from '../nat/natmap.js';
import { natMapFor } from './mapinfo.js';
import { gcMetrics } from './metrics.js';
import { GetCTCurTime, clockSourceFromOptions, type ClockSource } from './clock.js';
import type { GCEvent } from './gcevent.js';
import type { ConntrackMap } from './ctmap.js';

/** Go NetAddr: an address with the network it belongs to; equal only when both match. */
export interface NetAddr {
  readonly addr: string;
  readonly netID: number;
}

/** A set of NetAddr matched against raw key bytes without building strings. */
export class NetAddrSet {
  // Probe layout: 1 length byte (4|16, so v4 never equals v4-mapped v6), 16 address bytes, u32 netID.
  static readonly probeSize = 21;
  readonly #set = new KeySet(NetAddrSet.probeSize, 16);
  readonly #items: NetAddr[] = [];

  constructor(items: Iterable<NetAddr | string> = []) {
    for (const it of items) this.add(it);
  }

  add(item: NetAddr | string): void {
    const na: NetAddr = typeof item === 'string' ? { addr: item, netID: 0 } : item;
    if (typeof na !== 'object' || typeof na.addr !== 'string') throw new TypeError(`MatchIPs: expected an address or {addr, netID}, got ${describe(item)}`);
    if (!Number.isInteger(na.netID) || na.netID < 0 || na.netID > 0xffffffff) throw new TypeError(`MatchIPs: netID must be a u32, got ${describe(na.netID)}`);
    const a = parseAddr(na.addr);
    const probe = NetAddrSet.probe(a, 0, a.length, na.netID, new Uint8Array(NetAddrSet.probeSize));
    if (!this.#set.has(probe)) this.#items.push({ addr: formatAddr(a), netID: na.netID });
    this.#set.add(probe, 0);
  }

  static probe(src: Uint8Array, off: number, len: number, netID: number, out: Uint8Array): Uint8Array {
    out.fill(0);
    out[0] = len;
    out.set(src.subarray(off, off + len), 1);
    setU32(out, 17, netID);
    return out;
  }

  /** Whether the address at src[off…off+len) in network `netID` is in the set. */
  hasBytes(src: Uint8Array, off: number, len: number, netID: number, scratch: Uint8Array): boolean {
    return this.#set.has(NetAddrSet.probe(src, off, len, netID, scratch));
  }

  get size(): number { return this.#items.length; }
  [Symbol.iterator](): Iterator<NetAddr> { return this.#items[Symbol.iterator](); }
}

/** Go EmitCTEntryCBFunc, with NetAddr endpoints (addresses swapped back to the flow's view). */
export type EmitCTEntryCBFunc = (srcIP: NetAddr, dstIP: NetAddr, srcPort: number, dstPort: number, nextHdr: number,
  flags: number, entry: CtEntry) => void;

export interface GCFilterInit {
  readonly removeExpired?: boolean;
  readonly time?: number;
  readonly matchIPs?: Iterable<NetAddr | string>;
  readonly emitCTEntryCB?: EmitCTEntryCBFunc;
}

/** Go GCFilter. */
export class GCFilter {
  removeExpired: boolean;
  /** Entries with lifetime < time are expired (strictly less: lifetime == time survives). */
  time: number;
  readonly matchIPs: NetAddrSet | undefined;
  readonly emitCTEntryCB: EmitCTEntryCBFunc | undefined;

  constructor(init: GCFilterInit = {}) {
    const time = init.time ?? 0;
    if (!Number.isInteger(time) || time < 0 || time > 0xffffffff) throw new RangeError(`GCFilter.time must be a u32, got ${describe(time)}`);
    if (init.emitCTEntryCB !== undefined && typeof init.emitCTEntryCB !== 'function') throw new TypeError('GCFilter.emitCTEntryCB must be a function');
    this.removeExpired = init.removeExpired ?? false;
    this.time = time;
    const set = init.matchIPs === undefined ? undefined : init.matchIPs instanceof NetAddrSet ? init.matchIPs : new NetAddrSet(init.matchIPs);
    this.matchIPs = set !== undefined && set.size > 0 ? set : undefined;
    this.emitCTEntryCB = init.emitCTEntryCB;
  }
}

/** Go PurgeHook (the ACT: active connection tracking counts failed service connections). */
export interface PurgeHook {
  countFailed4(revNAT: number, backendID: number): void;
  countFailed6(revNAT: number, backendID: number): void;
}

let ACT: PurgeHook | undefined;

/** Install (or with undefined remove) the package-level ACT hook. */
export function setACT(hook: PurgeHook | undefined): void {
  ACT = hook;
}

export type GCMode = 'safe' | 'fast';

let clockSource: ClockSource = clockSourceFromOptions();

/** The agent's clock source for GC "now" (Go GetClockSourceFromOptions): ktime unless set to jiffies. */
export function setGCClockSource(cs: ClockSource): void {
  if (cs.mode !== 'ktime' && cs.mode !== 'jiffies') throw new RangeError(`invalid clocksource: ${cs.mode}`);
  clockSource = cs;
}

export function gcClockSource(): ClockSource {
  return clockSource;
}

export interface GCPassOptions {
  readonly next4?: ((ev: GCEvent) => void) | undefined;
  readonly next6?: ((ev: GCEvent) => void) | undefined;
  readonly mode?: GCMode;
  /** Delete the NAT mappings of removed egress entries in the pass itself (reverse keys batched). */
  readonly natFollowUp?: boolean;
  /** Record Cilium's GC metrics here. */
  readonly registry?: Registry | undefined;
  /** Batch chunk override (tests). */
  readonly chunk?: number;
  /** Called after each batch with the entries seen so far. */
  readonly onProgress?: (seen: number) => void;
  readonly signal?: AbortSignal;
}

/** What one pass did (Go gcStats, plus `deferred` and the NAT follow-up counts). */
export class GCStats {
  readonly map: string;
  readonly family: 'ipv4' | 'ipv6';
  readonly protocol: 'TCP' | 'non-TCP';
  readonly mode: GCMode;
  readonly maxEntries: number;
  deleted = 0;
  aliveEntries = 0;
  /** Doomed entries that were already gone (LRU eviction, a concurrent delete). */
  skipped = 0;
  /** Safe mode: doomed entries the datapath refreshed between the batch read and the delete; left alone. */
  deferred = 0;
  /** NAT entries removed by the in-pass follow-up. */
  natDeleted = 0;
  completed = false;
  error: Error | undefined;
  started = new Date();
  finished: Date | undefined;

  constructor(m: ConntrackMap, mode: GCMode, maxEntries: number) {
    this.map = m.name;
    this.family = m.isIPv4 ? 'ipv4' : 'ipv6';
    this.protocol = m.isTCP ? 'TCP' : 'non-TCP';
    this.mode = mode;
    this.maxEntries = maxEntries;
  }

  /** Milliseconds the pass took. */
  duration(): number {
    return (this.finished ?? new Date()).getTime() - this.started.getTime();
  }

  toJSON(): Record<string, unknown> {
    return {
      map: this.map, family: this.family, protocol: this.protocol, mode: this.mode, deleted: this.deleted,
      alive: this.aliveEntries, skipped: this.skipped, deferred: this.deferred, natDeleted: this.natDeleted,
      completed: this.completed, error: this.error?.message ?? null, durationMs: this.duration(),
    };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `GCStats(${this.map} ${this.mode}: deleted=${this.deleted} alive=${this.aliveEntries} skipped=${this.skipped} `
      + `deferred=${this.deferred}${this.natDeleted > 0 ? ` natDeleted=${this.natDeleted}` : ''}${this.error === undefined ? '' : ` error=${JSON.stringify(this.error.message)}`})`;
  }
}

const O = ctEntryLayout.offsetOf;

/** The NAT follow-up done inside the pass: NatMapNext's outcome with the fewest syscalls. */
class NatFollowUp {
  readonly #nat: NatMap;
  readonly #bm: BpfMap;
  readonly #L: TupleOffsets;
  readonly #rkey: Uint8Array;
  readonly #pending: KeyList;
  #lookupAndDelete = true;
  deleted = 0;

  constructor(nat: NatMap, L: TupleOffsets) {
    this.#nat = nat;
    this.#bm = nat.bpfMap;
    this.#L = L;
    this.#rkey = new Uint8Array(L.size);
    this.#pending = new KeyList(L.size, 64);
  }

  /**
   * The NAT deletes for a removed CT entry: the SNAT entry at once (its value names the reverse
   * key), the reverse or DSR key queued for the batch delete at the end of the CT batch.
   */
  follow(ct: Uint8Array, ko: number, entryFlags: number): void {
    const L = this.#L;
    if (ct[ko + L.flags] !== TUPLE_F_OUT) return;
    const key = this.#bm.scratchKey;
    if ((entryFlags & DSRInternal) !== 0) {
      swappedPortsKey(L, ct, ko, key, 0);
      this.#pending.push(key, 0);
      return;
    }
    swappedAddrsKey(L, ct, ko, key, 0);
    if (!this.#takeValue()) return;
    this.deleted++;
    reverseNatKey(L, key, 0, this.#bm.scratchValue, 0, this.#rkey, 0);
    this.#pending.push(this.#rkey, 0);
  }

  // The SNAT entry and its value in one syscall where the kernel can (5.14+), else lookup + delete.
  #takeValue(): boolean {
    const bm = this.#bm;
    try {
      if (this.#lookupAndDelete) return bm.lookupAndDeleteInPlace();
    } catch (err) {
      if (!isNotSupported(err) && !BpfError.is(err, 'EINVAL')) return false;
      this.#lookupAndDelete = false;
    }
    try {
      if (!bm.lookupInPlace()) return false;
      bm.deleteInPlace();
      return true;
    } catch {
      return false;
    }
  }

  flush(): void {
    if (this.#pending.count === 0) return;
    try {
      this.deleted += this.#bm.deleteBatch(this.#pending.bytes, this.#pending.count).done;
    } catch (err) {
      log('warn', 'NAT follow-up batch delete failed', { map: this.#nat.name, error: err });
    }
    this.#pending.clear();
  }
}

/**
 * Run one pass over `m` with the filter exactly as given (Go doGC); what
 * tests call with explicit times. Returns the pass's stats; an iteration
 * error is in `stats.error` (the pass still counts as completed, as in Go).
 */
export function gcWithFilter(m: ConntrackMap, filter: GCFilter, opts: GCPassOptions = {}): GCStats {
  if (!(filter instanceof GCFilter)) throw new TypeError(`gc: filter must be a GCFilter, got ${describe(filter)}`);
  const mode: unknown = opts.mode ?? 'safe';
  if (mode !== 'safe' && mode !== 'fast') throw new RangeError(`gc: mode must be "safe" or "fast", got ${describe(mode)}`);
  const bm = m.bpfMap;
  const stats = new GCStats(m, mode, bm.maxEntries);
  const lease = natMapFor(m);
  try {
    pass(m, bm, filter, opts, mode, stats, lease.natMap);
  } finally {
    lease.release();
    stats.finished = new Date();
    if (opts.registry !== undefined) recordMetrics(opts.registry, stats);
  }
  return stats;
}

function pass(m: ConntrackMap, bm: BpfMap, filter: GCFilter, opts: GCPassOptions, mode: GCMode, stats: GCStats, natMap: NatMap | undefined): void {
  const v4 = m.isIPv4;
  const L = v4 ? tuple4 : tuple6;
  const ks = L.size;
  const next = v4 ? opts.next4 : opts.next6;
  const act = ACT;
  const removeExpired = filter.removeExpired;
  const time = filter.time;
  const match = filter.matchIPs;
  const emit = filter.emitCTEntryCB;
  const netID = m.networkID;
  const probe = new Uint8Array(NetAddrSet.probeSize);
  const follow = opts.natFollowUp === true && natMap !== undefined ? new NatFollowUp(natMap, L) : undefined;
  const fast = mode === 'fast';
  const doomed = new KeyList(ks, 256);
  const doomedAt: number[] = [];
  const fresh = bm.scratchValue;
  const keyBuf = bm.scratchKey;

  const doomedBy = (keys: Uint8Array, ko: number, values: Uint8Array, vo: number): boolean => {
    if (removeExpired && getU32(values, vo + O.lifetime) < time) return true;
    if (match !== undefined) {
      // Key addresses are reversed (#5848): DestAddr is the flow's source.
      if (match.hasBytes(keys, ko + L.daddr, L.addrLen, netID, probe) || match.hasBytes(keys, ko + L.saddr, L.addrLen, netID, probe)) return true;
    }
    return false;
  };

  /** The removed entry's aftermath: ACT, the event, the NAT follow-up. */
  const removed = (keys: Uint8Array, ko: number, values: Uint8Array, vo: number): void => {
    stats.deleted++;
    // Everything is read from the buffers before any user code (the ACT hook, observers) runs: in safe
    // mode they are the map's scratch, which a hook calling back into the same map would overwrite.
    const flags = keys[ko + L.flags];
    const service = flags === TUPLE_F_SERVICE && act !== undefined;
    const revNAT = service ? getU16(values, vo + O.rev_nat_index) : 0;
    const backendID = service ? Number(getU64(values, vo + O.union0 + 8) & 0xffffffffn) : 0;
    let event: GCEvent | undefined;
    if (next !== undefined) {
      const kb = keys.slice(ko, ko + ks);
      event = { key: v4 ? new CtKey4Global(kb) : new CtKey6Global(kb), entry: new CtEntry(values.slice(vo, vo + ctEntryLayout.size)), natMap };
    }
    // The reverse and DSR keys are batched per CT batch in both modes: they belong to entries
    // already gone, so no race is widened.
    follow?.follow(keys, ko, getU16(values, vo + O.flags));
    if (service) {
      if (v4) act.countFailed4(revNAT, backendID);
      else act.countFailed6(revNAT, backendID);
    }
    if (event !== undefined) next?.(event);
  };

  let seen = 0;
  try {
    const walk = { ...(opts.chunk === undefined ? {} : { chunk: opts.chunk }), ...(opts.signal === undefined ? {} : { signal: opts.signal }) };
    for (const b of bm.batches(walk)) {
      const { keys, values, valueSize, count } = b;
      for (let i = 0; i < count; i++) {
        const ko = i * ks;
        const vo = i * valueSize;
        if (!doomedBy(keys, ko, values, vo)) {
          stats.aliveEntries++;
          if (emit !== undefined) emitEntry(emit, keys, ko, values, vo, L, netID);
          continue;
        }
        if (fast) {
          doomed.push(keys, ko);
          doomedAt.push(i);
          continue;
        }
        // Safe: read it again right before deleting it (in the map's own scratch: no copies).
        for (let j = 0; j < ks; j++) keyBuf[j] = keys[ko + j] ?? 0;
        let present: boolean;
        try {
          present = bm.lookupInPlace();
        } catch (err) {
          log('warn', 'Unable to re-read CT entry before deleting it', { map: m.name, error: err });
          continue;
        }
        if (!present) {
          stats.skipped++;
          continue;
        }
        if (getU32(fresh, O.lifetime) !== getU32(values, vo + O.lifetime) && !doomedBy(keys, ko, fresh, 0)) {
          stats.deferred++;
          continue;
        }
        let gone: boolean;
        try {
          gone = bm.deleteInPlace();
        } catch (err) {
          log('warn', 'Unable to delete CT entry', { map: m.name, error: err });
          continue;
        }
        if (!gone) {
          stats.skipped++;
          continue;
        }
        removed(keyBuf, 0, fresh, 0);
      }
      if (fast && doomed.count > 0) {
        const missing = new Set<number>();
        let applied = doomedAt.length;
        try {
          bm.deleteBatch(doomed.bytes, doomed.count, (j) => { missing.add(j); });
        } catch (err) {
          // The kernel stopped on something other than a vanished key: what it did before that still counts.
          if (!(err instanceof BatchError)) throw err;
          applied = err.processed;
          log('warn', 'Unable to delete CT entries', { map: m.name, error: err });
        }
        for (let j = 0; j < applied; j++) {
          if (missing.has(j)) {
            stats.skipped++;
            continue;
          }
          const i = doomedAt[j] ?? 0;
          removed(keys, i * ks, values, i * valueSize);
        }
        doomed.clear();
        doomedAt.length = 0;
      }
      follow?.flush();
      seen += count;
      opts.onProgress?.(seen);
    }
  } catch (err) {
    stats.error = err instanceof Error ? err : new Error(String(err));
  }
  // Go marks the pass completed even when the iterator ended with an error.
  stats.completed = true;
  if (follow !== undefined) stats.natDeleted = follow.deleted;
}

function emitEntry(emit: EmitCTEntryCBFunc, keys: Uint8Array, ko: number, values: Uint8Array, vo: number, L: TupleOffsets, netID: number): void {
  const kb = keys.slice(ko, ko + L.size);
  const src = formatAddr(kb.subarray(L.daddr, L.daddr + L.addrLen));
  const dst = formatAddr(kb.subarray(L.saddr, L.saddr + L.addrLen));
  emit({ addr: src, netID }, { addr: dst, netID }, getU16(kb, L.dport), getU16(kb, L.sport), kb[L.nexthdr] ?? 0, kb[L.flags] ?? 0,
    new CtEntry(values.slice(vo, vo + ctEntryLayout.size)));
}

function recordMetrics(registry: Registry, s: GCStats): void {
  const mt = gcMetrics(registry);
  const status = s.completed ? 'completed' : 'uncompleted';
  const labels = { family: s.family, protocol: s.protocol };
  mt.dumpResets.inc({ area: 'conntrack', name: 'dump_interrupts', family: s.family }, 0);
  if (s.completed) {
    mt.entries.set({ ...labels, status: 'alive' }, s.aliveEntries);
    mt.entries.set({ ...labels, status: 'deleted' }, s.deleted);
  } else {
    log('warn', 'Garbage collection CT map failed to finish', { map: s.map });
  }
  mt.runs.inc({ ...labels, status });
  mt.duration.observe({ ...labels, status }, s.duration() / 1000);
  mt.keyFallbacks.inc(labels, 0);
}

/**
 * Go Map.GC: with removeExpired the filter's time is first set to "now" from
 * the GC clock source (a clock error gives 0: nothing counts as expired).
 */
export function GC(m: ConntrackMap, filter: GCFilter, opts: GCPassOptions = {}): GCStats {
  if (filter.removeExpired) {
    let now = 0;
    try {
      now = Number(BigInt.asUintN(32, GetCTCurTime(clockSource)));
    } catch (err) {
      log('warn', 'Unable to read the CT clock; nothing counts as expired', { error: err });
    }
    filter.time = now;
  }
  return gcWithFilter(m, filter, opts);
}

/**
 * Go Flush: a pass with {removeExpired, time: MaxTime}; an entry whose
 * lifetime is exactly 0xFFFFFFFF survives. Returns the number deleted.
 */
export function Flush(m: ConntrackMap, opts: GCPassOptions = {}): number {
  return gcWithFilter(m, new GCFilter({ removeExpired: true, time: 0xffffffff }), opts).deleted;
}
