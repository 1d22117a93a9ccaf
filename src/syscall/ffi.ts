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
  /**
   * The same call on a worker thread (optional): resolves with the result
   * or -errno. The caller keeps `attr` and every buffer it points to
   * referenced until the promise settles.
   */
  callAsync?(cmd: number, attr: Uint8Array, size: number): Promise<number>;
  /**
   * The shim's ctmap_bpf_vec (optional): `n` calls laid out in `calls`
   * (src/syscall/vector.ts), run in one crossing; returns how many ran.
   */
  callVec?(calls: Uint8Array, n: number, stopOnError: boolean): number;
  /** callVec on a worker thread. */
  callVecAsync?(calls: Uint8Array, n: number, stopOnError: boolean): Promise<number>;
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

type Native<A extends unknown[]> = ((...args: A) => number) & {
  async(...args: [...A, (err: unknown, res: number) => void]): void;
};
type ShimFn = Native<[cmd: number, attr: Uint8Array, size: number]>;
type ShimVecFn = Native<[calls: Uint8Array, n: number, stop: number]>;

interface Koffi {
  load(path: string): { func(decl: string): unknown };
  address(value: unknown): bigint;
}

/** A koffi function's async form as a promise (koffi doc/load.md, "Asynchronous calls": koffi's worker threads). */
function promised<A extends unknown[]>(fn: Native<A>, ...args: A): Promise<number> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err: unknown, res: number) => {
      if (err === null || err === undefined) resolve(res);
      else reject(err instanceof Error ? err : new Error(`koffi async call failed: ${typeof err === 'string' ? err : JSON.stringify(err)}`));
    });
  });
}

export function loadKoffiBackend(env: NodeJS.ProcessEnv = process.env, root = packageRoot): BpfBackend {
  const tried = shimCandidates(env, root);
  const path = tried.find((p) => existsSync(p));
  if (path === undefined) throw new ShimNotFoundError(tried);
  // koffi is CommonJS; createRequire keeps this module ESM without a default-import shim.
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  let fn: ShimFn;
  let vec: ShimVecFn | undefined;
  try {
    const lib = koffi.load(path);
    fn = lib.func('long ctmap_bpf(int cmd, void *attr, unsigned int size)') as ShimFn;
    try {
      vec = lib.func('unsigned int ctmap_bpf_vec(void *calls, unsigned int n, int stop_on_error)') as ShimVecFn;
    } catch {
      // A shim built before the vector entry point: every call crosses on its own.
      vec = undefined;
    }
  } catch (err) {
    throw new ShimNotFoundError(tried, err);
  }
  const backend: BpfBackend = {
    name: `koffi:${path}`,
    call: fn,
    address: (buf) => koffi.address(buf),
    callAsync: (cmd, attr, size) => promised(fn, cmd, attr, size),
  };
  if (vec === undefined) return backend;
  const v = vec;
  return {
    ...backend,
    callVec: (calls, n, stop) => v(calls, n, stop ? 1 : 0),
    callVecAsync: (calls, n, stop) => promised(v, calls, n, stop ? 1 : 0),
  };
}
