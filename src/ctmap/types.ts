/**
 * The four global CT map types (Go's unexported `mapType` enum). The
 * ordinals are Cilium's: GC and the per-cluster maps index by them, and
 * `String()` of anything else is `Unknown (n)` while the other accessors
 * refuse it. Sizes come from the caller's Settings (`ctMapTypeMaxEntries`).
 */
import { SizeofCtKey4Global, SizeofCtKey6Global, CtKey4Global, CtKey6Global, type CtKey } from '../structs/tuple.js';
import { CtEntry } from '../structs/ctentry.js';
import type { Settings } from '../datapath/settings.js';
import { MapNameAny4Global, MapNameAny6Global, MapNameTCP4Global, MapNameTCP6Global } from './names.js';

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

/** Go `maxEntries()` under `settings`: the configured size, or the default when it is 0. */
export function ctMapTypeMaxEntries(settings: Settings, t: number): number {
  return settings.ctMaxEntries(ctMapTypeIsTCP(t));
}

/** Every type, in Go's order of the global maps: v4 TCP, v4 Any, v6 TCP, v6 Any (GC pairs neighbours). */
export function ctMapTypesFor(ipv4: boolean, ipv6: boolean): CtMapTypeValue[] {
  const out: CtMapTypeValue[] = [];
  if (ipv4) out.push(CtMapType.IPv4TCPGlobal, CtMapType.IPv4AnyGlobal);
  if (ipv6) out.push(CtMapType.IPv6TCPGlobal, CtMapType.IPv6AnyGlobal);
  return out;
}
