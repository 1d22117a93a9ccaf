/**
 * bpffs: the pseudo file system pins live on. Pinning outside it fails with
 * EPERM/EINVAL from the kernel, so ctmap checks the mount first and says so.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';

/** BPF_FS_MAGIC from <linux/magic.h>. */
export const BPF_FS_MAGIC = 0xcafe4a11;

export function isBpffs(path: string): boolean {
  try {
    return statfsSync(path).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

/** Throws unless the directory that will hold `pinPath` is on bpffs (creating it if needed). */
export function ensurePinDir(pinPath: string): void {
  const dir = dirname(pinPath);
  if (!existsSync(dir)) {
    let top = dir;
    while (!existsSync(top)) top = dirname(top);
    if (!isBpffs(top)) throw new Error(`cannot pin ${pinPath}: ${top} is not on a bpffs mount (mount -t bpf bpf DIR)`);
    mkdirSync(dir, { recursive: true });
  }
  if (!isBpffs(dir)) throw new Error(`cannot pin ${pinPath}: ${dir} is not on a bpffs mount (mount -t bpf bpf DIR)`);
}

/** True when `dir` is itself a bpffs mount point (not merely a folder inside one). */
export function isBpffsMountPoint(dir: string): boolean {
  try {
    return isBpffs(dir) && statSync(dir).dev !== statSync(dirname(dir)).dev;
  } catch {
    return false;
  }
}

/** Mount a private bpffs at `dir` (created if needed). Needs root. */
export function mountBpffs(dir: string): void {
  mkdirSync(dir, { recursive: true });
  if (isBpffsMountPoint(dir)) return;
  execFileSync('mount', ['-t', 'bpf', 'bpf', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (!isBpffs(dir)) throw new Error(`mounted bpffs at ${dir} but statfs does not see it`);
}

export function unmountBpffs(dir: string): void {
  if (!isBpffsMountPoint(dir)) return;
  execFileSync('umount', [dir], { stdio: ['ignore', 'ignore', 'pipe'] });
}
