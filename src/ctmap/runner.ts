/**
 * The GC runner (Cilium pkg/maps/ctmap/gc): one-shot runs over the active
 * maps, the GC event streams, the interval maths and the scheduling loop
 * driven by a timer and the datapath's CT/NAT fill-up signals.
 *
 * Time, waiting and signals are injected, so the loop runs against a fake
 * clock in tests exactly as it does against the real one.
 */
import type { Registry } from 'prom-client';
import { isNotSupported } from '../syscall/errors.js';
import { log } from '../log.js';
import { NatMapNext4, NatMapNext6 } from '../nat/follow.js';
import { PurgeOrphanNATEntries, type NatGCStats, type CtCheckStrategy } from '../nat/orphans.js';
import { OpenCTMap, type ConntrackMap, type MapPair } from './ctmap.js';
import { GCFilter, type EmitCTEntryCBFunc, type GCMode, type GCStats } from './gc.js';
import { gcIntervalGauge } from './metrics.js';
import type { GCEvent } from './gcevent.js';

// ---------------------------------------------------------------------------
// Observable: Go's stream.Multicast, reduced to what GC needs. Delivery is
// synchronous: `emit` returns after every subscriber has run, which is what
// lets the NAT follow-up finish before the pass does.

export interface Subscription {
  unsubscribe(): void;
}

export class Observable<T> {
  readonly #subs = new Set<{ next: (v: T) => void; complete: (() => void) | undefined }>();
  #completed = false;

