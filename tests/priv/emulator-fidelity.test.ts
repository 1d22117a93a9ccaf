// The datapath emulator against Cilium's own datapath (../shared/fixtures/cilium-datapath): for every SNAT pair the
// real datapath wrote, the emulator derives the same CT key and the same SNAT and RevSNAT keys; for every CT entry,
// the emulator, asked for the same flow in the same state at the same time, writes the same flags, lifetime,
// rev_nat (in network byte order) and backend id. The differences that remain are counted here and listed in the
// README (Datapath emulator).
import t from 'tap';
import { privateBpffs, requirePrivileged } from '../helpers/priv.js';
import { recordedScenarios, hex, ownerOf, ctOf, natOf, owned } from '../helpers/recorded.js';
import { openNode } from '../../src/index.js';
import { DatapathEmulator, snatTuples } from '../../src/testing/emulator.js';
import { scenarioEntries } from '../../src/testing/fixtures.js';
import {
  CtKey4Global, CtKey6Global, CtEntry, NatEntry4, NatEntry6, TupleKey4Global, TupleKey6Global, TUPLE_F_IN, TUPLE_F_RELATED,
  TUPLE_F_SERVICE, SeenNonSyn, RxClosing, TxClosing, NodePort, type Flow,
} from '../../src/structs/index.js';
import { swap16 } from '../../src/structs/inet.js';

const quiet = (): void => undefined;

