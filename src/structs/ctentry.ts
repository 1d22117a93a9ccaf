/**
 * `struct ct_entry`, the 56-byte value of every CT map, as Go's CtEntry.
 * The object wraps its kernel bytes; fields decode on access.
 */
import { array, struct, u16, u32, u64, u8 } from './layout.js';
import { describe, isObject } from './describe.js';
import { getU16, getU32, getU64, setU16, setU32, setU64 } from './bytes.js';
import { swap16 } from './inet.js';
import { jsonInt, jsonU64, u64ForJSON, type JsonObject } from './json.js';
import { copyExact } from './tuple.js';

const union0Type = array(u64, 2);

export const ctEntryLayout = struct('ct_entry', {
  union0: union0Type,
  packets: u64,
  bytes: u64,
  lifetime: u32,
  flags: u16,
  rev_nat_index: u16,
  nat_port: u16,
  tx_flags_seen: u8,
  rx_flags_seen: u8,
  src_sec_id: u32,
  last_tx_report: u32,
  last_rx_report: u32,
});

export const SizeofCtEntry = ctEntryLayout.size;

// Flag bits of ct_entry (LSB-first bitfields in the little-endian u16 at offset 36).
export const RxClosing = 1 << 0;
export const TxClosing = 1 << 1;
export const Nat64 = 1 << 2;
export const LBLoopback = 1 << 3;
export const SeenNonSyn = 1 << 4;
export const NodePort = 1 << 5;
export const ProxyRedirect = 1 << 6;
export const DSRInternal = 1 << 7;
export const FromL7LB = 1 << 8;
export const Reserved1 = 1 << 9;
export const FromTunnel = 1 << 10;
export const MaxFlags = 1 << 11;

/** Each CT flag bit with its printed name, in printing order. */
export const ctFlagNames: readonly (readonly [number, string])[] = [
  [RxClosing, 'RxClosing'], [TxClosing, 'TxClosing'], [Nat64, 'Nat64'], [LBLoopback, 'LBLoopback'],
  [SeenNonSyn, 'SeenNonSyn'], [NodePort, 'NodePort'], [ProxyRedirect, 'ProxyRedirect'], [DSRInternal, 'DSRInternal'],
  [FromL7LB, 'FromL7LB'], [FromTunnel, 'FromTunnel'],
];

const flagByName = new Map(ctFlagNames.map(([bit, name]) => [name.toLowerCase(), bit]));

/** A printed flag's bit, by name in any case (`SeenNonSyn`, `nodeport`); undefined for an unknown name. */
export function ctFlagByName(name: string): number | undefined {
  return flagByName.get(name.toLowerCase());
}

/** Go `%#0<n>x`: the digits zero-padded to n, then the 0x prefix. */
export function hexPad(v: number, n: number): string {
  return `0x${v.toString(16).padStart(n, '0')}`;
}

/** `Flags=0x0013 [ RxClosing TxClosing SeenNonSyn ]`; Reserved1 is never printed, bits from MaxFlags up are Unknown. */
export function flagsString(flags: number): string {
  let s = `Flags=${hexPad(flags, 4)} [ `;
  for (const [bit, name] of ctFlagNames) if ((flags & bit) !== 0) s += `${name} `;
  const unknown = flags & ~(MaxFlags - 1) & 0xffff;
  if (unknown !== 0) s += `Unknown=${hexPad(unknown, 4)} `;
  return `${s}]`;
}

export interface CtEntryFields {
  union0?: readonly [bigint, bigint] | readonly bigint[];
  packets?: bigint;
  bytes?: bigint;
  lifetime?: number;
  flags?: number;
  revNAT?: number;
  natPort?: number;
  txFlagsSeen?: number;
  rxFlagsSeen?: number;
  sourceSecurityID?: number;
  lastTxReport?: number;
  lastRxReport?: number;
}

export interface CtEntryValues {
  union0: [bigint, bigint];
  packets: bigint;
  bytes: bigint;
  lifetime: number;
  flags: number;
  revNAT: number;
  natPort: number;
  txFlagsSeen: number;
  rxFlagsSeen: number;
  sourceSecurityID: number;
  lastTxReport: number;
  lastRxReport: number;
}

