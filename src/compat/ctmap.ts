/**
 * Go's pkg/maps/ctmap names, for code ported from Go: package functions over
 * the process settings (process.ts), built on the same maps, passes and
 * purge a node handle uses. JavaScript code uses `openNode` instead.
 */
import type { Registry } from 'prom-client';
import type { MapSpec } from '../syscall/map.js';
import { describe } from '../structs/describe.js';
import type { ClockSource } from '../datapath/clock.js';
import { ConntrackMap, ctMapSpec } from '../ctmap/ctmap.js';
import { CtMapType, ctMapTypeFor, ctMapTypeGlobalName, ctMapTypesFor, ctMapTypeMaxEntries as maxEntriesUnder, type CtMapTypeValue } from '../ctmap/types.js';
import { GCFilter } from '../ctmap/gcfilter.js';
import { filterPlan, runGC, type FilterPassOptions, type GCMode, type GCStats, type GCTarget } from '../ctmap/gc.js';
import { purgeOrphans, type NatGCStats, type PurgeOptions } from '../ctmap/orphans.js';
import {
  cleanupPerClusterCTMaps, clusterCtMaps, clusterInnerMapName, clusterOuterMapName, PerClusterCTMaps,
} from '../ctmap/percluster.js';
import type { GCEvent } from '../ctmap/gcevent.js';
import { MaxTime } from '../ctmap/names.js';
import { GCRunner, type GCRunnerOptions } from '../gc/runner.js';
import { globalNatMap, processSettings, updateProcessSettings } from './process.js';

interface MapOptionState {
  registry: Registry | undefined;
  networkID: number;
  clusterID: number;
}

/** Go's functional MapOption. */
export type MapOption = (o: MapOptionState) => void;

function u32(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new TypeError(`${what} must be an unsigned 32-bit integer, got ${describe(v)}`);
  }
  return v;
}

/** Enable the map-pressure gauge (cilium_bpf_map_pressure) on `registry`. */
export function WithRegistry(registry: Registry): MapOption {
  return (o) => { o.registry = registry; };
}

/** Mark the map as belonging to another network: overlapping addresses, no NAT map. */
export function WithNetworkID(id: number): MapOption {
  const v = u32(id, 'network ID');
  return (o) => { o.networkID = v; };
}

/** Mark the map as the inner CT map of a remote cluster (GC then uses that cluster's NAT map). */
export function WithClusterID(id: number): MapOption {
  const v = u32(id, 'cluster ID');
  return (o) => { o.clusterID = v; };
}

/** Go newMap: the CT map `name` of `type` under the process settings, not opened yet; GC pairs it with InitMapInfo's NAT map. */
export function newMap(name: string, type: number, ...opts: MapOption[]): ConntrackMap {
  const o: MapOptionState = { registry: undefined, networkID: 0, clusterID: 0 };
  for (const opt of opts) opt(o);
  const v4 = type === CtMapType.IPv4TCPGlobal || type === CtMapType.IPv4AnyGlobal;
  return new ConntrackMap(processSettings(), name, type, {
    registry: o.registry, networkID: o.networkID, clusterID: o.clusterID, nat: () => globalNatMap(v4),
  });
}

/** Go MapConfig: which of the four global types a map is. */
export interface MapConfig {
  readonly ipv6: boolean;
  readonly tcp: boolean;
}

/** Go NewGlobalMap: an extra CT map (e.g. registered for GC) of the type chosen by `cfg`. */
export function NewGlobalMap(name: string, cfg: MapConfig, ...opts: MapOption[]): ConntrackMap {
  return newMap(name, ctMapTypeFor(cfg), ...opts);
}

/** Go NewGlobalMapSpec: only the creation spec (its name is left empty, as Go's is). */
export function NewGlobalMapSpec(cfg: MapConfig): MapSpec {
  return ctMapSpec(processSettings(), '', ctMapTypeFor(cfg));
}

/** Go Maps(ipv4, ipv6): unopened global maps, v4 TCP, v4 Any, then v6 TCP, v6 Any. */
export function Maps(ipv4: boolean, ipv6: boolean, ...opts: MapOption[]): ConntrackMap[] {
  return ctMapTypesFor(ipv4, ipv6).map((t) => newMap(ctMapTypeGlobalName(t), t, ...opts));
}

/** Go `maxEntries()` of a type under the process settings. */
export function ctMapTypeMaxEntries(t: number): number {
  return maxEntriesUnder(processSettings(), t);
}

/** Pass options of the Go-shaped entry points: the event sinks and the pass settings. */
export interface GCPassOptions extends FilterPassOptions {
  readonly next4?: ((ev: GCEvent) => void) | undefined;
  readonly next6?: ((ev: GCEvent) => void) | undefined;
}

