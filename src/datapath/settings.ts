/**
 * Settings: everything that used to be a module variable (map root, table
 * sizes, cluster limit, clock, hooks, metrics registry, logger, kernel) as
 * one immutable value the caller holds. Every map object is built with one
 * and reads nothing else, so two users in one process — two bpffs roots, a
 * test and the code under test — never see each other's choices.
 *
 * Values are checked once, here, with the agent's own error texts; a
 * Settings object that exists is valid.
 */
import type { Registry } from 'prom-client';
import { defaultKernel, Kernel } from '../syscall/kernel.js';
import { MapFlags } from '../syscall/attr.js';
import { describe } from '../structs/describe.js';
import { ClockSourceModeJiffies, ClockSourceModeKtime, GetCTCurTime, systemClock, type ClockReader, type ClockSource } from './clock.js';
import { ClusterIDDefaultMax, checkMaxConnectedClusters, validateClusterID, type MaxConnectedClusters } from './clusterid.js';
import {
  CTMapEntriesGlobalAnyDefault, CTMapEntriesGlobalTCPDefault, LimitTableMax, NATMapEntriesGlobalDefault,
  roundForDistributedLRU, validateCTMapSizes, validateNATMapEntries,
} from './sizes.js';
import { DefaultMapRoot, checkNamePrefix, checkRoot, pinPath } from './pins.js';
import { stderrLogger, type Logger } from './log.js';

/** Go PurgeHook: active connection tracking counts failed service connections when GC removes them. */
export interface PurgeHook {
  countFailed4(revNAT: number, backendID: number): void;
  countFailed6(revNAT: number, backendID: number): void;
}

/** CT table sizes (--bpf-ct-global-tcp-max / -any-max); 0 or absent means the agent's default. */
export interface CTSizes {
  readonly tcp?: number;
  readonly any?: number;
}

export interface SettingsInit {
  /** The bpffs root maps pin under (`<bpffs>/tc/globals/<name>`); default /sys/fs/bpf. */
  readonly bpffs?: string;
  /** Which kernel to talk to (a fake one in tests); default: the real one through the shim. */
  readonly kernel?: Kernel | undefined;
  readonly ctSizes?: CTSizes;
  /** --bpf-distributed-lru: BPF_F_NO_COMMON_LRU and sizes rounded to a multiple of the possible CPUs. */
  readonly distributedLRU?: boolean;
  /** --bpf-nat-global-max; 0 means LimitTableMax (as in Go). Default NATMapEntriesGlobalDefault. */
  readonly natEntries?: number;
  /** max-connected-clusters: 255 (default) or 511. */
  readonly maxConnectedClusters?: number;
  /** The datapath's clock: what CT lifetimes and SNAT `created` count in. Default ktime. */
  readonly clockSource?: ClockSource;
  /** Where "now" is read (inject a fixed clock in tests). */
  readonly clock?: ClockReader;
  /** Record Cilium's metrics (map pressure, GC, NAT GC) here; none without. */
  readonly registry?: Registry | undefined;
  readonly logger?: Logger;
  /** The ACT hook GC calls for removed service entries. */
  readonly act?: PurgeHook | undefined;
  /** Test override for the per-cluster outer map names (`<prefix>_<name>`), CT and NAT separately. */
  readonly outerMapPrefix?: { readonly ct?: string | undefined; readonly nat?: string | undefined };
}

function checkSize(v: unknown, what: string): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new TypeError(`${what} must be a non-negative integer, got ${describe(v)}`);
  return v;
}

function checkClockSource(cs: unknown): ClockSource {
  if (typeof cs !== 'object' || cs === null) throw new TypeError(`clockSource must be {mode, hertz?}, got ${describe(cs)}`);
  const { mode, hertz } = cs as { mode?: unknown; hertz?: unknown };
  if (mode !== ClockSourceModeKtime && mode !== ClockSourceModeJiffies) throw new RangeError(`invalid clocksource: ${String(mode)}`);
  if (hertz !== undefined && (typeof hertz !== 'number' || !Number.isSafeInteger(hertz) || hertz < 0)) {
    throw new TypeError(`clock Hertz must be a non-negative integer, got ${describe(hertz)}`);
  }
  return hertz === undefined ? { mode } : { mode, hertz };
}

function checkLogger(v: unknown): Logger {
  if (typeof v !== 'function') throw new TypeError(`logger must be a function, got ${describe(v)}`);
  return v as Logger;
}

export class Settings {
  readonly bpffs: string;
  /** The configured CT sizes (0: the agent's default). */
  readonly ctSizes: Readonly<{ tcp: number; any: number }>;
  readonly distributedLRU: boolean;
  readonly natEntries: number;
  readonly maxConnectedClusters: MaxConnectedClusters;
  readonly clockSource: ClockSource;
  readonly clock: ClockReader;
  readonly registry: Registry | undefined;
  readonly logger: Logger;
  readonly act: PurgeHook | undefined;
  readonly outerMapPrefix: Readonly<{ ct: string | undefined; nat: string | undefined }>;
  readonly #kernel: Kernel | undefined;

