/**
 * Per-cluster SNAT maps: one ARRAY_OF_MAPS per family indexed by cluster
 * ID, each slot holding `cilium_per_cluster_snat_v{4,6}_external_<id>`.
 * Errors are collected per family (`ipv4: …`) and joined, as in Cilium.
 */
import { MapType } from '../syscall/attr.js';
import type { MapSpec } from '../syscall/map.js';
import { joinErrors } from '../syscall/errors.js';
import { unpinOuterAndInner } from '../datapath/clusters.js';
import { OuterMap, forEachJoined } from '../syscall/outer.js';
import { SizeofTupleKey4, SizeofTupleKey6 } from '../structs/tuple.js';
import { SizeofNatEntry4, SizeofNatEntry6 } from '../structs/natentry.js';
import type { Settings } from '../datapath/settings.js';
import { NatMap, IPv4, IPv6, type IPFamily } from './natmap.js';
import { PerClusterOuterMapNameSnat4, PerClusterOuterMapNameSnat6 } from './names.js';

/** The outer map's name for a family (or `<prefix>_<name>` under the settings' test override). */
export function natClusterOuterMapName(settings: Settings, family: IPFamily): string {
  const name = family === IPv4 ? PerClusterOuterMapNameSnat4 : PerClusterOuterMapNameSnat6;
  const prefix = settings.outerMapPrefix.nat;
  return prefix === undefined ? name : `${prefix}_${name}`;
}

/** `<outer>_<id>`. */
export function natClusterInnerMapName(settings: Settings, family: IPFamily, clusterID: number): string {
  return `${natClusterOuterMapName(settings, family)}_${clusterID}`;
}

function innerSpec(settings: Settings, family: IPFamily): MapSpec {
  const v4 = family === IPv4;
  return {
    name: '', type: MapType.LRUHash, keySize: v4 ? SizeofTupleKey4 : SizeofTupleKey6,
    valueSize: v4 ? SizeofNatEntry4 : SizeofNatEntry6, maxEntries: settings.natMaxEntries(), flags: settings.mapFlags(),
  };
}

/** The (unopened, maybe absent) inner NAT map of a cluster and family. */
export function clusterNatMap(settings: Settings, clusterID: number, family: IPFamily): NatMap {
  settings.validateClusterID(clusterID);
  return new NatMap(settings, natClusterInnerMapName(settings, family, clusterID), family, { clusterID });
}

/** One family's outer map (Go PerClusterNATMap). */
export class PerClusterNATMap extends OuterMap {
  readonly family: IPFamily;
  readonly settings: Settings;

  constructor(settings: Settings, family: IPFamily) {
    const name = natClusterOuterMapName(settings, family);
    super(name, settings.clusterIDMax + 1, innerSpec(settings, family), settings.pinPath(name), () => settings.kernel);
    this.family = family;
    this.settings = settings;
  }

  innerMap(clusterID: number): NatMap {
    return clusterNatMap(this.settings, clusterID, this.family);
  }

  createClusterNATMap(clusterID: number): void {
    this.attach(clusterID, this.innerMap(clusterID), 'update outer map');
  }

  deleteClusterNATMap(clusterID: number): void {
    this.detach(clusterID, this.innerMap(clusterID));
  }
}

/** Go PerClusterNATMapper. */
export interface PerClusterNATMapper {
  openOrCreate(): void;
  close(): void;
  createClusterNATMaps(clusterID: number): void;
  deleteClusterNATMaps(clusterID: number): void;
}

export function familiesFor(ipv4: boolean, ipv6: boolean): IPFamily[] {
  return [...(ipv4 ? [IPv4] : []), ...(ipv6 ? [IPv6] : [])];
}

export class PerClusterNATMaps implements PerClusterNATMapper {
  readonly settings: Settings;
  readonly outer: readonly PerClusterNATMap[];

  constructor(settings: Settings, ipv4: boolean, ipv6: boolean) {
    this.settings = settings;
    this.outer = familiesFor(ipv4, ipv6).map((f) => new PerClusterNATMap(settings, f));
  }

  #forEach(fn: (m: PerClusterNATMap) => void): void {
    forEachJoined(this.outer, (m) => m.family, fn);
  }

  openOrCreate(): void { this.#forEach((m) => { m.openOrCreate(); }); }
  close(): void { this.#forEach((m) => { m.close(); }); }

  /** Idempotent. */
  createClusterNATMaps(clusterID: number): void {
    this.settings.validateClusterID(clusterID);
    this.#forEach((m) => { m.createClusterNATMap(clusterID); });
  }

  /** Idempotent. */
  deleteClusterNATMaps(clusterID: number): void {
    this.settings.validateClusterID(clusterID);
    this.#forEach((m) => { m.deleteClusterNATMap(clusterID); });
  }

  /** The (unopened) inner map of a cluster; `IP family <f> not enabled` for a family this manager lacks. */
  getClusterNATMap(clusterID: number, family: IPFamily): NatMap {
    this.settings.validateClusterID(clusterID);
    const outer = this.outer.find((m) => m.family === family);
    if (outer === undefined) throw new Error(`IP family ${family} not enabled`);
    return outer.innerMap(clusterID);
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `PerClusterNATMaps [${this.outer.map((m) => m.name).join(', ')}]`;
  }
}

/** Unpin every inner map (1…ClusterIDMax) and the outer map of the requested families; absent pins are fine. */
export function cleanupPerClusterNATMaps(settings: Settings, ipv4: boolean, ipv6: boolean): void {
  const errs: Error[] = [];
  for (const f of familiesFor(ipv4, ipv6)) unpinOuterAndInner(settings, natClusterOuterMapName(settings, f), errs);
  const joined = joinErrors(errs);
  if (joined !== undefined) throw joined;
}
