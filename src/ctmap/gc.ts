/**
 * Garbage collection of one CT map (ctmap.md §10–12): the per-entry
 * decision, the pass over the batch iterator, GC events and the NAT
 * follow-up.
 *
 * Decisions are made straight from the batch buffers (a lifetime and two
 * addresses at fixed offsets): no object per entry unless someone asked to
 * see it (a kept-entry callback, an event observer). Memory is one batch
 * plus the keys doomed in it. A pass is a `Pass` fed one batch at a time,
 * so the synchronous driver and the async one (which yields to the event
 * loop between batches) make exactly the same decisions.
 *
 * Two delete strategies (Cilium's open problems cilium/cilium#36981, #46298):
 * - **safe** (default): right before deleting a doomed entry it is read
 *   again. If it vanished it is `skipped`; if its lifetime changed since the
 *   batch read and the fresh entry would now be kept, it is `deferred` (left
 *   alone: the datapath refreshed it). Otherwise it is deleted. The window in
 *   which a connection reopened under the same key can be lost shrinks from
 *   a whole batch (Cilium) to the gap between an entry's re-read and its
 *   delete; it is not zero, because the kernel has no compare-and-delete for
 *   hash maps. `safeWindow` sets that gap: up to that many doomed entries are
 *   re-read in one FFI crossing (an ElemVector), decided here, and the ones
 *   still doomed deleted in a second crossing — so an entry's gap is at most
 *   2 × safeWindow − 1 element syscalls plus the decisions (measured in the
 *   README). `safeWindow: 1` re-reads and deletes each entry on its own: a gap
 *   of one syscall, every call its own crossing. The default is 16 where the
 *   kernel has the shim's vector entry point and 1 where it has not (a fake or
 *   intercepted kernel, the process-wide compat kernel), where a window would
 *   save no crossing.
 * - **fast**: the doomed keys of a batch are removed with one
 *   BPF_MAP_DELETE_BATCH; a key that vanished (LRU eviction) stops the kernel
 *   at it, so it is counted as `skipped` and the rest still go. Entries
 *   refreshed between the batch read and the delete are lost, as in Cilium.
 *
 * Go serialises passes on one map type with a mutex. A synchronous pass
 * cannot interleave with another in the same process; async passes on the
 * same map may (each decides from its own batch reads; safe mode re-reads).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Registry } from 'prom-client';
import type { BpfMap } from '../syscall/map.js';
import { BatchError, type Batch, type BatchOptions } from '../syscall/iterate.js';
import { ElemVector } from '../syscall/elemvec.js';
import { BpfError, Errno } from '../syscall/errors.js';
import { KeyList } from '../structs/keyset.js';
import { CtEntry, ctEntryLayout } from '../structs/ctentry.js';
import { TUPLE_F_SERVICE } from '../structs/tuple.js';
import { getU16, getU32, getU64 } from '../structs/bytes.js';
import { formatAddr } from '../structs/inet.js';
import { describe } from '../structs/describe.js';
import { compileFilter, checkFilter, matchAll, type FilterInput, type Matcher } from '../structs/filter.js';
import type { Settings, PurgeHook } from '../datapath/settings.js';
import { gcMetrics } from '../datapath/metrics.js';
import { tuple4, tuple6, type TupleOffsets } from '../nat/keys.js';
import type { NatMap } from '../nat/natmap.js';
import { GCFilter, NetAddrSet, type EmitCTEntryCBFunc, type NetAddr } from './gcfilter.js';
import { NatFollowUp } from './natfollow.js';
import type { GCEvent } from './gcevent.js';
import { ctRecord4, ctRecord6, type CtRecord } from './record.js';

export type GCMode = 'safe' | 'fast';

/** One GC pass, as JavaScript callers ask for it (`map.gc(options)`, `node.gc(options)`). */
export interface GCOptions {
  /** Remove entries whose lifetime is below `time` (default true). */
  readonly removeExpired?: boolean;
  /** The CT time expiry is judged at (default: now, on the settings' clock). */
  readonly time?: number;
  /** Remove entries with either address in this set (Go's MatchIPs): addresses, or `{ addr, netID }`. */
  readonly matchIPs?: Iterable<string | NetAddr>;
  /** Only entries this filter matches are considered; the rest are kept. `filter.limit` caps the removals. */
  readonly filter?: FilterInput;
  /** Remove every entry in scope, expired or not (what `ct delete` does). */
  readonly all?: boolean;
  /** Decide and report — events, stats, NAT entries found — but delete nothing. */
  readonly dryRun?: boolean;
  readonly mode?: GCMode;
  /** Delete the NAT mappings of removed egress entries in the pass itself (default true). */
  readonly natFollowUp?: boolean;
  /** Each removed entry (copies), after its NAT follow-up; in a dry run, each entry that would go. */
  readonly onRemoved?: (ev: GCEvent) => void;
  /** Each kept entry (copies). */
  readonly onKept?: (r: CtRecord) => void;
  readonly signal?: AbortSignal;
  /** After each batch: entries seen so far. */
  readonly onProgress?: (seen: number) => void;
  /** Batch chunk override (tests). */
  readonly chunk?: number;
  /**
   * Safe mode: doomed entries re-read per FFI crossing, then deleted in the next (at most 4096). Default: 16
   * where the kernel runs a vector of calls in one crossing (the koffi shim), else 1 — without the vector a
   * window saves no crossing and only widens the gap. The gap between an entry's re-read and its delete is at
   * most 2 × safeWindow − 1 element syscalls; 1 makes it one syscall (each entry re-read and deleted on its own).
   */
  readonly safeWindow?: number;
}