/** Go doGC: one pass with `filter` exactly as given (the ACT hook and, unless given, no metrics: Go's package state). */
export function gcWithFilter(m: ConntrackMap, filter: GCFilter, opts: GCPassOptions = {}): GCStats {
  const plan = filterPlan(m, filter, { ...opts, registry: opts.registry });
  return runGC(m, { ...plan, act: processSettings().act });
}

/** Go's "now" for GC: the process clock source; a clock error gives 0 (nothing counts as expired). */
function goNow(m: GCTarget): number {
  try {
    return processSettings().nowCT();
  } catch (err) {
    m.settings.logger('warn', 'Unable to read the CT clock; nothing counts as expired', { error: err });
    return 0;
  }
}

type Next = ((ev: GCEvent) => void) | undefined;

function sinks(a: Next | GCPassOptions | undefined, b: Next, c: GCPassOptions | undefined): GCPassOptions {
  if (typeof a === 'object') return a;
  return { ...c, ...(a === undefined ? {} : { next4: a }), ...(b === undefined ? {} : { next6: b }) };
}

/**
 * Go Map.GC(filter, next4, next6): with removeExpired the filter's time is
 * first set to "now" from the GC clock source (mutating the filter, as Go
 * does). The sinks may also be passed as one options object.
 */
export function GC(m: ConntrackMap, filter: GCFilter, next4?: Next | GCPassOptions, next6?: Next, opts?: GCPassOptions): GCStats {
  if (!(filter instanceof GCFilter)) throw new TypeError(`gc: filter must be a GCFilter, got ${describe(filter)}`);
  if (filter.removeExpired) filter.time = goNow(m);
  return gcWithFilter(m, filter, sinks(next4, next6, opts));
}

/**
 * Go Map.Flush(next4, next6): a pass with {removeExpired, time: MaxTime}; an
 * entry whose lifetime is exactly 0xFFFFFFFF survives. Returns the number deleted.
 */
export function Flush(m: ConntrackMap, next4?: Next | GCPassOptions, next6?: Next, opts?: GCPassOptions): number {
  return gcWithFilter(m, new GCFilter({ removeExpired: true, time: MaxTime }), sinks(next4, next6, opts)).deleted;
}

/** Go PurgeOrphanNATEntries(ctMapTCP, ctMapAny): undefined when the pair has no NAT map. */
export function PurgeOrphanNATEntries(ctMapTCP: ConntrackMap, ctMapAny: ConntrackMap, opts: PurgeOptions = {}): NatGCStats | undefined {
  return purgeOrphans(ctMapTCP, ctMapAny, { registry: undefined, ...opts });
}

// --- per-cluster CT maps -----------------------------------------------------------

/** Go ClusterOuterMapName. */
export function ClusterOuterMapName(type: number): string {
  return clusterOuterMapName(processSettings(), type);
}

/** Go ClusterOuterMapNameTestOverride: every outer name becomes `<prefix>_…`; undefined restores the default. */
export function ClusterOuterMapNameTestOverride(prefix: string | undefined): void {
  updateProcessSettings({ outerMapPrefix: { ct: prefix } });
}

/** Go ClusterInnerMapName. */
export function ClusterInnerMapName(type: number, clusterID: number): string {
  return clusterInnerMapName(processSettings(), type, clusterID);
}

/** Go NewPerClusterCTMaps. */
export function NewPerClusterCTMaps(ipv4: boolean, ipv6: boolean): PerClusterCTMaps {
  return new PerClusterCTMaps(processSettings(), ipv4, ipv6);
}

/** Go GetClusterCTMaps: the inner maps of one cluster (tcp4, any4, tcp6, any6), unopened and maybe absent. */
export function GetClusterCTMaps(clusterID: number, ipv4: boolean, ipv6: boolean): ConntrackMap[] {
  return clusterCtMaps(processSettings(), clusterID, ipv4, ipv6);
}

/** Go CleanupPerClusterCTMaps. */
export function CleanupPerClusterCTMaps(ipv4: boolean, ipv6: boolean): void {
  cleanupPerClusterCTMaps(processSettings(), ipv4, ipv6);
}

// --- the runner ----------------------------------------------------------------------

/** Go's GC runner over maps of the process settings (the loop logs to the process logger). */
export function NewGCRunner(opts: GCRunnerOptions): GCRunner {
  return new GCRunner({ logger: processSettings().logger, ...opts });
}

export type { GCMode, CtMapTypeValue, ClockSource };
