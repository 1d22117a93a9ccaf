/**
 * Flow filters: which CT or NAT entries an operator means, decided straight
 * from batch buffers (a key and a value at offsets), without an object per
 * entry. The library's filtered iteration, GC scopes and every CLI filter
 * flag go through this one implementation.
 *
 * A filter matches the flow **as the text prints it**: `PROTO DIR
 * src:sport -> dst:dport`. CT keys store addresses in reply order (Cilium
 * #5848), so for CT entries the printed source is the key's DestAddr — and
 * for service entries (`SVC`) the printed form differs again. The offsets
 * below follow `ctLine` (src/ctmap/text.ts) and the tuple Dump of NAT keys
 * (`nat list`); the property test in tests/unit/filter.test.ts holds the two
 * together by filtering the printed text independently.
 */
import { describe, isObject } from './describe.js';
import { getU16, getU32 } from './bytes.js';
import { parsePrefix, parseProto, prefixContains, type Prefix } from './inet.js';
import { ipv4CtTuple, ipv6CtTuple, TUPLE_F_IN, TUPLE_F_RELATED, TUPLE_F_SERVICE } from './tuple.js';
import { ctEntryLayout, ctFlagByName } from './ctentry.js';

export type Direction = 'IN' | 'OUT' | 'SVC' | 'RELATED';

/** What to match; every field optional, all given fields must hold. */
export interface FlowFilter {
  /** Printed source: an address or a CIDR, either family (a v4 filter never matches v6 entries). */
  readonly src?: string | undefined;
  readonly dst?: string | undefined;
  /** Printed ports, host order. */
  readonly sport?: number | undefined;
  readonly dport?: number | undefined;
  /** The printed protocol: a name in any case (`tcp`, `ICMPv6`) or its number. */
  readonly proto?: string | number | undefined;
  /** IN, OUT, SVC (the printed direction), or RELATED (the related-ICMP entries). */
  readonly dir?: Direction | Lowercase<Direction> | undefined;
  /** true: only related entries (printed `related`); false: only the others. */
  readonly related?: boolean | undefined;
  /** CT entry flags by name (`SeenNonSyn`, `NodePort`…), all of which must be set. CT only. */
  readonly flags?: readonly string[] | string | undefined;
  /** CT entries whose lifetime is below this CT time (expired then). CT only. */
  readonly expiredAt?: number | undefined;
  /** CT entries whose lifetime is at least this CT time (alive then). CT only. */
  readonly aliveAt?: number | undefined;
  /** Stop after this many matches. */
  readonly limit?: number | undefined;
}

export type EntryKind = 'ct' | 'nat';

/** A filter checked once: parsed prefixes, numbers, masks. Immutable; compile it per map family. */
export class CheckedFilter {
  readonly src: Prefix | undefined;
  readonly dst: Prefix | undefined;
  readonly sport: number | undefined;
  readonly dport: number | undefined;
  readonly proto: number | undefined;
  readonly dir: Direction | undefined;
  readonly related: boolean | undefined;
  readonly flags: number;
  readonly expiredAt: number | undefined;
  readonly aliveAt: number | undefined;
  readonly limit: number | undefined;
  /** The fields that apply to CT entries only, as given (for error messages). */
  readonly ctOnly: readonly string[];
  /** The filter as given. */
  readonly source: FlowFilter;

