/**
 * The node handle: one object that owns everything a Cilium node's CT and
 * NAT maps need — the bpffs root, table sizes, clock, metrics registry,
 * logger and kernel (its Settings) — and the maps themselves.
 *
 *   using node = openNode({ bpffs: '/sys/fs/bpf' });
 *   for (const { key, entry } of node.ct.tcp4) { … }
 *   node.gc({ mode: 'safe' });
 *
 * Two handles on two bpffs roots in one process never see each other: there
 * is no module state. Which families a node has is discovered from what is
 * pinned (any of its CT, NAT or per-cluster maps) unless the options say.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Settings, type SettingsInit } from '../datapath/settings.js';
import { TCGlobalsPath } from '../datapath/pins.js';
import { ConntrackMap } from '../ctmap/ctmap.js';
import { CtMapType, ctMapTypeGlobalName, type CtMapTypeValue } from '../ctmap/types.js';
import { clusterCtMap, clusterOuterMapName, PerClusterCTMaps } from '../ctmap/percluster.js';
import { runGC, runGCAsync, planFromOptions, type GCOptions, type GCStats } from '../ctmap/gc.js';
import { purgeOrphans, type NatGCStats, type PurgeOptions } from '../ctmap/orphans.js';
import type { GCTarget } from '../ctmap/gc.js';
import { MaxTime } from '../ctmap/names.js';
import { NatMap, IPv4, IPv6, type IPFamily } from '../nat/natmap.js';
import { RetriesMap } from '../nat/retries.js';
import { clusterNatMap, natClusterOuterMapName, PerClusterNATMaps } from '../nat/percluster.js';
import { MapNameSnat4Global, MapNameSnat6Global } from '../nat/names.js';
import { natPairOf, type NatPairEntry } from '../nat/mapping.js';
import { GCRunner, type GCRunnerOptions } from '../gc/runner.js';
import { CtMapSet, NatMapSet, openIfPinned } from './sets.js';
import type { CtKey } from '../structs/tuple.js';
import type { CtEntry } from '../structs/ctentry.js';
import { describe } from '../structs/describe.js';
import { removeMemlock } from '../syscall/memlock.js';

export interface NodeOptions extends SettingsInit {
  /** Start from these settings (the other options override their fields). */
  readonly settings?: Settings;
  /** Which families; by default those with any CT, NAT or per-cluster map pinned (or both, when creating an empty node). */
  readonly ipv4?: boolean;
  readonly ipv6?: boolean;
  /** Create (or reuse; or, when incompatible, replace) the CT, NAT and retries maps of the enabled families. */
  readonly create?: boolean;
}

/** A GC pass over the node: every CT map of the enabled families (and, by default, every pinned cluster's). */
export interface NodeGCOptions extends GCOptions {
  /** Also remove orphan NAT entries afterwards (what a NAT fill-up signal triggers). */
  readonly purgeOrphans?: boolean | PurgeOptions;
  /** Which per-cluster maps to include: all pinned ones (default), none, or these cluster IDs. */
  readonly clusters?: boolean | readonly number[];
}

export interface NodeGCResult {
  /** Per map, in Go's order (global maps, then each cluster's). */
  readonly maps: readonly GCStats[];
  /** The orphan purge per (TCP, Any) pair, when asked for. */
  readonly orphans: readonly NatGCStats[];
  readonly deleted: number;
  readonly natDeleted: number;
}

export interface MapCount {
  readonly map: string;
  readonly path: string;
  readonly count: number;
  readonly maxEntries: number;
  readonly pressure: number;
}

/** One remote cluster's maps (cluster-aware addressing). */
export class ClusterMaps {
  readonly id: number;
  readonly ct: CtMapSet;
  readonly nat: NatMapSet;

