/**
 * Possible CPUs: per-CPU maps hand user space one value slot per possible
 * CPU (not per online CPU), each rounded up to 8 bytes. Reading one into a
 * buffer sized for a single value would let the kernel write past it.
 */
import { readFileSync } from 'node:fs';
import { MapType } from './attr.js';

let cached: number | undefined;

/** Possible CPUs from /sys/devices/system/cpu/possible ("0-3,5"), or from `text` when given. */
export function possibleCPUs(text?: string): number {
  if (text === undefined && cached !== undefined) return cached;
  const src = text ?? readFileSync('/sys/devices/system/cpu/possible', 'utf8');
  let n = 0;
  for (const part of src.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) throw new Error(`cannot parse possible CPUs ${JSON.stringify(src.trim())}`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    n += hi - lo + 1;
  }
  if (text === undefined) cached = n;
  return n;
}

const perCPUTypes = new Set<number>([MapType.PerCPUHash, MapType.PerCPUArray, MapType.LRUPerCPUHash, 21 /* PERCPU_CGROUP_STORAGE */]);

export function isPerCPU(type: number): boolean {
  return perCPUTypes.has(type);
}

/** Bytes user space passes for one element's value: round_up(size, 8) × possible CPUs for per-CPU maps. */
export function valueBufferSize(type: number, valueSize: number): number {
  return isPerCPU(type) ? Math.ceil(valueSize / 8) * 8 * possibleCPUs() : valueSize;
}
