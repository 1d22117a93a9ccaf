/**
 * Per-cluster CT maps (cluster-aware addressing). The CT key has no room for
 * a cluster ID, so each remote cluster gets its own four CT maps, reached
 * through one ARRAY_OF_MAPS per type indexed by cluster ID.
 *
 * Like Cilium, the manager's operations visit every outer map, wrap each
 * failure with the type's name and join them: no early stop, no rollback.
 */
import type { MapSpec } from '../syscall/map.js';
import { OuterMap, checkNamePrefix, forEachJoined, unpinOuterAndInner } from '../syscall/outer.js';
import { MapType } from '../syscall/attr.js';
import { joinErrors } from '../syscall/errors.js';
import { getU32, setU32 } from '../structs/layout.js';
import { SizeofCtEntry } from '../structs/ctentry.js';
import { ConntrackMap, newMap, WithClusterID, type MapPair } from './ctmap.js';
import {
  CtMapType, ctMapFlags, ctMapTypeKeySize, ctMapTypeMaxEntries, ctMapTypeName, type CtMapTypeValue,
} from './types.js';
import { ValidateClusterID, clusterIDMax } from './clusterid.js';

const outerBase = 'cilium_per_cluster_ct_';
let outerOverride: string | undefined;

/** Go ClusterOuterMapName: `cilium_per_cluster_ct_<tcp4|any4|tcp6|any6>` (or the test override). */
export function ClusterOuterMapName(type: number): string {
  const name = outerBase + ctMapTypeName(type);
  return outerOverride === undefined ? name : `${outerOverride}_${name}`;
}

/**
 * Go ClusterOuterMapNameTestOverride: every outer name becomes
 * `<prefix>_cilium_per_cluster_ct_<type>`; undefined restores the default.
 */
export function ClusterOuterMapNameTestOverride(prefix: string | undefined): void {
  outerOverride = checkNamePrefix(prefix);
}

/** Go ClusterInnerMapName: `<outer name>_<cluster id>`. */
export function ClusterInnerMapName(type: number, clusterID: number): string {
  return `${ClusterOuterMapName(type)}_${clusterID}`;
}

/** The outer map's key: a cluster ID (u32). */
export class PerClusterCTMapKey {
  readonly clusterID: number;
  constructor(clusterID: number) { this.clusterID = clusterID; }
  toBytes(): Uint8Array { const b = new Uint8Array(4); setU32(b, 0, this.clusterID); return b; }
  static fromBytes(b: Uint8Array): PerClusterCTMapKey { return new PerClusterCTMapKey(getU32(b, 0)); }
  toString(): string { return String(this.clusterID); }
}

/** The outer map's value: the inner map's fd when written (the kernel returns its id when read). */
export class PerClusterCTMapVal {
  readonly fd: number;
  constructor(fd: number) { this.fd = fd; }
  toString(): string { return `fd=${this.fd}`; }
}

/** The template every inner map of a type must match (the kernel checks it on each slot update). */
function innerSpec(type: CtMapTypeValue): MapSpec {
  return {
    name: '', type: MapType.LRUHash, keySize: ctMapTypeKeySize(type), valueSize: SizeofCtEntry,
    maxEntries: ctMapTypeMaxEntries(type), flags: ctMapFlags(),
  };
}

/** One outer ARRAY_OF_MAPS of a CT map type (Go PerClusterCTMap), max entries ClusterIDMax + 1. */
export class PerClusterCTMap extends OuterMap {
  readonly mapType: CtMapTypeValue;

  constructor(type: CtMapTypeValue) {
    super(ClusterOuterMapName(type), clusterIDMax() + 1, innerSpec(type));
    this.mapType = type;
  }

  /** The inner CT map object for `clusterID` (not opened). */
  innerMap(clusterID: number): ConntrackMap {
    return newMap(ClusterInnerMapName(this.mapType, clusterID), this.mapType, WithClusterID(clusterID));
  }

  /** Create (or reuse) and pin the inner map, then point outer[clusterID] at it. */
  createClusterCTMap(clusterID: number): void {
    this.attach(clusterID, this.innerMap(clusterID), 'update outer CT map');
  }

  /** Unpin the inner map and clear outer[clusterID]; both tolerate absence. */
  deleteClusterCTMap(clusterID: number): void {
    this.detach(clusterID, this.innerMap(clusterID));
  }
}

