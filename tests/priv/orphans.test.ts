// The orphan NAT purge (src/ctmap/orphans.ts) on the real kernel, down to what decides a deletion: the DSR tag a
// CT snapshot keeps, a CT map that cannot be opened (EPERM keeps, a missing pin does not), the 'auto' strategy's
// switch from lookups to a snapshot at its break-even, the exact number of CT lookups each strategy issues, and
// the metrics it records. Guards orphans.ts in `make mutation` (mutation/guards.mjs), with tests/priv/nat.test.ts.
import t from 'tap';
import { Registry } from 'prom-client';
import { privateBpffs, requirePrivileged } from '../helpers/priv.js';
import { openNode, type Node } from '../../src/index.js';
import { purgeOrphans, NatGCStats, type CtCheckStrategy } from '../../src/ctmap/orphans.js';
import { BpfCmd, Errno, defaultKernel } from '../../src/syscall/index.js';
import { mapBatchAttr } from '../../src/syscall/attr.js';
import { CtEntry, DSRInternal, type CtKey, type NatKey } from '../../src/structs/index.js';
import { DatapathEmulator } from '../../src/testing/emulator.js';
import { KeySet } from '../../src/structs/keyset.js';
import type { Test } from 'tap';

const quiet = (): void => undefined;

function node(t: Test, o: { bpffs?: string; ct?: number; registry?: Registry; kernel?: ReturnType<typeof defaultKernel> } = {}): Node {
  const bpffs = o.bpffs ?? privateBpffs(t);
  const n = openNode({
    bpffs, ctSizes: { tcp: o.ct ?? 8192, any: o.ct ?? 8192 }, natEntries: 16384, logger: quiet, create: true, ipv4: true, ipv6: true,
    ...(o.registry === undefined ? {} : { registry: o.registry }), ...(o.kernel === undefined ? {} : { kernel: o.kernel }),
  });
  t.teardown(() => { n.close(); });
  return n;
}

function emulator(n: Node): DatapathEmulator {
  return new DatapathEmulator({ tcp4: n.ct.tcp4, any4: n.ct.any4, tcp6: n.ct.tcp6, any6: n.ct.any6, nat4: n.nat.v4, nat6: n.nat.v6 }, { now: 100000, seed: 11 });
}

/** Masquerade `count` TCP flows from distinct pods; the flows. */
function flows(emu: DatapathEmulator, count: number, base = 0): ReturnType<DatapathEmulator['masquerade']>[] {
  const out = [];
  for (let i = base; i < base + count; i++) {
    out.push(emu.masquerade({ src: `10.0.${i >> 8}.${i & 255}:40000`, dst: '1.1.1.1:80', proto: 'TCP' }, '192.0.2.1', { established: true }));
  }
  return out;
}

const counts = (s: NatGCStats): number[] => [s.egressAlive, s.ingressAlive, s.egressDeleted, s.ingressDeleted];

t.test('DSR: a snapshot keeps the DSR tag; a non-DSR CT entry at the swapped-ports key protects nothing', async (t) => {
  if (!requirePrivileged(t)) return;
  for (const strategy of ['snapshot', 'lookup'] as CtCheckStrategy[]) {
    const n = node(t);
    const emu = emulator(n);
    const dsr = emu.dsrBackend('198.51.100.7:51000', '10.0.1.9:8080', '203.0.113.10:80', 'TCP');
    const plain = emu.dsrBackend('198.51.100.8:51000', '10.0.1.9:8080', '203.0.113.10:80', 'TCP');
    // The second backend's CT entry stops being a DSR one (a service switch): its legacy SNAT entry is an orphan.
    const e = n.ct.tcp4.lookup(plain.ctKey) as CtEntry;
    e.flags &= ~DSRInternal;
    n.ct.tcp4.update(plain.ctKey, e);
    const s = purgeOrphans(n.ct.tcp4, n.ct.any4, { strategy }) as NatGCStats;
    t.same(counts(s), [1, 0, 1, 0], `${strategy}: the DSR entry lives, the switched one goes`);
    t.not(n.nat.v4.lookup(dsr.dsrNat as NatKey), undefined, `${strategy}: DSR NAT entry kept`);
    t.equal(n.nat.v4.lookup(plain.dsrNat as NatKey), undefined, `${strategy}: switched NAT entry deleted`);
    // Lookups: each entry misses at the swapped-address key (1); the DSR one is then answered by the snapshot
    // (tagged) or a lookup; the switched one needs a real lookup either way (the snapshot's tag says not DSR).
    t.equal(s.ctLookups, strategy === 'snapshot' ? 3 : 4, `${strategy}: CT lookups`);
    t.equal(s.snapshot, strategy === 'snapshot');
  }
});

