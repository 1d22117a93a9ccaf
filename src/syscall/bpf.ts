/**
 * The funnel: every bpf(2) call in ctmap goes through `bpf(cmd, attr)`.
 *
 * Like libbpf's wrappers, callers pass an attr buffer that was zeroed and
 * sized to offsetofend(last field used); the funnel passes exactly that many
 * bytes and returns the result or -errno. `check` turns -errno into a
 * BpfError. The backend is swappable for unit tests (a fake kernel).
 */
import { BpfError } from './errors.js';
import { cmdName } from './attr.js';
import { loadKoffiBackend, type BpfBackend } from './ffi.js';

let backend: BpfBackend | undefined;

function current(): BpfBackend {
  backend ??= loadKoffiBackend();
  return backend;
}

/** Replace the backend (a fake kernel in unit tests); `undefined` restores the real one. Returns the previous. */
export function setBackend(next: BpfBackend | undefined): BpfBackend | undefined {
  const prev = backend;
  backend = next;
  return prev;
}

export function getBackend(): BpfBackend {
  return current();
}

export function bpf(cmd: number, attr: Uint8Array): number {
  return current().call(cmd, attr, attr.byteLength);
}

/** Address of a buffer for a pointer field. The caller keeps `buf` referenced until the call returns. */
export function addressOf(buf: Uint8Array): bigint {
  return current().address(buf);
}

/** Throw a BpfError for a negative result; return the result otherwise. */
export function check(ret: number, cmd: number, subject?: string): number {
  if (ret < 0) throw new BpfError(subject === undefined ? { errno: -ret, command: cmdName(cmd) } : { errno: -ret, command: cmdName(cmd), subject });
  return ret;
}
