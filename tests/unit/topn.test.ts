// Space-Saving (src/datapath/topn.ts): exact while the keys fit, and past that the guarantees the paper gives —
// every count an upper bound within its error, every key heavier than total/capacity held.
import t from 'tap';
import { SpaceSaving } from '../../src/datapath/topn.js';
import { rng } from '../helpers/rng.js';

t.test('exact while the distinct keys fit the counters', async (t) => {
  const s = new SpaceSaving<string>(8);
  for (const [k, n] of [['a', 5], ['b', 3], ['c', 9], ['d', 1]] as const) for (let i = 0; i < n; i++) s.add(k);
  s.add('b', 4);
  t.equal(s.exact, true);
  t.equal(s.total, 22);
  t.same(s.top(3), [{ key: 'c', count: 9, error: 0 }, { key: 'b', count: 7, error: 0 }, { key: 'a', count: 5, error: 0 }]);
  t.same(s.top(0), []);
  t.equal(s.top(100).length, 4);
  for (const bad of [0, -1, 1.5, NaN]) t.throws(() => new SpaceSaving(bad), /capacity must be a positive integer/);
});

t.test('past capacity: upper bounds within their error, heavy keys always held (skewed random streams)', async (t) => {
  const r = rng(77);
  for (let run = 0; run < 20; run++) {
    const capacity = 16 + r.int(48);
    const s = new SpaceSaving<number>(capacity);
    const truth = new Map<number, number>();
    const total = 5000 + r.int(5000);
    for (let i = 0; i < total; i++) {
      // A Zipf-like mix: a few heavy keys and a long tail of light ones.
      const k = r.int(2) === 0 ? r.int(4) : 100 + r.int(2000);
      truth.set(k, (truth.get(k) ?? 0) + 1);
      s.add(k);
    }
    t.equal(s.exact, false, 'more keys than counters');
    const held = new Map(s.top(capacity).map((x) => [x.key, x]));
    let ok = true;
    for (const [k, x] of held) {
      const real = truth.get(k) ?? 0;
      if (!(x.count >= real && x.count - x.error <= real)) ok = false;
    }
    t.ok(ok, `run ${run}: every count is ≥ the truth and count − error ≤ the truth`);
    const heavy = [...truth].filter(([, n]) => n > total / capacity).map(([k]) => k);
    t.ok(heavy.length > 0 && heavy.every((k) => held.has(k)), `run ${run}: the ${heavy.length} keys above total/capacity are held`);
    const sum = [...held.values()].reduce((a, x) => a + x.count, 0);
    t.equal(sum, total, 'the counters add up to the stream length (Space-Saving invariant)');
  }
});
