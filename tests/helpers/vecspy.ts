// A kernel on the real one whose vector crossings (the shim's ctmap_bpf_vec, src/syscall/vector.ts) go through a
// test's hook first: to record them (the first call's command and the length), to change the map between two
// crossings, or to answer for the kernel. Everything else is the real kernel's.
import { Kernel, defaultKernel } from '../../src/syscall/index.js';
import type { BpfBackend } from '../../src/syscall/ffi.js';
import { dataView } from '../../src/structs/bytes.js';

export type VecCall = NonNullable<BpfBackend['callVec']>;
/** Sees each crossing: the first call's command (-1 for an empty vector), the calls, and the real entry point. */
export type VecHook = (cmd: number, calls: Uint8Array, n: number, stop: boolean, real: VecCall) => number;

export function vectorKernel(hook: VecHook): Kernel {
  const backend = defaultKernel().backend;
  if (backend.callVec === undefined) throw new Error('this shim has no vector entry point');
  const real = backend.callVec.bind(backend);
  return new Kernel({ ...backend, callVec: (calls, n, stop) => hook(n > 0 ? dataView(calls).getInt32(0, true) : -1, calls, n, stop, real) });
}

/** vectorKernel recording each crossing's command and length into `log`. */
export function recordingKernel(log: { cmd: number; n: number }[]): Kernel {
  return vectorKernel((cmd, calls, n, stop, real) => {
    log.push({ cmd, n });
    return real(calls, n, stop);
  });
}

/** One call's slot in a vector (src/syscall/vector.ts): cmd, attr pointer, size, then the result and errno at 16 and 20. */
const CALL = 24;

/** Answer every call of a vector with -errno, running none of them (a hook's reply for a refusing kernel). */
export function refuseAll(calls: Uint8Array, n: number, errno: number): number {
  const dv = dataView(calls);
  for (let i = 0; i < n; i++) {
    dv.setInt32(i * CALL + 16, -errno, true);
    dv.setInt32(i * CALL + 20, -1, true);
  }
  return n;
}
