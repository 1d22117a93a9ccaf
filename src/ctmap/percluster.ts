/**
 * Per-cluster CT maps (cluster-aware addressing). The CT key has no room for
 * a cluster ID, so each remote cluster gets its own four CT maps, reached
 * through one ARRAY_OF_MAPS per type indexed by cluster ID.
 *
 * Like Cilium, the manager's operations visit every outer map, wrap each
 * failure with the type's name and join them: no early stop, no rollback.
 */
import type { MapSpec } from '../syscall/map.js';
import { OuterMap, forEachJoined } from '../syscall/outer.js';
import { MapType } from '../syscall/attr.js';
import { joinErrors } from '../syscall/errors.js';
import { getU32, setU32 } from '../structs/bytes.js';
import { SizeofCtEntry } from '../structs/ctentry.js';
import type { Settings } from '../datapath/settings.js';
import { unpinOuterAndInner } from '../datapath/clusters.js';
import { ConntrackMap, type MapPair } from './ctmap.js';
import { ctMapTypeKeySize, ctMapTypeMaxEntries, ctMapTypeName, ctMapTypesFor, type CtMapTypeValue } from './types.js';

const outerBase = 'cilium_per_cluster_ct_';

/** Go ClusterOuterMapName: `cilium_per_cluster_ct_<tcp4|any4|tcp6|any6>` (or `<prefix>_…` under the settings' test override). */
export function clusterOuterMapName(settings: Settings, type: number): string {
  const name = outerBase + ctMapTypeName(type);
  const prefix = settings.outerMapPrefix.ct;
  return prefix === undefined ? name : `${prefix}_${name}`;
}

/** Go ClusterInnerMapName: `<outer name>_<cluster id>`. */
export function clusterInnerMapName(settings: Settings, type: number, clusterID: number): string {
  return `${clusterOuterMapName(settings, type)}_${clusterID}`;
}

/** The inner CT map object of one cluster and type (not opened, maybe absent). */
export function clusterCtMap(settings: Settings, type: CtMapTypeValue, clusterID: number): ConntrackMap {
  settings.validateClusterID(clusterID);
  return new ConntrackMap(settings, clusterInnerMapName(settings, type, clusterID), type, { clusterID });
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
function innerSpec(settings: Settings, type: CtMapTypeValue): MapSpec {
  return {
    name: '', type: MapType.LRUHash, keySize: ctMapTypeKeySize(type), valueSize: SizeofCtEntry,
    maxEntries: ctMapTypeMaxEntries(settings, type), flags: settings.mapFlags(),
  };
}

/** One outer ARRAY_OF_MAPS of a CT map type (Go PerClusterCTMap), max entries ClusterIDMax + 1. */
export class PerClusterCTMap extends OuterMap {
  readonly mapType: CtMapTypeValue;
  readonly settings: Settings;

  constructor(settings: Settings, type: CtMapTypeValue) {
    const name = clusterOuterMapName(settings, type);
    super(name, settings.clusterIDMax + 1, innerSpec(settings, type), settings.pinPath(name), () => settings.kernel);
    this.mapType = type;
    this.settings = settings;
  }

  /** The inner CT map object for `clusterID` (not opened). */
  innerMap(clusterID: number): ConntrackMap {
    return clusterCtMap(this.settings, this.mapType, clusterID);
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

/** The per-cluster CT maps manager (Go perClusterCTMaps). */
export class PerClusterCTMaps implements PerClusterCTMapper {
  readonly settings: Settings;
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  /** Outer maps in the order tcp4, any4, tcp6, any6 (present families only). */
  readonly outer: readonly PerClusterCTMap[];
  readonly #clusterIDs = new Set<number>();

  constructor(settings: Settings, ipv4: boolean, ipv6: boolean) {
    this.settings = settings;
    this.ipv4 = ipv4;
    this.ipv6 = ipv6;
    this.outer = ctMapTypesFor(ipv4, ipv6).map((t) => new PerClusterCTMap(settings, t));
  }

  #forEach(fn: (m: PerClusterCTMap) => void): void {
    forEachJoined(this.outer, (m) => ctMapTypeName(m.mapType), fn);
  }

  openOrCreate(): void { this.#forEach((m) => { m.openOrCreate(); }); }

  close(): void { this.#forEach((m) => { m.close(); }); }

  /** Idempotent. The ID is remembered even if a creation fails, as in Cilium. */
  createClusterCTMaps(clusterID: number): void {
    this.settings.validateClusterID(clusterID);
    this.#clusterIDs.add(clusterID);
    this.#forEach((m) => { m.createClusterCTMap(clusterID); });
  }

  /** Idempotent. */
  deleteClusterCTMaps(clusterID: number): void {
    this.settings.validateClusterID(clusterID);
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

/** The inner maps of one cluster (tcp4, any4, tcp6, any6), unopened and maybe absent. */
export function clusterCtMaps(settings: Settings, clusterID: number, ipv4: boolean, ipv6: boolean): ConntrackMap[] {
  settings.validateClusterID(clusterID);
  return ctMapTypesFor(ipv4, ipv6).map((t) => clusterCtMap(settings, t, clusterID));
}

/**
 * Go CleanupPerClusterCTMaps: unpin every inner map (IDs 1…ClusterIDMax)
 * and the outer map of the requested families; absent pins are fine.
 */
export function cleanupPerClusterCTMaps(settings: Settings, ipv4: boolean, ipv6: boolean): void {
  const errs: Error[] = [];
  for (const t of ctMapTypesFor(ipv4, ipv6)) unpinOuterAndInner(settings, clusterOuterMapName(settings, t), errs);
  const joined = joinErrors(errs);
  if (joined !== undefined) throw joined;
}