/** `ip:port` as fromFlow takes it (IPv6 in brackets). */
function ep(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

t.test('SNAT pairs: the emulator derives the CT key, SNAT key and RevSNAT key the real datapath wrote', async (t) => {
  const scenarios = recordedScenarios(t);
  if (scenarios === undefined) return;
  let pairs = 0;
  const wrong: string[] = [];
  for (const s of scenarios) {
    for (const v4 of [true, false]) {
      const ct = ctOf(s, v4);
      const nat = natOf(s, v4);
      const natKeys = new Set(nat.map((n) => hex(n.key)));
      for (const n of nat) {
        if (((n.key[n.key.length - 1] ?? 0) & TUPLE_F_IN) !== 0 || !owned(ct, n)) continue;
        pairs++;
        // The packet's flow, as the SNAT key holds it: saddr:sport → daddr:dport.
        const k = v4 ? new TupleKey4Global(n.key) : new TupleKey6Global(n.key);
        const v = v4 ? new NatEntry4(n.value) : new NatEntry6(n.value);
        const flow: Flow = { src: ep(k.sourceAddr, swap16(k.sourcePort)), dst: ep(k.destAddr, swap16(k.destPort)), proto: k.nextHeader };
        const ctKey = v4 ? CtKey4Global.fromFlow(flow) : CtKey6Global.fromFlow(flow);
        const tuples = snatTuples(flow, v.addr, swap16(v.port));
        const rev = hex(tuples.in.raw);
        if (hex(ctKey.raw) !== ownerOf(n.key, n.value).ct || hex(tuples.out.raw) !== hex(n.key) || !natKeys.has(rev)) {
          wrong.push(`${s.name}: ${k.toHost().dump(false) ?? ''}`);
        }
      }
    }
  }
  t.ok(pairs > 20000, `${pairs} recorded SNAT pairs with their CT entry`);
  t.same(wrong.slice(0, 5), [], `${wrong.length} pairs where a derived key differs`);
});

t.test('CT entries: the emulator writes the same flags, lifetime, rev_nat and backend id for the same flow and state', async (t) => {
  if (!requirePrivileged(t)) return;
  const scenarios = recordedScenarios(t);
  if (scenarios === undefined) return;
  const fields = ['key', 'flags', 'lifetime', 'revNAT', 'backendID', 'sourceSecurityID', 'flagsSeen', 'offset40'] as const;
  const differ = Object.fromEntries(fields.map((f) => [f, 0])) as Record<(typeof fields)[number], number>;
  const examples: string[] = [];
  let compared = 0;
  let nodePort = 0;
  let seenModelled = 0;
  for (const s of scenarios) {
    const bpffs = privateBpffs(t);
    using node = openNode({ bpffs, logger: quiet, ctSizes: { tcp: 65536, any: 65536 }, natEntries: 1024, create: true });
    const emu = new DatapathEmulator({ tcp4: node.ct.tcp4, any4: node.ct.any4, tcp6: node.ct.tcp6, any6: node.ct.any6 }, { seed: 1, timeouts: {
      // The recording's timeouts (manifest config): TCP 600 s, SYN 60 s, close 10 s, non-TCP 60 s.
      connectionLifetimeTCP: 600, serviceLifetimeTCP: 600, synTimeout: 60, closeTimeout: 10, connectionLifetimeNonTCP: 60, serviceLifetimeNonTCP: 60,
    } });
    for (const name of ['cilium_ct4_global', 'cilium_ct_any4_global', 'cilium_ct6_global', 'cilium_ct_any6_global']) {
      for (const r of scenarioEntries(s, name)) {
        const v4 = r.key.length === 14;
        const k = v4 ? new CtKey4Global(r.key) : new CtKey6Global(r.key);
        const e = new CtEntry(r.value);
        // The time the entry's timeout was last set: its last report (the datapath reports on every flags change).
        emu.now = Math.max(e.lastTxReport, e.lastRxReport);
        const closing = (e.flags & (RxClosing | TxClosing)) !== 0;
        const opts = {
          established: (e.flags & SeenNonSyn) !== 0 && !closing, closing, related: false,
          state: { nodePort: (e.flags & NodePort) !== 0, revNAT: swap16(e.revNAT), srcSecID: e.sourceSecurityID },
        };
        let written: { key: CtKey4Global | CtKey6Global; entry: CtEntry | undefined };
        if ((k.flags & TUPLE_F_SERVICE) !== 0) {
          // Service entries print `SVC client:port -> vip:port`: the key keeps packet orientation, ports swapped.
          const rec = emu.service(ep(k.sourceAddr, swap16(k.destPort)), ep(k.destAddr, swap16(k.sourcePort)), k.nextHeader, e.backendID, swap16(e.revNAT),
            { established: opts.established, closing });
          written = { key: rec.ctKey, entry: rec.ctMap.lookup(rec.ctKey) };
        } else if ((k.flags & TUPLE_F_RELATED) !== 0) {
          // A related companion: ask for its main flow (TCP when the companion saw a SYN) and read the companion back.
          const rec = emu.createCT({ src: ep(k.destAddr, 40000), dst: ep(k.sourceAddr, 80), proto: e.txFlagsSeen !== 0 || e.rxFlagsSeen !== 0 ? 'TCP' : 'UDP',
            dir: (k.flags & TUPLE_F_IN) !== 0 ? 'IN' : 'OUT' }, { related: true, state: { srcSecID: e.sourceSecurityID } });
          const rel = rec.related;
          written = { key: rel ?? k, entry: rel === undefined ? undefined : (v4 ? node.ct.any4 : node.ct.any6).lookup(rel) };
        } else {
          const dir = (k.flags & TUPLE_F_IN) !== 0 ? 'IN' : 'OUT';
          // Egress and ingress keys store addresses in reply order: the flow's source is DestAddr.
          const rec = emu.createCT({ src: ep(k.destAddr, swap16(k.sourcePort)), dst: ep(k.sourceAddr, swap16(k.destPort)), proto: k.nextHeader, dir }, opts);
          written = { key: rec.ctKey, entry: rec.ctMap.lookup(rec.ctKey) };
        }
        compared++;
        const w = written.entry;
        const miss = (f: (typeof fields)[number], bad: boolean): void => {
          if (!bad) return;
          differ[f]++;
          if (examples.length < 12 && f !== 'offset40' && f !== 'flagsSeen') examples.push(`${s.name} ${f}: ${k.toHost().dump(true) ?? ''}`);
        };
        miss('key', hex(written.key.raw) !== hex(k.raw));
        if (w === undefined) { differ.key++; continue; }
        miss('flags', w.flags !== e.flags);
        miss('lifetime', w.lifetime !== e.lifetime);
        miss('revNAT', w.revNAT !== e.revNAT);
        miss('backendID', w.backendID !== e.backendID);
        miss('sourceSecurityID', w.sourceSecurityID !== e.sourceSecurityID);
        // Flags seen: the emulator models SYN-only, established and FIN-closed flows; RST-closed and refused flows
        // saw other combinations (RST 0x04 in one direction), which it does not.
        const modelled = !closing || (e.txFlagsSeen === 0x1b && e.rxFlagsSeen === 0x1b);
        if (modelled) {
          seenModelled++;
          miss('flagsSeen', w.txFlagsSeen !== e.txFlagsSeen || w.rxFlagsSeen !== e.rxFlagsSeen);
        }
        // Offset 40: ifindex in the recorded Cilium (1.18-dev), nat_port in the 1.19 layout the emulator writes.
        if ((e.flags & NodePort) !== 0) nodePort++;
        miss('offset40', w.natPort !== e.natPort);
      }
    }
  }
  t.ok(compared > 45000, `${compared} recorded CT entries recreated`);
  t.same(examples, [], 'no entry differs in key, flags, lifetime, rev_nat, backend id or source identity');
  t.same([differ.key, differ.flags, differ.lifetime, differ.revNAT, differ.backendID, differ.sourceSecurityID], [0, 0, 0, 0, 0, 0]);
  t.equal(differ.flagsSeen, 0, `tx/rx flags seen equal on the ${seenModelled} entries whose TCP states the emulator models`);
  t.equal(differ.offset40, nodePort, `offset 40 differs exactly on the ${nodePort} NodePort entries (ifindex 2 there; the 1.19 layout's NatPort is 0)`);
});
