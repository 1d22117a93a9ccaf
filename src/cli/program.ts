/**
 * `ctmap`: Cilium's `cilium-dbg bpf ct|nat` for a bpffs of your choosing,
 * and what an operator needs beyond it (filters, get, delete, stats, watch,
 * a Prometheus exporter).
 *
 * Errors go to stderr as `Error: <message>` with exit status 1, and nothing
 * is modified when a command fails its checks.
 *
 * Start-up: this module declares the commands with commander alone; each
 * action imports what it runs when it runs, so `ctmap --help` never loads
 * the library, koffi or prom-client (measured in `make bench`).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { CliError } from './errors.js';
import { addFilterOptions, addOutputOption } from './options.js';
import type { GlobalOptions } from './context.js';
// Types only: erased, so declaring the commands loads none of these modules.
import type { GCOptions, ListOptions } from './ct.js';
import type { GetOptions } from './ctget.js';
import type { DeleteOptions } from './ctdelete.js';
import type { FilterFlags } from './flags.js';
import type { StatsOptions } from './stats.js';
import type { WatchOptions } from './watch.js';
import type { NatListOptions } from './nat.js';
import type { ExporterOptions } from './exporter.js';

/** The package's version, from the nearest package.json named ctmap above this module (src, dist and the bundle alike). */
function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'ctmap' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here; look further up
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

