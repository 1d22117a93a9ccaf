/**
 * A demo node for `make demo` and `make repl`: Cilium's CT and NAT maps
 * under the current map root, populated by the datapath emulator with a
 * realistic mix — pods' TCP/UDP/ICMP flows masqueraded to the node with
 * their SNAT pairs, service and ingress entries, DSR backends, IPv6 — some
 * expired, and some whose CT entry was evicted behind the NAT map's back.
 */
import { newCTMaps, type CTMaps } from '../ctmap/cell.js';
import type { ConntrackMap } from '../ctmap/ctmap.js';
import { setCTMapConfig } from '../ctmap/types.js';
import { GetCTCurTime } from '../ctmap/clock.js';
import { GlobalMaps, setNATMapEntriesGlobal, type NatMap } from '../nat/natmap.js';
import { RetriesMaps, type RetriesMap } from '../nat/retries.js';
import { InitMapInfo } from '../ctmap/mapinfo.js';
import type { CtKey } from '../structs/tuple.js';
import { DatapathEmulator, seededRandom } from './emulator.js';

export interface DemoNode {
  readonly cell: CTMaps;
  readonly tcp4: ConntrackMap;
  readonly any4: ConntrackMap;
  readonly tcp6: ConntrackMap;
  readonly any6: ConntrackMap;
  readonly nat4: NatMap;
  readonly nat6: NatMap;
  readonly retries: readonly RetriesMap[];
  readonly emu: DatapathEmulator;
  /** The CT clock the entries were written against (seconds). */
  readonly now: number;
  /** True when `now` is this machine's CLOCK_MONOTONIC; false when the machine booted too recently for hour-old entries. */
  readonly realClock: boolean;
  readonly connections: number;
  readonly evicted: number;
  close(): void;
}

export function populateDemoNode(seed = 2026): DemoNode {
  setCTMapConfig({ ctMapEntriesGlobalTCP: 65536, ctMapEntriesGlobalAny: 65536 });
  setNATMapEntriesGlobal(131072);
  const cell = newCTMaps({ ipv4: true, ipv6: true });
  cell.start();
  const [tcp4, any4, tcp6, any6] = cell.activeMaps() as [ConntrackMap, ConntrackMap, ConntrackMap, ConntrackMap];
  const { v4, v6 } = GlobalMaps(true, true);
  const nat4 = v4 as NatMap;
  const nat6 = v6 as NatMap;
  nat4.openOrCreate();
  nat6.openOrCreate();
  InitMapInfo(nat4, nat6);
  const retries = RetriesMaps(true, true);
  for (const r of retries) r.openOrCreate();
  const real = Number(GetCTCurTime({ mode: 'ktime' }));
  const now = real >= 10000 ? real : 100000;
  const emu = new DatapathEmulator({ tcp4, any4, tcp6, any6, nat4, nat6, retries4: retries[0], retries6: retries[1] }, { now, seed });
  const rnd = seededRandom(seed + 1);
  const pick = (n: number): number => Math.floor(rnd() * n);
  const node = '192.0.2.10';
  const owned: { ct: ConntrackMap; key: CtKey }[] = [];
  let connections = 0;
  for (let i = 0; i < 3000; i++) {
    // Pods talk to the internet: established TCP, masqueraded to the node's address; a tenth closed long ago.
    const pod = `10.0.${1 + (i % 8)}.${10 + (i % 200)}`;
    const dst = `${93 + pick(60)}.${pick(256)}.${pick(256)}.${1 + pick(254)}:${[443, 80, 8080][i % 3] ?? 443}`;
    const f = emu.masquerade({ src: `${pod}:${32768 + pick(28000)}`, dst, proto: 'TCP' }, node, { established: true, age: i % 10 === 0 ? 9000 : pick(600) });
    owned.push({ ct: tcp4, key: f.ctKey });
  }
  for (let i = 0; i < 1500; i++) {
    // DNS over UDP: most of it minutes old, so expired.
    const f = emu.masquerade({ src: `10.0.${1 + (i % 8)}.${10 + (i % 200)}:${20000 + i}`, dst: `8.8.${i % 2 === 0 ? 8 : 4}.${i % 2 === 0 ? 8 : 4}:53`, proto: 'UDP' }, node, { age: i % 3 === 0 ? 0 : 120 + pick(600) });
    owned.push({ ct: any4, key: f.ctKey });
  }
  for (let i = 0; i < 300; i++) {
    const f = emu.masquerade({ src: `10.0.3.${10 + (i % 200)}:${1000 + i}`, dst: `1.1.1.${1 + (i % 254)}`, proto: 'ICMP' }, node, { age: pick(90) });
    owned.push({ ct: any4, key: f.ctKey });
  }
  for (let i = 0; i < 800; i++) {
    // Clients reach a service: the load balancer's service entry and the backend pod's ingress entry.
    const client = `${100 + pick(100)}.${pick(256)}.${pick(256)}.${1 + pick(254)}:${1024 + pick(60000)}`;
    emu.service(client, '10.96.0.10:443', 'TCP', BigInt(1 + (i % 5)), 12, { established: true });
    emu.ingress({ src: client, dst: `10.0.5.${10 + (i % 50)}:8443`, proto: 'TCP' }, { established: true, state: { srcSecID: 2 } });
    connections += 2;
  }
  for (let i = 0; i < 200; i++) {
    const f = emu.dsrBackend(`198.51.100.${1 + (i % 250)}:${40000 + i}`, `10.0.6.${10 + (i % 20)}:8080`, '203.0.113.10:80', 'TCP', { established: true });
    owned.push({ ct: tcp4, key: f.ctKey });
  }
  for (let i = 0; i < 400; i++) {
    const f = emu.masquerade({ src: `[fd00::1:${(i % 64).toString(16)}]:${33000 + i}`, dst: `[2001:db8::${(1 + (i % 30)).toString(16)}]:443`, proto: 'TCP' }, 'fd00::c0:2:10', { established: true, age: i % 8 === 0 ? 9000 : 0 });
    owned.push({ ct: tcp6, key: f.ctKey });
  }
  connections += owned.length;
  // LRU pressure evicted some CT entries without their NAT entries: the orphans the purge is for.
  let evicted = 0;
  for (const [i, f] of owned.entries()) {
    if (i % 24 === 5 && f.ct.delete(f.key)) evicted++;
  }
  const close = (): void => {
    for (const m of [nat4, nat6, ...retries]) m.close();
    cell.stop();
    InitMapInfo(undefined, undefined);
  };
  return { cell, tcp4, any4, tcp6, any6, nat4, nat6, retries, emu, now, realClock: now === real, connections, evicted, close };
}
