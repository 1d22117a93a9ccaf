// The orphan purge (src/ctmap/orphans.ts) when the kernel fails part of its work: a CT snapshot whose walk fails
// falls back to lookups with the same outcome; a NAT map that cannot be opened purges nothing. Guards orphans.ts
// in `make mutation` (mutation/guards.mjs) beside tests/priv/orphans.test.ts.
import t from 'tap';
import type { Test } from 'tap';
import { privateBpffs, requirePrivileged } from '../helpers/priv.js';
import { openNode, type Node } from '../../src/index.js';
import { Registry } from 'prom-client';
import { CtView, NatGCStats, purgeOrphans } from '../../src/ctmap/orphans.js';
import { DumpStats } from '../../src/syscall/reliable.js';
import { refuseAll, vectorKernel } from '../helpers/vecspy.js';
import { BpfCmd, Errno, Kernel, defaultKernel, mapBatchAttr } from '../../src/syscall/index.js';
import { dataView } from '../../src/structs/bytes.js';
import { DatapathEmulator } from '../../src/testing/emulator.js';
import type { NatKey } from '../../src/structs/index.js';

interface Built { n: Node; logs: string[]; orphans: NatKey[]; owned: NatKey[] }

/** 40 masqueraded flows; the CT entries of the first 15 evicted, so their 30 SNAT entries are orphans. */
function build(t: Test, kernel: Kernel): Built {
  const logs: string[] = [];
  const n = openNode({ bpffs: privateBpffs(t), ctSizes: { tcp: 4096, any: 4096 }, natEntries: 8192, create: true, ipv6: false, kernel,
    logger: (level, m) => { logs.push(`${level}: ${m}`); } });
  t.teardown(() => { n.close(); });
  const emu = new DatapathEmulator({ tcp4: n.ct.tcp4, any4: n.ct.any4, nat4: n.nat.v4 }, { now: 100000, seed: 21 });
  const orphans: NatKey[] = [];
  const owned: NatKey[] = [];
  for (let i = 0; i < 40; i++) {
    const f = emu.masquerade({ src: `10.5.0.${i + 1}:41000`, dst: '9.9.9.9:443', proto: 'TCP' }, '192.0.2.1', { established: true, related: false });
    const keys = [f.natOut, f.natIn].filter((k): k is NatKey => k !== undefined);
    if (i < 15) {
      n.ct.tcp4.delete(f.ctKey);
      orphans.push(...keys);
    } else {
      owned.push(...keys);
    }
  }
  return { n, logs, orphans, owned };
}

const hk = (k: { raw: Uint8Array }): string => Buffer.from(k.raw).toString('hex');
const left = (n: Node): Set<string> => new Set([...n.nat.v4].map((r) => hk(r.key)));
const counts = (s: NatGCStats): number[] => [s.egressAlive, s.ingressAlive, s.egressDeleted, s.ingressDeleted];

t.test('a CT snapshot whose walk fails: the purge goes on with lookups, to the same outcome', async (t) => {
  if (!requirePrivileged(t)) return;
  // Both CT maps' walks fail (TCP and Any: the purge consults both).
  const ctFds: number[] = [];
  const kernel = defaultKernel().intercept((cmd, attr, size, next) =>
    (cmd === BpfCmd.BPF_MAP_LOOKUP_BATCH && ctFds.includes(dataView(attr).getUint32(mapBatchAttr.offsetOf.map_fd, true)) ? -Errno.EIO : next(cmd, attr, size)));
  const { n, logs, orphans, owned } = build(t, kernel);
  ctFds.push(n.ct.tcp4.bpfMap.fdValue, n.ct.any4.bpfMap.fdValue);
  const s = purgeOrphans(n.ct.tcp4, n.ct.any4, { strategy: 'snapshot' }) as NatGCStats;
  t.equal(s.snapshot, true, 'the purge switched to snapshots (stats.snapshot), though neither could be taken');
  t.same(logs.filter((l) => l.includes('snapshot')), ['debug: CT snapshot failed, using lookups', 'debug: CT snapshot failed, using lookups'], 'once per CT map');
  t.same([s.egressDeleted + s.ingressDeleted, s.egressAlive + s.ingressAlive], [orphans.length, owned.length], 'the orphans went, the owned entries stayed');
  t.same(left(n), new Set(owned.map(hk)));
  t.ok(s.ctLookups >= orphans.length + owned.length, `every NAT entry was checked by lookup (${s.ctLookups})`);
  t.equal(s.error, undefined);
});

