// Runs inside the VM: each compiled privileged test file with plain node (no TypeScript, no tap
// runner; CI=true so a privileged test that cannot run fails; CTMAP_VM=1 for the few that measure
// timing at native speed), then one summary line the host parses: VM-SUMMARY {"kernel":…,"pass":…,"fail":…,"skip":…}.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { release } from 'node:os';

const dirs = process.argv.slice(2);
const files = dirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.test.js')).sort().map((f) => join(d, f)));
let pass = 0;
let fail = 0;
let skip = 0;
const started = Date.now();
for (const f of files) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--expose-gc', f], { encoding: 'utf8', env: { ...process.env, CI: 'true', CTMAP_VM: '1', TAP_TIMEOUT: '900' }, maxBuffer: 64 << 20 });
  let p = 0, x = 0, s = 0;
  for (const line of r.stdout.split('\n')) {
    // Top-level subtests only (no indentation): one per t.test().
    const m = /^(not ok|ok) \d+ - /.exec(line);
    if (m === null) continue;
    if (/# SKIP/.test(line)) s++;
    else if (m[1] === 'ok') p++;
    else x++;
  }
  if (r.status !== 0 && x === 0) x++;
  pass += p; fail += x; skip += s;
  process.stdout.write(`${x === 0 ? 'ok  ' : 'FAIL'} ${f}: ${p} passed, ${x} failed, ${s} skipped (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  if (x > 0) process.stdout.write(r.stdout.split('\n').filter((l) => /not ok|^\s+(found|wanted|message|---)/.test(l)).slice(0, 40).join('\n') + '\n' + r.stderr.slice(-2000) + '\n');
}
process.stdout.write(`VM-SUMMARY ${JSON.stringify({ kernel: release(), pass, fail, skip, files: files.length, seconds: Math.round((Date.now() - started) / 1000) })}\n`);
process.exitCode = fail > 0 ? 1 : 0;
