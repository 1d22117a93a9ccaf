/**
 * Where Cilium pins its maps: `<bpffs>/tc/globals/<name>` (pkg/bpf MapPath).
 * The bpffs root is a Settings field; this module only knows the layout.
 */

/** Cilium's default bpffs mount point. */
export const DefaultMapRoot = '/sys/fs/bpf';
/** Cilium pins the datapath's maps in this directory under the bpffs root. */
export const TCGlobalsPath = 'tc/globals';

/** A bpffs root as settings hold it: absolute, without a trailing slash (except `/` itself). */
export function checkRoot(dir: unknown): string {
  if (typeof dir !== 'string' || !dir.startsWith('/')) throw new TypeError(`map root must be an absolute path, got ${JSON.stringify(dir)}`);
  return dir.length > 1 ? dir.replace(/\/+$/, '') || '/' : dir;
}

/** `<root>/tc/globals/<name>`. */
export function pinPath(root: string, name: string): string {
  if (typeof name !== 'string' || name === '' || name.includes('/') || name === '.' || name === '..') throw new TypeError(`invalid map name ${JSON.stringify(name)}`);
  return `${root === '/' ? '' : root}/${TCGlobalsPath}/${name}`;
}

/** A test override prefix for outer map names: non-empty, no "/"; undefined means the default names. */
export function checkNamePrefix(prefix: unknown): string | undefined {
  if (prefix !== undefined && (typeof prefix !== 'string' || prefix === '' || prefix.includes('/'))) {
    throw new TypeError(`outer map name prefix must be a non-empty string without "/", got ${JSON.stringify(prefix)}`);
  }
  return prefix;
}
