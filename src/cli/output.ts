/**
 * Output for the CLI: a synchronous buffered writer (a million-line listing
 * streams out in 64 KiB writes and never sits whole in memory), and a
 * progress line on stderr that appears only on a terminal and only for work
 * that takes longer than a second.
 *
 * When the reader goes away (`ctmap ct list | head -1`), the write fails
 * with EPIPE: the writer marks itself closed and drops everything after, as
 * bpftool or grep end quietly. Listings stop reading the maps then; commands
 * that change maps (gc, flush, delete) finish their work first — a pass
 * stopped half-way would leave a node half collected — and report nothing.
 */
import { writeSync } from 'node:fs';
import { marshalIndent } from '../structs/json.js';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

export class SyncWriter {
  readonly #fd: number;
  readonly #limit: number;
  #parts: string[] = [];
  #size = 0;
  #closed = false;

  constructor(fd = 1, limit = 64 * 1024) {
    this.#fd = fd;
    this.#limit = limit;
  }

  /** True once the reader has gone away (EPIPE): nothing more is written. */
  get closed(): boolean {
    return this.#closed;
  }

  write(s: string): void {
    if (this.#closed) return;
    this.#parts.push(s);
    this.#size += s.length;
    if (this.#size >= this.#limit) this.flush();
  }

  flush(): void {
    if (this.#size === 0) return;
    const buf = Buffer.from(this.#parts.join(''), 'utf8');
    this.#parts = [];
    this.#size = 0;
    let off = 0;
    while (off < buf.length) {
      try {
        off += writeSync(this.#fd, buf, off, buf.length - off);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') {
          this.#closed = true;
          return;
        }
        // A non-blocking pipe that is full: wait a moment and go on.
        if (code !== 'EAGAIN') throw err;
        Atomics.wait(sleeper, 0, 0, 1);
      }
    }
  }
}

/** `label: done/total` on stderr, refreshed at most 5 times a second, after the first second, on a TTY only. */
export class Progress {
  readonly #label: string;
  readonly #total: number | undefined;
  readonly #enabled: boolean;
  readonly #started = Date.now();
  #last = 0;
  #shown = false;

  constructor(label: string, total: number | undefined, enabled = process.stderr.isTTY) {
    this.#label = label;
    this.#total = total;
    this.#enabled = enabled;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  update(done: number): void {
    if (!this.#enabled) return;
    const now = Date.now();
    if (now - this.#started < 1000 || now - this.#last < 200) return;
    this.#last = now;
    this.#shown = true;
    process.stderr.write(`\r${this.#label}: ${done}${this.#total === undefined ? '' : `/${this.#total}`} entries`);
  }

  done(): void {
    if (this.#shown) process.stderr.write('\r\x1b[K');
  }
}

/**
 * Go's MarshalIndent of an array, one element at a time (so a million
 * records never sit in memory together), then the empty line cilium-dbg's
 * printer adds.
 */
export class JsonArrayWriter {
  readonly #out: SyncWriter;
  #first = true;

  constructor(out: SyncWriter) {
    this.#out = out;
    out.write('[');
  }

  add(value: unknown): void {
    this.#out.write(`${this.#first ? '' : ','}\n  ${marshalIndent(value, '  ', '  ')}`);
    this.#first = false;
  }

  end(): void {
    this.#out.write(this.#first ? ']\n\n' : '\n]\n\n');
  }
}