/** The default `safeWindow` with a vector-capable kernel: see the module comment and the README's "Safe mode's window". */
export const DEFAULT_SAFE_WINDOW = 16;

/** DEFAULT_SAFE_WINDOW where `m`'s kernel has the vector entry point, else 1 (a window would only widen the gap). */
function defaultSafeWindow(m: GCTarget): number {
  return m.settings.kernel.backend.callVec !== undefined ? DEFAULT_SAFE_WINDOW : 1;
}

/** What the pass needs from a CT map (ConntrackMap implements it). */
export interface GCTarget {
  readonly name: string;
  readonly isIPv4: boolean;
  readonly isTCP: boolean;
  readonly networkID: number;
  readonly settings: Settings;
  readonly bpfMap: BpfMap;
  /** The NAT map GC follows up on for this pass, and what to do with it afterwards. */
  natLease(): NatMapLease;
}

/** A NAT map to use for one pass, and what to do with it afterwards. */
export interface NatMapLease {
  readonly natMap: NatMap | undefined;
  /** Closes a per-cluster NAT map opened for the pass; nothing for the global one. */
  release(): void;
}

/** A pass fully resolved: what the engine runs. Built from GCOptions or from Go's GCFilter. */
export interface GCPlan {
  readonly removeExpired: boolean;
  readonly time: number;
  readonly matchIPs: NetAddrSet | undefined;
  readonly scope: Matcher;
  readonly limit: number;
  readonly all: boolean;
  readonly dryRun: boolean;
  readonly mode: GCMode;
  readonly natFollowUp: boolean;
  readonly next: ((ev: GCEvent) => void) | undefined;
  readonly onKept: ((r: CtRecord) => void) | undefined;
  /** Go's EmitCTEntryCB for kept entries. */
  readonly emit: EmitCTEntryCBFunc | undefined;
  readonly act: PurgeHook | undefined;
  readonly registry: Registry | undefined;
  readonly signal: AbortSignal | undefined;
  readonly chunk: number | undefined;
  readonly onProgress: ((seen: number) => void) | undefined;
  readonly safeWindow: number;
}

