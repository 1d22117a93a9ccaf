// The orphan purge (src/ctmap/orphans.ts) when the kernel fails part of its work: a CT snapshot whose walk fails
// falls back to lookups with the same outcome; a NAT map that cannot be opened purges nothing. Guards orphans.ts
// in `make mutation` (mutation/guards.mjs) beside tests/priv/orphans.test.ts.
import t from 'tap';
import type { Test } from 'tap';
import { privateBpffs, requirePrivileged } from '../helpers/priv.js';
import { openNode, type Node } from '../../src/index.js';
import { purgeOrphans, type NatGCStats } from '../../src/ctmap/orphans.js';
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
