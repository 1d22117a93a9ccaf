/**
 * The CT/NAT tuple keys (`struct ipv4_ct_tuple`, `struct ipv6_ct_tuple`) and
 * their Go types: tuple.TupleKey{4,6}[Global], ctmap.CtKey{4,6}Global,
 * nat.NatKey{4,6}. All of them are the same 14 or 38 packed bytes; they
 * differ only in their text forms. Each object wraps its kernel bytes, so
 * decoding from a map is one copy and fields are read on demand.
 *
 * Ports are "raw": the two stored (network-order) bytes read little-endian,
 * exactly as Go holds them. `toHost()`/`toNetwork()` swap them.
 */
import { bytes, struct, u16, u8 } from './layout.js';
import { describe, isObject } from './describe.js';
import { getU16, setU16, swapU16At } from './bytes.js';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6, parseProto, protoName, swap16, U8proto } from './inet.js';
import { jsonBytes, jsonInt, type JsonObject } from './json.js';

export const TUPLE_F_OUT = 0;
export const TUPLE_F_IN = 1;
export const TUPLE_F_RELATED = 2;
export const TUPLE_F_SERVICE = 4;

export const ipv4CtTuple = struct('ipv4_ct_tuple', {
  daddr: bytes(4), saddr: bytes(4), dport: u16, sport: u16, nexthdr: u8, flags: u8,
}, { packed: true });

export const ipv6CtTuple = struct('ipv6_ct_tuple', {
  daddr: bytes(16), saddr: bytes(16), dport: u16, sport: u16, nexthdr: u8, flags: u8,
}, { packed: true });

export const SizeofTupleKey4 = ipv4CtTuple.size;
export const SizeofTupleKey6 = ipv6CtTuple.size;

/** Constructor input: every field optional (zero / 0.0.0.0 / ::). Ports are raw values. */
export interface TupleFields {
  readonly destAddr?: string | Uint8Array;
  readonly sourceAddr?: string | Uint8Array;
  readonly destPort?: number;
  readonly sourcePort?: number;
  readonly nextHeader?: number;
  readonly flags?: number;
}

/** A flow as a person writes it, for `fromFlow`. */
export interface Flow {
  /** `ip:port` (IPv6 as `[ip]:port`); the port may be omitted for ICMP. */
  readonly src: string;
  readonly dst: string;
  readonly proto: string | number;
  /** Who created the entry: egress (OUT), ingress (IN) or the load balancer (SVC). */
  readonly dir?: 'OUT' | 'IN' | 'SVC';
  /** The related-ICMP companion entry of the flow. */
  readonly related?: boolean;
}

/** The decoded fields of a tuple. */
export interface TupleFieldValues {
  destAddr: string;
  sourceAddr: string;
  destPort: number;
  sourcePort: number;
  nextHeader: number;
  flags: number;
}

type Family = 4 | 6;
type TupleLayout = typeof ipv4CtTuple | typeof ipv6CtTuple;

const inspect = Symbol.for('nodejs.util.inspect.custom');

/** `ip:port` (IPv6: `[ip]:port`; the port may be omitted) into its address text and port. */
export function splitHostPort(s: string, family: Family): [string, number] {
  if (typeof s !== 'string') throw new TypeError(`expected "ip:port", got ${describe(s)}`);
  let host = s;
  let port = 0;
  if (family === 6) {
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
    if (m === null) {
      if (s.includes('[')) throw new RangeError(`bad IPv6 endpoint ${JSON.stringify(s)} (want [ip]:port)`);
      return [s, 0];
    }
    host = m[1] ?? '';
    if (m[2] !== undefined) port = Number(m[2]);
  } else {
    const i = s.lastIndexOf(':');
    if (i >= 0) {
      host = s.slice(0, i);
      const p = s.slice(i + 1);
      if (!/^\d+$/.test(p)) throw new RangeError(`bad port in ${JSON.stringify(s)}`);
      port = Number(p);
    }
  }
  if (port > 0xffff) throw new RangeError(`port ${port} in ${JSON.stringify(s)} is out of range (0..65535)`);
  return [host, port];
}

