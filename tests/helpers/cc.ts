/** Compile and run a C probe from tests/probe, returning its stdout. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const probeDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'probe');

export function runCProbe(file: string, args: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'ctmap-probe-'));
  try {
    const exe = join(dir, 'probe');
    execFileSync(process.env.CC ?? 'cc', ['-O0', '-Wall', '-Werror', '-o', exe, join(probeDir, file)], { stdio: ['ignore', 'pipe', 'pipe'] });
    return execFileSync(exe, args, { encoding: 'utf8' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Parse `name offset size` lines. */
export function parseOffsets(out: string): Map<string, { offset: number; size: number }> {
  const m = new Map<string, { offset: number; size: number }>();
  for (const line of out.split('\n')) {
    const [name, off, size] = line.trim().split(/\s+/);
    if (name === undefined || name === '' || off === undefined || size === undefined) continue;
    m.set(name, { offset: Number(off), size: Number(size) });
  }
  return m;
}
