// Where the shim comes from (src/syscall/shim.ts): the prebuild for this architecture, else one compiled once from
// shim/bpfshim.c into a user cache; a machine without a compiler gets an error naming what is missing.
import t, { type Test } from 'tap';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cachedShimPath, locateShim, shimCandidates, ShimNotFoundError } from '../../src/syscall/shim.js';

const repo = resolve(import.meta.dirname, '..', '..');

/** Where the cache copy of a root's shim goes. */
function locateTarget(p: { env: NodeJS.ProcessEnv; root: string; arch: string; platform: string }): string {
  return cachedShimPath(readFileSync(join(p.root, 'shim', 'bpfshim.c')), p);
}

function fakeRoot(t: Test, withShim = true): { root: string; cache: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ctmap-shim-'));
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }); });
  const root = join(dir, 'pkg');
  mkdirSync(root);
  if (withShim) cpSync(join(repo, 'shim'), join(root, 'shim'), { recursive: true });
  return { root, cache: join(dir, 'cache') };
}

t.test('the order: $CTMAP_SHIM, build/, prebuilds/<platform>-<arch>/', async (t) => {
  t.same(shimCandidates({ env: { CTMAP_SHIM: 'rel/x.so' }, root: '/r', arch: 'arm64', platform: 'linux' }),
    [resolve('rel/x.so'), '/r/build/libctmapbpf.so', '/r/prebuilds/linux-arm64/libctmapbpf.so']);
  t.same(shimCandidates({ env: { CTMAP_SHIM: '' }, root: '/r', arch: 'x64', platform: 'linux' }), ['/r/build/libctmapbpf.so', '/r/prebuilds/linux-x64/libctmapbpf.so'], 'an empty CTMAP_SHIM is no candidate');
  t.ok(existsSync(join(repo, 'prebuilds', 'linux-x64', 'libctmapbpf.so')) && existsSync(join(repo, 'prebuilds', 'linux-arm64', 'libctmapbpf.so')), 'both prebuilds are in the repository');
  t.equal(locateShim({ env: {}, root: repo }), join(repo, 'build', 'libctmapbpf.so'), 'a checkout uses its own build first');
});

t.test('no prebuild for the architecture: compiled once into the cache, keyed by source and architecture', async (t) => {
  const { root, cache } = fakeRoot(t);
  const env = { XDG_CACHE_HOME: cache };
  const p = { env, root, arch: 'riscv64', platform: 'linux' };
  const got = locateShim(p);
  t.match(got, new RegExp(`^${cache}/ctmap/shim-[0-9a-f]{16}-linux-riscv64/libctmapbpf\\.so$`));
  t.equal(got, locateTarget(p), 'named by the SHA-256 of shim/bpfshim.c');
  const first = statSync(got).mtimeMs;
  t.equal(locateShim(p), got, 'the second time it is found, not rebuilt');
  t.equal(statSync(got).mtimeMs, first);
  t.not(cachedShimPath(Buffer.from('a'), p), cachedShimPath(Buffer.from('b'), p), 'another source, another file');
  t.not(cachedShimPath(Buffer.from('a'), p), cachedShimPath(Buffer.from('a'), { ...p, arch: 'x64' }), 'another architecture, another file');
});

t.test('no prebuild and no compiler, or no source: an error that says what is missing', async (t) => {
  const { root, cache } = fakeRoot(t);
  const e = (() => { try { locateShim({ env: { XDG_CACHE_HOME: cache, CC: '/nonexistent/cc' }, root, arch: 'mips', platform: 'linux' }); return undefined; } catch (err) { return err; } })();
  t.ok(e instanceof ShimNotFoundError);
  t.match((e as Error).message, /no prebuilt shim for linux-mips, and no C compiler \(\/nonexistent\/cc\) to build .*shim\/bpfshim\.c: install gcc, or set CC; run make/);
  t.equal((e as ShimNotFoundError).tried.length, 3, 'build/, prebuilds/ and the cache path');
  const broken = fakeRoot(t);
  const p = { env: { XDG_CACHE_HOME: broken.cache, CC: 'false' }, root: broken.root, arch: 'mips', platform: 'linux' };
  t.throws(() => locateShim(p), /false could not build/);
  const dir = resolve(locateTarget(p), '..');
  t.same(existsSync(dir) ? readdirSync(dir) : [], [], 'a failed build leaves no file behind');
  const bare = fakeRoot(t, false);
  t.throws(() => locateShim({ env: {}, root: bare.root, arch: 'mips', platform: 'linux' }), /and no .*shim\/bpfshim\.c to compile/);
});