  constructor(f: FlowFilter) {
    if (!isObject(f)) throw new TypeError(`filter must be an object, got ${describe(f)}`);
    const known = ['src', 'dst', 'sport', 'dport', 'proto', 'dir', 'related', 'flags', 'expiredAt', 'aliveAt', 'limit'];
    for (const k of Object.keys(f)) if (!known.includes(k)) throw new TypeError(`filter: unknown field "${k}" (known: ${known.join(', ')})`);
    this.src = f.src === undefined ? undefined : prefix(f.src, 'src');
    this.dst = f.dst === undefined ? undefined : prefix(f.dst, 'dst');
    this.sport = f.sport === undefined ? undefined : int(f.sport, 0xffff, 'sport');
    this.dport = f.dport === undefined ? undefined : int(f.dport, 0xffff, 'dport');
    this.proto = f.proto === undefined ? undefined : protoOf(f.proto);
    this.dir = f.dir === undefined ? undefined : dirOf(f.dir);
    if (f.related !== undefined && typeof f.related !== 'boolean') throw new TypeError(`filter.related must be a boolean, got ${describe(f.related)}`);
    this.related = f.related;
    this.flags = f.flags === undefined ? 0 : flagsOf(f.flags);
    this.expiredAt = f.expiredAt === undefined ? undefined : int(f.expiredAt, 0xffffffff, 'expiredAt');
    this.aliveAt = f.aliveAt === undefined ? undefined : int(f.aliveAt, 0xffffffff, 'aliveAt');
    if (f.limit !== undefined) {
      const l = int(f.limit, Number.MAX_SAFE_INTEGER, 'limit');
      if (l < 1) throw new RangeError('filter.limit must be at least 1');
      this.limit = l;
    } else {
      this.limit = undefined;
    }
    this.source = Object.freeze({ ...f });
    this.ctOnly = [
      ...(f.flags === undefined ? [] : ['flags']), ...(f.expiredAt === undefined ? [] : ['expiredAt']),
      ...(f.aliveAt === undefined ? [] : ['aliveAt']),
    ];
    Object.freeze(this);
  }

  /** The same filter with another limit (undefined: none). */
  withLimit(limit: number | undefined): CheckedFilter {
    const rest: FlowFilter = { ...this.source, limit };
    if (limit === undefined) delete (rest as { limit?: number }).limit;
    return new CheckedFilter(rest);
  }

  /** True when nothing but (perhaps) a limit is set: every entry matches. */
  get matchesAll(): boolean {
    return this.src === undefined && this.dst === undefined && this.sport === undefined && this.dport === undefined
      && this.proto === undefined && this.dir === undefined && this.related === undefined && this.flags === 0 && this.expiredAt === undefined && this.aliveAt === undefined;
  }
}

/** A filter as given, or already checked. */
export type FilterInput = FlowFilter | CheckedFilter;

export function checkFilter(f: FilterInput): CheckedFilter {
  return f instanceof CheckedFilter ? f : new CheckedFilter(f);
}

/** Decides one entry from its key at keys[ko…] and its value at values[vo…]. */
export type Matcher = (keys: Uint8Array, ko: number, values: Uint8Array, vo: number) => boolean;

/** Matches every entry. */
export const matchAll: Matcher = () => true;
/** Matches no entry (a filter of the other family). */
export const matchNone: Matcher = () => false;

const LIFETIME = ctEntryLayout.offsetOf.lifetime;
const FLAGS = ctEntryLayout.offsetOf.flags;

/** A port stored in network order, in host order. */
function port(b: Uint8Array, off: number): number {
  return ((b[off] ?? 0) << 8) | (b[off + 1] ?? 0);
}

/** Where the fields of an entry's printed view sit: offsets of its source and destination address and port. */
export interface PrintedView {
  src: number;
  dst: number;
  sport: number;
  dport: number;
}

/**
 * The offsets of the printed view of the key at keys[ko…], written into
 * `out`: CT service entries print saddr:dport -> daddr:sport, other CT
 * entries daddr:sport -> saddr:dport (reply-order storage, Cilium #5848),
 * NAT entries saddr:sport -> daddr:dport. Filters, `ct stats` and `nat stats`
 * all read a flow through this one function.
 */
export function printedView(kind: EntryKind, family: 4 | 6): (keys: Uint8Array, ko: number, out: PrintedView) => void {
  const L = (family === 4 ? ipv4CtTuple : ipv6CtTuple).offsetOf;
  if (kind === 'nat') {
    return (_keys, ko, out) => {
      out.src = ko + L.saddr; out.dst = ko + L.daddr; out.sport = ko + L.sport; out.dport = ko + L.dport;
    };
  }
  return (keys, ko, out) => {
    if (((keys[ko + L.flags] ?? 0) & TUPLE_F_SERVICE) !== 0) {
      out.src = ko + L.saddr; out.dst = ko + L.daddr; out.sport = ko + L.dport; out.dport = ko + L.sport;
    } else {
      out.src = ko + L.daddr; out.dst = ko + L.saddr; out.sport = ko + L.sport; out.dport = ko + L.dport;
    }
  };
}

/**
 * The matcher of `f` for one kind of map and address family. A filter that
 * names fields NAT entries do not have is refused for `nat`; one whose
 * addresses are of the other family gives `matchNone`.
 */
