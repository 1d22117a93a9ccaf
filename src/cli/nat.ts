/**
 * `ctmap nat list|flush`: the text of `nat list` is `cilium-dbg bpf nat
 * list`'s (each map's dump, then a newline); `-o json` is one array of
 * records across the maps followed by an empty line.
 */
import { NatKey4, NatKey6 } from '../structs/tuple.js';
import { NatEntry4, NatEntry6 } from '../structs/natentry.js';
import { NatMapRecord } from '../structs/records.js';
import { GlobalMaps, IPv4, writeNatEntriesWithTimeDiff, type NatMap } from '../nat/natmap.js';
import { ClusterNATMaps } from '../nat/percluster.js';
import { CliError, detectFamilies, openAll, parseClusterID, type GlobalOptions } from './context.js';
import { JsonArrayWriter, SyncWriter } from './output.js';

function natMapsFor(args: readonly string[], g: GlobalOptions): NatMap[] {
  const families = detectFamilies(g);
  let maps: { v4: NatMap | undefined; v6: NatMap | undefined };
  if (args.length === 0) maps = GlobalMaps(families.ipv4, families.ipv6);
  else if (args[0] === 'cluster') maps = ClusterNATMaps(parseClusterID(args), families.ipv4, families.ipv6);
  else throw new CliError('Invalid argument');
  return openAll([maps.v4, maps.v6].filter((m): m is NatMap => m !== undefined));
}

export function natList(args: readonly string[], o: { readonly output?: string }, g: GlobalOptions): void {
  if (o.output !== undefined && o.output !== 'json') throw new CliError(`unsupported output format ${JSON.stringify(o.output)} (use -o json)`);
  const maps = natMapsFor(args, g);
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
        }
      }
      arr.end();
      return;
    }
    // Without an agent to ask, Created is shown against the ktime clock, as on most nodes.
    for (const m of maps) {
      writeNatEntriesWithTimeDiff(m, { mode: 'ktime' }, (s) => { out.write(s); });
      out.write('\n');
    }
  } finally {
    out.flush();
    for (const m of maps) m.close();
  }
}

export function natFlush(args: readonly string[], g: GlobalOptions): void {
  if (args.length > 0) throw new CliError(`Invalid argument: ${args.join(' ')}`);
  const maps = natMapsFor([], g);
  const out = new SyncWriter();
  try {
    for (const m of maps) out.write(`Flushed ${m.flush()} entries from ${m.path()}\n`);
  } finally {
    out.flush();
    for (const m of maps) m.close();
  }
}

