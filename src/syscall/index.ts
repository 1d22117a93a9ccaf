// ctmap/syscall: the kernel layer. One funnel (Kernel), bpf_attr layouts, generic maps; nothing about Cilium.
export { Kernel, defaultKernel, check, type Interceptor } from './kernel.js';
export { loadKoffiBackend, shimCandidates, ShimNotFoundError, SHIM_NAME, type BpfBackend } from './ffi.js';
export { locateShim, cachedShimPath } from './shim.js';
export {
  BpfCmd, MapType, MapFlags, UpdateFlags, BPF_OBJ_NAME_LEN, cmdName, mapTypeName,
  mapCreateAttr, mapElemAttr, mapBatchAttr, objPinAttr, infoByFdAttr, getFdByIdAttr, bpfMapInfo,
  type BpfCmdName, type MapTypeName, type MapTypeValue,
} from './attr.js';
export {
  BpfError, Errno, errnoCode, isNotExist, isNotSupported, MapIncompatibleError, NotSupportedError, joinErrors, wrapError, MapLoadError,
  type ErrnoCode, type BpfErrorInit,
} from './errors.js';
export { FD } from './fd.js';
export { BPF_FS_MAGIC, isBpffs, isBpffsMountPoint, ensurePinDir, mountBpffs, unmountBpffs } from './bpffs.js';
export { mapCreate, objPin, objGet, objGetRaw, objGetMapInfo, mapGetFdById, objName, type MapCreateParams } from './sys.js';
export {
  BpfMap, incompatibility, unpinPath,
  type MapSpec, type MapInfo, type OpenOutcome, type OpenOrCreateResult, type KernelOption, type OpenPinnedOptions,
} from './map.js';
export {
  batches, batchesAsync, deleteBatch, updateBatch, initialChunkSize, checkBatchable, IterationError, BatchError,
  type Batch, type BatchOptions, type BatchResult, type BatchTarget, type BatchWriteTarget,
} from './iterate.js';
export { possibleCPUs, isPerCPU, valueBufferSize } from './cpus.js';
export { DumpStats, NewDumpStats, MaxLookupError, dumpReliably, type ReliableTarget } from './reliable.js';
export { OuterMap, forEachJoined, type InnerMap } from './outer.js';
export { Features, haveFeature, requireFeature, kernelVersion, kernelAtLeast, type Feature } from './features.js';
export { removeMemlock, RLIMIT_MEMLOCK, RLIM_INFINITY, type MemlockOutcome } from './memlock.js';
export { BpfVector } from './vector.js';
export { ElemVector } from './elemvec.js';
export { countParallel, hashBuckets, type ParallelCountOptions } from './pcount.js';
