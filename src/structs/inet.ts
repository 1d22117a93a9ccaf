/**
 * Addresses, protocol numbers and byte order, with Go's rules: addresses
 * parse like `netip.ParseAddr` (no zones, no IPv4 leading zeros) and print
 * like `netip.Addr.String()` (RFC 5952, `::ffff:a.b.c.d` for mapped v4).
 */

export class AddrParseError extends Error {
  readonly input: string;
  constructor(input: string, reason: string) {
    super(`ParseAddr(${JSON.stringify(input)}): ${reason}`);
    this.name = 'AddrParseError';
    this.input = input;
  }
}

/** Parse dotted-quad text into `out` at `off`; returns an error reason or undefined. */
function parse4Into(s: string, out: Uint8Array, off: number): string | undefined {
  let field = 0;
  let val = -1;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && val === 0) return 'IPv4 field has octet with leading zero';
      val = (val < 0 ? 0 : val * 10) + (c - 48);
      digits++;
      if (val > 255) return 'IPv4 field has value >255';
    } else if (c === 46) {
      if (val < 0) return 'IPv4 field must have at least one digit';
      if (field === 3) return 'IPv4 address too long';
      out[off + field++] = val;
      val = -1;
      digits = 0;
    } else {
      return `unexpected character ${JSON.stringify(s[i])}`;
    }
  }
  if (val < 0) return 'IPv4 field must have at least one digit';
  if (field < 3) return 'IPv4 address too short';
  out[off + field] = val;
  return undefined;
}

export function parseIPv4(s: string): Uint8Array {
  if (typeof s !== 'string') throw new TypeError(`expected an IPv4 address string, got ${typeof s}`);
  const out = new Uint8Array(4);
  if (s === '') throw new AddrParseError(s, 'empty string');
  const err = parse4Into(s, out, 0);
  if (err !== undefined) throw new AddrParseError(s, err);
  return out;
}

export function parseIPv6(s: string): Uint8Array {
  if (typeof s !== 'string') throw new TypeError(`expected an IPv6 address string, got ${typeof s}`);
  if (s === '') throw new AddrParseError(s, 'empty string');
  if (s.includes('%')) throw new AddrParseError(s, 'zones are not supported in BPF map keys');
  const out = new Uint8Array(16);
  let i = 0;
  let group = 0;
  let ellipsis = -1;
  if (s.startsWith('::')) {
    ellipsis = 0;
    i = 2;
    if (i === s.length) return out;
  }
  while (i < s.length) {
    let val = 0;
    let n = 0;
    while (i + n < s.length) {
      const c = s.charCodeAt(i + n);
      let d: number;
      if (c >= 48 && c <= 57) d = c - 48;
      else if (c >= 97 && c <= 102) d = c - 87;
      else if (c >= 65 && c <= 70) d = c - 55;
      else break;
      val = (val << 4) | d;
      n++;
      if (n > 4) throw new AddrParseError(s, 'IPv6 field has value >=2^16');
    }
    if (n === 0) throw new AddrParseError(s, 'each colon-separated field must have at least one digit');
    if (i + n < s.length && s[i + n] === '.') {
      // Embedded IPv4 in the last 32 bits.
      if (ellipsis < 0 && group !== 6) throw new AddrParseError(s, 'embedded IPv4 address must replace the final 2 fields of the address');
      if (group + 2 > 8) throw new AddrParseError(s, 'too many hex fields to fit an embedded IPv4 at the end of the address');
      const err = parse4Into(s.slice(i), out, group * 2);
      if (err !== undefined) throw new AddrParseError(s, err);
      group += 2;
      i = s.length;
      break;
    }
    out[group * 2] = val >> 8;
    out[group * 2 + 1] = val & 0xff;
    group++;
    i += n;
    if (i === s.length) break;
    if (s[i] !== ':') throw new AddrParseError(s, `unexpected character, want colon`);
    if (i + 1 === s.length) throw new AddrParseError(s, 'colon must be followed by more characters');
    i++;
    if (s[i] === ':') {
      if (ellipsis >= 0) throw new AddrParseError(s, 'multiple :: in address');
      ellipsis = group;
      i++;
      if (i === s.length) break;
    }
    if (group === 8) throw new AddrParseError(s, 'trailing garbage after address');
  }
  if (ellipsis < 0) {
    if (group !== 8) throw new AddrParseError(s, 'address string too short');
  } else {
    const n = 8 - group;
    if (n < 1) throw new AddrParseError(s, 'the :: must expand to at least one field of zeros');
    // Move the groups after '::' to the end.
    out.copyWithin((ellipsis + n) * 2, ellipsis * 2, group * 2);
    out.fill(0, ellipsis * 2, (ellipsis + n) * 2);
  }
  return out;
}

