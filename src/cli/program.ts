/**
 * `ctmap`: Cilium's `cilium-dbg bpf ct|nat` for a bpffs of your choosing.
 * Errors go to stderr as `Error: <message>` with exit status 1, and nothing
 * is modified when a command fails its checks.
 */
import { Command, CommanderError } from 'commander';
import { CliError, chooseRoot, type GlobalOptions } from './context.js';
import { ctCount, ctFlush, ctGC, ctList, type GCOptions, type ListOptions } from './ct.js';
import { natFlush, natList } from './nat.js';

export function buildProgram(): Command {
  const program = new Command('ctmap')
    .description("read, write and garbage-collect Cilium's conntrack and NAT BPF maps")
    .option('--bpffs <dir>', 'the bpffs the maps are pinned under (default: $CTMAP_BPFFS, then /sys/fs/bpf)')
    .option('--ipv4', 'only the IPv4 maps')
    .option('--ipv6', 'only the IPv6 maps')
    .showHelpAfterError()
    .exitOverride();
  const globals = (): GlobalOptions => {
    const g = program.opts<GlobalOptions>();
    chooseRoot(g);
    return g;
  };

  const ct = program.command('ct').description('connection tracking maps');
  ct.command('list').alias('ls').argument('[selector...]', 'global | cluster <id>')
    .description('list the CT entries, as cilium-dbg bpf ct list prints them')
    .option('-o, --output <format>', 'json')
    .option('-d, --time-diff', 'print the time remaining before each entry expires')
    .option('--time-diff-clocksource-mode <mode>', 'ktime or jiffies')
    .option('--time-diff-clocksource-hz <hz>', 'the kernel HZ for jiffies', '250')
    .action((sel: string[], o: ListOptions) => { ctList(sel, o, globals()); });
  ct.command('flush').argument('[selector...]', 'global | cluster <id>')
    .description('delete every CT entry (and the NAT mappings of egress entries)')
    .action((sel: string[]) => { ctFlush(sel, globals()); });
  ct.command('count').description('entries and pressure of each CT map')
    .argument('[extra...]')
    .action((extra: string[]) => { ctCount(extra, globals()); });
  ct.command('gc').description('one garbage collection pass with NAT follow-up')
    .argument('[extra...]')
    .option('--time <t>', 'remove entries whose lifetime is below this CT time (default: now)')
    .option('--mode <mode>', 'safe (re-read before deleting) or fast (batched deletes)', 'safe')
    .option('--purge-orphans', 'also remove NAT entries whose CT entry is gone')
    .action((extra: string[], o: GCOptions) => { ctGC(extra, o, globals()); });

  const nat = program.command('nat').description('SNAT maps');
  nat.command('list').alias('ls').argument('[selector...]', 'cluster <id>')
    .description('list the NAT entries, as cilium-dbg bpf nat list prints them')
    .option('-o, --output <format>', 'json')
    .action((sel: string[], o: { output?: string }) => { natList(sel, o, globals()); });
  nat.command('flush').argument('[extra...]').description('delete every NAT entry')
    .action((extra: string[]) => { natFlush(extra, globals()); });
  return program;
}

/** Run the CLI; returns the exit status. */
export function main(argv: readonly string[]): number {
  // Help and version text go through process.stdout: a reader that went away is no error there either.
  process.stdout.on('error', () => undefined);
  const program = buildProgram();
  program.configureOutput({ writeErr: (s) => { process.stderr.write(s); } });
  try {
    program.parse(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 1;
    const text = err instanceof Error ? err.message : String(err);
    process.stderr.write(`Error: ${text}\n`);
    if (!(err instanceof CliError) && process.env.CTMAP_DEBUG === '1' && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
    return 1;
  }
}

