/**
 * `ctmap nat list|flush`: the text of `nat list` is `cilium-dbg bpf nat
 * list`'s (each map's dump, then a newline); `-o json` is one array of
 * records across the maps followed by an empty line.
 */
import { NatKey4, NatKey6 } from '../structs/tuple.js';
import { NatEntry4, NatEntry6 } from '../structs/natentry.js';
import { NatMapRecord } from '../structs/records.js';
import { IPv4, natCreatedFormatter, natLine, type NatMap } from '../nat/natmap.js';
import type { Node } from '../node/node.js';
import { CliError, cliNode, openAll, parseClusterID, type GlobalOptions } from './context.js';
import { JsonArrayWriter, SyncWriter } from './output.js';

function natMapsFor(args: readonly string[], g: GlobalOptions): { maps: NatMap[]; node: Node } {
  let cluster: number | undefined;
  if (args.length === 0) cluster = undefined;
  else if (args[0] === 'cluster') cluster = parseClusterID(args);
  else throw new CliError('Invalid argument');
  const node = cliNode(g);
  const maps = cluster === undefined ? node.nat.maps() : node.cluster(cluster).nat.maps();
  return { maps: openAll(maps), node };
}

export function natList(args: readonly string[], o: { readonly output?: string }, g: GlobalOptions): void {
  if (o.output !== undefined && o.output !== 'json') throw new CliError(`unsupported output format ${JSON.stringify(o.output)} (use -o json)`);
  const { maps, node } = natMapsFor(args, g);
  const out = new SyncWriter();
  try {
    if (o.output === 'json') {
      const arr = new JsonArrayWriter(out);
      for (const m of maps) {
        for (const b of m.batches()) {
          for (let i = 0; i < b.count; i++) {
            const k = b.keys.slice(i * b.keySize, (i + 1) * b.keySize);
            const v = b.values.slice(i * b.valueSize, (i + 1) * b.valueSize);
            arr.add(m.family === IPv4 ? new NatMapRecord(new NatKey4(k), new NatEntry4(v)) : new NatMapRecord(new NatKey6(k), new NatEntry6(v)));
          }
          if (out.closed) return;
        }
      }
      arr.end();
      return;
    }
    // Without an agent to ask, Created is shown against the ktime clock, as on most nodes. Batch reads return
    // entries in the order a GET_NEXT_KEY walk would, so the text is cilium-dbg's.
    const created = natCreatedFormatter({ mode: 'ktime' }, node.settings.clock);
    for (const m of maps) {
      for (const { key, entry } of m.entries()) {
        const line = natLine(key, entry, created);
        if (line !== undefined) out.write(line);
        if (out.closed) return;
      }
      out.write('\n');
    }
  } finally {
    out.flush();
    node.close();
  }
}

export function natFlush(args: readonly string[], g: GlobalOptions): void {
  if (args.length > 0) throw new CliError(`Invalid argument: ${args.join(' ')}`);
  const { maps, node } = natMapsFor([], g);
  const out = new SyncWriter();
  try {
    for (const m of maps) out.write(`Flushed ${m.flush()} entries from ${m.path()}\n`);
  } finally {
    out.flush();
    node.close();
  }
}