/**
 * The shared implementation: a view of 14 or 38 kernel bytes. Subclasses
 * choose the family and the Go text forms.
 */
export abstract class TupleBase {
  /** The kernel bytes of this key. Mutating it mutates the key. */
  readonly raw: Uint8Array;

  protected abstract get family(): Family;

  static layoutFor(family: Family): TupleLayout {
    return family === 4 ? ipv4CtTuple : ipv6CtTuple;
  }

  protected constructor(family: Family, init: TupleFields | Uint8Array | undefined, what: string) {
    const L = TupleBase.layoutFor(family);
    if (init instanceof Uint8Array) {
      if (init.length !== L.size) throw new RangeError(`${what}: expected ${L.size} bytes, got ${init.length}`);
      this.raw = init;
      return;
    }
    this.raw = new Uint8Array(L.size);
    if (init === undefined) return;
    if (!isObject(init)) throw new TypeError(`${what}: expected an object of fields, got ${describe(init)}`);
    for (const k of Object.keys(init)) {
      if (!['destAddr', 'sourceAddr', 'destPort', 'sourcePort', 'nextHeader', 'flags'].includes(k)) {
        throw new TypeError(`${what}: unknown field "${k}"`);
      }
    }
    if (init.destAddr !== undefined) this.#setAddr(L.offsetOf.daddr, init.destAddr, `${what}.destAddr`);
    if (init.sourceAddr !== undefined) this.#setAddr(L.offsetOf.saddr, init.sourceAddr, `${what}.sourceAddr`);
    if (init.destPort !== undefined) setU16(this.raw, L.offsetOf.dport, u16.check(init.destPort, `${what}.destPort`));
    if (init.sourcePort !== undefined) setU16(this.raw, L.offsetOf.sport, u16.check(init.sourcePort, `${what}.sourcePort`));
    if (init.nextHeader !== undefined) this.raw[L.offsetOf.nexthdr] = u8.check(init.nextHeader, `${what}.nextHeader`);
    if (init.flags !== undefined) this.raw[L.offsetOf.flags] = u8.check(init.flags, `${what}.flags`);
  }