  constructor(settings: Settings, id: number, ipv4: boolean, ipv6: boolean, retries: { retries4: RetriesMap; retries6: RetriesMap }) {
    settings.validateClusterID(id);
    this.id = id;
    this.ct = new CtMapSet({
      tcp4: clusterCtMap(settings, CtMapType.IPv4TCPGlobal, id), any4: clusterCtMap(settings, CtMapType.IPv4AnyGlobal, id),
      tcp6: clusterCtMap(settings, CtMapType.IPv6TCPGlobal, id), any6: clusterCtMap(settings, CtMapType.IPv6AnyGlobal, id),
    }, ipv4, ipv6);
    this.nat = new NatMapSet({ v4: clusterNatMap(settings, id, IPv4), v6: clusterNatMap(settings, id, IPv6), ...retries }, ipv4, ipv6);
  }

  close(): void {
    this.ct.close();
    this.nat.v4.close();
    this.nat.v6.close();
  }
}

const familyPins = {
  ipv4: ['cilium_ct4_global', 'cilium_ct_any4_global', MapNameSnat4Global, 'tcp4', 'any4', 'snat4'],
  ipv6: ['cilium_ct6_global', 'cilium_ct_any6_global', MapNameSnat6Global, 'tcp6', 'any6', 'snat6'],
} as const;

/** The names pinned under `<bpffs>/tc/globals` (empty when the folder does not exist). */
function pinnedNames(settings: Settings): Set<string> {
  try {
    return new Set(readdirSync(join(settings.bpffs, TCGlobalsPath)));
  } catch {
    return new Set();
  }
}

/** Which families have any map pinned: CT (TCP or Any), SNAT, or a per-cluster outer map. */
export function discoverFamilies(settings: Settings, names: Set<string> = pinnedNames(settings)): { ipv4: boolean; ipv6: boolean } {
  const resolve = (n: string): string => {
    switch (n) {
      case 'tcp4': return clusterOuterMapName(settings, CtMapType.IPv4TCPGlobal);
      case 'any4': return clusterOuterMapName(settings, CtMapType.IPv4AnyGlobal);
      case 'tcp6': return clusterOuterMapName(settings, CtMapType.IPv6TCPGlobal);
      case 'any6': return clusterOuterMapName(settings, CtMapType.IPv6AnyGlobal);
      case 'snat4': return natClusterOuterMapName(settings, IPv4);
      case 'snat6': return natClusterOuterMapName(settings, IPv6);
      default: return n;
    }
  };
  return {
    ipv4: familyPins.ipv4.some((n) => names.has(resolve(n))),
    ipv6: familyPins.ipv6.some((n) => names.has(resolve(n))),
  };
}

function checkBool(v: unknown, what: string): boolean | undefined {
  if (v !== undefined && typeof v !== 'boolean') throw new TypeError(`${what} must be a boolean, got ${describe(v)}`);
  return v;
}

export class Node implements Disposable {
  readonly settings: Settings;
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  readonly ct: CtMapSet;
  readonly nat: NatMapSet;
  readonly #clusters = new Map<number, ClusterMaps>();
  #closed = false;

