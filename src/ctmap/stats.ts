/**
 * "Who fills my CT table": counts over CT maps by protocol, direction and
 * flag, a histogram of the time left before entries expire, and the
 * heaviest endpoints — decided straight from batch buffers (no object per
 * entry) with memory fixed by the top-N capacity, whatever the map size.
 * `ctmap ct stats` prints it and the exporter serves it.
 */
import { ipv4CtTuple, ipv6CtTuple, TUPLE_F_IN, TUPLE_F_RELATED, TUPLE_F_SERVICE } from '../structs/tuple.js';
import { ctEntryLayout, ctFlagNames, MaxFlags } from '../structs/ctentry.js';
import { formatIPv4, formatIPv6, protoName } from '../structs/inet.js';
import { getU16, getU32 } from '../structs/bytes.js';
import { compileFilter, checkFilter, printedView, type PrintedView } from '../structs/filter.js';
import { batchOptions, type StatsWalkOptions } from '../datapath/walk.js';
import { SpaceSaving, type TopItem } from '../datapath/topn.js';
import type { ConntrackMap } from './ctmap.js';

export interface CtStatsOptions extends StatsWalkOptions {
  /** The CT time remaining lifetimes are measured from (default: now on the maps' settings clock). */
  readonly now?: number | undefined;
}

export interface MapFill {
  readonly map: string;
  readonly path: string;
  /** Entries in the map. */
  readonly entries: number;
  /** Entries the filter matched (all of them without a filter). */
  readonly matched: number;
  readonly maxEntries: number;
  /** entries / maxEntries. */
  readonly pressure: number;
}

export interface LifetimeBucket {
  /** `expired`, or the bucket's upper bound (`10s`, `1m`…, `more`). */
  readonly label: string;
  /** Upper bound in CT time units (seconds with ktime), inclusive; null for the last bucket. */
  readonly upTo: number | null;
  readonly count: number;
}

export interface TopEndpoint {
  readonly endpoint: string;
  readonly count: number;
  /** Upper bound of the over-count (0: exact). */
  readonly error: number;
}

export interface CtStats {
  /** The CT time the lifetimes were measured from. */
  readonly now: number;
  /** Matched entries over all maps. */
  readonly total: number;
  readonly maps: readonly MapFill[];
  /** By printed protocol name. */
  readonly byProto: Readonly<Record<string, number>>;
  /** By printed direction (IN, OUT, SVC). */
  readonly byDir: Readonly<Record<'IN' | 'OUT' | 'SVC', number>>;
  /** Entries printed `related`. */
  readonly related: number;
  /** By CT flag name (an entry counts once for each flag it has); `Unknown` for bits past the known ones. */
  readonly byFlag: Readonly<Record<string, number>>;
  /** Remaining lifetime, in CT time units. */
  readonly lifetime: readonly LifetimeBucket[];
  readonly top: {
    /** Printed source addresses with the most entries. */
    readonly sources: readonly TopEndpoint[];
    /** Printed destination addresses. */
    readonly destinations: readonly TopEndpoint[];
    /** Printed destination address:port (services, remote servers). */
    readonly services: readonly TopEndpoint[];
    /** True when every count is exact (the distinct endpoints fit the counters). */
    readonly exact: boolean;
  };
}

/** The histogram's upper bounds (CT time units: seconds with ktime). */
export const lifetimeBounds: readonly (readonly [string, number])[] = [
  ['10s', 10], ['1m', 60], ['5m', 300], ['1h', 3600], ['6h', 21600], ['1d', 86400],
];

const O = ctEntryLayout.offsetOf;

/** An endpoint key for the top-N: IPv4 as a number (addr, or addr·65536+port), IPv6 as a byte string. */
function addrKey(b: Uint8Array, off: number, v4: boolean): number | string {
  if (v4) return getU32BE(b, off);
  return String.fromCharCode(...b.subarray(off, off + 16));
}

function getU32BE(b: Uint8Array, off: number): number {
  return (((b[off] ?? 0) << 24) >>> 0) + ((b[off + 1] ?? 0) << 16) + ((b[off + 2] ?? 0) << 8) + (b[off + 3] ?? 0);
}

function port(b: Uint8Array, off: number): number {
  return ((b[off] ?? 0) << 8) | (b[off + 1] ?? 0);
}

/** Turn a top-N key back into text. */
export function endpointText(key: number | string, withPort: boolean): string {
  if (typeof key === 'number') {
    const addr = withPort ? Math.floor(key / 65536) : key;
    const b = Uint8Array.of(addr >>> 24, (addr >>> 16) & 0xff, (addr >>> 8) & 0xff, addr & 0xff);
    return withPort ? `${formatIPv4(b)}:${key % 65536}` : formatIPv4(b);
  }
  const b = Uint8Array.from(key, (c) => c.charCodeAt(0));
  const a = formatIPv6(b, 0);
  return withPort ? `[${a}]:${((b[16] ?? 0) << 8) | (b[17] ?? 0)}` : a;
}