/** Parse either family: 4 bytes for IPv4 text, 16 for IPv6 text. */
export function parseAddr(s: string): Uint8Array {
  if (typeof s !== 'string') throw new TypeError(`expected an address string, got ${typeof s}`);
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === ':') return parseIPv6(s);
    if (c === '.') return parseIPv4(s);
  }
  throw new AddrParseError(s, s === '' ? 'empty string' : 'unable to parse IP');
}

/** An address with a prefix length (Go netip.Prefix); host bits may be set, matching ignores them. */
export interface Prefix {
  readonly addr: Uint8Array;
  readonly bits: number;
}

/** `addr/bits` or a bare address (a full-length prefix), either family, parsed like Go's netip.ParsePrefix. */
export function parsePrefix(s: string): Prefix {
  if (typeof s !== 'string') throw new TypeError(`expected an address or CIDR string, got ${typeof s}`);
  const slash = s.indexOf('/');
  const addr = parseAddr(slash < 0 ? s : s.slice(0, slash));
  const max = addr.length * 8;
  if (slash < 0) return { addr, bits: max };
  const b = s.slice(slash + 1);
  if (!/^(0|[1-9]\d*)$/.test(b) || Number(b) > max) {
    throw new AddrParseError(s, `bad bits after slash: ${JSON.stringify(b)} (0..${max})`);
  }
  return { addr, bits: Number(b) };
}

/** Whether the address at src[off…] (of the prefix's family) lies in the prefix. */
export function prefixContains(p: Prefix, src: Uint8Array, off: number): boolean {
  const a = p.addr;
  const full = p.bits >> 3;
  for (let i = 0; i < full; i++) if (src[off + i] !== a[i]) return false;
  const rest = p.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((src[off + full] ?? 0) & mask) === ((a[full] ?? 0) & mask);
}

export function formatIPv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** Go netip.Addr.String() of a 16-byte address. */
export function formatIPv6(b: Uint8Array, off = 0): string {
  let mapped = b[off + 10] === 0xff && b[off + 11] === 0xff;
  for (let i = 0; mapped && i < 10; i++) if (b[off + i] !== 0) mapped = false;
  if (mapped) return `::ffff:${formatIPv4(b, off + 12)}`;
  // Longest run of >= 2 zero groups; the leftmost wins a tie.
  let bestStart = -1;
  let bestLen = 0;
  for (let g = 0; g < 8;) {
    if (b[off + g * 2] === 0 && b[off + g * 2 + 1] === 0) {
      let e = g;
      while (e < 8 && b[off + e * 2] === 0 && b[off + e * 2 + 1] === 0) e++;
      if (e - g > bestLen && e - g >= 2) {
        bestStart = g;
        bestLen = e - g;
      }
      g = e;
    } else {
      g++;
    }
  }
  let s = '';
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      s += '::';
      g += bestLen - 1;
      continue;
    }
    if (s !== '' && !s.endsWith(':')) s += ':';
    s += (((b[off + g * 2] ?? 0) << 8) | (b[off + g * 2 + 1] ?? 0)).toString(16);
  }
  return s;
}

export function formatAddr(b: Uint8Array, off = 0, len = b.length - off): string {
  if (len === 4) return formatIPv4(b, off);
  if (len === 16) return formatIPv6(b, off);
  throw new RangeError(`an address is 4 or 16 bytes, got ${len}`);
}

/** Go's u8proto table. */
const protoNames: ReadonlyMap<number, string> = new Map([
  [0, 'ANY'], [1, 'ICMP'], [2, 'IGMP'], [4, 'IPIP'], [6, 'TCP'], [17, 'UDP'], [41, 'IPv6'], [47, 'GRE'],
  [50, 'ESP'], [51, 'AH'], [58, 'ICMPv6'], [112, 'VRRP'], [132, 'SCTP'],
]);
const protoByName: ReadonlyMap<string, number> = new Map([...protoNames].map(([n, s]) => [s.toUpperCase(), n]));

export const U8proto = {
  ANY: 0, ICMP: 1, IGMP: 2, IPIP: 4, TCP: 6, UDP: 17, IPv6: 41, GRE: 47, ESP: 50, AH: 51, ICMPv6: 58, VRRP: 112, SCTP: 132,
} as const;

/** `U8proto.String()`: the name, or the decimal number for anything else. */
export function protoName(p: number): string {
  return protoNames.get(p) ?? String(p);
}

/** A protocol by name (case-insensitive) or number. */
export function parseProto(p: string | number): number {
  if (typeof p === 'number') {
    if (!Number.isInteger(p) || p < 0 || p > 255) throw new RangeError(`protocol ${p} is out of range (0..255)`);
    return p;
  }
  if (typeof p !== 'string') throw new TypeError(`protocol must be a name or a number, got ${typeof p}`);
  const byName = protoByName.get(p.toUpperCase());
  if (byName !== undefined) return byName;
  if (/^\d+$/.test(p)) return parseProto(Number(p));
  throw new RangeError(`unknown protocol ${JSON.stringify(p)}`);
}

/** ntohs/htons on a little-endian host: both are a 16-bit byte swap. */
export function swap16(v: number): number {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}
