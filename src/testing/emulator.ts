/**
 * A user-space stand-in for Cilium's datapath, for tests and the demo: it
 * writes CT entries the way `ct_create4/6` lays them out and SNAT pairs the
 * way `snat_v4/v6_new_mapping` allocates them (nat-datapath.md §10.3–10.4),
 * into real maps. Lifetimes come from the agent's default timeouts against a
 * CT clock the caller controls, so "expired" is a matter of creation time.
 *
 * Deliberately not the datapath: no packets, no policy, no ct_update state
 * machine beyond "SYN seen" and "established".
 */
import {
  CtKey4Global, CtKey6Global, NatKey4, NatKey6, TUPLE_F_IN, TUPLE_F_OUT, splitHostPort, type CtKey, type NatKey, type Flow,
} from '../structs/tuple.js';
import { CtEntry, DSRInternal, SeenNonSyn, NodePort, FromTunnel, ProxyRedirect, FromL7LB, LBLoopback, RxClosing, TxClosing } from '../structs/ctentry.js';
import { NatEntry4, NatEntry6 } from '../structs/natentry.js';
import { parseAddr, swap16, U8proto, parseProto } from '../structs/inet.js';
import { UpdateFlags } from '../syscall/attr.js';
import { BpfError } from '../syscall/errors.js';
import { getU32, setU32 } from '../structs/bytes.js';
import type { ConntrackMap } from '../ctmap/ctmap.js';
import type { NatMap } from '../nat/natmap.js';
import type { RetriesMap } from '../nat/retries.js';
import { SnatCollisionRetries } from '../nat/names.js';
import { GetCTCurTime } from '../datapath/clock.js';
import { swappedPortsKey, tuple4, tuple6 } from '../nat/keys.js';

/** Agent defaults of the CT timeouts, in seconds (bpf-ct-timeout-*). */
export const DefaultTimeouts = {
  connectionLifetimeTCP: 8000,
  connectionLifetimeNonTCP: 60,
  serviceLifetimeTCP: 8000,
  serviceLifetimeNonTCP: 60,
  synTimeout: 60,
  closeTimeout: 10,
  reportInterval: 5,
} as const;
export type Timeouts = { -readonly [K in keyof typeof DefaultTimeouts]: number };

// TCP flags as the datapath ORs them into tx/rx_flags_seen (recorded Cilium nodes: SYN 0x02 alone for a SYN-only
// flow; SYN|PSH|ACK 0x1a in both directions once established; FIN 0x01 added when closed).
const TCP_SYN = 0x02;
const TCP_ESTABLISHED = 0x1a;
const TCP_FIN = 0x01;

export const DROP_NAT_NO_MAPPING = -167;

/** The parts of ct_state ct_create copies into a new entry. */
export interface CtState {
  readonly revNAT?: number;
  readonly srcSecID?: number;
  readonly backendID?: bigint;
  /** nat_addr (DSR/loopback) and nat_port, host order. */
  readonly natAddr?: string;
  readonly natPort?: number;
  readonly nodePort?: boolean;
  readonly dsrInternal?: boolean;
  readonly fromTunnel?: boolean;
  readonly proxyRedirect?: boolean;
  readonly fromL7LB?: boolean;
  readonly lbLoopback?: boolean;
}

export interface CreateOptions {
  /** Created this many seconds before now (an old entry may have expired). */
  readonly age?: number;
  /** TCP only: the handshake completed, so the regular lifetime applies and SeenNonSyn is set. */
  readonly established?: boolean;
  /** TCP only: the connection was closed (FIN or RST): RxClosing|TxClosing, and the close timeout applies. */
  readonly closing?: boolean;
  readonly state?: CtState;
  /** Write the related-ICMP companion into the "any" map (ct_create's map_related). Default: yes, except for service entries. */
  readonly related?: boolean;
  /** Conntrack accounting: packets 1, bytes = this packet length. */
  readonly packetLength?: number;
}

export interface SnatTarget {
  readonly addr: string;
  readonly minPort?: number;
  readonly maxPort?: number;
}

export interface EmulatorMaps {
  readonly tcp4?: ConntrackMap | undefined;
  readonly any4?: ConntrackMap | undefined;
  readonly tcp6?: ConntrackMap | undefined;
  readonly any6?: ConntrackMap | undefined;
  readonly nat4?: NatMap | undefined;
  readonly nat6?: NatMap | undefined;
  readonly retries4?: RetriesMap | undefined;
  readonly retries6?: RetriesMap | undefined;
}

