/**
 * The GC runner (Cilium pkg/maps/ctmap/gc): one-shot runs over the active
 * maps, the GC event streams, and the scheduling loop driven by a timer and
 * the datapath's CT/NAT fill-up signals (§14.2–14.4).
 *
 * Time, waiting and signals are injected, so the loop runs against a fake
 * clock in tests exactly as it does against the real one. The loop's passes
 * yield to the event loop between batches, so a process embedding the
 * runner keeps answering while a large map is collected.
 */
import type { Registry } from 'prom-client';
import { isNotSupported } from '../syscall/errors.js';
import { stderrLogger, type Logger } from '../datapath/log.js';
import { OpenCTMap, type ConntrackMap, type MapPair } from '../ctmap/ctmap.js';
import { GCFilter, type EmitCTEntryCBFunc } from '../ctmap/gcfilter.js';
import { filterPlan, runGC, runGCAsync, setFilterNow, type FilterPassOptions, type GCMode, type GCStats } from '../ctmap/gc.js';
import { NatMapNext4, NatMapNext6 } from '../ctmap/natfollow.js';
import { purgeOrphans, type NatGCStats, type CtCheckStrategy } from '../ctmap/orphans.js';
import type { GCEvent } from '../ctmap/gcevent.js';
import { Observable } from './observable.js';
import { getInterval } from './interval.js';
import { SignalProtoV4, SignalQueue, realWait, type WaitFn } from './signals.js';

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
  /** The active global maps (a node's CT maps, or Go's CTMaps provider). */
  readonly ctMaps: { activeMaps(): ConntrackMap[] };
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  readonly mode?: GCMode;
  /** Cilium's GC metrics (default: each map's settings' registry). */
  readonly registry?: Registry;
  readonly logger?: Logger;
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
  /**
   * One map's pass for Go's filter (default: Go Map.GC — an expiring filter's time set to now, then the pass;
   * the loop runs it yielding between batches). Tests of the scheduling loop inject a scripted one.
   */
  readonly pass?: (m: ConntrackMap, filter: GCFilter, opts: FilterPassOptions) => GCStats;
}

