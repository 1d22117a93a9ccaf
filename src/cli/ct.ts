/**
 * `ctmap ct list|flush|count|gc`: the plain text of `ct list` is
 * byte-identical to `cilium-dbg bpf ct list` (each map's dump followed by a
 * newline, as Go's Println leaves it); `-o json` is Go's MarshalIndent of
 * the records followed by an empty line, `-o yaml` yaml.v3's, and `-o
 * jsonpath=` a template over the JSON value. Filters pick entries as the
 * text prints them, decided from the batch buffers by the library's filter.
 */
import { CtKey4Global, CtKey6Global } from '../structs/tuple.js';
import { CtEntry } from '../structs/ctentry.js';
import { CtMapRecord } from '../structs/records.js';
import { compileFilter, matchNone, type CheckedFilter } from '../structs/filter.js';
import type { ConntrackMap } from '../ctmap/ctmap.js';
import { remainingSecondsFormatter, type ClockSource } from '../datapath/clock.js';
import type { GCMode, GCStats } from '../ctmap/gc.js';
import { ctLine } from '../ctmap/text.js';
import { purgeOrphans, type NatGCStats } from '../ctmap/orphans.js';
import type { Node } from '../node/node.js';
import { CliError, cliNode, openSelection, parseSelector, type GlobalOptions } from './context.js';
import { filterFromFlags, parseClusterFlag, parseCTTime, type FilterFlags } from './flags.js';
import { listSink, parseOutput } from './format.js';
import { Progress, SyncWriter } from './output.js';

export interface ListOptions extends FilterFlags {
  readonly output?: string;
  readonly timeDiff?: boolean;
  readonly timeDiffClocksourceMode?: string;
  readonly timeDiffClocksourceHz?: string;
}

/** The cluster a command means: `cluster <id>` as arguments, or `--cluster <id>`; undefined for the global maps. */
export function clusterOf(args: readonly string[], flag: string | undefined, node: Node): number | undefined {
  const fromArgs = parseSelector(args, node.settings);
  const fromFlag = parseClusterFlag(flag);
  if (fromArgs !== undefined && fromFlag !== undefined && fromArgs !== fromFlag) {
    throw new CliError(`two clusters given: cluster ${fromArgs} and --cluster ${fromFlag}`);
  }
  const id = fromArgs ?? fromFlag;
  if (id !== undefined && fromArgs === undefined) {
    try {
      node.settings.validateClusterID(id);
    } catch (err) {
      throw new CliError(`invalid --cluster: ${(err as Error).message}`, err);
    }
  }
  return id;
}

/** The CT maps of the selection (global, or one cluster's), opened as cilium-dbg does (missing ones skipped). */
export function ctMaps(node: Node, cluster: number | undefined): ConntrackMap[] {
  const maps = cluster === undefined ? node.ct.maps() : node.cluster(cluster).ct.maps();
  return openSelection(maps, cluster === undefined ? 'CT map' : `CT map of cluster ${cluster}`);
}

