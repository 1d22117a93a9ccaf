/**
 * `make bench`: ctmap against the kernel's limit (a C program doing the same
 * work with raw syscalls, bench/cbench.c) and against Cilium's algorithm,
 * in one run, on the same maps in a private bpffs. Every TypeScript job runs
 * in its own process so its peak RSS is measured. Timing is reported, never
 * asserted; the run fails only if a job fails or the two sides disagree on
 * what they did (entries counted, deleted, left).
 *
 *   BENCH_SIZES=100000,1000000 BENCH_RUNS=3 make bench
 *
 * The scale section (BENCH_SCALE, default 100k, 1M, 4M, 16M entries) runs count, GC fast and safe, the orphan
 * purge and `ct list` once per size on one CT map of Cilium's largest size (LimitTableMax, 16,777,216 entries)
 * and a NAT map holding every flow's pair, both created once and refilled between jobs (creating them takes
 * about a minute here: the kernel preallocates every LRU element). The npm `bpf` package (bench/bpfpkg,
 * installed by `make bench` only) is a third column for count and GC at 1M.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mountBpffs, unmountBpffs, BpfMap, MapType, unpinPath, type MapSpec } from '../src/syscall/index.js';
import { svgChart, textChart, type Panel } from './chart.js';
import { setMapRoot, mapPinPath } from '../src/compat/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..', '..');
const cbench = join(repo, 'build', 'cbench');
const tsrun = join(here, 'tsrun.js');
const cli = join(repo, 'dist', 'bin', 'ctmap.cjs');
const sizes = (process.env.BENCH_SIZES ?? '100000,1000000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const scaleSizes = (process.env.BENCH_SCALE ?? '100000,1000000,4000000,16000000').split(',').map(Number).sort((a, b) => a - b);
// BENCH_ONLY=startup (or single, sizes, list, scale; comma-separated) runs those sections and writes bench-<only>.json.
const SECTIONS = ['single', 'sizes', 'list', 'startup', 'scale'];
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').filter((x) => x !== '');
for (const o of ONLY) if (!SECTIONS.includes(o)) throw new Error(`BENCH_ONLY: unknown section ${o} (${SECTIONS.join(', ')})`);
const wanted = (section: string): boolean => ONLY.length === 0 || ONLY.includes(section);
const CT_MAX = 1048576;
const NAT_MAX = 2621440;
/** Cilium's LimitTableMax: the largest CT map the agent accepts (BENCH_SCALE_MAX lowers it for a quick run). */
const SCALE_CT_MAX = Number(process.env.BENCH_SCALE_MAX ?? 16777216);
const bpfpkgDir = join(repo, 'bench', 'bpfpkg');

type Json = Record<string, number | boolean | string | undefined>;
const failures: string[] = [];

function json(out: string): Json {
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Json;
}

function c(op: string, arg: number, ctMax = CT_MAX): Json {
  return json(execFileSync(cbench, [op, mapPinPath('cilium_ct4_global'), mapPinPath('cilium_snat_v4_external'), String(arg), String(ctMax)], { encoding: 'utf8', maxBuffer: 1 << 20 }));
}

/** Why the npm `bpf` package cannot run here, or undefined when it can. */
function bpfpkgProblem(): string | undefined {
  if (existsSync(join(bpfpkgDir, 'node_modules', 'bpf', 'package.json'))) return undefined;
  const log = join(repo, 'build', 'bpfpkg-install.log');
  const tail = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').slice(-3).join(' / ') : 'no install log';
  return `the npm bpf package is not installed in bench/bpfpkg (npm install: ${tail})`;
}

