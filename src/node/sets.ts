/**
 * A node's CT maps and NAT maps as sets: each map by name (`tcp4`, `any4`,
 * `tcp6`, `any6`; `v4`, `v6`), and walks over all the maps of the enabled
 * families at once. A map whose pin does not exist is skipped by the set's
 * walks and counts (a node without IPv6 Any maps still lists the rest); any
 * other failure to open a map is thrown.
 */
import { isNotExist } from '../syscall/errors.js';
import { checkFilter } from '../structs/filter.js';
import { batchOptions } from '../datapath/walk.js';
import type { ConntrackMap, CtIterOptions } from '../ctmap/ctmap.js';
import type { CtRecord } from '../ctmap/record.js';
import type { NatIterOptions, NatMap, NatRecord } from '../nat/natmap.js';
import type { RetriesMap } from '../nat/retries.js';

/** A record with the map it came from. */
export type From<R, M> = R & { readonly map: M };

interface Openable {
  open(): void;
}

/** Open `m`; false when its pin does not exist. */
export function openIfPinned(m: Openable): boolean {
  try {
    m.open();
    return true;
  } catch (err) {
    if (isNotExist(err)) return false;
    throw err;
  }
}

interface WalkableMap<R, O> {
  entries(opts: O): Generator<R, void, undefined>;
  entriesAsync(opts: O): AsyncGenerator<R, void, undefined>;
}

type IterOpts = CtIterOptions & NatIterOptions;

/** Across maps, the filter's limit counts all of them together. */
function* across<R, M extends Openable & WalkableMap<R, IterOpts>>(maps: readonly M[], opts: IterOpts): Generator<From<R, M>, void, undefined> {
  const filter = opts.filter === undefined ? undefined : checkFilter(opts.filter);
  let left = filter?.limit ?? Infinity;
  for (const map of maps) {
    if (left <= 0) return;
    if (!openIfPinned(map)) continue;
    for (const r of map.entries({ ...opts, filter })) {
      yield { ...r, map };
      if (--left <= 0) return;
    }
  }
}

async function* acrossAsync<R, M extends Openable & WalkableMap<R, IterOpts>>(maps: readonly M[], opts: IterOpts): AsyncGenerator<From<R, M>, void, undefined> {
  const filter = opts.filter === undefined ? undefined : checkFilter(opts.filter);
  let left = filter?.limit ?? Infinity;
  for (const map of maps) {
    if (left <= 0) return;
    if (!openIfPinned(map)) continue;
    for await (const r of map.entriesAsync({ ...opts, filter })) {
      yield { ...r, map };
      if (--left <= 0) return;
    }
  }
}

export type CtSetRecord = From<CtRecord, ConntrackMap>;
export type NatSetRecord = From<NatRecord, NatMap>;

export class CtMapSet implements Iterable<CtSetRecord> {
  readonly tcp4: ConntrackMap;
  readonly any4: ConntrackMap;
  readonly tcp6: ConntrackMap;
  readonly any6: ConntrackMap;
  readonly #enabled: readonly ConntrackMap[];

  constructor(maps: { tcp4: ConntrackMap; any4: ConntrackMap; tcp6: ConntrackMap; any6: ConntrackMap }, ipv4: boolean, ipv6: boolean) {
    ({ tcp4: this.tcp4, any4: this.any4, tcp6: this.tcp6, any6: this.any6 } = maps);
    this.#enabled = [...(ipv4 ? [this.tcp4, this.any4] : []), ...(ipv6 ? [this.tcp6, this.any6] : [])];
  }

  /** The maps of the enabled families in Go's order (v4 TCP, v4 Any, v6 TCP, v6 Any): GC pairs neighbours. */
  maps(): ConntrackMap[] {
    return [...this.#enabled];
  }

  /** The enabled maps whose pin exists. */
  present(): ConntrackMap[] {
    return this.#enabled.filter((m) => m.pinned());
  }

  [Symbol.iterator](): Generator<CtSetRecord, void, undefined> {
    return this.entries();
  }

  /** Every entry of every map (or those matching `filter`, at most `filter.limit` in all), with its map. */
  entries(opts: CtIterOptions = {}): Generator<CtSetRecord, void, undefined> {
    return across<CtRecord, ConntrackMap>(this.#enabled, opts);
  }

  [Symbol.asyncIterator](): AsyncGenerator<CtSetRecord, void, undefined> {
    return this.entriesAsync();
  }

  entriesAsync(opts: CtIterOptions = {}): AsyncGenerator<CtSetRecord, void, undefined> {
    return acrossAsync<CtRecord, ConntrackMap>(this.#enabled, opts);
  }

  /** Entries in all pinned maps (matching `filter`, when given). */
  count(opts: CtIterOptions = {}): number {
    let n = 0;
    for (const m of this.#enabled) if (openIfPinned(m)) n += m.count({ ...batchOptions(opts), filter: opts.filter });
    return n;
  }

  close(): void {
    for (const m of [this.tcp4, this.any4, this.tcp6, this.any6]) m.close();
  }
}

export class NatMapSet implements Iterable<NatSetRecord> {
  readonly v4: NatMap;
  readonly v6: NatMap;
  readonly retries4: RetriesMap;
  readonly retries6: RetriesMap;
  readonly #enabled: readonly NatMap[];

  constructor(maps: { v4: NatMap; v6: NatMap; retries4: RetriesMap; retries6: RetriesMap }, ipv4: boolean, ipv6: boolean) {
    ({ v4: this.v4, v6: this.v6, retries4: this.retries4, retries6: this.retries6 } = maps);
    this.#enabled = [...(ipv4 ? [this.v4] : []), ...(ipv6 ? [this.v6] : [])];
  }

  /** The SNAT maps of the enabled families (v4, then v6). */
  maps(): NatMap[] {
    return [...this.#enabled];
  }

  present(): NatMap[] {
    return this.#enabled.filter((m) => m.pinned());
  }

  [Symbol.iterator](): Generator<NatSetRecord, void, undefined> {
    return this.entries();
  }

  entries(opts: NatIterOptions = {}): Generator<NatSetRecord, void, undefined> {
    return across<NatRecord, NatMap>(this.#enabled, opts);
  }

  [Symbol.asyncIterator](): AsyncGenerator<NatSetRecord, void, undefined> {
    return this.entriesAsync();
  }

  entriesAsync(opts: NatIterOptions = {}): AsyncGenerator<NatSetRecord, void, undefined> {
    return acrossAsync<NatRecord, NatMap>(this.#enabled, opts);
  }

  count(opts: NatIterOptions = {}): number {
    let n = 0;
    for (const m of this.#enabled) if (openIfPinned(m)) n += m.count({ ...batchOptions(opts), filter: opts.filter });
    return n;
  }

  close(): void {
    for (const m of [this.v4, this.v6, this.retries4, this.retries6]) m.close();
  }
}
