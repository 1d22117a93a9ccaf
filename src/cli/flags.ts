/**
 * The filter flags shared by `ct list|flush|gc|delete|stats|watch|count` and
 * `nat list|stats`: they build the library's FlowFilter (src/structs/filter.ts),
 * so the CLI and the library decide entries with one implementation. A
 * filter matches the flow as the text prints it: `PROTO DIR src:sport ->
 * dst:dport`.
 */
import { CheckedFilter, type FlowFilter } from '../structs/filter.js';
import { CliError } from './errors.js';

export interface FilterFlags {
  readonly src?: string;
  readonly dst?: string;
  readonly sport?: string;
  readonly dport?: string;
  readonly proto?: string;
  readonly dir?: string;
  readonly related?: boolean;
  readonly flags?: string;
  readonly expired?: boolean;
  readonly alive?: boolean;
  readonly time?: string;
  readonly cluster?: string;
  readonly limit?: string;
}

import type { FilterKind } from './options.js';

function decimal(v: string, max: number, flag: string, what: string): number {
  if (!/^\d+$/.test(v) || Number(v) > max) throw new CliError(`invalid ${flag} ${JSON.stringify(v)} (${what})`);
  return Number(v);
}

/** A CT time from `--time`. */
export function parseCTTime(v: string, flag = '--time'): number {
  return decimal(v, 0xffffffff, flag, 'a CT time: 0…4294967295');
}

/** A cluster id from `--cluster` (checked against the node's settings by the caller). */
export function parseClusterFlag(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  return decimal(v, 0xffffffff, '--cluster', 'a cluster id');
}

/** The library filter the flags describe (undefined for none), checked; `now` gives the CT time when --time is absent. */
export function filterFromFlags(f: FilterFlags, kind: FilterKind, now: () => number): CheckedFilter | undefined {
  if (f.expired === true && f.alive === true) throw new CliError('--expired and --alive exclude each other');
  const at = f.time === undefined ? undefined : parseCTTime(f.time);
  const when = (): number => at ?? now();
  const ff: { -readonly [K in keyof FlowFilter]: FlowFilter[K] } = {};
  if (f.src !== undefined) ff.src = f.src;
  if (f.dst !== undefined) ff.dst = f.dst;
  if (f.sport !== undefined) ff.sport = decimal(f.sport, 0xffff, '--sport', 'a port: 0…65535');
  if (f.dport !== undefined) ff.dport = decimal(f.dport, 0xffff, '--dport', 'a port: 0…65535');
  if (f.proto !== undefined) ff.proto = /^\d+$/.test(f.proto) ? Number(f.proto) : f.proto;
  if (f.dir !== undefined) ff.dir = f.dir.toUpperCase() as FlowFilter['dir'];
  if (f.related === true) ff.related = true;
  if (kind === 'ct') {
    if (f.flags !== undefined) ff.flags = f.flags;
    if (f.expired === true) ff.expiredAt = when();
    if (f.alive === true) ff.aliveAt = when();
  }
  if (f.limit !== undefined) {
    ff.limit = decimal(f.limit, Number.MAX_SAFE_INTEGER, '--limit', 'a count of entries, at least 1');
    if (ff.limit < 1) throw new CliError(`invalid --limit ${JSON.stringify(f.limit)} (a count of entries, at least 1)`);
  }
  if (Object.keys(ff).length === 0) return undefined;
  try {
    return new CheckedFilter(ff);
  } catch (err) {
    // The library names fields (filter.sport); the person typed flags (--sport).
    const msg = (err as Error).message.replace(/filter\.(expiredAt|aliveAt)/, '--time').replace(/filter\.(\w+)/, '--$1');
    throw new CliError(`invalid filter: ${msg}`, err);
  }
}

/** True when the filter constrains which entries match (a limit alone does not). */
export function constrains(f: CheckedFilter | undefined): f is CheckedFilter {
  return f !== undefined && !f.matchesAll;
}
