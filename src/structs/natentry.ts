/**
 * NAT values: `struct ipv4_nat_entry` (40 bytes) and `struct ipv6_nat_entry`
 * (56 bytes) — a 32-byte common header, then the translated address and
 * port (network order, held raw), then padding to 8-byte alignment.
 */
import { bytes, pad, struct, u16, u64 } from './layout.js';
import { describe, isObject } from './describe.js';
import { getU16, getU64, setU16, setU64, swapU16At } from './bytes.js';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './inet.js';
import { jsonBytes, jsonInt, jsonU64, u64ForJSON, type JsonObject } from './json.js';
import { copyExact, TUPLE_F_IN } from './tuple.js';

export const ipv4NatEntry = struct('ipv4_nat_entry', {
  created: u64, needs_ct: u64, pad1: u64, pad2: u64, addr: bytes(4), port: u16, _pad: pad(2),
});
export const ipv6NatEntry = struct('ipv6_nat_entry', {
  created: u64, needs_ct: u64, pad1: u64, pad2: u64, addr: bytes(16), port: u16, _pad: pad(6),
});

export const SizeofNatEntry4 = ipv4NatEntry.size;
export const SizeofNatEntry6 = ipv6NatEntry.size;

export interface NatEntryFields {
  created?: bigint;
  needsCT?: bigint;
  pad1?: bigint;
  pad2?: bigint;
  addr?: string | Uint8Array;
  /** raw (network order bytes read little-endian) */
  port?: number;
}

export interface NatEntryValues {
  created: bigint;
  needsCT: bigint;
  pad1: bigint;
  pad2: bigint;
  addr: string;
  port: number;
}

const inspect = Symbol.for('nodejs.util.inspect.custom');
type Family = 4 | 6;

/** The `Created=` text when no clock source is known: `? (raw <t>)`. */
export function rawCreated(t: bigint): string {
  return `? (raw ${t})`;
}

abstract class NatEntryBase {
  readonly raw: Uint8Array;
  protected abstract get family(): Family;

  protected constructor(family: Family, init: NatEntryFields | Uint8Array | undefined, what: string) {
    const L = family === 4 ? ipv4NatEntry : ipv6NatEntry;
    if (init instanceof Uint8Array) {
      if (init.length !== L.size) throw new RangeError(`${what}: expected ${L.size} bytes, got ${init.length}`);
      this.raw = init;
      return;
    }
    this.raw = new Uint8Array(L.size);
    if (init === undefined) return;
    if (!isObject(init)) throw new TypeError(`${what}: expected an object of fields, got ${describe(init)}`);
    const { addr, needsCT, ...rest } = init as NatEntryFields & Record<string, unknown>;
    const partial: Record<string, unknown> = { ...rest };
    // An undefined field is an absent one to layout.from (zero), so both are passed on as given.
    partial.needs_ct = needsCT;
    if (typeof addr === 'string') {
      if (family === 4 && addr.includes(':')) throw new RangeError(`${what}.addr: ${JSON.stringify(addr)} is not an IPv4 address`);
      if (family === 6 && !addr.includes(':')) throw new RangeError(`${what}.addr: ${JSON.stringify(addr)} is not an IPv6 address`);
      partial.addr = family === 4 ? parseIPv4(addr) : parseIPv6(addr);
    } else {
      partial.addr = addr;
    }
    // The layout's field is needs_ct; callers name it needsCT (the layout refuses _pad itself).
    if ('needs_ct' in rest) throw new TypeError(`${what}: unknown field "needs_ct" (write needsCT)`);
    L.encode(L.from(partial, what), this.raw);
  }

  #L(): typeof ipv4NatEntry | typeof ipv6NatEntry { return this.family === 4 ? ipv4NatEntry : ipv6NatEntry; }