t.test('the same purge with a working snapshot, for comparison: a snapshot is kept and fewer lookups are made', async (t) => {
  if (!requirePrivileged(t)) return;
  const { n, orphans, owned } = build(t, defaultKernel());
  const s = purgeOrphans(n.ct.tcp4, n.ct.any4, { strategy: 'snapshot' }) as NatGCStats;
  t.equal(s.snapshot, true);
  t.same(left(n), new Set(owned.map(hk)));
  t.ok(s.ctLookups < orphans.length + owned.length, `${s.ctLookups} lookups`);
});

t.test('a NAT map that cannot be opened: nothing is purged, a warning names it', async (t) => {
  if (!requirePrivileged(t)) return;
  const { n, logs } = build(t, defaultKernel());
  const before = left(n);
  n.nat.v4.close();
  // Another handle on the same bpffs whose kernel refuses to open pins (BPF_OBJ_GET): its NAT map cannot be opened.
  const refusing = defaultKernel().intercept((cmd, attr, size, next) => (cmd === BpfCmd.BPF_OBJ_GET ? -Errno.EACCES : next(cmd, attr, size)));
  const other = openNode({ bpffs: n.settings.bpffs, ipv6: false, kernel: refusing, logger: (level, m) => { logs.push(`${level}: ${m}`); } });
  t.teardown(() => { other.close(); });
  t.equal(purgeOrphans(other.ct.tcp4, other.ct.any4), undefined, 'no stats: no purge');
  t.same(left(n), before, 'every NAT entry is still there');
  t.ok(logs.includes('warn: Unable to open NAT map'), logs.join('; '));
});

/** A log line with the error's code, when the call names one (the fields a warning carries). */
function logLine(level: string, m: string, f?: { error?: unknown }): string {
  // The error itself, or the kernel's error it wraps (an IterationError's cause).
  const e = f?.error as { code?: string; cause?: { code?: string } } | undefined;
  return e === undefined ? `${level}: ${m}` : `${level}: ${m} [${e.code ?? e.cause?.code ?? '?'}]`;
}

t.test('what the purge records: NAT entries walked, start and end, and the error each warning is about', async (t) => {
  if (!requirePrivileged(t)) return;
  const registry = new Registry();
  const logs: string[] = [];
  let failNat = -1;
  let failCt: number[] = [];
  const kernel = defaultKernel().intercept((cmd, attr, size, next) => {
    if (cmd === BpfCmd.BPF_MAP_LOOKUP_BATCH) {
      const fd = dataView(attr).getUint32(mapBatchAttr.offsetOf.map_fd, true);
      if (fd === failNat || failCt.includes(fd)) return -Errno.EIO;
    }
    return next(cmd, attr, size);
  });
  const n = openNode({ bpffs: privateBpffs(t), ctSizes: { tcp: 4096, any: 4096 }, natEntries: 8192, create: true, ipv6: false, kernel, registry,
    logger: (level, m, f) => { logs.push(logLine(level, m, f)); } });
  t.teardown(() => { n.close(); });
  const emu = new DatapathEmulator({ tcp4: n.ct.tcp4, any4: n.ct.any4, nat4: n.nat.v4 }, { now: 100000, seed: 5 });
  for (let i = 0; i < 10; i++) {
    const f = emu.masquerade({ src: `10.6.0.${i + 1}:41000`, dst: '9.9.9.9:443', proto: 'TCP' }, '192.0.2.1', { established: true, related: false });
    if (i < 2) n.ct.tcp4.delete(f.ctKey);
  }
  const before = new Date();
  const s = purgeOrphans(n.ct.tcp4, n.ct.any4, { strategy: 'lookup' }) as NatGCStats;
  t.same(counts(s), [8, 8, 2, 2]);
  t.equal(s.dumpStats.lookup, 20, 'every NAT entry walked counted once');
  t.ok(s.dumpStats.completed);
  t.ok(s.dumpStats.started instanceof Date && s.dumpStats.finished instanceof Date, 'start and end recorded');
  t.ok((s.dumpStats.finished as Date).getTime() >= before.getTime() && (s.dumpStats.finished as Date) >= (s.dumpStats.started as Date));
  t.same(logs, [], 'a clean purge says nothing');
  const pressure = async (): Promise<number | undefined> => (await registry.getMetricsAsJSON()).find((x) => x.name === 'cilium_bpf_map_pressure')
    ?.values.find((v) => v.labels.map_name === 'snat_v4_external')?.value;
  t.equal(await pressure(), 16 / 8192, 'NAT map pressure from the entries alive');
  // The CT snapshot's walk fails: a debug line with the kernel's error.
  failCt = [n.ct.tcp4.bpfMap.fdValue, n.ct.any4.bpfMap.fdValue];
  purgeOrphans(n.ct.tcp4, n.ct.any4, { strategy: 'snapshot' });
  failCt = [];
  t.same(logs, ['debug: CT snapshot failed, using lookups [EIO]', 'debug: CT snapshot failed, using lookups [EIO]']);
  logs.length = 0;
  // The NAT walk fails: a warning with the error, the stats carry it, and the pressure gauge keeps its last value.
  failNat = n.nat.v4.bpfMap.fdValue;
  const f = purgeOrphans(n.ct.tcp4, n.ct.any4, { strategy: 'lookup' }) as NatGCStats;
  failNat = -1;
  t.equal(f.dumpStats.completed, false);
  t.ok(f.dumpStats.finished instanceof Date, 'the end is recorded on failure too');
  t.match(f.error?.message, /EIO/);
  t.same(logs, ['warn: NATmap dump failed during GC [EIO]']);
  t.equal(await pressure(), 16 / 8192, 'a failed walk does not report the map as empty');
});

