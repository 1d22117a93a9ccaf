export * from './names.js';
export {
  NatMap, NewNatMap, GlobalMaps, IPv4, IPv6, setNATMapEntriesGlobal, natMapMaxEntries, NatDumpEntriesWithTimeDiff,
  writeNatEntriesWithTimeDiff, type IPFamily, type NatDumpCallback, type NatMapOptions,
} from './natmap.js';
export { RetriesMap, RetriesMaps } from './retries.js';
export {
  NatClusterOuterMapName, NatClusterInnerMapName, NatClusterOuterMapNameTestOverride, PerClusterNATMap, PerClusterNATMaps,
  NewPerClusterNATMaps, GetClusterNATMap, ClusterNATMaps, CleanupPerClusterNATMaps, FakePerClusterNATMaps,
  type PerClusterNATMapper,
} from './percluster.js';
export {
  DeleteMapping4, DeleteMapping6, DeleteSwappedMapping4, DeleteSwappedMapping6, NatMapNext4, NatMapNext6,
} from './follow.js';
export {
  egressCTKeyFromEgressNatKey, dsrCTKeyFromEgressNatKey, egressCTKeyFromIngressNatKeyAndVal, swappedAddrsKey,
  swappedPortsKey, egressKeyFromIngress, reverseNatKey, tuple4, tuple6, type TupleOffsets,
} from './keys.js';
export { PurgeOrphanNATEntries, NatGCStats, type PurgeOptions, type CtCheckStrategy } from './orphans.js';
