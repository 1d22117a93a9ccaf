// Byte exactness: every offset and size the TypeScript layouts declare is
// checked against a C compiler's offsetof/sizeof — of the system's
// <linux/bpf.h> for bpf_attr/bpf_map_info, and of the spec's Cilium structs —
// and C-written bytes must decode field for field.
import t, { type Test } from 'tap';
import { parseOffsets, runCProbe } from '../helpers/cc.js';
import {
  bpfMapInfo, BpfCmd, getFdByIdAttr, infoByFdAttr, mapBatchAttr, mapCreateAttr, mapElemAttr, MapFlags, MapType,
  objPinAttr, UpdateFlags, BPF_OBJ_NAME_LEN,
} from '../../src/syscall/attr.js';
import type { FieldInfo } from '../../src/structs/layout.js';
import {
  ctEntryLayout, ipv4CtTuple, ipv4NatEntry, ipv6CtTuple, ipv6NatEntry, CtEntry, CtKey4Global, CtKey6Global, NatEntry4, NatEntry6,
} from '../../src/structs/index.js';

interface AnyLayout { readonly name: string; readonly size: number; readonly fields: readonly FieldInfo[] }

function checkLayout(t: Test, probe: ReturnType<typeof parseOffsets>, layout: AnyLayout, cName = layout.name): void {
  let checked = 0;
  for (const f of layout.fields) {
    if (f.type.kind === 'pad') continue;
    const c = probe.get(`${cName}.${f.name}`);
    t.ok(c, `${cName}.${f.name} is known to the C probe`);
    if (c === undefined) continue;
    t.equal(f.offset, c.offset, `${cName}.${f.name} offset`);
    t.equal(f.size, c.size, `${cName}.${f.name} size`);
    checked++;
  }
  t.ok(checked > 0, `${cName}: ${checked} fields checked`);
}

t.test('bpf_attr and bpf_map_info against <linux/bpf.h>', async (t) => {
  const probe = parseOffsets(runCProbe('attr_probe.c'));
  for (const l of [mapCreateAttr, mapElemAttr, mapBatchAttr, objPinAttr, infoByFdAttr, getFdByIdAttr, bpfMapInfo]) checkLayout(t, probe, l);
  t.same(probe.get('bpf_attr.map_elem_next.value'), probe.get('bpf_attr.map_elem.value'), 'next_key shares the value slot');
  t.equal(bpfMapInfo.size, probe.get('sizeof.bpf_map_info')?.offset, 'sizeof(struct bpf_map_info)');
  // The sizes passed to the kernel: offsetofend(last field used), as libbpf does.
  t.equal(mapCreateAttr.end, 72);
  t.equal(mapElemAttr.end, 32);
  t.equal(mapBatchAttr.end, 56);
  t.equal(objPinAttr.end, 16);
  t.equal(infoByFdAttr.end, 16);
  t.equal(getFdByIdAttr.end, 12);
  const consts: Record<string, number> = {
    ...Object.fromEntries(Object.entries(BpfCmd)),
    BPF_MAP_TYPE_HASH: MapType.Hash, BPF_MAP_TYPE_ARRAY: MapType.Array, BPF_MAP_TYPE_PERCPU_HASH: MapType.PerCPUHash,
    BPF_MAP_TYPE_PERCPU_ARRAY: MapType.PerCPUArray, BPF_MAP_TYPE_LRU_HASH: MapType.LRUHash,
    BPF_MAP_TYPE_LRU_PERCPU_HASH: MapType.LRUPerCPUHash, BPF_MAP_TYPE_LPM_TRIE: MapType.LPMTrie,
    BPF_MAP_TYPE_ARRAY_OF_MAPS: MapType.ArrayOfMaps, BPF_MAP_TYPE_HASH_OF_MAPS: MapType.HashOfMaps,
    ...Object.fromEntries(Object.entries(UpdateFlags)), ...Object.fromEntries(Object.entries(MapFlags)), BPF_OBJ_NAME_LEN,
  };
  for (const [name, v] of Object.entries(consts)) t.equal(v, probe.get(`const.${name}`)?.offset, `${name} = ${v}`);
});

t.test('Cilium structs against the spec layouts', async (t) => {
  const probe = parseOffsets(runCProbe('cilium_structs.c'));
  for (const l of [ipv4CtTuple, ipv6CtTuple, ctEntryLayout, ipv4NatEntry, ipv6NatEntry]) {
    checkLayout(t, probe, l);
    t.equal(l.size, probe.get(`sizeof.${l.name}`)?.offset, `sizeof(struct ${l.name})`);
  }
});

t.test('C-written bytes decode field for field', async (t) => {
  const samples = new Map(runCProbe('cilium_structs.c', ['samples']).trim().split('\n').map((l) => {
    const [n, h] = l.split(' ');
    return [n ?? '', Buffer.from(h ?? '', 'hex')] as const;
  }));
  const k4 = CtKey4Global.fromBytes(samples.get('ipv4_ct_tuple')!);
  t.same(k4.toFields(), { destAddr: '10.0.0.1', sourceAddr: '10.0.0.2', destPort: 0x5000, sourcePort: 0x409c, nextHeader: 6, flags: 1 });
  t.same(k4.toHost().toFields(), { destAddr: '10.0.0.1', sourceAddr: '10.0.0.2', destPort: 80, sourcePort: 40000, nextHeader: 6, flags: 1 });
  const k6 = CtKey6Global.fromBytes(samples.get('ipv6_ct_tuple')!).toHost();
  t.same(k6.toFields(), { destAddr: 'f00d::1', sourceAddr: 'f00d::2', destPort: 443, sourcePort: 55555, nextHeader: 17, flags: 2 });
  const e = CtEntry.fromBytes(samples.get('ct_entry')!);
  t.same(e.toFields(), {
    union0: [0x0102030405060708n, 42n], packets: 3n, bytes: 0xfffffffffffffffen, lifetime: 37400, flags: 0x8093,
    revNAT: 0x0700, natPort: 0x901f, txFlagsSeen: 2, rxFlagsSeen: 0x1b, sourceSecurityID: 2, lastTxReport: 100, lastRxReport: 200,
  });
  t.match(e.toString(), /RevNAT=7 SourceSecurityID=2 BackendID=42 NatPort=8080 \n$/);
  t.equal(Buffer.from(new CtEntry(e.toFields()).toBytes()).toString('hex'), samples.get('ct_entry')!.toString('hex'), 'fields re-encode to the C bytes');
  const n4 = NatEntry4.fromBytes(samples.get('ipv4_nat_entry')!);
  t.same(n4.toFields(), { created: 1000n, needsCT: 1n, pad1: 0n, pad2: 0n, addr: '10.0.2.15', port: 0xd886 });
  t.equal(n4.toHost().port, 34520);
  const n6 = NatEntry6.fromBytes(samples.get('ipv6_nat_entry')!);
  t.same(n6.toFields(), { created: 5n, needsCT: 0n, pad1: 0n, pad2: 9n, addr: 'f00d::63', port: 0x3500 });
  t.equal(Buffer.from(new NatEntry6(n6.toFields()).toBytes()).toString('hex'), samples.get('ipv6_nat_entry')!.toString('hex'));
});
