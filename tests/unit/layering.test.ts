// The layering rule bites: eslint with eslint/layering.mjs over a fixture tree that breaks it (a lower layer importing
// a higher one, the kernel layer importing a Cilium struct, an import cycle) reports exactly those, and nothing on the
// files that keep to it. `make lint` applies the same rules to src/.
import t from 'tap';
import { ESLint } from 'eslint';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const base = 'tests/fixtures/layering';

t.test('the layering rules report each break in the fixture tree and nothing else', async (t) => {
  const { layering } = await import(resolve(repo, 'eslint/layering.mjs')) as { layering: (base: string) => object[] };
  const eslint = new ESLint({ cwd: repo, overrideConfigFile: true, overrideConfig: layering(base) as never });
  const results = await eslint.lintFiles([`${base}/src/**/*.ts`]);
  const found = new Map<string, string[]>();
  for (const r of results) {
    const msgs = r.messages.map((m) => `${m.ruleId ?? 'fatal'}: ${m.message}`);
    found.set(relative(resolve(repo, base), r.filePath), msgs);
  }
  t.equal(found.size, 9, 'every fixture file was linted');
  for (const clean of ['src/structs/layout.ts', 'src/structs/tuple.ts', 'src/syscall/ok.ts', 'src/nat/clean.ts', 'src/ctmap/ok.ts']) {
    t.same(found.get(clean), [], `${clean}: no report`);
  }
  const one = (file: string, want: RegExp, what: string): void => {
    const got = found.get(file) ?? [];
    t.equal(got.length, 1, `${what}: one report`);
    t.match(got[0], want, what);
  };
  one('src/syscall/bad.ts', /^import-x\/no-restricted-paths: .*the kernel layer knows no Cilium struct/, 'the kernel layer importing a Cilium struct');
  one('src/nat/bad.ts', /^import-x\/no-restricted-paths: .*src\/nat is below ctmap/, 'nat importing ctmap');
  one('src/ctmap/a.ts', /^import-x\/no-cycle: Dependency cycle/, 'the cycle, from a');
  one('src/ctmap/b.ts', /^import-x\/no-cycle: Dependency cycle/, 'the cycle, from b');
});
