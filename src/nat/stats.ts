/**
 * Counts over SNAT maps: by protocol and direction, the heaviest endpoints,
 * and SNAT port usage — for each external address and protocol, how many
 * ports are taken and how close the busiest remote endpoint is to the port
 * range (nat-datapath.md §10.4: a new mapping needs a free port for its
 * (remote endpoint, external address, protocol); past half the retries the
 * datapath signals NAT fill-up, at the end it drops the packet).
 *
 * Ports are read from the RevSNAT (IN) entries, the ones the allocator
 * inserts with NOEXIST: `D:d -> X:p` printed, X the external address and p
 * the port taken. Memory is fixed: a 64 Ki-bit port bitmap per (address,
 * protocol), at most `maxAddresses` of them, and Space-Saving counters for
 * the tops.
 */
import { ipv4CtTuple, ipv6CtTuple, TUPLE_F_IN } from '../structs/tuple.js';
import { formatIPv4, formatIPv6, protoName, U8proto } from '../structs/inet.js';
import { compileFilter, checkFilter, printedView, type PrintedView } from '../structs/filter.js';
import { batchOptions, type StatsWalkOptions } from '../datapath/walk.js';
import { SpaceSaving } from '../datapath/topn.js';
import type { NatMap } from './natmap.js';

export interface PortRange {
  readonly min: number;
  readonly max: number;
}

/** Cilium's SNAT range for BPF masquerading and NodePort: nodeport_port_max + 1 (32768 by default) to 65535. */
export const DefaultSNATPortRange: PortRange = Object.freeze({ min: 32768, max: 65535 });

export interface NatStatsOptions extends StatsWalkOptions {
  /** The SNAT port range (ICMP echo ids always use 0…65535). */
  readonly portRange?: PortRange | undefined;
  /** At most this many (external address, protocol) port bitmaps (8 KiB each; default 1024). */
  readonly maxAddresses?: number | undefined;
}

export interface NatTopEndpoint {
  readonly endpoint: string;
  readonly count: number;
  readonly error: number;
}

export interface RemoteUsage {
  /** The remote endpoint (`addr:port`, `[addr]:port`). */
  readonly remote: string;
  readonly external: string;
  readonly proto: string;
  /** Ports taken on `external` toward this remote endpoint (upper bound when `error` > 0). */
  readonly ports: number;
  readonly error: number;
  /** ports / the range size: at 1 the next connection to this endpoint cannot be translated. */
  readonly ratio: number;
}

export interface SnatUsage {
  readonly external: string;
  readonly proto: string;
  /** RevSNAT entries (one per translated connection). */
  readonly mappings: number;
  /** Distinct ports taken, whatever the remote endpoint. */
  readonly ports: number;
  readonly range: PortRange;
  readonly rangeSize: number;
  /** Ports taken outside the range (from another configuration, or ICMP ids). */
  readonly outOfRange: number;
  /** The busiest remote endpoint of this address and protocol among those counted, if any. */
  readonly busiest: RemoteUsage | undefined;
}

export interface NatStats {
  readonly total: number;
  readonly maps: readonly { readonly map: string; readonly path: string; readonly entries: number; readonly matched: number; readonly maxEntries: number; readonly pressure: number }[];
  readonly byProto: Readonly<Record<string, number>>;
  /** IN: RevSNAT entries; OUT: SNAT entries. */
  readonly byDir: Readonly<Record<'IN' | 'OUT', number>>;
  readonly top: { readonly sources: readonly NatTopEndpoint[]; readonly destinations: readonly NatTopEndpoint[]; readonly exact: boolean };
  /** Port usage per external address and protocol, the fullest first. */
  readonly snat: readonly SnatUsage[];
  /** The remote endpoints with the most ports taken toward them, over all addresses. */
  readonly busiestRemotes: readonly RemoteUsage[];
  /** (address, protocol) groups beyond maxAddresses, left out of `snat`. */
  readonly snatGroupsDropped: number;
}

function addrText(key: string): string {
  const b = Uint8Array.from(key, (c) => c.charCodeAt(0));
  return b.length === 4 ? formatIPv4(b) : formatIPv6(b);
}

function endpointText(addrKey: string, port: number): string {
  return addrKey.length === 4 ? `${addrText(addrKey)}:${port}` : `[${addrText(addrKey)}]:${port}`;
}

function port(b: Uint8Array, off: number): number {
  return ((b[off] ?? 0) << 8) | (b[off + 1] ?? 0);
}

function bytes(b: Uint8Array, off: number, n: number): string {
  return String.fromCharCode(...b.subarray(off, off + n));
}

interface Group {
  readonly addr: string;
  readonly proto: number;
  readonly bits: Uint32Array;
  mappings: number;
  ports: number;
  outOfRange: number;
}