  /** Subscribe; after complete() a new subscriber is completed at once. */
  subscribe(next: (v: T) => void, complete?: () => void): Subscription {
    if (this.#completed) {
      complete?.();
      return { unsubscribe: () => undefined };
    }
    const sub = { next, complete };
    this.#subs.add(sub);
    return { unsubscribe: () => { this.#subs.delete(sub); } };
  }

  unsubscribe(sub: Subscription): void {
    sub.unsubscribe();
  }

  /** Whether anyone listens (GC builds events only then). */
  get observed(): boolean {
    return this.#subs.size > 0;
  }

  get completed(): boolean {
    return this.#completed;
  }

  /** Deliver to every subscriber now; one that throws is logged and does not stop the others. */
  emit(v: T): void {
    for (const s of this.#subs) {
      try {
        s.next(v);
      } catch (err) {
        log('error', 'GC event observer failed', { error: err });
      }
    }
  }

  complete(): void {
    if (this.#completed) return;
    this.#completed = true;
    for (const s of this.#subs) s.complete?.();
    this.#subs.clear();
  }
}

/** An observable that never emits and never completes (the fake runner's). */
class SilentObservable<T> extends Observable<T> {
  override emit(): void { /* never emits */ }
  override complete(): void { /* never completes */ }
}

// ---------------------------------------------------------------------------
// Interval maths (§14.5). Durations are milliseconds; the arithmetic follows
// Go's, in nanoseconds, so truncation and rounding land where Go's do.

export const GCIntervalStart = 5 * 60 * 1000;
export const GCIntervalMin = 10 * 1000;
export const GCIntervalMaxLRU = 12 * 60 * 60 * 1000;
const NS_PER_MS = 1e6;
const SECOND_NS = 1e9;

/** Go Duration.Round(time.Second) for non-negative durations: halfway rounds up. */
function roundToSecondNs(ns: number): number {
  const r = ns % SECOND_NS;
  return r + r < SECOND_NS ? ns - r : ns + SECOND_NS - r;
}

/** Go calculateInterval(prev, ratio). */
export function calculateInterval(prev: number, ratio: number): number {
  if (ratio === 0) return prev;
  const prevNs = prev * NS_PER_MS;
  if (ratio > 0.25) {
    const r = Math.min(ratio, 0.9);
    const ns = roundToSecondNs(Math.trunc(prevNs * (1 - r)));
    return Math.max(ns / NS_PER_MS, GCIntervalMin);
  }
  if (ratio < 0.05) {
    return Math.min(roundToSecondNs(Math.trunc(prevNs * 1.5)) / NS_PER_MS, GCIntervalMaxLRU);
  }
  return prev;
}

/** Go getIntervalWithConfig(actualPrev, expectedPrev, ratio, gcInterval, gcMaxInterval). */
export function getInterval(actualPrev: number, expectedPrev: number, ratio: number, gcInterval = 0, gcMaxInterval = 0,
  registry?: Registry): number {
  if (gcInterval !== 0) return gcInterval;
  let expected = expectedPrev;
  let adjusted = ratio;
  if (expected === 0) {
    expected = GCIntervalStart;
  } else if (actualPrev > 0 && actualPrev < expected) {
    // An early pass that still deleted a lot means a higher rate than the ratio alone says.
    adjusted = ratio * (expected / actualPrev);
  }
  let next = calculateInterval(expected, adjusted);
  if (gcMaxInterval !== 0 && next > gcMaxInterval) next = gcMaxInterval;
  if (next !== expected) log('info', 'Conntrack garbage collector interval recalculated', { expectedPrevInterval: expected, actualPrevInterval: actualPrev, newInterval: next, deleteRatio: ratio, adjustedDeleteRatio: adjusted });
  if (registry !== undefined) gcIntervalGauge(registry).set({ global: 'global' }, next / 1000);
  return next;
}

// ---------------------------------------------------------------------------
// Signals (§14.3): the datapath's CT and NAT fill-up notifications.

export const SignalProtoV4 = 0;
export const SignalProtoV6 = 1;
export const SignalProtoMax = 2;

/** A buffered (1024) signal channel with mute/unmute, as Cilium's signal handler offers. */
export class SignalQueue {
  readonly capacity: number;
  readonly #queue: number[] = [];
  #muted = false;
  #closed = false;
  #waiter: ((v: number | null) => void) | undefined;

  constructor(capacity = 1024) {
    this.capacity = capacity;
  }

  /** A datapath signal; dropped while muted, when full or after close. Returns whether it was taken. */
  push(proto: number): boolean {
    if (proto !== SignalProtoV4 && proto !== SignalProtoV6) throw new RangeError(`signal data must be ${SignalProtoV4} (ipv4) or ${SignalProtoV6} (ipv6), got ${String(proto)}`);
    if (this.#muted || this.#closed || this.#queue.length >= this.capacity) return false;
    const w = this.#waiter;
    if (w !== undefined) {
      this.#waiter = undefined;
      w(proto);
      return true;
    }
    this.#queue.push(proto);
    return true;
  }

  mute(): void { this.#muted = true; }
  unmute(): void { this.#muted = false; }
  get muted(): boolean { return this.#muted; }

  close(): void {
    this.#closed = true;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.(null);
  }

  get closed(): boolean { return this.#closed; }

  /** Everything queued now (the loop ORs these families in). */
  drain(): number[] {
    return this.#queue.splice(0, this.#queue.length);
  }

  /** The next signal, or null once closed. */
  next(): Promise<number | null> {
    const v = this.#queue.shift();
    if (v !== undefined) return Promise.resolve(v);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => { this.#waiter = resolve; });
  }

  /** Stop waiting (the loop's timer won). */
  cancelWait(): void {
    this.#waiter = undefined;
  }
}

/** Why the loop woke up: the interval elapsed, signals arrived (their families), or the channel closed. */
export type WakeReason = { readonly kind: 'timer' } | { readonly kind: 'signal'; readonly protos: readonly number[] } | { readonly kind: 'closed' };

/** Wait for `interval` ms or the first signal, whichever comes first; `stop` ends the wait as 'closed'. */
export type WaitFn = (interval: number, signals: SignalQueue, stop: AbortSignal) => Promise<WakeReason>;

export const realWait: WaitFn = (interval, signals, stop) => new Promise((resolve) => {
  let done = false;
  const finish = (r: WakeReason): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    stop.removeEventListener('abort', onAbort);
    signals.cancelWait();
    resolve(r);
  };
  const onAbort = (): void => { finish({ kind: 'closed' }); };
  const timer = setTimeout(() => { finish({ kind: 'timer' }); }, interval);
  stop.addEventListener('abort', onAbort, { once: true });
  if (stop.aborted) onAbort();
  void signals.next().then((p) => {
    if (p === null) finish({ kind: 'closed' });
    else finish({ kind: 'signal', protos: [p, ...signals.drain()] });
  });
});

// ---------------------------------------------------------------------------
// The runner.

/** Go GCRunner. */
export interface GCRunnerLike {
  run(filter: GCFilter): number;
  observe4(): Observable<GCEvent>;
  observe6(): Observable<GCEvent>;
}

export interface GCConfig {
  /** --conntrack-gc-interval: a fixed interval (ms); 0 lets the interval adapt. */
  readonly conntrackGCInterval?: number;
  /** --conntrack-gc-max-interval (ms); 0 means no cap beyond 12 h. */
  readonly conntrackGCMaxInterval?: number;
}

export interface GCRunnerOptions {
  /** The active global maps (the CTMaps provider). */
  readonly ctMaps: { activeMaps(): ConntrackMap[] };
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  readonly mode?: GCMode;
  readonly registry?: Registry;
  /**
   * How removed entries' NAT mappings go: 'inline' (default) in the pass
   * itself, batched in fast mode; 'observer' subscribes NatMapNext4/6 to the
   * event streams as Cilium does. The outcome is the same.
   */
  readonly natFollowUp?: 'inline' | 'observer';
  /** Go's ct-additional-maps group: functions returning extra (TCP, Any) pairs. */
  readonly additionalCTMaps?: readonly ((() => MapPair[]) | undefined)[];
  readonly config?: GCConfig;
  readonly purgeStrategy?: CtCheckStrategy;
}

/** What one scheduled pass (§14.2) did. */
export interface PassResult {
  readonly maxDeleteRatio: number;
  readonly success: boolean;
  readonly stats: readonly GCStats[];
  readonly nat: readonly NatGCStats[];
}

export interface SchedulerDeps {
  /** Wall clock in ms (for intervals and book-keeping). */
  readonly now?: () => number;
  readonly wait?: WaitFn;
  readonly signals?: SignalQueue;
  /** Whether endpoints exist (GC runs after the initial scan only if some do). */
  readonly hasEndpoints?: () => boolean;
  /** Go's DNS-cache callback on kept entries (only flags OUT, network 0, are passed on). */
  readonly emitCTEntryCB?: EmitCTEntryCBFunc;
  /** After a successful full pass: tell endpoints the GC time and the next one. */
  readonly onFullGC?: (gcStart: number, next: number) => void;
  /** Observability hook: called after each pass with what the loop decided. */
  readonly onPass?: (p: { readonly interval: number; readonly ratio: number; readonly success: boolean; readonly triggeredBySignal: boolean; readonly ipv4: boolean; readonly ipv6: boolean }) => void;
  /** Pressure controller period (ms, default 30 s); 0 disables it. */
  readonly pressureInterval?: number;
}

export class GCRunner implements GCRunnerLike {
  readonly opts: GCRunnerOptions;
  readonly #events4 = new Observable<GCEvent>();
  readonly #events6 = new Observable<GCEvent>();
  #stopping: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #pressureTimer: NodeJS.Timeout | undefined;
  #initialScan: Promise<void> = Promise.resolve();

  constructor(opts: GCRunnerOptions) {
    this.opts = opts;
    if (opts.natFollowUp === 'observer') {
      this.#events4.subscribe(NatMapNext4);
      this.#events6.subscribe(NatMapNext6);
    }
  }

  observe4(): Observable<GCEvent> { return this.#events4; }
  observe6(): Observable<GCEvent> { return this.#events6; }

  #passOpts(): { next4?: (ev: GCEvent) => void; next6?: (ev: GCEvent) => void; mode: GCMode; natFollowUp: boolean; registry: Registry | undefined } {
    // Events are built only when someone listens.
    const e4 = this.#events4;
    const e6 = this.#events6;
    return {
      ...(e4.observed ? { next4: (ev: GCEvent) => { e4.emit(ev); } } : {}),
      ...(e6.observed ? { next6: (ev: GCEvent) => { e6.emit(ev); } } : {}),
      mode: this.opts.mode ?? 'safe',
      natFollowUp: this.opts.natFollowUp !== 'observer',
      registry: this.opts.registry,
    };
  }

  /** Go Run: one pass over every active map; errors are logged, the deleted total returned. */
  run(filter: GCFilter): number {
    let total = 0;
    const opts = this.#passOpts();
    for (const m of this.opts.ctMaps.activeMaps()) {
      try {
        const s = m.gc(filter, undefined, undefined, opts);
        total += s.deleted;
        if (s.error !== undefined) log('warn', 'failed to run GC on map', { map: m.name, error: s.error });
      } catch (err) {
        log('warn', 'failed to run GC on map', { map: m.name, error: err });
      }
    }
    return total;
  }

  /**
   * Go runGC (§14.2): the active maps, then the additional pairs (opened and
   * closed here unless the caller keeps them open); after a signal, the
   * orphan NAT purge over each (TCP, Any) pair.
   */
  runGC(ipv4: boolean, ipv6: boolean, triggeredBySignal: boolean, filter: GCFilter): PassResult {
    // Go does not filter the maps by family either; the families only tell what the pass was for.
    log('debug', 'Running CT garbage collection', { ipv4, ipv6, triggeredBySignal });
    const maps: { m: ConntrackMap; needsOpen: boolean }[] = this.opts.ctMaps.activeMaps().map((m) => ({ m, needsOpen: false }));
    for (const fn of this.opts.additionalCTMaps ?? []) {
      if (fn === undefined) continue;
      for (const p of fn()) {
        maps.push({ m: p.tcp, needsOpen: !p.isOpen }, { m: p.any, needsOpen: !p.isOpen });
      }
    }
    let success = true;
    let maxRatio = 0;
    const stats: GCStats[] = [];
    const opts = this.#passOpts();
    for (const { m, needsOpen } of maps) {
      if (needsOpen) {
        const { error } = OpenCTMap(m);
        if (error !== undefined) {
          success = false;
          log('warn', 'Skipping CT garbage collection', { map: m.name, error });
          continue;
        }
      }
      try {
        const s = m.gc(filter, undefined, undefined, opts);
        stats.push(s);
        if (s.error !== undefined) success = false;
        if (s.deleted > 0) maxRatio = Math.max(maxRatio, s.deleted / m.maxEntries);
      } catch (err) {
        success = false;
        log('warn', 'failed to run GC on map', { map: m.name, error: err });
      } finally {
        if (needsOpen) m.close();
      }
    }
    const nat: NatGCStats[] = [];
    if (triggeredBySignal) {
      for (let i = 0; i + 1 < maps.length; i += 2) {
        const a = maps[i];
        const b = maps[i + 1];
        if (a === undefined || b === undefined) break;
        const started = Date.now();
        try {
          const s = PurgeOrphanNATEntries(a.m, b.m, { strategy: this.opts.purgeStrategy ?? 'auto', registry: this.opts.registry });
          if (s !== undefined) {
            nat.push(s);
            if (s.egressDeleted + s.ingressDeleted > 0) {
              log('info', 'Deleted orphan SNAT entries from map', { family: s.family, clusterID: s.clusterID,
                ingressDeleted: s.ingressDeleted, egressDeleted: s.egressDeleted, durationMs: Date.now() - started });
            }
          }
        } finally {
          if (a.needsOpen) a.m.close();
          if (b.needsOpen) b.m.close();
        }
      }
    }
    return { maxDeleteRatio: maxRatio, success, stats, nat };
  }

  /** Resolves when the loop has ended (stop(), or the signal channel closed). */
  whenStopped(): Promise<void> {
    return this.#loop ?? Promise.resolve();
  }

  /** Resolves once the first scheduled pass has finished. */
  initialScanComplete(): Promise<void> {
    return this.#initialScan;
  }

  /**
   * Go Enable: start the scheduling loop (§14.4) in the background. Returns
   * at once; stop() ends the loop and completes the event streams.
   */
  enable(deps: SchedulerDeps = {}): void {
    if (this.#loop !== undefined) throw new Error('GC is already enabled');
    const stopping = new AbortController();
    this.#stopping = stopping;
    let markInitial: () => void = () => undefined;
    this.#initialScan = new Promise((resolve) => { markInitial = resolve; });
    const warn = setTimeout(() => { log('warn', 'Failed to perform initial conntrack GC scan within 30 seconds'); }, 30_000);
    warn.unref();
    void this.#initialScan.then(() => {
      clearTimeout(warn);
      this.#startPressure(deps.pressureInterval ?? 30_000, stopping.signal);
    });
    this.#loop = this.#schedule(deps, stopping.signal, markInitial).catch((err: unknown) => {
      log('error', 'Conntrack garbage collector stopped', { error: err });
    });
  }

  async #schedule(deps: SchedulerDeps, stop: AbortSignal, markInitial: () => void): Promise<void> {
    const cfg = this.opts;
    const now = deps.now ?? Date.now;
    const wait = deps.wait ?? realWait;
    const signals = deps.signals ?? new SignalQueue();
    const hasEndpoints = deps.hasEndpoints ?? (() => true);
    const dnsCB = deps.emitCTEntryCB;
    const emit: EmitCTEntryCBFunc | undefined = dnsCB === undefined ? undefined : (src, dst, sp, dp, nh, flags, entry) => {
      if (flags !== 0 || src.netID !== 0 || dst.netID !== 0) return;
      dnsCB(src, dst, sp, dp, nh, flags, entry);
    };
    let ipv4 = cfg.ipv4;
    let ipv6 = cfg.ipv6;
    let triggered = false;
    let gcPrev = 0;
    let forceFullGCTTL = 0;
    let cached = 0;
    let initial = true;
    // A function, not the property: the signal flips while the loop awaits.
    const stopped = (): boolean => stop.aborted;
    while (!stopped()) {
      const gcStart = now();
      const actualPrev = gcPrev === 0 ? 0 : gcStart - gcPrev;
      gcPrev = gcStart;
      const filter = new GCFilter(emit === undefined ? { removeExpired: true } : { removeExpired: true, emitCTEntryCB: emit });
      let ratio = 0;
      let success = false;
      if (hasEndpoints() || initial) ({ maxDeleteRatio: ratio, success } = this.runGC(ipv4, ipv6, triggered, filter));
      let interval = getInterval(actualPrev, cached, ratio, cfg.config?.conntrackGCInterval ?? 0, cfg.config?.conntrackGCMaxInterval ?? 0, cfg.registry);
      if (success && ipv4 === cfg.ipv4 && ipv6 === cfg.ipv6) {
        deps.onFullGC?.(gcStart, now() + interval);
        forceFullGCTTL = now() + interval;
        cached = interval;
      } else if (!initial) {
        // Keep one family from starving under constant signal pressure.
        const force = Math.max(0, forceFullGCTTL - now());
        if (force < interval) interval = force;
        else cached = interval;
      }
      deps.onPass?.({ interval, ratio, success, triggeredBySignal: triggered, ipv4, ipv6 });
      if (initial) {
        markInitial();
        initial = false;
      }
      triggered = false;
      signals.unmute();
      if (stopped()) break;
      const woke = await wait(interval, signals, stop);
      if (stopped()) break;
      if (woke.kind === 'closed') {
        log('info', 'Signal handler closed. Stopping conntrack garbage collector');
        return;
      }
      signals.mute();
      if (woke.kind === 'signal') {
        triggered = true;
        ipv4 = false;
        ipv6 = false;
        for (const p of [...woke.protos, ...signals.drain()]) {
          if (p === SignalProtoV4) ipv4 = true;
          else ipv6 = true;
        }
      } else {
        ipv4 = cfg.ipv4;
        ipv6 = cfg.ipv6;
      }
    }
  }

  /** One tick of the ct-map-pressure controller; false once it stopped for good ("not supported"). */
  pressureTick(): boolean {
    for (const m of this.opts.ctMaps.activeMaps()) {
      try {
        m.updatePressureMetricWithSize(m.count());
      } catch (err) {
        if (isNotSupported(err)) return false;
        log('warn', 'Unable to count CT map entries', { map: m.name, error: err });
      }
    }
    return true;
  }

  #startPressure(period: number, stop: AbortSignal): void {
    if (period <= 0 || stop.aborted) return;
    const t = setInterval(() => {
      if (!this.pressureTick()) clearInterval(t);
    }, period);
    t.unref();
    this.#pressureTimer = t;
  }

  /** Stop the loop and the pressure controller; complete both event streams. */
  async stop(): Promise<void> {
    this.#stopping?.abort();
    if (this.#pressureTimer !== undefined) clearInterval(this.#pressureTimer);
    await this.#loop;
    this.#loop = undefined;
    this.#events4.complete();
    this.#events6.complete();
  }
}

export function NewGCRunner(opts: GCRunnerOptions): GCRunner {
  return new GCRunner(opts);
}

/** Go NewFakeGCRunner: Run does nothing and returns 0; the streams never emit or complete. */
export function NewFakeGCRunner(): GCRunnerLike {
  const s4 = new SilentObservable<GCEvent>();
  const s6 = new SilentObservable<GCEvent>();
  return { run: () => 0, observe4: () => s4, observe6: () => s6 };
}