  constructor(settings: Settings, families: { ipv4: boolean; ipv6: boolean }) {
    this.settings = settings;
    this.ipv4 = families.ipv4;
    this.ipv6 = families.ipv6;
    const nat4 = new NatMap(settings, MapNameSnat4Global, IPv4);
    const nat6 = new NatMap(settings, MapNameSnat6Global, IPv6);
    const ct = (t: CtMapTypeValue, nat: NatMap): ConntrackMap => new ConntrackMap(settings, ctMapTypeGlobalName(t), t, { nat: () => nat });
    this.ct = new CtMapSet({
      tcp4: ct(CtMapType.IPv4TCPGlobal, nat4), any4: ct(CtMapType.IPv4AnyGlobal, nat4),
      tcp6: ct(CtMapType.IPv6TCPGlobal, nat6), any6: ct(CtMapType.IPv6AnyGlobal, nat6),
    }, this.ipv4, this.ipv6);
    this.nat = new NatMapSet({ v4: nat4, v6: nat6, retries4: new RetriesMap(settings, IPv4), retries6: new RetriesMap(settings, IPv6) }, this.ipv4, this.ipv6);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The families' names, for messages: `ipv4`, `ipv6`, `ipv4+ipv6`, or `none`. */
  get families(): string {
    return [this.ipv4 ? 'ipv4' : '', this.ipv6 ? 'ipv6' : ''].filter((s) => s !== '').join('+') || 'none';
  }

  /**
   * Create (or reuse) the CT, NAT and retries maps of the enabled families; closes what it opened on failure.
   * On kernels before 5.11, which charge map memory to RLIMIT_MEMLOCK, the limit is raised first, as Cilium's
   * agent does at start (removeMemlock: only where creation is charged).
   */
  create(): this {
    removeMemlock(this.settings.kernel);
    const maps = [...this.ct.maps(), ...this.nat.maps(), ...(this.ipv4 ? [this.nat.retries4] : []), ...(this.ipv6 ? [this.nat.retries6] : [])];
    const opened: { close(): void }[] = [];
    for (const m of maps) {
      try {
        m.openOrCreate();
        opened.push(m);
      } catch (err) {
        for (const o of opened) o.close();
        throw new Error(`failed to open and create ${m.name} map: ${(err as Error).message}`, { cause: err });
      }
    }
    return this;
  }

  /** One remote cluster's maps (not opened; maybe absent). */
  cluster(id: number): ClusterMaps {
    let c = this.#clusters.get(id);
    if (c === undefined) {
      c = new ClusterMaps(this.settings, id, this.ipv4, this.ipv6, { retries4: this.nat.retries4, retries6: this.nat.retries6 });
      this.#clusters.set(id, c);
    }
    return c;
  }

  /** The cluster IDs with a per-cluster CT or NAT map pinned, ascending. */
  clusterIDs(): number[] {
    const names = pinnedNames(this.settings);
    const outer = [
      ...(this.ipv4 ? [clusterOuterMapName(this.settings, CtMapType.IPv4TCPGlobal), clusterOuterMapName(this.settings, CtMapType.IPv4AnyGlobal), natClusterOuterMapName(this.settings, IPv4)] : []),
      ...(this.ipv6 ? [clusterOuterMapName(this.settings, CtMapType.IPv6TCPGlobal), clusterOuterMapName(this.settings, CtMapType.IPv6AnyGlobal), natClusterOuterMapName(this.settings, IPv6)] : []),
    ];
    const ids = new Set<number>();
    for (const n of names) {
      for (const o of outer) {
        if (!n.startsWith(`${o}_`)) continue;
        const rest = n.slice(o.length + 1);
        if (/^[1-9]\d*$/.test(rest) && Number(rest) <= this.settings.clusterIDMax) ids.add(Number(rest));
      }
    }
    return [...ids].sort((a, b) => a - b);
  }

  /** Go's per-cluster managers over this node's settings (creating and deleting clusters' maps). */
  perClusterCTMaps(): PerClusterCTMaps {
    return new PerClusterCTMaps(this.settings, this.ipv4, this.ipv6);
  }

  perClusterNATMaps(): PerClusterNATMaps {
    return new PerClusterNATMaps(this.settings, this.ipv4, this.ipv6);
  }

  /** The cluster IDs an operation covers: every pinned cluster (true or unset), none (false), or those given. */
  #ids(clusters: boolean | readonly number[] | undefined): readonly number[] {
    if (clusters === false) return [];
    if (clusters === undefined || clusters === true) return this.clusterIDs();
    return clusters;
  }