export function compileFilter(input: FilterInput | undefined, kind: EntryKind, family: 4 | 6): Matcher {
  if (input === undefined) return matchAll;
  const f = checkFilter(input);
  if (kind === 'nat' && f.ctOnly.length > 0) {
    throw new RangeError(`filter: ${f.ctOnly.join(', ')} apply to CT entries only, not to NAT entries`);
  }
  if (f.matchesAll) return matchAll;
  const addrLen = family === 4 ? 4 : 16;
  if ((f.src !== undefined && f.src.addr.length !== addrLen) || (f.dst !== undefined && f.dst.addr.length !== addrLen)) return matchNone;
  const L = (family === 4 ? ipv4CtTuple : ipv6CtTuple).offsetOf;
  const { src, dst, sport, dport, proto, dir, related, flags, expiredAt, aliveAt } = f;
  const ct = kind === 'ct';
  const view = printedView(kind, family);
  const at: PrintedView = { src: 0, dst: 0, sport: 0, dport: 0 };
  return (keys, ko, values, vo) => {
    const tf = keys[ko + L.flags] ?? 0;
    const svc = (tf & TUPLE_F_SERVICE) !== 0;
    view(keys, ko, at);
    const { src: s, dst: d, sport: sp, dport: dp } = at;
    if (proto !== undefined && keys[ko + L.nexthdr] !== proto) return false;
    if (dir !== undefined) {
      switch (dir) {
        case 'RELATED': if ((tf & TUPLE_F_RELATED) === 0) return false; break;
        case 'SVC': if (!svc) return false; break;
        // CT: SVC is printed instead of IN/OUT; NAT prints IN/OUT whatever else is set.
        case 'IN': if ((ct && svc) || (tf & TUPLE_F_IN) === 0) return false; break;
        case 'OUT': if ((ct && svc) || (tf & TUPLE_F_IN) !== 0) return false; break;
      }
    }
    if (related !== undefined && ((tf & TUPLE_F_RELATED) !== 0) !== related) return false;
    if (sport !== undefined && port(keys, sp) !== sport) return false;
    if (dport !== undefined && port(keys, dp) !== dport) return false;
    if (src !== undefined && !prefixContains(src, keys, s)) return false;
    if (dst !== undefined && !prefixContains(dst, keys, d)) return false;
    if (ct) {
      if (flags !== 0 && (getU16(values, vo + FLAGS) & flags) !== flags) return false;
      if (expiredAt !== undefined && getU32(values, vo + LIFETIME) >= expiredAt) return false;
      if (aliveAt !== undefined && getU32(values, vo + LIFETIME) < aliveAt) return false;
    }
    return true;
  };
}

function prefix(v: unknown, what: string): Prefix {
  if (typeof v !== 'string') throw new TypeError(`filter.${what} must be an address or CIDR string, got ${describe(v)}`);
  try {
    return parsePrefix(v);
  } catch (err) {
    throw new RangeError(`filter.${what}: ${(err as Error).message}`, { cause: err });
  }
}

function int(v: unknown, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`filter.${what} must be an integer, got ${describe(v)}`);
  if (v < 0 || v > max) throw new RangeError(`filter.${what}: ${v} is out of range (0..${max})`);
  return v;
}

function protoOf(v: unknown): number {
  if (typeof v !== 'string' && typeof v !== 'number') throw new TypeError(`filter.proto must be a protocol name or number, got ${describe(v)}`);
  try {
    return parseProto(v);
  } catch (err) {
    throw new RangeError(`filter.proto: ${(err as Error).message}`, { cause: err });
  }
}

function dirOf(v: unknown): Direction {
  const d = typeof v === 'string' ? v.toUpperCase() : v;
  if (d !== 'IN' && d !== 'OUT' && d !== 'SVC' && d !== 'RELATED') throw new RangeError(`filter.dir must be IN, OUT, SVC or RELATED, got ${describe(v)}`);
  return d;
}

function flagsOf(v: unknown): number {
  const names = typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s !== '') : v;
  if (!Array.isArray(names) || names.length === 0) throw new TypeError(`filter.flags must be flag names, got ${describe(v)}`);
  let mask = 0;
  for (const n of names as unknown[]) {
    const bit = typeof n === 'string' ? ctFlagByName(n) : undefined;
    if (bit === undefined) throw new RangeError(`filter.flags: unknown CT flag ${describe(n)}`);
    mask |= bit;
  }
  return mask;
}
