/**
 * Running the built `ctmap` binary (dist/bin/ctmap.cjs, what package.json's bin installs) against a private
 * bpffs, and reading maps raw for before/after comparisons that do not go through the code under test.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BpfMap } from '../../src/syscall/map.js';
import { bpftoolJSON } from './bpftool.js';

const here = dirname(fileURLToPath(import.meta.url));
export const cliPath = resolve(here, '..', '..', 'dist', 'bin', 'ctmap.cjs');

export interface CliRun { code: number | null; out: string; err: string }

export function runCli(root: string, ...args: string[]): CliRun {
  const r = spawnSync(process.execPath, [cliPath, ...args], { env: { ...process.env, CTMAP_BPFFS: root }, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Every entry of a pinned map as key hex → value hex, read with bpftool (an independent client). */
export function rawEntries(path: string): Map<string, string> {
  const out = new Map<string, string>();
  const rows = bpftoolJSON('map', 'dump', 'pinned', path) as { key: string[]; value: string[] }[];
  const h = (a: string[]): string => a.map((x) => x.replace(/^0x/, '').padStart(2, '0')).join('');
  for (const r of rows) out.set(h(r.key), h(r.value));
  return out;
}

/** The pinned maps of a bpffs root (tc/globals). */
export function pinnedMaps(root: string): string[] {
  const dir = join(root, 'tc', 'globals');
  return readdirSync(dir).filter((n) => !n.includes('retries')).sort().map((n) => join(dir, n));
}

/** A digest of every byte of every map under the root: equal before and after means nothing changed. */
export function digest(root: string): string {
  const h = createHash('sha256');
  for (const p of pinnedMaps(root)) {
    h.update(p);
    for (const [k, v] of [...rawEntries(p)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) h.update(`${k}=${v};`);
  }
  return h.digest('hex');
}

/** Keys of a map through the library's batch walk (faster than bpftool for large maps). */
export function keysOf(path: string): Set<string> {
  const m = BpfMap.openPinned(path);
  try {
    const out = new Set<string>();
    for (const b of m.batches()) for (let i = 0; i < b.count; i++) out.add(hex(b.keys.subarray(i * b.keySize, (i + 1) * b.keySize)));
    return out;
  } finally {
    m.close();
  }
}
