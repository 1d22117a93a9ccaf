/**
 * `ctmap ct delete <flow | filter>`: removes the matching CT entries with
 * the NAT follow-up a GC pass does (a GC pass with `all: true` in the
 * filter's scope — one implementation for both). The removed entries go to
 * stdout as `ct list` prints them and the counts to stderr, as conntrack -D
 * does. `--dry-run` shows what would go, with the NAT entries each CT entry
 * owns, and changes nothing. A filter that constrains nothing is refused:
 * that is `ct flush`.
 */
import { CheckedFilter, type FlowFilter } from '../structs/filter.js';
import { CtMapRecord } from '../structs/records.js';
import { ctEntryText } from '../ctmap/ctmap.js';
import { natCreatedFormatter, natLine } from '../nat/natmap.js';
import { CliError, type GlobalOptions } from './context.js';
import { canMatch, ctContext, ctMaps, gcLine, parseMode } from './ct.js';
import { constrains, type FilterFlags } from './flags.js';
import { flowFilter, parseFlow } from './flow.js';
import { listSink, parseOutput } from './format.js';
import { Progress, SyncWriter } from './output.js';

export interface DeleteOptions extends FilterFlags {
  readonly dryRun?: boolean;
  readonly mode?: string;
  readonly output?: string;
}

/** The flow's exact filter and the flags' filter together; a field both set differently is an error. */
function merge(flow: FlowFilter, flags: CheckedFilter | undefined): CheckedFilter {
  const extra = flags?.source ?? {};
  const out: Record<string, unknown> = { ...flow };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) continue;
    const mine = (flow as Record<string, unknown>)[k];
    if (mine !== undefined && JSON.stringify(mine).toUpperCase() !== JSON.stringify(v).toUpperCase()) {
      throw new CliError(`--${k} ${JSON.stringify(v)} contradicts the flow given`);
    }
    out[k] = v;
  }
  return new CheckedFilter(out);
}

export function ctDelete(tokens: readonly string[], o: DeleteOptions, g: GlobalOptions): void {
  const fmt = parseOutput(o.output, ['json', 'yaml', 'jsonpath']);
  const mode = parseMode(o.mode);
  const flow = parseFlow(tokens);
  const { node, cluster, filter: flagFilter } = ctContext([], o, g);
  const out = new SyncWriter();
  try {
    const filter = flow === undefined ? flagFilter : merge(flowFilter(flow), flagFilter);
    if (!constrains(filter)) {
      throw new CliError('refusing to delete without a flow or a filter (--src, --dst, --sport, --dport, -p, --dir, --flags, --expired…): to remove every entry, use `ctmap ct flush`');
    }
    const sink = fmt.kind === 'text' ? undefined : listSink(fmt, out);
    const created = natCreatedFormatter({ mode: 'ktime' }, node.settings.clock);
    const dryRun = o.dryRun === true;
    let left = filter.limit ?? Infinity;
    const summary: string[] = [];
    for (const m of ctMaps(node, cluster)) {
      if (left <= 0) break;
      // A map the filter rules out (other family, other protocol) is not read.
      if (!canMatch(filter, m)) continue;
      const progress = new Progress(`delete ${m.name}`, process.stderr.isTTY ? m.count() : undefined);
      const s = m.gc({
        all: true, mode, dryRun, filter: filter.limit === undefined ? filter : filter.withLimit(left),
        onProgress: (n: number) => { progress.update(n); },
        onRemoved: (ev) => {
          if (sink !== undefined) {
            sink.add(new CtMapRecord(ev.key, ev.entry));
            return;
          }
          out.write(ctEntryText(ev.key, ev.entry) ?? '');
          // In a dry run the NAT entries are still there to show; after a delete they are gone with it.
          if (dryRun) for (const n of node.natPairOf(m, ev.key, ev.entry)) out.write(`  ${n.role.padEnd(7)} ${natLine(n.key, n.entry, created) ?? ''}`);
        },
      });
      progress.done();
      left -= s.deleted;
      summary.push(gcLine(s));
    }
    sink?.end();
    out.flush();
    process.stderr.write(summary.join(''));
  } finally {
    out.flush();
    node.close();
  }
}
