/**
 * The TypeScript side of `make bench`: one job per process (so its peak RSS
 * is its own), through ctmap's public API, printing one JSON line like
 * cbench does. Run by bench/suite.ts.
 *
 *   node build/js/bench/tsrun.js OP ROOT N
 */
import { openNode, silentLogger, CtEntry, CtKey4Global, CtMapRecord } from '../src/index.js';
import { BpfCmd, Kernel, defaultKernel, type Batch } from '../src/syscall/index.js';
import { KEY, CTV, NATV, GC_TIME, makeEntry } from './node.js';

const [op = '', root = '', nArg = '0'] = process.argv.slice(2);
const n = Number(nArg);
// The node handle over the maps the suite created (their sizes are read from the pins).
const node = openNode({ bpffs: root, ipv4: true, ipv6: false, logger: silentLogger });
const ct = node.ct.tcp4;
const any = node.ct.any4;
ct.open();
any.open();

function nat4(): typeof node.nat.v4 {
  node.nat.v4.open();
  return node.nat.v4;
}

/** Every entry of a batch decoded into a CtMapRecord (fresh key and value objects, as a caller keeping them gets). */
function toRecords(b: Batch): number {
  let sum = 0;
  for (let i = 0; i < b.count; i++) {
    const rec = new CtMapRecord(new CtKey4Global(b.keys.slice(i * KEY, (i + 1) * KEY)), new CtEntry(b.values.slice(i * CTV, (i + 1) * CTV)));
    sum += rec.value.lifetime;
  }
  return sum;
}

let result: Record<string, unknown>;
// The clock starts after the maps are open (and koffi has loaded the shim), as cbench's does.
const t0 = process.hrtime.bigint();
const elapsed = (): number => Number(process.hrtime.bigint() - t0);

