/**
 * `make bench`: ctmap against the kernel's limit (a C program doing the same
 * work with raw syscalls, bench/cbench.c) and against Cilium's algorithm,
 * in one run, on the same maps in a private bpffs. Every TypeScript job runs
 * in its own process so its peak RSS is measured. Timing is reported, never
 * asserted; the run fails only if a job fails or the two sides disagree on
 * what they did (entries counted, deleted, left).
 *
 *   BENCH_SIZES=100000,1000000 BENCH_RUNS=3 make bench
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mountBpffs, unmountBpffs, BpfMap, MapType, unpinPath } from '../src/syscall/index.js';
import { setMapRoot, mapPinPath } from '../src/compat/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..', '..');
const cbench = join(repo, 'build', 'cbench');
const tsrun = join(here, 'tsrun.js');
const cli = join(repo, 'dist', 'bin', 'ctmap.cjs');
const sizes = (process.env.BENCH_SIZES ?? '100000,1000000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
// BENCH_ONLY=startup (or single, sizes, list; comma-separated) runs those sections and writes bench-<only>.json.
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').filter((x) => x !== '');
for (const o of ONLY) if (!['single', 'sizes', 'list', 'startup'].includes(o)) throw new Error(`BENCH_ONLY: unknown section ${o} (single, sizes, list, startup)`);
const wanted = (section: string): boolean => ONLY.length === 0 || ONLY.includes(section);
const CT_MAX = 1048576;
const NAT_MAX = 2621440;

type Json = Record<string, number | boolean | string | undefined>;
const failures: string[] = [];

function json(out: string): Json {
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Json;
}

function c(op: string, arg: number): Json {
  return json(execFileSync(cbench, [op, mapPinPath('cilium_ct4_global'), mapPinPath('cilium_snat_v4_external'), String(arg), String(CT_MAX)], { encoding: 'utf8', maxBuffer: 1 << 20 }));
}

function ts(op: string, root: string, n: number): Json {
  const r = spawnSync(process.execPath, ['--max-old-space-size=4096', tsrun, op, root, String(n)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsrun ${op} failed: ${r.stderr}`);
  return json(r.stdout);
}

const maps = [
  { name: 'cilium_ct4_global', type: MapType.LRUHash, keySize: 14, valueSize: 56, maxEntries: CT_MAX },
  { name: 'cilium_ct_any4_global', type: MapType.LRUHash, keySize: 14, valueSize: 56, maxEntries: 262144 },
  { name: 'cilium_snat_v4_external', type: MapType.LRUHash, keySize: 14, valueSize: 40, maxEntries: NAT_MAX },
] as const;

/** Fresh, empty maps: unpinned and recreated, so every run starts alike. */
function reset(): void {
  for (const spec of maps) {
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

interface Row { what: string; n: number; ctmap: number; c: number | undefined; unit: string; ratio: number | undefined; target: string; met: boolean | undefined; rssMB: number | undefined }
const rows: Row[] = [];
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
  row('fill (update batch, CT + NAT pairs)', n, fillTs, fillC, 'ms', undefined, '—', fillRss);
  // Count and full dump, on one filled map.
  reset();
  c('fill', n);
  const cnt = { ts: [] as number[], c: [] as number[], rss: [] as number[] };
  const dmp = { ts: [] as number[], c: [] as number[], rss: [] as number[] };
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
  }
  row('count()', n, cnt.ts, cnt.c, 'ms', 1.15, '≤ 1.15× C', cnt.rss);
  row('full dump to records', n, dmp.ts, dmp.c, 'ms', undefined, '—', dmp.rss);
  // for…of over the map (the JavaScript way in) against the batch dump to records.
  const itr = { ts: [] as number[], rss: [] as number[] };
  for (let r = 0; r < RUNS; r++) {
    const e = ts('iterate', root, n);
    agree(`iterate ${n}`, e.entries, n);
    itr.ts.push(ms(e.ns));
    itr.rss.push(Number(e.maxRssMB));
  }
  row('for…of over the map vs the batch dump to records (ctmap)', n, itr.ts, dmp.ts, 'ms', undefined, '—', itr.rss);
  perEntry.push({ n, iterateNs: (median(itr.ts) * 1e6) / n, dumpNs: (median(dmp.ts) * 1e6) / n });
  // GC passes with the NAT follow-up; every variant must delete the same entries.
  const variants: [string, 'c' | 'ts', string][] = [
    ['gc-cilium', 'c', 'C, Cilium algorithm (delete + NAT lookup + 2 deletes per entry)'],
    ['gc-batched', 'c', 'C, batched (batch delete, batched NAT work)'],
    ['gc-safe', 'c', 'C, re-read + delete per entry'],
    ['gc-safe', 'ts', 'ctmap safe mode'],
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
    }
  }
  const g = (k: string): number[] => gcTimes.get(k) ?? [];
  row('GC + NAT: C Cilium algorithm', n, g('c:gc-cilium'), undefined, 'ms', undefined, 'reference');
  row('GC + NAT: C batched', n, g('c:gc-batched'), undefined, 'ms', undefined, 'reference');
  row('GC + NAT: ctmap fast vs C batched', n, g('ts:gc-fast'), g('c:gc-batched'), 'ms', 1.25, '≤ 1.25× C batched', gcRss.get('ts:gc-fast'));
  row('GC + NAT: ctmap safe vs C re-read + delete', n, g('ts:gc-safe'), g('c:gc-safe'), 'ms', 1.25, '≤ 1.25× C', gcRss.get('ts:gc-safe'));
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
  row('`ctmap ct list` > /dev/null vs `bpftool map dump`', n, tsT, bt, 'ms', 0.25, '≤ 0.25× bpftool');
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
  row('one lookup through the FFI', 1, l.ts, l.c, 'ns', 1.5, '≤ 1.5× C');
  row('one update through the FFI', 1, u.ts, u.c, 'ns', 1.5, '≤ 1.5× C');
}

function fmt(x: number | undefined, unit: string): string {
  if (x === undefined) return '—';
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
  } finally {
    unmountBpffs(root);
    rmSync(root, { recursive: true, force: true });
  }
  const lines = [
    `| what | entries | ctmap | C / reference | ratio | target | met | peak RSS |`,
    `|---|---|---|---|---|---|---|---|`,
    ...rows.map((r) => `| ${r.what} | ${r.n === 1 ? '—' : r.n.toLocaleString('en-US')} | ${fmt(r.ctmap, r.unit)} | ${fmt(r.c, r.unit)} | ${r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}×`} | ${r.target} | ${r.met === undefined ? '—' : r.met ? 'yes' : 'no'} | ${r.rssMB === undefined ? '—' : `${r.rssMB} MB`} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n\nmedian of ${RUNS} runs; ${Math.round((Date.now() - started) / 1000)} s in all\n`);
  mkdirSync(join(repo, 'bench', 'results'), { recursive: true });
  for (const p of perEntry) process.stdout.write(`for…of over ${p.n.toLocaleString('en-US')} entries: ${p.iterateNs.toFixed(0)} ns/entry; batch dump to records: ${p.dumpNs.toFixed(0)} ns/entry\n`);
  writeFileSync(join(repo, 'bench', 'results', ONLY.length === 0 ? 'bench.json' : `bench-${ONLY.join('-')}.json`), `${JSON.stringify({ date: new Date().toISOString(), runs: RUNS, sizes, rows, perEntry, failures }, null, 2)}\n`);
  if (failures.length > 0) {
    process.stderr.write(`results disagree:\n${failures.join('\n')}\n`);
    process.exitCode = 1;
  }
}

main();
