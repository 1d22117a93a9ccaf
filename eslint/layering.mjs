// The folder layering of src/, as eslint rules: a module imports its own folder and lower layers only, and no
// import cycle exists anywhere. Used by eslint.config.mjs and by tests/unit/layering.test.ts (which proves the
// rules bite on a fixture tree that breaks them).
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import tseslint from 'typescript-eslint';

/**
 * Lowest first. bytes → kernel → shared datapath settings → nat → ctmap → gc runner → node handle → Go compat →
 * the tools that talk to people (cli) and tests' helpers (testing); the entry points in src/ itself sit on top.
 * The kernel layer may use only the bytes layer's generic modules (no Cilium struct).
 */
export const layers = [['structs'], ['syscall'], ['datapath'], ['nat'], ['ctmap'], ['gc'], ['node'], ['compat'], ['cli', 'testing']];
const generic = ['layout.ts', 'bytes.ts', 'describe.ts'];

/** no-restricted-paths zones for a source tree at `<base>/src`. */
export function layerZones(base) {
  const all = layers.flat();
  const zones = [];
  layers.forEach((folders, rank) => {
    const higher = layers.slice(rank + 1).flat();
    for (const f of folders) {
      const peers = folders.filter((p) => p !== f);
      const from = [...higher, ...peers].map((h) => `${base}/src/${h}`);
      if (from.length > 0) zones.push({ target: `${base}/src/${f}`, from, message: `src/${f} is below ${[...higher, ...peers].join(', ')} in the layering (eslint/layering.mjs)` });
    }
  });
  zones.push({ target: `${base}/src/syscall`, from: `${base}/src/structs`, except: generic.map((g) => `./${g}`),
    message: 'the kernel layer knows no Cilium struct: only structs/layout.ts, bytes.ts and describe.ts' });
  // Every layer folder is below the entry points in src/ itself (index.ts, demo.ts, repl.ts).
  for (const f of all) zones.push({ target: `${base}/src/${f}`, from: `${base}/src/*.ts`, message: `src/${f} must not import the entry points in src/` });
  return zones;
}

/** The flat-config blocks for a tree at `base` ('.' for this repository). */
export function layering(base = '.') {
  return [{
    files: [`${base === '.' ? '' : `${base}/`}src/**/*.ts`],
    plugins: { 'import-x': importX },
    languageOptions: { parser: tseslint.parser },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ alwaysTryTypes: false })],
      // no-cycle parses the modules an import leads to: with the TypeScript parser.
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts'],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: layerZones(base) }],
    },
  }];
}
