/**
 * The one place that knows about FFI. A backend is two functions: call the
 * shim's `ctmap_bpf(cmd, attr, size)` and give the address of a buffer (for
 * the pointer fields of bpf_attr). koffi is the default; a test can slot in
 * a fake kernel through `setBackend` in ./bpf.ts, and another FFI could be
 * slotted in the same way.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

export interface BpfBackend {
  readonly name: string;
  /** bpf(2) with `size` bytes of `attr`; returns the result, or -errno. */
  call(cmd: number, attr: Uint8Array, size: number): number;
  /** The address of a buffer's first byte, as the kernel should see it. */
  address(buf: Uint8Array): bigint;
}

export const SHIM_NAME = 'libctmapbpf.so';

/** The nearest folder above this module that holds package.json (src/, dist/ and bench builds all sit below it). */
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
const packageRoot = findPackageRoot();

/** Where the shim is looked for, in order: $CTMAP_SHIM, then the package's build folder. */
export function shimCandidates(env: NodeJS.ProcessEnv = process.env, root = packageRoot): string[] {
  const out: string[] = [];
  const fromEnv = env.CTMAP_SHIM;
  if (fromEnv !== undefined && fromEnv !== '') out.push(resolve(fromEnv));
  out.push(resolve(root, 'build', SHIM_NAME));
  return out;
}

export class ShimNotFoundError extends Error {
  readonly tried: readonly string[];
  constructor(tried: readonly string[], cause?: unknown) {
    super(`cannot load the ctmap bpf shim (${SHIM_NAME}); tried: ${tried.join(', ')}; run make (or set CTMAP_SHIM)`,
      cause === undefined ? undefined : { cause });
    this.name = 'ShimNotFoundError';
    this.tried = tried;
  }
}

interface Koffi {
  load(path: string): { func(decl: string): (...args: unknown[]) => unknown };
  address(value: unknown): bigint;
}

export function loadKoffiBackend(env: NodeJS.ProcessEnv = process.env, root = packageRoot): BpfBackend {
  const tried = shimCandidates(env, root);
  const path = tried.find((p) => existsSync(p));
  if (path === undefined) throw new ShimNotFoundError(tried);
  // koffi is CommonJS; createRequire keeps this module ESM without a default-import shim.
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  let fn: (cmd: number, attr: Uint8Array, size: number) => number;
  try {
    const lib = koffi.load(path);
    fn = lib.func('long ctmap_bpf(int cmd, void *attr, unsigned int size)') as typeof fn;
  } catch (err) {
    throw new ShimNotFoundError(tried, err);
  }
  return {
    name: `koffi:${path}`,
    call: fn,
    address: (buf) => koffi.address(buf),
  };
}
