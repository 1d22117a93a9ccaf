/**
 * A demo node for `make demo` and `make repl`: Cilium's CT and NAT maps
 * under the current map root, populated by the datapath emulator with a
 * realistic mix — pods' TCP/UDP/ICMP flows masqueraded to the node with
 * their SNAT pairs, service and ingress entries, DSR backends, IPv6 — some
 * expired, and some whose CT entry was evicted behind the NAT map's back.
 */
import type { ConntrackMap } from '../ctmap/ctmap.js';
import { GetCTCurTime } from '../datapath/clock.js';
import type { SettingsInit } from '../datapath/settings.js';
import type { NatMap } from '../nat/natmap.js';
import type { RetriesMap } from '../nat/retries.js';
import { openNode, type Node } from '../node/node.js';
import type { CtKey } from '../structs/tuple.js';
import { DatapathEmulator, seededRandom } from './emulator.js';

export interface DemoNode {
  /** The node handle the maps belong to. */
  readonly node: Node;
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

/** Create a node's maps under `settings.bpffs` (both families) and let the emulator populate them. */
export function populateDemoNode(settings: SettingsInit & { readonly bpffs: string }, seed = 2026): DemoNode {
  const real = Number(GetCTCurTime({ mode: 'ktime' }));
  const now = real >= 10000 ? real : 100000;
  // On a machine that booted too recently for hour-old entries the emulator runs a later CT clock, and the
  // node is given that clock, so node.gc() judges "now" as the datapath did.
  const clock = now === real ? {} : { clock: { monotonicNs: () => BigInt(now) * 1_000_000_000n, jiffies: () => 0n } };
  const node = openNode({ ...settings, ...clock, ctSizes: { tcp: 65536, any: 65536 }, natEntries: 131072, ipv4: true, ipv6: true, create: true });
  const { tcp4, any4, tcp6, any6 } = node.ct;
  const nat4 = node.nat.v4;
  const nat6 = node.nat.v6;
  const retries = [node.nat.retries4, node.nat.retries6];
  const emu = new DatapathEmulator({ tcp4, any4, tcp6, any6, nat4, nat6, retries4: retries[0], retries6: retries[1] }, { now, seed });
  const rnd = seededRandom(seed + 1);
  const pick = (n: number): number => Math.floor(rnd() * n);
  const nodeIP = '192.0.2.10';
  const owned: { ct: ConntrackMap; key: CtKey }[] = [];
  let connections = 0;
  for (let i = 0; i < 3000; i++) {
    // Pods talk to the internet: established TCP, masqueraded to the node's address; a tenth closed long ago.
    const pod = `10.0.${1 + (i % 8)}.${10 + (i % 200)}`;
    const dst = `${93 + pick(60)}.${pick(256)}.${pick(256)}.${1 + pick(254)}:${[443, 80, 8080][i % 3] ?? 443}`;
    const f = emu.masquerade({ src: `${pod}:${32768 + pick(28000)}`, dst, proto: 'TCP' }, nodeIP, { established: true, age: i % 10 === 0 ? 9000 : pick(600) });
    owned.push({ ct: tcp4, key: f.ctKey });
  }
  for (let i = 0; i < 1500; i++) {
    // DNS over UDP: most of it minutes old, so expired.
    const f = emu.masquerade({ src: `10.0.${1 + (i % 8)}.${10 + (i % 200)}:${20000 + i}`, dst: `8.8.${i % 2 === 0 ? 8 : 4}.${i % 2 === 0 ? 8 : 4}:53`, proto: 'UDP' }, nodeIP, { age: i % 3 === 0 ? 0 : 120 + pick(600) });
    owned.push({ ct: any4, key: f.ctKey });
  }
  for (let i = 0; i < 300; i++) {
    const f = emu.masquerade({ src: `10.0.3.${10 + (i % 200)}:${1000 + i}`, dst: `1.1.1.${1 + (i % 254)}`, proto: 'ICMP' }, nodeIP, { age: pick(90) });
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
  const close = (): void => { node.close(); };
  return { node, tcp4, any4, tcp6, any6, nat4, nat6, retries, emu, now, realClock: now === real, connections, evicted, close };
}
