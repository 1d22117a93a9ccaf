/**
 * `ctmap ct stats` and `ctmap nat stats`: who fills the CT and NAT tables,
 * in one read of each map (src/ctmap/stats.ts, src/nat/stats.ts). Text for
 * people; `-o json|yaml|jsonpath=` for scripts (the same figures, camelCase
 * names).
 */
import { marshalIndent, type JsonValue } from '../structs/json.js';
import { ctStats, type CtStats } from '../ctmap/stats.js';
import { natStats, DefaultSNATPortRange, type NatStats, type PortRange } from '../nat/stats.js';
import { CliError, type GlobalOptions } from './context.js';
import { canMatch, ctContext, ctMaps } from './ct.js';
import { natSelection } from './nat.js';
import { parseCTTime, type FilterFlags } from './flags.js';
import { parseOutput, writeValue } from './format.js';
import { Progress, SyncWriter } from './output.js';

export interface StatsOptions extends FilterFlags {
  readonly top?: string;
  readonly output?: string;
  readonly portRange?: string;
}

function topN(v: string | undefined): number {
  if (v === undefined) return 10;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 1000) throw new CliError(`invalid --top ${JSON.stringify(v)} (1…1000)`);
  return Number(v);
}

export function parsePortRange(v: string | undefined): PortRange {
  if (v === undefined) return DefaultSNATPortRange;
  const m = /^(\d+)-(\d+)$/.exec(v);
  const min = Number(m?.[1]);
  const max = Number(m?.[2]);
  if (m === null || min > max || max > 65535) throw new CliError(`invalid --port-range ${JSON.stringify(v)} (MIN-MAX within 0-65535, e.g. 32768-65535)`);
  return { min, max };
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

function table(rows: readonly (readonly string[])[], indent = '  '): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, c.length); });
  return rows.map((r) => `${indent}${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')}`.trimEnd()).join('\n') + '\n';
}

function counts(o: Readonly<Record<string, number>>): string {
  const e = Object.entries(o).filter(([, n]) => n > 0);
  return e.length === 0 ? '-' : e.map(([k, n]) => `${k} ${n}`).join(', ');
}

function approx(t: { count: number; error: number }): string {
  return t.error === 0 ? String(t.count) : `≤${t.count} (±${t.error})`;
}

export function ctStatsText(s: CtStats): string {
  let out = 'Maps:\n';
  out += table(s.maps.map((m) => [m.map, `${m.entries} entries`, `max ${m.maxEntries}`, `pressure ${pct(m.pressure)}`,
    ...(m.matched === m.entries ? [] : [`matched ${m.matched}`])]));
  out += `Entries: ${s.total}\n`;
  out += `  by protocol:  ${counts(s.byProto)}\n`;
  out += `  by direction: ${counts(s.byDir)}${s.related > 0 ? `; related ${s.related}` : ''}\n`;
  out += `  by flag:      ${counts(s.byFlag)}\n`;
  out += `Time left (CT clock ${s.now}):\n`;
  out += table(s.lifetime.map((b) => [b.label === 'expired' ? 'expired' : b.label === 'more' ? `> ${s.lifetime[s.lifetime.length - 2]?.label ?? ''}` : `≤ ${b.label}`, String(b.count),
    '#'.repeat(s.total === 0 ? 0 : Math.round((40 * b.count) / s.total))]));
  const tops: [string, readonly { endpoint: string; count: number; error: number }[]][] = [
    ['Top sources', s.top.sources], ['Top destinations', s.top.destinations], ['Top destination endpoints', s.top.services],
  ];
  for (const [title, items] of tops) {
    out += `${title}:\n`;
    out += items.length === 0 ? '  -\n' : table(items.map((t) => [t.endpoint, approx(t)]));
  }
  if (!s.top.exact) out += 'Top counts are approximate (more distinct endpoints than counters): each is at most ± the figure shown too high.\n';
  return out;
}

