/**
 * `ctmap ct list|flush|count|gc`: the plain text of `ct list` is
 * byte-identical to `cilium-dbg bpf ct list` (each map's dump followed by a
 * newline, as Go's Println leaves it); `-o json` is Go's MarshalIndent of
 * the records followed by an empty line.
 */
import { CtKey4Global, CtKey6Global } from '../structs/tuple.js';
import { CtEntry } from '../structs/ctentry.js';
import { CtMapRecord } from '../structs/records.js';
import type { ConntrackMap } from '../ctmap/ctmap.js';
import { remainingSecondsFormatter, type ClockSource } from '../datapath/clock.js';
import type { GCMode, GCStats } from '../ctmap/gc.js';
import { ctLine } from '../ctmap/text.js';
import type { NatGCStats } from '../ctmap/orphans.js';
import type { Node } from '../node/node.js';
import { CliError, cliNode, openAll, parseSelector, type GlobalOptions } from './context.js';
import { JsonArrayWriter, Progress, SyncWriter } from './output.js';

export interface ListOptions {
  readonly output?: string;
  readonly timeDiff?: boolean;
  readonly timeDiffClocksourceMode?: string;
  readonly timeDiffClocksourceHz?: string;
}

/** The CT maps a selector names, opened (all or none). */
function ctMapsFor(args: readonly string[], g: GlobalOptions): { maps: ConntrackMap[]; node: Node } {
  const cluster = parseSelector(args);
  const node = cliNode(g);
  const maps = cluster === undefined ? node.ct.maps() : node.cluster(cluster).ct.maps();
  return { maps: openAll(maps), node };
}

/** cilium-dbg's clock-source flags: ktime unless jiffies is asked for (there is no agent to ask). */
export function clockSourceFromFlags(o: ListOptions): ClockSource | undefined {
  if (o.timeDiff !== true) return undefined;
  const mode = o.timeDiffClocksourceMode ?? 'ktime';
  if (mode === 'ktime' || mode === '') return { mode: 'ktime' };
  if (mode === 'jiffies') {
    const hz = o.timeDiffClocksourceHz === undefined ? 250 : Number(o.timeDiffClocksourceHz);
    if (!Number.isSafeInteger(hz) || hz < 0) throw new CliError(`invalid --time-diff-clocksource-hz ${JSON.stringify(o.timeDiffClocksourceHz)}`);
    if (hz === 0) throw new CliError('could not determine clocksource: invalid HZ value');
    return { mode: 'jiffies', hertz: hz };
  }
  throw new CliError('could not determine clocksource: invalid clocksource');
}

function checkOutput(o: { readonly output?: string }): 'text' | 'json' {
  if (o.output === undefined) return 'text';
  if (o.output === 'json') return 'json';
  throw new CliError(`unsupported output format ${JSON.stringify(o.output)} (use -o json)`);
}

function totalFor(maps: readonly ConntrackMap[], progress: boolean): number | undefined {
  return progress ? maps.reduce((n, m) => n + m.count(), 0) : undefined;
}

export function ctList(args: readonly string[], o: ListOptions, g: GlobalOptions): void {
  const format = checkOutput(o);
  const cs = clockSourceFromFlags(o);
  const { maps, node } = ctMapsFor(args, g);
  const out = new SyncWriter();
  const progress = new Progress('ct list', totalFor(maps, process.stderr.isTTY));
  let done = 0;
  try {
    if (format === 'json') {
      const arr = new JsonArrayWriter(out);
      for (const m of maps) {
        for (const b of m.batches()) {
          for (let i = 0; i < b.count; i++) {
            const k = b.keys.slice(i * b.keySize, (i + 1) * b.keySize);
            const key = m.isIPv4 ? new CtKey4Global(k) : new CtKey6Global(k);
            arr.add(new CtMapRecord(key, new CtEntry(b.values.slice(i * b.valueSize, (i + 1) * b.valueSize))));
          }
          progress.update(done += b.count);
          if (out.closed) return;
        }
      }
      arr.end();
      return;
    }
    const toRemSecs = cs === undefined ? undefined : remainingSecondsFormatter(cs);
    for (const m of maps) {
      // Batch reads return entries in the order a GET_NEXT_KEY walk would; the text is the same.
      for (const b of m.batches()) {
        for (let i = 0; i < b.count; i++) {
          const line = ctLine(b.keys, i * b.keySize, b.values, i * b.valueSize, m.isIPv4, toRemSecs);
          if (line !== undefined) out.write(line);
        }
        progress.update(done += b.count);
        // The reader went away: stop reading the maps (nothing was changed).
        if (out.closed) return;
      }
      out.write('\n');
    }
  } finally {
    progress.done();
    out.flush();
    node.close();
  }
}