/** What one pass did (Go gcStats, plus `skipped`, `deferred`, the NAT follow-up and the dry-run mark). */
export class GCStats {
  readonly map: string;
  readonly family: 'ipv4' | 'ipv6';
  readonly protocol: 'TCP' | 'non-TCP';
  readonly mode: GCMode;
  readonly maxEntries: number;
  readonly dryRun: boolean;
  /** Entries removed (in a dry run: that would be removed). */
  deleted = 0;
  aliveEntries = 0;
  /** Doomed entries that were already gone (LRU eviction, a concurrent delete). */
  skipped = 0;
  /** Safe mode: doomed entries the datapath refreshed between the batch read and the delete; left alone. */
  deferred = 0;
  /** NAT entries removed by the in-pass follow-up (in a dry run: found, that would be removed). */
  natDeleted = 0;
  completed = false;
  error: Error | undefined;
  started = new Date();
  finished: Date | undefined;

  constructor(m: { readonly name: string; readonly isIPv4: boolean; readonly isTCP: boolean }, mode: GCMode, maxEntries: number, dryRun = false) {
    this.map = m.name;
    this.family = m.isIPv4 ? 'ipv4' : 'ipv6';
    this.protocol = m.isTCP ? 'TCP' : 'non-TCP';
    this.mode = mode;
    this.maxEntries = maxEntries;
    this.dryRun = dryRun;
  }

  /** Milliseconds the pass took. */
  duration(): number {
    return (this.finished ?? new Date()).getTime() - this.started.getTime();
  }

  toJSON(): Record<string, unknown> {
    return {
      map: this.map, family: this.family, protocol: this.protocol, mode: this.mode, dryRun: this.dryRun, deleted: this.deleted,
      alive: this.aliveEntries, skipped: this.skipped, deferred: this.deferred, natDeleted: this.natDeleted,
      completed: this.completed, error: this.error?.message ?? null, durationMs: this.duration(),
    };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `GCStats(${this.map} ${this.mode}${this.dryRun ? ' dry-run' : ''}: deleted=${this.deleted} alive=${this.aliveEntries} skipped=${this.skipped} `
      + `deferred=${this.deferred}${this.natDeleted > 0 ? ` natDeleted=${this.natDeleted}` : ''}${this.error === undefined ? '' : ` error=${JSON.stringify(this.error.message)}`})`;
  }
}

function checkMode(mode: unknown): GCMode {
  if (mode !== 'safe' && mode !== 'fast') throw new RangeError(`gc: mode must be "safe" or "fast", got ${describe(mode)}`);
  return mode;
}

function checkSafeWindow(w: unknown): number {
  if (typeof w !== 'number' || !Number.isInteger(w) || w < 1 || w > 4096) throw new RangeError(`gc: safeWindow must be an integer 1…4096, got ${describe(w)}`);
  return w;
}

function optional<T>(v: T | undefined, what: string, kind: 'function' | 'boolean'): T | undefined {
  if (v !== undefined && typeof v !== kind) throw new TypeError(`gc: ${what} must be a ${kind}, got ${describe(v)}`);
  return v;
}

