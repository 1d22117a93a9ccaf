// The node handle on the real kernel: settings as a value (two handles, two roots, one process), families found from
// what is pinned, iteration (sync, async, filtered, early break), node-wide GC with its NAT follow-up, dry runs, and
// gcAsync keeping the event loop alive during a 1M-entry pass.
import t from 'tap';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { openFdCount, privateBpffs, requirePrivileged } from '../helpers/priv.js';
import { openNode, Settings, type Node } from '../../src/index.js';
import { BpfMap, MapType } from '../../src/syscall/index.js';
import { CtEntry, CtKey4Global, SizeofCtEntry } from '../../src/structs/index.js';
import { setU32 } from '../../src/structs/bytes.js';
import { DatapathEmulator } from '../../src/testing/emulator.js';
import type { ConntrackMap } from '../../src/ctmap/index.js';
import type { LogLevel } from '../../src/datapath/index.js';
import type { Test } from 'tap';

const quiet = (): void => undefined;
const here = dirname(fileURLToPath(import.meta.url));

/** A node created in a private bpffs with small maps (both families unless told). */
function node(t: Test, extra: Parameters<typeof openNode>[0] = {}): Node {
  const bpffs = privateBpffs(t);
  const n = openNode({ bpffs, ctSizes: { tcp: 8192, any: 8192 }, natEntries: 16384, logger: quiet, create: true, ...extra });
  t.teardown(() => { n.close(); });
  return n;
}

/** Fill `m` with `n` v4 entries (distinct keys) in batches; lifetime(i) decides each entry's lifetime. */
function fill(m: ConntrackMap, n: number, lifetime: (i: number) => number, first = 0): void {
  const bm = m.bpfMap;
  const chunk = 8192;
  const keys = new Uint8Array(chunk * 14);
  const values = new Uint8Array(chunk * SizeofCtEntry);
  for (let base = 0; base < n; base += chunk) {
    const c = Math.min(chunk, n - base);
    keys.fill(0);
    values.fill(0);
    for (let j = 0; j < c; j++) {
      const i = first + base + j;
      const k = j * 14;
      keys[k] = 10; keys[k + 1] = (i >> 16) & 255; keys[k + 2] = (i >> 8) & 255; keys[k + 3] = i & 255;
      keys[k + 4] = 192; keys[k + 5] = 168; keys[k + 6] = 0; keys[k + 7] = 1;
      keys[k + 8] = 0; keys[k + 9] = 80; keys[k + 10] = (i >> 8) & 255; keys[k + 11] = i & 255;
      keys[k + 12] = 6; keys[k + 13] = 0;
      setU32(values, j * SizeofCtEntry + 32, lifetime(i));
    }
    bm.updateBatch(keys, values, c);
  }
}

function digest(maps: readonly { batches(): Iterable<{ keys: Uint8Array; values: Uint8Array; count: number; keySize: number; valueSize: number }> }[]): string {
  const rows: string[] = [];
  for (const m of maps) {
    for (const b of m.batches()) {
      for (let i = 0; i < b.count; i++) {
        rows.push(Buffer.from(b.keys.subarray(i * b.keySize, (i + 1) * b.keySize)).toString('hex') + Buffer.from(b.values.subarray(i * b.valueSize, (i + 1) * b.valueSize)).toString('hex'));
      }
    }
  }
  return createHash('sha256').update(rows.sort().join('\n')).digest('hex');
}