t.test('a CT map that cannot be opened for a reason but "no such pin" keeps its NAT entries', async (t) => {
  if (!requirePrivileged(t)) return;
  const root = privateBpffs(t);
  const a = node(t, { bpffs: root });
  const fl = flows(emulator(a), 3);
  for (const f of fl) a.ct.tcp4.delete(f.ctKey);
  // A second handle on the same maps whose kernel refuses BPF_OBJ_GET with EPERM once told to (an LSM, a
  // bpffs mode the caller lacks): the NAT and Any maps are opened first, so only the TCP CT map fails.
  let refuse = false;
  const kernel = defaultKernel().intercept((cmd, attr, size, next) => (refuse && cmd === BpfCmd.BPF_OBJ_GET ? -Errno.EPERM : next(cmd, attr, size)));
  const b = node(t, { bpffs: root, kernel });
  for (const strategy of ['lookup', 'snapshot', 'auto'] as CtCheckStrategy[]) {
    b.ct.tcp4.close();
    b.nat.v4.open();
    b.ct.any4.open();
    refuse = true;
    const s = purgeOrphans(b.ct.tcp4, b.ct.any4, { strategy }) as NatGCStats;
    refuse = false;
    t.same(counts(s), [3, 3, 0, 0], `${strategy}: EPERM on the CT map counts as "exists"`);
    t.equal(s.ctLookups, 0, `${strategy}: nothing could be looked up`);
  }
  t.equal(a.nat.v4.count(), 6, 'all six NAT entries still there');
  b.ct.tcp4.close();
  const s = purgeOrphans(b.ct.tcp4, b.ct.any4) as NatGCStats;
  t.same(counts(s), [0, 0, 3, 3], 'once the CT map opens, the orphans go');
  t.equal(a.nat.v4.count(), 0);
});

t.test('a CT lookup that fails (not ENOENT) keeps its NAT entry; so does a lookup crossing that fails as a whole', async (t) => {
  if (!requirePrivileged(t)) return;
  const root = privateBpffs(t);
  const a = node(t, { bpffs: root });
  const fl = flows(emulator(a), 3);
  for (const f of fl) a.ct.tcp4.delete(f.ctKey);
  // A second handle whose kernel answers EPERM to CT lookups (an LSM hook on map reads), or closes the TCP CT map
  // as the NAT walk starts (the lookups' crossing then fails with EBADF before any syscall).
  let mode: 'eperm' | 'close' | undefined;
  let ctFd = -1;
  let natFd = -1;
  let ctLookups = 0;
  const fdOf = (attr: Uint8Array): number => new DataView(attr.buffer, attr.byteOffset).getUint32(0, true);
  const kernel = defaultKernel().intercept((cmd, attr, size, next) => {
    if (cmd === BpfCmd.BPF_MAP_LOOKUP_ELEM && fdOf(attr) === ctFd) {
      ctLookups++;
      if (mode === 'eperm') return -Errno.EPERM;
    }
    if (mode === 'close' && cmd === BpfCmd.BPF_MAP_LOOKUP_BATCH && new DataView(attr.buffer, attr.byteOffset).getUint32(mapBatchAttr.offsetOf.map_fd, true) === natFd) b.ct.tcp4.close();
    return next(cmd, attr, size);
  });
  const b = node(t, { bpffs: root, kernel });
  for (const m of ['eperm', 'close'] as const) {
    b.nat.v4.open();
    b.ct.any4.open();
    ctFd = b.ct.tcp4.bpfMap.fdValue;
    natFd = b.nat.v4.bpfMap.fdValue;
    mode = m;
    ctLookups = 0;
    const s = purgeOrphans(b.ct.tcp4, b.ct.any4, { strategy: 'lookup' }) as NatGCStats;
    mode = undefined;
    t.same(counts(s), [3, 3, 0, 0], `${m}: every NAT entry kept`);
    t.equal(s.ctLookups, 6, `${m}: one lookup queued per NAT entry, none for a second key`);
    t.equal(ctLookups, m === 'eperm' ? 6 : 0, `${m}: lookups that reached the kernel`);
    t.equal(a.nat.v4.count(), 6, `${m}: all six NAT entries still there`);
    b.ct.tcp4.close();
  }
  const s = purgeOrphans(b.ct.tcp4, b.ct.any4, { strategy: 'lookup' }) as NatGCStats;
  t.same(counts(s), [0, 0, 3, 3], 'once lookups answer, the orphans go');
});

