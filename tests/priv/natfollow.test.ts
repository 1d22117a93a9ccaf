// The NAT follow-up inside a GC pass (src/ctmap/natfollow.ts; ctmap.md §11, nat-datapath.md §7) on the real
// kernel: which SNAT entries go with an expired CT entry and how they are counted — plain egress pairs, legacy DSR
// entries, entries that own none, SNAT entries already gone — through the LOOKUP_AND_DELETE vector, one entry at a
// time on a kernel without the command, in a dry run, and when the kernel fails part of the work.
import t from 'tap';
import type { Test } from 'tap';
import { privateBpffs, requirePrivileged } from '../helpers/priv.js';
import { recordingKernel, vectorKernel } from '../helpers/vecspy.js';
import { openNode, silentLogger, type Node } from '../../src/index.js';
import { BpfCmd, Errno, Kernel, defaultKernel, mapBatchAttr } from '../../src/syscall/index.js';
import { dataView } from '../../src/structs/bytes.js';
import { CtEntry, CtKey4Global, type NatKey } from '../../src/structs/index.js';
import { NatMapNext4 } from '../../src/ctmap/index.js';
import type { Logger } from '../../src/datapath/index.js';
import { DatapathEmulator } from '../../src/testing/emulator.js';

const NOW = 100000;
const OLD = 9000;
const hk = (k: { raw: Uint8Array }): string => Buffer.from(k.raw).toString('hex');

interface Flows {
  /** NAT keys that must be left after a real pass. */
  keep: Set<string>;
  /** NAT entries a pass must remove (and count). */
  gone: number;
  /** Expired plain egress entries: each one SNAT key to take (LOOKUP_AND_DELETE or lookup + delete). */
  egressExpired: number;
  ctExpired: number;
}

/**
 * A node with every kind of flow, some expired: plain egress pairs (300 expired, 100 alive), legacy DSR entries
 * (50 expired, 20 alive), inbound entries that own no SNAT entry (30 expired), 20 expired egress flows whose SNAT
 * OUT entry is already gone (their IN entry stays: the orphan purge's job, not the follow-up's) and 10 whose
 * reverse entry is gone (the OUT entry still goes, counted once).
 */
function build(t: Test, kernel: Kernel, logger: Logger = silentLogger): { n: Node; flows: Flows } {
  const n = openNode({ bpffs: privateBpffs(t), ctSizes: { tcp: 4096, any: 4096 }, natEntries: 8192, logger, create: true, kernel, ipv6: false });
  t.teardown(() => { n.close(); });
  const emu = new DatapathEmulator({ tcp4: n.ct.tcp4, any4: n.ct.any4, nat4: n.nat.v4 }, { now: NOW, seed: 11 });
  const keep = new Set<string>();
  const add = (ks: (NatKey | undefined)[]): void => { for (const k of ks) if (k !== undefined) keep.add(hk(k)); };
  let gone = 0;
  let i = 0;
  const egress = (age: number): ReturnType<DatapathEmulator['masquerade']> => {
    i++;
    return emu.masquerade({ src: `10.1.${i >> 8}.${i & 255}:40000`, dst: '1.1.1.1:443', proto: 'TCP' }, '192.0.2.1', { established: true, age, related: false });
  };
  for (let j = 0; j < 300; j++) { egress(OLD); gone += 2; }
  for (let j = 0; j < 100; j++) { const r = egress(0); add([r.natOut, r.natIn]); }
  for (let j = 0; j < 20; j++) {
    const r = egress(OLD);
    n.nat.v4.delete(r.natOut as NatKey);
    add([r.natIn]);
  }
  for (let j = 0; j < 10; j++) {
    const r = egress(OLD);
    n.nat.v4.delete(r.natIn as NatKey);
    gone++;
  }
  for (let j = 0; j < 70; j++) {
    i++;
    const r = emu.dsrBackend(`172.16.${i >> 8}.${i & 255}:${20000 + j}`, '10.2.0.1:8080', '203.0.113.10:80', 'TCP', { established: true, age: j < 50 ? OLD : 0, related: false });
    if (j < 50) gone++;
    else add([r.dsrNat]);
  }
  for (let j = 0; j < 30; j++) {
    i++;
    emu.ingress({ src: `172.17.${i >> 8}.${i & 255}:${30000 + j}`, dst: '10.3.0.1:80', proto: 'TCP' }, { established: true, age: OLD, related: false });
  }
  t.equal(n.nat.v4.count(), keep.size + gone, 'the NAT map holds what the flows wrote, minus the entries removed behind its back');
  return { n, flows: { keep, gone, egressExpired: 330, ctExpired: 300 + 20 + 10 + 50 + 30 } };
}

