/**
 * Table sizes the agent accepts and defaults to (pkg/option, pkg/maps/ctmap,
 * pkg/maps/nat), and the distributed-LRU rounding. Validation texts are the
 * agent's own.
 */
import { possibleCPUs } from '../syscall/cpus.js';

/** The agent's accepted range for CT and NAT table sizes. */
export const LimitTableMin = 1024;
export const LimitTableMax = 16777216;

/** Default CT sizes: 2 << 18 for TCP, 2 << 17 for the others. */
export const CTMapEntriesGlobalTCPDefault = 2 << 18;
export const CTMapEntriesGlobalAnyDefault = 2 << 17;

/** NATMapEntriesGlobalDefault = (524288 + 262144) * 2 / 3. */
export const NATMapEntriesGlobalDefault = Math.floor(((524288 + 262144) * 2) / 3);

/** The agent's start-up check of the two CT table sizes (Go's error texts). */
export function validateCTMapSizes(tcp: number, any: number): void {
  for (const v of [tcp, any]) {
    if (!Number.isSafeInteger(v)) throw new TypeError(`CT table sizes must be integers, got ${tcp}/${any}`);
  }
  if (tcp < LimitTableMin || any < LimitTableMin) {
    throw new RangeError(`specified CT tables values ${tcp}/${any} must be greater or equal to ${LimitTableMin}`);
  }
  if (tcp > LimitTableMax || any > LimitTableMax) {
    throw new RangeError(`specified CT tables values ${tcp}/${any} must not exceed maximum ${LimitTableMax}`);
  }
}

/** --bpf-nat-global-max: 0 means LimitTableMax, as in Go. */
export function validateNATMapEntries(n: unknown): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > LimitTableMax) {
    throw new RangeError(`NAT map size must be an integer in 0…${LimitTableMax}, got ${String(n)}`);
  }
  return n;
}

/** Round a size up to a multiple of the CPU count, capped at LimitTableMax rounded down. */
export function roundForDistributedLRU(size: number, cpus: number = possibleCPUs()): number {
  const up = Math.ceil(size / cpus) * cpus;
  const cap = Math.floor(LimitTableMax / cpus) * cpus;
  return Math.min(up, cap);
}
