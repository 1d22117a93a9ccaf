/**
 * The TypeScript side of `make bench`: one job per process (so its peak RSS
 * is its own), through ctmap's public API, printing one JSON line like
 * cbench does. Run by bench/suite.ts.
 *
 *   node build/js/bench/tsrun.js OP ROOT N
 */
import { openNode, silentLogger, CtEntry, CtKey4Global, CtMapRecord } from '../src/index.js';
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
      for (let i = 0; i < b.count; i++) {
        const rec = new CtMapRecord(new CtKey4Global(b.keys.slice(i * KEY, (i + 1) * KEY)), new CtEntry(b.values.slice(i * CTV, (i + 1) * CTV)));
        sum += rec.value.lifetime;
        entries++;
      }
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
  case 'gc-fast': {
    nat4();
    const start = process.hrtime.bigint();
    const s = ct.gc({ time: GC_TIME, mode: op === 'gc-safe' ? 'safe' : 'fast' });
    result = { op, ns: Number(process.hrtime.bigint() - start), deleted: s.deleted, alive: s.aliveEntries, natDeleted: s.natDeleted, skipped: s.skipped };
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
