/**
 * Finding the shim (shim/bpfshim.c, built as libctmapbpf.so), in order:
 *
 *  1. `$CTMAP_SHIM`, when set;
 *  2. `build/libctmapbpf.so` — a checkout's own `make` build;
 *  3. `prebuilds/linux-<arch>/libctmapbpf.so` — shipped in the npm package for
 *     x64 and arm64, chosen by `process.arch` (reproducible: `make verify-shim`);
 *  4. a copy compiled from the package's `shim/bpfshim.c` with the system's C
 *     compiler (`$CC`, else `cc`) into a user cache
 *     (`$XDG_CACHE_HOME/ctmap` or `~/.cache/ctmap`), keyed by the source's
 *     SHA-256 and the architecture, compiled once.
 *
 * When none is there and nothing can compile one, ShimNotFoundError lists
 * every place looked at and what is missing.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const SHIM_NAME = 'libctmapbpf.so';

export class ShimNotFoundError extends Error {
  readonly tried: readonly string[];
  constructor(tried: readonly string[], cause?: unknown, extra = '') {
    super(`cannot load the ctmap bpf shim (${SHIM_NAME}); tried: ${tried.join(', ')}${extra}; run make (or set CTMAP_SHIM)`,
      cause === undefined ? undefined : { cause });
    this.name = 'ShimNotFoundError';
    this.tried = tried;
  }
}

export interface ShimPlaces {
  readonly env?: NodeJS.ProcessEnv;
  /** The package root (the folder with package.json, shim/ and prebuilds/). */
  readonly root: string;
  readonly arch?: string;
  readonly platform?: string;
}

/** Where a shim is looked for, in order, before compiling one (1–3 above). */
export function shimCandidates(p: ShimPlaces): string[] {
  const env = p.env ?? process.env;
  const out: string[] = [];
  const fromEnv = env.CTMAP_SHIM;
  if (fromEnv !== undefined && fromEnv !== '') out.push(resolve(fromEnv));
  out.push(resolve(p.root, 'build', SHIM_NAME));
  out.push(resolve(p.root, 'prebuilds', `${p.platform ?? process.platform}-${p.arch ?? process.arch}`, SHIM_NAME));
  return out;
}

/** The cache path of a shim compiled from `source` for `arch`. */
export function cachedShimPath(source: Uint8Array, p: ShimPlaces): string {
  const env = p.env ?? process.env;
  const base = env.XDG_CACHE_HOME !== undefined && env.XDG_CACHE_HOME !== '' ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  const sum = createHash('sha256').update(source).digest('hex').slice(0, 16);
  return join(base, 'ctmap', `shim-${sum}-${p.platform ?? process.platform}-${p.arch ?? process.arch}`, SHIM_NAME);
}

/** The shim to load: the first candidate that exists, else one compiled into the cache (or an error saying why not). */
export function locateShim(p: ShimPlaces): string {
  const tried = shimCandidates(p);
  const found = tried.find((f) => existsSync(f));
  if (found !== undefined) return found;
  const src = resolve(p.root, 'shim', 'bpfshim.c');
  if (!existsSync(src)) throw new ShimNotFoundError(tried, undefined, ` (and no ${src} to compile)`);
  const source = readFileSync(src);
  const target = cachedShimPath(source, p);
  tried.push(target);
  if (existsSync(target)) return target;
  const cc = (p.env ?? process.env).CC ?? 'cc';
  mkdirSync(resolve(target, '..'), { recursive: true });
  // Compile beside the target and rename: two processes compiling at once never load a half-written file.
  const tmp = `${target}.${process.pid}.tmp`;
  try {
    execFileSync(cc, ['-O2', '-shared', '-fPIC', '-fvisibility=hidden', '-o', tmp, src], { stdio: ['ignore', 'ignore', 'pipe'] });
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    const why = e.code === 'ENOENT' ? `no C compiler (${cc}) to build ${src}: install gcc, or set CC` : `${cc} could not build ${src}: ${e.stderr?.toString().trim() ?? e.message}`;
    throw new ShimNotFoundError(tried, err, `; no prebuilt shim for ${p.platform ?? process.platform}-${p.arch ?? process.arch}, and ${why}`);
  }
  return target;
}
