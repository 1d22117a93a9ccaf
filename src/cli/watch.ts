/**
 * `ctmap ct watch`: poll the CT maps every `--interval` and print what
 * appeared, was refreshed or disappeared since the poll before (the library's
 * CtWatcher), as `conntrack -E` prints netfilter's events:
 *
 *     [APPEARED] TCP OUT 10.0.0.1:40000 -> 10.0.0.2:80 expires=… (the ct list line)
 *
 * With `-o json`, one JSON object per line (`{"event":…,"map":…,"Key":…,"Value":…}`).
 * The first poll records what is there (`--initial` reports it as appeared);
 * `--polls N` stops after N further polls. A line goes out as soon as it is
 * known; when the reader goes away the watch ends quietly.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CtMapRecord } from '../structs/records.js';
import { marshalIndent } from '../structs/json.js';
import { ctEntryText } from '../ctmap/ctmap.js';
import { CtWatcher, type WatchEvent } from '../ctmap/watch.js';
import { CliError, type GlobalOptions } from './context.js';
import { ctContext, ctMaps } from './ct.js';
import type { FilterFlags } from './flags.js';
import { SyncWriter } from './output.js';

export interface WatchOptions extends FilterFlags {
  readonly interval?: string;
  readonly polls?: string;
  readonly initial?: boolean;
  readonly output?: string;
}

/** `500ms`, `2s`, `1m`, or a bare number of seconds. */
export function parseDuration(v: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v);
  if (m === null) throw new CliError(`invalid ${flag} ${JSON.stringify(v)} (a duration: 500ms, 2s, 1m)`);
  const n = Number(m[1]);
  const ms = n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's'] ?? 1000);
  if (ms < 10 || ms > 86_400_000) throw new CliError(`invalid ${flag} ${JSON.stringify(v)} (between 10ms and 24h)`);
  return ms;
}

const tags: Record<WatchEvent['kind'], string> = { appeared: '[APPEARED]', refreshed: '[REFRESHED]', disappeared: '[DISAPPEARED]' };

export async function ctWatch(args: readonly string[], o: WatchOptions, g: GlobalOptions, signal?: AbortSignal): Promise<void> {
  if (o.output !== undefined && o.output !== 'json') throw new CliError(`unsupported output format ${JSON.stringify(o.output)} (use -o json: one object per line)`);
  const interval = parseDuration(o.interval ?? '1s', '--interval');
  let polls = Infinity;
  if (o.polls !== undefined) {
    if (!/^\d+$/.test(o.polls) || Number(o.polls) < 1) throw new CliError(`invalid --polls ${JSON.stringify(o.polls)} (at least 1)`);
    polls = Number(o.polls);
  }
  if (o.limit !== undefined) throw new CliError('--limit does not apply to watch');
  const { node, cluster, filter } = ctContext(args, o, g);
  const out = new SyncWriter();
  const json = o.output === 'json';
  try {
    const watcher = new CtWatcher(ctMaps(node, cluster), { filter });
    const print = (ev: WatchEvent): void => {
      if (json) {
        const rec = new CtMapRecord(ev.record.key, ev.record.entry).toGoJSON();
        out.write(`${marshalIndent({ event: ev.kind, map: ev.map.name, ...rec }, '', '').replace(/\n/g, '')}\n`);
      } else {
        out.write(`${tags[ev.kind]} ${ev.kind === 'disappeared' ? `${ev.record.key.toHost().dump(true) ?? ''}expires=${ev.record.entry.lifetime}\n` : ctEntryText(ev.record.key, ev.record.entry) ?? ''}`);
      }
    };
    watcher.poll(print, o.initial === true);
    out.flush();
    process.stderr.write(`watching ${watcher.size} entries in ${watcher.maps.map((m) => m.name).join(', ')} every ${interval} ms\n`);
    for (let i = 0; i < polls; i++) {
      try {
        await sleep(interval, undefined, signal === undefined ? {} : { signal });
      } catch {
        return;
      }
      watcher.poll(print);
      out.flush();
      if (out.closed) return;
    }
  } finally {
    out.flush();
    node.close();
  }
}
