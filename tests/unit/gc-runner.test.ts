// GC runner pieces without the kernel: interval maths (§14.5), streams, signals, the scheduling loop (§14.4) on a fake clock.
import t from 'tap';
import { inspect } from 'node:util';
import { Registry } from 'prom-client';
import {
  calculateInterval, getInterval, GCIntervalStart, Observable, SignalQueue, SignalProtoV4, SignalProtoV6, GCRunner,
  NewFakeGCRunner, realWait, type WakeReason, type GCRunnerOptions,
} from '../../src/gc/index.js';
import { GCFilter, NetAddrSet, GCStats, type ConntrackMap } from '../../src/ctmap/index.js';
import type { GCEvent } from '../../src/ctmap/gcevent.js';
import type { LogLevel } from '../../src/datapath/log.js';
import { BpfError, Errno } from '../../src/syscall/index.js';
import { caught } from '../helpers/priv.js';

const msg = (e: unknown): string => (e instanceof Error ? e.message : `not an error: ${String(e)}`);
const s = 1000;
const min = 60 * s;

t.test('calculateInterval: the spec table', async (t) => {
  const cases: [number, number, number, string][] = [
    [min, 0, min, 'no deletions: unchanged'],
    [min, 0.1, min, '5%…25%: unchanged'],
    [min, 0.25, min, '25% exactly: unchanged'],
    [min, 0.4, 36 * s, '> 25%: prev × (1 − ratio)'],
    [min, 0.6, 24 * s, ''],
    [min, 0.9, 10 * s, 'never below 10 s'],
    [min, 0.95, 10 * s, 'ratio clamped to 0.9'],
    [100001, 0.3, 70 * s, 'rounded to the second (70.0007 s)'],
    [3333, 0.3, 10 * s, 'rounded, then the 10 s floor'],
    [10 * s, 0.01, 15 * s, '< 5%: × 1.5'],
    [min, 0.01, 90 * s, ''],
    [1000, 0.01, 2 * s, '1.5 s rounds half up to 2 s'],
    [1001, 0.04, 2 * s, '1.5015 s rounds to 2 s'],
    [12 * 60 * min, 0.01, 12 * 60 * min, 'capped at 12 h'],
    [40000 * s, 0.04, 12 * 60 * min, '60000 s capped at 12 h'],
  ];
  for (const [prev, ratio, want, why] of cases) t.equal(calculateInterval(prev, ratio), want, `calculateInterval(${prev} ms, ${ratio}) = ${want} ms ${why}`);
});

t.test('getInterval: fixed override, start value, early-pass scaling, max cap, the gauge', async (t) => {
  const reg = new Registry();
  t.equal(getInterval(0, 0, 0), GCIntervalStart, 'nothing known: 5 min');
  t.equal(GCIntervalStart, 5 * min);
  t.equal(getInterval(0, 0, 0.5), 150 * s, 'the start value adapts too');
  t.equal(getInterval(123, 456, 0.9, 7 * s), 7 * s, 'a fixed interval wins');
  t.equal(getInterval(30 * s, min, 0.2), 36 * s, 'a pass after half the expected time: ratio × 2 = 0.4');
  t.equal(getInterval(90 * s, min, 0.2), min, 'a late pass is not scaled');
  t.equal(getInterval(0, min, 0.2), min, 'unknown actual interval: not scaled');
  t.equal(getInterval(0, min, 0.01, 0, 80 * s, reg), 80 * s, 'capped by the max interval');
  const g = await reg.getSingleMetric('cilium_datapath_conntrack_gc_interval_seconds')?.get();
  t.same(g?.values.map((v) => [v.labels.global, v.value]), [['global', 80]]);
});

t.test('Observable: synchronous delivery, unsubscribe, complete, a throwing observer is contained', async (t) => {
  const logged: string[] = [];
  const o = new Observable<number>((_l: LogLevel, m: string) => logged.push(m));
  const got: string[] = [];
  t.equal(o.observed, false);
  const a = o.subscribe((v) => got.push(`a${v}`), () => got.push('a done'));
  const b = o.subscribe(() => { throw new Error('bad observer'); });
  o.emit(1);
  t.same(got, ['a1'], 'delivered before emit returns');
  t.same(logged, ['GC event observer failed']);
  o.unsubscribe(b);
  a.unsubscribe();
  o.emit(2);
  t.same(got, ['a1']);
  o.subscribe((v) => got.push(`c${v}`), () => got.push('c done'));
  o.complete();
  o.complete();
  t.ok(o.completed);
  t.same(got, ['a1', 'c done']);
  o.subscribe(() => got.push('late'), () => got.push('late done'));
  t.same(got.at(-1), 'late done', 'subscribing after complete completes at once');
  o.subscribe(() => undefined).unsubscribe();
  const fake = NewFakeGCRunner();
  t.equal(fake.run(new GCFilter()), 0);
  const seen: string[] = [];
  fake.observe4().subscribe(() => seen.push('x'), () => seen.push('done'));
  fake.observe4().emit({} as GCEvent);
  fake.observe4().complete();
  t.same(seen, [], 'the fake streams never emit or complete');
  t.not(fake.observe4(), fake.observe6());
});

