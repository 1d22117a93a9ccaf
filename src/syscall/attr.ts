/**
 * The parts of `union bpf_attr` (and `struct bpf_map_info`) that ctmap uses,
 * one layout per command, declared with the same layout module as the Cilium
 * structs. Each layout stops at the last field ctmap sets, so `layout.end` is
 * libbpf's `offsetofend(union bpf_attr, <last field>)`: the size passed to the
 * kernel. A kernel older than a field we never set still accepts the call,
 * because the kernel only rejects *non-zero* bytes beyond what it knows.
 *
 * tests/priv/attr-probe checks every offset here against <linux/bpf.h>.
 */
import { bytes, pad, struct, u32, u64 } from '../structs/layout.js';

export const BpfCmd = {
  BPF_MAP_CREATE: 0,
  BPF_MAP_LOOKUP_ELEM: 1,
  BPF_MAP_UPDATE_ELEM: 2,
  BPF_MAP_DELETE_ELEM: 3,
  BPF_MAP_GET_NEXT_KEY: 4,
  BPF_MAP_LOOKUP_AND_DELETE_ELEM: 21,
  BPF_OBJ_PIN: 6,
  BPF_OBJ_GET: 7,
  BPF_MAP_GET_FD_BY_ID: 14,
  BPF_OBJ_GET_INFO_BY_FD: 15,
  BPF_MAP_LOOKUP_BATCH: 24,
  BPF_MAP_LOOKUP_AND_DELETE_BATCH: 25,
  BPF_MAP_UPDATE_BATCH: 26,
  BPF_MAP_DELETE_BATCH: 27,
} as const;
export type BpfCmdName = keyof typeof BpfCmd;
export type BpfCmdValue = (typeof BpfCmd)[BpfCmdName];

const cmdNames = new Map<number, string>(Object.entries(BpfCmd).map(([k, v]) => [v, k]));
export function cmdName(cmd: number): string {
  return cmdNames.get(cmd) ?? `BPF_CMD_${cmd}`;
}

export const MapType = {
  Hash: 1,
  Array: 2,
  PerCPUHash: 5,
  PerCPUArray: 6,
  LRUHash: 9,
  LRUPerCPUHash: 10,
  LPMTrie: 11,
  ArrayOfMaps: 12,
  HashOfMaps: 13,
} as const;
export type MapTypeName = keyof typeof MapType;
export type MapTypeValue = (typeof MapType)[MapTypeName];

const typeNames = new Map<number, string>(Object.entries(MapType).map(([k, v]) => [v, k]));
/** cilium/ebpf's MapType.String() spelling: "LRUHash", "ArrayOfMaps", … */
export function mapTypeName(t: number): string {
  return typeNames.get(t) ?? `MapType(${t})`;
}

/** Element update flags. */
export const UpdateFlags = { BPF_ANY: 0, BPF_NOEXIST: 1, BPF_EXIST: 2, BPF_F_LOCK: 4 } as const;

/** Map creation flags ctmap cares about. */
export const MapFlags = {
  BPF_F_NO_PREALLOC: 1,
  BPF_F_NO_COMMON_LRU: 2,
  BPF_F_NUMA_NODE: 4,
  BPF_F_RDONLY: 8,
  BPF_F_WRONLY: 16,
} as const;

/** BPF_OBJ_NAME_LEN: names are cut to 15 bytes plus NUL. */
export const BPF_OBJ_NAME_LEN = 16;

export const mapCreateAttr = struct('bpf_attr.map_create', {
  map_type: u32,
  key_size: u32,
  value_size: u32,
  max_entries: u32,
  map_flags: u32,
  inner_map_fd: u32,
  numa_node: u32,
  map_name: bytes(BPF_OBJ_NAME_LEN),
  map_ifindex: u32,
  btf_fd: u32,
  btf_key_type_id: u32,
  btf_value_type_id: u32,
  btf_vmlinux_value_type_id: u32,
  map_extra: u64,
});

/** LOOKUP/UPDATE/DELETE_ELEM and GET_NEXT_KEY share this shape; `value` doubles as `next_key`. */
export const mapElemAttr = struct('bpf_attr.map_elem', {
  map_fd: u32,
  key: u64,
  value: u64,
  flags: u64,
});

export const mapBatchAttr = struct('bpf_attr.batch', {
  in_batch: u64,
  out_batch: u64,
  keys: u64,
  values: u64,
  count: u32,
  map_fd: u32,
  elem_flags: u64,
  flags: u64,
});

export const objPinAttr = struct('bpf_attr.obj_pin', {
  pathname: u64,
  bpf_fd: u32,
  file_flags: u32,
});

export const infoByFdAttr = struct('bpf_attr.info', {
  bpf_fd: u32,
  info_len: u32,
  info: u64,
});

export const getFdByIdAttr = struct('bpf_attr.get_id', {
  map_id: u32,
  next_id: u32,
  open_flags: u32,
});

export const bpfMapInfo = struct('bpf_map_info', {
  type: u32,
  id: u32,
  key_size: u32,
  value_size: u32,
  max_entries: u32,
  map_flags: u32,
  name: bytes(BPF_OBJ_NAME_LEN),
  ifindex: u32,
  btf_vmlinux_value_type_id: u32,
  netns_dev: u64,
  netns_ino: u64,
  btf_id: u32,
  btf_key_type_id: u32,
  btf_value_type_id: u32,
  _pad: pad(4),
  map_extra: u64,
});
