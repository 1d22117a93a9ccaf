// scripts/sourcemap-own.mjs: the CLI bundle's source maps lose commander's sources and keep every other mapping
// exactly (the suite's coverage and stack traces read them).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { build } from 'esbuild';
import { decodeSegment, dropSources, encodeSegment, type SourceMapV3 } from '../../scripts/sourcemap-own.mjs';

const root = join(import.meta.dirname, '..', '..');

/** Every mapped position as "genLine:genCol → source:line:col[:name]"; unmapped segments as "genLine:genCol". */
function positions(map: SourceMapV3): string[] {
  const out: string[] = [];
  let src = 0, line = 0, col = 0, name = 0;
  map.mappings.split(';').forEach((text, gl) => {
    let gc = 0;
    for (const seg of text === '' ? [] : text.split(',')) {
      const f = decodeSegment(seg);
      gc += f[0] as number;
      if (f.length === 1) {
        out.push(`${gl}:${gc}`);
        continue;
      }
      src += f[1] as number; line += f[2] as number; col += f[3] as number;
      if (f.length === 5) name += f[4] as number;
      out.push(`${gl}:${gc} → ${map.sources[src]}:${line}:${col}${f.length === 5 ? `:${map.names[name]}` : ''}`);
    }
  });
  return out;
}

t.test('VLQ: encode then decode gives the numbers back, signs and multi-digit values included', async (t) => {
  for (const fields of [[0], [1, -1, 15, -16], [16, 31, -32, 1023, -1024, 123456789, -987654321], [0, 0, 0, 0, 0]]) {
    t.same(decodeSegment(encodeSegment(fields)), fields);
  }
  t.equal(encodeSegment([0, 1, -1, 16]), 'ACDgB', 'the spec example digits');
  t.throws(() => decodeSegment('A!'), /not a base64 VLQ digit/);
  t.throws(() => decodeSegment('g'), /ends inside a number/);
});

t.test('on a real esbuild bundle of the CLI', async (t) => {
  const r = await build({
    entryPoints: ['src/cli/main.ts'], bundle: true, platform: 'node', sourcemap: 'external', write: false, outdir: '/nonexistent',
    external: ['koffi', 'prom-client'], absWorkingDir: root, define: { 'import.meta.url': 'undefined' }, logLevel: 'error',
  });
  const file = r.outputFiles.find((f) => f.path.endsWith('.map'));
  if (file === undefined) throw new Error('esbuild wrote no map');
  const map = JSON.parse(file.text) as SourceMapV3;
  const isDep = (s: string): boolean => /(^|\/)node_modules\//.test(s);
  t.ok(map.sources.some(isDep), 'commander is in the bundle to begin with');

  t.equal(dropSources(map, () => false).mappings, map.mappings, 'dropping nothing writes the same mappings');

  const own = dropSources(map, isDep);
  t.same(own.sources, map.sources.filter((s) => !isDep(s)), 'only the dependency sources are gone, order kept');
  t.equal(own.sourcesContent?.length, own.sources.length, 'sourcesContent follows sources');
  t.equal(own.sourcesContent?.[0], map.sourcesContent?.[map.sources.indexOf(own.sources[0] as string)]);

  // Every position that mapped into ctmap's sources maps to the same place; those that mapped into commander
  // are now unmapped at the same generated position.
  const before = positions(map);
  const after = positions(own);
  t.equal(after.length, before.length, 'one segment for each segment');
  let kept = 0;
  let dropped = 0;
  for (let i = 0; i < before.length; i++) {
    const b = before[i] as string;
    if (/ → .*node_modules\//.test(b)) {
      dropped++;
      if (after[i] !== b.split(' → ')[0]) t.fail(`segment ${i}: ${b} became ${String(after[i])}`);
    } else {
      kept++;
      if (after[i] !== b) t.fail(`segment ${i}: ${b} became ${String(after[i])}`);
    }
  }
  t.ok(kept > 1000 && dropped > 1000, `${kept} segments kept, ${dropped} unmapped`);
});

t.test('the built CLI bundle (make build) names no node_modules source', async (t) => {
  const dir = join(root, 'dist', 'bin');
  const maps = readdirSync(dir).filter((n) => n.endsWith('.map'));
  t.ok(maps.includes('ctmap.cjs.map'));
  for (const m of maps) {
    const map = JSON.parse(readFileSync(join(dir, m), 'utf8')) as SourceMapV3;
    t.same(map.sources.filter((s) => s.includes('node_modules')), [], m);
  }
  t.match(readFileSync(join(dir, 'ctmap.cjs'), 'utf8'), /"node_modules\/commander\/lib\/command\.js"/, 'commander is bundled, not loaded from node_modules');
});

t.test('a dropped map rejects a corrupt mapping instead of writing a wrong one', async (t) => {
  const base: SourceMapV3 = { version: 3, sources: ['a.ts'], names: [], mappings: 'AAAA' };
  t.throws(() => dropSources({ ...base, mappings: 'AA' }, () => false), /2 fields/);
  t.throws(() => dropSources({ ...base, mappings: 'ACAA' }, () => false), /source index 1 out of range/);
});
