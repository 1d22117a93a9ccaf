/**
 * Go's GC filter types (ctmap.md §10.1): NetAddr, the MatchIPs set matched
 * against raw key bytes, the EmitCTEntryCB signature and GCFilter itself.
 * JavaScript callers pass the same things as GC options; the GC runner and
 * the Go-compatible entry points build a GCFilter.
 */
import { KeySet } from '../structs/keyset.js';
import type { CtEntry } from '../structs/ctentry.js';
import { setU32 } from '../structs/bytes.js';
import { formatAddr, parseAddr } from '../structs/inet.js';
import { describe } from '../structs/describe.js';

/** Go NetAddr: an address with the network it belongs to; equal only when both match. */
export interface NetAddr {
  readonly addr: string;
  readonly netID: number;
}

/** A set of NetAddr matched against raw key bytes without building strings. */
export class NetAddrSet {
  // Probe layout: 1 length byte (4|16, so v4 never equals v4-mapped v6), 16 address bytes, u32 netID.
  static readonly probeSize = 21;
  readonly #set = new KeySet(NetAddrSet.probeSize, 16);
  readonly #items: NetAddr[] = [];

  constructor(items: Iterable<NetAddr | string> = []) {
    for (const it of items) this.add(it);
  }

  add(item: NetAddr | string): void {
    const na: NetAddr = typeof item === 'string' ? { addr: item, netID: 0 } : item;
    if (typeof na !== 'object' || typeof na.addr !== 'string') throw new TypeError(`MatchIPs: expected an address or {addr, netID}, got ${describe(item)}`);
    if (!Number.isInteger(na.netID) || na.netID < 0 || na.netID > 0xffffffff) throw new TypeError(`MatchIPs: netID must be a u32, got ${describe(na.netID)}`);
    const a = parseAddr(na.addr);
    const probe = NetAddrSet.probe(a, 0, a.length, na.netID, new Uint8Array(NetAddrSet.probeSize));
    if (!this.#set.has(probe)) this.#items.push({ addr: formatAddr(a), netID: na.netID });
    this.#set.add(probe, 0);
  }

  static probe(src: Uint8Array, off: number, len: number, netID: number, out: Uint8Array): Uint8Array {
    out.fill(0);
    out[0] = len;
    out.set(src.subarray(off, off + len), 1);
    setU32(out, 17, netID);
    return out;
  }

  /** Whether the address at src[off…off+len) in network `netID` is in the set. */
  hasBytes(src: Uint8Array, off: number, len: number, netID: number, scratch: Uint8Array): boolean {
    return this.#set.has(NetAddrSet.probe(src, off, len, netID, scratch));
  }

  get size(): number { return this.#items.length; }
  [Symbol.iterator](): Iterator<NetAddr> { return this.#items[Symbol.iterator](); }
}

/** Go EmitCTEntryCBFunc, with NetAddr endpoints (addresses swapped back to the flow's view). */
export type EmitCTEntryCBFunc = (srcIP: NetAddr, dstIP: NetAddr, srcPort: number, dstPort: number, nextHdr: number,
  flags: number, entry: CtEntry) => void;

export interface GCFilterInit {
  readonly removeExpired?: boolean;
  readonly time?: number;
  readonly matchIPs?: Iterable<NetAddr | string>;
  readonly emitCTEntryCB?: EmitCTEntryCBFunc;
}

/** Go GCFilter. */
export class GCFilter {
  removeExpired: boolean;
  /** Entries with lifetime < time are expired (strictly less: lifetime == time survives). */
  time: number;
  readonly matchIPs: NetAddrSet | undefined;
  readonly emitCTEntryCB: EmitCTEntryCBFunc | undefined;

  constructor(init: GCFilterInit = {}) {
    const time = init.time ?? 0;
    if (!Number.isInteger(time) || time < 0 || time > 0xffffffff) throw new RangeError(`GCFilter.time must be a u32, got ${describe(time)}`);
    if (init.emitCTEntryCB !== undefined && typeof init.emitCTEntryCB !== 'function') throw new TypeError('GCFilter.emitCTEntryCB must be a function');
    this.removeExpired = init.removeExpired ?? false;
    this.time = time;
    const set = init.matchIPs === undefined ? undefined : init.matchIPs instanceof NetAddrSet ? init.matchIPs : new NetAddrSet(init.matchIPs);
    this.matchIPs = set !== undefined && set.size > 0 ? set : undefined;
    this.emitCTEntryCB = init.emitCTEntryCB;
  }
}
