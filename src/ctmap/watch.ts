/**
 * Watching CT maps change, as `conntrack -E` shows netfilter's: each poll
 * reads the maps (batch walks) and reports the entries that appeared, were
 * refreshed (their lifetime moved: the datapath saw packets) or disappeared
 * since the poll before. BPF hash maps have no change notifications, so a
 * poll compares against what the previous one saw: memory is one small
 * record per watched entry (its key bytes and lifetime), bounded by the map
 * sizes, not by how long the watch runs. Changes between two polls that undo
 * each other (a flow opened and closed in between) are not seen.
 */
import { compileFilter, checkFilter, type CheckedFilter, type FilterInput } from '../structs/filter.js';
import { ctEntryLayout } from '../structs/ctentry.js';
import { getU32 } from '../structs/bytes.js';
import { batchOptions, type WalkOptions } from '../datapath/walk.js';
import type { ConntrackMap } from './ctmap.js';
import { ctRecord4, ctRecord6, type CtRecord } from './record.js';

export type WatchEventKind = 'appeared' | 'refreshed' | 'disappeared';

export interface WatchEvent {
  readonly kind: WatchEventKind;
  readonly map: ConntrackMap;
  /** The entry as this poll read it; for `disappeared`, the key with the entry as last seen (lifetime only). */
  readonly record: CtRecord;
  /** The lifetime the previous poll saw (undefined for `appeared`). */
  readonly previousLifetime: number | undefined;
}

export interface WatchOptions extends WalkOptions {
  /** Only entries this filter matches are watched (an entry that stops matching disappears). */
  readonly filter?: FilterInput | undefined;
}

const LIFETIME = ctEntryLayout.offsetOf.lifetime;

export class CtWatcher {
  readonly maps: readonly ConntrackMap[];
  readonly #opts: WatchOptions;
  readonly #filter: CheckedFilter | undefined;
  // Per map: key bytes (latin1 string) -> lifetime at the last poll.
  #seen: Map<string, number>[];
  #polls = 0;

  constructor(maps: readonly ConntrackMap[], opts: WatchOptions = {}) {
    this.maps = [...maps];
    this.#opts = opts;
    this.#filter = opts.filter === undefined ? undefined : checkFilter(opts.filter).withLimit(undefined);
    this.#seen = this.maps.map(() => new Map<string, number>());
  }

  /** Entries being watched (as of the last poll). */
  get size(): number {
    return this.#seen.reduce((n, s) => n + s.size, 0);
  }

  /** Polls done so far; the first one only records what is there. */
  get polls(): number {
    return this.#polls;
  }

  /**
   * Read the maps once and hand each change since the previous poll to
   * `onEvent`. The first poll records the baseline and reports nothing
   * unless `initial` is set (then every entry "appeared"). Returns the
   * number of events.
   */
  poll(onEvent: (ev: WatchEvent) => void, initial = false): number {
    const report = this.#polls > 0 || initial;
    this.#polls++;
    let events = 0;
    this.maps.forEach((m, mi) => {
      const before = this.#seen[mi] ?? new Map<string, number>();
      const now = new Map<string, number>();
      const v4 = m.isIPv4;
      const make = v4 ? ctRecord4 : ctRecord6;
      const match = compileFilter(this.#filter, 'ct', v4 ? 4 : 6);
      for (const b of m.batches(batchOptions(this.#opts))) {
        const { keys, values, keySize, valueSize, count } = b;
        const text = Buffer.from(keys.buffer, keys.byteOffset, count * keySize);
        for (let i = 0; i < count; i++) {
          const ko = i * keySize;
          const vo = i * valueSize;
          if (!match(keys, ko, values, vo)) continue;
          const k = text.toString('latin1', ko, ko + keySize);
          const lifetime = getU32(values, vo + LIFETIME);
          // A key the walk returns twice (a concurrent resize of a bucket) is reported once.
          if (now.has(k)) continue;
          now.set(k, lifetime);
          const prev = before.get(k);
          before.delete(k);
          if (!report || prev === lifetime) continue;
          events++;
          onEvent({ kind: prev === undefined ? 'appeared' : 'refreshed', map: m, record: make(keys, ko, values, vo), previousLifetime: prev });
        }
      }
      if (report) {
        for (const [k, lifetime] of before) {
          events++;
          const keyBytes = Uint8Array.from(k, (c) => c.charCodeAt(0));
          const value = new Uint8Array(valueSizeOf(m));
          new DataView(value.buffer).setUint32(LIFETIME, lifetime, true);
          onEvent({ kind: 'disappeared', map: m, record: make(keyBytes, 0, value, 0), previousLifetime: lifetime });
        }
      }
      this.#seen[mi] = now;
    });
    return events;
  }
}

function valueSizeOf(m: ConntrackMap): number {
  return m.bpfMap.valueSize;
}