function natKeys(n: Node): Set<string> {
  return new Set([...n.nat.v4].map((r) => hk(r.key)));
}

t.test('exactly the SNAT entries of expired egress entries go, each counted once; in vectors of up to 256', async (t) => {
  if (!requirePrivileged(t)) return;
  const vectors: { cmd: number; n: number }[] = [];
  const { n, flows } = build(t, recordingKernel(vectors));
  const ctBefore = n.ct.tcp4.count();
  // One CT batch holds every entry, so the expired egress entries fill a whole vector and then part of one.
  const s = n.ct.tcp4.gc({ time: NOW, mode: 'fast', chunk: 1024 });
  t.equal(s.deleted, flows.ctExpired, 'the expired CT entries went');
  t.equal(n.ct.tcp4.count(), ctBefore - flows.ctExpired);
  t.equal(s.natDeleted, flows.gone, `natDeleted ${s.natDeleted}: pairs, DSR entries and the OUT entries whose reverse was gone`);
  t.same(natKeys(n), flows.keep, 'what is left is exactly the live flows\' entries and the IN entries of gone OUT entries');
  const lad = vectors.filter((v) => v.cmd === BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_ELEM);
  t.same(lad.map((v) => v.n), [256, flows.egressExpired - 256], 'a full vector of 256, then the rest at the end of the batch');
  t.ok(vectors.every((v) => v.n > 0), 'no empty vector is run');
});

t.test('a dry run counts what a pass would remove and removes nothing', async (t) => {
  if (!requirePrivileged(t)) return;
  const vectors: { cmd: number; n: number }[] = [];
  const { n, flows } = build(t, recordingKernel(vectors));
  const nat = natKeys(n);
  const ct = n.ct.tcp4.count();
  const dry = n.ct.tcp4.gc({ time: NOW, mode: 'fast', chunk: 1024, dryRun: true });
  t.equal(dry.natDeleted, flows.gone, 'the same count a real pass reports');
  t.equal(dry.deleted, flows.ctExpired);
  t.same(natKeys(n), nat, 'the NAT map is unchanged');
  t.equal(n.ct.tcp4.count(), ct, 'the CT map is unchanged');
  t.same(vectors.filter((v) => v.cmd === BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_ELEM), [], 'no LOOKUP_AND_DELETE is run');
  const real = n.ct.tcp4.gc({ time: NOW, mode: 'fast', chunk: 1024 });
  t.equal(real.natDeleted, dry.natDeleted, 'the real pass removes what the dry run counted');
});

