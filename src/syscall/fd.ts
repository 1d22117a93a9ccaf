/**
 * Owned file descriptors. An FD is closed exactly once: by `close()`, by
 * `using` (Symbol.dispose), or — as a backstop for objects dropped without
 * either — by a FinalizationRegistry. Closing goes through Node's fs, which
 * calls close(2) on any descriptor; the shim stays a single bpf() entry point.
 */
import { closeSync } from 'node:fs';
import { BpfError, Errno } from './errors.js';

const backstop = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // Already gone: nothing to release.
  }
});

export class FD {
  #fd: number;

  constructor(fd: number) {
    if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`invalid file descriptor ${fd}`);
    this.#fd = fd;
    backstop.register(this, fd, this);
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /** The raw descriptor; throws EBADF once closed so a stale number is never reused. */
  get value(): number {
    if (this.#fd < 0) throw new BpfError({ errno: Errno.EBADF, command: 'fd', hint: 'the map was closed' });
    return this.#fd;
  }

  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    backstop.unregister(this);
    closeSync(fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return this.#fd < 0 ? 'fd(closed)' : `fd(${this.#fd})`;
  }
}