export function natStatsText(s: NatStats): string {
  let out = 'Maps:\n';
  out += table(s.maps.map((m) => [m.map, `${m.entries} entries`, `max ${m.maxEntries}`, `pressure ${pct(m.pressure)}`,
    ...(m.matched === m.entries ? [] : [`matched ${m.matched}`])]));
  out += `Entries: ${s.total}\n`;
  out += `  by protocol:  ${counts(s.byProto)}\n`;
  out += `  by direction: ${counts(s.byDir)} (IN: RevSNAT, OUT: SNAT)\n`;
  out += 'SNAT ports by external address:\n';
  out += s.snat.length === 0 ? '  -\n' : table([
    ['ADDRESS', 'PROTO', 'MAPPINGS', 'PORTS', 'RANGE', 'BUSIEST REMOTE', 'ITS PORTS'],
    ...s.snat.map((u) => [u.external, u.proto, String(u.mappings), `${u.ports}${u.outOfRange > 0 ? ` (${u.outOfRange} outside)` : ''}`, `${u.range.min}-${u.range.max}`,
      u.busiest?.remote ?? '-', u.busiest === undefined ? '-' : `${approx({ count: u.busiest.ports, error: u.busiest.error })} (${pct(u.busiest.ratio)} of range)`]),
  ]);
  if (s.snatGroupsDropped > 0) out += `  (${s.snatGroupsDropped} RevSNAT entries of further addresses not shown)\n`;
  out += 'Busiest remote endpoints (ports taken toward each):\n';
  out += s.busiestRemotes.length === 0 ? '  -\n' : table(s.busiestRemotes.map((r) => [r.remote, `${r.external} ${r.proto}`, approx({ count: r.ports, error: r.error }), `${pct(r.ratio)} of range`]));
  for (const [title, items] of [['Top sources', s.top.sources], ['Top destinations', s.top.destinations]] as const) {
    out += `${title}:\n`;
    out += items.length === 0 ? '  -\n' : table(items.map((t) => [t.endpoint, approx(t)]));
  }
  if (!s.top.exact) out += 'Top counts are approximate (more distinct endpoints than counters): each is at most ± the figure shown too high.\n';
  return out;
}

function asJSON(v: unknown): JsonValue {
  return JSON.parse(JSON.stringify(v)) as JsonValue;
}

export function ctStatsCommand(args: readonly string[], o: StatsOptions, g: GlobalOptions): void {
  const fmt = parseOutput(o.output);
  const top = topN(o.top);
  const { node, cluster, filter } = ctContext(args, o, g);
  const out = new SyncWriter();
  try {
    // The maps the filter rules out are not read (and not listed).
    const maps = ctMaps(node, cluster).filter((m) => canMatch(filter, m));
    const progress = new Progress('ct stats', process.stderr.isTTY ? maps.reduce((n, m) => n + m.count(), 0) : undefined);
    const now = o.time === undefined ? undefined : parseCTTime(o.time);
    const s = ctStats(maps, { filter: filter?.withLimit(undefined), top, now, onProgress: (n) => { progress.update(n); } });
    progress.done();
    if (fmt.kind === 'text') out.write(ctStatsText(s));
    else writeValue(fmt, out, asJSON(s), (v) => marshalIndent(v));
  } finally {
    out.flush();
    node.close();
  }
}

export function natStatsCommand(args: readonly string[], o: StatsOptions, g: GlobalOptions): void {
  const fmt = parseOutput(o.output);
  const top = topN(o.top);
  const portRange = parsePortRange(o.portRange);
  const { maps, node, filter } = natSelection(args, o, g);
  const out = new SyncWriter();
  try {
    const progress = new Progress('nat stats', process.stderr.isTTY ? maps.reduce((n, m) => n + m.count(), 0) : undefined);
    const s = natStats(maps, { filter: filter?.withLimit(undefined), top, portRange, onProgress: (n) => { progress.update(n); } });
    progress.done();
    if (fmt.kind === 'text') out.write(natStatsText(s));
    else writeValue(fmt, out, asJSON(s), (v) => marshalIndent(v));
  } finally {
    out.flush();
    node.close();
  }
}