/** The selection and filter every CT command starts from. */
export function ctContext(args: readonly string[], o: FilterFlags, g: GlobalOptions): { node: Node; cluster: number | undefined; filter: CheckedFilter | undefined } {
  const node = cliNode(g);
  try {
    const cluster = clusterOf(args, o.cluster, node);
    const filter = filterFromFlags(o, 'ct', () => node.settings.nowCT());
    return { node, cluster, filter };
  } catch (err) {
    node.close();
    throw err;
  }
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

function totalFor(maps: readonly ConntrackMap[], progress: boolean): number | undefined {
  return progress ? maps.reduce((n, m) => n + m.count(), 0) : undefined;
}

export function ctList(args: readonly string[], o: ListOptions, g: GlobalOptions): void {
  const fmt = parseOutput(o.output);
  const cs = clockSourceFromFlags(o);
  const { node, cluster, filter } = ctContext(args, o, g);
  const out = new SyncWriter();
  try {
    const maps = ctMaps(node, cluster);
    const progress = new Progress('ct list', totalFor(maps, process.stderr.isTTY));
    let done = 0;
    let left = filter?.limit ?? Infinity;
    const sink = fmt.kind === 'text' ? undefined : listSink(fmt, out);
    const toRemSecs = cs === undefined ? undefined : remainingSecondsFormatter(cs);
    try {
      for (const m of maps) {
        // Past the limit the remaining maps are not read, and not shown; nor are maps the filter rules out.
        if (left <= 0) break;
        if (!canMatch(filter, m)) continue;
        const match = compileFilter(filter, 'ct', m.isIPv4 ? 4 : 6);
        // Batch reads return entries in the order a GET_NEXT_KEY walk would; the text is the same.
        for (const b of m.batches()) {
          for (let i = 0; i < b.count && left > 0; i++) {
            const ko = i * b.keySize;
            const vo = i * b.valueSize;
            if (!match(b.keys, ko, b.values, vo)) continue;
            if (sink === undefined) {
              const line = ctLine(b.keys, ko, b.values, vo, m.isIPv4, toRemSecs);
              if (line === undefined) continue;
              out.write(line);
            } else {
              const k = b.keys.slice(ko, ko + b.keySize);
              sink.add(new CtMapRecord(m.isIPv4 ? new CtKey4Global(k) : new CtKey6Global(k), new CtEntry(b.values.slice(vo, vo + b.valueSize))));
            }
            left--;
          }
          progress.update(done += b.count);
          // The reader went away: stop reading the maps (nothing was changed).
          if (out.closed) return;
          if (left <= 0) break;
        }
        if (sink === undefined) out.write('\n');
      }
      sink?.end();
    } finally {
      progress.done();
    }
  } finally {
    out.flush();
    node.close();
  }
}

/**
 * Whether a map can hold entries the filter matches: not when the filter's
 * addresses are of the other family, nor when its protocol lives in the other
 * map of the pair (TCP entries in the TCP map, all others — related ICMP
 * entries of TCP flows too — in the Any map). Such maps are not read.
 */
export function canMatch(filter: CheckedFilter | undefined, m: ConntrackMap): boolean {
  if (filter === undefined) return true;
  if (compileFilter(filter, 'ct', m.isIPv4 ? 4 : 6) === matchNone) return false;
  return filter.proto === undefined || (filter.proto === 6) === m.isTCP;
}

/** Hand a limit across maps: what is left of it for the next one. */
function limited(filter: CheckedFilter | undefined, left: number): CheckedFilter | undefined {
  return filter?.limit === undefined ? filter : filter.withLimit(left);
}

export function ctFlush(args: readonly string[], o: FilterFlags, g: GlobalOptions): void {
  const { node, cluster, filter } = ctContext(args, o, g);
  const out = new SyncWriter();
  try {
    let left = filter?.limit ?? Infinity;
    for (const m of ctMaps(node, cluster)) {
      if (left <= 0) break;
      if (!canMatch(filter, m)) continue;
      const f = limited(filter, left);
      const s = m.flush(f === undefined ? {} : { filter: f });
      left -= s.deleted;
      out.write(`Flushed ${s.deleted} entries from ${m.path()}\n`);
    }
  } finally {
    out.flush();
    node.close();
  }
}

export async function ctCount(args: readonly string[], o: FilterFlags, g: GlobalOptions): Promise<void> {
  if (args.length > 0) throw new CliError(`Invalid argument: ${args.join(' ')}`);
  const { node, cluster, filter } = ctContext([], o, g);
  const out = new SyncWriter();
  try {
    for (const m of ctMaps(node, cluster)) {
      if (!canMatch(filter, m)) continue;
      if (filter === undefined) {
        // The whole map: counted by several walks at once over bucket ranges (src/syscall/pcount.ts).
        const count = await m.countAsync();
        out.write(`${m.path()}: ${count} entries, max ${m.maxEntries}, pressure ${(m.updatePressureMetricWithSize(count) * 100).toFixed(2)}%\n`);
        continue;
      }
      const match = compileFilter(filter.withLimit(undefined), 'ct', m.isIPv4 ? 4 : 6);
      let all = 0;
      let matched = 0;
      for (const b of m.batches()) {
        all += b.count;
        for (let i = 0; i < b.count; i++) if (match(b.keys, i * b.keySize, b.values, i * b.valueSize)) matched++;
      }
      out.write(`${m.path()}: ${matched} matching of ${all} entries, max ${m.maxEntries}, pressure ${(m.updatePressureMetricWithSize(all) * 100).toFixed(2)}%\n`);
    }
  } finally {
    out.flush();
    node.close();
  }
}

export interface GCOptions extends FilterFlags {
  readonly mode?: string;
  readonly safeWindow?: string;
  readonly purgeOrphans?: boolean;
  readonly dryRun?: boolean;
}

export function gcLine(s: GCStats): string {
  const verb = s.dryRun ? 'would delete' : 'deleted';
  return `${s.map}: ${verb} ${s.deleted}, alive ${s.aliveEntries}, skipped ${s.skipped}, deferred ${s.deferred}`
    + `${s.natDeleted > 0 ? `, NAT entries ${s.dryRun ? 'to delete' : 'deleted'} ${s.natDeleted}` : ''}${s.error === undefined ? '' : `, error: ${s.error.message}`}\n`;
}

function natLine(n: NatGCStats, name: string): string {
  return `${name}: orphans deleted ${n.egressDeleted} egress / ${n.ingressDeleted} ingress, alive ${n.egressAlive} egress / ${n.ingressAlive} ingress`
    + `${n.error === undefined ? '' : `, error: ${n.error.message}`}\n`;
}

/** `--safe-window`: an integer 1…4096, and only with safe mode (fast mode re-reads nothing). */
function parseSafeWindow(v: string | undefined, mode: GCMode): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 4096) throw new CliError(`invalid --safe-window ${JSON.stringify(v)} (an integer 1…4096)`);
  if (mode !== 'safe') throw new CliError('--safe-window applies to --mode safe only');
  return Number(v);
}