/** Check JavaScript GC options and resolve them for `m` (the time defaults to now on its settings' clock). */
export function planFromOptions(m: GCTarget, o: GCOptions): GCPlan {
  if (typeof (o as unknown) !== 'object' || (o as unknown) === null) throw new TypeError(`gc: options must be an object, got ${describe(o)}`);
  const known = ['removeExpired', 'time', 'matchIPs', 'filter', 'all', 'dryRun', 'mode', 'natFollowUp', 'onRemoved', 'onKept', 'signal', 'onProgress', 'chunk', 'safeWindow'];
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new TypeError(`gc: unknown option "${k}"`);
  const removeExpired = optional(o.removeExpired, 'removeExpired', 'boolean') ?? true;
  const time = o.time ?? (removeExpired ? m.settings.nowCT() : 0);
  if (!Number.isInteger(time) || time < 0 || time > 0xffffffff) throw new RangeError(`gc: time must be a u32 CT time, got ${describe(time)}`);
  const matchIPs = o.matchIPs === undefined ? undefined : o.matchIPs instanceof NetAddrSet ? o.matchIPs : new NetAddrSet(o.matchIPs);
  const filter = o.filter === undefined ? undefined : checkFilter(o.filter);
  return {
    // An empty set matches nothing, as an absent one does; undefined only spares #doomedBy the probe per entry.
    removeExpired, time, matchIPs: matchIPs !== undefined && matchIPs.size > 0 ? matchIPs : undefined,
    scope: compileFilter(filter, 'ct', m.isIPv4 ? 4 : 6), limit: filter?.limit ?? Infinity,
    all: optional(o.all, 'all', 'boolean') ?? false, dryRun: optional(o.dryRun, 'dryRun', 'boolean') ?? false,
    mode: checkMode(o.mode ?? 'safe'), natFollowUp: optional(o.natFollowUp, 'natFollowUp', 'boolean') ?? true,
    next: optional(o.onRemoved, 'onRemoved', 'function'), onKept: optional(o.onKept, 'onKept', 'function'), emit: undefined,
    act: m.settings.act, registry: m.settings.registry, signal: o.signal, chunk: o.chunk,
    onProgress: optional(o.onProgress, 'onProgress', 'function'), safeWindow: o.safeWindow === undefined ? defaultSafeWindow(m) : checkSafeWindow(o.safeWindow),
  };
}

/** The plan everything else defaults to (Go's doGC with a filter built elsewhere). */
export function basePlan(m: GCTarget): GCPlan {
  return {
    removeExpired: false, time: 0, matchIPs: undefined, scope: matchAll, limit: Infinity, all: false, dryRun: false,
    mode: 'safe', natFollowUp: false, next: undefined, onKept: undefined, emit: undefined, act: m.settings.act,
    registry: m.settings.registry, signal: undefined, chunk: undefined, onProgress: undefined, safeWindow: defaultSafeWindow(m),
  };
}

/** What a pass for Go's GCFilter may add: the event sinks by family and the pass settings. */
export interface FilterPassOptions {
  readonly next4?: ((ev: GCEvent) => void) | undefined;
  readonly next6?: ((ev: GCEvent) => void) | undefined;
  readonly mode?: GCMode | undefined;
  /** Delete the NAT mappings of removed egress entries in the pass itself (default false: Go leaves that to observers). */
  readonly natFollowUp?: boolean | undefined;
  /** Record Cilium's GC metrics here (default: the settings' registry). */
  readonly registry?: Registry | undefined;
  readonly chunk?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((seen: number) => void) | undefined;
  /** Safe mode's re-reads per crossing (GCOptions.safeWindow). */
  readonly safeWindow?: number | undefined;
}

/**
 * Go Map.GC's first step: an expiring filter's time becomes "now" on the
 * settings' clock (it mutates the caller's filter, as Go's does). A clock
 * error gives 0, so nothing counts as expired.
 */
export function setFilterNow(m: GCTarget, f: GCFilter): void {
  if (!f.removeExpired) return;
  let now = 0;
  try {
    now = m.settings.nowCT();
  } catch (err) {
    m.settings.logger('warn', 'Unable to read the CT clock; nothing counts as expired', { error: err });
  }
  f.time = now;
}

/** The plan of a pass with Go's GCFilter exactly as given (Go doGC). */
export function filterPlan(m: GCTarget, f: GCFilter, o: FilterPassOptions = {}): GCPlan {
  if (!(f instanceof GCFilter)) throw new TypeError(`gc: filter must be a GCFilter, got ${describe(f)}`);
  return {
    ...basePlan(m), removeExpired: f.removeExpired, time: f.time, matchIPs: f.matchIPs, emit: f.emitCTEntryCB,
    mode: checkMode(o.mode ?? 'safe'), natFollowUp: o.natFollowUp ?? false, next: m.isIPv4 ? o.next4 : o.next6,
    registry: 'registry' in o ? o.registry : m.settings.registry, chunk: o.chunk, signal: o.signal, onProgress: o.onProgress,
    safeWindow: o.safeWindow === undefined ? defaultSafeWindow(m) : checkSafeWindow(o.safeWindow),
  };
}