t.test('without LOOKUP_AND_DELETE (probed missing, or refused by the NAT map): one entry at a time, same outcome', async (t) => {
  if (!requirePrivileged(t)) return;
  // A 5.10 kernel answers ENOTSUPP for LOOKUP_AND_DELETE on a hash map; EINVAL, ENOTSUPP and EOPNOTSUPP from the
  // NAT map alone stand for a kernel whose probe said yes but whose map refuses the command.
  const cases = [['missing (ENOTSUPP everywhere)', 'all', Errno.ENOTSUPP], ['refused by the NAT map: EINVAL', 'nat', Errno.EINVAL],
    ['refused by the NAT map: ENOTSUPP', 'nat', Errno.ENOTSUPP], ['refused by the NAT map: EOPNOTSUPP', 'nat', Errno.EOPNOTSUPP]] as const;
  for (const [how, where, errno] of cases) {
    let natFd = -1;
    const calls = new Map<number, number>();
    const kernel = defaultKernel().intercept((cmd, attr, size, next) => {
      const fd = size >= 4 ? dataView(attr).getUint32(0, true) : -1;
      if (fd === natFd) calls.set(cmd, (calls.get(cmd) ?? 0) + 1);
      if (cmd === BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_ELEM && (where === 'all' || fd === natFd)) return -errno;
      return next(cmd, attr, size);
    });
    const { n, flows } = build(t, kernel);
    natFd = n.nat.v4.bpfMap.fdValue;
    const s = n.ct.tcp4.gc({ time: NOW, mode: 'fast', chunk: 1024 });
    t.equal(s.natDeleted, flows.gone, `${how}: the same count`);
    t.same(natKeys(n), flows.keep, `${how}: the same entries left`);
    const lad = calls.get(BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_ELEM) ?? 0;
    // Refused: the first vector (a full one, 256 keys) is refused call by call, each key then read and deleted;
    // every later key goes straight to lookup + delete. Missing: never tried on the NAT map.
    t.equal(lad, where === 'all' ? 0 : 256, `${how}: LOOKUP_AND_DELETE calls on the NAT map`);
    // A lookup for every expired egress key (20 of them find nothing), a delete for each found.
    t.equal(calls.get(BpfCmd.BPF_MAP_LOOKUP_ELEM) ?? 0, flows.egressExpired, `${how}: lookups`);
    t.equal(calls.get(BpfCmd.BPF_MAP_DELETE_ELEM) ?? 0, flows.egressExpired - 20, `${how}: deletes`);
  }
});

t.test('kernel failures: a failed vector keeps its SNAT entries, a failed batch delete keeps the queued keys; both logged', async (t) => {
  if (!requirePrivileged(t)) return;
  {
    const logs: string[] = [];
    const vectors: { cmd: number; n: number }[] = [];
    const { n, flows } = build(t, vectorKernel((cmd, calls, m, stop, real) => {
      vectors.push({ cmd, n: m });
      if (cmd === BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_ELEM) throw new Error('injected: the vector crossing failed');
      return real(calls, m, stop);
    }), (level, msg, f) => { logs.push(`${level}: ${msg}`); if (f?.map !== 'cilium_snat_v4_external' || !(f.error instanceof Error)) logs.push(`fields: ${JSON.stringify(f)}`); });
    const before = natKeys(n);
    const s = n.ct.tcp4.gc({ time: NOW, mode: 'fast', chunk: 1024 });
    t.equal(s.deleted, flows.ctExpired, 'the CT entries still went');
    // Only the DSR entries (deleted by key, no lookup needed) went.
    t.equal(s.natDeleted, 50, 'the vector\'s SNAT entries are not counted');
    const after = natKeys(n);
    t.equal(before.size - after.size, 50);
    t.ok([...after].every((k) => before.has(k)));
    t.same(logs, ['warn: NAT follow-up lookups failed', 'warn: NAT follow-up lookups failed'], 'logged per failed crossing (256, then 74 keys), with the NAT map and the error');
  }
  {
    const logs: string[] = [];
    let natFd = -1;
    const kernel = defaultKernel().intercept((cmd, attr, size, next) => {
      if (cmd === BpfCmd.BPF_MAP_DELETE_BATCH && dataView(attr).getUint32(mapBatchAttr.offsetOf.map_fd, true) === natFd) return -Errno.EPERM;
      return next(cmd, attr, size);
    });
    const { n, flows } = build(t, kernel, (level, msg, f) => { logs.push(`${level}: ${msg}`); if (f?.map !== 'cilium_snat_v4_external' || !(f.error instanceof Error)) logs.push(`fields: ${JSON.stringify(f)}`); });
    natFd = n.nat.v4.bpfMap.fdValue;
    const s = n.ct.tcp4.gc({ time: NOW, mode: 'fast', chunk: 1024 });
    // The OUT entries were taken one by one (LOOKUP_AND_DELETE); their reverse keys and the DSR keys were queued.
    t.equal(s.natDeleted, flows.egressExpired - 20, 'only the OUT entries taken before the batch delete count');
    t.equal(n.nat.v4.count(), flows.keep.size + flows.gone - (flows.egressExpired - 20), 'the queued keys are still there');
    t.same(logs, ['warn: NAT follow-up batch delete failed'], 'logged with the NAT map and the error');
  }
});