export interface EmulatorOptions {
  /** The CT clock (seconds under ktime); default: CLOCK_MONOTONIC seconds now. */
  readonly now?: number;
  readonly timeouts?: Partial<Timeouts>;
  readonly seed?: number;
}

/** A small seeded PRNG (mulberry32): reproducible port choices. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The datapath's clamp(a, b, v) = a + (((b − a + 1) × v) >> 16) in u32 arithmetic. */
export function clampPort(min: number, max: number, v: number): number {
  return min + ((((max - min + 1) * v) >>> 0) >>> 16);
}

function family(flow: Flow): 4 | 6 {
  return flow.src.startsWith('[') || flow.dst.startsWith('[') || flow.src.includes('::') ? 6 : 4;
}

/**
 * The keys snat_v4/v6_new_mapping writes for the packet `flow` (src → dst)
 * translated to `addr:port`: the SNAT key (`out`: the packet's tuple, flags
 * OUT) and the RevSNAT key (`in`: the reply's tuple towards addr:port, flags
 * IN). Ports are raw (network order), as in the maps.
 */
export function snatTuples(flow: Flow, addr: string, port: number): { out: NatKey; in: NatKey } {
  const v4 = family(flow) === 4;
  const proto = parseProto(flow.proto);
  const [S, s] = splitHostPort(flow.src, v4 ? 4 : 6);
  const [D, d] = splitHostPort(flow.dst, v4 ? 4 : 6);
  const NK = v4 ? NatKey4 : NatKey6;
  return {
    out: new NK({ destAddr: D, sourceAddr: S, destPort: swap16(d), sourcePort: swap16(s), nextHeader: proto, flags: TUPLE_F_OUT }),
    in: new NK({ destAddr: addr, sourceAddr: D, destPort: swap16(port), sourcePort: swap16(d), nextHeader: proto, flags: TUPLE_F_IN }),
  };
}

/** What the emulator wrote for one connection. */
export interface FlowRecord {
  readonly ctKey: CtKey;
  readonly ctMap: ConntrackMap;
  readonly related?: CtKey;
  /** The SNAT (OUT) and RevSNAT (IN) keys, when the flow was masqueraded. */
  readonly natOut?: NatKey;
  readonly natIn?: NatKey;
  /** The legacy DSR SNAT entry's key, for DSR backend flows. */
  readonly dsrNat?: NatKey;
  readonly lifetime: number;
}

export class DatapathEmulator {
  readonly maps: EmulatorMaps;
  readonly timeouts: Timeouts;
  now: number;
  readonly #random: () => number;

  constructor(maps: EmulatorMaps, opts: EmulatorOptions = {}) {
    this.maps = maps;
    this.timeouts = { ...DefaultTimeouts, ...opts.timeouts };
    this.now = opts.now ?? Number(GetCTCurTime({ mode: 'ktime' }));
    this.#random = seededRandom(opts.seed ?? 1);
  }

  #random16(): number {
    return Math.floor(this.#random() * 65536);
  }