t.test('two handles on two bpffs roots in one process never see each other', async (t) => {
  if (!requirePrivileged(t)) return;
  const logA: string[] = [];
  const logB: string[] = [];
  const a = node(t, { ctSizes: { tcp: 2048, any: 1024 }, logger: (l: LogLevel, m: string) => logA.push(`${l}:${m}`), clock: { monotonicNs: () => 5000n * 1_000_000_000n, jiffies: () => 0n } });
  const b = node(t, { ctSizes: { tcp: 4096, any: 2048 }, logger: (l: LogLevel, m: string) => logB.push(`${l}:${m}`), clock: { monotonicNs: () => 100n * 1_000_000_000n, jiffies: () => 0n } });
  t.not(a.settings.bpffs, b.settings.bpffs);
  t.same([a.ct.tcp4.maxEntries, a.ct.any4.maxEntries, b.ct.tcp4.maxEntries, b.ct.any4.maxEntries], [2048, 1024, 4096, 2048], 'each node its own sizes');
  t.equal(a.ct.tcp4.path(), join(a.settings.bpffs, 'tc/globals/cilium_ct4_global'));
  t.equal(b.ct.tcp4.path(), join(b.settings.bpffs, 'tc/globals/cilium_ct4_global'));
  const k = CtKey4Global.fromFlow({ src: '10.0.0.1:40000', dst: '10.0.0.2:80', proto: 'TCP' });
  a.ct.tcp4.update(k, new CtEntry({ lifetime: 1000 }));
  b.ct.tcp4.update(k, new CtEntry({ lifetime: 1000 }));
  t.same([a.ct.tcp4.count(), b.ct.tcp4.count()], [1, 1]);
  // Each node's "now" is its own clock: at 5000 s the entry is expired on a, at 100 s it is alive on b.
  const ra = a.gc();
  const rb = b.gc();
  t.same([ra.deleted, rb.deleted], [1, 0], 'a GC judges by its own clock');
  t.same([a.ct.tcp4.count(), b.ct.tcp4.count()], [0, 1], 'and touches only its own maps');
  // A warning goes to the node that caused it only: replace an incompatible pin under a.
  a.ct.any6.close();
  const bm = BpfMap.create({ name: 'cilium_ct_any6_', type: MapType.LRUHash, keySize: 38, valueSize: 8, maxEntries: 64 });
  a.ct.any6.unpin();
  bm.pin(a.ct.any6.path());
  bm.close();
  t.equal(a.ct.any6.openOrCreate(), 'recreated');
  t.same(logA.filter((l) => l.startsWith('warn')), ['warn:Unpinning map with incompatible properties']);
  t.same(logB, [], 'the other node heard nothing');
  // Settings are values: `with` gives a new one and leaves the old as it was.
  const s2 = a.settings.with({ ctSizes: { tcp: 1024 } });
  t.same([a.settings.ctSizes.tcp, s2.ctSizes.tcp, s2.ctSizes.any], [2048, 1024, 1024]);
  t.ok(Object.isFrozen(a.settings), 'settings cannot be changed in place');
});

t.test('families come from what is pinned — any CT, NAT or per-cluster map — and from the options', async (t) => {
  if (!requirePrivileged(t)) return;
  const bpffs = privateBpffs(t);
  const fam = (o: Parameters<typeof openNode>[0] = {}): [boolean, boolean] => {
    const n = openNode({ bpffs, logger: quiet, ...o });
    n.close();
    return [n.ipv4, n.ipv6];
  };
  t.same(fam(), [false, false], 'an empty bpffs: no family');
  t.same(fam({ ipv6: true }), [false, true], 'saying one family means that one');
  t.same(fam({ ipv4: false }), [false, false], 'saying a family is off leaves the other to discovery');
  // Only the v4 Any map is pinned (no TCP map at all): v4 is there.
  const small = { bpffs, ctSizes: { tcp: 1024, any: 1024 }, natEntries: 1024, logger: quiet };
  const only = openNode({ ...small, ipv4: true, ipv6: false });
  only.ct.any4.openOrCreate();
  only.close();
  t.same(fam(), [true, false], 'a node with only an Any map still has its family');
  // A v6 per-cluster outer map alone makes v6 present.
  const v6 = openNode({ ...small, ipv4: false, ipv6: true });
  const mgr = v6.perClusterCTMaps();
  mgr.openOrCreate();
  mgr.createClusterCTMaps(7);
  mgr.close();
  v6.close();
  t.same(fam(), [true, true], 'per-cluster maps count');
  const n = openNode({ bpffs, logger: quiet });
  t.same(n.clusterIDs(), [7], 'the clusters with maps pinned');
  t.same(n.ct.present().map((m) => m.name), ['cilium_ct_any4_global'], 'only what is pinned is present');
  t.same(n.count().map((c) => c.map), ['cilium_ct_any4_global'], 'node-wide counts skip what is not pinned');
  n.close();
  // create on an empty bpffs: both families.
  const other = privateBpffs(t);
  const c = openNode({ bpffs: other, ...{ ctSizes: small.ctSizes, natEntries: 1024 }, logger: quiet, create: true });
  t.same([c.ipv4, c.ipv6, c.ct.present().length, c.nat.present().length], [true, true, 4, 2]);
  c.close();
});

