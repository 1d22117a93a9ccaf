/**
 * Which NAT map a CT map's GC and orphan purge use (Go InitMapInfo and the
 * selection in doGCForFamily / PurgeOrphanNATEntries).
 *
 * Go also keeps a mutex per family so a GC pass and a purge never interleave
 * on one NAT map. ctmap's passes are synchronous JavaScript, so within one
 * process they cannot interleave; across processes Cilium has no lock either.
 */
import { NatMap, IPv4, IPv6 } from '../nat/natmap.js';
import { GetClusterNATMap } from '../nat/percluster.js';
import { log } from '../log.js';
import type { ConntrackMap } from './ctmap.js';

let natMap4: NatMap | undefined;
let natMap6: NatMap | undefined;

/**
 * Go InitMapInfo: the v4 NAT map serves tcp4 and any4, the v6 one tcp6 and
 * any6. Anything that is not a NAT map of the right family counts as none.
 */
export function InitMapInfo(nat4: unknown, nat6: unknown): void {
  natMap4 = nat4 instanceof NatMap && nat4.family === IPv4 ? nat4 : undefined;
  natMap6 = nat6 instanceof NatMap && nat6.family === IPv6 ? nat6 : undefined;
}

/** The registered global NAT map of a family. */
export function globalNatMap(ipv4: boolean): NatMap | undefined {
  return ipv4 ? natMap4 : natMap6;
}

/** A NAT map to use for one pass, and what to do with it afterwards. */
export interface NatMapLease {
  readonly natMap: NatMap | undefined;
  /** Closes a per-cluster NAT map opened for the pass; nothing for the global one. */
  release(): void;
}

const none: NatMapLease = { natMap: undefined, release: () => undefined };

/**
 * §7.4: a global CT map uses the registered NAT map of its family; a
 * per-cluster one that cluster's NAT map, opened for the pass (a failure is
 * logged and means no NAT map); a network-scoped one has none.
 */
export function natMapFor(m: ConntrackMap): NatMapLease {
  if (m.networkID !== 0) return none;
  if (m.clusterID === 0) {
    const nm = globalNatMap(m.isIPv4);
    return nm === undefined ? none : { natMap: nm, release: () => undefined };
  }
  let nm: NatMap;
  try {
    nm = GetClusterNATMap(m.clusterID, m.isIPv4 ? IPv4 : IPv6);
    nm.open();
  } catch (err) {
    log('warn', 'Unable to open per-cluster NAT map', { clusterID: m.clusterID, error: err });
    return none;
  }
  return { natMap: nm, release: () => { nm.close(); } };
}
