/**
 * RLIMIT_MEMLOCK on kernels that still charge BPF map memory to it.
 *
 * Before Linux 5.11 every map's memory is charged to the creating process's
 * RLIMIT_MEMLOCK; 5.11 moved BPF to memory-cgroup accounting (the series
 * "bpf: switch to memcg-based memory accounting", merged for 5.11). On 5.10
 * with a distribution's default limit (8 MiB, or 64 KiB in some guests) the
 * first CT map creation fails with EPERM. Cilium's agent raises the limit at
 * start; cilium/ebpf offers `rlimit.RemoveMemlock()`, which this follows:
 * probe whether creation is charged (a one-entry map created with the soft
 * limit at 0 succeeds only when it is not), and raise the limit only then.
 *
 * The rlimit calls are libc's getrlimit/setrlimit through the FFI backend
 * (no C of ctmap's own). A Kernel whose backend has no rlimit (a fake, an
 * intercepted one) is left alone.
 */
import { mapCreate } from './sys.js';
import { MapType } from './attr.js';
import { BpfError, Errno } from './errors.js';
import { FD } from './fd.js';
import { defaultKernel, type Kernel } from './kernel.js';

/** RLIMIT_MEMLOCK on Linux (asm-generic/resource.h: the same on x86-64 and arm64). */
export const RLIMIT_MEMLOCK = 8;
export const RLIM_INFINITY = 0xffffffffffffffffn;

export interface MemlockOutcome {
  /** Whether map creation is charged to RLIMIT_MEMLOCK here (undefined: could not tell). */
  readonly charged: boolean | undefined;
  /** Whether this call raised the limit. */
  readonly raised: boolean;
  /** The soft limit now (undefined when it could not be read). */
  readonly limit: bigint | undefined;
  /** Why nothing was done, when that is the case. */
  readonly note?: string;
}

// Per Kernel: the answer does not change while the process runs.
const outcomes = new WeakMap<Kernel, MemlockOutcome>();

/** Whether a one-entry map can be created now (false on EPERM; other errors are thrown). */
function canCreate(kernel: Kernel): boolean {
  try {
    new FD(mapCreate(kernel, { type: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0, name: 'ctmap_memlock' })).close();
    return true;
  } catch (err) {
    if (err instanceof BpfError && err.errno === Errno.EPERM) return false;
    throw err;
  }
}

/**
 * Raise RLIMIT_MEMLOCK to unlimited if (and only if) this kernel charges BPF
 * maps to it. Idempotent per Kernel. Raising needs CAP_SYS_RESOURCE; without
 * it the outcome says so and map creation keeps its EPERM hint.
 */
export function removeMemlock(kernel: Kernel = defaultKernel()): MemlockOutcome {
  const known = outcomes.get(kernel);
  if (known !== undefined) return known;
  const rl = kernel.backend.rlimit;
  let out: MemlockOutcome;
  if (rl === undefined) {
    out = { charged: undefined, raised: false, limit: undefined, note: `the ${kernel.name} backend has no getrlimit/setrlimit` };
  } else {
    const got = rl.get(RLIMIT_MEMLOCK);
    if (typeof got === 'number') {
      out = { charged: undefined, raised: false, limit: undefined, note: `getrlimit(RLIMIT_MEMLOCK) failed: ${new BpfError({ errno: -got, command: 'getrlimit' }).message}` };
    } else {
      const [cur, max] = got;
      if (cur === RLIM_INFINITY) {
        out = { charged: undefined, raised: false, limit: cur, note: 'already unlimited' };
      } else {
        // Lowering the soft limit is always allowed; it is restored right after the probe.
        let charged: boolean;
        if (rl.set(RLIMIT_MEMLOCK, 0n, max) !== 0) {
          charged = !canCreate(kernel);
        } else {
          try {
            charged = !canCreate(kernel);
          } finally {
            rl.set(RLIMIT_MEMLOCK, cur, max);
          }
        }
        if (!charged) {
          out = { charged, raised: false, limit: cur };
        } else if (rl.set(RLIMIT_MEMLOCK, RLIM_INFINITY, RLIM_INFINITY) === 0) {
          out = { charged, raised: true, limit: RLIM_INFINITY };
        } else if (max > cur && rl.set(RLIMIT_MEMLOCK, max, max) === 0) {
          // Without CAP_SYS_RESOURCE the soft limit can still go up to the hard one.
          out = { charged, raised: true, limit: max, note: `raised to the hard limit (${max} bytes) only: unlimited needs CAP_SYS_RESOURCE` };
        } else {
          out = { charged, raised: false, limit: cur, note: 'raising it needs CAP_SYS_RESOURCE' };
        }
      }
    }
  }
  outcomes.set(kernel, out);
  return out;
}
