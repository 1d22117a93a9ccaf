// The Go-shaped (ctmap/compat) tests' setup: process-wide settings pointed at a private bpffs with small maps
// and put back after the test; the global TCP CT map, or a whole emulated node, on it. Shared by the GC and
// NAT test files (tests/priv/gc*.test.ts, nat*.test.ts).
import type { Test } from 'tap';
import { privateBpffs } from './priv.js';
import type { ConntrackMap } from '../../src/ctmap/index.js';
import type { NatMap } from '../../src/nat/index.js';
import { DatapathEmulator } from '../../src/testing/emulator.js';
import { CtMapType } from '../../src/ctmap/index.js';
import {
  Maps, GlobalMaps, newMap, setCTMapConfig, resetCTMapConfig, InitMapInfo, setACT, setNATMapEntriesGlobal, setMapRoot, DefaultMapRoot,
  setLogger,
} from '../../src/compat/index.js';

export function setup(t: Test, sizes: { tcp?: number; any?: number; nat?: number } = {}): string {
  const root = privateBpffs(t);
  setMapRoot(root);
  setCTMapConfig({ ctMapEntriesGlobalTCP: sizes.tcp ?? 8192, ctMapEntriesGlobalAny: sizes.any ?? 8192 });
  const prevNat = setNATMapEntriesGlobal(sizes.nat ?? 16384);
  const prevLog = setLogger(() => undefined);
  t.teardown(() => { setMapRoot(DefaultMapRoot); resetCTMapConfig(); setNATMapEntriesGlobal(prevNat); InitMapInfo(undefined, undefined); setLogger(prevLog); setACT(undefined); });
  return root;
}

export function tcp4Map(t: Test, ...opts: Parameters<typeof newMap> extends [unknown, unknown, ...infer R] ? R : never): ConntrackMap {
  const m = newMap('cilium_ct4_global', CtMapType.IPv4TCPGlobal, ...opts);
  m.openOrCreate();
  t.teardown(() => { m.close(); });
  return m;
}

/** The global CT and NAT maps of both families, created, with an emulated datapath writing to them. */
export interface Node {
  tcp4: ConntrackMap; any4: ConntrackMap; tcp6: ConntrackMap; any6: ConntrackMap; nat4: NatMap; nat6: NatMap; emu: DatapathEmulator;
}

export function node(t: Test, now = 100000): Node {
  const [tcp4, any4, tcp6, any6] = Maps(true, true) as [ConntrackMap, ConntrackMap, ConntrackMap, ConntrackMap];
  const { v4, v6 } = GlobalMaps(true, true);
  const nat4 = v4 as NatMap;
  const nat6 = v6 as NatMap;
  for (const m of [tcp4, any4, tcp6, any6]) m.openOrCreate();
  nat4.openOrCreate();
  nat6.openOrCreate();
  InitMapInfo(nat4, nat6);
  t.teardown(() => { for (const m of [tcp4, any4, tcp6, any6, nat4, nat6]) m.close(); });
  const emu = new DatapathEmulator({ tcp4, any4, tcp6, any6, nat4, nat6 }, { now, seed: 7 });
  return { tcp4, any4, tcp6, any6, nat4, nat6, emu };
}
