/**
 * A reference for flow filters that knows nothing of key layouts: it parses
 * the line `ct list` or `nat list` prints and applies the filter to the text
 * (addresses through Node's net.BlockList). Property tests hold the library's
 * filter (src/structs/filter.ts) and the CLI's filter flags to it.
 */
import { BlockList } from 'node:net';
import type { FlowFilter } from '../../src/structs/filter.js';

export const protoText: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp' };

/** A line as printed: its flow, lifetime and flag names (CT lines). */
export interface Printed { proto: string; dir: string; src: string; sport: number; dst: string; dport: number; related: boolean; lifetime: number; flags: string[] }

export function parsePrinted(line: string, kind: 'ct' | 'nat'): Printed {
  const m = /^(\S+) (IN|OUT|SVC) (\[[^\]]+\]|\S+):(\d+) -> (\[[^\]]+\]|\S+):(\d+) (related )?/.exec(line);
  if (m === null) throw new Error(`unparsable line ${line}`);
  const strip = (s: string): string => s.replace(/^\[|\]$/g, '');
  const ct = kind === 'ct' ? /expires=(\d+) .*Flags=0x[0-9a-f]+ \[ (.*)\]/.exec(line) : null;
  return {
    proto: m[1] ?? '', dir: m[2] ?? '', src: strip(m[3] ?? ''), sport: Number(m[4]), dst: strip(m[5] ?? ''), dport: Number(m[6]),
    related: m[7] !== undefined, lifetime: Number(ct?.[1] ?? 0), flags: (ct?.[2] ?? '').trim().split(' ').filter((s) => s !== ''),
  };
}

export function inPrefix(addr: string, prefix: string): boolean {
  const [a = '', bits] = prefix.split('/');
  const type = a.includes(':') ? 'ipv6' : 'ipv4';
  if (addr.includes(':') !== (type === 'ipv6')) return false;
  const bl = new BlockList();
  bl.addSubnet(a, bits === undefined ? (type === 'ipv4' ? 32 : 128) : Number(bits), type);
  return bl.check(addr, type);
}

/** The reference: the filter applied to what the line prints. */
export function referenceMatch(p: Printed, f: FlowFilter): boolean {
  if (f.src !== undefined && !inPrefix(p.src, f.src)) return false;
  if (f.dst !== undefined && !inPrefix(p.dst, f.dst)) return false;
  if (f.sport !== undefined && p.sport !== f.sport) return false;
  if (f.dport !== undefined && p.dport !== f.dport) return false;
  if (f.proto !== undefined) {
    const want = typeof f.proto === 'number' ? protoText[f.proto] ?? '' : f.proto;
    if (p.proto.toLowerCase() !== want.toLowerCase()) return false;
  }
  if (f.dir !== undefined) {
    const d = f.dir.toUpperCase();
    if (d === 'RELATED' ? !p.related : p.dir !== d) return false;
  }
  if (f.related !== undefined && p.related !== f.related) return false;
  if (f.flags !== undefined) {
    const names = (typeof f.flags === 'string' ? f.flags.split(',') : f.flags).map((n) => n.trim().toLowerCase());
    if (!names.every((n) => p.flags.some((x) => x.toLowerCase() === n))) return false;
  }
  if (f.expiredAt !== undefined && !(p.lifetime < f.expiredAt)) return false;
  if (f.aliveAt !== undefined && !(p.lifetime >= f.aliveAt)) return false;
  return true;
}

