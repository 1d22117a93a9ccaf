/**
 * One small wrapper per bpf command, in the manner of libbpf's src/bpf.c:
 * zero an attr of exactly offsetofend(last field), fill it, call the funnel,
 * turn -errno into a BpfError. Pointer fields hold buffer addresses; every
 * buffer stays referenced by a local until the call returns.
 */
import { check, type Kernel } from './kernel.js';
import {
  BPF_OBJ_NAME_LEN, BpfCmd, bpfMapInfo, getFdByIdAttr, infoByFdAttr, mapCreateAttr, mapTypeName, objPinAttr,
} from './attr.js';
import { BpfError, Errno } from './errors.js';
import { dataView } from '../structs/bytes.js';

export interface MapCreateParams {
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags?: number;
  readonly name?: string;
  readonly innerMapFd?: number;
  readonly mapExtra?: bigint;
}

const NAME_RE = /^[A-Za-z0-9_.]*$/;

/** The kernel object name: at most 15 bytes, of the characters the kernel accepts. */
export function objName(name: string): Uint8Array {
  const cut = name.slice(0, BPF_OBJ_NAME_LEN - 1);
  if (!NAME_RE.test(cut)) throw new RangeError(`map name ${JSON.stringify(name)}: only letters, digits, '_' and '.' are allowed`);
  const out = new Uint8Array(BPF_OBJ_NAME_LEN);
  out.set(new TextEncoder().encode(cut));
  return out;
}

function describeCreate(p: MapCreateParams): string {
  return `type=${mapTypeName(p.type)} key_size=${p.keySize} value_size=${p.valueSize} max_entries=${p.maxEntries} `
    + `flags=0x${(p.flags ?? 0).toString(16)}${p.innerMapFd === undefined ? '' : ` inner_map_fd=${p.innerMapFd}`}`;
}

export function mapCreate(k: Kernel, p: MapCreateParams): number {
  for (const [k, v] of [['keySize', p.keySize], ['valueSize', p.valueSize], ['maxEntries', p.maxEntries]] as const) {
    if (!Number.isInteger(v) || v <= 0 || v > 0xffffffff) throw new RangeError(`map ${p.name ?? ''}: ${k} must be a positive u32, got ${v}`);
  }
  const attr = new Uint8Array(mapCreateAttr.end);
  mapCreateAttr.encode({
    map_type: p.type,
    key_size: p.keySize,
    value_size: p.valueSize,
    max_entries: p.maxEntries,
    map_flags: p.flags ?? 0,
    inner_map_fd: p.innerMapFd ?? 0,
    numa_node: 0,
    map_name: objName(p.name ?? ''),
    map_ifindex: 0,
    btf_fd: 0,
    btf_key_type_id: 0,
    btf_value_type_id: 0,
    btf_vmlinux_value_type_id: 0,
    map_extra: p.mapExtra ?? 0n,
  }, attr);
  const ret = k.bpf(BpfCmd.BPF_MAP_CREATE, attr);
  if (ret < 0) {
    const errno = -ret;
    const hint = errno === Errno.EINVAL
      ? `the kernel rejected one of ${describeCreate(p)} (unknown map type or flag on this kernel, a size of 0, a name with bad characters, or an inner map that cannot be nested)`
      : undefined;
    throw new BpfError(hint === undefined
      ? { errno, command: 'BPF_MAP_CREATE', subject: p.name ?? '' }
      : { errno, command: 'BPF_MAP_CREATE', subject: p.name ?? '', hint });
  }
  return ret;
}

function cstring(s: string): Uint8Array {
  if (s.includes('\0')) throw new RangeError(`path contains a NUL byte: ${JSON.stringify(s)}`);
  const enc = new TextEncoder().encode(s);
  const out = new Uint8Array(enc.length + 1);
  out.set(enc);
  return out;
}

export function objPin(k: Kernel, fd: number, path: string): void {
  const p = cstring(path);
  const attr = new Uint8Array(objPinAttr.end);
  const dv = dataView(attr);
  dv.setBigUint64(objPinAttr.offsetOf.pathname, k.address(p), true);
  dv.setUint32(objPinAttr.offsetOf.bpf_fd, fd, true);
  check(k.bpf(BpfCmd.BPF_OBJ_PIN, attr), BpfCmd.BPF_OBJ_PIN, path);
}

/** Returns the fd, or -errno (so callers can treat ENOENT as "no pin" without an exception). */
export function objGetRaw(k: Kernel, path: string, fileFlags = 0): number {
  const p = cstring(path);
  const attr = new Uint8Array(objPinAttr.end);
  const dv = dataView(attr);
  dv.setBigUint64(objPinAttr.offsetOf.pathname, k.address(p), true);
  dv.setUint32(objPinAttr.offsetOf.file_flags, fileFlags, true);
  return k.bpf(BpfCmd.BPF_OBJ_GET, attr);
}

export function objGet(k: Kernel, path: string, fileFlags = 0): number {
  return check(objGetRaw(k, path, fileFlags), BpfCmd.BPF_OBJ_GET, path);
}

export type RawMapInfo = ReturnType<typeof bpfMapInfo.decode>;

export function objGetMapInfo(k: Kernel, fd: number): RawMapInfo {
  const info = new Uint8Array(bpfMapInfo.size);
  const attr = new Uint8Array(infoByFdAttr.end);
  const dv = dataView(attr);
  dv.setUint32(infoByFdAttr.offsetOf.bpf_fd, fd, true);
  dv.setUint32(infoByFdAttr.offsetOf.info_len, info.length, true);
  dv.setBigUint64(infoByFdAttr.offsetOf.info, k.address(info), true);
  check(k.bpf(BpfCmd.BPF_OBJ_GET_INFO_BY_FD, attr), BpfCmd.BPF_OBJ_GET_INFO_BY_FD);
  return bpfMapInfo.decode(info);
}

export function mapGetFdById(k: Kernel, id: number): number {
  const attr = new Uint8Array(getFdByIdAttr.end);
  dataView(attr).setUint32(getFdByIdAttr.offsetOf.map_id, id, true);
  return check(k.bpf(BpfCmd.BPF_MAP_GET_FD_BY_ID, attr), BpfCmd.BPF_MAP_GET_FD_BY_ID, `id ${id}`);
}
