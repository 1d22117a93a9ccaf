// 10,000 open/iterate/close cycles: the fd count and the RSS come back to their baseline.
import t from 'tap';
import { openFdCount, privateBpffs, requirePrivileged } from '../helpers/priv.js';
import { GCFilter } from '../../src/ctmap/index.js';
import { type NatMap } from '../../src/nat/index.js';
import { CtKey4Global, CtEntry } from '../../src/structs/index.js';
import { newMap, setCTMapConfig, resetCTMapConfig, GlobalMaps, setNATMapEntriesGlobal, setMapRoot, DefaultMapRoot } from '../../src/compat/index.js';
import { gcWithFilter } from '../../src/compat/index.js';

const gc = (globalThis as { gc?: () => void }).gc;

t.test('open, count, walk, GC, dump and close 10,000 times: no fd, no memory left behind', async (t) => {
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
  const cycle = (): void => {
    const m = newMap('cilium_ct4_global', 0);
    m.open();
    m.count();
    let n = 0;
    m.dumpWithCallback(() => { n++; });
    gcWithFilter(m, new GCFilter({ removeExpired: true, time: 0 }), { mode: n % 2 === 0 ? 'safe' : 'fast' });
    m.dumpEntriesWithTimeDiff();
    m.close();
    const nat = GlobalMaps(true, false).v4 as NatMap;
    nat.open();
    nat.dumpEntries();
    nat.close();
  };
  for (let i = 0; i < 500; i++) cycle();
  gc?.();
  const fds = openFdCount();
  const rss = process.memoryUsage().rss;
  for (let i = 0; i < 10_000; i++) cycle();
  gc?.();
  await new Promise((r) => setTimeout(r, 50));
  gc?.();
  const grown = (process.memoryUsage().rss - rss) / 1024 / 1024;
  t.equal(openFdCount(), fds, `fd count back to ${fds} after 10,000 cycles`);
  t.ok(grown < 32, `RSS grew ${grown.toFixed(1)} MB over 10,000 cycles (under 32 MB)`);
  t.comment(`RSS change after 10,000 cycles: ${grown.toFixed(1)} MB`);
});