export function parseMode(mode: string | undefined): GCMode {
  const m = mode ?? 'safe';
  if (m !== 'safe' && m !== 'fast') throw new CliError(`invalid --mode ${JSON.stringify(mode)} (safe or fast)`);
  return m;
}

/** The orphan purge over one cluster's (TCP, Any) pairs only. */
function purgeCluster(node: Node, cluster: number): NatGCStats[] {
  const [tcp4, any4, tcp6, any6] = node.cluster(cluster).ct.maps();
  const out: NatGCStats[] = [];
  for (const [tcp, any] of [[tcp4, any4], [tcp6, any6]] as const) {
    if (tcp === undefined || any === undefined) continue;
    const s = purgeOrphans(tcp, any, {});
    if (s !== undefined) out.push(s);
  }
  return out;
}

export function ctGC(args: readonly string[], o: GCOptions, g: GlobalOptions): void {
  if (args.length > 0) throw new CliError(`Invalid argument: ${args.join(' ')}`);
  const mode = parseMode(o.mode);
  const safeWindow = parseSafeWindow(o.safeWindow, mode);
  const time = o.time === undefined ? undefined : parseCTTime(o.time);
  if (o.purgeOrphans === true && o.dryRun === true) throw new CliError('--purge-orphans has no dry run; run it without --dry-run');
  const { node, cluster, filter } = ctContext([], o, g);
  const out = new SyncWriter();
  try {
    let left = filter?.limit ?? Infinity;
    for (const cm of ctMaps(node, cluster)) {
      if (left <= 0) break;
      const f = limited(filter, left);
      const progress = new Progress(`gc ${cm.name}`, process.stderr.isTTY ? cm.count() : undefined);
      const s = cm.gc({
        mode, ...(time === undefined ? {} : { time }), ...(f === undefined ? {} : { filter: f }), ...(o.dryRun === true ? { dryRun: true } : {}),
        ...(safeWindow === undefined ? {} : { safeWindow }),
        onProgress: (n: number) => { progress.update(n); },
      });
      progress.done();
      left -= s.deleted;
      out.write(gcLine(s));
    }
    if (o.purgeOrphans === true) {
      for (const n of cluster === undefined ? node.purgeOrphans({ clusters: false }) : purgeCluster(node, cluster)) {
        const nat = cluster === undefined ? (n.family === 'ipv4' ? node.nat.v4 : node.nat.v6) : node.cluster(cluster).nat.maps().find((m) => m.family === n.family);
        out.write(natLine(n, nat?.name ?? n.family));
      }
      if (cluster === undefined) {
        for (const fam of [...(node.ipv4 ? ['ipv4'] : []), ...(node.ipv6 ? ['ipv6'] : [])]) {
          if (!(fam === 'ipv4' ? node.nat.v4 : node.nat.v6).pinned()) out.write(`${fam}: no NAT map pinned, nothing to purge\n`);
        }
      }
    }
  } finally {
    out.flush();
    node.close();
  }
}
