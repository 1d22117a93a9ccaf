/**
 * What every command needs: the node (its bpffs root and families), the
 * maps opened (or a clear error naming what was looked for), and Cilium's
 * argument checks. There is no agent to ask, so the families are those with
 * any map pinned, narrowed by --ipv4/--ipv6.
 */
import { MapLoadError, isNotExist, BpfError, MapIncompatibleError } from '../syscall/errors.js';
import type { PinnedMap } from '../datapath/pinned.js';
import { DefaultMapRoot } from '../datapath/pins.js';
import { Settings, type SettingsInit } from '../datapath/settings.js';
import { MapNameTCP4Global, MapNameTCP6Global } from '../ctmap/names.js';
import { openNode, type Node } from '../node/node.js';
import { CliError } from './errors.js';

export { CliError } from './errors.js';

export interface GlobalOptions {
  readonly bpffs?: string;
  readonly ipv4?: boolean;
  readonly ipv6?: boolean;
}

export interface Families {
  readonly ipv4: boolean;
  readonly ipv6: boolean;
}

/** `--bpffs`, then $CTMAP_BPFFS, then /sys/fs/bpf. */
export function chooseRoot(opts: GlobalOptions): string {
  const root = opts.bpffs ?? process.env.CTMAP_BPFFS ?? DefaultMapRoot;
  if (!root.startsWith('/')) throw new CliError(`--bpffs must be an absolute path, got ${JSON.stringify(root)}`);
  return root;
}

/** The node under the chosen root: the families with any map pinned, narrowed by --ipv4/--ipv6. */
export function cliNode(opts: GlobalOptions, init: Omit<SettingsInit, 'bpffs'> = {}): Node {
  const settings = new Settings({ ...init, bpffs: chooseRoot(opts) });
  const want4 = opts.ipv4 === true || opts.ipv6 !== true;
  const want6 = opts.ipv6 === true || opts.ipv4 !== true;
  const node = openNode({ settings, ...(want4 ? {} : { ipv4: false }), ...(want6 ? {} : { ipv6: false }) });
  if (!node.ipv4 && !node.ipv6) {
    const looked = [...(want4 ? [settings.pinPath(MapNameTCP4Global)] : []), ...(want6 ? [settings.pinPath(MapNameTCP6Global)] : [])];
    throw new CliError(`no CT map pinned: looked for ${listed(looked)} (is Cilium running, and is --bpffs the right bpffs?)`);
  }
  return node;
}

/** Explain an open failure the way a person can act on it. */
export function openError(path: string, err: unknown): CliError {
  if (isNotExist(err)) return new CliError(`Unable to open ${path}: no pinned map there (${err instanceof MapLoadError ? 'ENOENT' : String(err)})`, err);
  if (err instanceof MapIncompatibleError) return new CliError(`Unable to open ${path}: ${err.message}`, err);
  if (BpfError.is(err, 'EPERM') || BpfError.is(err, 'EACCES')) {
    return new CliError(`Unable to open ${path}: permission denied; run as root (or with CAP_BPF)`, err);
  }
  return new CliError(`Unable to open ${path}: ${err instanceof Error ? err.message : String(err)}`, err);
}

/** Open every map or none: on a failure the ones already opened are closed and the error names the path. */
export function openAll<M extends PinnedMap>(maps: readonly M[]): M[] {
  const opened: M[] = [];
  for (const m of maps) {
    try {
      m.open();
      opened.push(m);
    } catch (err) {
      for (const o of opened) o.close();
      throw openError(m.path(), err);
    }
  }
  return opened;
}

/**
 * Open a selection of maps as cilium-dbg means to: each map whose pin does
 * not exist gets Cilium's `Unable to open <path>: <err>. Skipping.` on stderr
 * and is left out (a node with only Any maps, or without IPv6 Any maps,
 * still lists the rest); any other failure is fatal and closes what was
 * opened; when not one map could be opened the command fails, naming every
 * path it looked for.
 */
export function openSelection<M extends PinnedMap>(maps: readonly M[], what: string,
  warn: (line: string) => void = (line) => { process.stderr.write(line); }): M[] {
  const opened: M[] = [];
  const missing: string[] = [];
  for (const m of maps) {
    try {
      m.open();
      opened.push(m);
    } catch (err) {
      if (isNotExist(err)) {
        missing.push(m.path());
        continue;
      }
      for (const o of opened) o.close();
      throw openError(m.path(), err);
    }
  }
  if (opened.length === 0) {
    throw new CliError(`no ${what} pinned: looked for ${listed(maps.map((m) => m.path()))} (is Cilium running, and is --bpffs the right bpffs?)`);
  }
  for (const p of missing) warn(`Unable to open ${p}: loading pinned map ${p}: no such file or directory. Skipping.\n`);
  return opened;
}

function listed(paths: readonly string[]): string {
  if (paths.length <= 1) return paths.join('');
  return `${paths.slice(0, -1).join(', ')} and ${paths[paths.length - 1] ?? ''}`;
}

/** Cilium's parsing of a `cluster <id>` argument (cilium-dbg bpf ct list). */
export function parseClusterID(args: readonly string[], settings: Settings = new Settings()): number {
  const [sel, id] = args;
  if (sel !== 'cluster') throw new CliError(`Invalid argument: unknown type ${sel ?? ''}`);
  if (id === undefined) throw new CliError('Invalid argument: missing clusterID');
  if (!/^\d+$/.test(id) || Number(id) > 0xffffffff) {
    throw new CliError(`Invalid argument: invalid clusterID: strconv.ParseUint: parsing ${JSON.stringify(id)}: ${/^\d+$/.test(id) ? 'value out of range' : 'invalid syntax'}`);
  }
  const n = Number(id);
  try {
    settings.validateClusterID(n);
  } catch (err) {
    throw new CliError(`Invalid argument: invalid clusterID: ${(err as Error).message}`, err);
  }
  return n;
}

/** The `global | cluster <id>` selector: undefined for global. */
export function parseSelector(args: readonly string[], settings?: Settings): number | undefined {
  if (args.length === 0 || (args.length === 1 && args[0] === 'global')) return undefined;
  if (args[0] === 'global') throw new CliError(`Invalid argument: unexpected ${args.slice(1).join(' ')}`);
  return parseClusterID(args, settings);
}