function topOf(s: SpaceSaving<number | string>, n: number, withPort: boolean): TopEndpoint[] {
  return s.top(n).map((t: TopItem<number | string>) => ({ endpoint: endpointText(t.key, withPort), count: t.count, error: t.error }));
}

/** Counts over `maps` (opened by the caller), read once each. */
export function ctStats(maps: readonly ConntrackMap[], opts: CtStatsOptions = {}): CtStats {
  const filter = opts.filter === undefined ? undefined : checkFilter(opts.filter);
  const first = maps[0];
  const now = opts.now ?? (first === undefined ? 0 : first.settings.nowCT());
  const capacity = opts.capacity ?? 4096;
  const sources = new SpaceSaving<number | string>(capacity);
  const destinations = new SpaceSaving<number | string>(capacity);
  const services = new SpaceSaving<number | string>(capacity);
  const byProto = new Map<number, number>();
  const byDir = { IN: 0, OUT: 0, SVC: 0 };
  let related = 0;
  const flagCounts = new Float64Array(16);
  const buckets = new Float64Array(lifetimeBounds.length + 2);
  const fills: MapFill[] = [];
  let total = 0;
  let seen = 0;
  const at: PrintedView = { src: 0, dst: 0, sport: 0, dport: 0 };
  for (const m of maps) {
    const v4 = m.isIPv4;
    const L = (v4 ? ipv4CtTuple : ipv6CtTuple).offsetOf;
    const match = compileFilter(filter, 'ct', v4 ? 4 : 6);
    const view = printedView('ct', v4 ? 4 : 6);
    const alen = v4 ? 4 : 16;
    let entries = 0;
    let matched = 0;
    for (const b of m.batches(batchOptions(opts))) {
      const { keys, values, keySize, valueSize, count } = b;
      entries += count;
      for (let i = 0; i < count; i++) {
        const ko = i * keySize;
        const vo = i * valueSize;
        if (!match(keys, ko, values, vo)) continue;
        matched++;
        const nh = keys[ko + L.nexthdr] ?? 0;
        byProto.set(nh, (byProto.get(nh) ?? 0) + 1);
        const tf = keys[ko + L.flags] ?? 0;
        if ((tf & TUPLE_F_SERVICE) !== 0) byDir.SVC++;
        else if ((tf & TUPLE_F_IN) !== 0) byDir.IN++;
        else byDir.OUT++;
        if ((tf & TUPLE_F_RELATED) !== 0) related++;
        const fl = getU16(values, vo + O.flags);
        for (let bit = 0; bit < 16; bit++) if ((fl & (1 << bit)) !== 0) flagCounts[bit] = (flagCounts[bit] ?? 0) + 1;
        const left = getU32(values, vo + O.lifetime) - now;
        let bi = 0;
        if (left >= 0) {
          bi = 1;
          while (bi <= lifetimeBounds.length && left > (lifetimeBounds[bi - 1]?.[1] ?? Infinity)) bi++;
        }
        buckets[bi] = (buckets[bi] ?? 0) + 1;
        view(keys, ko, at);
        sources.add(addrKey(keys, at.src, v4));
        destinations.add(addrKey(keys, at.dst, v4));
        const dp = port(keys, at.dport);
        services.add(v4 ? getU32BE(keys, at.dst) * 65536 + dp : String.fromCharCode(...keys.subarray(at.dst, at.dst + alen), dp >> 8, dp & 0xff));
      }
      seen += count;
      opts.onProgress?.(seen);
    }
    total += matched;
    fills.push({ map: m.name, path: m.path(), entries, matched, maxEntries: m.maxEntries, pressure: m.maxEntries === 0 ? 0 : entries / m.maxEntries });
  }
  const proto: Record<string, number> = {};
  for (const [p, n] of [...byProto].sort((a, b) => b[1] - a[1] || a[0] - b[0])) proto[protoName(p)] = n;
  const byFlag: Record<string, number> = {};
  for (const [bit, name] of ctFlagNames) {
    const n = flagCounts[Math.log2(bit)] ?? 0;
    if (n > 0) byFlag[name] = n;
  }
  let unknown = 0;
  for (let bit = Math.log2(MaxFlags); bit < 16; bit++) unknown += flagCounts[bit] ?? 0;
  if (unknown > 0) byFlag.Unknown = unknown;
  const lifetime: LifetimeBucket[] = [
    { label: 'expired', upTo: -1, count: buckets[0] ?? 0 },
    ...lifetimeBounds.map(([label, upTo], i) => ({ label, upTo, count: buckets[i + 1] ?? 0 })),
    { label: 'more', upTo: null, count: buckets[lifetimeBounds.length + 1] ?? 0 },
  ];
  const n = opts.top ?? 10;
  return {
    now, total, maps: fills, byProto: proto, byDir, related, byFlag, lifetime,
    top: {
      sources: topOf(sources, n, false), destinations: topOf(destinations, n, false), services: topOf(services, n, true),
      exact: sources.exact && destinations.exact && services.exact,
    },
  };
}