t.test('iteration: for…of equals count() and the batch dump on 100k entries; filters, limit, async', async (t) => {
  if (!requirePrivileged(t)) return;
  const n = node(t, { ctSizes: { tcp: 131072, any: 8192 } });
  fill(n.ct.tcp4, 100_000, (i) => 1000 + (i % 100));
  const it: string[] = [];
  for (const { key, entry } of n.ct.tcp4) it.push(Buffer.from(key.raw).toString('hex') + Buffer.from(entry.raw).toString('hex'));
  t.equal(it.length, 100_000);
  t.equal(n.ct.tcp4.count(), it.length, 'iteration sees what count() counts');
  const dump: string[] = [];
  for (const b of n.ct.tcp4.batches()) {
    for (let i = 0; i < b.count; i++) dump.push(Buffer.from(b.keys.subarray(i * 14, (i + 1) * 14)).toString('hex') + Buffer.from(b.values.subarray(i * 56, (i + 1) * 56)).toString('hex'));
  }
  t.same(it, dump, 'the same entries, in the same order, as the batch dump');
  t.equal(new Set(it).size, 100_000, 'each once');
  // Records are copies: kept ones do not change while the walk goes on.
  const kept = [...n.ct.tcp4.entries({ filter: { limit: 3 } })];
  t.equal(kept.length, 3, 'the limit');
  t.ok(kept.every((r, i) => Buffer.from(r.key.raw).toString('hex') + Buffer.from(r.entry.raw).toString('hex') === it[i]));
  // A filter as `ct list` prints: the flow's source is the key's DestAddr (10.x), dport 80.
  t.equal(n.ct.tcp4.count({ filter: { src: '10.0.0.0/16' } }), 65536, 'src 10.0.x.x: entries 0…65535');
  t.equal(n.ct.tcp4.count({ filter: { src: '10.1.0.0/16' } }), 100_000 - 65536, 'src 10.1.x.x: the rest');
  t.equal(n.ct.tcp4.count({ filter: { src: '10.0.0.0/8', dport: 80, proto: 'tcp', dir: 'OUT' } }), 100_000);
  t.equal(n.ct.tcp4.count({ filter: { dst: '192.168.0.0/24' } }), 100_000, 'the flow\'s destination is the key\'s SourceAddr');
  t.equal(n.ct.tcp4.count({ filter: { expiredAt: 1050 } }), 50_000, 'lifetime below 1050');
  t.equal(n.ct.tcp4.count({ filter: { aliveAt: 1050 } }), 50_000);
  t.equal(n.ct.tcp4.count({ filter: { src: 'fd00::/8' } }), 0, 'a v6 prefix never matches a v4 map');
  t.equal([...n.ct.entries({ filter: { limit: 5 } })].length, 5, 'the node\'s set honours the limit across maps');
  t.ok([...n.ct.entries({ filter: { limit: 1 } })].every((r) => r.map === n.ct.tcp4), 'set records name their map');
  // Async iteration yields to the event loop between batches and gives the same entries.
  let ticks = 0;
  const timer = setInterval(() => { ticks++; }, 0);
  const asyncSeen: string[] = [];
  for await (const { key, entry } of n.ct.tcp4) asyncSeen.push(Buffer.from(key.raw).toString('hex') + Buffer.from(entry.raw).toString('hex'));
  clearInterval(timer);
  t.same(asyncSeen, it, 'the async walk gives the same entries');
  t.ok(ticks > 0, `a timer ran during the async walk (${ticks} ticks)`);
});

