// ctmap: the public surface. Explicit named exports only (see ../shared/spec/api.md).
export {
  // keys, values, records and their text/JSON forms
  TupleKey4Global, TupleKey6Global, TupleKey4, TupleKey6, CtKey4Global, CtKey6Global, NatKey4, NatKey6, TupleBase,
  CtEntry, NatEntry4, NatEntry6, CtMapRecord, NatMapRecord, parseCtMapRecords, parseNatMapRecords, marshalRecords,
  TUPLE_F_OUT, TUPLE_F_IN, TUPLE_F_RELATED, TUPLE_F_SERVICE,
  RxClosing, TxClosing, Nat64, LBLoopback, SeenNonSyn, NodePort, ProxyRedirect, DSRInternal, FromL7LB, Reserved1,
  FromTunnel, MaxFlags, SizeofCtEntry, SizeofCtKey4Global, SizeofCtKey6Global, SizeofNatEntry4, SizeofNatEntry6,
  flagsString, rawCreated,
  // byte-level building blocks
  struct, bytes, array, pad, u8, u16, u32, i32, u64, ctEntryLayout, ipv4CtTuple, ipv6CtTuple, ipv4NatEntry, ipv6NatEntry,
  parseIPv4, parseIPv6, parseAddr, formatIPv4, formatIPv6, formatAddr, protoName, parseProto, swap16, U8proto,
  AddrParseError, marshalIndent, parseJSON, JsonSyntaxError,
  type CtKey, type NatKey, type NatEntry, type Flow, type TupleFields, type TupleFieldValues, type CtEntryFields,
  type CtEntryValues, type NatEntryFields, type NatEntryValues, type Layout, type JsonValue, type JsonObject,
} from './structs/index.js';
export {
  // the kernel: one funnel, generic maps, errors
  bpf, setBackend, BpfMap, MapType, DumpStats, NewDumpStats, MaxLookupError, dumpReliably, setMapRoot, mapRoot, mapPinPath, DefaultMapRoot, joinErrors, MapFlags, UpdateFlags, BpfCmd, BpfError, Errno, isNotExist, isNotSupported,
  MapIncompatibleError, NotSupportedError, IterationError, FD, isBpffs, mountBpffs, unmountBpffs, initialChunkSize,
  ShimNotFoundError,
  type MapSpec, type MapInfo, type Batch, type BatchOptions, type BatchResult, type BpfBackend, type OpenOrCreateResult,
} from './syscall/index.js';
export {
  MapNamePrefix, MapNameTCP6, MapNameTCP4, MapNameTCP6Global, MapNameTCP4Global, MapNameAny6, MapNameAny4,
  MapNameAny6Global, MapNameAny4Global, MaxTime, CTMapEntriesGlobalTCPDefault, CTMapEntriesGlobalAnyDefault,
  LimitTableMin, LimitTableMax,
  // CT map types, sizing and cluster IDs
  CtMapType, ctMapTypeString, ctMapTypeName, ctMapTypeMaxEntries, ctMapTypeKeySize, setCTMapConfig, ctMapConfig,
  resetCTMapConfig, validateCTMapSizes, ClusterIDDefaultMax, ClusterIDExtendedMax, clusterIDMax, setMaxConnectedClusters,
  ValidateClusterID,
  // clock sources
  ClockSourceModeKtime, ClockSourceModeJiffies, GetCTCurTime, NewCTTimeToSecConverter, systemClock,
  // maps, dumps, counts
  ConntrackMap, MapLoadError, newMap, NewGlobalMap, NewGlobalMapSpec, Maps, OpenCTMap, DumpEntriesWithTimeDiff,
  writeEntriesWithTimeDiff, WithRegistry, WithNetworkID, WithClusterID, CTMaps, newCTMaps, MapPressureMetricName,
  InitMapInfo, NatGCEntriesMetricName, type GCEvent,
  // garbage collection
  GCFilter, NetAddrSet, GCStats, gcWithFilter, GC, Flush, setACT, setGCClockSource, GCRunner, NewGCRunner,
  NewFakeGCRunner, Observable, SignalQueue, SignalProtoV4, SignalProtoV6, calculateInterval, getInterval,
  GCIntervalStart, GCIntervalMin, GCIntervalMaxLRU, ConntrackGCRunsMetricName, ConntrackGCEntriesMetricName,
  type NetAddr, type GCFilterInit, type EmitCTEntryCBFunc, type PurgeHook, type GCMode, type GCPassOptions,
  type GCRunnerLike, type GCRunnerOptions, type GCConfig, type PassResult, type SchedulerDeps, type Subscription,
  // per-cluster CT maps
  ClusterOuterMapName, ClusterOuterMapNameTestOverride, ClusterInnerMapName, PerClusterCTMapKey, PerClusterCTMapVal,
  PerClusterCTMap, PerClusterCTMaps, NewPerClusterCTMaps, GetClusterCTMaps, CleanupPerClusterCTMaps,
  // mocks for users' tests
  CtMockMap, NewCtMockMap, MockMapPath, FakePerClusterCTMaps, NewFakePerClusterCTMaps,
  type CtMapTypeValue, type CtMapTypeName, type CTMapConfig, type ClockSource, type ClockReader, type CtMap,
  type DumpCallback, type CountOptions, type MapOption, type MapConfig, type MapPair, type CTMapsConfig,
  type PerClusterCTMapper,
} from './ctmap/index.js';
export {
  MapNameSnat4Global, MapNameSnat6Global, MapNameSnat4AllocRetries, MapNameSnat6AllocRetries,
  PerClusterOuterMapNameSnat4, PerClusterOuterMapNameSnat6, SnatCollisionRetries, NATMapEntriesGlobalDefault,
  // NAT maps, per-cluster NAT maps, the CT→NAT follow-up and the orphan purge
  NatMap, NewNatMap, GlobalMaps, IPv4, IPv6, setNATMapEntriesGlobal, natMapMaxEntries, NatDumpEntriesWithTimeDiff,
  writeNatEntriesWithTimeDiff, RetriesMap, RetriesMaps, NatClusterOuterMapName, NatClusterInnerMapName,
  NatClusterOuterMapNameTestOverride, PerClusterNATMap, PerClusterNATMaps, NewPerClusterNATMaps, GetClusterNATMap,
  ClusterNATMaps, CleanupPerClusterNATMaps, FakePerClusterNATMaps, DeleteMapping4, DeleteMapping6, DeleteSwappedMapping4,
  DeleteSwappedMapping6, NatMapNext4, NatMapNext6, egressCTKeyFromEgressNatKey, dsrCTKeyFromEgressNatKey,
  egressCTKeyFromIngressNatKeyAndVal, PurgeOrphanNATEntries, NatGCStats,
  type IPFamily, type NatDumpCallback, type NatMapOptions, type PerClusterNATMapper, type PurgeOptions,
  type CtCheckStrategy,
} from './nat/index.js';
export { setLogger, type Logger, type LogLevel } from './log.js';