t.test('SignalQueue: buffered, muted drops, drain, close', async (t) => {
  const q = new SignalQueue(3);
  t.ok(q.push(SignalProtoV4));
  q.mute();
  t.notOk(q.push(SignalProtoV6), 'muted: dropped');
  q.unmute();
  t.ok(q.push(SignalProtoV6) && q.push(SignalProtoV4));
  t.notOk(q.push(SignalProtoV4), 'full: dropped');
  t.equal(await q.next(), SignalProtoV4);
  t.same(q.drain(), [SignalProtoV6, SignalProtoV4]);
  const waiting = q.next();
  q.push(SignalProtoV6);
  t.equal(await waiting, SignalProtoV6, 'a waiter gets the next signal');
  t.match(msg(caught(() => q.push(7))), 'signal data must be');
  const w2 = q.next();
  q.close();
  t.equal(await w2, null, 'close wakes a waiter with null');
  t.equal(await q.next(), null);
  t.notOk(q.push(SignalProtoV4));
  t.ok(q.closed);
  // realWait: the timer, a signal, or a stop.
  const q2 = new SignalQueue();
  const ac = new AbortController();
  t.same(await realWait(5, q2, ac.signal), { kind: 'timer' });
  setTimeout(() => q2.push(SignalProtoV6), 5);
  t.same(await realWait(10_000, q2, ac.signal), { kind: 'signal', protos: [SignalProtoV6] });
  setTimeout(() => { ac.abort(); }, 5);
  t.same(await realWait(10_000, q2, ac.signal), { kind: 'closed' });
  const q3 = new SignalQueue();
  setTimeout(() => { q3.close(); }, 5);
  t.same(await realWait(10_000, q3, new AbortController().signal), { kind: 'closed' });
});

const quiet = (): void => undefined;

/** CT map stand-ins whose passes (injected into the runner) delete a scripted number of entries. */
function fakeMaps(script: number[][]): { activeMaps(): ConntrackMap[]; calls: string[]; pass: NonNullable<GCRunnerOptions['pass']> } {
  const calls: string[] = [];
  let pass = 0;
  const names = ['cilium_ct4_global', 'cilium_ct_any4_global', 'cilium_ct6_global', 'cilium_ct_any6_global'];
  const maps = names.map((name, i) => ({
    name, maxEntries: 1000, isIPv4: i < 2, isTCP: i % 2 === 0,
    gc: (f: GCFilter) => {
      calls.push(`${name}@${f.removeExpired ? 'expired' : 'all'}`);
      const deleted = script[pass]?.[i] ?? 0;
      if (i === names.length - 1) pass++;
      return { deleted, error: undefined } as unknown as GCStats;
    },
    close: () => undefined, updatePressureMetricWithSize: () => 0, count: () => 10,
  }));
  const run = (m: ConntrackMap, f: GCFilter): GCStats => (m as unknown as { gc(f: GCFilter): GCStats }).gc(f);
  return { activeMaps: () => maps as unknown as ConntrackMap[], calls, pass: run };
}

