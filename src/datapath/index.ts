// ctmap/datapath: what Cilium's datapath shares between CT and NAT maps — settings, pins, clocks, metrics, cluster IDs, sizes.
export { Settings, type SettingsInit, type CTSizes, type PurgeHook } from './settings.js';
export { PinnedMap } from './pinned.js';
export { DefaultMapRoot, TCGlobalsPath, pinPath, checkRoot, checkNamePrefix } from './pins.js';
export {
  LimitTableMin, LimitTableMax, CTMapEntriesGlobalTCPDefault, CTMapEntriesGlobalAnyDefault, NATMapEntriesGlobalDefault,
  validateCTMapSizes, validateNATMapEntries, roundForDistributedLRU,
} from './sizes.js';
export {
  ClusterIDMin, ClusterIDDefaultMax, ClusterIDExtendedMax, checkMaxConnectedClusters, validateClusterID, type MaxConnectedClusters,
} from './clusterid.js';
export {
  ClockSourceModeKtime, ClockSourceModeJiffies, BPF_MONO_SCALER, GetCTCurTime, NewCTTimeToSecConverter,
  remainingSecondsFormatter, clockSourceFromOptions, parseSchedstatJiffies, systemClock,
  type ClockSource, type ClockReader,
} from './clock.js';
export {
  MapPressureMetricName, NatGCEntriesMetricName, NatGCDeletedMetricName, ConntrackGCRunsMetricName, ConntrackGCEntriesMetricName,
  ConntrackGCDurationMetricName, ConntrackGCKeyFallbacksMetricName, ConntrackDumpResetsMetricName,
  ConntrackGCIntervalMetricName, mapPressureLabel, mapPressureGauge, pressureSink, natGCEntriesGauge, natGCDeletedCounter,
  gcMetrics, gcIntervalGauge, type GCMetrics,
} from './metrics.js';
export { stderrLogger, silentLogger, type Logger, type LogLevel, type LogFields } from './log.js';
