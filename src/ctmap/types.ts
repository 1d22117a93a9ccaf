/**
 * The four global CT map types (Go's unexported `mapType` enum) and the
 * sizing rules the agent applies to them. The ordinals are Cilium's: GC and
 * the per-cluster maps index by them, and `String()` of anything else is
 * `Unknown (n)` while the other accessors refuse it.
 */
import { MapFlags } from '../syscall/attr.js';
import { possibleCPUs } from '../syscall/cpus.js';
import { SizeofCtKey4Global, SizeofCtKey6Global, CtKey4Global, CtKey6Global, type CtKey } from '../structs/tuple.js';
import { CtEntry } from '../structs/ctentry.js';
import {
  CTMapEntriesGlobalAnyDefault, CTMapEntriesGlobalTCPDefault, LimitTableMax, LimitTableMin,
  MapNameAny4Global, MapNameAny6Global, MapNameTCP4Global, MapNameTCP6Global,
} from './names.js';

export const CtMapType = {
  IPv4TCPGlobal: 0,
  IPv6TCPGlobal: 1,
  IPv4AnyGlobal: 2,
  IPv6AnyGlobal: 3,
  /** Sentinel: one past the last type. */
  Max: 4,
} as const;
export type CtMapTypeValue = 0 | 1 | 2 | 3;

const strings = ['Global IPv4 TCP CT map', 'Global IPv6 TCP CT map', 'Global IPv4 non-TCP CT map', 'Global IPv6 non-TCP CT map'];
const shortNames = ['tcp4', 'tcp6', 'any4', 'any6'] as const;
export type CtMapTypeName = typeof shortNames[number];
/** The global map's pin name for each type. */
const globalNames = [MapNameTCP4Global, MapNameTCP6Global, MapNameAny4Global, MapNameAny6Global];

export function isCtMapType(t: unknown): t is CtMapTypeValue {
  return t === 0 || t === 1 || t === 2 || t === 3;
}

/** Go `mapType.String()`: total, `Unknown (n)` outside the enum. */
export function ctMapTypeString(t: number): string {
  return isCtMapType(t) ? strings[t] ?? '' : `Unknown (${t})`;
}

/** The accessors Go panics in; ctmap throws the same message. */
function valid(t: number): CtMapTypeValue {
  if (!isCtMapType(t)) throw new RangeError(`Unexpected map type ${ctMapTypeString(t)}`);
  return t;
}

/** Go `mapType.name()`: tcp4, tcp6, any4, any6. */
export function ctMapTypeName(t: number): CtMapTypeName {
  return shortNames[valid(t)];
}

export function ctMapTypeIsIPv4(t: number): boolean { return valid(t) === 0 || t === 2; }
export function ctMapTypeIsIPv6(t: number): boolean { return valid(t) === 1 || t === 3; }
export function ctMapTypeIsTCP(t: number): boolean { return valid(t) <= 1; }

/** The global map's name (cilium_ct4_global, …) for a type. */
export function ctMapTypeGlobalName(t: number): string {
  return globalNames[valid(t)] ?? '';
}

/** Key size (Go `key()`): CtKey4Global is 14 bytes, CtKey6Global 38. */
export function ctMapTypeKeySize(t: number): number {
  return ctMapTypeIsIPv4(t) ? SizeofCtKey4Global : SizeofCtKey6Global;
}

/** A key of the type's family decoded from (a copy of) `bytes`. */
export function ctMapTypeKey(t: number, bytes: Uint8Array): CtKey {
  return ctMapTypeIsIPv4(t) ? CtKey4Global.fromBytes(bytes) : CtKey6Global.fromBytes(bytes);
}

/** Go `value()`: always a fresh zero entry. */
export function ctMapTypeValue(): CtEntry {
  return new CtEntry();
}

