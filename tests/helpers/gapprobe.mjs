// In a fresh process (its own small heap, no test harness): fill a 1M-entry CT map, then run node.gcAsync and node.gc
// over the same kind of work with a 1 ms timer armed, counting the timer's ticks, the batches, and the batch
// boundaries the timer ticked at (the longest wait is reported too, never asserted: timing is for make bench).
// Prints one JSON line.
import { openNode } from '../../dist/index.js';
import { setU32 } from '../../dist/structs/bytes.js';

const [root] = process.argv.slice(2);
const node = openNode({ bpffs: root, ctSizes: { tcp: 1 << 20, any: 1024 }, ipv4: true, ipv6: false, create: true, logger: () => undefined });
const m = node.ct.tcp4;

function fill(n, lifetime) {
  const chunk = 8192;
  const keys = new Uint8Array(chunk * 14);
  const values = new Uint8Array(chunk * 56);
  for (let base = 0; base < n; base += chunk) {
    const c = Math.min(chunk, n - base);
    keys.fill(0);
    values.fill(0);
    for (let j = 0; j < c; j++) {
      const i = base + j;
      const k = j * 14;
      keys[k] = 10; keys[k + 1] = (i >> 16) & 255; keys[k + 2] = (i >> 8) & 255; keys[k + 3] = i & 255;
      keys[k + 4] = 192; keys[k + 5] = 168; keys[k + 7] = 1; keys[k + 9] = 80; keys[k + 10] = (i >> 8) & 255; keys[k + 11] = i & 255; keys[k + 12] = 6;
      setU32(values, j * 56 + 32, lifetime(i));
    }
    m.bpfMap.updateBatch(keys, values, c);
  }
}

async function timed(run) {
  let last = performance.now();
  let worst = 0;
  let ticks = 0;
  const timer = setInterval(() => { const now = performance.now(); worst = Math.max(worst, now - last); last = now; ticks++; }, 1);
  await new Promise((r) => setTimeout(r, 5));
  last = performance.now();
  ticks = 0;
  let batches = 0;
  let ticked = 0;
  let seen = 0;
  // After each batch: did the timer run since the previous batch ended?
  const onProgress = () => { batches++; if (ticks > seen) ticked++; seen = ticks; };
  const out = await run(onProgress);
  const during = ticks;
  worst = Math.max(worst, performance.now() - last);
  clearInterval(timer);
  return { worst, out, ticks: during, batches, ticked };
}

fill(1_000_000, (i) => (i % 2 === 0 ? 10 : 1_000_000));
const entries = m.count();
const a = await timed((onProgress) => node.gcAsync({ time: 100, mode: 'safe', clusters: false, onProgress }));
fill(500_000, () => 10);
const s = await timed(async (onProgress) => node.gc({ time: 100, mode: 'fast', clusters: false, onProgress }));
node.close();
process.stdout.write(`${JSON.stringify({
  entries, asyncDeleted: a.out.deleted, asyncGapMs: a.worst, asyncTicks: a.ticks, asyncBatches: a.batches, asyncTicked: a.ticked,
  syncDeleted: s.out.deleted, syncGapMs: s.worst, syncTicks: s.ticks, syncBatches: s.batches,
})}\n`);
