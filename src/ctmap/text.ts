/**
 * The `cilium-dbg bpf ct list` line of one entry, formatted straight from
 * batch buffers: the same text as `key.toHost().dump(true) +
 * entry.stringWithTimeDiff(...)` (a property test holds the two together),
 * without the objects, so a million-entry listing costs about a microsecond
 * per line.
 */
import { ipv4CtTuple, ipv6CtTuple, TUPLE_F_IN, TUPLE_F_RELATED, TUPLE_F_SERVICE } from '../structs/tuple.js';
import { ctEntryLayout, flagsString, hexPad } from '../structs/ctentry.js';
import { formatIPv4, formatIPv6, protoName } from '../structs/inet.js';
import { getU16, getU32 } from '../structs/bytes.js';

const O = ctEntryLayout.offsetOf;
const hex2: string[] = Array.from({ length: 256 }, (_, v) => hexPad(v, 2));
const flagsText = new Map<number, string>();
const protoText: string[] = Array.from({ length: 256 }, (_, p) => protoName(p));

/** Go's %d of a u64 stored little-endian at b[off]: a number while it fits 32 bits, a bigint beyond. */
function u64(b: Uint8Array, off: number): string {
  const hi = getU32(b, off + 4);
  const lo = getU32(b, off);
  return hi === 0 ? String(lo) : ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** A port stored in network order, in host order: the bytes read big-endian. */
function port(b: Uint8Array, off: number): number {
  return ((b[off] ?? 0) << 8) | (b[off + 1] ?? 0);
}

function flags(f: number): string {
  let s = flagsText.get(f);
  if (s === undefined) {
    s = flagsString(f);
    flagsText.set(f, s);
  }
  return s;
}

/**
 * One line for the key at keys[ko…] and the entry at values[vo…], or
 * undefined when the key's next header is 0 (Go's Dump returns false).
 */
export function ctLine(keys: Uint8Array, ko: number, values: Uint8Array, vo: number, v4: boolean,
  toRemSecs?: (lifetime: number) => string): string | undefined {
  const L = v4 ? ipv4CtTuple.offsetOf : ipv6CtTuple.offsetOf;
  const nexthdr = keys[ko + L.nexthdr] ?? 0;
  if (nexthdr === 0) return undefined;
  const fmt = v4 ? formatIPv4 : formatIPv6;
  const daddr = fmt(keys, ko + L.daddr);
  const saddr = fmt(keys, ko + L.saddr);
  const dport = port(keys, ko + L.dport);
  const sport = port(keys, ko + L.sport);
  const f = keys[ko + L.flags] ?? 0;
  const proto = protoText[nexthdr] ?? String(nexthdr);
  let key: string;
  if ((f & TUPLE_F_SERVICE) !== 0) key = `${proto} SVC ${saddr}:${dport} -> ${daddr}:${sport} `;
  else key = `${proto} ${(f & TUPLE_F_IN) !== 0 ? 'IN' : 'OUT'} ${daddr}:${sport} -> ${saddr}:${dport} `;
  if ((f & TUPLE_F_RELATED) !== 0) key += 'related ';
  const lifetime = getU32(values, vo + O.lifetime);
  const rem = toRemSecs === undefined ? '' : ` (${toRemSecs(lifetime)})`;
  return `${key}expires=${lifetime}${rem} Packets=${u64(values, vo + O.packets)} Bytes=${u64(values, vo + O.bytes)} `
    + `RxFlagsSeen=${hex2[values[vo + O.rx_flags_seen] ?? 0] ?? ''} LastRxReport=${getU32(values, vo + O.last_rx_report)} `
    + `TxFlagsSeen=${hex2[values[vo + O.tx_flags_seen] ?? 0] ?? ''} LastTxReport=${getU32(values, vo + O.last_tx_report)} `
    + `${flags(getU16(values, vo + O.flags))} RevNAT=${port(values, vo + O.rev_nat_index)} SourceSecurityID=${getU32(values, vo + O.src_sec_id)} `
    + `BackendID=${u64(values, vo + O.union0 + 8)} NatPort=${port(values, vo + O.nat_port)} \n`;
}
