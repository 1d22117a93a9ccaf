/**
 * CT time (Cilium pkg/maps/timestamp). The datapath stamps lifetimes with
 * bpf_mono_now(): CLOCK_MONOTONIC seconds under ktime, or jiffies >> 8 under
 * jiffies. GC compares lifetimes with "now" in those raw units; only the
 * dump's "remaining" figure converts them to seconds.
 *
 * Values are u64 in Go, so this module works in bigint and wraps where Go's
 * unsigned arithmetic wraps (the jiffies shift).
 */
import { readFileSync } from 'node:fs';

export const ClockSourceModeKtime = 'ktime';
export const ClockSourceModeJiffies = 'jiffies';
/** BPF_MONO_SCALER: the datapath keeps jiffies shifted right by 8 bits. */
export const BPF_MONO_SCALER = 8n;

/** models.ClockSource: JSON fields `mode` and `hertz`, omitted when empty. */
export interface ClockSource {
  readonly mode: string;
  readonly hertz?: number;
}

/** Where "now" comes from; injectable so conversions can be tested against fixed clocks. */
export interface ClockReader {
  /** CLOCK_MONOTONIC in nanoseconds (what bpf_ktime_get_ns reads). */
  monotonicNs(): bigint;
  /** The kernel's jiffies counter. */
  jiffies(): bigint;
}

const U64 = (1n << 64n) - 1n;

/** The first `timestamp N` line of /proc/schedstat (Go's jiffies source). */
export function parseSchedstatJiffies(text: string): bigint {
  for (const line of text.split('\n')) {
    const m = /^timestamp (\d+)/.exec(line);
    if (m?.[1] !== undefined) return BigInt.asUintN(64, BigInt(m[1]));
  }
  throw new Error('failed to find jiffies in /proc/schedstat');
}

export const systemClock: ClockReader = {
  // libuv's hrtime is clock_gettime(CLOCK_MONOTONIC) on Linux: the clock bpf_ktime_get_ns() reads.
  monotonicNs: () => process.hrtime.bigint(),
  jiffies: () => parseSchedstatJiffies(readFileSync('/proc/schedstat', 'utf8')),
};

/** Go GetCTCurTime: now in the clock source's CT units. */
export function GetCTCurTime(cs: ClockSource | undefined, clock: ClockReader = systemClock): bigint {
  const mode = cs?.mode;
  if (mode === ClockSourceModeKtime) return clock.monotonicNs() / 1_000_000_000n;
  if (mode === ClockSourceModeJiffies) return clock.jiffies() >> BPF_MONO_SCALER;
  throw new Error(`invalid clocksource: ${String(mode)}`);
}

/** Go NewCTTimeToSecConverter: CT units → seconds. */
export function NewCTTimeToSecConverter(cs: ClockSource | undefined): (t: bigint | number) => bigint {
  if (cs === undefined) throw new Error('clockSource is nil');
  if (cs.mode === ClockSourceModeKtime) return (t) => BigInt.asUintN(64, BigInt(t));
  if (cs.mode === ClockSourceModeJiffies) {
    const hz = cs.hertz ?? 0;
    if (hz === 0) throw new Error('invalid clock Hertz value (0)');
    if (!Number.isSafeInteger(hz)) throw new TypeError(`clock Hertz must be an integer, got ${String(hz)}`);
    const h = BigInt.asUintN(64, BigInt(hz));
    return (t) => ((BigInt(t) << BPF_MONO_SCALER) & U64) / h;
  }
  throw new Error(`invalid clocksource: ${cs.mode}`);
}

/**
 * The per-entry "remaining" formatter of DumpEntriesWithTimeDiff:
 * `remaining: N sec(s)` with int64(conv(lifetime)) − int64(conv(now)), which
 * is negative for entries already past their lifetime.
 */
export function remainingSecondsFormatter(cs: ClockSource, clock: ClockReader = systemClock): (lifetime: number) => string {
  const now = GetCTCurTime(cs, clock);
  const conv = NewCTTimeToSecConverter(cs);
  const tsecNow = BigInt.asIntN(64, conv(now));
  return (lifetime) => `remaining: ${BigInt.asIntN(64, BigInt.asIntN(64, conv(lifetime)) - tsecNow)} sec(s)`;
}

/** Go GetClockSourceFromOptions without an agent: ktime unless told jiffies with its HZ. */
export function clockSourceFromOptions(opts: { readonly jiffiesHz?: number } = {}): ClockSource {
  return opts.jiffiesHz === undefined ? { mode: ClockSourceModeKtime } : { mode: ClockSourceModeJiffies, hertz: opts.jiffiesHz };
}