  constructor(init: SettingsInit = {}) {
    if (typeof (init as unknown) !== 'object' || (init as unknown) === null) throw new TypeError(`settings must be an object, got ${describe(init)}`);
    this.bpffs = checkRoot(init.bpffs ?? DefaultMapRoot);
    if (init.kernel !== undefined && !(init.kernel instanceof Kernel)) throw new TypeError(`kernel must be a Kernel, got ${describe(init.kernel)}`);
    this.#kernel = init.kernel;
    const tcp = checkSize(init.ctSizes?.tcp, 'ctSizes.tcp');
    const any = checkSize(init.ctSizes?.any, 'ctSizes.any');
    // The agent validates the effective sizes (0 meaning the default).
    validateCTMapSizes(tcp || CTMapEntriesGlobalTCPDefault, any || CTMapEntriesGlobalAnyDefault);
    this.ctSizes = Object.freeze({ tcp, any });
    const dlru = init.distributedLRU ?? false;
    if (typeof dlru !== 'boolean') throw new TypeError('distributedLRU must be a boolean');
    this.distributedLRU = dlru;
    this.natEntries = validateNATMapEntries(init.natEntries ?? NATMapEntriesGlobalDefault);
    this.maxConnectedClusters = checkMaxConnectedClusters(init.maxConnectedClusters ?? ClusterIDDefaultMax);
    this.clockSource = Object.freeze(checkClockSource(init.clockSource ?? { mode: ClockSourceModeKtime }));
    const clock = init.clock ?? systemClock;
    if (typeof clock !== 'object' || typeof clock.monotonicNs !== 'function' || typeof clock.jiffies !== 'function') {
      throw new TypeError('clock must have monotonicNs() and jiffies()');
    }
    this.clock = clock;
    this.registry = init.registry;
    this.logger = init.logger === undefined ? stderrLogger : checkLogger(init.logger);
    if (init.act !== undefined && (typeof init.act.countFailed4 !== 'function' || typeof init.act.countFailed6 !== 'function')) {
      throw new TypeError('act must have countFailed4 and countFailed6');
    }
    this.act = init.act;
    this.outerMapPrefix = Object.freeze({ ct: checkNamePrefix(init.outerMapPrefix?.ct), nat: checkNamePrefix(init.outerMapPrefix?.nat) });
    Object.freeze(this);
  }

  /** The kernel maps talk to (the real one is loaded on first use). */
  get kernel(): Kernel {
    return this.#kernel ?? defaultKernel();
  }

  /** The fields as given (for `with`): only what was set explicitly survives as such. */
  #init(): SettingsInit {
    return {
      bpffs: this.bpffs, ...(this.#kernel === undefined ? {} : { kernel: this.#kernel }), ctSizes: this.ctSizes,
      distributedLRU: this.distributedLRU, natEntries: this.natEntries, maxConnectedClusters: this.maxConnectedClusters,
      clockSource: this.clockSource, clock: this.clock, registry: this.registry, logger: this.logger, act: this.act,
      outerMapPrefix: this.outerMapPrefix,
    };
  }

  /** A copy with some fields changed (CT sizes and outer prefixes merge field by field). */
  with(changes: SettingsInit): Settings {
    const base = this.#init();
    return new Settings({
      ...base, ...changes,
      ctSizes: { ...base.ctSizes, ...changes.ctSizes },
      outerMapPrefix: { ...base.outerMapPrefix, ...changes.outerMapPrefix },
    });
  }

  /** `<bpffs>/tc/globals/<name>`. */
  pinPath(name: string): string {
    return pinPath(this.bpffs, name);
  }

  /** Go `maxEntries()` of a CT map type: the configured size or the default, distributed-LRU rounded. */
  ctMaxEntries(tcp: boolean): number {
    const n = tcp ? this.ctSizes.tcp || CTMapEntriesGlobalTCPDefault : this.ctSizes.any || CTMapEntriesGlobalAnyDefault;
    return this.distributedLRU ? roundForDistributedLRU(n) : n;
  }

  /** Go nat maxEntries(): the configured size, or LimitTableMax when it is 0. */
  natMaxEntries(): number {
    return this.natEntries === 0 ? LimitTableMax : this.natEntries;
  }

  /** The agent-wide memory flag OR'd into every CT and NAT map. */
  mapFlags(): number {
    return this.distributedLRU ? MapFlags.BPF_F_NO_COMMON_LRU : 0;
  }

  /** "Now" on the datapath's clock, as the u32 CT lifetimes are compared with. */
  nowCT(): number {
    return Number(BigInt.asUintN(32, GetCTCurTime(this.clockSource, this.clock)));
  }

  /** The highest cluster ID per-cluster maps exist for. */
  get clusterIDMax(): number {
    return this.maxConnectedClusters;
  }

  /** Go ValidateClusterID under these settings. */
  validateClusterID(clusterID: number): void {
    validateClusterID(clusterID, this.maxConnectedClusters);
  }

  toJSON(): Record<string, unknown> {
    return {
      bpffs: this.bpffs, ctSizes: this.ctSizes, distributedLRU: this.distributedLRU, natEntries: this.natEntries,
      maxConnectedClusters: this.maxConnectedClusters, clockSource: this.clockSource, registry: this.registry !== undefined,
      act: this.act !== undefined, outerMapPrefix: this.outerMapPrefix, kernel: this.#kernel?.name ?? 'default',
    };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Settings(${this.bpffs} ct=${this.ctMaxEntries(true)}/${this.ctMaxEntries(false)} nat=${this.natMaxEntries()}${this.distributedLRU ? ' distributed-lru' : ''} clock=${this.clockSource.mode})`;
  }
}
