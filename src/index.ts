// ctmap: the front door. Start from the node handle:
//
//   import { openNode } from 'ctmap';
//   using node = openNode({ bpffs: '/sys/fs/bpf' });
//   for (const { key, entry } of node.ct.tcp4) { … }
//
// Advanced parts live in subpath exports: ctmap/syscall (the kernel layer), ctmap/structs (bytes), ctmap/datapath
// (settings, clocks, metrics), ctmap/nat, ctmap/ctmap, ctmap/gc (the runner), ctmap/testing (the datapath emulator)
// and ctmap/compat (Go's names over process-wide settings, and every name this root exported in 0.1).

// --- the node handle and its settings
export {
  openNode, Node, ClusterMaps, CtMapSet, NatMapSet,
  type NodeOptions, type NodeGCOptions, type NodeGCResult, type MapCount, type CtSetRecord, type NatSetRecord,
} from './node/index.js';
export { Settings, type SettingsInit, type CTSizes, type PurgeHook } from './datapath/settings.js';
export { stderrLogger, silentLogger, type Logger, type LogLevel } from './datapath/log.js';
export type { ClockSource, ClockReader } from './datapath/clock.js';

// --- maps, records, passes
export { ConntrackMap, type CtRecord, type CtIterOptions, type GCOptions, type GCMode, type GCEvent, GCStats, NatGCStats } from './ctmap/index.js';
export type { PurgeOptions, CtCheckStrategy } from './ctmap/index.js';
export { NatMap, type NatRecord, type NatIterOptions, type NatPairEntry, type IPFamily } from './nat/index.js';
export { CheckedFilter, type FlowFilter, type Direction } from './structs/filter.js';

// --- keys and values (the kernel bytes, with Go's text and JSON forms)
export {
  CtKey4Global, CtKey6Global, NatKey4, NatKey6, TupleKey4Global, TupleKey6Global, CtEntry, NatEntry4, NatEntry6,
  CtMapRecord, NatMapRecord, parseCtMapRecords, parseNatMapRecords, marshalRecords,
  TUPLE_F_OUT, TUPLE_F_IN, TUPLE_F_RELATED, TUPLE_F_SERVICE, RxClosing, TxClosing, Nat64, LBLoopback, SeenNonSyn, NodePort,
  ProxyRedirect, DSRInternal, FromL7LB, Reserved1, FromTunnel, MaxFlags, SizeofCtEntry, SizeofCtKey4Global, SizeofCtKey6Global,
  type CtKey, type NatKey, type NatEntry, type Flow,
} from './structs/index.js';

// --- errors you can act on, and bpffs helpers
export {
  BpfError, Errno, isNotExist, isNotSupported, MapIncompatibleError, MapLoadError, NotSupportedError, IterationError,
  ShimNotFoundError, mountBpffs, unmountBpffs, removeMemlock, type MemlockOutcome,
} from './syscall/index.js';

// --- Go compatibility: the names of ../shared/spec/api.md (Cilium's Go API), over process-wide settings.
// The rest of Go's surface is in ctmap/compat.
export {
  MapNamePrefix, MapNameTCP4Global, MapNameTCP6Global, MapNameAny4Global, MapNameAny6Global, MaxTime,
  Maps, OpenCTMap, DumpEntriesWithTimeDiff, InitMapInfo, NatMapNext4, NatMapNext6, PurgeOrphanNATEntries, NewPerClusterCTMaps,
  CleanupPerClusterCTMaps, ClusterOuterMapName, ClusterInnerMapName, ClusterOuterMapNameTestOverride, GetClusterCTMaps,
  NewFakeGCRunner, setMapRoot,
} from './compat/index.js';
