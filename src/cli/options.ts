/**
 * The command-line options commands share (filters, output), declared with
 * commander alone: defining the program must not load the library, so
 * `ctmap --help` and `--version` start in a blink (./program.ts).
 */
import { Option, type Command } from 'commander';

export type FilterKind = 'ct' | 'nat';

/** Add the filter flags to a command; `ct` adds the CT-only ones. */
export function addFilterOptions(cmd: Command, kind: FilterKind, opts: { readonly time?: boolean; readonly limit?: boolean } = {}): Command {
  cmd.option('--src <addr|cidr>', 'printed source address or CIDR (either family)')
    .option('--dst <addr|cidr>', 'printed destination address or CIDR')
    .option('--sport <port>', 'printed source port')
    .option('--dport <port>', 'printed destination port')
    .option('-p, --proto <name|number>', 'protocol as printed (tcp, udp, icmp, icmpv6…) or its number')
    .addOption(new Option('--dir <dir>', kind === 'ct' ? 'direction as printed' : 'direction as printed (IN: RevSNAT entries, OUT: SNAT entries)')
      .choices(kind === 'ct' ? ['IN', 'OUT', 'SVC', 'RELATED', 'in', 'out', 'svc', 'related'] : ['IN', 'OUT', 'in', 'out']))
    .option('--related', 'only related entries (printed "related")');
  if (kind === 'ct') {
    cmd.option('--flags <names>', 'CT flags that must all be set, comma-separated (SeenNonSyn,NodePort,…)')
      .option('--expired', 'only entries expired at --time')
      .option('--alive', 'only entries alive at --time');
    if (opts.time !== false) cmd.option('--time <t>', 'the CT time --expired/--alive judge at (default: now)');
  }
  cmd.option('--cluster <id>', 'the per-cluster maps of this cluster instead of the global ones');
  if (opts.limit !== false) cmd.option('--limit <n>', 'stop after n matching entries');
  return cmd;
}

/** `-o, --output` with the formats a command offers. */
export function addOutputOption(cmd: Command, formats = 'json, yaml or jsonpath=<template>'): Command {
  return cmd.option('-o, --output <format>', formats);
}
