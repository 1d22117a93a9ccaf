// ctmap/compat: Go's names for code ported from Cilium's Go packages (pkg/maps/ctmap, pkg/maps/nat, pkg/tuple),
// over process-wide settings — and every name the package root exported before the node handle (0.1), so old
// imports keep resolving. JavaScript code starts from `openNode` in the package root instead.
export * from './process.js';
export {
  WithRegistry, WithNetworkID, WithClusterID, newMap, NewGlobalMap, NewGlobalMapSpec, Maps, ctMapTypeMaxEntries, gcWithFilter, GC,
  Flush, PurgeOrphanNATEntries, ClusterOuterMapName, ClusterOuterMapNameTestOverride, ClusterInnerMapName, NewPerClusterCTMaps,
  GetClusterCTMaps, CleanupPerClusterCTMaps, NewGCRunner,
  type MapOption, type MapConfig, type GCPassOptions,
} from './ctmap.js';
export {
  NewNatMap, GlobalMaps, RetriesMaps, NatClusterOuterMapName, NatClusterOuterMapNameTestOverride, NatClusterInnerMapName,
  NewPerClusterNATMaps, GetClusterNATMap, ClusterNATMaps, CleanupPerClusterNATMaps, FakePerClusterNATMaps,
} from './nat.js';
export { CTMaps, newCTMaps, type CTMapsConfig } from './cell.js';
export { CtMockMap, NewCtMockMap, MockMapPath, FakePerClusterCTMaps, NewFakePerClusterCTMaps } from './mock.js';
export {
  ConntrackMap, OpenCTMap, DumpEntriesWithTimeDiff, writeEntriesWithTimeDiff, NatMapNext4, NatMapNext6, GCFilter, NetAddrSet,
  GCStats, NatGCStats, CtMapType, ctMapTypeString, ctMapTypeName, ctMapTypeKeySize, PerClusterCTMap, PerClusterCTMapKey,
  PerClusterCTMapVal, PerClusterCTMaps,
  type CtMap, type DumpCallback, type MapPair, type GCEvent, type NetAddr, type GCFilterInit, type EmitCTEntryCBFunc,
  type PerClusterCTMapper, type CtCheckStrategy, type PurgeOptions, type CtMapTypeValue, type GCMode,
} from '../ctmap/index.js';
export {
  MapNamePrefix, MapNameTCP6, MapNameTCP4, MapNameTCP6Global, MapNameTCP4Global, MapNameAny6, MapNameAny4, MapNameAny6Global,
  MapNameAny4Global, MaxTime, CTMapEntriesGlobalTCPDefault, CTMapEntriesGlobalAnyDefault, LimitTableMin, LimitTableMax,
} from '../ctmap/names.js';
export {
  NatMap, IPv4, IPv6, NatDumpEntriesWithTimeDiff, writeNatEntriesWithTimeDiff, RetriesMap, PerClusterNATMap, PerClusterNATMaps,
  DeleteMapping4, DeleteMapping6, DeleteSwappedMapping4, DeleteSwappedMapping6, egressCTKeyFromEgressNatKey,
  dsrCTKeyFromEgressNatKey, egressCTKeyFromIngressNatKeyAndVal, MapNameSnat4Global, MapNameSnat6Global, MapNameSnat4AllocRetries,
  MapNameSnat6AllocRetries, PerClusterOuterMapNameSnat4, PerClusterOuterMapNameSnat6, SnatCollisionRetries, NATMapEntriesGlobalDefault,
  type IPFamily, type PerClusterNATMapper,
} from '../nat/index.js';
export {
  Observable, SignalQueue, SignalProtoV4, SignalProtoV6, calculateInterval, getInterval, GCIntervalStart, GCIntervalMin,
  GCIntervalMaxLRU, GCRunner, NewFakeGCRunner, type GCRunnerLike, type GCRunnerOptions, type GCConfig, type PassResult,
  type SchedulerDeps,
} from '../gc/index.js';
export {
  ClockSourceModeKtime, ClockSourceModeJiffies, GetCTCurTime, NewCTTimeToSecConverter, systemClock, ClusterIDDefaultMax,
  ClusterIDExtendedMax, MapPressureMetricName, NatGCEntriesMetricName, ConntrackGCRunsMetricName, ConntrackGCEntriesMetricName,
  validateCTMapSizes, DefaultMapRoot, type ClockSource, type ClockReader, type Logger, type LogLevel,
} from '../datapath/index.js';
export {
  BpfCmd, BpfError, BpfMap, DumpStats, Errno, FD, IterationError, MapFlags, MapIncompatibleError, MapLoadError, MapType,
  MaxLookupError, NewDumpStats, NotSupportedError, ShimNotFoundError, UpdateFlags, dumpReliably, initialChunkSize, isBpffs,
  isNotExist, isNotSupported, joinErrors, mountBpffs, unmountBpffs,
} from '../syscall/index.js';
export {
  AddrParseError, CtEntry, CtKey4Global, CtKey6Global, CtMapRecord, DSRInternal, FromL7LB, FromTunnel, JsonSyntaxError, LBLoopback,
  MaxFlags, Nat64, NatEntry4, NatEntry6, NatKey4, NatKey6, NatMapRecord, NodePort, ProxyRedirect, Reserved1, RxClosing, SeenNonSyn,
  SizeofCtEntry, SizeofCtKey4Global, SizeofCtKey6Global, SizeofNatEntry4, SizeofNatEntry6, TUPLE_F_IN, TUPLE_F_OUT, TUPLE_F_RELATED,
  TUPLE_F_SERVICE, TupleBase, TupleKey4, TupleKey4Global, TupleKey6, TupleKey6Global, TxClosing, U8proto, array, bytes, ctEntryLayout,
  flagsString, formatAddr, formatIPv4, formatIPv6, i32, ipv4CtTuple, ipv4NatEntry, ipv6CtTuple, ipv6NatEntry, marshalIndent,
  marshalRecords, pad, parseAddr, parseCtMapRecords, parseIPv4, parseIPv6, parseJSON, parseNatMapRecords, parseProto, protoName,
  rawCreated, struct, swap16, u16, u32, u64, u8,
} from '../structs/index.js';
