// The npm package as a user gets it: `npm pack`, then `npm install <tarball>` into an empty project; imported from
// an ES module and from strict TypeScript (moduleResolution nodenext), `npx ctmap` run, and the prebuilt shim for
// this architecture loaded from the installed package (nothing compiled, nothing from this checkout).
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { privilegeProblem } from '../helpers/priv.js';

const repo = resolve(import.meta.dirname, '..', '..');

t.test('npm pack → npm install → import, types, npx ctmap, the prebuilt shim', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ctmap-pack-'));
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }); });
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: repo, encoding: 'utf8' })) as { filename: string; files: { path: string }[] }[];
  const files = packed[0]?.files.map((f) => f.path) ?? [];
  for (const want of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/bin/ctmap.cjs', 'shim/bpfshim.c',
    'prebuilds/linux-x64/libctmapbpf.so', 'prebuilds/linux-arm64/libctmapbpf.so']) {
    t.ok(files.includes(want), `the tarball has ${want}`);
  }
  t.notOk(files.some((f) => f.startsWith('src/') || f.startsWith('tests/') || f.startsWith('build/') || f.startsWith('node_modules/')), 'no sources, tests or local builds');
  const tarball = join(dir, packed[0]?.filename ?? '');
  const app = join(dir, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: app, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  t.same(readdirSync(join(app, 'node_modules', 'ctmap', 'prebuilds')).sort(), ['linux-arm64', 'linux-x64']);

  // ES module consumer: the root and a subpath export; as root, a real map through the installed prebuild.
  writeFileSync(join(app, 'use.mjs'), `
import { openNode, Settings, BpfError, removeMemlock } from 'ctmap';
import { BpfMap, MapType, defaultKernel } from 'ctmap/syscall';
const out = { openNode: typeof openNode, Settings: typeof Settings, BpfError: typeof BpfError, removeMemlock: typeof removeMemlock };
if (process.getuid() === 0 && process.argv[2] === 'kernel') {
  const m = BpfMap.create({ name: 'pack_probe', type: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 4 });
  out.created = m.maxEntries;
  m.close();
  out.backend = defaultKernel().name;
}
console.log(JSON.stringify(out));
`);
  const privileged = privilegeProblem() === undefined;
  const r = spawnSync(process.execPath, ['use.mjs', privileged ? 'kernel' : ''], { cwd: app, encoding: 'utf8', env: { ...process.env, CTMAP_SHIM: '' } });
  t.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as Record<string, string | number>;
  t.same([got.openNode, got.Settings, got.BpfError, got.removeMemlock], ['function', 'function', 'function', 'function']);
  if (privileged) {
    t.equal(got.created, 4, 'a map created through the installed package');
    t.equal(got.backend, `koffi:${join(app, 'node_modules', 'ctmap', 'prebuilds', `linux-${process.arch}`, 'libctmapbpf.so')}`, 'the prebuilt shim for this architecture');
  }

  // TypeScript consumer, strict, nodenext: the declarations resolve through the exports map.
  writeFileSync(join(app, 'use.ts'), `
import { openNode, type Node, type FlowFilter } from 'ctmap';
import { BpfMap } from 'ctmap/syscall';
import { CtKey4Global } from 'ctmap/structs';
const f: FlowFilter = { dport: 443, proto: 'tcp' };
export function count(n: Node): number { return n.ct.tcp4.count({ filter: f }); }
export const key: CtKey4Global = CtKey4Global.fromFlow({ src: '10.0.0.1:1', dst: '10.0.0.2:2', proto: 'TCP' });
export const open: typeof openNode = openNode;
export type M = BpfMap;
`);
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', noEmit: true, skipLibCheck: false, typeRoots: [join(repo, 'node_modules', '@types')], types: ['node'] },
    files: ['use.ts'],
  }));
  const tsc = spawnSync(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], { encoding: 'utf8' });
  t.equal(tsc.status, 0, `tsc: ${tsc.stdout}${tsc.stderr}`);

  // The executable.
  const help = spawnSync('npx', ['--no-install', 'ctmap', '--help'], { cwd: app, encoding: 'utf8' });
  t.equal(help.status, 0, help.stderr);
  t.match(help.stdout, /^Usage: ctmap \[options\] \[command\]/);
  const version = spawnSync('npx', ['--no-install', 'ctmap', '--version'], { cwd: app, encoding: 'utf8' });
  t.equal(version.stdout.trim(), (JSON.parse(execFileSync('node', ['-p', 'JSON.stringify(require("./package.json"))'], { cwd: repo, encoding: 'utf8' })) as { version: string }).version);
});