/** The npm `bpf` package doing `op` (bench/bpfpkg/run.cjs), one process, like tsrun. */
function bpfpkg(op: string, ctMax = CT_MAX): Json {
  const r = spawnSync(process.execPath, [join(bpfpkgDir, 'run.cjs'), op, mapPinPath('cilium_ct4_global'), mapPinPath('cilium_snat_v4_external'), '1000', String(ctMax)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/bpfpkg ${op} failed: ${r.stderr}`);
  return json(r.stdout);
}

function ts(op: string, root: string, n: number): Json {
  const r = spawnSync(process.execPath, ['--max-old-space-size=4096', tsrun, op, root, String(n)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsrun ${op} failed: ${r.stderr}`);
  return json(r.stdout);
}

function mapSpecs(ctMax: number, natMax: number): MapSpec[] {
  return [
    { name: 'cilium_ct4_global', type: MapType.LRUHash, keySize: 14, valueSize: 56, maxEntries: ctMax },
    { name: 'cilium_ct_any4_global', type: MapType.LRUHash, keySize: 14, valueSize: 56, maxEntries: 262144 },
    { name: 'cilium_snat_v4_external', type: MapType.LRUHash, keySize: 14, valueSize: 40, maxEntries: natMax },
  ];
}

/** Fresh, empty maps: unpinned and recreated, so every run starts alike. */
function reset(ctMax = CT_MAX, natMax = NAT_MAX): void {
  for (const spec of mapSpecs(ctMax, natMax)) {
    unpinPath(mapPinPath(spec.name));
    const m = BpfMap.openOrCreate(spec, mapPinPath(spec.name)).map;
    m.close();
  }
}

function countOf(name: string): number {
  const m = BpfMap.openPinned(mapPinPath(name));
  try {
    return m.count();
  } finally {
    m.close();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function agree(what: string, a: unknown, b: unknown): void {
  if (a !== b) failures.push(`${what}: ${String(a)} ≠ ${String(b)}`);
}

interface Row {
  what: string; n: number; ctmap: number; c: number | undefined; unit: string; ratio: number | undefined; target: string; met: boolean | undefined;
  rssMB: number | undefined; bpfpkg?: number; bpfpkgRatio?: number;
}
const rows: Row[] = [];
const notes: string[] = [];
/** Scale section: ns per entry by job and side, for the chart. */
const scale: { job: string; side: string; n: number; nsPerEntry: number }[] = [];
const perEntry: { n: number; iterateNs: number; dumpNs: number }[] = [];

function row(what: string, n: number, tsVals: number[], cVals: number[] | undefined, unit: string, limit: number | undefined, target: string, rss: number[] = [],
  met?: (ctmap: number, ref: number) => boolean): void {
  const t = median(tsVals);
  const cm = cVals === undefined ? undefined : median(cVals);
  const ratio = cm === undefined ? undefined : t / cm;
  const ok = met !== undefined && cm !== undefined ? met(t, cm) : limit === undefined || ratio === undefined ? undefined : ratio <= limit;
  rows.push({ what, n, ctmap: t, c: cm, unit, ratio, target, met: ok, rssMB: rss.length > 0 ? Math.max(...rss) : undefined });
}

/** Wall time of a whole process, in ms. */
function wall(cmd: string, args: readonly string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const t = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) failures.push(`${cmd} ${args.join(' ')} failed: ${r.stderr.toString()}`);
  return t;
}

/**
 * Start-up, whole process, the runs interleaved so a noisy machine hurts both sides alike: `ctmap --version`
 * against `node -e 0` (and bpftool's own start-up for scale), and `ctmap ct count` of n entries against the
 * C program counting the same map.
 */
function startup(root: string, n: number): void {
  const runs = Math.max(RUNS, 11);
  const v = { ts: [] as number[], node: [] as number[], bpftool: [] as number[], help: [] as number[] };
  for (let r = 0; r < runs; r++) {
    v.node.push(wall(process.execPath, ['-e', '0']));
    v.ts.push(wall(process.execPath, [cli, '--version']));
    v.help.push(wall(process.execPath, [cli, 'ct', 'list', '--help']));
    v.bpftool.push(wall('bpftool', ['version']));
  }
  row('start-up: `ctmap --version` vs `node -e 0`', 1, v.ts, v.node, 'ms', undefined, '≤ node + 30 ms', [], (a, b) => a - b <= 30);
  row('start-up: `ctmap ct list --help` vs `node -e 0`', 1, v.help, v.node, 'ms', undefined, '—');
  row('start-up: `ctmap --version` vs `bpftool version`', 1, v.ts, v.bpftool, 'ms', undefined, '—');
  reset();
  c('fill', n);
  const cnt = { ts: [] as number[], c: [] as number[] };
  for (let r = 0; r < runs; r++) {
    cnt.c.push(wall(cbench, ['count', mapPinPath('cilium_ct4_global'), mapPinPath('cilium_snat_v4_external'), '0', String(CT_MAX)]));
    cnt.ts.push(wall(process.execPath, [cli, '--bpffs', root, '--ipv4', 'ct', 'count']));
  }
  row('`ctmap ct count` whole process vs the C count program', n, cnt.ts, cnt.c, 'ms', 1.15, '≤ 1.15× C');
}

function ms(ns: number | string | boolean | undefined): number {
  return Number(ns) / 1e6;
}

function bench(root: string, n: number): void {
  // Even entries are expired: ceil(n / 2) of them.
  const expired = Math.ceil(n / 2);
  // Fill (update batch).
  const fillTs: number[] = [];
  const fillC: number[] = [];
  const fillRss: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    reset();
    fillC.push(ms(c('fill', n).ns));
    agree(`C fill ${n}: CT entries`, countOf('cilium_ct4_global'), n);
    reset();
    const t = ts('fill', root, n);
    fillTs.push(ms(t.ns));
    fillRss.push(Number(t.maxRssMB));
    agree(`ctmap fill ${n}: CT entries`, countOf('cilium_ct4_global'), n);
    agree(`ctmap fill ${n}: NAT entries`, countOf('cilium_snat_v4_external'), 2 * n);
  }
  row('fill (update batch, CT + NAT pairs)', n, fillTs, fillC, 'ms', 1.2, '≤ 1.2× C', fillRss);
  // Count and full dump, on one filled map.
  reset();
  c('fill', n);
  const cnt = { ts: [] as number[], c: [] as number[], rss: [] as number[] };
  const dmp = { ts: [] as number[], c: [] as number[], rss: [] as number[] };
  const dmpA = { ts: [] as number[], rss: [] as number[] };
  for (let r = 0; r < RUNS; r++) {
    const a = c('count', n);
    const b = ts('count', root, n);
    agree(`count ${n}`, a.entries, b.entries);
    cnt.c.push(ms(a.ns));
    cnt.ts.push(ms(b.ns));
    cnt.rss.push(Number(b.maxRssMB));
    const d = c('dump', n);
    const e = ts('dump', root, n);
    agree(`dump ${n}`, d.entries, e.entries);
    dmp.c.push(ms(d.ns));
    dmp.ts.push(ms(e.ns));
    dmp.rss.push(Number(e.maxRssMB));
    const f = ts('dump-async', root, n);
    agree(`dump-async ${n}`, d.entries, f.entries);
    agree(`dump-async ${n}: lifetimes`, e.sum, f.sum);
    dmpA.ts.push(ms(f.ns));
    dmpA.rss.push(Number(f.maxRssMB));
  }
  row('count()', n, cnt.ts, cnt.c, 'ms', 1.05, '≤ 1.05× C', cnt.rss);
  if (n === 1000000) thirdColumn('count', n, cnt.c);
  row('full dump to records (batches())', n, dmp.ts, dmp.c, 'ms', undefined, '—', dmp.rss);
  row('full dump to records, pipelined (batchesAsync())', n, dmpA.ts, dmp.c, 'ms', 1.25, '≤ 1.25× C', dmpA.rss);
  // for…of over the map (the JavaScript way in) against the batch dump to records.
  const itr = { ts: [] as number[], rss: [] as number[] };
  for (let r = 0; r < RUNS; r++) {
    const e = ts('iterate', root, n);
    agree(`iterate ${n}`, e.entries, n);
    itr.ts.push(ms(e.ns));
    itr.rss.push(Number(e.maxRssMB));
  }
  row('for…of over the map vs the batch dump to records (ctmap)', n, itr.ts, dmp.ts, 'ms', undefined, '—', itr.rss);
  const itrA = { ts: [] as number[], rss: [] as number[] };
  for (let r = 0; r < RUNS; r++) {
    const e = ts('iterate-async', root, n);
    agree(`iterate-async ${n}`, e.entries, n);
    itrA.ts.push(ms(e.ns));
    itrA.rss.push(Number(e.maxRssMB));
  }
  row('for await…of over the map (pipelined) vs C full dump', n, itrA.ts, dmp.c, 'ms', undefined, '—', itrA.rss);
  perEntry.push({ n, iterateNs: (median(itr.ts) * 1e6) / n, dumpNs: (median(dmp.ts) * 1e6) / n });
  // GC passes with the NAT follow-up; every variant must delete the same entries.
  const variants: [string, 'c' | 'ts', string][] = [
    ['gc-cilium', 'c', 'C, Cilium algorithm (delete + NAT lookup + 2 deletes per entry)'],
    ['gc-batched', 'c', 'C, batched (batch delete, batched NAT work)'],
    ['gc-safe', 'c', 'C, re-read + delete per entry'],
    ['gc-safe', 'ts', 'ctmap safe mode'],
    ['gc-safe1', 'ts', 'ctmap safe mode, safeWindow 1'],
    ['gc-window', 'ts', 'ctmap safe mode, the re-read → delete gap timed'],
    ['gc-fast', 'ts', 'ctmap fast mode'],
    ['gc-async', 'ts', 'ctmap safe mode through gcAsync'],
  ];
  const gcTimes = new Map<string, number[]>();
  const gcRss = new Map<string, number[]>();
  for (const [op, side] of variants) {
    const key = `${side}:${op}`;
    for (let r = 0; r < RUNS; r++) {
      reset();
      c('fill', n);
      const res = side === 'c' ? c(op, 1000) : ts(op, root, n);
      agree(`${key} ${n}: deleted`, res.deleted, expired);
      agree(`${key} ${n}: NAT entries deleted`, res.natDeleted, 2 * Number(res.deleted));
      agree(`${key} ${n}: CT entries left`, countOf('cilium_ct4_global'), n - Number(res.deleted));
      agree(`${key} ${n}: NAT entries left`, countOf('cilium_snat_v4_external'), 2 * (n - Number(res.deleted)));
      gcTimes.set(key, [...(gcTimes.get(key) ?? []), ms(res.ns)]);
      if (res.maxRssMB !== undefined) gcRss.set(key, [...(gcRss.get(key) ?? []), Number(res.maxRssMB)]);
      if (res.maxGapMs !== undefined) gcTimes.set(`${key}:gap`, [...(gcTimes.get(`${key}:gap`) ?? []), Number(res.maxGapMs)]);
      for (const q of ['gapMedianUs', 'gapP99Us', 'gapMaxUs']) if (res[q] !== undefined) gcTimes.set(`${key}:${q}`, [...(gcTimes.get(`${key}:${q}`) ?? []), Number(res[q])]);
    }
  }
  const g = (k: string): number[] => gcTimes.get(k) ?? [];
  row('GC + NAT: C Cilium algorithm', n, g('c:gc-cilium'), undefined, 'ms', undefined, 'reference');
  row('GC + NAT: C batched', n, g('c:gc-batched'), undefined, 'ms', undefined, 'reference');
  row('GC + NAT: ctmap fast vs C batched', n, g('ts:gc-fast'), g('c:gc-batched'), 'ms', 1.1, '≤ 1.10× C batched', gcRss.get('ts:gc-fast'));
  if (n === 1000000) thirdColumn('gc', n, g('c:gc-batched'));
  row('GC + NAT: ctmap safe vs C re-read + delete', n, g('ts:gc-safe'), g('c:gc-safe'), 'ms', 1.15, '≤ 1.15× C', gcRss.get('ts:gc-safe'));
  row('GC + NAT: ctmap safe, safeWindow 1, vs C re-read + delete', n, g('ts:gc-safe1'), g('c:gc-safe'), 'ms', undefined, '—', gcRss.get('ts:gc-safe1'));
  row('safe mode: re-read → delete gap, window 16 (median)', n, g('ts:gc-window:gapMedianUs'), undefined, 'µs', undefined, '—');
  row('safe mode: re-read → delete gap, window 16 (p99)', n, g('ts:gc-window:gapP99Us'), undefined, 'µs', undefined, '—');
  row('safe mode: re-read → delete gap, window 16 (max)', n, g('ts:gc-window:gapMaxUs'), undefined, 'µs', undefined, '—');
  row('GC + NAT: ctmap fast vs C Cilium algorithm', n, g('ts:gc-fast'), g('c:gc-cilium'), 'ms', undefined, '—');
  row('GC + NAT: ctmap gcAsync vs gc (safe)', n, g('ts:gc-async'), g('ts:gc-safe'), 'ms', undefined, '—', gcRss.get('ts:gc-async'));
  row('gcAsync: longest wait of a 1 ms timer during the pass', n, g('ts:gc-async:gap'), undefined, 'ms', undefined, '≤ 50 ms');
  // Orphan purge: a third of the CT entries evicted behind the NAT map's back.
  const pur = { ts: [] as number[], c: [] as number[], rss: [] as number[] };
  for (let r = 0; r < RUNS; r++) {
    for (const side of ['c', 'ts'] as const) {
      reset();
      c('fill', n);
      const ev = c('evict', n);
      const res = side === 'c' ? c('purge', n) : ts('purge', root, n);
      agree(`purge ${side} ${n}: deleted`, res.deleted, 2 * Number(ev.evicted));
      agree(`purge ${side} ${n}: NAT left`, countOf('cilium_snat_v4_external'), 2 * (n - Number(ev.evicted)));
      (side === 'c' ? pur.c : pur.ts).push(ms(res.ns));
      if (side === 'ts') pur.rss.push(Number(res.maxRssMB));
    }
  }
  row('orphan NAT purge (C: one CT lookup per NAT entry)', n, pur.ts, pur.c, 'ms', undefined, '—', pur.rss);
}

/**
 * The npm `bpf` package's figure for the row just added (count, or GC the batched way), checked to have done
 * the same work; if it cannot run here, a note says why.
 */
function thirdColumn(op: 'count' | 'gc', n: number, cVals: number[]): void {
  const last = rows.at(-1) as Row;
  const problem = bpfpkgProblem();
  if (problem !== undefined) {
    if (!notes.includes(problem)) notes.push(problem);
    return;
  }
  const vals: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    if (op === 'gc') {
      reset();
      c('fill', n);
    }
    const res = bpfpkg(op);
    if (op === 'count') agree(`npm bpf count ${n}`, res.entries, n);
    else {
      agree(`npm bpf gc ${n}: deleted`, res.deleted, Math.ceil(n / 2));
      agree(`npm bpf gc ${n}: NAT entries deleted`, res.natDeleted, 2 * Number(res.deleted));
      agree(`npm bpf gc ${n}: CT entries left`, countOf('cilium_ct4_global'), n - Number(res.deleted));
    }
    vals.push(ms(res.ns));
  }
  last.bpfpkg = median(vals);
  last.bpfpkgRatio = last.bpfpkg / median(cVals);
}

