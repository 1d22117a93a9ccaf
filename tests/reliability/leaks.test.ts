// 10,000 open/iterate/GC/close cycles, through the node handle and through Go's names: the fd count and the RSS come
// back to their baseline. Every cycle deletes entries, alternating safe and fast mode, and both modes are counted.
import t from 'tap';
import { openFdCount, privateBpffs, requirePrivileged } from '../helpers/priv.js';
import { GCFilter, type GCMode } from '../../src/ctmap/index.js';
import { type NatMap } from '../../src/nat/index.js';
import { CtKey4Global, CtEntry } from '../../src/structs/index.js';
import { openNode } from '../../src/index.js';
import { newMap, setCTMapConfig, resetCTMapConfig, GlobalMaps, setNATMapEntriesGlobal, setMapRoot, DefaultMapRoot, gcWithFilter } from '../../src/compat/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
const quiet = (): void => undefined;

t.test('open, count, walk, GC (both modes), dump and close 10,000 times: no fd, no memory left behind', async (t) => {
  if (!requirePrivileged(t)) return;
  const root = privateBpffs(t);
  setMapRoot(root);
  setCTMapConfig({ ctMapEntriesGlobalTCP: 1024, ctMapEntriesGlobalAny: 1024 });
  const prevNat = setNATMapEntriesGlobal(1024);
  t.teardown(() => { setMapRoot(DefaultMapRoot); resetCTMapConfig(); setNATMapEntriesGlobal(prevNat); });
  const seed = newMap('cilium_ct4_global', 0);
  seed.openOrCreate();
  for (let i = 0; i < 64; i++) seed.update(CtKey4Global.fromFlow({ src: `10.0.0.${i}:1000`, dst: '1.1.1.1:80', proto: 'TCP' }), new CtEntry({ lifetime: 1000 + i }));
  seed.close();
  (GlobalMaps(true, false).v4 as NatMap).create();
  const doomed = [0, 1, 2].map((i) => CtKey4Global.fromFlow({ src: `10.9.0.${i}:2000`, dst: '1.1.1.1:80', proto: 'TCP' }));
  const expired = new CtEntry({ lifetime: 5 });
  // Each mode's passes that removed exactly the doomed entries, per API.
  const ran: Record<GCMode, { node: number; compat: number }> = { safe: { node: 0, compat: 0 }, fast: { node: 0, compat: 0 } };
  const cycle = (i: number): void => {
    const mode: GCMode = i % 2 === 0 ? 'safe' : 'fast';
    {
      // The front door: a node, iteration broken off early, a GC pass that deletes.
      using node = openNode({ bpffs: root, logger: quiet, ipv4: true, ipv6: false });
      const m = node.ct.tcp4;
      m.count();
      for (const r of m) { if (r.entry.lifetime >= 1000) break; }
      for (const k of doomed) m.update(k, expired);
      const s = m.gc({ time: 100, mode });
      if (s.deleted === doomed.length && s.mode === mode) ran[mode].node++;
    }
    // Go's names: a map of the process settings, its walks, gcWithFilter.
    const m = newMap('cilium_ct4_global', 0);
    m.open();
    m.count();
    let n = 0;
    m.dumpWithCallback(() => { n++; });
    for (const k of doomed) m.update(k, expired);
    const s = gcWithFilter(m, new GCFilter({ removeExpired: true, time: 100 }), { mode });
    if (s.deleted === doomed.length && s.mode === mode && n === 64) ran[mode].compat++;
    m.dumpEntriesWithTimeDiff();
    m.close();
    const nat = GlobalMaps(true, false).v4 as NatMap;
    nat.open();
    nat.dumpEntries();
    nat.close();
  };
  for (let i = 0; i < 500; i++) cycle(i);
  gc?.();
  const fds = openFdCount();
  const rss = process.memoryUsage().rss;
  for (let i = 0; i < 10_000; i++) cycle(i);
  gc?.();
  await new Promise((r) => setTimeout(r, 50));
  gc?.();
  const grown = (process.memoryUsage().rss - rss) / 1024 / 1024;
  t.same(ran, { safe: { node: 5250, compat: 5250 }, fast: { node: 5250, compat: 5250 } }, 'every cycle deleted the doomed entries, half of them in each mode, through each API');
  t.equal(openFdCount(), fds, `fd count back to ${fds} after 10,000 cycles`);
  t.ok(grown < 32, `RSS grew ${grown.toFixed(1)} MB over 10,000 cycles (under 32 MB)`);
  t.comment(`RSS change after 10,000 cycles: ${grown.toFixed(1)} MB`);
});