  #setAddr(off: number, v: string | Uint8Array, what: string): void {
    const n = this.family === 4 ? 4 : 16;
    let b: Uint8Array;
    if (v instanceof Uint8Array) {
      if (v.length !== n) throw new RangeError(`${what}: expected ${n} address bytes, got ${v.length}`);
      b = v;
    } else if (typeof v === 'string') {
      if (this.family === 4 && v.includes(':')) throw new RangeError(`${what}: ${JSON.stringify(v)} is not an IPv4 address`);
      if (this.family === 6 && !v.includes(':')) throw new RangeError(`${what}: ${JSON.stringify(v)} is not an IPv6 address (write ::ffff:${v} for a v4-mapped address)`);
      try {
        b = this.family === 4 ? parseIPv4(v) : parseIPv6(v);
      } catch (err) {
        throw new RangeError(`${what}: ${(err as Error).message}`, { cause: err });
      }
    } else {
      throw new TypeError(`${what}: expected an address string, got ${describe(v)}`);
    }
    this.raw.set(b, off);
  }

  #L(): TupleLayout {
    return TupleBase.layoutFor(this.family);
  }

  #addr(off: number): string {
    return this.family === 4 ? formatIPv4(this.raw, off) : formatIPv6(this.raw, off);
  }

  get destAddr(): string { return this.#addr(this.#L().offsetOf.daddr); }
  set destAddr(v: string) { this.#setAddr(this.#L().offsetOf.daddr, v, 'destAddr'); }
  get sourceAddr(): string { return this.#addr(this.#L().offsetOf.saddr); }
  set sourceAddr(v: string) { this.#setAddr(this.#L().offsetOf.saddr, v, 'sourceAddr'); }
  /** Address bytes without formatting (a view into the key). */
  get destAddrBytes(): Uint8Array { const L = this.#L(); return this.raw.subarray(L.offsetOf.daddr, L.offsetOf.daddr + L.sizeOf.daddr); }
  get sourceAddrBytes(): Uint8Array { const L = this.#L(); return this.raw.subarray(L.offsetOf.saddr, L.offsetOf.saddr + L.sizeOf.saddr); }
  get destPort(): number { return getU16(this.raw, this.#L().offsetOf.dport); }
  set destPort(v: number) { setU16(this.raw, this.#L().offsetOf.dport, u16.check(v, 'destPort')); }
  get sourcePort(): number { return getU16(this.raw, this.#L().offsetOf.sport); }
  set sourcePort(v: number) { setU16(this.raw, this.#L().offsetOf.sport, u16.check(v, 'sourcePort')); }
  get nextHeader(): number { return this.raw[this.#L().offsetOf.nexthdr] ?? 0; }
  set nextHeader(v: number) { this.raw[this.#L().offsetOf.nexthdr] = u8.check(v, 'nextHeader'); }
  get flags(): number { return this.raw[this.#L().offsetOf.flags] ?? 0; }
  set flags(v: number) { this.raw[this.#L().offsetOf.flags] = u8.check(v, 'flags'); }

  getFlags(): number { return this.flags; }
  getNextHeader(): number { return this.nextHeader; }
  getDestPort(): number { return this.destPort; }
  getSourcePort(): number { return this.sourcePort; }

  /** A copy of the exact kernel bytes (14 or 38). */
  toBytes(): Uint8Array {
    return this.raw.slice();
  }

  /** Copy of the bytes with both ports byte-swapped (ToNetwork and ToHost are the same swap on little-endian). */
  protected swappedPorts(): Uint8Array {
    const L = this.#L();
    const b = this.raw.slice();
    swapU16At(b, L.offsetOf.dport);
    swapU16At(b, L.offsetOf.sport);
    return b;
  }

  /** Swap SourceAddr and DestAddr in place (Go SwapAddresses). */
  swapAddresses(): void {
    const L = this.#L();
    const n = L.sizeOf.daddr;
    const d = this.raw.slice(L.offsetOf.daddr, L.offsetOf.daddr + n);
    this.raw.copyWithin(L.offsetOf.daddr, L.offsetOf.saddr, L.offsetOf.saddr + n);
    this.raw.set(d, L.offsetOf.saddr);
  }

  /** Go `String()` of the global tuple types (raw ports, numeric protocol). */
  protected globalString(): string {
    if (this.family === 4) {
      return `${this.sourceAddr}:${this.sourcePort} --> ${this.destAddr}:${this.destPort}, ${this.nextHeader}, ${this.flags}`;
    }
    return `[${this.sourceAddr}]:${this.sourcePort} --> [${this.destAddr}]:${this.destPort}, ${this.nextHeader}, ${this.flags}`;
  }

  /** pkg/tuple's Dump for the global tuple types (brackets IPv6, appends related/service). */
  protected tupleGlobalDump(reverse: boolean): string | undefined {
    if (this.nextHeader === 0) return undefined;
    const [a, b] = reverse ? [this.destAddr, this.sourceAddr] : [this.sourceAddr, this.destAddr];
    const [l, r] = this.family === 6 ? ['[', ']'] : ['', ''];
    const dir = (this.flags & TUPLE_F_IN) !== 0 ? 'IN' : 'OUT';
    let s = `${protoName(this.nextHeader)} ${dir} ${l}${a}${r}:${this.sourcePort} -> ${l}${b}${r}:${this.destPort} `;
    if ((this.flags & TUPLE_F_RELATED) !== 0) s += 'related ';
    if ((this.flags & TUPLE_F_SERVICE) !== 0) s += 'service ';
    return s;
  }

  /** ctmap's own CtKey Dump (SVC form, no IPv6 brackets, no service suffix). */
  protected ctDump(reverse: boolean): string | undefined {
    if (this.nextHeader === 0) return undefined;
    const proto = protoName(this.nextHeader);
    const [src, dst] = reverse ? [this.destAddr, this.sourceAddr] : [this.sourceAddr, this.destAddr];
    let s: string;
    if ((this.flags & TUPLE_F_SERVICE) !== 0) {
      s = `${proto} SVC ${this.sourceAddr}:${this.destPort} -> ${this.destAddr}:${this.sourcePort} `;
    } else if ((this.flags & TUPLE_F_IN) !== 0) {
      s = `${proto} IN ${src}:${this.sourcePort} -> ${dst}:${this.destPort} `;
    } else {
      s = `${proto} OUT ${src}:${this.sourcePort} -> ${dst}:${this.destPort} `;
    }
    if ((this.flags & TUPLE_F_RELATED) !== 0) s += 'related ';
    return s;
  }

  /** Go `encoding/json` shape: addresses as arrays of numbers, raw ports. */
  toJSON(): JsonObject {
    const L = this.#L();
    return {
      DestAddr: Array.from(this.raw.subarray(L.offsetOf.daddr, L.offsetOf.daddr + L.sizeOf.daddr)),
      SourceAddr: Array.from(this.raw.subarray(L.offsetOf.saddr, L.offsetOf.saddr + L.sizeOf.saddr)),
      DestPort: this.destPort,
      SourcePort: this.sourcePort,
      NextHeader: this.nextHeader,
      Flags: this.flags,
    };
  }

  /** Plain fields (strings for addresses, raw ports). */
  toFields(): TupleFieldValues {
    return {
      destAddr: this.destAddr, sourceAddr: this.sourceAddr, destPort: this.destPort,
      sourcePort: this.sourcePort, nextHeader: this.nextHeader, flags: this.flags,
    };
  }

  protected abstract textForInspect(): string;

  [inspect](): string {
    return `${this.constructor.name} ${this.textForInspect()} ${JSON.stringify(this.toFields())}`;
  }

  equals(other: TupleBase): boolean {
    if (other.raw.length !== this.raw.length) return false;
    for (let i = 0; i < this.raw.length; i++) if (other.raw[i] !== this.raw[i]) return false;
    return true;
  }
}

/** Parse a Go-JSON tuple object (`{"DestAddr":[…],…}`) into kernel bytes of the given family. */
function tupleBytesFromJSON(family: Family, v: unknown, what: string): Uint8Array {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TypeError(`${what}: expected a JSON object, got ${describe(v)}`);
  const o = v as Record<string, unknown>;
  const L = TupleBase.layoutFor(family);
  const out = new Uint8Array(L.size);
  const n = family === 4 ? 4 : 16;
  for (const k of Object.keys(o)) {
    if (!['DestAddr', 'SourceAddr', 'DestPort', 'SourcePort', 'NextHeader', 'Flags'].includes(k)) throw new TypeError(`${what}: unknown field "${k}"`);
  }
  out.set(jsonBytes(o.DestAddr, n, `${what}.DestAddr`), L.offsetOf.daddr);
  out.set(jsonBytes(o.SourceAddr, n, `${what}.SourceAddr`), L.offsetOf.saddr);
  const dv = new DataView(out.buffer);
  dv.setUint16(L.offsetOf.dport, jsonInt(o.DestPort, 0xffff, `${what}.DestPort`), true);
  dv.setUint16(L.offsetOf.sport, jsonInt(o.SourcePort, 0xffff, `${what}.SourcePort`), true);
  out[L.offsetOf.nexthdr] = jsonInt(o.NextHeader, 0xff, `${what}.NextHeader`);
  out[L.offsetOf.flags] = jsonInt(o.Flags, 0xff, `${what}.Flags`);
  return out;
}

/** Build the CT key bytes the datapath writes for a flow (see ct_lookup/ct_create). */
function flowTuple(family: Family, f: Flow): TupleFields {
  if (!isObject(f)) throw new TypeError(`fromFlow: expected {src, dst, proto, dir}, got ${describe(f)}`);
  const [sHost, sPort] = splitHostPort(f.src, family);
  const [dHost, dPort] = splitHostPort(f.dst, family);
  let proto = parseProto(f.proto);
  const dir = f.dir ?? 'OUT';
  if (!['OUT', 'IN', 'SVC'].includes(dir)) throw new RangeError(`fromFlow: dir must be OUT, IN or SVC, got ${JSON.stringify(dir)}`);
  if (f.related === true) {
    // The related companion: same addresses, no ports, ICMP of the family.
    proto = family === 4 ? U8proto.ICMP : U8proto.ICMPv6;
    return {
      destAddr: sHost, sourceAddr: dHost, destPort: 0, sourcePort: 0, nextHeader: proto,
      flags: (dir === 'IN' ? TUPLE_F_IN : TUPLE_F_OUT) | TUPLE_F_RELATED,
    };
  }
  if (dir === 'SVC') {
    // Service lookups keep packet orientation for addresses, the ports swapped.
    return { destAddr: dHost, sourceAddr: sHost, destPort: swap16(sPort), sourcePort: swap16(dPort), nextHeader: proto, flags: TUPLE_F_SERVICE };
  }
  // Egress/ingress entries: addresses reversed (#5848), ports named for the original direction, network order.
  return {
    destAddr: sHost, sourceAddr: dHost, destPort: swap16(dPort), sourcePort: swap16(sPort), nextHeader: proto,
    flags: dir === 'IN' ? TUPLE_F_IN : TUPLE_F_OUT,
  };
}

export class TupleKey4Global extends TupleBase {
  static readonly size = SizeofTupleKey4;
  protected get family(): Family { return 4; }
  constructor(init?: TupleFields | Uint8Array) { super(4, init, 'TupleKey4Global'); }
  static fromBytes(b: Uint8Array): TupleKey4Global { return new TupleKey4Global(copyExact(b, SizeofTupleKey4, 'TupleKey4Global')); }
  static fromJSON(v: unknown): TupleKey4Global { return new TupleKey4Global(tupleBytesFromJSON(4, v, 'TupleKey4Global')); }
  toNetwork(): TupleKey4Global { return new TupleKey4Global(this.swappedPorts()); }
  toHost(): TupleKey4Global { return new TupleKey4Global(this.swappedPorts()); }
  override toString(): string { return this.globalString(); }
  dump(reverse: boolean): string | undefined { return this.tupleGlobalDump(reverse); }
  protected textForInspect(): string { return this.globalString(); }
}

export class TupleKey6Global extends TupleBase {
  static readonly size = SizeofTupleKey6;
  protected get family(): Family { return 6; }
  constructor(init?: TupleFields | Uint8Array) { super(6, init, 'TupleKey6Global'); }
  static fromBytes(b: Uint8Array): TupleKey6Global { return new TupleKey6Global(copyExact(b, SizeofTupleKey6, 'TupleKey6Global')); }
  static fromJSON(v: unknown): TupleKey6Global { return new TupleKey6Global(tupleBytesFromJSON(6, v, 'TupleKey6Global')); }
  toNetwork(): TupleKey6Global { return new TupleKey6Global(this.swappedPorts()); }
  toHost(): TupleKey6Global { return new TupleKey6Global(this.swappedPorts()); }
  override toString(): string { return this.globalString(); }
  dump(reverse: boolean): string | undefined { return this.tupleGlobalDump(reverse); }
  protected textForInspect(): string { return this.globalString(); }
}

/** The legacy per-endpoint ("local") tuple text forms; same bytes. */
export class TupleKey4 extends TupleBase {
  static readonly size = SizeofTupleKey4;
  protected get family(): Family { return 4; }
  constructor(init?: TupleFields | Uint8Array) { super(4, init, 'TupleKey4'); }
  static fromBytes(b: Uint8Array): TupleKey4 { return new TupleKey4(copyExact(b, SizeofTupleKey4, 'TupleKey4')); }
  toNetwork(): TupleKey4 { return new TupleKey4(this.swappedPorts()); }
  toHost(): TupleKey4 { return new TupleKey4(this.swappedPorts()); }
  override toString(): string {
    return `${this.destAddr}:${this.sourcePort}, ${this.destPort}, ${this.nextHeader}, ${this.flags}`;
  }
  dump(reverse: boolean): string | undefined { return localDump(this, reverse); }
  protected textForInspect(): string { return this.toString(); }
}

export class TupleKey6 extends TupleBase {
  static readonly size = SizeofTupleKey6;
  protected get family(): Family { return 6; }
  constructor(init?: TupleFields | Uint8Array) { super(6, init, 'TupleKey6'); }
  static fromBytes(b: Uint8Array): TupleKey6 { return new TupleKey6(copyExact(b, SizeofTupleKey6, 'TupleKey6')); }
  toNetwork(): TupleKey6 { return new TupleKey6(this.swappedPorts()); }
  toHost(): TupleKey6 { return new TupleKey6(this.swappedPorts()); }
  override toString(): string {
    return `[${this.destAddr}]:${this.sourcePort}, ${this.destPort}, ${this.nextHeader}, ${this.flags}`;
  }
  dump(reverse: boolean): string | undefined { return localDump(this, reverse); }
  protected textForInspect(): string { return this.toString(); }
}

function localDump(k: TupleBase, reverse: boolean): string | undefined {
  if (k.nextHeader === 0) return undefined;
  const addr = reverse ? k.sourceAddr : k.destAddr;
  const proto = protoName(k.nextHeader);
  let s = (k.flags & TUPLE_F_IN) !== 0
    ? `${proto} IN ${addr} ${k.sourcePort}:${k.destPort} `
    : `${proto} OUT ${addr} ${k.destPort}:${k.sourcePort} `;
  if ((k.flags & TUPLE_F_RELATED) !== 0) s += 'related ';
  if ((k.flags & TUPLE_F_SERVICE) !== 0) s += 'service ';
  return s;
}

export function copyExact(b: Uint8Array, n: number, what: string): Uint8Array {
  if (!(b instanceof Uint8Array)) throw new TypeError(`${what}.fromBytes: expected a Uint8Array, got ${describe(b)}`);
  if (b.length !== n) throw new RangeError(`${what}.fromBytes: expected ${n} bytes, got ${b.length}`);
  return b.slice();
}

export class CtKey4Global extends TupleBase {
  static readonly size = SizeofTupleKey4;
  protected get family(): Family { return 4; }
  constructor(init?: TupleFields | Uint8Array) { super(4, init, 'CtKey4Global'); }
  static fromBytes(b: Uint8Array): CtKey4Global { return new CtKey4Global(copyExact(b, SizeofTupleKey4, 'CtKey4Global')); }
  static fromJSON(v: unknown): CtKey4Global { return new CtKey4Global(tupleBytesFromJSON(4, v, 'CtKey4Global')); }
  /** The key the datapath writes for `flow` (addresses reversed, ports in network order). */
  static fromFlow(flow: Flow): CtKey4Global { return new CtKey4Global(flowTuple(4, flow)); }
  toNetwork(): CtKey4Global { return new CtKey4Global(this.swappedPorts()); }
  toHost(): CtKey4Global { return new CtKey4Global(this.swappedPorts()); }
  /** The embedded tuple, sharing this key's bytes (Go returns a pointer into the key). */
  getTupleKey(): TupleKey4Global { return new TupleKey4Global(this.raw); }
  override toString(): string { return this.globalString(); }
  dump(reverse: boolean): string | undefined { return this.ctDump(reverse); }
  protected textForInspect(): string { return (this.toHost().ctDump(true) ?? this.globalString()).trimEnd(); }
}

export class CtKey6Global extends TupleBase {
  static readonly size = SizeofTupleKey6;
  protected get family(): Family { return 6; }
  constructor(init?: TupleFields | Uint8Array) { super(6, init, 'CtKey6Global'); }
  static fromBytes(b: Uint8Array): CtKey6Global { return new CtKey6Global(copyExact(b, SizeofTupleKey6, 'CtKey6Global')); }
  static fromJSON(v: unknown): CtKey6Global { return new CtKey6Global(tupleBytesFromJSON(6, v, 'CtKey6Global')); }
  static fromFlow(flow: Flow): CtKey6Global { return new CtKey6Global(flowTuple(6, flow)); }
  toNetwork(): CtKey6Global { return new CtKey6Global(this.swappedPorts()); }
  toHost(): CtKey6Global { return new CtKey6Global(this.swappedPorts()); }
  getTupleKey(): TupleKey6Global { return new TupleKey6Global(this.raw); }
  override toString(): string { return this.globalString(); }
  dump(reverse: boolean): string | undefined { return this.ctDump(reverse); }
  protected textForInspect(): string { return (this.toHost().ctDump(true) ?? this.globalString()).trimEnd(); }
}

export class NatKey4 extends TupleBase {
  static readonly size = SizeofTupleKey4;
  protected get family(): Family { return 4; }
  constructor(init?: TupleFields | Uint8Array) { super(4, init, 'NatKey4'); }
  static fromBytes(b: Uint8Array): NatKey4 { return new NatKey4(copyExact(b, SizeofTupleKey4, 'NatKey4')); }
  static fromJSON(v: unknown): NatKey4 { return new NatKey4(tupleBytesFromJSON(4, v, 'NatKey4')); }
  toNetwork(): NatKey4 { return new NatKey4(this.swappedPorts()); }
  toHost(): NatKey4 { return new NatKey4(this.swappedPorts()); }
  getTupleKey(): TupleKey4Global { return new TupleKey4Global(this.raw); }
  override toString(): string { return this.globalString(); }
  dump(reverse: boolean): string | undefined { return this.tupleGlobalDump(reverse); }
  protected textForInspect(): string { return (this.toHost().tupleGlobalDump(false) ?? this.globalString()).trimEnd(); }
}

export class NatKey6 extends TupleBase {
  static readonly size = SizeofTupleKey6;
  protected get family(): Family { return 6; }
  constructor(init?: TupleFields | Uint8Array) { super(6, init, 'NatKey6'); }
  static fromBytes(b: Uint8Array): NatKey6 { return new NatKey6(copyExact(b, SizeofTupleKey6, 'NatKey6')); }
  static fromJSON(v: unknown): NatKey6 { return new NatKey6(tupleBytesFromJSON(6, v, 'NatKey6')); }
  toNetwork(): NatKey6 { return new NatKey6(this.swappedPorts()); }
  toHost(): NatKey6 { return new NatKey6(this.swappedPorts()); }
  getTupleKey(): TupleKey6Global { return new TupleKey6Global(this.raw); }
  override toString(): string { return this.globalString(); }
  dump(reverse: boolean): string | undefined { return this.tupleGlobalDump(reverse); }
  protected textForInspect(): string { return (this.toHost().tupleGlobalDump(false) ?? this.globalString()).trimEnd(); }
}

export type CtKey = CtKey4Global | CtKey6Global;
export type NatKey = NatKey4 | NatKey6;
export type TupleKeyGlobal = TupleKey4Global | TupleKey6Global;

export const SizeofCtKey4Global = SizeofTupleKey4;
export const SizeofCtKey6Global = SizeofTupleKey6;