/** Peak RSS (MB) and wall time (ms) of a shell command, through /usr/bin/time. */
function timedShell(cmd: string): { ms: number; rssMB: number | undefined } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', 'sh', '-c', cmd], { encoding: 'utf8' });
  const t = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) failures.push(`${cmd} failed: ${r.stderr}`);
  const kb = Number(r.stderr.trim().split('\n').at(-1));
  return { ms: t, rssMB: Number.isFinite(kb) ? Math.round(kb / 1024) : undefined };
}

/**
 * Scale: one run of each job per size on the largest CT map Cilium accepts. The maps are created once (if the
 * kernel refuses that size, the bench says why and uses the largest it can) and refilled after each job that
 * changes them; sizes ascend, so a fill only adds to what the previous size left.
 */
function scaleRows(root: string): void {
  let ctMax = SCALE_CT_MAX;
  for (;;) {
    try {
      const t0 = Date.now();
      // The NAT map holds every flow's SNAT pair.
      reset(ctMax, 2 * ctMax);
      process.stdout.write(`scale: maps of ${ctMax.toLocaleString('en-US')} CT and ${(2 * ctMax).toLocaleString('en-US')} NAT entries created in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
      break;
    } catch (err) {
      const why = `cannot create a CT map of ${ctMax.toLocaleString('en-US')} entries with its NAT map here: ${err instanceof Error ? err.message : String(err)}`;
      notes.push(why);
      process.stdout.write(`scale: ${why}\n`);
      if (ctMax <= CT_MAX) return;
      ctMax /= 2;
    }
  }
  const sizes = scaleSizes.filter((n) => {
    if (n <= ctMax * 0.96) return true;
    notes.push(`scale: ${n.toLocaleString('en-US')} entries skipped: the largest CT map created here holds ${ctMax.toLocaleString('en-US')}`);
    return false;
  });
  const expect = (what: string, n: number, res: Json, deleted: number, ctLeft: number, natLeft: number): void => {
    agree(`scale ${what} ${n}: deleted`, res.deleted, deleted);
    agree(`scale ${what} ${n}: CT entries left`, countOf('cilium_ct4_global'), ctLeft);
    agree(`scale ${what} ${n}: NAT entries left`, countOf('cilium_snat_v4_external'), natLeft);
  };
  const point = (job: string, n: number, ctmapMs: number, refMs: number, ref: string, rss: number | undefined): void => {
    scale.push({ job, side: 'ctmap', n, nsPerEntry: (ctmapMs * 1e6) / n }, { job, side: ref, n, nsPerEntry: (refMs * 1e6) / n });
    rows.push({ what: `scale: ${job}`, n, ctmap: ctmapMs, c: refMs, unit: 'ms', ratio: ctmapMs / refMs, target: `vs ${ref}`, met: undefined, rssMB: rss });
  };
  for (const n of sizes) {
    const fill = (): void => { c('fill', n, ctMax); };
    fill();
    agree(`scale fill ${n}`, countOf('cilium_ct4_global'), n);
    // count
    const cc = c('count', n, ctMax);
    const tc = ts('count', root, n);
    agree(`scale count ${n}`, tc.entries, cc.entries);
    point('count', n, ms(tc.ns), ms(cc.ns), 'C', Number(tc.maxRssMB));
    // ct list against bpftool, both to /dev/null
    const list = timedShell(`${process.execPath} ${cli} --bpffs ${root} --ipv4 ct list > /dev/null`);
    const bt = timedShell(`bpftool map dump pinned ${mapPinPath('cilium_ct4_global')} > /dev/null`);
    point('ct list (vs bpftool)', n, list.ms, bt.ms, 'bpftool', list.rssMB);
    // GC fast against C batched, GC safe against C re-read + delete
    const expired = Math.ceil(n / 2);
    for (const [job, tsOp, cOp] of [['GC + NAT fast', 'gc-fast', 'gc-batched'], ['GC + NAT safe', 'gc-safe', 'gc-safe']] as const) {
      const t = ts(tsOp, root, n);
      expect(`ctmap ${tsOp}`, n, t, expired, n - expired, 2 * (n - expired));
      fill();
      const r = c(cOp, 1000, ctMax);
      expect(`C ${cOp}`, n, r, expired, n - expired, 2 * (n - expired));
      fill();
      point(job, n, ms(t.ns), ms(r.ns), 'C', Number(t.maxRssMB));
    }
    // orphan purge: every third flow's CT entry evicted first
    const ev = Number(c('evict', n, ctMax).evicted);
    const tp = ts('purge', root, n);
    expect('ctmap purge', n, tp, 2 * ev, n - ev, 2 * (n - ev));
    fill();
    c('evict', n, ctMax);
    const cp = c('purge', n, ctMax);
    expect('C purge', n, cp, 2 * ev, n - ev, 2 * (n - ev));
    fill();
    point('orphan purge', n, ms(tp.ns), ms(cp.ns), 'C', Number(tp.maxRssMB));
    process.stdout.write(`scale: ${n.toLocaleString('en-US')} entries done\n`);
  }
}

function listVsBpftool(root: string, n: number): void {
  reset();
  c('fill', n);
  const tsT: number[] = [];
  const bt: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let t0 = process.hrtime.bigint();
    const a = spawnSync('sh', ['-c', `${process.execPath} ${cli} --bpffs ${root} --ipv4 ct list > /dev/null`]);
    tsT.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (a.status !== 0) failures.push(`ctmap ct list failed: ${a.stderr.toString()}`);
    t0 = process.hrtime.bigint();
    const b = spawnSync('sh', ['-c', `bpftool map dump pinned ${mapPinPath('cilium_ct4_global')} > /dev/null`]);
    bt.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (b.status !== 0) failures.push(`bpftool map dump failed: ${b.stderr.toString()}`);
  }
  row('`ctmap ct list` > /dev/null vs `bpftool map dump`', n, tsT, bt, 'ms', 0.2, '≤ 0.2× bpftool');
}

function singleOps(root: string): void {
  reset();
  c('fill', 1000);
  const iters = 200000;
  const l = { ts: [] as number[], c: [] as number[] };
  const u = { ts: [] as number[], c: [] as number[] };
  for (let r = 0; r < RUNS; r++) {
    const a = c('ops', iters);
    const b = ts('ops', root, iters);
    l.c.push(Number(a.lookupNs));
    u.c.push(Number(a.updateNs));
    l.ts.push(Number(b.lookupNs));
    u.ts.push(Number(b.updateNs));
  }
  row('one lookup through the FFI', 1, l.ts, l.c, 'ns', 1.3, '≤ 1.3× C');
  row('one update through the FFI', 1, u.ts, u.c, 'ns', 1.3, '≤ 1.3× C');
}

function fmt(x: number | undefined, unit: string): string {
  if (x === undefined) return '—';
  if (unit === 'µs') return `${x.toFixed(1)} µs`;
  return unit === 'ns' ? `${x.toFixed(0)} ns` : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`;
}

function main(): void {
  if (process.getuid?.() !== 0) throw new Error('make bench needs root (real BPF maps in a private bpffs)');
  const root = mkdtempSync(join(tmpdir(), 'ctmap-bench-'));
  mountBpffs(root);
  setMapRoot(root);
  const started = Date.now();
  try {
    if (wanted('single')) singleOps(root);
    if (wanted('sizes')) for (const n of sizes) bench(root, n);
    if (wanted('list')) listVsBpftool(root, sizes.at(-1) ?? 1000000);
    if (wanted('startup')) startup(root, sizes.at(-1) ?? 1000000);
    if (wanted('scale')) scaleRows(root);
  } finally {
    unmountBpffs(root);
    rmSync(root, { recursive: true, force: true });
  }
  const lines = [
    `| what | entries | ctmap | C / reference | ratio | npm \`bpf\` (ratio) | target | met | peak RSS |`,
    `|---|---|---|---|---|---|---|---|---|`,
    ...rows.map((r) => `| ${r.what} | ${r.n === 1 ? '—' : r.n.toLocaleString('en-US')} | ${fmt(r.ctmap, r.unit)} | ${fmt(r.c, r.unit)} | ${r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}×`} | `
      + `${r.bpfpkg === undefined ? '—' : `${fmt(r.bpfpkg, r.unit)} (${(r.bpfpkgRatio ?? 0).toFixed(2)}×)`} | ${r.target} | ${r.met === undefined ? '—' : r.met ? 'yes' : 'no'} | ${r.rssMB === undefined ? '—' : `${r.rssMB} MB`} |`),
  ];
  const panels: Panel[] = [...new Set(scale.map((p) => p.job))].map((job) => ({
    title: job,
    series: [...new Set(scale.filter((p) => p.job === job).map((p) => p.side))].map((side) => ({
      label: side, points: scale.filter((p) => p.job === job && p.side === side).map((p) => [p.n, p.nsPerEntry] as const),
    })),
  }));
  process.stdout.write(`${lines.join('\n')}\n\nmedian of ${RUNS} runs (scale rows: one run each); ${Math.round((Date.now() - started) / 1000)} s in all\n`);
  for (const note of notes) process.stdout.write(`note: ${note}\n`);
  mkdirSync(join(repo, 'bench', 'results'), { recursive: true });
  if (panels.length > 0) {
    process.stdout.write(`\n${textChart(panels)}`);
    writeFileSync(join(repo, 'bench', 'results', 'scale.svg'), svgChart(panels, `ns per entry against map size (${new Date().toISOString().slice(0, 10)})`));
  }
  for (const p of perEntry) process.stdout.write(`for…of over ${p.n.toLocaleString('en-US')} entries: ${p.iterateNs.toFixed(0)} ns/entry; batch dump to records: ${p.dumpNs.toFixed(0)} ns/entry\n`);
  writeFileSync(join(repo, 'bench', 'results', ONLY.length === 0 ? 'bench.json' : `bench-${ONLY.join('-')}.json`), `${JSON.stringify({ date: new Date().toISOString(), runs: RUNS, sizes, scaleSizes, rows, perEntry, scale, notes, failures }, null, 2)}\n`);
  if (failures.length > 0) {
    process.stderr.write(`results disagree:\n${failures.join('\n')}\n`);
    process.exitCode = 1;
  }
}

main();
