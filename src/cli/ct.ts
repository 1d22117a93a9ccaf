/**
 * `ctmap ct list|flush|count|gc`: the plain text of `ct list` is
 * byte-identical to `cilium-dbg bpf ct list` (each map's dump followed by a
 * newline, as Go's Println leaves it); `-o json` is Go's MarshalIndent of
 * the records followed by an empty line.
 */
import { CtKey4Global, CtKey6Global } from '../structs/tuple.js';
import { CtEntry } from '../structs/ctentry.js';
import { CtMapRecord } from '../structs/records.js';
import { Maps, type ConntrackMap } from '../ctmap/ctmap.js';
import { GetClusterCTMaps } from '../ctmap/percluster.js';
import { remainingSecondsFormatter, type ClockSource } from '../ctmap/clock.js';
import { GCFilter, GC, gcWithFilter, type GCMode, type GCStats } from '../ctmap/gc.js';
import { InitMapInfo } from '../ctmap/mapinfo.js';
import { ctLine } from '../ctmap/text.js';
import { NatMapNext4, NatMapNext6 } from '../nat/follow.js';
import { GlobalMaps, type NatMap } from '../nat/natmap.js';
import { PurgeOrphanNATEntries, type NatGCStats } from '../nat/orphans.js';
import { CliError, detectFamilies, openAll, parseSelector, type Families, type GlobalOptions } from './context.js';
import { JsonArrayWriter, Progress, SyncWriter } from './output.js';

export interface ListOptions {
  readonly output?: string;
  readonly timeDiff?: boolean;
  readonly timeDiffClocksourceMode?: string;
  readonly timeDiffClocksourceHz?: string;
}

/** The CT maps a selector names, opened (all or none). */
function ctMapsFor(args: readonly string[], g: GlobalOptions): { maps: ConntrackMap[]; families: Families } {
  const cluster = parseSelector(args);
  const families = detectFamilies(g);
  const maps = cluster === undefined ? Maps(families.ipv4, families.ipv6) : GetClusterCTMaps(cluster, families.ipv4, families.ipv6);
  return { maps: openAll(maps), families };
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
  const { maps } = ctMapsFor(args, g);
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
      }
      out.write('\n');
    }
  } finally {
    progress.done();
    out.flush();
    for (const m of maps) m.close();
  }
}

/** The global NAT maps of the enabled families that are pinned (absent ones count as none, as in cilium-dbg). */
function openNatMaps(f: Families): { nat4: NatMap | undefined; nat6: NatMap | undefined; close(): void } {
  const { v4, v6 } = GlobalMaps(f.ipv4, f.ipv6);
  const tryOpen = (m: NatMap | undefined): NatMap | undefined => {
    if (m === undefined) return undefined;
    try {
      m.open();
      return m;
    } catch {
      return undefined;
    }
  };
  const nat4 = tryOpen(v4);
  const nat6 = tryOpen(v6);
  return { nat4, nat6, close: () => { nat4?.close(); nat6?.close(); } };
}

export function ctFlush(args: readonly string[], g: GlobalOptions): void {
  const { maps, families } = ctMapsFor(args, g);
  const nat = openNatMaps(families);
  InitMapInfo(nat.nat4, nat.nat6);
  const out = new SyncWriter();
  try {
    for (const m of maps) {
      const n = m.flush(NatMapNext4, NatMapNext6);
      out.write(`Flushed ${n} entries from ${m.path()}\n`);
    }
  } finally {
    out.flush();
    nat.close();
    for (const m of maps) m.close();
  }
}

export function ctCount(args: readonly string[], g: GlobalOptions): void {
  if (args.length > 0) throw new CliError(`Invalid argument: ${args.join(' ')}`);
  const { maps } = ctMapsFor([], g);
  const out = new SyncWriter();
  try {
    for (const m of maps) {
      const p = m.pressure();
      out.write(`${m.path()}: ${p.count} entries, max ${p.maxEntries}, pressure ${(p.pressure * 100).toFixed(2)}%\n`);
    }
  } finally {
    out.flush();
    for (const m of maps) m.close();
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
  const { maps, families } = ctMapsFor([], g);
  const nat = openNatMaps(families);
  InitMapInfo(nat.nat4, nat.nat6);
  const out = new SyncWriter();
  try {
    for (const cm of maps) {
      const progress = new Progress(`gc ${cm.name}`, process.stderr.isTTY ? cm.count() : undefined);
      const opts = { mode, natFollowUp: true, onProgress: (n: number) => { progress.update(n); } };
      const s = time === undefined ? GC(cm, new GCFilter({ removeExpired: true }), opts) : gcWithFilter(cm, new GCFilter({ removeExpired: true, time }), opts);
      progress.done();
      out.write(gcLine(s));
    }
    if (o.purgeOrphans === true) {
      for (let i = 0; i + 1 < maps.length; i += 2) {
        const tcp = maps[i] as ConntrackMap;
        const n = PurgeOrphanNATEntries(tcp, maps[i + 1] as ConntrackMap);
        const name = tcp.isIPv4 ? nat.nat4?.name : nat.nat6?.name;
        out.write(n === undefined ? `${tcp.isIPv4 ? 'ipv4' : 'ipv6'}: no NAT map pinned, nothing to purge\n` : natLine(n, name ?? ''));
      }
    }
  } finally {
    out.flush();
    nat.close();
    InitMapInfo(undefined, undefined);
    for (const m of maps) m.close();
  }
}