t.test('NAT lookups the kernel refuses (EPERM): nothing is counted or removed through them, in a dry run or one entry at a time', async (t) => {
  if (!requirePrivileged(t)) return;
  for (const dryRun of [true, false]) {
    let natFd = -1;
    // LOOKUP_AND_DELETE missing everywhere (the one-at-a-time path), and every element lookup on the NAT map refused.
    const kernel = defaultKernel().intercept((cmd, attr, size, next) => {
      if (cmd === BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_ELEM) return -Errno.ENOTSUPP;
      if (cmd === BpfCmd.BPF_MAP_LOOKUP_ELEM && dataView(attr).getUint32(0, true) === natFd) return -Errno.EPERM;
      return next(cmd, attr, size);
    });
    const { n, flows } = build(t, kernel);
    const before = natKeys(n);
    natFd = n.nat.v4.bpfMap.fdValue;
    const s = n.ct.tcp4.gc({ time: NOW, mode: 'fast', chunk: 1024, dryRun });
    natFd = -1;
    t.equal(s.deleted, flows.ctExpired, `${dryRun ? 'dry run' : 'real pass'}: the CT decisions stand`);
    // A real pass still deletes the DSR entries by key (no lookup needed); a dry run counts them by lookup, refused.
    t.equal(s.natDeleted, dryRun ? 0 : 50, `${dryRun ? 'dry run' : 'real pass'}: no SNAT entry counted through a refused lookup`);
    t.equal(before.size - natKeys(n).size, dryRun ? 0 : 50, 'and none removed through one');
  }
});

t.test('dry run: a DSR entry whose SNAT entry is gone is not counted; Go\'s observers touch only plain egress entries', async (t) => {
  if (!requirePrivileged(t)) return;
  const n = openNode({ bpffs: privateBpffs(t), ctSizes: { tcp: 4096, any: 4096 }, natEntries: 8192, logger: silentLogger, create: true, ipv6: false });
  t.teardown(() => { n.close(); });
  const emu = new DatapathEmulator({ tcp4: n.ct.tcp4, any4: n.ct.any4, nat4: n.nat.v4 }, { now: NOW, seed: 12 });
  const kept = emu.dsrBackend('172.16.9.1:20001', '10.2.0.1:8080', '203.0.113.10:80', 'TCP', { established: true, age: OLD, related: false });
  const gone = emu.dsrBackend('172.16.9.2:20002', '10.2.0.1:8080', '203.0.113.10:80', 'TCP', { established: true, age: OLD, related: false });
  n.nat.v4.delete(gone.dsrNat as NatKey);
  t.equal(n.ct.tcp4.gc({ time: NOW, dryRun: true }).natDeleted, 1, 'only the DSR entry still there would go');
  t.not(n.nat.v4.lookup(kept.dsrNat as NatKey), undefined, 'and nothing went');
  // NatMapNext4 on an inbound entry: its swapped key names a SNAT entry, which is not the inbound entry's to take.
  const out = emu.masquerade({ src: '10.7.0.1:40000', dst: '1.1.1.1:443', proto: 'TCP' }, '192.0.2.1', { established: true, related: false });
  const inbound = CtKey4Global.fromFlow({ src: '10.7.0.1:40000', dst: '1.1.1.1:443', proto: 'TCP', dir: 'IN' });
  const before = n.nat.v4.count();
  NatMapNext4({ key: inbound, entry: new CtEntry({ lifetime: 1 }), natMap: n.nat.v4 });
  t.equal(n.nat.v4.count(), before, 'an IN entry takes no SNAT entry');
  NatMapNext4({ key: out.ctKey, entry: new CtEntry({ lifetime: 1 }), natMap: n.nat.v4 });
  t.equal(n.nat.v4.count(), before - 2, 'the egress entry takes its pair');
  NatMapNext4({ key: out.ctKey, entry: new CtEntry({ lifetime: 1 }), natMap: undefined });
  t.pass('an event without a NAT map is ignored');
});