  /** The CT maps a node-wide operation covers: the global ones, then the chosen clusters', pinned ones only. */
  #gcMaps(clusters: boolean | readonly number[] | undefined): ConntrackMap[] {
    return this.#pairs(clusters).filter((m) => openIfPinned(m));
  }

  #checkNodeGC(o: NodeGCOptions): { gc: GCOptions; purge: PurgeOptions | undefined; clusters: boolean | readonly number[] | undefined } {
    if (typeof (o as unknown) !== 'object' || (o as unknown) === null) throw new TypeError(`gc: options must be an object, got ${describe(o)}`);
    const { purgeOrphans: p, clusters, ...gc } = o;
    const given: unknown = clusters;
    if (given !== undefined && typeof given !== 'boolean' && !Array.isArray(given)) throw new TypeError(`gc: clusters must be a boolean or cluster IDs, got ${describe(given)}`);
    if (Array.isArray(given)) for (const id of given as unknown[]) this.settings.validateClusterID(id as number);
    checkBool(typeof p === 'object' ? undefined : p, 'gc: purgeOrphans');
    return { gc, purge: p === true ? {} : p === false || p === undefined ? undefined : p, clusters };
  }

  /** Plans for every map, checked before anything runs (bad options change nothing). */
  #plans(maps: readonly ConntrackMap[], gc: GCOptions): [GCTarget, ReturnType<typeof planFromOptions>][] {
    // One "now" for the whole node pass, so every map judges expiry at the same time.
    const time = gc.time ?? ((gc.removeExpired ?? true) ? this.settings.nowCT() : undefined);
    const opts = time === undefined ? gc : { ...gc, time };
    return maps.map((m) => [m, planFromOptions(m, opts)]);
  }

  #purgeAll(maps: readonly ConntrackMap[], purge: PurgeOptions | undefined): NatGCStats[] {
    if (purge === undefined) return [];
    const out: NatGCStats[] = [];
    // Pairs are (TCP, Any) neighbours of one family and cluster.
    for (let i = 0; i + 1 < maps.length; i += 2) {
      const tcp = maps[i] as ConntrackMap;
      const any = maps[i + 1] as ConntrackMap;
      if (!tcp.isTCP || any.isTCP || tcp.isIPv4 !== any.isIPv4 || tcp.clusterID !== any.clusterID) continue;
      const s = purgeOrphans(tcp, any, purge);
      if (s !== undefined) out.push(s);
    }
    return out;
  }

  /** Pairs for the purge: each family's (TCP, Any) maps, global and per cluster, whether or not both are pinned. */
  #pairs(clusters: boolean | readonly number[] | undefined): ConntrackMap[] {
    return [...this.ct.maps(), ...this.#ids(clusters).flatMap((id) => this.cluster(id).ct.maps())];
  }

  /** One GC pass over the node's CT maps, with the NAT follow-up; optionally the orphan purge after it. */
  gc(options: NodeGCOptions = {}): NodeGCResult {
    const { gc, purge, clusters } = this.#checkNodeGC(options);
    const maps = this.#gcMaps(clusters);
    const stats = this.#plans(maps, gc).map(([m, p]) => runGC(m, p));
    return result(stats, this.#purgeAll(this.#pairs(clusters), purge));
  }

  /** gc(), yielding to the event loop between batches (a server embedding this keeps answering). */
  async gcAsync(options: NodeGCOptions = {}): Promise<NodeGCResult> {
    const { gc, purge, clusters } = this.#checkNodeGC(options);
    const maps = this.#gcMaps(clusters);
    const stats: GCStats[] = [];
    for (const [m, p] of this.#plans(maps, gc)) stats.push(await runGCAsync(m, p));
    return result(stats, this.#purgeAll(this.#pairs(clusters), purge));
  }

  /** Remove every CT entry whose lifetime is below 0xFFFFFFFF (and their NAT pairs), node-wide. */
  flush(options: Omit<NodeGCOptions, 'removeExpired' | 'time' | 'all' | 'purgeOrphans'> = {}): NodeGCResult {
    return this.gc({ ...options, removeExpired: true, time: MaxTime });
  }

  /** The orphan NAT purge over each (TCP, Any) pair (global, and the chosen clusters'). */
  purgeOrphans(options: PurgeOptions & { readonly clusters?: boolean | readonly number[] } = {}): NatGCStats[] {
    const { clusters, ...purge } = options;
    return this.#purgeAll(this.#pairs(clusters), purge);
  }

  /** Entries, max entries and pressure of every pinned CT and NAT map of the enabled families. */
  count(): MapCount[] {
    const out: MapCount[] = [];
    for (const m of [...this.ct.maps(), ...this.nat.maps()]) {
      if (!openIfPinned(m)) continue;
      const count = m.count();
      out.push({ map: m.name, path: m.path(), count, maxEntries: m.maxEntries, pressure: m.updatePressureMetricWithSize(count) });
    }
    return out;
  }

  /** The NAT entries a CT entry owns (SNAT and RevSNAT, or the DSR entry), looked up, not changed. */
  natPairOf(map: ConntrackMap, key: CtKey, entry: CtEntry): NatPairEntry[] {
    const lease = map.natLease();
    try {
      return lease.natMap === undefined ? [] : natPairOf(lease.natMap, key.raw, entry.flags);
    } finally {
      lease.release();
    }
  }

  /** Cilium's GC loop over this node's maps (start it with enable()). */
  runner(options: Partial<Omit<GCRunnerOptions, 'ctMaps'>> = {}): GCRunner {
    return new GCRunner({
      ipv4: this.ipv4, ipv6: this.ipv6, logger: this.settings.logger, ...options,
      ctMaps: { activeMaps: () => this.ct.present() },
      additionalCTMaps: [...(options.additionalCTMaps ?? []), () => this.clusterIDs().flatMap((id) => {
        const [a, b, c, d] = this.cluster(id).ct.maps();
        return [...(a !== undefined && b !== undefined ? [{ tcp: a, any: b, isOpen: false }] : []), ...(c !== undefined && d !== undefined ? [{ tcp: c, any: d, isOpen: false }] : [])];
      })],
    });
  }

  /** Close every map this node opened. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.ct.close();
    this.nat.close();
    for (const c of this.#clusters.values()) c.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Node(${this.settings.bpffs} ${this.families}${this.#closed ? ' closed' : ''})`;
  }

  toJSON(): Record<string, unknown> {
    return { bpffs: this.settings.bpffs, ipv4: this.ipv4, ipv6: this.ipv6, closed: this.#closed, settings: this.settings.toJSON() };
  }
}

function result(stats: GCStats[], orphans: NatGCStats[]): NodeGCResult {
  return {
    maps: stats, orphans,
    deleted: stats.reduce((n, s) => n + s.deleted, 0),
    natDeleted: stats.reduce((n, s) => n + s.natDeleted, 0) + orphans.reduce((n, s) => n + s.egressDeleted + s.ingressDeleted, 0),
  };
}

/**
 * Open a node: its settings, the map objects of the discovered (or given)
 * families, created when asked. Maps open lazily on first use; close the
 * node (or `using`) to release them.
 */
export function openNode(options: NodeOptions = {}): Node {
  if (typeof (options as unknown) !== 'object' || (options as unknown) === null) throw new TypeError(`openNode: options must be an object, got ${describe(options)}`);
  const { settings: base, ipv4, ipv6, create, ...init } = options;
  if (base !== undefined && !(base instanceof Settings)) throw new TypeError(`openNode: settings must be a Settings object, got ${describe(base)}`);
  const settings = base === undefined ? new Settings(init) : base.with(init);
  checkBool(ipv4, 'openNode: ipv4');
  checkBool(ipv6, 'openNode: ipv6');
  checkBool(create, 'openNode: create');
  let families: { ipv4: boolean; ipv6: boolean };
  if (ipv4 !== undefined && ipv6 !== undefined) {
    families = { ipv4, ipv6 };
  } else {
    const found = discoverFamilies(settings);
    const none = !found.ipv4 && !found.ipv6;
    // Saying `true` for one family means only that one; otherwise what is pinned, or both when creating on an empty bpffs.
    const pick = (given: boolean | undefined, other: boolean | undefined, pinned: boolean): boolean =>
      given ?? (other === true ? false : pinned || (create === true && none));
    families = { ipv4: pick(ipv4, ipv6, found.ipv4), ipv6: pick(ipv6, ipv4, found.ipv6) };
  }
  const node = new Node(settings, families);
  if (create === true) node.create();
  return node;
}

export type { IPFamily };
