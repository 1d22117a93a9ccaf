/**
 * Feature probes: what this kernel's bpf() can do, found by trying it on a
 * throw-away map (as cilium/ebpf's features package does), with the first
 * kernel release that has it. ctmap turns a missing feature into
 * NotSupportedError naming that release instead of a bare EINVAL.
 */
import { release } from 'node:os';
import { BpfCmd, MapType, mapBatchAttr, mapElemAttr } from './attr.js';
import { Errno, NotSupportedError } from './errors.js';
import { mapCreate } from './sys.js';
import { FD } from './fd.js';
import { dataView } from '../structs/bytes.js';
import { defaultKernel, type Kernel } from './kernel.js';

export interface Feature {
  readonly name: string;
  /** The first Linux release with the feature. */
  readonly minKernel: string;
  readonly description: string;
}

export const Features = {
  lruHash: { name: 'lru-hash', minKernel: '4.10', description: 'BPF_MAP_TYPE_LRU_HASH' },
  batchOps: { name: 'batch-ops', minKernel: '5.6', description: 'BPF_MAP_LOOKUP_BATCH / UPDATE_BATCH / DELETE_BATCH on hash maps' },
  lookupAndDeleteHash: { name: 'lookup-and-delete-hash', minKernel: '5.14', description: 'BPF_MAP_LOOKUP_AND_DELETE_ELEM on hash maps' },
  arrayOfMaps: { name: 'array-of-maps', minKernel: '4.12', description: 'BPF_MAP_TYPE_ARRAY_OF_MAPS' },
} as const satisfies Record<string, Feature>;

// What each kernel was found to support: facts about a kernel, kept per Kernel object.
const cache = new WeakMap<Kernel, Map<string, boolean>>();

function withHashMap<T>(k: Kernel, type: number, fn: (fd: number) => T): T | undefined {
  let fd: number;
  try {
    fd = mapCreate(k, { type, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0, name: 'ctmap_probe' });
  } catch {
    return undefined;
  }
  const owned = new FD(fd);
  try {
    return fn(fd);
  } finally {
    owned.close();
  }
}

function probe(k: Kernel, f: Feature): boolean {
  switch (f.name) {
    case Features.lruHash.name:
      return withHashMap(k, MapType.LRUHash, () => true) ?? false;
    case Features.batchOps.name:
      return withHashMap(k, MapType.Hash, (fd) => {
        const keys = new Uint8Array(16);
        const values = new Uint8Array(16);
        const out = new Uint8Array(8);
        const attr = new Uint8Array(mapBatchAttr.end);
        const dv = dataView(attr);
        const o = mapBatchAttr.offsetOf;
        dv.setBigUint64(o.out_batch, k.address(out), true);
        dv.setBigUint64(o.keys, k.address(keys), true);
        dv.setBigUint64(o.values, k.address(values), true);
        dv.setUint32(o.count, 4, true);
        dv.setUint32(o.map_fd, fd, true);
        // An empty map answers ENOENT when the command exists; old kernels say EINVAL.
        const ret = k.bpf(BpfCmd.BPF_MAP_LOOKUP_BATCH, attr);
        return ret >= 0 || ret === -Errno.ENOENT;
      }) ?? false;
    case Features.lookupAndDeleteHash.name:
      return withHashMap(k, MapType.Hash, (fd) => {
        const key = new Uint8Array(4);
        const value = new Uint8Array(4);
        const attr = new Uint8Array(mapElemAttr.end);
        const dv = dataView(attr);
        const o = mapElemAttr.offsetOf;
        dv.setUint32(o.map_fd, fd, true);
        dv.setBigUint64(o.key, k.address(key), true);
        dv.setBigUint64(o.value, k.address(value), true);
        const ret = k.bpf(BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_ELEM, attr);
        return ret >= 0 || ret === -Errno.ENOENT;
      }) ?? false;
    case Features.arrayOfMaps.name:
      return withHashMap(k, MapType.Array, (inner) => {
        try {
          new FD(mapCreate(k, { type: MapType.ArrayOfMaps, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0, name: 'ctmap_probe', innerMapFd: inner })).close();
          return true;
        } catch {
          return false;
        }
      }) ?? false;
    default:
      return false;
  }
}

/** Whether `kernel` has `f` (probed once per kernel). */
export function haveFeature(f: Feature, kernel: Kernel = defaultKernel()): boolean {
  let known = cache.get(kernel);
  if (known === undefined) {
    known = new Map();
    cache.set(kernel, known);
  }
  let v = known.get(f.name);
  if (v === undefined) {
    v = probe(kernel, f);
    known.set(f.name, v);
  }
  return v;
}

/** Throw NotSupportedError (with the first release that has it) unless the kernel has `f`. */
export function requireFeature(f: Feature, kernel: Kernel = defaultKernel()): void {
  if (!haveFeature(f, kernel)) throw new NotSupportedError(f.description, f.minKernel);
}

/** The running kernel's release as [major, minor]. */
export function kernelVersion(rel = release()): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  return m === null ? [0, 0] : [Number(m[1]), Number(m[2])];
}

/** Whether `rel` is at least `min` ("5.14"). */
export function kernelAtLeast(min: string, rel = release()): boolean {
  const [a, b] = kernelVersion(rel);
  const [c, d] = kernelVersion(min);
  return a > c || (a === c && b >= d);
}
