// Element operations many to a crossing (src/syscall/elemvec.ts over src/syscall/vector.ts), on real maps: the
// same answers as one call at a time, through the shim's vector and through a kernel that runs calls one by one;
// and the NAT follow-up that uses them, on a kernel with and without LOOKUP_AND_DELETE for hash maps.
import t from 'tap';
import { BpfMap, BpfCmd, MapType, Errno, defaultKernel, type Kernel } from '../../src/syscall/index.js';
import { ElemVector } from '../../src/syscall/elemvec.js';
import { dataView } from '../../src/structs/bytes.js';
import { openNode, silentLogger } from '../../src/index.js';
import { DatapathEmulator } from '../../src/testing/index.js';
import { privateBpffs, requirePrivileged } from '../helpers/priv.js';

function key(i: number): Uint8Array {
  const k = new Uint8Array(4);
  dataView(k).setUint32(0, i, true);
  return k;
}

function value(i: number): Uint8Array {
  const v = new Uint8Array(8);
  dataView(v).setUint32(0, i * 7, true);
  dataView(v).setUint32(4, 0xc0ffee, true);
  return v;
}

/** A kernel that records every call and has no vector entry point: vectors run one call at a time through it. */
function recording(): { kernel: Kernel; seen: number[] } {
  const seen: number[] = [];
  return { kernel: defaultKernel().intercept((cmd, attr, size, next) => { seen.push(cmd); return next(cmd, attr, size); }), seen };
}

t.test('lookups, deletes and lookup-and-deletes in one crossing give what one call at a time gives', async (t) => {
  if (!requirePrivileged(t)) return;
  const rec = recording();
  for (const [how, kernel] of [['the shim vector', defaultKernel()], ['one by one', rec.kernel]] as const) {
    t.equal(kernel.backend.callVec !== undefined, how === 'the shim vector', `${how}: ${kernel.name}`);
    using m = BpfMap.create({ name: 'ctmap_ev', type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 64 }, { kernel });
    for (let i = 0; i < 10; i++) m.set(key(i), value(i));
    const v = new ElemVector(m, 6);
    t.equal(v.keys.length, 6 * 4);
    t.equal(v.values.length, 6 * 8);
    // Slots 0–5: present, absent, present, absent, present, present.
    const ids = [0, 100, 3, 200, 9, 5];
    ids.forEach((id, s) => { v.keys.set(key(id), s * 4); });
    rec.seen.length = 0;
    for (let s = 0; s < 6; s++) t.equal(v.lookup(s), s, 'each call gets the next index');
    t.equal(v.length, 6);
    v.run();
    if (how === 'one by one') t.same(rec.seen, Array(6).fill(BpfCmd.BPF_MAP_LOOKUP_ELEM), `${how}: six lookups, in order`);
    ids.forEach((id, s) => {
      const want = id < 10 ? 0 : -Errno.ENOENT;
      t.equal(v.result(s), want, `${how}: slot ${s} (key ${id})`);
      if (want === 0) t.same(v.values.subarray(s * 8, s * 8 + 8), value(id), `${how}: slot ${s}'s value is key ${id}'s`);
    });
    // Deletes on slots 2 and 3 (present, absent), then a lookup-and-delete on slot 4 and a lookup of slot 2: the
    // calls run in the order queued, so the lookup after the delete misses.
    v.clear();
    t.equal(v.length, 0);
    v.values.fill(0);
    v.delete(2);
    v.delete(3);
    v.lookupAndDelete(4);
    v.lookup(2);
    v.run();
    t.same([v.result(0), v.result(1), v.result(2), v.result(3)], [0, -Errno.ENOENT, 0, -Errno.ENOENT], `${how}: results in order`);
    t.same(v.values.subarray(4 * 8, 5 * 8), value(9), `${how}: lookup-and-delete wrote the value`);
    t.equal(m.get(key(3)), undefined, `${how}: deleted`);
    t.equal(m.get(key(9)), undefined, `${how}: taken`);
    t.equal(m.count(), 8, `${how}: nothing else touched`);
    t.throws(() => v.result(4), /call 4 did not run/);
  }
});

