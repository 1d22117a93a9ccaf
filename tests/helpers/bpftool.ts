/**
 * bpftool as an independent client: tests write entries with it and read
 * back what ctmap created, so the two implementations check each other.
 * `make test` installs it (Makefile sysdeps).
 */
import { execFileSync } from 'node:child_process';

export function bpftool(...args: string[]): string {
  return execFileSync('bpftool', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
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