t.test('the scheduling loop on a fake clock: intervals, signals narrow the families, starvation guard, stop', async (t) => {
  // Pass 1: nothing deleted. Pass 2 (timer): 500 of 1000 deleted. Pass 3 (v4 signal, 1 s later): nothing. Pass 4 (timer): nothing.
  const maps = fakeMaps([[0, 0, 0, 0], [500, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]);
  const runner = new GCRunner({ ctMaps: maps, ipv4: true, ipv6: true, pass: maps.pass, logger: quiet });
  let now = 1_000_000;
  const wakes: WakeReason[] = [{ kind: 'timer' }, { kind: 'signal', protos: [SignalProtoV4] }, { kind: 'timer' }, { kind: 'closed' }];
  const waited: number[] = [];
  const passes: { interval: number; ratio: number; success: boolean; triggeredBySignal: boolean; ipv4: boolean; ipv6: boolean }[] = [];
  const fullGCs: number[] = [];
  const signals = new SignalQueue();
  runner.enable({
    now: () => now,
    signals,
    wait: (interval) => {
      waited.push(interval);
      const w = wakes.shift() ?? { kind: 'closed' };
      now += w.kind === 'timer' ? interval : 1000;
      return Promise.resolve(w);
    },
    onPass: (p) => passes.push(p),
    onFullGC: (start) => fullGCs.push(start),
    pressureInterval: 0,
  });
  await runner.initialScanComplete();
  await runner.whenStopped();
  await runner.stop();
  t.equal(passes.length, 4);
  t.same(passes.map((p) => [p.triggeredBySignal, p.ipv4, p.ipv6]), [[false, true, true], [false, true, true], [true, true, false], [false, true, true]],
    'a v4 signal narrows the next pass to v4; the timer restores both families');
  t.equal(passes[0]?.interval, 5 * min, 'first interval: 5 min');
  t.equal(passes[1]?.ratio, 0.5);
  t.equal(passes[1]?.interval, 150 * s, 'half the map deleted: 5 min × 0.5');
  // After the signal: a partial pass, so the interval is bounded by the time left before the next full GC.
  t.equal(passes[2]?.interval, 150 * s - 1000, 'the starvation guard: the next full GC stays on schedule');
  t.equal(passes[3]?.interval, 150 * s, 'the full pass after it returns to the cached interval');
  t.same(waited.slice(0, 3), [5 * min, 150 * s, 150 * s - 1000]);
  t.same(fullGCs, [1_000_000, 1_000_000 + 5 * min, 1_000_000 + 5 * min + 150 * s], 'endpoints told after each full pass');
  t.ok(maps.calls.every((c) => c.endsWith('@expired')), 'every scheduled pass removes expired entries');
  t.ok(runner.observe4().completed && runner.observe6().completed, 'stop completes the streams');
  t.match(msg(caught(() => { runner.enable(); runner.enable(); })), 'already enabled');
  await runner.stop();
});

t.test('the loop after the initial scan: no endpoints, no GC; a closed signal channel stops it; pressure ticks', async (t) => {
  // Early pass scaling (§14.5 step 2): a pass 1 s after one with a 150 s interval that deleted 10 % counts as 90 %.
  t.equal(getInterval(1000, 150 * s, 0.1), 15 * s);
  const maps = fakeMaps([[0, 0, 0, 0]]);
  const runner = new GCRunner({ ctMaps: maps, ipv4: true, ipv6: false, config: { conntrackGCInterval: 42 * s }, pass: maps.pass, logger: quiet });
  const passes: number[] = [];
  let n = 0;
  runner.enable({
    now: () => n * 1000,
    hasEndpoints: () => false,
    wait: () => Promise.resolve(++n < 3 ? { kind: 'timer' } : { kind: 'closed' }),
    onPass: (p) => passes.push(p.interval),
    emitCTEntryCB: () => undefined,
    pressureInterval: 0,
  });
  await runner.whenStopped();
  await runner.stop();
  t.same(passes, [42 * s, 41 * s, 40 * s], 'a fixed interval, shortened so the next full GC (due 42 s after the first) stays on time');
  t.equal(maps.calls.length, 4, 'only the initial scan ran GC (4 maps); later passes had no endpoints');
  t.equal(runner.pressureTick(), true, 'the pressure controller counts each map');
  const failing = (err: Error): GCRunner => new GCRunner({ ctMaps: { activeMaps: () => [{ name: 'x', count: () => { throw err; } } as unknown as ConntrackMap] }, ipv4: true, ipv6: false, logger: quiet });
  t.equal(failing(new BpfError({ errno: Errno.ENOTSUPP, command: 'BPF_MAP_LOOKUP_BATCH' })).pressureTick(), false, '"not supported" stops the controller for good');
  t.equal(failing(new Error('EIO')).pressureTick(), true, 'other errors are logged and the controller goes on');
});

t.test('GCFilter and NetAddrSet', async (t) => {
  const set = new NetAddrSet(['10.0.0.1', { addr: '::ffff:10.0.0.1', netID: 0 }, { addr: '10.0.0.1', netID: 0 }, { addr: '10.0.0.1', netID: 2 }]);
  t.equal(set.size, 3, 'v4 and v4-mapped v6 differ; duplicates collapse; networks differ');
  t.same([...set], [{ addr: '10.0.0.1', netID: 0 }, { addr: '::ffff:10.0.0.1', netID: 0 }, { addr: '10.0.0.1', netID: 2 }]);
  const probe = new Uint8Array(NetAddrSet.probeSize);
  t.ok(set.hasBytes(Uint8Array.of(10, 0, 0, 1), 0, 4, 2, probe));
  t.notOk(set.hasBytes(Uint8Array.of(10, 0, 0, 1), 0, 4, 5, probe));
  t.match(msg(caught(() => new NetAddrSet([{} as never]))), 'MatchIPs');
  const f = new GCFilter({ matchIPs: [] });
  t.equal(f.matchIPs, undefined, 'an empty set means no IP matching');
  t.equal(new GCFilter({ matchIPs: set }).matchIPs, set);
  t.match(msg(caught(() => new GCFilter({ emitCTEntryCB: 5 as never }))), 'function');
  t.match(inspect(Object.assign(Object.create(GCStats.prototype) as GCStats, { map: 'm', mode: 'safe', deleted: 1, aliveEntries: 2, skipped: 0, deferred: 0, natDeleted: 0, error: undefined })), 'GCStats(m safe: deleted=1 alive=2');
});