t.test('bad slots and capacities are refused; a closed map fails before any syscall', async (t) => {
  if (!requirePrivileged(t)) return;
  const rec = recording();
  const m = BpfMap.create({ name: 'ctmap_ev2', type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 8 }, { kernel: rec.kernel });
  for (const bad of [0, 65537, 1.5, -1, Number.NaN]) t.throws(() => new ElemVector(m, bad), /holds 1…65536 slots/, `capacity ${bad}`);
  const v = new ElemVector(m, 2);
  for (const bad of [-1, 2, 0.5]) t.throws(() => v.lookup(bad), /slot .* is not in 0…1/, `slot ${bad}`);
  t.throws(() => v.delete(2), /not in 0…1/);
  t.throws(() => v.lookupAndDelete(2), /not in 0…1/);
  t.equal(v.length, 0, 'refused calls are not queued');
  v.lookup(0);
  v.lookup(1);
  t.throws(() => v.lookup(0), /vector full \(2 calls\)/, 'no third call in a vector of two');
  m.close();
  rec.seen.length = 0;
  t.throws(() => { v.run(); }, { name: 'BpfError', code: 'EBADF' });
  t.same(rec.seen, [], 'no syscall on a descriptor the process may have reused');
});

t.test('the NAT follow-up takes SNAT entries a vector at a time, and one at a time on a kernel without the command', async (t) => {
  if (!requirePrivileged(t)) return;
  // ENOTSUPP is what a 5.10 kernel answers for LOOKUP_AND_DELETE on a hash map; EINVAL stands for a kernel whose
  // probe said yes but whose NAT map refuses it (the follow-up then goes on one entry at a time).
  const cases = [['native', undefined], ['pre-5.14 (ENOTSUPP everywhere)', 'all'], ['refused on the NAT map only', 'nat']] as const;
  for (const [how, refuse] of cases) {
    const bpffs = privateBpffs(t);
    let natFd = -1;
    // Element calls on the NAT map, by command (map_fd is the first field of bpf_attr.map_elem).
    const counts = new Map<number, number>();
    const kernel = defaultKernel().intercept((cmd, attr, size, next) => {
      const fd = size >= 4 ? dataView(attr).getUint32(0, true) : -1;
      if (fd === natFd && cmd !== BpfCmd.BPF_MAP_LOOKUP_BATCH && cmd !== BpfCmd.BPF_MAP_DELETE_BATCH) counts.set(cmd, (counts.get(cmd) ?? 0) + 1);
      if (cmd === BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_ELEM) {
        if (refuse === 'all') return -Errno.ENOTSUPP;
        if (refuse === 'nat' && fd === natFd) return -Errno.EINVAL;
      }
      return next(cmd, attr, size);
    });
    const n = openNode({ bpffs, ctSizes: { tcp: 4096, any: 4096 }, natEntries: 8192, logger: silentLogger, create: true, kernel, ipv6: false });
    t.teardown(() => { n.close(); });
    const emu = new DatapathEmulator({ tcp4: n.ct.tcp4, any4: n.ct.any4, nat4: n.nat.v4 }, { now: 100000, seed: 5 });
    // 600 flows, 400 of them expired: more SNAT entries than one vector (256) takes.
    for (let i = 0; i < 600; i++) emu.masquerade({ src: `10.1.${i >> 8}.${i & 255}:40000`, dst: '1.1.1.1:443', proto: 'TCP' }, '192.0.2.1', { established: true, age: i % 3 === 0 ? 0 : 9000 });
    t.equal(n.nat.v4.count(), 1200);
    natFd = n.nat.v4.bpfMap.fdValue;
    counts.clear();
    const s = n.ct.tcp4.gc({ time: 100000 });
    t.equal(s.deleted, 400, `${how}: the expired entries went`);
    t.equal(s.natDeleted, 800, `${how}: with their SNAT pairs`);
    t.equal(n.nat.v4.count(), 400, `${how}: the live flows keep theirs`);
    const lad = counts.get(BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_ELEM) ?? 0;
    const lookups = counts.get(BpfCmd.BPF_MAP_LOOKUP_ELEM) ?? 0;
    const deletes = counts.get(BpfCmd.BPF_MAP_DELETE_ELEM) ?? 0;
    // Native: one LOOKUP_AND_DELETE per SNAT entry. Without the command (the probe saw it missing): never tried on
    // the NAT map, a lookup + delete per entry. Refused on the NAT map: the first vector's 256 calls, each then
    // taken by lookup + delete, and every later entry straight to lookup + delete
    // (The first vector is as long as the first CT batch's expired egress entries, at most 256.)
    if (refuse === 'nat') t.ok(lad > 0 && lad <= 256, `${how}: one vector of LOOKUP_AND_DELETE refused (${lad} calls), then none`);
    const want = refuse === undefined ? [400, 0, 0] : refuse === 'all' ? [0, 400, 400] : [lad, 400, 400];
    t.same([lad, lookups, deletes], want, `${how}: LOOKUP_AND_DELETE, LOOKUP, DELETE calls on the NAT map`);
  }
});