const O = ctEntryLayout.offsetOf;
/** A CT_SERVICE entry's backend_id: Union0[1], the union's second u64 (ctmap.md §CtEntry layout). */
const BACKEND_ID_OFF = O.union0 + 8;

/** One pass over one map, fed a batch at a time. */
class Pass {
  readonly stats: GCStats;
  readonly #m: GCTarget;
  readonly #bm: BpfMap;
  readonly #p: GCPlan;
  readonly #L: TupleOffsets;
  readonly #v4: boolean;
  readonly #probe = new Uint8Array(NetAddrSet.probeSize);
  readonly #follow: NatFollowUp | undefined;
  readonly #natMap: NatMap | undefined;
  readonly #doomed: KeyList;
  readonly #doomedAt: number[] = [];
  /** Safe mode with a window above 1: the doomed keys waiting for their re-read (the first #waiting of its slots). */
  #window: ElemVector | undefined;
  #waiting = 0;
  /** Slots still doomed after the re-read, queued for the delete crossing. */
  readonly #windowDel: number[] = [];
  #left: number;
  #seen = 0;

  constructor(m: GCTarget, bm: BpfMap, p: GCPlan, natMap: NatMap | undefined) {
    this.#m = m;
    this.#bm = bm;
    this.#p = p;
    this.#v4 = m.isIPv4;
    this.#L = this.#v4 ? tuple4 : tuple6;
    this.#natMap = natMap;
    this.#follow = p.natFollowUp && natMap !== undefined ? new NatFollowUp(natMap, this.#L, p.dryRun, m.settings.logger) : undefined;
    this.#doomed = new KeyList(this.#L.size, 256);
    this.#left = p.limit;
    this.stats = new GCStats(m, p.mode, bm.maxEntries, p.dryRun);
  }