t.test('a lookup crossing that fails names its error; a missing CT map is no failure (snapshot or lookups)', async (t) => {
  if (!requirePrivileged(t)) return;
  // Node a owns the maps; the Any CT map's pin is removed, so node b (same bpffs, not creating) finds it missing.
  const root = privateBpffs(t);
  const a = openNode({ bpffs: root, ctSizes: { tcp: 4096, any: 4096 }, natEntries: 8192, create: true, ipv6: false, logger: () => undefined });
  t.teardown(() => { a.close(); });
  const emu = new DatapathEmulator({ tcp4: a.ct.tcp4, any4: a.ct.any4, nat4: a.nat.v4 }, { now: 100000, seed: 9 });
  const owned: NatKey[] = [];
  for (let i = 0; i < 12; i++) {
    const f = emu.masquerade({ src: `10.7.0.${i + 1}:41000`, dst: '9.9.9.9:443', proto: 'TCP' }, '192.0.2.1', { established: true, related: false });
    if (i < 4) a.ct.tcp4.delete(f.ctKey);
    else owned.push(...[f.natOut, f.natIn].filter((k): k is NatKey => k !== undefined));
  }
  a.ct.any4.bpfMap.unpin();
  const nat = a.nat.v4.bpfMap;
  const saved = [...nat.entries()].map(([k, v]) => [k.slice(), v.slice()] as const);
  for (const strategy of ['snapshot', 'lookup', 'auto'] as const) {
    for (const [k, v] of saved) nat.set(k, v);
    const logs: string[] = [];
    const b = openNode({ bpffs: root, ipv6: false, logger: (level, m, f) => { logs.push(logLine(level, m, f)); } });
    const any = new CtView(b.ct.any4, new NatGCStats('ipv4', 0, new DumpStats(1)));
    t.same([any.missing, any.map], [true, undefined], 'the Any CT map: missing');
    const tcp = new CtView(b.ct.tcp4, new NatGCStats('ipv4', 0, new DumpStats(1)));
    t.same([tcp.missing, tcp.map !== undefined], [false, true], 'the TCP CT map: open, not missing');
    const s = purgeOrphans(b.ct.tcp4, b.ct.any4, { strategy }) as NatGCStats;
    b.close();
    t.same(counts(s), [8, 8, 4, 4], `${strategy}: the orphans went`);
    t.same(left(a), new Set(owned.map(hk)), `${strategy}: the owned entries stayed`);
    t.same(logs.filter((l) => !l.startsWith('debug')), [], `${strategy}: no warning`);
  }
  // The TCP CT map closed as the NAT walk starts: the lookups' crossing fails (EBADF), logged with its error.
  for (const [k, v] of saved) nat.set(k, v);
  const logs: string[] = [];
  let natFd = -1;
  const kernel = defaultKernel().intercept((cmd, attr, size, next) => {
    if (cmd === BpfCmd.BPF_MAP_LOOKUP_BATCH && dataView(attr).getUint32(mapBatchAttr.offsetOf.map_fd, true) === natFd) c.ct.tcp4.close();
    return next(cmd, attr, size);
  });
  const c = openNode({ bpffs: root, ipv6: false, kernel, logger: (level, m, f) => { logs.push(logLine(level, m, f)); } });
  t.teardown(() => { c.close(); });
  c.ct.tcp4.open();
  natFd = c.nat.v4.bpfMap.fdValue;
  const s = purgeOrphans(c.ct.tcp4, c.ct.any4, { strategy: 'lookup' }) as NatGCStats;
  natFd = -1;
  t.same(counts(s), [12, 12, 0, 0], 'every NAT entry kept');
  t.same(logs, ['warn: CT lookups failed; their NAT entries are kept [EBADF]']);
});