t.test('the strategies: exact CT lookup counts, and auto switching to a snapshot at its break-even', async (t) => {
  if (!requirePrivileged(t)) return;
  // CT maps of 1024 entries each (Cilium's minimum): a snapshot costs (1024 + 1024) × 0.4 = 819.2 lookups' worth.
  const root = privateBpffs(t);
  const n = node(t, { bpffs: root, ct: 1024 });
  const emu = emulator(n);
  const fl = flows(emu, 420);
  const nat = n.nat.v4;
  const saved = [...nat.bpfMap.entries()].map(([k, v]) => [k.slice(), v.slice()] as const);
  const restore = (): void => { for (const [k, v] of saved) nat.bpfMap.set(k, v); };
  // 420 flows, all owned: 840 NAT entries, one lookup each.
  let s = purgeOrphans(n.ct.tcp4, n.ct.any4, { strategy: 'lookup' }) as NatGCStats;
  t.same(counts(s), [420, 420, 0, 0]);
  t.same([s.ctLookups, s.snapshot], [840, false], 'lookup: one per NAT entry');
  s = purgeOrphans(n.ct.tcp4, n.ct.any4, { strategy: 'snapshot' }) as NatGCStats;
  t.same([s.ctLookups, s.snapshot], [0, true], 'snapshot: every owner found in the snapshot');
  s = purgeOrphans(n.ct.tcp4, n.ct.any4, { strategy: 'auto' }) as NatGCStats;
  t.same([s.ctLookups, s.snapshot], [820, true], 'auto: lookups until they exceed 819.2, then the snapshot answers');
  t.same(counts(s), [420, 420, 0, 0]);
  s = purgeOrphans(n.ct.tcp4, n.ct.any4, { strategy: 'auto', snapshotBudget: 0 }) as NatGCStats;
  t.same([s.ctLookups, s.snapshot], [840, false], 'auto over its memory budget stays with lookups');
  // The budget is inclusive: both snapshots at full size, to the byte.
  const both = KeySet.bytesFor(14, 1024) * 2;
  s = purgeOrphans(n.ct.tcp4, n.ct.any4, { strategy: 'auto', snapshotBudget: both }) as NatGCStats;
  t.same([s.ctLookups, s.snapshot], [820, true], `a budget of exactly ${both} bytes allows the snapshot`);
  s = purgeOrphans(n.ct.tcp4, n.ct.any4, { strategy: 'auto', snapshotBudget: both - 1 }) as NatGCStats;
  t.same([s.ctLookups, s.snapshot], [840, false], 'one byte less does not');
  s = purgeOrphans(n.ct.tcp4, n.ct.any4, { strategy: 'snapshot', snapshotBudget: 0 }) as NatGCStats;
  t.same([s.ctLookups, s.snapshot], [0, true], 'an explicit snapshot ignores the budget');

  // Five flows lose their CT entries: an egress orphan costs two lookups (swapped addresses, then swapped
  // ports), an ingress one a single lookup; owners cost one.
  for (const f of fl.slice(0, 5)) n.ct.tcp4.delete(f.ctKey);
  s = purgeOrphans(n.ct.tcp4, n.ct.any4, { strategy: 'lookup' }) as NatGCStats;
  t.same(counts(s), [415, 415, 5, 5]);
  t.equal(s.ctLookups, 415 + 415 + 5 * 2 + 5, 'lookup: 845');
  restore();
  s = purgeOrphans(n.ct.tcp4, n.ct.any4, { strategy: 'snapshot' }) as NatGCStats;
  t.same(counts(s), [415, 415, 5, 5]);
  t.equal(s.ctLookups, 5 * 2 + 5, 'snapshot: only the orphans are confirmed by lookup');
  restore();
  s = purgeOrphans(n.ct.tcp4, n.ct.any4, { strategy: 'auto' }) as NatGCStats;
  t.same(counts(s), [415, 415, 5, 5], 'auto removes the same orphans');
  t.ok(s.snapshot && s.ctLookups >= 820 && s.ctLookups <= 820 + 15, `auto: ${s.ctLookups} lookups, then the snapshot`);
  t.equal(nat.count(), 830);
});