/** Go PerClusterCTMapper: what the manager and the fake both offer. */
export interface PerClusterCTMapper {
  openOrCreate(): void;
  close(): void;
  createClusterCTMaps(clusterID: number): void;
  deleteClusterCTMaps(clusterID: number): void;
  getAllClusterCTMaps(): MapPair[];
}

function typesFor(ipv4: boolean, ipv6: boolean): CtMapTypeValue[] {
  const out: CtMapTypeValue[] = [];
  if (ipv4) out.push(CtMapType.IPv4TCPGlobal, CtMapType.IPv4AnyGlobal);
  if (ipv6) out.push(CtMapType.IPv6TCPGlobal, CtMapType.IPv6AnyGlobal);
  return out;
}

/** The per-cluster CT maps manager (Go perClusterCTMaps). */
export class PerClusterCTMaps implements PerClusterCTMapper {
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  /** Outer maps in the order tcp4, any4, tcp6, any6 (present families only). */
  readonly outer: readonly PerClusterCTMap[];
  readonly #clusterIDs = new Set<number>();

  constructor(ipv4: boolean, ipv6: boolean) {
    this.ipv4 = ipv4;
    this.ipv6 = ipv6;
    this.outer = typesFor(ipv4, ipv6).map((t) => new PerClusterCTMap(t));
  }

  #forEach(fn: (m: PerClusterCTMap) => void): void {
    forEachJoined(this.outer, (m) => ctMapTypeName(m.mapType), fn);
  }

  openOrCreate(): void { this.#forEach((m) => { m.openOrCreate(); }); }

  close(): void { this.#forEach((m) => { m.close(); }); }

  /** Idempotent. The ID is remembered even if a creation fails, as in Cilium. */
  createClusterCTMaps(clusterID: number): void {
    ValidateClusterID(clusterID);
    this.#clusterIDs.add(clusterID);
    this.#forEach((m) => { m.createClusterCTMap(clusterID); });
  }

  /** Idempotent. */
  deleteClusterCTMaps(clusterID: number): void {
    ValidateClusterID(clusterID);
    this.#clusterIDs.delete(clusterID);
    this.#forEach((m) => { m.deleteClusterCTMap(clusterID); });
  }

  /** The cluster IDs created through this manager. */
  clusterIDs(): number[] {
    return [...this.#clusterIDs];
  }

  /** Inner maps of every known cluster as (TCP, Any) pairs, unopened (isOpen false). */
  getAllClusterCTMaps(): MapPair[] {
    const pairs: MapPair[] = [];
    for (const id of this.#clusterIDs) {
      const maps = this.outer.map((m) => m.innerMap(id));
      for (let i = 0; i + 1 < maps.length; i += 2) {
        pairs.push({ tcp: maps[i] as ConntrackMap, any: maps[i + 1] as ConntrackMap, isOpen: false });
      }
    }
    return pairs;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `PerClusterCTMaps [${this.outer.map((m) => m.name).join(', ')}] clusters=[${this.clusterIDs().join(', ')}]`;
  }
}

/** Go NewPerClusterCTMaps. */
export function NewPerClusterCTMaps(ipv4: boolean, ipv6: boolean): PerClusterCTMaps {
  return new PerClusterCTMaps(ipv4, ipv6);
}

/** Go GetClusterCTMaps: the inner maps of one cluster (tcp4, any4, tcp6, any6), unopened and maybe absent. */
export function GetClusterCTMaps(clusterID: number, ipv4: boolean, ipv6: boolean): ConntrackMap[] {
  ValidateClusterID(clusterID);
  return typesFor(ipv4, ipv6).map((t) => newMap(ClusterInnerMapName(t, clusterID), t, WithClusterID(clusterID)));
}

/**
 * Go CleanupPerClusterCTMaps: unpin every inner map (IDs 1…ClusterIDMax)
 * and the outer map of the requested families; absent pins are fine.
 */
export function CleanupPerClusterCTMaps(ipv4: boolean, ipv6: boolean): void {
  const errs: Error[] = [];
  for (const t of typesFor(ipv4, ipv6)) unpinOuterAndInner(ClusterOuterMapName(t), clusterIDMax(), errs);
  const joined = joinErrors(errs);
  if (joined !== undefined) throw joined;
}