/** API field name → layout field name. */
const cName: Readonly<Record<keyof CtEntryValues, keyof typeof ctEntryLayout.offsetOf>> = {
  union0: 'union0', packets: 'packets', bytes: 'bytes', lifetime: 'lifetime', flags: 'flags',
  revNAT: 'rev_nat_index', natPort: 'nat_port', txFlagsSeen: 'tx_flags_seen', rxFlagsSeen: 'rx_flags_seen',
  sourceSecurityID: 'src_sec_id', lastTxReport: 'last_tx_report', lastRxReport: 'last_rx_report',
};
const O = ctEntryLayout.offsetOf;
const inspect = Symbol.for('nodejs.util.inspect.custom');

export class CtEntry {
  static readonly size = SizeofCtEntry;
  readonly raw: Uint8Array;

  constructor(init?: CtEntryFields | Uint8Array) {
    if (init instanceof Uint8Array) {
      if (init.length !== SizeofCtEntry) throw new RangeError(`CtEntry: expected ${SizeofCtEntry} bytes, got ${init.length}`);
      this.raw = init;
      return;
    }
    this.raw = new Uint8Array(SizeofCtEntry);
    if (init === undefined) return;
    if (!isObject(init)) throw new TypeError(`CtEntry: expected an object of fields, got ${describe(init)}`);
    const partial: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(init)) {
      const c = cName[k as keyof CtEntryValues] as string | undefined;
      if (c === undefined) throw new TypeError(`CtEntry: unknown field "${k}"`);
      partial[c] = v;
    }
    ctEntryLayout.encode(ctEntryLayout.from(partial, 'CtEntry'), this.raw);
  }

  static fromBytes(b: Uint8Array): CtEntry { return new CtEntry(copyExact(b, SizeofCtEntry, 'CtEntry')); }

  get union0(): [bigint, bigint] { return [getU64(this.raw, O.union0), getU64(this.raw, O.union0 + 8)]; }
  set union0(v: [bigint, bigint]) { const [a, b] = union0Type.check(v, 'union0'); setU64(this.raw, O.union0, a ?? 0n); setU64(this.raw, O.union0 + 8, b ?? 0n); }
  get packets(): bigint { return getU64(this.raw, O.packets); }
  set packets(v: bigint) { setU64(this.raw, O.packets, u64.check(v, 'packets')); }
  get bytes(): bigint { return getU64(this.raw, O.bytes); }
  set bytes(v: bigint) { setU64(this.raw, O.bytes, u64.check(v, 'bytes')); }
  get lifetime(): number { return getU32(this.raw, O.lifetime); }
  set lifetime(v: number) { setU32(this.raw, O.lifetime, u32.check(v, 'lifetime')); }
  get flags(): number { return getU16(this.raw, O.flags); }
  set flags(v: number) { setU16(this.raw, O.flags, u16.check(v, 'flags')); }
  /** rev_nat_index, raw (network order bytes read little-endian). */
  get revNAT(): number { return getU16(this.raw, O.rev_nat_index); }
  set revNAT(v: number) { setU16(this.raw, O.rev_nat_index, u16.check(v, 'revNAT')); }
  /** nat_port, raw. */
  get natPort(): number { return getU16(this.raw, O.nat_port); }
  set natPort(v: number) { setU16(this.raw, O.nat_port, u16.check(v, 'natPort')); }
  get txFlagsSeen(): number { return this.raw[O.tx_flags_seen] ?? 0; }
  set txFlagsSeen(v: number) { this.raw[O.tx_flags_seen] = u8.check(v, 'txFlagsSeen'); }
  get rxFlagsSeen(): number { return this.raw[O.rx_flags_seen] ?? 0; }
  set rxFlagsSeen(v: number) { this.raw[O.rx_flags_seen] = u8.check(v, 'rxFlagsSeen'); }
  get sourceSecurityID(): number { return getU32(this.raw, O.src_sec_id); }
  set sourceSecurityID(v: number) { setU32(this.raw, O.src_sec_id, u32.check(v, 'sourceSecurityID')); }
  get lastTxReport(): number { return getU32(this.raw, O.last_tx_report); }
  set lastTxReport(v: number) { setU32(this.raw, O.last_tx_report, u32.check(v, 'lastTxReport')); }
  get lastRxReport(): number { return getU32(this.raw, O.last_rx_report); }
  set lastRxReport(v: number) { setU32(this.raw, O.last_rx_report, u32.check(v, 'lastRxReport')); }
  /** Union0[1]: the backend ID of service entries. */
  get backendID(): bigint { return getU64(this.raw, O.union0 + 8); }

  isDsrInternalEntry(): boolean { return (this.flags & DSRInternal) !== 0; }

  toBytes(): Uint8Array { return this.raw.slice(); }

  toFields(): CtEntryValues {
    return {
      union0: this.union0, packets: this.packets, bytes: this.bytes, lifetime: this.lifetime, flags: this.flags,
      revNAT: this.revNAT, natPort: this.natPort, txFlagsSeen: this.txFlagsSeen, rxFlagsSeen: this.rxFlagsSeen,
      sourceSecurityID: this.sourceSecurityID, lastTxReport: this.lastTxReport, lastRxReport: this.lastRxReport,
    };
  }

  flagsString(): string { return flagsString(this.flags); }

  /** Go StringWithTimeDiff: the `expires=…` line, ending in " \n". */
  stringWithTimeDiff(toRemSecs?: (lifetime: number) => string): string {
    const rem = toRemSecs === undefined ? '' : ` (${toRemSecs(this.lifetime)})`;
    return `expires=${this.lifetime}${rem} Packets=${this.packets} Bytes=${this.bytes} `
      + `RxFlagsSeen=${hexPad(this.rxFlagsSeen, 2)} LastRxReport=${this.lastRxReport} `
      + `TxFlagsSeen=${hexPad(this.txFlagsSeen, 2)} LastTxReport=${this.lastTxReport} `
      + `${flagsString(this.flags)} RevNAT=${swap16(this.revNAT)} SourceSecurityID=${this.sourceSecurityID} `
      + `BackendID=${this.backendID} NatPort=${swap16(this.natPort)} \n`;
  }

  toString(): string { return this.stringWithTimeDiff(); }

  /** Go's JSON shape with exact u64 values (for marshalIndent). */
  toGoJSON(): JsonObject {
    const [a, b] = this.union0;
    return {
      Union0: [a, b], Packets: this.packets, Bytes: this.bytes, Lifetime: this.lifetime, Flags: this.flags,
      RevNAT: this.revNAT, NatPort: this.natPort, TxFlagsSeen: this.txFlagsSeen, RxFlagsSeen: this.rxFlagsSeen,
      SourceSecurityID: this.sourceSecurityID, LastTxReport: this.lastTxReport, LastRxReport: this.lastRxReport,
    };
  }

  /** Go's JSON shape for JSON.stringify: u64 values beyond 2^53 become decimal strings. */
  toJSON(): JsonObject {
    const g = this.toGoJSON();
    const [a, b] = this.union0;
    return { ...g, Union0: [u64ForJSON(a), u64ForJSON(b)], Packets: u64ForJSON(this.packets), Bytes: u64ForJSON(this.bytes) };
  }

  static fromJSON(v: unknown): CtEntry {
    const what = 'CtEntry';
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TypeError(`${what}: expected a JSON object, got ${describe(v)}`);
    const o = v as Record<string, unknown>;
    const known = ['Union0', 'Packets', 'Bytes', 'Lifetime', 'Flags', 'RevNAT', 'NatPort', 'TxFlagsSeen', 'RxFlagsSeen',
      'SourceSecurityID', 'LastTxReport', 'LastRxReport'];
    for (const k of Object.keys(o)) if (!known.includes(k)) throw new TypeError(`${what}: unknown field "${k}"`);
    const u = o.Union0;
    if (!Array.isArray(u) || u.length !== 2) throw new TypeError(`${what}.Union0: expected an array of 2 integers`);
    return new CtEntry({
      union0: [jsonU64(u[0], `${what}.Union0[0]`), jsonU64(u[1], `${what}.Union0[1]`)],
      packets: jsonU64(o.Packets, `${what}.Packets`), bytes: jsonU64(o.Bytes, `${what}.Bytes`),
      lifetime: jsonInt(o.Lifetime, 0xffffffff, `${what}.Lifetime`), flags: jsonInt(o.Flags, 0xffff, `${what}.Flags`),
      revNAT: jsonInt(o.RevNAT, 0xffff, `${what}.RevNAT`), natPort: jsonInt(o.NatPort, 0xffff, `${what}.NatPort`),
      txFlagsSeen: jsonInt(o.TxFlagsSeen, 0xff, `${what}.TxFlagsSeen`), rxFlagsSeen: jsonInt(o.RxFlagsSeen, 0xff, `${what}.RxFlagsSeen`),
      sourceSecurityID: jsonInt(o.SourceSecurityID, 0xffffffff, `${what}.SourceSecurityID`),
      lastTxReport: jsonInt(o.LastTxReport, 0xffffffff, `${what}.LastTxReport`),
      lastRxReport: jsonInt(o.LastRxReport, 0xffffffff, `${what}.LastRxReport`),
    });
  }

  [inspect](): string {
    return `CtEntry ${this.toString().trimEnd()}`;
  }
}
