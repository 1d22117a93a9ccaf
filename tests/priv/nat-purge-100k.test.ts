// The orphan purge at the size of a busy node: 100,000 flows of every kind written by the emulated datapath,
// a third of their CT entries evicted behind the NAT map's back, and each strategy (lookup, snapshot, auto)
// must remove exactly the orphaned NAT entries. Kept apart from nat.test.ts because it runs for ~30 s
// (mutation/guards.mjs lists the quick files).
import t from 'tap';
import { requirePrivileged } from '../helpers/priv.js';
import { setup, node } from '../helpers/compatmaps.js';
import { NatGCStats, ConntrackMap, type CtCheckStrategy } from '../../src/ctmap/index.js';
import { PurgeOrphanNATEntries } from '../../src/compat/index.js';
import type { NatMap } from '../../src/nat/index.js';
import { CtKey4Global, TUPLE_F_IN, type NatKey } from '../../src/structs/index.js';
import { Registry } from 'prom-client';

const hk = (k: { raw: Uint8Array }): string => Buffer.from(k.raw).toString('hex');

function natKeys(m: NatMap): Set<string> {
  const s = new Set<string>();
  m.dumpWithCallback((k) => { s.add(hk(k)); });
  return s;
}

t.test('100k-flow node with a third of CT entries evicted: the purge removes exactly the orphans', async (t) => {
  if (!requirePrivileged(t)) return;
  setup(t, { tcp: 262144, any: 262144, nat: 524288 });
  const n = node(t, 50000);
  const reg = new Registry();
  interface Rec { ct: CtKey4Global; map: ConntrackMap; nat: NatKey[]; related: boolean }
  const flows: Rec[] = [];
  const N = 100000;
  let i = 0;
  const ip = (a: number, x: number): string => `${a}.${(x >> 16) & 255}.${(x >> 8) & 255}.${x & 255}`;
  for (; i < N; i++) {
    const src = `10.${(i >> 8) & 255}.${i & 255}.1`;
    const dst = ip(100 + (i % 50), i % 997);
    const kind = i % 20;
    let r;
    if (kind < 12) r = n.emu.masquerade({ src: `${src}:${40000 + (i % 20000)}`, dst: `${dst}:443`, proto: 'TCP' }, '192.0.2.1', { established: true });
    else if (kind < 16) r = n.emu.masquerade({ src: `${src}:${30000 + (i % 30000)}`, dst: `${dst}:53`, proto: 'UDP' }, '192.0.2.1', { related: false });
    else if (kind === 16) r = n.emu.masquerade({ src: `${src}:${i % 65536}`, dst, proto: 'ICMP' }, '192.0.2.1', { related: false });
    else if (kind === 17) r = n.emu.dsrBackend(`${dst}:${20000 + (i % 40000)}`, `${src}:8080`, '203.0.113.10:80', 'TCP', { related: false });
    else if (kind === 18) r = n.emu.ingress({ src: `${dst}:${20000 + (i % 40000)}`, dst: `${src}:80`, proto: 'TCP' }, { related: false });
    else r = n.emu.service(`${dst}:${20000 + (i % 40000)}`, '10.96.0.10:80', 'TCP', BigInt(i % 100), 5);
    flows.push({ ct: r.ctKey as CtKey4Global, map: r.ctMap, nat: [r.natOut, r.natIn, r.dsrNat].filter((k): k is NatKey => k !== undefined), related: r.related !== undefined });
  }
  const natTotal = flows.reduce((a, f) => a + f.nat.length, 0);
  t.equal(n.nat4.count(), natTotal, `all ${natTotal} NAT entries present (no LRU eviction during the fill)`);
  const related = flows.filter((f) => f.related).length;
  t.equal(n.tcp4.count() + n.any4.count(), N + related, `one CT entry per flow, plus ${related} related-ICMP entries`);
  // Evict every third flow's CT entry behind the NAT map's back.
  const orphans = new Set<string>();
  let missingCT = 0;
  const alive = new Set<string>();
  for (const [j, f] of flows.entries()) {
    if (j % 3 === 0) {
      if (!f.map.delete(f.ct)) missingCT++;
      for (const k of f.nat) orphans.add(hk(k));
    } else {
      for (const k of f.nat) alive.add(hk(k));
    }
  }
  t.equal(missingCT, 0, 'every evicted CT entry was there');
  // Save the NAT map as it is, so every strategy starts from the same contents.
  const saved: [Uint8Array, Uint8Array][] = [];
  for (const b of n.nat4.batches()) {
    saved.push([b.keys.slice(0, b.count * b.keySize), b.values.slice(0, b.count * b.valueSize)]);
  }
  const restore = (): void => {
    n.nat4.flush();
    for (const [k, v] of saved) n.nat4.bpfMap.updateBatch(k, v);
  };
  t.equal(natKeys(n.nat4).size, orphans.size + alive.size);
  const inbound = (k: string): boolean => (parseInt(k.slice(26, 28), 16) & TUPLE_F_IN) !== 0;
  const aliveIn = [...alive].filter(inbound).length;
  const orphansIn = [...orphans].filter(inbound).length;
  const want = [alive.size - aliveIn, aliveIn, orphans.size - orphansIn, orphansIn];
  for (const strategy of ['lookup', 'snapshot', 'auto'] as CtCheckStrategy[]) {
    restore();
    t.equal(n.nat4.count(), natTotal, `${strategy}: starts from the full NAT map`);
    const s = PurgeOrphanNATEntries(n.tcp4, n.any4, { strategy, registry: reg }) as NatGCStats;
    const after = natKeys(n.nat4);
    t.equal(after.size, alive.size, `${strategy}: ${after.size} NAT entries left`);
    t.ok([...alive].every((k) => after.has(k)), `${strategy}: every owned NAT entry is still there`);
    t.same([s.egressAlive, s.ingressAlive, s.egressDeleted, s.ingressDeleted], want, `${strategy}: counters ${want.join('/')}`);
    t.equal(s.snapshot, strategy === 'snapshot', `${strategy}: snapshot ${s.snapshot ? 'taken' : 'not taken'} (${s.ctLookups} CT lookups)`);
    if (strategy === 'snapshot') t.ok(s.ctLookups <= orphans.size * 2, 'with a snapshot only candidate orphans are confirmed by lookup');
    if (strategy === 'lookup') t.ok(s.ctLookups >= natTotal, 'one lookup or more per NAT entry without a snapshot');
  }
  const g = await reg.getSingleMetric('cilium_datapath_nat_gc_entries')?.get();
  t.equal(g?.values.find((v) => v.labels.direction === 'egress' && v.labels.status === 'deleted')?.value, orphans.size - orphansIn);
});
