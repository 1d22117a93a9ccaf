// Builds the `ctmap` executable (package.json bin) from src/cli with esbuild, for start-up time:
//
//  - dist/bin/ctmap.cjs: the command definitions and commander, one CommonJS file. CommonJS because
//    Node 20 loads a CommonJS entry ~10 ms faster than an ES module; one file because resolving and
//    reading ~80 modules costs more than the work of `--help`.
//  - dist/bin/<command>.js + chunks: what each action imports when it runs (ES modules, split so a
//    command loads only its own code). koffi and prom-client stay outside, loaded from node_modules
//    when used; commander is bundled (loading it from node_modules costs ~14 ms of start-up, issue #15).
//
// Source maps point back to src/, so stack traces and the CLI tests' coverage read the TypeScript. The maps
// then lose every node_modules source (./sourcemap-own.mjs): the suite's coverage follows them, and commander
// listed there would count as ctmap's code.
// tsc type-checks the same sources (make lint); esbuild only strips the types.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { dropSources } from './sourcemap-own.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'bin');
const program = readFileSync(join(root, 'src/cli/program.ts'), 'utf8');
// The modules program.ts imports lazily: `await import('./ct.js')` and the like.
const lazy = [...new Set([...program.matchAll(/import\('\.\/([a-z]+)\.js'\)/g)].map((m) => m[1]))];
if (lazy.length === 0) throw new Error('bundle-cli: found no lazy imports in src/cli/program.ts');

rmSync(out, { recursive: true, force: true });
const common = {
  bundle: true, platform: 'node', target: 'node20', sourcemap: true, logLevel: 'warning',
  // koffi is native and prom-client loads only for `ctmap metrics`; both stay in node_modules.
  external: ['koffi', 'prom-client'], absWorkingDir: root,
};

await build({
  ...common,
  entryPoints: { ctmap: 'src/cli/main.ts' },
  outdir: out,
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  // import.meta.url has no CommonJS equivalent; program.ts uses it to find package.json.
  define: { 'import.meta.url': '__ctmapModuleURL' },
  banner: { js: "const __ctmapModuleURL = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [{
    name: 'lazy-commands',
    setup(b) {
      // Each action's import stays a dynamic import of the command bundle next to this file.
      b.onResolve({ filter: /^\.\/[a-z]+\.js$/ }, (args) => (args.kind === 'dynamic-import' ? { path: args.path, external: true } : undefined));
    },
  }],
});

await build({
  ...common,
  entryPoints: Object.fromEntries(lazy.map((n) => [n, `src/cli/${n}.ts`])),
  outdir: out,
  format: 'esm',
  splitting: true,
  chunkNames: 'chunk-[hash]',
  // commander is CommonJS and calls require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __ctmapCreateRequire } from 'node:module'; const require = __ctmapCreateRequire(import.meta.url);" },
});
for (const f of readdirSync(out).filter((n) => n.endsWith('.map'))) {
  const path = join(out, f);
  const map = JSON.parse(readFileSync(path, 'utf8'));
  writeFileSync(path, JSON.stringify(dropSources(map, (src) => /(^|\/)node_modules\//.test(src))));
}
process.stdout.write(`bundled the ctmap CLI into ${out} (${lazy.length} lazily loaded commands: ${lazy.join(', ')})\n`);