/** Counts over NAT maps (opened by the caller), read once each. */
export function natStats(maps: readonly NatMap[], opts: NatStatsOptions = {}): NatStats {
  const filter = opts.filter === undefined ? undefined : checkFilter(opts.filter);
  const capacity = opts.capacity ?? 4096;
  const range = opts.portRange ?? DefaultSNATPortRange;
  if (!Number.isInteger(range.min) || !Number.isInteger(range.max) || range.min < 0 || range.max > 65535 || range.min > range.max) {
    throw new RangeError(`natStats: portRange must be min ≤ max within 0…65535, got ${range.min}…${range.max}`);
  }
  const maxAddresses = opts.maxAddresses ?? 1024;
  const sources = new SpaceSaving<string>(capacity);
  const destinations = new SpaceSaving<string>(capacity);
  // Key: external address bytes + proto + remote address bytes + remote port (2 bytes).
  const remotes = new SpaceSaving<string>(capacity);
  const groups = new Map<string, Group>();
  let dropped = 0;
  const byProto = new Map<number, number>();
  const byDir = { IN: 0, OUT: 0 };
  const fills: NatStats['maps'][number][] = [];
  let total = 0;
  let seen = 0;
  const at: PrintedView = { src: 0, dst: 0, sport: 0, dport: 0 };
  for (const m of maps) {
    const v4 = m.isIPv4;
    const L = (v4 ? ipv4CtTuple : ipv6CtTuple).offsetOf;
    const alen = v4 ? 4 : 16;
    const match = compileFilter(filter, 'nat', v4 ? 4 : 6);
    const view = printedView('nat', v4 ? 4 : 6);
    let entries = 0;
    let matched = 0;
    for (const b of m.batches(batchOptions(opts))) {
      const { keys, values, keySize, valueSize, count } = b;
      entries += count;
      for (let i = 0; i < count; i++) {
        const ko = i * keySize;
        if (!match(keys, ko, values, i * valueSize)) continue;
        matched++;
        const nh = keys[ko + L.nexthdr] ?? 0;
        byProto.set(nh, (byProto.get(nh) ?? 0) + 1);
        view(keys, ko, at);
        const src = bytes(keys, at.src, alen);
        const dst = bytes(keys, at.dst, alen);
        sources.add(src);
        destinations.add(dst);
        if (((keys[ko + L.flags] ?? 0) & TUPLE_F_IN) === 0) {
          byDir.OUT++;
          continue;
        }
        byDir.IN++;
        // RevSNAT: remote D:d -> external X:p.
        const p = port(keys, at.dport);
        const gk = `${dst}${String.fromCharCode(nh)}`;
        let g = groups.get(gk);
        if (g === undefined) {
          if (groups.size >= maxAddresses) {
            dropped++;
            continue;
          }
          g = { addr: dst, proto: nh, bits: new Uint32Array(2048), mappings: 0, ports: 0, outOfRange: 0 };
          groups.set(gk, g);
        }
        g.mappings++;
        const word = p >>> 5;
        const bit = 1 << (p & 31);
        if (((g.bits[word] ?? 0) & bit) === 0) {
          g.bits[word] = (g.bits[word] ?? 0) | bit;
          g.ports++;
          const r = rangeFor(nh, range);
          if (p < r.min || p > r.max) g.outOfRange++;
        }
        const rp = port(keys, at.sport);
        remotes.add(`${gk}${src}${String.fromCharCode(rp >> 8, rp & 0xff)}`);
      }
      seen += count;
      opts.onProgress?.(seen);
    }
    total += matched;
    fills.push({ map: m.name, path: m.path(), entries, matched, maxEntries: m.maxEntries, pressure: m.maxEntries === 0 ? 0 : entries / m.maxEntries });
  }
  const n = opts.top ?? 10;
  const usage = (key: string, count: number, error: number): RemoteUsage => {
    const proto = key.charCodeAt(key.length === 4 + 1 + 4 + 2 ? 4 : 16);
    const alen = key.length === 4 + 1 + 4 + 2 ? 4 : 16;
    const ext = key.slice(0, alen);
    const remote = key.slice(alen + 1, alen + 1 + alen);
    const rport = (key.charCodeAt(2 * alen + 1) << 8) | key.charCodeAt(2 * alen + 2);
    const r = rangeFor(proto, range);
    return { remote: endpointText(remote, rport), external: addrText(ext), proto: protoName(proto), ports: count, error, ratio: count / (r.max - r.min + 1) };
  };
  const allRemotes = remotes.top(capacity).map((t) => usage(t.key, t.count, t.error));
  const snat: SnatUsage[] = [...groups.values()].map((g) => {
    const r = rangeFor(g.proto, range);
    const ext = addrText(g.addr);
    const proto = protoName(g.proto);
    return {
      external: ext, proto, mappings: g.mappings, ports: g.ports, range: r, rangeSize: r.max - r.min + 1, outOfRange: g.outOfRange,
      busiest: allRemotes.find((u) => u.external === ext && u.proto === proto),
    };
  });
  snat.sort((a, b) => (b.busiest?.ratio ?? 0) - (a.busiest?.ratio ?? 0) || b.ports - a.ports);
  const proto: Record<string, number> = {};
  for (const [p, c] of [...byProto].sort((a, b) => b[1] - a[1] || a[0] - b[0])) proto[protoName(p)] = c;
  const top = (s: SpaceSaving<string>): NatTopEndpoint[] => s.top(n).map((t) => ({ endpoint: addrText(t.key), count: t.count, error: t.error }));
  return {
    total, maps: fills, byProto: proto, byDir,
    top: { sources: top(sources), destinations: top(destinations), exact: sources.exact && destinations.exact && remotes.exact },
    snat, busiestRemotes: allRemotes.slice(0, n), snatGroupsDropped: dropped,
  };
}

function rangeFor(proto: number, range: PortRange): PortRange {
  return proto === U8proto.ICMP || proto === U8proto.ICMPv6 ? { min: 0, max: 65535 } : range;
}