function examples(lines: readonly string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

export function buildProgram(): Command {
  const program = new Command('ctmap')
    .description("read, write and garbage-collect Cilium's conntrack and NAT BPF maps")
    .version(version(), '-V, --version')
    .option('--bpffs <dir>', 'the bpffs the maps are pinned under (default: $CTMAP_BPFFS, then /sys/fs/bpf)')
    .option('--ipv4', 'only the IPv4 maps')
    .option('--ipv6', 'only the IPv6 maps')
    .showHelpAfterError()
    .exitOverride()
    .addHelpText('after', examples([
      'ctmap ct list --dport 443 --dir OUT',
      'ctmap ct get tcp 10.0.0.1:40000 10.0.0.2:80',
      'ctmap ct stats',
      'ctmap --bpffs /run/cilium/bpffs nat list -o json',
    ]));
  const globals = async (): Promise<GlobalOptions> => {
    const { chooseRoot } = await import('./context.js');
    const g = program.opts<GlobalOptions>();
    chooseRoot(g);
    return g;
  };

  const ct = program.command('ct').description('connection tracking maps');
  addOutputOption(addFilterOptions(ct.command('list').alias('ls').argument('[selector...]', 'global | cluster <id>')
    .description('list the CT entries, as cilium-dbg bpf ct list prints them (filters pick what is listed)'), 'ct'))
    .option('-d, --time-diff', 'print the time remaining before each entry expires')
    .option('--time-diff-clocksource-mode <mode>', 'ktime or jiffies')
    .option('--time-diff-clocksource-hz <hz>', 'the kernel HZ for jiffies', '250')
    .addHelpText('after', examples([
      'ctmap ct list',
      'ctmap ct list --src 10.0.1.0/24 -p tcp --dport 443',
      'ctmap ct list --expired --limit 20',
      'ctmap ct list --flags NodePort,SeenNonSyn -o yaml',
      'ctmap ct list cluster 3',
      "ctmap ct list -o 'jsonpath={range [*]}{.Value.Lifetime}{\"\\n\"}{end}'",
    ]))
    .action(async (sel: string[], o: ListOptions) => { const m = await import('./ct.js'); m.ctList(sel, o, await globals()); });
  addOutputOption(ct.command('get').argument('<flow...>', '<proto> [IN|OUT|SVC] <src:port> [->] <dst:port> [related]')
    .description('look up one flow\'s CT entry (the exact key the datapath holds) and the NAT entries it owns'))
    .option('--cluster <id>', 'in the per-cluster maps of this cluster')
    // A pasted `ct list` line carries `->`: an operand here, not an unknown option.
    .allowUnknownOption()
    .addHelpText('after', examples([
      'ctmap ct get tcp 10.0.0.1:40000 10.0.0.2:80',
      'ctmap ct get TCP OUT 10.0.0.1:40000 -> 10.0.0.2:80      # a line of ct list pasted back',
      'ctmap ct get udp IN [fd00::1]:5353 [fd00::2]:53 -o json',
    ]))
    .action(async (flow: string[], o: GetOptions) => { const m = await import('./ctget.js'); m.ctGet(flow, o, await globals()); });
  addOutputOption(addFilterOptions(ct.command('delete').alias('rm').argument('[flow...]', '<proto> [IN|OUT|SVC] <src:port> [->] <dst:port> [related]')
    .description('delete the entries of a flow or a filter, with their NAT entries (as GC does)'), 'ct'))
    .option('--dry-run', 'show what would be deleted (and the NAT entries with it); change nothing')
    .allowUnknownOption()
    .addOption(new Option('--mode <mode>', 'safe (re-read before deleting) or fast (batched deletes)').choices(['safe', 'fast']).default('safe'))
    .addHelpText('after', examples([
      'ctmap ct delete tcp 10.0.0.1:40000 10.0.0.2:80',
      'ctmap ct delete --src 10.0.3.7 --dry-run',
      'ctmap ct delete -p udp --dport 53 --expired',
    ]))
    .action(async (flow: string[], o: DeleteOptions) => { const m = await import('./ctdelete.js'); m.ctDelete(flow, o, await globals()); });
  addFilterOptions(ct.command('flush').argument('[selector...]', 'global | cluster <id>')
    .description('delete every CT entry (and the NAT mappings of egress entries); filters narrow it'), 'ct')
    .addHelpText('after', examples(['ctmap ct flush', 'ctmap ct flush cluster 3', 'ctmap ct flush --src 10.0.3.0/24']))
    .action(async (sel: string[], o: FilterFlags) => { const m = await import('./ct.js'); m.ctFlush(sel, o, await globals()); });
  addFilterOptions(ct.command('count').description('entries and pressure of each CT map (counted on several threads)')
    .argument('[extra...]'), 'ct', { limit: false })
    .addHelpText('after', examples(['ctmap ct count', 'ctmap ct count -p udp --dport 53']))
    .action(async (extra: string[], o: FilterFlags) => { const m = await import('./ct.js'); await m.ctCount(extra, o, await globals()); });
  addFilterOptions(ct.command('gc').description('one garbage collection pass with NAT follow-up (filters limit its scope)')
    .argument('[extra...]'), 'ct', { time: false })
    .option('--time <t>', 'remove entries whose lifetime is below this CT time (default: now)')
    .addOption(new Option('--mode <mode>', 'safe (re-read before deleting) or fast (batched deletes)').choices(['safe', 'fast']).default('safe'))
    .option('--safe-window <n>', 'safe mode: doomed entries re-read per crossing, then deleted (1: each on its own; default 16)')
    .option('--purge-orphans', 'also remove NAT entries whose CT entry is gone')
    .option('--dry-run', 'report what the pass would remove; change nothing')
    .addHelpText('after', examples(['ctmap ct gc', 'ctmap ct gc --purge-orphans', 'ctmap ct gc --safe-window 1', 'ctmap ct gc --mode fast --src 10.0.3.0/24 --dry-run']))
    .action(async (extra: string[], o: GCOptions) => { const m = await import('./ct.js'); m.ctGC(extra, o, await globals()); });
  addOutputOption(addFilterOptions(ct.command('stats').argument('[selector...]', 'global | cluster <id>')
    .description('who fills the CT table: counts by protocol, direction and flag, time left, top endpoints'), 'ct', { limit: false }))
    .option('--top <n>', 'how many top endpoints to show', '10')
    .addHelpText('after', examples(['ctmap ct stats', 'ctmap ct stats -p tcp --top 20', 'ctmap ct stats -o json']))
    .action(async (sel: string[], o: StatsOptions) => { const m = await import('./stats.js'); m.ctStatsCommand(sel, o, await globals()); });
  addFilterOptions(ct.command('watch').argument('[selector...]', 'global | cluster <id>')
    .description('print CT entries that appear, are refreshed or disappear (polling, like conntrack -E)'), 'ct', { limit: false })
    .option('--interval <duration>', 'time between polls (500ms, 2s, 1m)', '1s')
    .option('--polls <n>', 'stop after n polls (after the first, which records what is there)')
    .option('--initial', 'report the entries already there as appeared')
    .option('-o, --output <format>', 'json: one object per line')
    .addHelpText('after', examples(['ctmap ct watch', 'ctmap ct watch --dport 53 --interval 200ms', 'ctmap ct watch -o json --polls 10']))
    .action(async (sel: string[], o: WatchOptions) => { const m = await import('./watch.js'); await m.ctWatch(sel, o, await globals()); });

  const nat = program.command('nat').description('SNAT maps');
  addOutputOption(addFilterOptions(nat.command('list').alias('ls').argument('[selector...]', 'cluster <id>')
    .description('list the NAT entries, as cilium-dbg bpf nat list prints them (filters pick what is listed)'), 'nat'))
    .addHelpText('after', examples(['ctmap nat list', 'ctmap nat list --dir IN --dst 192.0.2.10', 'ctmap nat list -o json']))
    .action(async (sel: string[], o: NatListOptions) => { const m = await import('./nat.js'); m.natList(sel, o, await globals()); });
  nat.command('flush').argument('[extra...]').description('delete every NAT entry')
    .addHelpText('after', examples(['ctmap nat flush']))
    .action(async (extra: string[]) => { const m = await import('./nat.js'); m.natFlush(extra, await globals()); });
  addOutputOption(addFilterOptions(nat.command('stats').argument('[selector...]', 'cluster <id>')
    .description('who fills the NAT table: SNAT port usage per external address, busiest remote endpoints, top endpoints'), 'nat', { limit: false }))
    .option('--top <n>', 'how many top endpoints to show', '10')
    .option('--port-range <min-max>', 'the SNAT port range (Cilium: --node-port-range max + 1 to 65535)', '32768-65535')
    .addHelpText('after', examples(['ctmap nat stats', 'ctmap nat stats --port-range 1024-65535 -o json']))
    .action(async (sel: string[], o: StatsOptions) => { const m = await import('./stats.js'); m.natStatsCommand(sel, o, await globals()); });

  program.command('exporter').description('serve Prometheus metrics of the CT and NAT maps (optionally running the GC loop)')
    .option('--listen <host:port>', 'where to listen', '127.0.0.1:9964')
    .option('--interval <duration>', 'time between collections', '30s')
    .option('--gc', "run Cilium's GC loop too, with its metrics")
    .addOption(new Option('--mode <mode>', 'GC mode').choices(['safe', 'fast']).default('safe'))
    .option('--purge-orphans', 'run the orphan NAT purge after every collection')
    .option('--port-range <min-max>', 'the SNAT port range', '32768-65535')
    .addHelpText('after', examples(['ctmap exporter', 'ctmap exporter --listen 0.0.0.0:9964 --interval 15s --gc']))
    .action(async (o: ExporterOptions) => { const m = await import('./exporter.js'); await m.exporter(o, await globals()); });
  return program;
}

/** Run the CLI; resolves with the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  // Help and version text go through process.stdout: a reader that went away is no error there either.
  process.stdout.on('error', () => undefined);
  const program = buildProgram();
  program.configureOutput({ writeErr: (s) => { process.stderr.write(s); } });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 1;
    const text = err instanceof Error ? err.message : String(err);
    process.stderr.write(`Error: ${text}\n`);
    if (!(err instanceof CliError) && process.env.CTMAP_DEBUG === '1' && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
    return 1;
  }
}
