/**
 * Privileged test support: a private bpffs per test, unmounted afterwards.
 * Outside CI a machine without BPF skips these tests with the reason; with
 * CI=true a privileged test that cannot run fails instead.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountBpffs, unmountBpffs } from '../../src/syscall/bpffs.js';
import { BpfMap } from '../../src/syscall/map.js';
import { MapType } from '../../src/syscall/attr.js';
import { haveFeature, kernelAtLeast, type Feature } from '../../src/syscall/features.js';
import { removeMemlock } from '../../src/syscall/memlock.js';
import { release } from 'node:os';

import type { Test } from 'tap';

let probe: string | undefined | null = null;

/** Why privileged tests cannot run here, or undefined when they can. */
export function privilegeProblem(): string | undefined {
  if (probe !== null) return probe;
  if (process.getuid?.() !== 0) {
    probe = 'not running as root';
    return probe;
  }
  try {
    // Kernels before 5.11 charge maps to RLIMIT_MEMLOCK: raise it where that is so, as every map creator must.
    removeMemlock();
    const m = BpfMap.create({ name: 'ctmap_probe', type: MapType.LRUHash, keySize: 4, valueSize: 4, maxEntries: 16 });
    m.close();
    probe = undefined;
  } catch (err) {
    probe = `bpf() unavailable: ${(err as Error).message}`;
  }
  return probe;
}

/**
 * Call at the start of a privileged test. Returns false (after failing in CI,
 * or skipping elsewhere) when the test cannot run.
 */
export function requirePrivileged(t: Test): boolean {
  const why = privilegeProblem();
  if (why === undefined) return true;
  if (process.env.CI === 'true') t.fail(`privileged test cannot run in CI: ${why}`);
  else t.plan(0, `privileged test skipped: ${why}`);
  return false;
}

/** Mount a private bpffs in a temp dir for this test; unmounted and removed at teardown. */
export function privateBpffs(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'ctmap-bpffs-'));
  mountBpffs(dir);
  t.teardown(() => {
    unmountBpffs(dir);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** The error `fn` throws (undefined if it returns): for assertions tap's t.throws cannot express. */
export function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

/**
 * For a test that needs a kernel feature: false (skipping with the reason) when the kernel lacks it —
 * and a failure instead when the kernel is new enough to have it, so a broken probe cannot hide.
 */
export function requireKernelFeature(t: Test, f: Feature): boolean {
  if (haveFeature(f)) return true;
  if (kernelAtLeast(f.minKernel)) {
    t.fail(`the probe says this kernel (${release()}) lacks ${f.description}, which Linux ${f.minKernel} has`);
  } else {
    t.plan(0, `${f.description} needs Linux ${f.minKernel}; this kernel is ${release()}`);
  }
  return false;
}