/** Go Map.GC: an expiring filter's time becomes now, then one pass. */
function goPass(m: ConntrackMap, filter: GCFilter, opts: FilterPassOptions): GCStats {
  setFilterNow(m, filter);
  return runGC(m, filterPlan(m, filter, opts));
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

interface Scheduled {
  readonly m: ConntrackMap;
  readonly needsOpen: boolean;
}

/** Aggregates one scheduled pass's per-map outcomes (§14.2). */
class PassTally {
  success = true;
  maxRatio = 0;
  readonly stats: GCStats[] = [];

  add(m: ConntrackMap, s: GCStats): void {
    this.stats.push(s);
    if (s.error !== undefined) this.success = false;
    if (s.deleted > 0) this.maxRatio = Math.max(this.maxRatio, s.deleted / m.maxEntries);
  }
}

export class GCRunner implements GCRunnerLike {
  readonly opts: GCRunnerOptions;
  readonly #log: Logger;
  readonly #events4: Observable<GCEvent>;
  readonly #events6: Observable<GCEvent>;
  #stopping: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #pressureTimer: NodeJS.Timeout | undefined;
  #initialScan: Promise<void> = Promise.resolve();

  constructor(opts: GCRunnerOptions) {
    this.opts = opts;
    this.#log = opts.logger ?? stderrLogger;
    this.#events4 = new Observable<GCEvent>(this.#log);
    this.#events6 = new Observable<GCEvent>(this.#log);
    if (opts.natFollowUp === 'observer') {
      this.#events4.subscribe(NatMapNext4);
      this.#events6.subscribe(NatMapNext6);
    }
  }

  #pass(m: ConntrackMap, filter: GCFilter, opts: FilterPassOptions): GCStats {
    return (this.opts.pass ?? goPass)(m, filter, opts);
  }

  async #passAsync(m: ConntrackMap, filter: GCFilter, opts: FilterPassOptions): Promise<GCStats> {
    if (this.opts.pass !== undefined) return this.opts.pass(m, filter, opts);
    setFilterNow(m, filter);
    return runGCAsync(m, filterPlan(m, filter, opts));
  }

  observe4(): Observable<GCEvent> { return this.#events4; }
  observe6(): Observable<GCEvent> { return this.#events6; }

  #passOpts(): FilterPassOptions {
    // Events are built only when someone listens.
    const e4 = this.#events4;
    const e6 = this.#events6;
    return {
      ...(e4.observed ? { next4: (ev: GCEvent) => { e4.emit(ev); } } : {}),
      ...(e6.observed ? { next6: (ev: GCEvent) => { e6.emit(ev); } } : {}),
      mode: this.opts.mode ?? 'safe',
      natFollowUp: this.opts.natFollowUp !== 'observer',
      ...(this.opts.registry === undefined ? {} : { registry: this.opts.registry }),
    };
  }

  /** Go Run: one pass over every active map; errors are logged, the deleted total returned. */
  run(filter: GCFilter): number {
    let total = 0;
    const opts = this.#passOpts();
    for (const m of this.opts.ctMaps.activeMaps()) {
      try {
        const s = this.#pass(m, filter, opts);
        total += s.deleted;
        if (s.error !== undefined) this.#log('warn', 'failed to run GC on map', { map: m.name, error: s.error });
      } catch (err) {
        this.#log('warn', 'failed to run GC on map', { map: m.name, error: err });
      }
    }
    return total;
  }

  /** The maps of one scheduled pass: the active ones, then the additional pairs (opened here unless kept open). */
  #scheduled(): Scheduled[] {
    const maps: Scheduled[] = this.opts.ctMaps.activeMaps().map((m) => ({ m, needsOpen: false }));
    for (const fn of this.opts.additionalCTMaps ?? []) {
      if (fn === undefined) continue;
      for (const p of fn()) maps.push({ m: p.tcp, needsOpen: !p.isOpen }, { m: p.any, needsOpen: !p.isOpen });
    }
    return maps;
  }

  #open(s: Scheduled, tally: PassTally): boolean {
    if (!s.needsOpen) return true;
    const { error } = OpenCTMap(s.m);
    if (error === undefined) return true;
    tally.success = false;
    this.#log('warn', 'Skipping CT garbage collection', { map: s.m.name, error });
    return false;
  }

  /** After a signal: the orphan NAT purge over each (TCP, Any) pair; then the maps opened for the pass are closed. */
  #purge(maps: readonly Scheduled[], triggeredBySignal: boolean): NatGCStats[] {
    const nat: NatGCStats[] = [];
    if (triggeredBySignal) {
      for (let i = 0; i + 1 < maps.length; i += 2) {
        const a = maps[i] as Scheduled;
        const b = maps[i + 1] as Scheduled;
        const started = Date.now();
        let s: NatGCStats | undefined;
        try {
          s = purgeOrphans(a.m, b.m, { strategy: this.opts.purgeStrategy ?? 'auto', ...(this.opts.registry === undefined ? {} : { registry: this.opts.registry }) });
        } catch (err) {
          // A purge that fails must not stop the GC loop: it is logged, and the next signal retries.
          this.#log('warn', 'Unable to purge orphan NAT entries', { map: a.m.name, error: err });
        }
        if (s === undefined) continue;
        nat.push(s);
        if (s.egressDeleted + s.ingressDeleted > 0) {
          this.#log('info', 'Deleted orphan SNAT entries from map', { family: s.family, clusterID: s.clusterID,
            ingressDeleted: s.ingressDeleted, egressDeleted: s.egressDeleted, durationMs: Date.now() - started });
        }
      }
    }
    for (const s of maps) if (s.needsOpen) s.m.close();
    return nat;
  }

  /**
   * Go runGC (§14.2): the active maps, then the additional pairs (opened and
   * closed here unless the caller keeps them open); after a signal, the
   * orphan NAT purge over each (TCP, Any) pair.
   */
  runGC(ipv4: boolean, ipv6: boolean, triggeredBySignal: boolean, filter: GCFilter): PassResult {
    // Go does not filter the maps by family either; the families only tell what the pass was for.
    this.#log('debug', 'Running CT garbage collection', { ipv4, ipv6, triggeredBySignal });
    const maps = this.#scheduled();
    const tally = new PassTally();
    const opts = this.#passOpts();
    for (const s of maps) {
      if (!this.#open(s, tally)) continue;
      try {
        tally.add(s.m, this.#pass(s.m, filter, opts));
      } catch (err) {
        tally.success = false;
        this.#log('warn', 'failed to run GC on map', { map: s.m.name, error: err });
      }
    }
    const nat = this.#purge(maps, triggeredBySignal);
    return { maxDeleteRatio: tally.maxRatio, success: tally.success, stats: tally.stats, nat };
  }

  /** runGC, with each map's pass yielding to the event loop between batches (what the loop runs). */
  async runGCAsync(ipv4: boolean, ipv6: boolean, triggeredBySignal: boolean, filter: GCFilter): Promise<PassResult> {
    this.#log('debug', 'Running CT garbage collection', { ipv4, ipv6, triggeredBySignal });
    const maps = this.#scheduled();
    const tally = new PassTally();
    const opts = this.#passOpts();
    for (const s of maps) {
      if (!this.#open(s, tally)) continue;
      try {
        tally.add(s.m, await this.#passAsync(s.m, filter, opts));
      } catch (err) {
        tally.success = false;
        this.#log('warn', 'failed to run GC on map', { map: s.m.name, error: err });
      }
    }
    const nat = this.#purge(maps, triggeredBySignal);
    return { maxDeleteRatio: tally.maxRatio, success: tally.success, stats: tally.stats, nat };
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
    const warn = setTimeout(() => { this.#log('warn', 'Failed to perform initial conntrack GC scan within 30 seconds'); }, 30_000);
    warn.unref();
    void this.#initialScan.then(() => {
      clearTimeout(warn);
      this.#startPressure(deps.pressureInterval ?? 30_000, stopping.signal);
    });
    this.#loop = this.#schedule(deps, stopping.signal, markInitial).catch((err: unknown) => {
      this.#log('error', 'Conntrack garbage collector stopped', { error: err });
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
      if (hasEndpoints() || initial) ({ maxDeleteRatio: ratio, success } = await this.runGCAsync(ipv4, ipv6, triggered, filter));
      let interval = getInterval(actualPrev, cached, ratio, cfg.config?.conntrackGCInterval ?? 0, cfg.config?.conntrackGCMaxInterval ?? 0, cfg.registry, this.#log);
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
        this.#log('info', 'Signal handler closed. Stopping conntrack garbage collector');
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
        this.#log('warn', 'Unable to count CT map entries', { map: m.name, error: err });
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

/** An observable that never emits and never completes (the fake runner's). */
class SilentObservable<T> extends Observable<T> {
  override emit(): void { /* never emits */ }
  override complete(): void { /* never completes */ }
}

/** Go NewFakeGCRunner: Run does nothing and returns 0; the streams never emit or complete. */
export function NewFakeGCRunner(): GCRunnerLike {
  const s4 = new SilentObservable<GCEvent>();
  const s6 = new SilentObservable<GCEvent>();
  return { run: () => 0, observe4: () => s4, observe6: () => s6 };
}
