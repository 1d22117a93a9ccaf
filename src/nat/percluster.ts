/**
 * Per-cluster SNAT maps: one ARRAY_OF_MAPS per family indexed by cluster
 * ID, each slot holding `cilium_per_cluster_snat_v{4,6}_external_<id>`.
 * Errors are collected per family (`ipv4: …`) and joined, as in Cilium.
 */
import { MapType } from '../syscall/attr.js';
import type { MapSpec } from '../syscall/map.js';
import { joinErrors } from '../syscall/errors.js';
import { OuterMap, checkNamePrefix, forEachJoined, unpinOuterAndInner } from '../syscall/outer.js';
import { SizeofTupleKey4, SizeofTupleKey6 } from '../structs/tuple.js';
import { SizeofNatEntry4, SizeofNatEntry6 } from '../structs/natentry.js';
import { ValidateClusterID, clusterIDMax } from '../ctmap/clusterid.js';
import { ctMapFlags } from '../ctmap/types.js';
import { NatMap, IPv4, IPv6, natMapMaxEntries, type IPFamily } from './natmap.js';
import { PerClusterOuterMapNameSnat4, PerClusterOuterMapNameSnat6 } from './names.js';

let outerOverride: string | undefined;

/** The outer map's name for a family (or `<prefix>_<name>` under the test override). */
export function NatClusterOuterMapName(family: IPFamily): string {
  const name = family === IPv4 ? PerClusterOuterMapNameSnat4 : PerClusterOuterMapNameSnat6;
  return outerOverride === undefined ? name : `${outerOverride}_${name}`;
}

/** Go nat ClusterOuterMapNameTestOverride; undefined restores the defaults. */
export function NatClusterOuterMapNameTestOverride(prefix: string | undefined): void {
  outerOverride = checkNamePrefix(prefix);
}

/** `<outer>_<id>`. */
export function NatClusterInnerMapName(family: IPFamily, clusterID: number): string {
  return `${NatClusterOuterMapName(family)}_${clusterID}`;
}

function innerSpec(family: IPFamily): MapSpec {
  const v4 = family === IPv4;
  return {
    name: '', type: MapType.LRUHash, keySize: v4 ? SizeofTupleKey4 : SizeofTupleKey6,
    valueSize: v4 ? SizeofNatEntry4 : SizeofNatEntry6, maxEntries: natMapMaxEntries(), flags: ctMapFlags(),
  };
}

function innerMap(family: IPFamily, clusterID: number): NatMap {
  return new NatMap(NatClusterInnerMapName(family, clusterID), family, natMapMaxEntries(), { clusterID });
}

/** One family's outer map (Go PerClusterNATMap). */
export class PerClusterNATMap extends OuterMap {
  readonly family: IPFamily;

  constructor(family: IPFamily) {
    super(NatClusterOuterMapName(family), clusterIDMax() + 1, innerSpec(family));
    this.family = family;
  }

  innerMap(clusterID: number): NatMap {
    return innerMap(this.family, clusterID);
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

function familiesFor(ipv4: boolean, ipv6: boolean): IPFamily[] {
  return [...(ipv4 ? [IPv4] : []), ...(ipv6 ? [IPv6] : [])];
}

export class PerClusterNATMaps implements PerClusterNATMapper {
  readonly outer: readonly PerClusterNATMap[];

  constructor(ipv4: boolean, ipv6: boolean) {
    this.outer = familiesFor(ipv4, ipv6).map((f) => new PerClusterNATMap(f));
  }

  #forEach(fn: (m: PerClusterNATMap) => void): void {
    forEachJoined(this.outer, (m) => m.family, fn);
  }

  openOrCreate(): void { this.#forEach((m) => { m.openOrCreate(); }); }
  close(): void { this.#forEach((m) => { m.close(); }); }

  /** Idempotent. */
  createClusterNATMaps(clusterID: number): void {
    ValidateClusterID(clusterID);
    this.#forEach((m) => { m.createClusterNATMap(clusterID); });
  }

  /** Idempotent. */
  deleteClusterNATMaps(clusterID: number): void {
    ValidateClusterID(clusterID);
    this.#forEach((m) => { m.deleteClusterNATMap(clusterID); });
  }

  /** The (unopened) inner map of a cluster; `IP family <f> not enabled` for a family this manager lacks. */
  getClusterNATMap(clusterID: number, family: IPFamily): NatMap {
    ValidateClusterID(clusterID);
    const outer = this.outer.find((m) => m.family === family);
    if (outer === undefined) throw new Error(`IP family ${family} not enabled`);
    return outer.innerMap(clusterID);
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `PerClusterNATMaps [${this.outer.map((m) => m.name).join(', ')}]`;
  }
}

export function NewPerClusterNATMaps(ipv4: boolean, ipv6: boolean): PerClusterNATMaps {
  return new PerClusterNATMaps(ipv4, ipv6);
}

/** Go nat.GetClusterNATMap: the (unopened, maybe absent) inner map of a cluster and family. */
export function GetClusterNATMap(clusterID: number, family: IPFamily): NatMap {
  ValidateClusterID(clusterID);
  return innerMap(family, clusterID);
}

/** Go ClusterMaps: the inner maps of the enabled families. */
export function ClusterNATMaps(clusterID: number, ipv4: boolean, ipv6: boolean): { v4: NatMap | undefined; v6: NatMap | undefined } {
  ValidateClusterID(clusterID);
  return { v4: ipv4 ? innerMap(IPv4, clusterID) : undefined, v6: ipv6 ? innerMap(IPv6, clusterID) : undefined };
}

/** Unpin every inner map (1…ClusterIDMax) and the outer map of the requested families; absent pins are fine. */
export function CleanupPerClusterNATMaps(ipv4: boolean, ipv6: boolean): void {
  const errs: Error[] = [];
  for (const f of familiesFor(ipv4, ipv6)) unpinOuterAndInner(NatClusterOuterMapName(f), clusterIDMax(), errs);
  const joined = joinErrors(errs);
  if (joined !== undefined) throw joined;
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
