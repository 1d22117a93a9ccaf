// Per-file mutation scores from Stryker's JSON report (mutation-testing-report-schema), as `make mutation`
// prints them: killed + timed out over all valid mutants (compile errors and ignored ones left out), the
// survivors listed by line so the next test to write is obvious. Exit 1 when a file is below 90 %.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2] ?? 'reports/mutation/mutation.json', 'utf8'));
const target = Number(process.env.MUTATION_TARGET ?? 90);
let below = 0;
const rows = [];
for (const [file, f] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
  const n = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, CompileError: 0, RuntimeError: 0, Ignored: 0 };
  for (const m of f.mutants) n[m.status] = (n[m.status] ?? 0) + 1;
  const detected = n.Killed + n.Timeout;
  const valid = detected + n.Survived + n.NoCoverage;
  const score = valid === 0 ? 100 : (100 * detected) / valid;
  if (score < target) below++;
  rows.push({ file, score, ...n, survivors: f.mutants.filter((m) => m.status === 'Survived' || m.status === 'NoCoverage') });
}
console.log(`${'file'.padEnd(28)} ${'score'.padStart(7)} killed timeout survived no-cov compile-err ignored`);
for (const r of rows) {
  console.log(`${r.file.padEnd(28)} ${r.score.toFixed(1).padStart(6)}% ${String(r.Killed).padStart(6)} ${String(r.Timeout).padStart(7)} ${String(r.Survived).padStart(8)} ${String(r.NoCoverage).padStart(6)} ${String(r.CompileError).padStart(11)} ${String(r.Ignored).padStart(7)}`);
}
for (const r of rows) {
  for (const m of r.survivors) {
    console.log(`  ${r.file}:${m.location.start.line} ${m.status} ${m.mutatorName}${m.replacement === undefined ? '' : ` → ${JSON.stringify(m.replacement).slice(0, 70)}`}`);
  }
}
if (below > 0) {
  console.log(`${below} file(s) below ${target} %`);
  process.exit(1);
}