t.test('breaking out of a walk early leaves no fd open; close releases everything', async (t) => {
  if (!requirePrivileged(t)) return;
  const bpffs = privateBpffs(t);
  const setup = openNode({ bpffs, ctSizes: { tcp: 16384, any: 1024 }, natEntries: 1024, logger: quiet, create: true });
  fill(setup.ct.tcp4, 10_000, () => 5);
  setup.close();
  const before = openFdCount();
  for (let round = 0; round < 50; round++) {
    using n = openNode({ bpffs, logger: quiet });
    for (const r of n.ct.tcp4) { if (r.entry.lifetime === 5) break; }
    for (const r of n.ct.entries({ filter: { dport: 80 } })) { if (r.key.nextHeader === 6) break; }
    for await (const r of n.ct.tcp4.entriesAsync()) { if (r.entry.lifetime === 5) break; }
    const gen = n.ct.tcp4.entries();
    gen.next();
    gen.return();
  }
  t.equal(openFdCount(), before, 'after 50 rounds of broken walks and `using`, the fd count is back where it was');
  const n = openNode({ bpffs, logger: quiet });
  n.ct.tcp4.count();
  t.ok(openFdCount() > before, 'an open node holds its maps');
  n.close();
  n.close();
  t.equal(openFdCount(), before, 'close() releases them, and is idempotent');
});

t.test('node.gc: every CT map (global and per-cluster), the NAT follow-up, stats per map; dry runs and filters', async (t) => {
  if (!requirePrivileged(t)) return;
  const n = node(t);
  const emu = new DatapathEmulator({ tcp4: n.ct.tcp4, any4: n.ct.any4, tcp6: n.ct.tcp6, any6: n.ct.any6, nat4: n.nat.v4, nat6: n.nat.v6 }, { now: 100000, seed: 3 });
  for (let i = 0; i < 50; i++) emu.masquerade({ src: `10.0.1.${i}:40000`, dst: '1.1.1.1:443', proto: 'TCP' }, '192.0.2.1', { established: true, age: i < 20 ? 9000 : 0 });
  for (let i = 0; i < 10; i++) emu.masquerade({ src: `[fd00::${i + 1}]:40000`, dst: '[2001:db8::1]:443', proto: 'TCP' }, 'fd00::c0:1', { established: true, age: 9000 });
  const mgr = n.perClusterCTMaps();
  mgr.openOrCreate();
  mgr.createClusterCTMaps(3);
  mgr.close();
  n.cluster(3).ct.tcp4.update(CtKey4Global.fromFlow({ src: '10.9.0.1:1', dst: '10.9.0.2:2', proto: 'TCP' }), new CtEntry({ lifetime: 1 }));
  const all = [...n.ct.maps(), ...n.nat.maps(), n.cluster(3).ct.tcp4];
  const before = digest(all);
  // A dry run decides and reports; it changes nothing.
  const removed: string[] = [];
  const dry = n.gc({ time: 100000, dryRun: true, onRemoved: (ev) => removed.push(ev.key.toHost().dump(true) ?? '') });
  t.equal(digest(all), before, 'the dry run changed no byte');
  // Each masqueraded flow has a related-ICMP companion in the Any map with the same lifetime (ct_create's map_related).
  t.equal(dry.deleted, 2 * 20 + 2 * 10 + 1, 'it would remove the expired entries (20 v4 and 10 v6 flows, each with its related entry) and the cluster\'s');
  t.equal(dry.natDeleted, 60, 'and the SNAT pair of each expired egress entry');
  t.equal(removed.length, dry.deleted);
  t.ok(dry.maps.every((s) => s.dryRun));
  t.same(dry.maps.map((s) => s.map), ['cilium_ct4_global', 'cilium_ct_any4_global', 'cilium_ct6_global', 'cilium_ct_any6_global', 'cilium_per_cluster_ct_tcp4_3', 'cilium_per_cluster_ct_any4_3', 'cilium_per_cluster_ct_tcp6_3', 'cilium_per_cluster_ct_any6_3'],
    'global maps then the cluster\'s, in Go\'s order');
  // A scoped pass: only flows from 10.0.1.0–15 (the printed source), all expired: 16 TCP entries and their related ones.
  const scoped = n.gc({ time: 100000, filter: { src: '10.0.1.0/28' }, clusters: false });
  t.equal(scoped.deleted, 2 * 16, 'only entries in scope go');
  t.equal(scoped.natDeleted, 2 * 16, 'with their SNAT pairs');
  t.equal(n.ct.tcp4.count(), 50 - 16);
  // The rest, node-wide, with the NAT follow-up; then nothing expired is left and every NAT pair is accounted for.
  const r = n.gc({ time: 100000 });
  t.equal(r.deleted, 2 * 4 + 2 * 10 + 1, 'the remaining expired entries');
  t.equal(n.ct.tcp4.count({ filter: { expiredAt: 100000 } }), 0);
  t.equal(n.nat.v4.count(), 2 * 30, 'the 30 live v4 flows keep their SNAT pairs');
  t.equal(n.nat.v6.count(), 0, 'the v6 pairs went with their entries');
  // delete: every entry in scope, expired or not.
  const del = n.gc({ all: true, filter: { src: '10.0.1.40', dport: 443 } });
  t.same([del.deleted, del.natDeleted], [1, 2], 'one flow and its pair');
  t.equal(n.nat.v4.count(), 2 * 29);
  // flush: everything (but lifetime 0xFFFFFFFF), node-wide.
  t.equal(n.flush().deleted, 29 + 30, 'the 29 live TCP entries and the 30 related ones');
  t.equal(n.ct.count(), 0);
});

