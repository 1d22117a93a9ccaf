/**
 * `ctmap nat list|flush`: the text of `nat list` is `cilium-dbg bpf nat
 * list`'s (each map's dump, then a newline); `-o json` is one array of
 * records across the maps followed by an empty line; `-o yaml` and `-o
 * jsonpath=` as for `ct list`. Filters pick entries as `nat list` prints them.
 */
import { NatKey4, NatKey6 } from '../structs/tuple.js';
import { NatEntry4, NatEntry6 } from '../structs/natentry.js';
import { NatMapRecord } from '../structs/records.js';
import { compileFilter, type CheckedFilter } from '../structs/filter.js';
import { natCreatedFormatter, natLine, type NatMap } from '../nat/natmap.js';
import type { Node } from '../node/node.js';
import { CliError, cliNode, openSelection, parseClusterID, type GlobalOptions } from './context.js';
import { filterFromFlags, parseClusterFlag, type FilterFlags } from './flags.js';
import { listSink, parseOutput } from './format.js';
import { Progress, SyncWriter } from './output.js';

export interface NatListOptions extends FilterFlags {
  readonly output?: string;
}

/** `nat list [cluster <id>]` or `--cluster <id>`: the NAT maps of the selection, opened (missing ones skipped). */
export function natSelection(args: readonly string[], o: FilterFlags, g: GlobalOptions): { maps: NatMap[]; node: Node; filter: CheckedFilter | undefined } {
  let cluster: number | undefined;
  if (args.length === 0) cluster = undefined;
  else if (args[0] === 'cluster') cluster = parseClusterID(args);
  else throw new CliError('Invalid argument');
  const flag = parseClusterFlag(o.cluster);
  if (cluster !== undefined && flag !== undefined && flag !== cluster) throw new CliError(`two clusters given: cluster ${cluster} and --cluster ${flag}`);
  const node = cliNode(g);
  try {
    const id = cluster ?? flag;
    if (id !== undefined) node.settings.validateClusterID(id);
    const filter = filterFromFlags(o, 'nat', () => node.settings.nowCT());
    const maps = id === undefined ? node.nat.maps() : node.cluster(id).nat.maps();
    return { maps: openSelection(maps, id === undefined ? 'NAT map' : `NAT map of cluster ${id}`), node, filter };
  } catch (err) {
    node.close();
    if (err instanceof RangeError) throw new CliError(`Invalid argument: invalid clusterID: ${err.message}`, err);
    throw err;
  }
}

export function natList(args: readonly string[], o: NatListOptions, g: GlobalOptions): void {
  const fmt = parseOutput(o.output);
  const { maps, node, filter } = natSelection(args, o, g);
  const out = new SyncWriter();
  const progress = new Progress('nat list', process.stderr.isTTY ? maps.reduce((n, m) => n + m.count(), 0) : undefined);
  let done = 0;
  try {
    let left = filter?.limit ?? Infinity;
    const sink = fmt.kind === 'text' ? undefined : listSink(fmt, out);
    // Without an agent to ask, Created is shown against the ktime clock, as on most nodes. Batch reads return
    // entries in the order a GET_NEXT_KEY walk would, so the text is cilium-dbg's.
    const created = natCreatedFormatter({ mode: 'ktime' }, node.settings.clock);
    for (const m of maps) {
      // Past the limit the remaining maps are not read, and not shown.
      if (left <= 0) break;
      const match = compileFilter(filter, 'nat', m.isIPv4 ? 4 : 6);
      for (const b of m.batches()) {
        for (let i = 0; i < b.count && left > 0; i++) {
          const ko = i * b.keySize;
          const vo = i * b.valueSize;
          if (!match(b.keys, ko, b.values, vo)) continue;
          left--;
          const k = b.keys.slice(ko, ko + b.keySize);
          const v = b.values.slice(vo, vo + b.valueSize);
          const rec = m.isIPv4 ? new NatMapRecord(new NatKey4(k), new NatEntry4(v)) : new NatMapRecord(new NatKey6(k), new NatEntry6(v));
          if (sink !== undefined) {
            sink.add(rec);
            continue;
          }
          const line = natLine(rec.key, rec.value, created);
          if (line !== undefined) out.write(line);
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
    out.flush();
    node.close();
  }
}

export function natFlush(args: readonly string[], g: GlobalOptions): void {
  if (args.length > 0) throw new CliError(`Invalid argument: ${args.join(' ')}`);
  const { maps, node } = natSelection([], {}, g);
  const out = new SyncWriter();
  try {
    for (const m of maps) out.write(`Flushed ${m.flush()} entries from ${m.path()}\n`);
  } finally {
    out.flush();
    node.close();
  }
}
