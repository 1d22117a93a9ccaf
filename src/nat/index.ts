// ctmap/nat: Cilium's SNAT maps. Imports the datapath layer, never ctmap (as in Cilium).
export * from './names.js';
export {
  NatMap, IPv4, IPv6, natCreatedFormatter, natLine, NatDumpEntriesWithTimeDiff, writeNatEntriesWithTimeDiff,
  type IPFamily, type NatRecord, type NatDumpCallback, type NatMapOptions, type NatIterOptions,
} from './natmap.js';
export { RetriesMap, retriesMaps } from './retries.js';
export {
  natClusterOuterMapName, natClusterInnerMapName, clusterNatMap, PerClusterNATMap, PerClusterNATMaps,
  cleanupPerClusterNATMaps, familiesFor, type PerClusterNATMapper,
} from './percluster.js';
export {
  DeleteMapping4, DeleteMapping6, DeleteSwappedMapping4, DeleteSwappedMapping6, natPairOf, type NatPairEntry,
} from './mapping.js';
export {
  egressCTKeyFromEgressNatKey, dsrCTKeyFromEgressNatKey, egressCTKeyFromIngressNatKeyAndVal, swappedAddrsKey,
  swappedPortsKey, egressKeyFromIngress, reverseNatKey, tuple4, tuple6, type TupleOffsets,
} from './keys.js';
