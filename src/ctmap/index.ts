export * from './names.js';
export {
  CtMapType, isCtMapType, ctMapTypeString, ctMapTypeName, ctMapTypeIsIPv4, ctMapTypeIsIPv6, ctMapTypeIsTCP,
  ctMapTypeGlobalName, ctMapTypeKeySize, ctMapTypeKey, ctMapTypeValue, ctMapTypeFor, ctMapTypeMaxEntries, ctMapFlags,
  validateCTMapSizes, setCTMapConfig, ctMapConfig, resetCTMapConfig, roundForDistributedLRU,
  type CtMapTypeValue, type CtMapTypeName, type CTMapConfig,
} from './types.js';
export {
  ClusterIDMin, ClusterIDDefaultMax, ClusterIDExtendedMax, clusterIDMax, setMaxConnectedClusters, ValidateClusterID,
} from './clusterid.js';
export {
  ClockSourceModeKtime, ClockSourceModeJiffies, BPF_MONO_SCALER, GetCTCurTime, NewCTTimeToSecConverter,
  remainingSecondsFormatter, clockSourceFromOptions, parseSchedstatJiffies, systemClock,
  type ClockSource, type ClockReader,
} from './clock.js';
export {
  MapPressureMetricName, NatGCEntriesMetricName, ConntrackGCRunsMetricName, ConntrackGCEntriesMetricName,
  ConntrackGCDurationMetricName, ConntrackGCKeyFallbacksMetricName, ConntrackDumpResetsMetricName,
  ConntrackGCIntervalMetricName, mapPressureLabel, mapPressureGauge, natGCEntriesGauge, gcMetrics, gcIntervalGauge,
} from './metrics.js';
export { InitMapInfo, globalNatMap, natMapFor, type NatMapLease } from './mapinfo.js';
export type { GCEvent } from './gcevent.js';
export {
  ConntrackMap, MapLoadError, newMap, NewGlobalMap, NewGlobalMapSpec, Maps, OpenCTMap, DumpEntriesWithTimeDiff,
  writeEntriesWithTimeDiff, WithRegistry, WithNetworkID, WithClusterID,
  type CtMap, type DumpCallback, type CountOptions, type MapOption, type MapConfig, type MapPair,
} from './ctmap.js';
export { CTMaps, newCTMaps, type CTMapsConfig } from './cell.js';
export {
  ClusterOuterMapName, ClusterOuterMapNameTestOverride, ClusterInnerMapName, PerClusterCTMapKey, PerClusterCTMapVal,
  PerClusterCTMap, PerClusterCTMaps, NewPerClusterCTMaps, GetClusterCTMaps, CleanupPerClusterCTMaps,
  type PerClusterCTMapper,
} from './percluster.js';
export {
  CtMockMap, NewCtMockMap, MockMapPath, FakePerClusterCTMaps, NewFakePerClusterCTMaps,
} from './mock.js';
export {
  GCFilter, NetAddrSet, GCStats, gcWithFilter, GC, Flush, setACT, setGCClockSource, gcClockSource,
  type NetAddr, type GCFilterInit, type EmitCTEntryCBFunc, type PurgeHook, type GCMode, type GCPassOptions,
} from './gc.js';
export {
  Observable, GCRunner, NewGCRunner, NewFakeGCRunner, SignalQueue, SignalProtoV4, SignalProtoV6, SignalProtoMax,
  calculateInterval, getInterval, GCIntervalStart, GCIntervalMin, GCIntervalMaxLRU, realWait,
  type Subscription, type GCRunnerLike, type GCRunnerOptions, type GCConfig, type PassResult, type SchedulerDeps,
  type WakeReason, type WaitFn,
} from './runner.js';