export function ctFlush(args: readonly string[], g: GlobalOptions): void {
  const { maps, node } = ctMapsFor(args, g);
  const out = new SyncWriter();
  try {
    for (const m of maps) {
      const s = m.flush();
      out.write(`Flushed ${s.deleted} entries from ${m.path()}\n`);
    }
  } finally {
    out.flush();
    node.close();
  }
}

export function ctCount(args: readonly string[], g: GlobalOptions): void {
  if (args.length > 0) throw new CliError(`Invalid argument: ${args.join(' ')}`);
  const { maps, node } = ctMapsFor([], g);
  const out = new SyncWriter();
  try {
    for (const m of maps) {
      const p = m.pressure();
      out.write(`${m.path()}: ${p.count} entries, max ${p.maxEntries}, pressure ${(p.pressure * 100).toFixed(2)}%\n`);
    }
  } finally {
    out.flush();
    node.close();
  }
}

export interface GCOptions {
  readonly time?: string;
  readonly mode?: string;
  readonly purgeOrphans?: boolean;
}

function gcLine(s: GCStats): string {
  return `${s.map}: deleted ${s.deleted}, alive ${s.aliveEntries}, skipped ${s.skipped}, deferred ${s.deferred}`
    + `${s.natDeleted > 0 ? `, NAT entries deleted ${s.natDeleted}` : ''}${s.error === undefined ? '' : `, error: ${s.error.message}`}\n`;
}

function natLine(n: NatGCStats, name: string): string {
  return `${name}: orphans deleted ${n.egressDeleted} egress / ${n.ingressDeleted} ingress, alive ${n.egressAlive} egress / ${n.ingressAlive} ingress`
    + `${n.error === undefined ? '' : `, error: ${n.error.message}`}\n`;
}

export function ctGC(args: readonly string[], o: GCOptions, g: GlobalOptions): void {
  if (args.length > 0) throw new CliError(`Invalid argument: ${args.join(' ')}`);
  const m = o.mode ?? 'safe';
  if (m !== 'safe' && m !== 'fast') throw new CliError(`invalid --mode ${JSON.stringify(o.mode)} (safe or fast)`);
  const mode: GCMode = m;
  let time: number | undefined;
  if (o.time !== undefined) {
    if (!/^\d+$/.test(o.time) || Number(o.time) > 0xffffffff) throw new CliError(`invalid --time ${JSON.stringify(o.time)} (a CT time: 0…4294967295)`);
    time = Number(o.time);
  }
  const { maps, node } = ctMapsFor([], g);
  const out = new SyncWriter();
  try {
    for (const cm of maps) {
      const progress = new Progress(`gc ${cm.name}`, process.stderr.isTTY ? cm.count() : undefined);
      const s = cm.gc({ mode, ...(time === undefined ? {} : { time }), onProgress: (n: number) => { progress.update(n); } });
      progress.done();
      out.write(gcLine(s));
    }
    if (o.purgeOrphans === true) {
      for (const n of node.purgeOrphans({ clusters: false })) {
        const nat = n.family === 'ipv4' ? node.nat.v4 : node.nat.v6;
        out.write(natLine(n, nat.name));
      }
      for (const fam of [...(node.ipv4 ? ['ipv4'] : []), ...(node.ipv6 ? ['ipv6'] : [])]) {
        if (!(fam === 'ipv4' ? node.nat.v4 : node.nat.v6).pinned()) out.write(`${fam}: no NAT map pinned, nothing to purge\n`);
      }
    }
  } finally {
    out.flush();
    node.close();
  }
}