/** The type for Go's MapConfig{IPv6, TCP}. */
export function ctMapTypeFor(cfg: { readonly ipv6: boolean; readonly tcp: boolean }): CtMapTypeValue {
  if (cfg.ipv6) return cfg.tcp ? CtMapType.IPv6TCPGlobal : CtMapType.IPv6AnyGlobal;
  return cfg.tcp ? CtMapType.IPv4TCPGlobal : CtMapType.IPv4AnyGlobal;
}

// ---------------------------------------------------------------------------
// Sizing: the agent's option.Config.CTMapEntriesGlobal{TCP,Any} and the
// distributed-LRU memory flag, taken as configuration with Go's defaults.

export interface CTMapConfig {
  /** --bpf-ct-global-tcp-max; 0 means CTMapEntriesGlobalTCPDefault. */
  readonly ctMapEntriesGlobalTCP: number;
  /** --bpf-ct-global-any-max; 0 means CTMapEntriesGlobalAnyDefault. */
  readonly ctMapEntriesGlobalAny: number;
  /**
   * --bpf-distributed-lru: maps get BPF_F_NO_COMMON_LRU and their sizes are
   * rounded up to a multiple of the possible CPUs (capped below LimitTableMax).
   */
  readonly distributedLRU: boolean;
}

const defaultConfig: CTMapConfig = { ctMapEntriesGlobalTCP: 0, ctMapEntriesGlobalAny: 0, distributedLRU: false };
let config: CTMapConfig = defaultConfig;

/** The agent's start-up check of the two CT table sizes (Go's error texts). */
export function validateCTMapSizes(tcp: number, any: number): void {
  for (const v of [tcp, any]) {
    if (!Number.isSafeInteger(v)) throw new TypeError(`CT table sizes must be integers, got ${tcp}/${any}`);
  }
  if (tcp < LimitTableMin || any < LimitTableMin) {
    throw new RangeError(`specified CT tables values ${tcp}/${any} must be greater or equal to ${LimitTableMin}`);
  }
  if (tcp > LimitTableMax || any > LimitTableMax) {
    throw new RangeError(`specified CT tables values ${tcp}/${any} must not exceed maximum ${LimitTableMax}`);
  }
}

/**
 * Set the sizing configuration (unset fields keep their current values).
 * Validated like the agent does: the effective sizes must lie in
 * LimitTableMin…LimitTableMax; nothing changes on error.
 */
export function setCTMapConfig(c: Partial<CTMapConfig>): CTMapConfig {
  const next: CTMapConfig = { ...config, ...c };
  if (typeof next.distributedLRU !== 'boolean') throw new TypeError('distributedLRU must be a boolean');
  validateCTMapSizes(next.ctMapEntriesGlobalTCP || CTMapEntriesGlobalTCPDefault,
    next.ctMapEntriesGlobalAny || CTMapEntriesGlobalAnyDefault);
  const prev = config;
  config = next;
  return prev;
}

export function ctMapConfig(): CTMapConfig {
  return config;
}

export function resetCTMapConfig(): void {
  config = defaultConfig;
}

/** Round a size up to a multiple of the CPU count, capped at LimitTableMax rounded down. */
export function roundForDistributedLRU(size: number, cpus: number): number {
  const up = Math.ceil(size / cpus) * cpus;
  const cap = Math.floor(LimitTableMax / cpus) * cpus;
  return Math.min(up, cap);
}

/** Go `maxEntries()`: the configured size, or the default when it is 0. */
export function ctMapTypeMaxEntries(t: number): number {
  const n = ctMapTypeIsTCP(t)
    ? config.ctMapEntriesGlobalTCP || CTMapEntriesGlobalTCPDefault
    : config.ctMapEntriesGlobalAny || CTMapEntriesGlobalAnyDefault;
  return config.distributedLRU ? roundForDistributedLRU(n, possibleCPUs()) : n;
}

/** The agent-wide memory flag OR'd into every CT (and NAT) map. */
export function ctMapFlags(): number {
  return config.distributedLRU ? MapFlags.BPF_F_NO_COMMON_LRU : 0;
}