t.test('gcAsync yields to the event loop between batches (a 1 ms timer runs between them during a 1M-entry pass); gc() never does', async (t) => {
  if (!requirePrivileged(t)) return;
  // Run in a fresh process: this one's heap holds what earlier tests built. What is asserted is structural — the
  // timer ran between the async pass's batches and not once during the synchronous pass — never a duration.
  const bpffs = privateBpffs(t);
  const r = spawnSync(process.execPath, [join(here, '..', 'helpers', 'gapprobe.mjs'), bpffs], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const p = JSON.parse(r.stdout) as {
    entries: number; asyncDeleted: number; asyncGapMs: number; asyncTicks: number; asyncBatches: number; asyncTicked: number;
    syncDeleted: number; syncGapMs: number; syncTicks: number; syncBatches: number;
  };
  t.equal(p.entries, 1_000_000);
  t.equal(p.asyncDeleted, 500_000, 'the async pass removed the expired half');
  t.ok(p.asyncBatches >= 100, `${p.asyncBatches} batches`);
  // Each batch of this pass takes well over 1 ms, so after each yield the due timer runs before the next batch.
  t.ok(p.asyncTicked >= p.asyncBatches * 0.9, `the timer ran between ${p.asyncTicked} of ${p.asyncBatches} batches (${p.asyncTicks} ticks; longest wait ${p.asyncGapMs.toFixed(1)} ms)`);
  t.equal(p.syncDeleted, 500_000);
  t.ok(p.syncBatches >= 100);
  t.equal(p.syncTicks, 0, `gc() holds the event loop for the whole pass: the timer never ran (it waited ${p.syncGapMs.toFixed(1)} ms)`);
});

t.test('the settings object: validated once, defaults, pin paths, CT sizes with distributed LRU', async (t) => {
  const s = new Settings({ bpffs: '/run/x/', ctSizes: { tcp: 4096 }, distributedLRU: true, maxConnectedClusters: 511 });
  t.equal(s.bpffs, '/run/x');
  t.equal(s.pinPath('cilium_ct4_global'), '/run/x/tc/globals/cilium_ct4_global');
  t.equal(s.clusterIDMax, 511);
  t.equal(s.mapFlags(), 2, 'BPF_F_NO_COMMON_LRU');
  t.equal(s.ctMaxEntries(true) % (await import('../../src/syscall/cpus.js')).possibleCPUs(), 0, 'rounded to the possible CPUs');
  t.equal(new Settings().ctMaxEntries(false), 262144, 'the agent default');
  t.equal(new Settings().natMaxEntries(), 524288);
  t.equal(new Settings({ natEntries: 0 }).natMaxEntries(), 16777216, '0 means LimitTableMax, as in Go');
  t.doesNotThrow(() => { s.validateClusterID(511); });
  t.throws(() => { new Settings().validateClusterID(300); }, /ClusterID > 255 is not supported/);
});
