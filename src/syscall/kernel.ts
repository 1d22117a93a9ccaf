/**
 * The funnel: every bpf(2) call in ctmap goes through `Kernel.bpf(cmd, attr)`.
 *
 * A Kernel is a value the caller holds, not a module setting: the default
 * one talks to the real kernel through the koffi shim (loaded on first use),
 * a test builds one over a fake backend, and two users in one process — a
 * test and the code under test — each keep their own. Like libbpf's
 * wrappers, callers pass an attr buffer zeroed and sized to
 * offsetofend(last field used); the funnel passes exactly that many bytes
 * and returns the result or -errno. `check` turns -errno into a BpfError.
 */
import { BpfError } from './errors.js';
import { cmdName } from './attr.js';
import { loadKoffiBackend, type BpfBackend } from './ffi.js';
import { BpfVector } from './vector.js';

/** Called instead of the backend: fault injection and tracing in tests. `next` is the real call. */
export type Interceptor = (cmd: number, attr: Uint8Array, size: number, next: (cmd: number, attr: Uint8Array, size: number) => number) => number;

export class Kernel {
  readonly backend: BpfBackend;

  constructor(backend: BpfBackend) {
    if (typeof backend !== 'object' || typeof backend.call !== 'function' || typeof backend.address !== 'function') {
      throw new TypeError('a kernel backend needs call(cmd, attr, size) and address(buf)');
    }
    this.backend = backend;
  }

  get name(): string {
    return this.backend.name;
  }

  /**
   * bpf(2) with all of `attr`; the result, or -errno. `at`, when the caller knows it, is the attr's address
   * (Kernel.addressNumber): a backend with callAt then passes it as an integer instead of unwrapping `attr`.
   * Backends without callAt — fakes, intercepted kernels — get `attr` itself, so they see every call alike.
   */
  bpf(cmd: number, attr: Uint8Array, at?: number): number {
    const b = this.backend;
    if (at !== undefined && b.callAt !== undefined) return b.callAt(cmd, at, attr.byteLength);
    return b.call(cmd, attr, attr.byteLength);
  }

  /**
   * A buffer's address as a number, for bpf()'s `at`: user-space addresses fit in 53 bits (47 on x86-64 and
   * arm64 with 4-level tables, 52 with LA57/LVA); a larger one is refused rather than rounded.
   */
  addressNumber(buf: Uint8Array): number {
    const a = this.backend.address(buf);
    if (a > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`address 0x${a.toString(16)} does not fit a JavaScript number`);
    return Number(a);
  }

  /**
   * bpf(2) on a worker thread, for work that can run side by side (the
   * parallel count): the same funnel, off the event loop. A backend without
   * threads runs the call synchronously. The caller keeps `attr` and the
   * buffers it points to referenced until the promise settles.
   */
  bpfAsync(cmd: number, attr: Uint8Array): Promise<number> {
    const b = this.backend;
    if (b.callAsync === undefined) return Promise.resolve(b.call(cmd, attr, attr.byteLength));
    return b.callAsync(cmd, attr, attr.byteLength);
  }

  /** A vector of calls to run in one crossing (./vector.ts). */
  vector(capacity: number): BpfVector {
    return new BpfVector(this, capacity);
  }

  /** True when bpfAsync really runs calls on other threads. */
  get threaded(): boolean {
    return this.backend.callAsync !== undefined;
  }

  /** Address of a buffer for a pointer field. The caller keeps `buf` referenced until the call returns. */
  address(buf: Uint8Array): bigint {
    return this.backend.address(buf);
  }

  /** A kernel whose calls pass through `fn` first; addresses are this kernel's. */
  intercept(fn: Interceptor): Kernel {
    const inner = this.backend;
    const next = (cmd: number, attr: Uint8Array, size: number): number => inner.call(cmd, attr, size);
    // Intercepted kernels run every call through `fn` synchronously (fault injection sees each one in order).
    return new Kernel({
      name: `${inner.name}+intercepted`,
      call: (cmd, attr, size) => fn(cmd, attr, size, next),
      address: (buf) => inner.address(buf),
      // Not a bpf() call: rlimits pass straight through.
      ...(inner.rlimit === undefined ? {} : { rlimit: inner.rlimit }),
    });
  }

  toString(): string {
    return `Kernel(${this.name})`;
  }
}

// The process has one real kernel; its koffi binding is loaded once, on first use (so a pure-logic
// user — or `ctmap --version` — never loads the shim). A cache of a fact, not a setting.
let real: Kernel | undefined;

/** The real kernel, through the shim. */
export function defaultKernel(): Kernel {
  real ??= new Kernel(loadKoffiBackend());
  return real;
}

/** Throw a BpfError for a negative result; return the result otherwise. */
export function check(ret: number, cmd: number, subject?: string): number {
  if (ret < 0) throw new BpfError(subject === undefined ? { errno: -ret, command: cmdName(cmd) } : { errno: -ret, command: cmdName(cmd), subject });
  return ret;
}
