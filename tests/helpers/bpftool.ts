/**
 * bpftool as an independent client: tests write entries with it and read
 * back what ctmap created, so the two implementations check each other.
 * `make test` installs it (Makefile sysdeps).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function bpftool(...args: string[]): string {
  return execFileSync('bpftool', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 512 * 1024 * 1024 });
}

export function bpftoolJSON(...args: string[]): unknown {
  return JSON.parse(bpftool('-j', ...args));
}

/** Bytes as bpftool's `hex` argument list. */
export function hexArgs(b: Uint8Array): string[] {
  return ['hex', ...[...b].map((x) => x.toString(16).padStart(2, '0'))];
}

/** `bpftool map update pinned PATH key hex … value hex …`. */
export function bpftoolUpdate(path: string, key: Uint8Array, value: Uint8Array): void {
  bpftool('map', 'update', 'pinned', path, 'key', ...hexArgs(key), 'value', ...hexArgs(value));
}

/** Many updates in one bpftool process (`bpftool batch file`): each entry is [pin path, key, value]. */
export function bpftoolBatchUpdate(entries: readonly (readonly [string, Uint8Array, Uint8Array])[]): void {
  if (entries.length === 0) return;
  const dir = mkdtempSync(join(tmpdir(), 'ctmap-bpftool-'));
  const file = join(dir, 'batch');
  try {
    writeFileSync(file, entries.map(([path, k, v]) => `map update pinned ${path} key ${hexArgs(k).join(' ')} value ${hexArgs(v).join(' ')}\n`).join(''));
    bpftool('batch', 'file', file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