t.test('the swapped-ports lookups refused (EPERM): the egress orphans waiting on them are kept', async (t) => {
  if (!requirePrivileged(t)) return;
  let crossings = 0;
  const kernel = vectorKernel((cmd, calls, n, stop, real) => {
    if (cmd !== BpfCmd.BPF_MAP_LOOKUP_ELEM) return real(calls, n, stop);
    crossings++;
    // TCP flows only: the first crossing asks every entry's first key, the second the egress orphans' swapped ports.
    return crossings === 2 ? refuseAll(calls, n, Errno.EPERM) : real(calls, n, stop);
  });
  const { n, orphans } = build(t, kernel);
  const s = purgeOrphans(n.ct.tcp4, n.ct.any4, { strategy: 'lookup' }) as NatGCStats;
  t.equal(crossings, 2);
  t.same(counts(s), [40, 25, 0, 15], 'the 15 egress orphans kept (their second lookup could not say), the 15 ingress ones went');
  t.equal(left(n).size, 80 - 15);
  t.equal(orphans.length, 30);
});

t.test('batches of more than one lookup chunk (256), TCP and UDP flows: each entry decided with its own answers', async (t) => {
  if (!requirePrivileged(t)) return;
  // A NAT map of 65536 entries walks 512 at a time, so a batch spans two lookup chunks; TCP and UDP flows
  // interleave, so the chunk's entries consult different CT maps.
  const n = openNode({ bpffs: privateBpffs(t), ctSizes: { tcp: 4096, any: 4096 }, natEntries: 65536, create: true, ipv6: false, logger: () => undefined });
  t.teardown(() => { n.close(); });
  const emu = new DatapathEmulator({ tcp4: n.ct.tcp4, any4: n.ct.any4, nat4: n.nat.v4 }, { now: 100000, seed: 13 });
  const owned: NatKey[] = [];
  let orphans = 0;
  for (let i = 0; i < 300; i++) {
    const f = emu.masquerade({ src: `10.8.${i >> 8}.${i & 255}:41000`, dst: '9.9.9.9:443', proto: i % 2 === 0 ? 'TCP' : 'UDP' }, '192.0.2.1', { established: true, related: false });
    const keys = [f.natOut, f.natIn].filter((k): k is NatKey => k !== undefined);
    if (i % 7 === 3) {
      (i % 2 === 0 ? n.ct.tcp4 : n.ct.any4).delete(f.ctKey);
      orphans += keys.length;
    } else {
      owned.push(...keys);
    }
  }
  let biggest = 0;
  for (const b of n.nat.v4.bpfMap.batches()) biggest = Math.max(biggest, b.count);
  t.ok(biggest > 256, `a batch of ${biggest} NAT entries`);
  const s = purgeOrphans(n.ct.tcp4, n.ct.any4, { strategy: 'lookup' }) as NatGCStats;
  t.equal(s.egressDeleted + s.ingressDeleted, orphans, `${orphans} orphans deleted`);
  t.equal(s.egressAlive + s.ingressAlive, owned.length);
  t.same(left(n), new Set(owned.map(hk)), 'exactly the owned entries are left');
});

t.test('a CT view takes its snapshot once: a second takeSnapshot() reads nothing', async (t) => {
  if (!requirePrivileged(t)) return;
  let walks = 0;
  let ctFd = -1;
  const kernel = defaultKernel().intercept((cmd, attr, size, next) => {
    if (cmd === BpfCmd.BPF_MAP_LOOKUP_BATCH && dataView(attr).getUint32(mapBatchAttr.offsetOf.map_fd, true) === ctFd) walks++;
    return next(cmd, attr, size);
  });
  const { n } = build(t, kernel);
  ctFd = n.ct.tcp4.bpfMap.fdValue;
  const view = new CtView(n.ct.tcp4, new NatGCStats('ipv4', 0, new DumpStats(1)));
  view.takeSnapshot();
  const first = walks;
  t.ok(first > 0, `the snapshot walked the CT map (${first} batch calls)`);
  view.takeSnapshot();
  t.equal(walks, first, 'the second call made no call');
});
