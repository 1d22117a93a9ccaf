/**
 * A flow typed on the command line, the way `ct list` prints it:
 *
 *     <proto> [IN|OUT|SVC] <src:port> [->] <dst:port> [related]
 *
 * so a line of `ct list` can be pasted back (`ctmap ct get TCP OUT
 * 10.0.0.1:40000 -> 10.0.0.2:80`). IPv6 endpoints are `[addr]:port`.
 */
import { parseAddr, parseProto, protoName } from '../structs/inet.js';
import { CtKey4Global, CtKey6Global, ipv4CtTuple, ipv6CtTuple, TUPLE_F_IN, TUPLE_F_OUT, TUPLE_F_RELATED, TUPLE_F_SERVICE } from '../structs/tuple.js';
import type { FlowFilter } from '../structs/filter.js';
import { CliError } from './context.js';

export type FlowDir = 'IN' | 'OUT' | 'SVC';

export interface CliFlow {
  readonly family: 4 | 6;
  readonly proto: number;
  /** undefined: any of IN, OUT, SVC. */
  readonly dir: FlowDir | undefined;
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
  readonly related: boolean;
}

const usage = 'a flow is <proto> [IN|OUT|SVC] <src:port> [->] <dst:port> [related]';

function family(endpoint: string): 4 | 6 {
  return endpoint.startsWith('[') || endpoint.split(':').length > 2 ? 6 : 4;
}

function endpoint(s: string, fam: 4 | 6, what: string): [string, number] {
  // ct list prints IPv6 endpoints without brackets (addr:port, the last colon before the port); both forms are taken.
  const m = fam === 4 ? /^([^:]+):(\d+)$/.exec(s) : (/^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([0-9a-fA-F:.]+):(\d+)$/.exec(s));
  if (m === null) throw new CliError(`invalid ${what} ${JSON.stringify(s)}: want ${fam === 4 ? 'addr:port' : '[addr]:port'} (${usage})`);
  const port = Number(m[2]);
  if (port > 0xffff) throw new CliError(`invalid ${what} ${JSON.stringify(s)}: port ${port} is out of range (0..65535)`);
  try {
    parseAddr(m[1] ?? '');
  } catch (err) {
    throw new CliError(`invalid ${what} ${JSON.stringify(s)}: ${(err as Error).message}`, err);
  }
  return [m[1] ?? '', port];
}

/** Parse the flow tokens; undefined when there are none. */
export function parseFlow(tokens: readonly string[]): CliFlow | undefined {
  if (tokens.length === 0) return undefined;
  const t = [...tokens];
  const protoTok = t.shift() ?? '';
  let proto: number;
  try {
    proto = parseProto(/^\d+$/.test(protoTok) ? Number(protoTok) : protoTok);
  } catch (err) {
    throw new CliError(`invalid protocol ${JSON.stringify(protoTok)}: ${(err as Error).message} (${usage})`, err);
  }
  let dir: FlowDir | undefined;
  const d = t[0]?.toUpperCase();
  if (d === 'IN' || d === 'OUT' || d === 'SVC') {
    dir = d;
    t.shift();
  }
  const src = t.shift();
  if (t[0] === '->') t.shift();
  const dst = t.shift();
  let related = false;
  if (t[0]?.toLowerCase() === 'related') {
    related = true;
    t.shift();
  }
  if (src === undefined || dst === undefined || t.length > 0) throw new CliError(`invalid flow ${JSON.stringify(tokens.join(' '))}: ${usage}`);
  const fam = family(src);
  if (family(dst) !== fam) throw new CliError(`invalid flow ${JSON.stringify(tokens.join(' '))}: the endpoints are of different families`);
  const [s, sport] = endpoint(src, fam, 'source');
  const [ds, dport] = endpoint(dst, fam, 'destination');
  return { family: fam, proto, dir, src: s, sport, dst: ds, dport, related };
}

/**
 * The key that `ct list` prints as this flow in direction `dir`: the printed
 * view inverted (src/structs/filter.ts, printedView) — for SVC entries
 * saddr:dport -> daddr:sport, for others daddr:sport -> saddr:dport; ports in
 * network order; IN, SERVICE and RELATED flags as printed. For every entry the
 * datapath writes this is the key CtKey.fromFlow derives (a related entry
 * prints as `ICMP OUT a:0 -> b:0 related`), and it also reaches keys written
 * by other tools, so any line of `ct list` pasted back finds its entry.
 */
export function printedKey(f: CliFlow, dir: FlowDir, alsoIn = false): CtKey4Global | CtKey6Global {
  const L = (f.family === 4 ? ipv4CtTuple : ipv6CtTuple).offsetOf;
  const b = new Uint8Array(f.family === 4 ? ipv4CtTuple.size : ipv6CtTuple.size);
  const be16 = (off: number, v: number): void => { b[off] = v >> 8; b[off + 1] = v & 0xff; };
  if (dir === 'SVC') {
    b.set(parseAddr(f.src), L.saddr);
    b.set(parseAddr(f.dst), L.daddr);
    be16(L.dport, f.sport);
    be16(L.sport, f.dport);
  } else {
    b.set(parseAddr(f.src), L.daddr);
    b.set(parseAddr(f.dst), L.saddr);
    be16(L.sport, f.sport);
    be16(L.dport, f.dport);
  }
  b[L.nexthdr] = f.proto;
  b[L.flags] = (dir === 'IN' || alsoIn ? TUPLE_F_IN : TUPLE_F_OUT) | (dir === 'SVC' ? TUPLE_F_SERVICE : 0) | (f.related ? TUPLE_F_RELATED : 0);
  return f.family === 4 ? new CtKey4Global(b) : new CtKey6Global(b);
}

/**
 * Every key that prints as the flow in direction `dir`: one, except for SVC,
 * which is printed whether or not the IN bit is set (the datapath writes
 * service entries without it; other writers may not).
 */
export function printedKeys(f: CliFlow, dir: FlowDir): (CtKey4Global | CtKey6Global)[] {
  return dir === 'SVC' ? [printedKey(f, dir), printedKey(f, dir, true)] : [printedKey(f, dir)];
}

/** The filter that matches exactly the entries printed as this flow (in any direction when none is given). */
export function flowFilter(f: CliFlow): FlowFilter {
  const host = f.family === 4 ? 32 : 128;
  return {
    src: `${f.src}/${host}`, dst: `${f.dst}/${host}`, proto: f.proto, sport: f.sport, dport: f.dport, related: f.related,
    ...(f.dir === undefined ? {} : { dir: f.dir }),
  };
}

/** The flow as `ct list` prints its key part (IPv6 endpoints without brackets, as Cilium prints them). */
export function flowText(f: CliFlow, dir: FlowDir | undefined = f.dir): string {
  const ep = (a: string, p: number): string => `${a}:${p}`;
  return `${protoName(f.proto)}${dir === undefined ? '' : ` ${dir}`} ${ep(f.src, f.sport)} -> ${ep(f.dst, f.dport)}${f.related ? ' related' : ''}`;
}
