// StrykerJS for `make mutation` (see ../Makefile and guards.mjs). Run from the repository root.
// MUTATE=src/ctmap/gc.ts narrows a run to one module (its guards only).
import { existsSync } from 'node:fs';
import { guards } from './guards.mjs';

const only = process.env.MUTATE;
const modules = only === undefined || only === '' ? Object.keys(guards) : only.split(',');
for (const m of modules) if (guards[m] === undefined) throw new Error(`no guards listed for ${m} in mutation/guards.mjs`);
const testFiles = [...new Set(modules.flatMap((m) => guards[m]))].filter((f) => existsSync(f));

export default {
  testRunner: 'tap',
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: modules,
  tap: {
    testFiles,
    // Stryker's hook, then TypeScript through tap's own loader (types are checked by the checker, not per run).
    nodeArgs: ['--import', '{{hookFile}}', '--import', './node_modules/@tapjs/typescript/dist/esm/import.mjs', '--expose-gc'],
  },
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 30000,
  timeoutFactor: 2,
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: false },
  thresholds: { high: 90, low: 80, break: null },
  // dist stays: helpers some guards spawn (capsh, tryCreate.mjs) import it; they see the unmutated build.
  ignorePatterns: ['reports', 'mutation', 'coverage', '.tap', 'bench/results', 'vm', 'tests/fixtures/layering'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