switch (op) {
  case 'fill': {
    const nat = nat4();
    const step = 65536;
    const ck = new Uint8Array(KEY * step);
    const cv = new Uint8Array(CTV * step);
    const nk = new Uint8Array(KEY * 2 * step);
    const nv = new Uint8Array(NATV * 2 * step);
    const start = process.hrtime.bigint();
    for (let base = 0; base < n; base += step) {
      const m = Math.min(step, n - base);
      for (let j = 0; j < m; j++) makeEntry(base + j, ck, j * KEY, cv, j * CTV, nk, 2 * j * KEY, nv, 2 * j * NATV);
      ct.bpfMap.updateBatch(ck, cv, m);
      nat.bpfMap.updateBatch(nk, nv, 2 * m);
    }
    result = { op, ns: Number(process.hrtime.bigint() - start), entries: n };
    break;
  }
  case 'count':
    result = { op, entries: ct.count(), ns: elapsed() };
    break;
  case 'dump': {
    // Full dump to records: every entry decoded into a CtMapRecord (key and value objects), then dropped.
    let entries = 0;
    let sum = 0;
    for (const b of ct.batches()) {
      sum += toRecords(b);
      entries += b.count;
    }
    result = { op, entries, ns: elapsed(), sum };
    break;
  }
  case 'dump-async': {
    // The same records from the pipelined walk: the kernel fills the next batch on a worker thread meanwhile.
    let entries = 0;
    let sum = 0;
    for await (const b of ct.bpfMap.batchesAsync()) {
      sum += toRecords(b);
      entries += b.count;
    }
    result = { op, entries, ns: elapsed(), sum };
    break;
  }
  case 'iterate-async': {
    // `for await (const { key, entry } of map)`: the pipelined walk, one record at a time.
    let entries = 0;
    let sum = 0;
    for await (const { key, entry } of ct) {
      sum += entry.lifetime + key.nextHeader;
      entries++;
    }
    result = { op, entries, ns: elapsed(), sum };
    break;
  }
  case 'iterate': {
    // The JavaScript way in: `for (const { key, entry } of map)`, every record its own key and entry objects.
    let entries = 0;
    let sum = 0;
    for (const { key, entry } of ct) {
      sum += entry.lifetime + key.nextHeader;
      entries++;
    }
    result = { op, entries, ns: elapsed(), sum };
    break;
  }
  case 'gc-safe':
  case 'gc-safe1':
  case 'gc-fast': {
    nat4();
    const start = process.hrtime.bigint();
    // gc-safe1: safeWindow 1, each entry re-read and deleted on its own (a gap of one syscall).
    const s = ct.gc({ time: GC_TIME, mode: op === 'gc-fast' ? 'fast' : 'safe', ...(op === 'gc-safe1' ? { safeWindow: 1 } : {}) });
    result = { op, ns: Number(process.hrtime.bigint() - start), deleted: s.deleted, alive: s.aliveEntries, natDeleted: s.natDeleted, skipped: s.skipped };
    break;
  }
  case 'gc-window': {
    // How long safe mode's gap between an entry's re-read and its delete is with the default window: the kernel's
    // vector entry point timed, and each re-read crossing (LOOKUP_ELEM on the CT map) paired with the delete
    // crossing that follows it. The gap of any entry in the window is at most that span.
    const real = defaultKernel().backend;
    if (real.callVec === undefined) throw new Error('gc-window: the shim has no vector entry point');
    const callVec = real.callVec.bind(real);
    const spans: number[] = [];
    let lookupStart: bigint | undefined;
    const timed = new Kernel({
      ...real,
      callVec: (calls, n, stop) => {
        const cmd = new DataView(calls.buffer, calls.byteOffset).getInt32(0, true);
        const t = process.hrtime.bigint();
        const r = callVec(calls, n, stop);
        if (cmd === BpfCmd.BPF_MAP_LOOKUP_ELEM) lookupStart = t;
        else if (cmd === BpfCmd.BPF_MAP_DELETE_ELEM && lookupStart !== undefined) {
          spans.push(Number(process.hrtime.bigint() - lookupStart));
          lookupStart = undefined;
        }
        return r;
      },
    });
    const tn = openNode({ bpffs: root, ipv4: true, ipv6: false, logger: silentLogger, kernel: timed });
    tn.nat.v4.open();
    const start = process.hrtime.bigint();
    const s = tn.ct.tcp4.gc({ time: GC_TIME, mode: 'safe' });
    const ns = Number(process.hrtime.bigint() - start);
    spans.sort((a, b) => a - b);
    const pick = (q: number): number => spans[Math.min(spans.length - 1, Math.floor(q * spans.length))] ?? 0;
    result = { op, ns, deleted: s.deleted, alive: s.aliveEntries, natDeleted: s.natDeleted, windows: spans.length,
      gapMedianUs: pick(0.5) / 1000, gapP99Us: pick(0.99) / 1000, gapMaxUs: (spans.at(-1) ?? 0) / 1000 };
    tn.close();
    break;
  }
  case 'gc-async': {
    // The safe pass through gcAsync, with a 1 ms timer recording the longest wait it had.
    nat4();
    let last = performance.now();
    let worst = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
    }, 1);
    const start = process.hrtime.bigint();
    last = performance.now();
    const s = await ct.gcAsync({ time: GC_TIME, mode: 'safe' });
    const ns = Number(process.hrtime.bigint() - start);
    clearInterval(timer);
    worst = Math.max(worst, performance.now() - last);
    result = { op, ns, deleted: s.deleted, alive: s.aliveEntries, natDeleted: s.natDeleted, skipped: s.skipped, maxGapMs: worst };
    break;
  }
  case 'purge': {
    nat4();
    const start = process.hrtime.bigint();
    const s = node.purgeOrphans({ clusters: false })[0];
    result = { op, ns: Number(process.hrtime.bigint() - start), alive: (s?.egressAlive ?? 0) + (s?.ingressAlive ?? 0),
      deleted: (s?.egressDeleted ?? 0) + (s?.ingressDeleted ?? 0), snapshot: s?.snapshot, ctLookups: s?.ctLookups };
    break;
  }
  case 'ops': {
    const ck = new Uint8Array(KEY);
    const cv = new Uint8Array(CTV);
    makeEntry(1, ck, 0, cv, 0, new Uint8Array(2 * KEY), 0, new Uint8Array(2 * NATV), 0);
    const m = ct.bpfMap;
    const out = new Uint8Array(CTV);
    for (let i = 0; i < 10000; i++) m.lookupInto(ck, out);
    const a = process.hrtime.bigint();
    for (let i = 0; i < n; i++) m.lookupInto(ck, out);
    const b = process.hrtime.bigint();
    for (let i = 0; i < n; i++) m.set(ck, cv);
    const c = process.hrtime.bigint();
    result = { op, lookupNs: Number(b - a) / n, updateNs: Number(c - b) / n };
    break;
  }
  default:
    throw new Error(`unknown op ${op}`);
}
result.maxRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
process.stdout.write(`${JSON.stringify(result)}\n`);
