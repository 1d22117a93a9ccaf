/**
 * How CT keys and NAT keys relate (nat-datapath.md §3.4, §7, §8.3). The
 * same 14/38 bytes mean different things: CT keys name addresses for the
 * reply direction (Cilium #5848), NAT keys for the packet. So the NAT OUT
 * key of an egress flow is its CT key with the two addresses swapped.
 *
 * The byte-level forms write into a caller's buffer at an offset, so bulk
 * work (the orphan purge) derives keys straight from batch buffers; the
 * object forms wrap them for callers and tests. Nothing is byte-swapped:
 * ports stay raw, as in Go.
 */
import { ipv4CtTuple, ipv6CtTuple, TupleKey4Global, TupleKey6Global } from '../structs/tuple.js';
import { ipv4NatEntry, ipv6NatEntry } from '../structs/natentry.js';
import { TUPLE_F_IN, TUPLE_F_OUT } from '../structs/tuple.js';

export interface TupleOffsets {
  readonly size: number;
  readonly addrLen: number;
  readonly daddr: number;
  readonly saddr: number;
  readonly dport: number;
  readonly sport: number;
  readonly nexthdr: number;
  readonly flags: number;
  /** Where the NAT value's address and port sit. */
  readonly natAddr: number;
  readonly natPort: number;
}

function offsets(t: typeof ipv4CtTuple | typeof ipv6CtTuple, e: typeof ipv4NatEntry | typeof ipv6NatEntry): TupleOffsets {
  return {
    size: t.size, addrLen: t.sizeOf.daddr, daddr: t.offsetOf.daddr, saddr: t.offsetOf.saddr, dport: t.offsetOf.dport,
    sport: t.offsetOf.sport, nexthdr: t.offsetOf.nexthdr, flags: t.offsetOf.flags, natAddr: e.offsetOf.addr, natPort: e.offsetOf.port,
  };
}

export const tuple4 = offsets(ipv4CtTuple, ipv4NatEntry);
export const tuple6 = offsets(ipv6CtTuple, ipv6NatEntry);

function copy(dst: Uint8Array, dOff: number, src: Uint8Array, sOff: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dOff + i] = src[sOff + i] ?? 0;
}

/** dst = src with the two addresses swapped and flags OUT: the egress CT key of a NAT OUT key (and back). */
export function swappedAddrsKey(L: TupleOffsets, src: Uint8Array, s: number, dst: Uint8Array, d: number): void {
  copy(dst, d + L.daddr, src, s + L.saddr, L.addrLen);
  copy(dst, d + L.saddr, src, s + L.daddr, L.addrLen);
  copy(dst, d + L.dport, src, s + L.dport, 4);
  dst[d + L.nexthdr] = src[s + L.nexthdr] ?? 0;
  dst[d + L.flags] = TUPLE_F_OUT;
}

/** dst = src with the two ports swapped and flags OUT: the DSR CT key of a NAT OUT key (and the legacy DSR SNAT key of a CT key). */
export function swappedPortsKey(L: TupleOffsets, src: Uint8Array, s: number, dst: Uint8Array, d: number): void {
  copy(dst, d, src, s, 2 * L.addrLen);
  copy(dst, d + L.dport, src, s + L.sport, 2);
  copy(dst, d + L.sport, src, s + L.dport, 2);
  dst[d + L.nexthdr] = src[s + L.nexthdr] ?? 0;
  dst[d + L.flags] = TUPLE_F_OUT;
}

/**
 * The egress CT key owning a NAT IN (RevSNAT) entry: DestAddr = value.Addr,
 * SourceAddr = key.SourceAddr, SourcePort = value.Port, DestPort = key.SourcePort.
 */
export function egressKeyFromIngress(L: TupleOffsets, k: Uint8Array, ko: number, v: Uint8Array, vo: number,
  dst: Uint8Array, d: number): void {
  copy(dst, d + L.daddr, v, vo + L.natAddr, L.addrLen);
  copy(dst, d + L.saddr, k, ko + L.saddr, L.addrLen);
  copy(dst, d + L.sport, v, vo + L.natPort, 2);
  copy(dst, d + L.dport, k, ko + L.sport, 2);
  dst[d + L.nexthdr] = k[ko + L.nexthdr] ?? 0;
  dst[d + L.flags] = TUPLE_F_OUT;
}

/**
 * The RevSNAT key of a SNAT mapping (§7.1): SourceAddr = key.DestAddr,
 * SourcePort = key.DestPort, DestAddr = value.Addr, DestPort = value.Port, flags IN.
 */
export function reverseNatKey(L: TupleOffsets, k: Uint8Array, ko: number, v: Uint8Array, vo: number,
  dst: Uint8Array, d: number): void {
  copy(dst, d + L.saddr, k, ko + L.daddr, L.addrLen);
  copy(dst, d + L.sport, k, ko + L.dport, 2);
  copy(dst, d + L.daddr, v, vo + L.natAddr, L.addrLen);
  copy(dst, d + L.dport, v, vo + L.natPort, 2);
  dst[d + L.nexthdr] = k[ko + L.nexthdr] ?? 0;
  dst[d + L.flags] = TUPLE_F_IN;
}

type GlobalTuple = TupleKey4Global | TupleKey6Global;

function wrap(L: TupleOffsets, b: Uint8Array): GlobalTuple {
  return L === tuple4 ? new TupleKey4Global(b) : new TupleKey6Global(b);
}

function layoutOf(k: { readonly raw: Uint8Array }): TupleOffsets {
  return k.raw.length === tuple4.size ? tuple4 : tuple6;
}

/** Go egressCTKeyFromEgressNatKey. */
export function egressCTKeyFromEgressNatKey(k: { readonly raw: Uint8Array }): GlobalTuple {
  const L = layoutOf(k);
  const out = new Uint8Array(L.size);
  swappedAddrsKey(L, k.raw, 0, out, 0);
  return wrap(L, out);
}

/** Go dsrCTKeyFromEgressNatKey. */
export function dsrCTKeyFromEgressNatKey(k: { readonly raw: Uint8Array }): GlobalTuple {
  const L = layoutOf(k);
  const out = new Uint8Array(L.size);
  swappedPortsKey(L, k.raw, 0, out, 0);
  return wrap(L, out);
}

/** Go egressCTKeyFromIngressNatKeyAndVal. */
export function egressCTKeyFromIngressNatKeyAndVal(k: { readonly raw: Uint8Array }, v: { readonly raw: Uint8Array }): GlobalTuple {
  const L = layoutOf(k);
  const out = new Uint8Array(L.size);
  egressKeyFromIngress(L, k.raw, 0, v.raw, 0, out, 0);
  return wrap(L, out);
}