t.test('options are checked before anything is read or deleted', async (t) => {
  if (!requirePrivileged(t)) return;
  const n = node(t);
  const fl = flows(emulator(n), 1);
  n.ct.tcp4.delete(fl[0]?.ctKey as CtKey);
  t.throws(() => purgeOrphans(n.ct.tcp4, n.ct.any4, null as never), { name: 'TypeError', message: 'purge: options must be an object, got null' });
  t.throws(() => purgeOrphans(n.ct.tcp4, n.ct.any4, 'lookup' as never), { name: 'TypeError', message: 'purge: options must be an object, got "lookup"' });
  t.throws(() => purgeOrphans(n.ct.tcp4, n.ct.any4, { strategy: 'fast' as never }), { name: 'RangeError', message: 'purge: strategy must be auto, lookup or snapshot, got "fast"' });
  for (const bad of [-1, Number.NaN, '1' as never]) {
    t.throws(() => purgeOrphans(n.ct.tcp4, n.ct.any4, { snapshotBudget: bad }), { name: 'RangeError', message: 'purge: snapshotBudget must be a non-negative number of bytes' });
  }
  t.equal(n.nat.v4.count(), 2, 'nothing deleted by a refused call');
});

t.test('metrics: nat_gc_entries and nat_gc_deleted_total in the given registry, the settings\' one by default, none when told', async (t) => {
  if (!requirePrivileged(t)) return;
  const own = new Registry();
  const n = node(t, { registry: own });
  const emu = emulator(n);
  const fl = flows(emu, 4);
  n.ct.tcp4.delete(fl[0]?.ctKey as CtKey);
  const value = async (r: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> => {
    const m = (await r.getMetricsAsJSON()).find((x) => x.name === name);
    return m?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
  };
  const other = new Registry();
  purgeOrphans(n.ct.tcp4, n.ct.any4, { registry: other });
  t.equal(await value(other, 'cilium_datapath_nat_gc_entries', { family: 'ipv4', direction: 'ingress', status: 'alive' }), 3);
  t.equal(await value(other, 'cilium_datapath_nat_gc_entries', { family: 'ipv4', direction: 'ingress', status: 'deleted' }), 1);
  t.equal(await value(other, 'cilium_datapath_nat_gc_entries', { family: 'ipv4', direction: 'egress', status: 'alive' }), 3);
  t.equal(await value(other, 'cilium_datapath_nat_gc_entries', { family: 'ipv4', direction: 'egress', status: 'deleted' }), 1);
  t.equal(await value(other, 'cilium_datapath_nat_gc_deleted_total', { family: 'ipv4', direction: 'ingress' }), 1);
  t.equal(await value(other, 'cilium_datapath_nat_gc_deleted_total', { family: 'ipv4', direction: 'egress' }), 1);
  t.equal(await value(own, 'cilium_datapath_nat_gc_deleted_total', { family: 'ipv4', direction: 'egress' }), undefined, 'the settings\' registry untouched');
  n.ct.tcp4.delete(fl[1]?.ctKey as CtKey);
  purgeOrphans(n.ct.tcp4, n.ct.any4);
  t.equal(await value(own, 'cilium_datapath_nat_gc_deleted_total', { family: 'ipv4', direction: 'egress' }), 1, 'default: the settings\' registry');
  t.equal(await value(own, 'cilium_datapath_nat_gc_entries', { family: 'ipv4', direction: 'egress', status: 'alive' }), 2);
  t.equal(await value(own, 'cilium_bpf_map_pressure', { map_name: 'snat_v4_external' }), 4 / 16384, 'NAT map pressure from what is alive');
  n.ct.tcp4.delete(fl[2]?.ctKey as CtKey);
  purgeOrphans(n.ct.tcp4, n.ct.any4, { registry: other });
  t.equal(await value(other, 'cilium_datapath_nat_gc_deleted_total', { family: 'ipv4', direction: 'egress' }), 2, 'the counter adds up over purges');
  t.equal(await value(other, 'cilium_datapath_nat_gc_entries', { family: 'ipv4', direction: 'egress', status: 'deleted' }), 1, 'the gauge is the last purge');
  n.ct.tcp4.delete(fl[3]?.ctKey as CtKey);
  const s = purgeOrphans(n.ct.tcp4, n.ct.any4, { registry: undefined }) as NatGCStats;
  t.same(counts(s), [0, 0, 1, 1]);
  t.equal(await value(own, 'cilium_datapath_nat_gc_deleted_total', { family: 'ipv4', direction: 'egress' }), 1, 'registry: undefined records nothing');
  t.equal(await value(other, 'cilium_datapath_nat_gc_deleted_total', { family: 'ipv4', direction: 'egress' }), 2);
  t.same(s.toJSON(), { family: 'ipv4', clusterID: 0, ingressAlive: 0, ingressDeleted: 1, egressAlive: 0, egressDeleted: 1, completed: true, error: null, ctLookups: 3, snapshot: false });
});
