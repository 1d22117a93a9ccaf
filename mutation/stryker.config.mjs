// StrykerJS for `make mutation` (see ../Makefile and guards.mjs). Run from the repository root.
// MUTATE=src/ctmap/gc.ts narrows a run to one module (its guards only).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { guards } from './guards.mjs';

const tsx = fileURLToPath(new URL('./node_modules/tsx/dist/esm/index.mjs', import.meta.url));
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
    // Stryker's hook, then TypeScript through tsx (esbuild: types are checked by the checker, not per run). tap's
    // own loader (ts-node) compiles every imported module again in each test process: 12.8 s against 2.5 s for
    // tests/unit/ctmap.test.ts here, and most of a privileged guard's run was that start-up.
    nodeArgs: ['--import', '{{hookFile}}', '--import', tsx, '--expose-gc'],
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
