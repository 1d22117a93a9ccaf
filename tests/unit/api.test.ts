// The public surface: ../shared/spec/api.md's names from the package root; every name the root exported in 0.1
// (tests/fixtures/v0.1-root-exports.json, recorded before the node handle) from the root or ctmap/compat; the
// curated root; and the package's exports map pointing at modules that exist.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

t.test('the package root exports every name of the contract', async (t) => {
  const root = await import('../../src/index.js') as Record<string, unknown>;
  const names = [
    'CtKey4Global', 'CtKey6Global', 'TupleKey4Global', 'TupleKey6Global', 'NatKey4', 'NatKey6', 'CtEntry', 'NatEntry4', 'NatEntry6',
    'MapNameTCP4Global', 'MapNameTCP6Global', 'MapNameAny4Global', 'MapNameAny6Global', 'MapNamePrefix', 'TUPLE_F_OUT', 'TUPLE_F_IN',
    'TUPLE_F_RELATED', 'TUPLE_F_SERVICE', 'MaxTime', 'RxClosing', 'TxClosing', 'Nat64', 'LBLoopback', 'SeenNonSyn', 'NodePort',
    'ProxyRedirect', 'DSRInternal', 'FromL7LB', 'Reserved1', 'FromTunnel', 'MaxFlags', 'SizeofCtEntry', 'SizeofCtKey4Global',
    'SizeofCtKey6Global', 'Maps', 'OpenCTMap', 'DumpEntriesWithTimeDiff', 'InitMapInfo', 'NatMapNext4', 'NatMapNext6',
    'PurgeOrphanNATEntries', 'NewPerClusterCTMaps', 'CleanupPerClusterCTMaps', 'ClusterOuterMapName', 'ClusterInnerMapName',
    'ClusterOuterMapNameTestOverride', 'GetClusterCTMaps', 'NewFakeGCRunner', 'setMapRoot',
  ];
  const missing = names.filter((n) => root[n] === undefined);
  t.same(missing, [], `${names.length} names exported`);
  const k = new (root.CtKey4Global as typeof import('../../src/index.js').CtKey4Global)({ destAddr: '10.0.0.1', nextHeader: 6, flags: 1 });
  t.equal(k.getFlags(), 1);
  t.equal(k.toBytes().length, 14);
  t.equal(typeof k.getTupleKey().toString(), 'string');
});

t.test('every name the 0.1 root exported still resolves: from the root, or ctmap/compat', async (t) => {
  const old = JSON.parse(readFileSync(resolve(repo, 'tests/fixtures/v0.1-root-exports.json'), 'utf8')) as string[];
  t.equal(old.length, 225, 'the recorded 0.1 surface');
  const root = await import('../../src/index.js') as Record<string, unknown>;
  const compat = await import('../../src/compat/index.js') as Record<string, unknown>;
  const unresolved = old.filter((n) => root[n] === undefined && compat[n] === undefined);
  t.same(unresolved, [], 'no old name is lost');
  const inCompat = old.filter((n) => compat[n] !== undefined);
  t.equal(inCompat.length, old.length, 'ctmap/compat alone carries the whole 0.1 surface');
  // Where both have a name, it is the same thing.
  const differ = old.filter((n) => root[n] !== undefined && root[n] !== compat[n]);
  t.same(differ, [], 'the root and compat agree');
});

t.test('the root is curated: the node handle first, a few dozen names, Go\'s in their own section', async (t) => {
  const root = await import('../../src/index.js') as Record<string, unknown>;
  const names = Object.keys(root);
  t.ok(names.length < 100, `${names.length} names at the root (0.1 had 225)`);
  for (const n of ['openNode', 'Node', 'Settings', 'ConntrackMap', 'NatMap', 'CheckedFilter', 'BpfError']) t.ok(n in root, `${n} at the root`);
  for (const n of ['GCFilter', 'gcWithFilter', 'setCTMapConfig', 'setACT', 'newMap', 'NewGCRunner']) t.notOk(n in root, `${n} only in ctmap/compat`);
  const src = readFileSync(resolve(repo, 'src/index.ts'), 'utf8');
  t.ok(src.indexOf('openNode') < src.indexOf('Go compatibility'), 'the handle comes first, Go\'s names in a separate section');
});

t.test('the exports map points at built modules for every subpath', async (t) => {
  const pkg = JSON.parse(readFileSync(resolve(repo, 'package.json'), 'utf8')) as { exports: Record<string, string | { types: string; default: string }> };
  const subpaths = Object.keys(pkg.exports);
  t.same(subpaths, ['.', './syscall', './structs', './datapath', './nat', './ctmap', './gc', './compat', './testing', './package.json']);
  for (const [sub, target] of Object.entries(pkg.exports)) {
    if (typeof target === 'string') continue;
    const src = resolve(repo, target.default.replace('./dist/', 'src/').replace(/\.js$/, '.ts'));
    const mod = await import(src) as Record<string, unknown>;
    t.ok(Object.keys(mod).length > 0, `${sub} → ${target.default} (from ${src.slice(repo.length + 1)}) exports something`);
  }
});