  get created(): bigint { return getU64(this.raw, this.#L().offsetOf.created); }
  set created(v: bigint) { setU64(this.raw, this.#L().offsetOf.created, u64.check(v, 'created')); }
  get needsCT(): bigint { return getU64(this.raw, this.#L().offsetOf.needs_ct); }
  set needsCT(v: bigint) { setU64(this.raw, this.#L().offsetOf.needs_ct, u64.check(v, 'needsCT')); }
  get pad1(): bigint { return getU64(this.raw, this.#L().offsetOf.pad1); }
  get pad2(): bigint { return getU64(this.raw, this.#L().offsetOf.pad2); }
  get addr(): string {
    const off = this.#L().offsetOf.addr;
    return this.family === 4 ? formatIPv4(this.raw, off) : formatIPv6(this.raw, off);
  }
  get addrBytes(): Uint8Array { const L = this.#L(); return this.raw.subarray(L.offsetOf.addr, L.offsetOf.addr + L.sizeOf.addr); }
  get port(): number { return getU16(this.raw, this.#L().offsetOf.port); }
  set port(v: number) { setU16(this.raw, this.#L().offsetOf.port, u16.check(v, 'port')); }

  toBytes(): Uint8Array { return this.raw.slice(); }

  protected swappedPort(): Uint8Array {
    const b = this.raw.slice();
    swapU16At(b, this.#L().offsetOf.port);
    return b;
  }

  toFields(): NatEntryValues {
    return { created: this.created, needsCT: this.needsCT, pad1: this.pad1, pad2: this.pad2, addr: this.addr, port: this.port };
  }

  /** Go String(): raw port. */
  toString(): string {
    return `Addr=${this.addr} Port=${this.port} Created=${this.created} NeedsCT=${this.needsCT}\n`;
  }

  /** Go Dump(key, toDeltaSecs): call on a ToHost() value; the key's IN bit picks XLATE_DST. */
  dump(key: { readonly flags: number }, toDeltaSecs: (created: bigint) => string = rawCreated): string {
    const w = (key.flags & TUPLE_F_IN) !== 0 ? 'DST' : 'SRC';
    const a = this.family === 4 ? this.addr : `[${this.addr}]`;
    return `XLATE_${w} ${a}:${this.port} Created=${toDeltaSecs(this.created)} NeedsCT=${this.needsCT}\n`;
  }

  toGoJSON(): JsonObject {
    return { Created: this.created, NeedsCT: this.needsCT, Pad1: this.pad1, Pad2: this.pad2, Addr: Array.from(this.addrBytes), Port: this.port };
  }

  toJSON(): JsonObject {
    return { ...this.toGoJSON(), Created: u64ForJSON(this.created), NeedsCT: u64ForJSON(this.needsCT), Pad1: u64ForJSON(this.pad1), Pad2: u64ForJSON(this.pad2) };
  }

  protected static fieldsFromJSON(family: Family, v: unknown, what: string): NatEntryFields {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TypeError(`${what}: expected a JSON object, got ${describe(v)}`);
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!['Created', 'NeedsCT', 'Pad1', 'Pad2', 'Addr', 'Port'].includes(k)) throw new TypeError(`${what}: unknown field "${k}"`);
    return {
      created: jsonU64(o.Created, `${what}.Created`), needsCT: jsonU64(o.NeedsCT, `${what}.NeedsCT`),
      pad1: jsonU64(o.Pad1, `${what}.Pad1`), pad2: jsonU64(o.Pad2, `${what}.Pad2`),
      addr: jsonBytes(o.Addr, family === 4 ? 4 : 16, `${what}.Addr`), port: jsonInt(o.Port, 0xffff, `${what}.Port`),
    };
  }

  [inspect](): string {
    return `${this.constructor.name} ${this.toString().trimEnd()}`;
  }
}

export class NatEntry4 extends NatEntryBase {
  static readonly size = SizeofNatEntry4;
  protected get family(): Family { return 4; }
  constructor(init?: NatEntryFields | Uint8Array) { super(4, init, 'NatEntry4'); }
  static fromBytes(b: Uint8Array): NatEntry4 { return new NatEntry4(copyExact(b, SizeofNatEntry4, 'NatEntry4')); }
  static fromJSON(v: unknown): NatEntry4 { return new NatEntry4(NatEntryBase.fieldsFromJSON(4, v, 'NatEntry4')); }
  /** A copy with only the port byte-swapped. */
  toHost(): NatEntry4 { return new NatEntry4(this.swappedPort()); }
}

export class NatEntry6 extends NatEntryBase {
  static readonly size = SizeofNatEntry6;
  protected get family(): Family { return 6; }
  constructor(init?: NatEntryFields | Uint8Array) { super(6, init, 'NatEntry6'); }
  static fromBytes(b: Uint8Array): NatEntry6 { return new NatEntry6(copyExact(b, SizeofNatEntry6, 'NatEntry6')); }
  static fromJSON(v: unknown): NatEntry6 { return new NatEntry6(NatEntryBase.fieldsFromJSON(6, v, 'NatEntry6')); }
  toHost(): NatEntry6 { return new NatEntry6(this.swappedPort()); }
}

export type NatEntry = NatEntry4 | NatEntry6;