  /** Go doFiltering (§10.2), within the scope: delete this entry? */
  #doomedBy(keys: Uint8Array, ko: number, values: Uint8Array, vo: number): boolean {
    const p = this.#p;
    if (p.all) return true;
    if (p.removeExpired && getU32(values, vo + O.lifetime) < p.time) return true;
    const match = p.matchIPs;
    if (match !== undefined) {
      const L = this.#L;
      // Key addresses are reversed (#5848): DestAddr is the flow's source.
      const net = this.#m.networkID;
      // Stryker disable next-line ArithmeticOperator: equivalent — daddr is the tuple's first field (offset 0), so ko ± L.daddr agree.
      if (match.hasBytes(keys, ko + L.daddr, L.addrLen, net, this.#probe)) return true;
      if (match.hasBytes(keys, ko + L.saddr, L.addrLen, net, this.#probe)) return true;
    }
    return false;
  }

  #kept(keys: Uint8Array, ko: number, values: Uint8Array, vo: number): void {
    this.stats.aliveEntries++;
    const p = this.#p;
    if (p.emit !== undefined) emitEntry(p.emit, keys, ko, values, vo, this.#L, this.#m.networkID);
    if (p.onKept !== undefined) p.onKept(this.#record(keys, ko, values, vo));
  }

  #record(keys: Uint8Array, ko: number, values: Uint8Array, vo: number): CtRecord {
    return (this.#v4 ? ctRecord4 : ctRecord6)(keys, ko, values, vo);
  }

  /** The removed entry's aftermath: ACT, the NAT follow-up, the event. */
  #removed(keys: Uint8Array, ko: number, values: Uint8Array, vo: number): void {
    const p = this.#p;
    this.stats.deleted++;
    // Everything is read from the buffers before any user code (the ACT hook, observers) runs: in safe
    // mode they are the map's scratch, which a hook calling back into the same map would overwrite.
    const act = p.dryRun ? undefined : p.act;
    const service = keys[ko + this.#L.flags] === TUPLE_F_SERVICE && act !== undefined;
    const revNAT = service ? getU16(values, vo + O.rev_nat_index) : 0;
    const backendID = service ? Number(getU64(values, vo + BACKEND_ID_OFF) & 0xffffffffn) : 0;
    let event: GCEvent | undefined;
    if (p.next !== undefined) {
      const r = this.#record(keys, ko, values, vo);
      event = { key: r.key, entry: r.entry, natMap: this.#natMap };
    }
    this.#follow?.follow(keys, ko, getU16(values, vo + O.flags));
    if (service) {
      if (this.#v4) act.countFailed4(revNAT, backendID);
      else act.countFailed6(revNAT, backendID);
    }
    if (event !== undefined) p.next?.(event);
  }

  /** Decide and act on one batch. */
  batch(b: Batch): void {
    this.slice(b, 0, b.count);
    this.endBatch(b);
  }

  /** Decide entries [from, to) of a batch (safe mode deletes as it goes; fast mode queues). */
  slice(b: Batch, from: number, to: number): void {
    const { keys, values, valueSize } = b;
    const ks = this.#L.size;
    const p = this.#p;
    const fast = p.mode === 'fast';
    for (let i = from; i < to; i++) {
      const ko = i * ks;
      const vo = i * valueSize;
      if (this.#left <= 0 || !p.scope(keys, ko, values, vo) || !this.#doomedBy(keys, ko, values, vo)) {
        this.#kept(keys, ko, values, vo);
        continue;
      }
      this.#left--;
      if (p.dryRun) {
        this.#removed(keys, ko, values, vo);
      } else if (fast) {
        this.#doomed.push(keys, ko);
        this.#doomedAt.push(i);
      } else if (p.safeWindow > 1) {
        // Made on the first doomed entry of a safe pass: fast passes and dry runs never get here.
        const w = (this.#window ??= new ElemVector(this.#bm, p.safeWindow));
        w.keys.set(keys.subarray(ko, ko + ks), this.#waiting * ks);
        if (++this.#waiting === w.capacity) this.#safeWindow();
      } else {
        this.#safeDelete(keys, ko);
      }
    }
  }

  /** The end of a batch: safe mode's last window, fast mode's batched delete, the queued NAT keys, progress. */
  endBatch(b: Batch): void {
    if (this.#waiting > 0) this.#safeWindow();
    // Only fast mode queues doomed keys; with none queued this deletes nothing and makes no call.
    this.#fastDelete(b);
    this.#follow?.flush();
    this.#seen += b.count;
    this.#p.onProgress?.(this.#seen);
  }

  // Safe: read it again right before deleting it (in the map's own scratch: no copies).
  #safeDelete(keys: Uint8Array, ko: number): void {
    const bm = this.#bm;
    const keyBuf = bm.scratchKey;
    const fresh = bm.scratchValue;
    const ks = this.#L.size;
    const log = this.#m.settings.logger;
    keyBuf.set(keys.subarray(ko, ko + ks));
    let present: boolean;
    try {
      present = bm.lookupInPlace();
    } catch (err) {
      log('warn', 'Unable to re-read CT entry before deleting it', { map: this.#m.name, error: err });
      return;
    }
    if (!present) {
      this.stats.skipped++;
      return;
    }
    // The datapath may have refreshed it since the batch read: #doomedBy reads only the key (the same) and the
    // lifetime, so "no longer doomed" is "its lifetime moved past the cutoff" (a refreshed entry a filter still
    // dooms goes).
    if (!this.#doomedBy(keyBuf, 0, fresh, 0)) {
      this.stats.deferred++;
      return;
    }
    let gone: boolean;
    try {
      gone = bm.deleteInPlace();
    } catch (err) {
      log('warn', 'Unable to delete CT entry', { map: this.#m.name, error: err });
      return;
    }
    if (!gone) {
      this.stats.skipped++;
      return;
    }
    this.#removed(keyBuf, 0, fresh, 0);
  }

  /**
   * Safe, a window at a time: the waiting keys re-read in one crossing, each decided as #safeDelete does, the
   * ones still doomed deleted in a second crossing. The same outcomes as #safeDelete entry by entry.
   */
  #safeWindow(): void {
    const w = this.#window as ElemVector;
    const del = this.#windowDel;
    const ks = this.#L.size;
    const vs = w.map.valueBufferSize;
    const log = this.#m.settings.logger;
    const n = this.#waiting;
    this.#waiting = 0;
    w.clear();
    for (let j = 0; j < n; j++) w.lookup(j);
    try {
      w.run();
    } catch (err) {
      log('warn', 'Unable to re-read CT entry before deleting it', { map: this.#m.name, error: err });
      return;
    }
    del.length = 0;
    for (let j = 0; j < n; j++) {
      const ret = w.result(j);
      if (ret === -Errno.ENOENT) {
        this.stats.skipped++;
        continue;
      }
      if (ret < 0) {
        log('warn', 'Unable to re-read CT entry before deleting it', { map: this.#m.name, error: new BpfError({ errno: -ret, command: 'BPF_MAP_LOOKUP_ELEM', subject: w.map.name }) });
        continue;
      }
      // As in #safeDelete: refreshed past the cutoff, left alone.
      if (!this.#doomedBy(w.keys, j * ks, w.values, j * vs)) {
        this.stats.deferred++;
        continue;
      }
      del.push(j);
    }
    if (del.length === 0) return;
    w.clear();
    for (const j of del) w.delete(j);
    try {
      w.run();
    } catch (err) {
      log('warn', 'Unable to delete CT entry', { map: this.#m.name, error: err });
      return;
    }
    for (let c = 0; c < del.length; c++) {
      const ret = w.result(c);
      const j = del[c] as number;
      if (ret === -Errno.ENOENT) {
        this.stats.skipped++;
      } else if (ret < 0) {
        log('warn', 'Unable to delete CT entry', { map: this.#m.name, error: new BpfError({ errno: -ret, command: 'BPF_MAP_DELETE_ELEM', subject: w.map.name }) });
      } else {
        this.#removed(w.keys, j * ks, w.values, j * vs);
      }
    }
  }

  // Fast: the batch's doomed keys in one DELETE_BATCH; vanished keys are skipped, the rest go.
  #fastDelete(b: Batch): void {
    const { keys, values, valueSize } = b;
    const ks = this.#L.size;
    const missing = new Set<number>();
    const at = this.#doomedAt;
    let applied = at.length;
    try {
      this.#bm.deleteBatch(this.#doomed.bytes, this.#doomed.count, (j) => { missing.add(j); });
    } catch (err) {
      // The kernel stopped on something other than a vanished key: what it did before that still counts.
      if (!(err instanceof BatchError)) throw err;
      applied = err.processed;
      this.#m.settings.logger('warn', 'Unable to delete CT entries', { map: this.#m.name, error: err });
    }
    for (let j = 0; j < applied; j++) {
      if (missing.has(j)) {
        this.stats.skipped++;
        continue;
      }
      const i = at[j] ?? 0;
      this.#removed(keys, i * ks, values, i * valueSize);
    }
    this.#doomed.clear();
    at.length = 0;
  }

  /** Go marks the pass completed even when the iterator ended with an error. */
  finish(err: unknown): void {
    if (err !== undefined) this.stats.error = err instanceof Error ? err : new Error(describe(err));
    this.stats.completed = true;
    if (this.#follow !== undefined) this.stats.natDeleted = this.#follow.deleted;
  }
}

function walkOptions(p: GCPlan): BatchOptions {
  return { ...(p.chunk === undefined ? {} : { chunk: p.chunk }), ...(p.signal === undefined ? {} : { signal: p.signal }) };
}

function begin(m: GCTarget, p: GCPlan): { pass: Pass; bm: BpfMap; lease: NatMapLease } {
  const bm = m.bpfMap;
  const lease = m.natLease();
  try {
    return { pass: new Pass(m, bm, p, lease.natMap), bm, lease };
  } catch (err) {
    lease.release();
    throw err;
  }
}

function end(m: GCTarget, p: GCPlan, pass: Pass, lease: NatMapLease): GCStats {
  lease.release();
  const s = pass.stats;
  s.finished = new Date();
  if (p.registry !== undefined && !p.dryRun) recordMetrics(p.registry, s);
  return s;
}

/**
 * Run one pass over `m`. Returns the pass's stats; an iteration error is in
 * `stats.error` (the pass still counts as completed, as in Go).
 */
export function runGC(m: GCTarget, p: GCPlan): GCStats {
  const { pass, bm, lease } = begin(m, p);
  let error: unknown;
  try {
    for (const b of bm.batches(walkOptions(p))) pass.batch(b);
  } catch (err) {
    error = err;
  }
  pass.finish(error);
  return end(m, p, pass, lease);
}

// The async pass works through a batch in slices and gives the event loop a turn whenever this much time has
// gone by, so a timer waits a few milliseconds at most whatever the batch size and the delete mode.
const SLICE = 128;
const TURN_MS = 4;

/** runGC, yielding to the event loop every few milliseconds; `signal` aborts between batches (in stats.error). */
export async function runGCAsync(m: GCTarget, p: GCPlan): Promise<GCStats> {
  const { pass, bm, lease } = begin(m, p);
  let error: unknown;
  let turn = performance.now();
  try {
    for (const b of bm.batches(walkOptions(p))) {
      // The batch's buffers stay valid across these awaits: the iterator reuses them only when asked for the next.
      for (let from = 0; from < b.count; from += SLICE) {
        pass.slice(b, from, Math.min(b.count, from + SLICE));
        if (performance.now() - turn >= TURN_MS) {
          await nextTurn();
          turn = performance.now();
        }
      }
      pass.endBatch(b);
      await nextTurn();
      turn = performance.now();
    }
  } catch (err) {
    error = err;
  }
  pass.finish(error);
  return end(m, p, pass, lease);
}

function emitEntry(emit: EmitCTEntryCBFunc, keys: Uint8Array, ko: number, values: Uint8Array, vo: number, L: TupleOffsets, netID: number): void {
  const kb = keys.slice(ko, ko + L.size);
  const src = formatAddr(kb.subarray(L.daddr, L.daddr + L.addrLen));
  const dst = formatAddr(kb.subarray(L.saddr, L.saddr + L.addrLen));
  emit({ addr: src, netID }, { addr: dst, netID }, getU16(kb, L.dport), getU16(kb, L.sport), kb[L.nexthdr] ?? 0, kb[L.flags] ?? 0,
    new CtEntry(values.slice(vo, vo + ctEntryLayout.size)));
}

/**
 * A finished pass's metrics. Go marks every pass Completed once its walk returns, even when the walk failed
 * (ctmap.md §10.3; the error is reported apart), so Go's other branch — status "uncompleted" and the warning
 * "Garbage collection CT map failed to finish" (§12) — cannot occur and is not written here.
 */
function recordMetrics(registry: Registry, s: GCStats): void {
  const mt = gcMetrics(registry);
  const status = 'completed';
  const labels = { family: s.family, protocol: s.protocol };
  mt.dumpResets.inc({ area: 'conntrack', name: 'dump_interrupts', family: s.family }, 0);
  mt.entries.set({ ...labels, status: 'alive' }, s.aliveEntries);
  mt.entries.set({ ...labels, status: 'deleted' }, s.deleted);
  mt.runs.inc({ ...labels, status });
  mt.duration.observe({ ...labels, status }, s.duration() / 1000);
  mt.keyFallbacks.inc(labels, 0);
}
