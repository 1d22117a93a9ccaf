/**
 * Go's pkg/maps/nat names, for code ported from Go: package functions over
 * the process settings (process.ts). JavaScript code uses a node handle.
 */
import type { Registry } from 'prom-client';
import { NatMap, IPv4, IPv6, type IPFamily } from '../nat/natmap.js';
import { retriesMaps, type RetriesMap } from '../nat/retries.js';
import {
  cleanupPerClusterNATMaps, clusterNatMap, natClusterInnerMapName, natClusterOuterMapName, PerClusterNATMaps,
  type PerClusterNATMapper,
} from '../nat/percluster.js';
import { MapNameSnat4Global, MapNameSnat6Global } from '../nat/names.js';
import { processSettings, updateProcessSettings } from './process.js';

/** Go nat.NewMap: a NAT map of the process settings with `entries` max entries. */
export function NewNatMap(name: string, family: IPFamily, entries: number, opts: { readonly registry?: Registry; readonly clusterID?: number } = {}): NatMap {
  return new NatMap(processSettings(), name, family, { ...opts, registry: opts.registry, maxEntries: entries });
}

/** Go GlobalMaps: the global SNAT maps of the enabled families (not opened). */
export function GlobalMaps(ipv4: boolean, ipv6: boolean, registry?: Registry): { v4: NatMap | undefined; v6: NatMap | undefined } {
  const s = processSettings();
  return {
    v4: ipv4 ? new NatMap(s, MapNameSnat4Global, IPv4, { registry }) : undefined,
    v6: ipv6 ? new NatMap(s, MapNameSnat6Global, IPv6, { registry }) : undefined,
  };
}

/** The retries maps of the enabled families. */
export function RetriesMaps(ipv4: boolean, ipv6: boolean): RetriesMap[] {
  return retriesMaps(processSettings(), ipv4, ipv6);
}

export function NatClusterOuterMapName(family: IPFamily): string {
  return natClusterOuterMapName(processSettings(), family);
}

/** Go nat ClusterOuterMapNameTestOverride; undefined restores the defaults. */
export function NatClusterOuterMapNameTestOverride(prefix: string | undefined): void {
  updateProcessSettings({ outerMapPrefix: { nat: prefix } });
}

export function NatClusterInnerMapName(family: IPFamily, clusterID: number): string {
  return natClusterInnerMapName(processSettings(), family, clusterID);
}

export function NewPerClusterNATMaps(ipv4: boolean, ipv6: boolean): PerClusterNATMaps {
  return new PerClusterNATMaps(processSettings(), ipv4, ipv6);
}

/** Go nat.GetClusterNATMap: the (unopened, maybe absent) inner map of a cluster and family. */
export function GetClusterNATMap(clusterID: number, family: IPFamily): NatMap {
  return clusterNatMap(processSettings(), clusterID, family);
}

/** Go ClusterMaps: the inner maps of the enabled families. */
export function ClusterNATMaps(clusterID: number, ipv4: boolean, ipv6: boolean): { v4: NatMap | undefined; v6: NatMap | undefined } {
  const s = processSettings();
  s.validateClusterID(clusterID);
  return { v4: ipv4 ? clusterNatMap(s, clusterID, IPv4) : undefined, v6: ipv6 ? clusterNatMap(s, clusterID, IPv6) : undefined };
}

export function CleanupPerClusterNATMaps(ipv4: boolean, ipv6: boolean): void {
  cleanupPerClusterNATMaps(processSettings(), ipv4, ipv6);
}

/** The test fake: an in-memory ID set, never failing, validating nothing. */
export class FakePerClusterNATMaps implements PerClusterNATMapper {
  readonly #ids = new Set<number>();
  openOrCreate(): void { /* nothing to create */ }
  close(): void { /* nothing to close */ }
  createClusterNATMaps(clusterID: number): void { this.#ids.add(clusterID); }
  deleteClusterNATMaps(clusterID: number): void { this.#ids.delete(clusterID); }
  has(clusterID: number): boolean { return this.#ids.has(clusterID); }
}
