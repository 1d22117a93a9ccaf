/**
 * Mocks for users' unit tests (Go pkg/testutils/mockmaps and ctmap/fake):
 * a CtMap backed by in-memory records, and a per-cluster mapper that only
 * remembers IDs. Neither touches the kernel.
 */
import { CtMapRecord } from '../structs/records.js';
import { CtEntry } from '../structs/ctentry.js';
import { CtKey4Global, CtKey6Global, type CtKey } from '../structs/tuple.js';
import { describe } from '../structs/describe.js';
import { DumpEntriesWithTimeDiff, type CtMap, type DumpCallback, type MapPair } from '../ctmap/ctmap.js';
import type { PerClusterCTMapper } from '../ctmap/percluster.js';
import type { CtRecord } from '../ctmap/record.js';
import { systemClock, type ClockReader, type ClockSource } from '../datapath/clock.js';

export const MockMapPath = '/this/is/a/mock/map';

export class CtMockMap implements CtMap {
  readonly entries: CtMapRecord[];

  constructor(records: readonly CtMapRecord[] = []) {
    for (const r of records) if (!(r instanceof CtMapRecord)) throw new TypeError('CtMockMap: records must be CtMapRecord objects');
    this.entries = [...records];
  }

  open(): void { /* nothing to open */ }
  close(): void { /* nothing to close */ }
  path(): string { return MockMapPath; }

  /** Records in order; the value handed out is a copy, the key the record's own (as Go does). A missing callback does nothing. */
  dumpWithCallback(cb: DumpCallback | undefined): void {
    if (cb === undefined) return;
    for (const r of this.entries) cb(r.key, new CtEntry(r.value.raw.slice()));
  }

  dumpEntriesWithTimeDiff(clockSource?: ClockSource, clock: ClockReader = systemClock): string {
    return DumpEntriesWithTimeDiff(this, clockSource, clock);
  }

  count(): number { return this.entries.length; }

  /** The records as iteration yields them from a real map: `{ key, entry }`. */
  *[Symbol.iterator](): Generator<CtRecord, void, undefined> {
    for (const r of this.entries) yield { key: r.key, entry: r.value };
  }

  /** Like Go's mock, updates are dropped; they are still checked, so a test passing junk hears of it. */
  update(key: CtKey, value: CtEntry): void {
    if (!(key instanceof CtKey4Global) && !(key instanceof CtKey6Global)) throw new TypeError(`CtMockMap.update: key must be a CtKey4Global or CtKey6Global, got ${describe(key)}`);
    if (!(value instanceof CtEntry)) throw new TypeError(`CtMockMap.update: value must be a CtEntry, got ${describe(value)}`);
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `CtMockMap(${this.entries.length} records)`;
  }
}

/** Go mockmaps.NewCtMockMap. */
export function NewCtMockMap(records: readonly CtMapRecord[] = []): CtMockMap {
  return new CtMockMap(records);
}

/** Go ctmap/fake PerClusterMaps: remembers cluster IDs, never fails, validates nothing. */
export class FakePerClusterCTMaps implements PerClusterCTMapper {
  readonly #ids = new Set<number>();

  openOrCreate(): void { /* nothing to create */ }
  close(): void { /* nothing to close */ }
  createClusterCTMaps(clusterID: number): void { this.#ids.add(clusterID); }
  deleteClusterCTMaps(clusterID: number): void { this.#ids.delete(clusterID); }
  getAllClusterCTMaps(): MapPair[] { return []; }
  has(clusterID: number): boolean { return this.#ids.has(clusterID); }
}

export function NewFakePerClusterCTMaps(): FakePerClusterCTMaps {
  return new FakePerClusterCTMaps();
}
