// ctmap/ctmap: Cilium's CT maps, their GC and the orphan NAT purge. Imports nat (never the reverse, as in Cilium).
export * from './names.js';
export {
  CtMapType, isCtMapType, ctMapTypeString, ctMapTypeName, ctMapTypeIsIPv4, ctMapTypeIsIPv6, ctMapTypeIsTCP,
  ctMapTypeGlobalName, ctMapTypeKeySize, ctMapTypeKey, ctMapTypeValue, ctMapTypeFor, ctMapTypeMaxEntries, ctMapTypesFor,
  type CtMapTypeValue, type CtMapTypeName,
} from './types.js';
export {
  ConntrackMap, ctMapSpec, ctEntryText, writeEntriesWithTimeDiff, DumpEntriesWithTimeDiff, OpenCTMap,
  type CtMap, type DumpCallback, type CountOptions, type CtIterOptions, type ConntrackMapOptions, type MapPair,
} from './ctmap.js';
export type { CtRecord } from './record.js';
export type { GCEvent } from './gcevent.js';
export { GCFilter, NetAddrSet, type NetAddr, type GCFilterInit, type EmitCTEntryCBFunc } from './gcfilter.js';
export {
  GCStats, planFromOptions, basePlan, filterPlan, setFilterNow, runGC, runGCAsync,
  type GCMode, type FilterPassOptions, type GCOptions, type GCPlan, type GCTarget, type NatMapLease,
} from './gc.js';
export { NatFollowUp, NatMapNext4, NatMapNext6 } from './natfollow.js';
export { purgeOrphans, NatGCStats, CtView, type PurgeOptions, type CtCheckStrategy } from './orphans.js';
export {
  clusterOuterMapName, clusterInnerMapName, clusterCtMap, clusterCtMaps, PerClusterCTMapKey, PerClusterCTMapVal,
  PerClusterCTMap, PerClusterCTMaps, cleanupPerClusterCTMaps, type PerClusterCTMapper,
} from './percluster.js';
export { ctLine } from './text.js';