  #ctMaps(v4: boolean, tcp: boolean): [ConntrackMap, ConntrackMap | undefined] {
    const main = v4 ? (tcp ? this.maps.tcp4 : this.maps.any4) : (tcp ? this.maps.tcp6 : this.maps.any6);
    if (main === undefined) throw new Error(`emulator has no ${tcp ? 'TCP' : 'non-TCP'} IPv${v4 ? 4 : 6} CT map`);
    return [main, v4 ? this.maps.any4 : this.maps.any6];
  }

  /**
   * ct_create4/6: the entry for `flow` in direction OUT (egress), IN
   * (ingress) or SVC (service), plus its related-ICMP companion.
   */
  createCT(flow: Flow, opts: CreateOptions = {}): FlowRecord {
    const v4 = family(flow) === 4;
    const proto = parseProto(flow.proto);
    const tcp = proto === U8proto.TCP;
    const dir = flow.dir ?? 'OUT';
    const [main, anyMap] = this.#ctMaps(v4, tcp);
    const key = v4 ? CtKey4Global.fromFlow(flow) : CtKey6Global.fromFlow(flow);
    const now = (this.now - (opts.age ?? 0)) >>> 0;
    const t = this.timeouts;
    const s = opts.state ?? {};
    let flags = 0;
    let union0: [bigint, bigint] = [0n, 0n];
    if (dir === 'SVC') {
      union0 = [0n, s.backendID ?? 0n];
    } else {
      if (s.natAddr !== undefined) {
        const a = parseAddr(s.natAddr);
        const b = new Uint8Array(16);
        b.set(a);
        const dv = new DataView(b.buffer);
        union0 = [dv.getBigUint64(0, true), dv.getBigUint64(8, true)];
      }
      if (s.nodePort === true) flags |= NodePort;
      if (s.dsrInternal === true) flags |= DSRInternal;
      if (s.fromTunnel === true) flags |= FromTunnel;
      if (s.proxyRedirect === true) flags |= ProxyRedirect;
      if (s.fromL7LB === true) flags |= FromL7LB;
      if (s.lbLoopback === true) flags |= LBLoopback;
    }
    let timeout: number;
    const closing = tcp && opts.closing === true;
    const established = tcp && (opts.established === true || closing);
    if (tcp) {
      timeout = closing ? t.closeTimeout : established ? (dir === 'SVC' ? t.serviceLifetimeTCP : t.connectionLifetimeTCP) : t.synTimeout;
      if (established) flags |= SeenNonSyn;
      if (closing) flags |= RxClosing | TxClosing;
    } else {
      timeout = dir === 'SVC' ? t.serviceLifetimeNonTCP : t.connectionLifetimeNonTCP;
    }
    const lifetime = (now + timeout) >>> 0;
    // Flags seen and report times per direction: the creating side (tx for egress and service entries, rx for
    // ingress) saw the flow's packets; the other side saw replies once the peer answered — never, for a service
    // entry, which only the load balancer's forward path updates.
    const ingress = dir === 'IN';
    const seen = !tcp ? 0 : closing ? TCP_ESTABLISHED | TCP_FIN : established ? TCP_ESTABLISHED : TCP_SYN;
    const replied = (established || !tcp) && dir !== 'SVC';
    const first = { seen, report: now };
    const other = { seen: replied ? seen : 0, report: replied ? now : 0 };
    const [tx, rx] = ingress ? [other, first] : [first, other];
    const entry = new CtEntry({
      union0, lifetime, flags, revNAT: swap16(s.revNAT ?? 0), natPort: swap16(s.natPort ?? 0),
      sourceSecurityID: s.srcSecID ?? 0,
      txFlagsSeen: tx.seen, lastTxReport: tx.report, rxFlagsSeen: rx.seen, lastRxReport: rx.report,
    });
    let related: CtKey | undefined;
    if (dir !== 'SVC' && (opts.related ?? true) && anyMap !== undefined) {
      // ct_create's related companion is an entry of its own: the non-TCP lifetime, no state flags, no packets;
      // it saw the creating packet's TCP flags (none for other protocols).
      related = v4 ? CtKey4Global.fromFlow({ ...flow, related: true }) : CtKey6Global.fromFlow({ ...flow, related: true });
      anyMap.update(related, new CtEntry({
        lifetime: (now + t.connectionLifetimeNonTCP) >>> 0, sourceSecurityID: s.srcSecID ?? 0,
        txFlagsSeen: ingress ? 0 : (tcp ? TCP_SYN : 0), lastTxReport: ingress ? 0 : now,
        rxFlagsSeen: ingress ? (tcp ? TCP_SYN : 0) : 0, lastRxReport: ingress ? now : 0,
      }));
    }
    if (opts.packetLength !== undefined) {
      entry.packets = 1n;
      entry.bytes = BigInt(opts.packetLength);
    }
    main.update(key, entry);
    return related === undefined ? { ctKey: key, ctMap: main, lifetime } : { ctKey: key, ctMap: main, related, lifetime };
  }

  /**
   * snat_v4/v6_new_mapping for the packet `flow` (src → dst) towards
   * `target`: RevSNAT inserted with NOEXIST while searching for a free port,
   * then the SNAT entry. Returns the keys, or DROP_NAT_NO_MAPPING.
   */
  snatNewMapping(flow: Flow, target: SnatTarget, opts: { readonly needsCT?: boolean; readonly age?: number } = {}):
  { natOut: NatKey; natIn: NatKey; port: number; retries: number } | typeof DROP_NAT_NO_MAPPING {
    const v4 = family(flow) === 4;
    const nat = v4 ? this.maps.nat4 : this.maps.nat6;
    if (nat === undefined) throw new Error(`emulator has no IPv${v4 ? 4 : 6} NAT map`);
    const proto = parseProto(flow.proto);
    const [S, s] = splitHostPort(flow.src, v4 ? 4 : 6);
    const icmp = proto === U8proto.ICMP || proto === U8proto.ICMPv6;
    const min = target.minPort ?? (icmp ? 0 : 32768);
    const max = target.maxPort ?? 65535;
    const created = BigInt((this.now - (opts.age ?? 0)) >>> 0);
    const needsCT = opts.needsCT === true ? 1n : 0n;
    const NE = v4 ? NatEntry4 : NatEntry6;
    const otuple = snatTuples(flow, target.addr, 0).out;
    const rstate = new NE({ created, needsCT, addr: S, port: swap16(s) });
    let port = s >= min && s <= max ? s : clampPort(min, max, this.#random16());
    let retries = 0;
    let rtuple: NatKey | undefined;
    for (; retries < SnatCollisionRetries; retries++) {
      const cand = snatTuples(flow, target.addr, port).in;
      try {
        nat.bpfMap.set(cand.raw, rstate.raw, UpdateFlags.BPF_NOEXIST);
        rtuple = cand;
        break;
      } catch (err) {
        if (!BpfError.is(err, 'EEXIST')) throw err;
      }
      port = clampPort(min, max, retries === 0 ? this.#random16() : port + 1);
    }
    this.#countRetries(v4, retries);
    if (rtuple === undefined) return DROP_NAT_NO_MAPPING;
    const ostate = new NE({ created, needsCT, addr: target.addr, port: swap16(port) });
    try {
      nat.update(otuple, ostate);
    } catch (err) {
      nat.delete(rtuple);
      throw err;
    }
    return { natOut: otuple, natIn: rtuple, port, retries };
  }

  #countRetries(v4: boolean, retries: number): void {
    const r = v4 ? this.maps.retries4 : this.maps.retries6;
    if (r === undefined) return;
    // One CPU's slot: the emulator runs "on CPU 0".
    const m = r.bpfMap;
    const k = new Uint8Array(4);
    setU32(k, 0, retries);
    const v = new Uint8Array(m.valueBufferSize);
    m.lookupInto(k, v);
    setU32(v, 0, getU32(v, 0) + 1);
    m.set(k, v);
  }

  /** A pod's connection to the outside, masqueraded to `snatAddr`: CT egress entry (+ related) and the SNAT pair. */
  masquerade(flow: Flow, snatAddr: string, opts: CreateOptions = {}): FlowRecord {
    const ct = this.createCT({ ...flow, dir: 'OUT' }, opts);
    const m = this.snatNewMapping(flow, { addr: snatAddr }, opts.age === undefined ? {} : { age: opts.age });
    if (m === DROP_NAT_NO_MAPPING) return ct;
    return { ...ct, natOut: m.natOut, natIn: m.natIn };
  }

  /**
   * A DSR backend: the client's packet `client → backend` arrived with the
   * service address; the backend's reply CT entry (egress, DSRInternal, the
   * service in nat_addr/nat_port) and the legacy DSR SNAT entry (the CT
   * tuple with its ports swapped, value = the service) are written.
   */
  dsrBackend(client: string, backend: string, service: string, proto: string | number, opts: CreateOptions = {}): FlowRecord {
    const reply: Flow = { src: backend, dst: client, proto, dir: 'OUT' };
    const v4 = family(reply) === 4;
    const [svcAddr, svcPort] = splitHostPort(service, v4 ? 4 : 6);
    const ct = this.createCT(reply, { ...opts, state: { ...opts.state, natAddr: svcAddr, natPort: svcPort, dsrInternal: true } });
    const nat = v4 ? this.maps.nat4 : this.maps.nat6;
    if (nat === undefined) return ct;
    const k = new Uint8Array(ct.ctKey.raw.length);
    swappedPortsKey(v4 ? tuple4 : tuple6, ct.ctKey.raw, 0, k, 0);
    const dsrNat = v4 ? new NatKey4(k) : new NatKey6(k);
    const created = BigInt((this.now - (opts.age ?? 0)) >>> 0);
    nat.update(dsrNat, v4 ? new NatEntry4({ created, addr: svcAddr, port: swap16(svcPort) }) : new NatEntry6({ created, addr: svcAddr, port: swap16(svcPort) }));
    return { ...ct, dsrNat };
  }

  /** The load balancer's service entry for `client → vip`, pointing at `backendID`. */
  service(client: string, vip: string, proto: string | number, backendID: bigint, revNAT: number, opts: CreateOptions = {}): FlowRecord {
    return this.createCT({ src: client, dst: vip, proto, dir: 'SVC' }, { ...opts, related: false, state: { ...opts.state, backendID, revNAT } });
  }

  /** An inbound connection to a local pod (CT ingress entry). */
  ingress(flow: Flow, opts: CreateOptions = {}): FlowRecord {
    return this.createCT({ ...flow, dir: 'IN' }, opts);
  }
}
