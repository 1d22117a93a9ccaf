/**
 * The GC interval maths (ctmap.md §14.5). Durations are milliseconds; the
 * arithmetic follows Go's, in nanoseconds, so truncation and rounding land
 * where Go's do.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../datapath/log.js';
import { gcIntervalGauge } from '../datapath/metrics.js';

// Go's, in nanoseconds, so truncation and rounding land where Go's do.

export const GCIntervalStart = 5 * 60 * 1000;
export const GCIntervalMin = 10 * 1000;
export const GCIntervalMaxLRU = 12 * 60 * 60 * 1000;
const NS_PER_MS = 1e6;
const SECOND_NS = 1e9;

/** Go Duration.Round(time.Second) for non-negative durations: halfway rounds up. */
function roundToSecondNs(ns: number): number {
  const r = ns % SECOND_NS;
  return r + r < SECOND_NS ? ns - r : ns + SECOND_NS - r;
}

/** Go calculateInterval(prev, ratio). */
export function calculateInterval(prev: number, ratio: number): number {
  if (ratio === 0) return prev;
  const prevNs = prev * NS_PER_MS;
  if (ratio > 0.25) {
    const r = Math.min(ratio, 0.9);
    const ns = roundToSecondNs(Math.trunc(prevNs * (1 - r)));
    return Math.max(ns / NS_PER_MS, GCIntervalMin);
  }
  if (ratio < 0.05) {
    return Math.min(roundToSecondNs(Math.trunc(prevNs * 1.5)) / NS_PER_MS, GCIntervalMaxLRU);
  }
  return prev;
}

/** Go getIntervalWithConfig(actualPrev, expectedPrev, ratio, gcInterval, gcMaxInterval). */
export function getInterval(actualPrev: number, expectedPrev: number, ratio: number, gcInterval = 0, gcMaxInterval = 0,
  registry?: Registry, log?: Logger): number {
  if (gcInterval !== 0) return gcInterval;
  let expected = expectedPrev;
  let adjusted = ratio;
  if (expected === 0) {
    expected = GCIntervalStart;
  } else if (actualPrev > 0 && actualPrev < expected) {
    // An early pass that still deleted a lot means a higher rate than the ratio alone says.
    adjusted = ratio * (expected / actualPrev);
  }
  let next = calculateInterval(expected, adjusted);
  if (gcMaxInterval !== 0 && next > gcMaxInterval) next = gcMaxInterval;
  if (next !== expected) log?.('info', 'Conntrack garbage collector interval recalculated', { expectedPrevInterval: expected, actualPrevInterval: actualPrev, newInterval: next, deleteRatio: ratio, adjustedDeleteRatio: adjusted });
  if (registry !== undefined) gcIntervalGauge(registry).set({ global: 'global' }, next / 1000);
  return next;
}
