/**
 * The one place that knows about FFI. A backend is two functions: call the
 * shim's `ctmap_bpf(cmd, attr, size)` and give the address of a buffer (for
 * the pointer fields of bpf_attr) — and, optionally, the same call on a
 * worker thread, the shim's vector entry point, and libc's rlimit calls.
 * koffi is the default; a test builds a Kernel over a fake backend, and
 * another FFI could be slotted in the same way. Where the shim comes from:
 * ./shim.ts.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { locateShim, ShimNotFoundError, shimCandidates as candidates } from './shim.js';

export { SHIM_NAME, ShimNotFoundError } from './shim.js';

export interface BpfBackend {
  readonly name: string;
  /** bpf(2) with `size` bytes of `attr`; returns the result, or -errno. */
  call(cmd: number, attr: Uint8Array, size: number): number;
  /** The address of a buffer's first byte, as the kernel should see it. */
  address(buf: Uint8Array): bigint;
  /**
   * call() with the attr given by its address (optional): the same C function, declared to koffi with an
   * integer parameter, so a call on an attr whose address is known (BpfMap's prepared attrs) skips unwrapping
   * a typed array — ~170 ns a call here. The caller keeps the attr referenced; the kernel reads `size` bytes.
   */
  callAt?(cmd: number, attrAddress: number, size: number): number;
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
  /**
   * libc's getrlimit/setrlimit (optional), through the same FFI library —
   * no C of ctmap's own: kernels before 5.11 charge BPF map memory to
   * RLIMIT_MEMLOCK (./memlock.ts). `get` returns [cur, max] or -errno; `set`
   * returns 0 or -errno.
   */
  readonly rlimit?: {
    get(resource: number): readonly [bigint, bigint] | number;
    set(resource: number, cur: bigint, max: bigint): number;
  };
}

/** The nearest folder above this module that holds package.json (src/, dist/ and bench builds all sit below it). */
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
const packageRoot = findPackageRoot();

/** Where the shim is looked for, in order, before one is compiled (./shim.ts). */
export function shimCandidates(env: NodeJS.ProcessEnv = process.env, root = packageRoot): string[] {
  return candidates({ env, root });
}

type Native<A extends unknown[]> = ((...args: A) => number) & {
  async(...args: [...A, (err: unknown, res: number) => void]): void;
};
type ShimFn = Native<[cmd: number, attr: Uint8Array, size: number]>;
type ShimAtFn = (cmd: number, attr: number, size: number) => number;
type ShimVecFn = Native<[calls: Uint8Array, n: number, stop: number]>;

interface Koffi {
  load(path: string): { func(decl: string): unknown };
  address(value: unknown): bigint;
  errno(): number;
}

type RlimitFn = (resource: number, rlim: Uint8Array) => number;

/** getrlimit/setrlimit from the C library, loaded on first use (glibc's soname, then musl's). */
function libcRlimit(koffi: Koffi): NonNullable<BpfBackend['rlimit']> {
  let fns: { get: RlimitFn; set: RlimitFn } | undefined;
  const load = (): { get: RlimitFn; set: RlimitFn } => {
    if (fns !== undefined) return fns;
    let lib: ReturnType<Koffi['load']> | undefined;
    for (const name of ['libc.so.6', 'libc.so']) {
      try {
        lib = koffi.load(name);
        break;
      } catch {
        // try the next name
      }
    }
    if (lib === undefined) throw new Error('cannot load the C library (libc.so.6 or libc.so) for getrlimit/setrlimit');
    fns = {
      get: lib.func('int getrlimit(int resource, void *rlim)') as RlimitFn,
      set: lib.func('int setrlimit(int resource, void *rlim)') as RlimitFn,
    };
    return fns;
  };
  // struct rlimit { rlim_t rlim_cur, rlim_max; }: two unsigned longs, 64-bit on x86-64 and arm64.
  return {
    get(resource) {
      const b = new Uint8Array(16);
      if (load().get(resource, b) !== 0) return -koffi.errno();
      const dv = new DataView(b.buffer);
      return [dv.getBigUint64(0, true), dv.getBigUint64(8, true)];
    },
    set(resource, cur, max) {
      const b = new Uint8Array(16);
      const dv = new DataView(b.buffer);
      dv.setBigUint64(0, cur, true);
      dv.setBigUint64(8, max, true);
      return load().set(resource, b) === 0 ? 0 : -koffi.errno();
    },
  };
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
  const path = locateShim({ env, root });
  // koffi is CommonJS; createRequire keeps this module ESM without a default-import shim.
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  let fn: ShimFn;
  let at: ShimAtFn;
  let vec: ShimVecFn | undefined;
  try {
    const lib = koffi.load(path);
    fn = lib.func('long ctmap_bpf(int cmd, void *attr, unsigned int size)') as ShimFn;
    // The same symbol again, the pointer as an integer (koffi doc/functions.md: a prototype per declaration).
    at = lib.func('long ctmap_bpf(int cmd, intptr_t attr, unsigned int size)') as ShimAtFn;
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
    callAt: at,
    address: (buf) => koffi.address(buf),
    callAsync: (cmd, attr, size) => promised(fn, cmd, attr, size),
    rlimit: libcRlimit(koffi),
  };
  if (vec === undefined) return backend;
  const v = vec;
  return {
    ...backend,
    callVec: (calls, n, stop) => v(calls, n, stop ? 1 : 0),
    callVecAsync: (calls, n, stop) => promised(v, calls, n, stop ? 1 : 0),
  };
}
