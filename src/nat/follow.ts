/**
 * NAT follow-up when CT GC removes an entry (nat-datapath.md §7): the SNAT
 * mapping an egress CT entry owned goes with it, both directions.
 */
import { TupleKey4, TupleKey6, TupleKey4Global, TupleKey6Global, CtKey4Global, CtKey6Global, NatKey4, NatKey6, TUPLE_F_OUT } from '../structs/tuple.js';
import { DSRInternal } from '../structs/ctentry.js';
import type { GCEvent } from '../ctmap/gcevent.js';
import { reverseNatKey, swappedPortsKey, tuple4, tuple6, type TupleOffsets } from './keys.js';
import type { NatMap } from './natmap.js';

/** Go's %T spelling of what was passed, for `wrong type %T for key`. */
function goType(v: unknown): string {
  if (v instanceof TupleKey4Global) return '*tuple.TupleKey4Global';
  if (v instanceof TupleKey6Global) return '*tuple.TupleKey6Global';
  if (v instanceof TupleKey4) return '*tuple.TupleKey4';
  if (v instanceof TupleKey6) return '*tuple.TupleKey6';
  if (v instanceof CtKey4Global) return '*ctmap.CtKey4Global';
  if (v instanceof CtKey6Global) return '*ctmap.CtKey6Global';
  if (v instanceof NatKey4) return '*nat.NatKey4';
  if (v instanceof NatKey6) return '*nat.NatKey6';
  return v === null ? '<nil>' : typeof v;
}

function tupleBytes(tk: unknown, want: typeof TupleKey4Global | typeof TupleKey6Global): Uint8Array {
  if (!(tk instanceof want)) throw new TypeError(`wrong type ${goType(tk)} for key`);
  return tk.raw;
}

function silentDelete(m: NatMap, key: NatKey4 | NatKey6): void {
  try {
    m.delete(key);
  } catch {
    // Go's SilentDelete errors are ignored here: the purge catches leftovers.
  }
}

function deleteMapping(m: NatMap, ct: Uint8Array, L: TupleOffsets): void {
  const wrap = (b: Uint8Array): NatKey4 | NatKey6 => (L === tuple4 ? new NatKey4(b) : new NatKey6(b));
  // The NAT OUT key is the CT tuple with its addresses swapped; ports, proto and flags are kept.
  const key = ct.slice();
  key.set(ct.subarray(L.saddr, L.saddr + L.addrLen), L.daddr);
  key.set(ct.subarray(L.daddr, L.daddr + L.addrLen), L.saddr);
  const nk = wrap(key);
  const val = m.lookup(nk);
  if (val === undefined) return;
  const rkey = new Uint8Array(L.size);
  reverseNatKey(L, key, 0, val.raw, 0, rkey, 0);
  silentDelete(m, nk);
  silentDelete(m, wrap(rkey));
}

function deleteSwappedMapping(m: NatMap, ct: Uint8Array, L: TupleOffsets): void {
  const key = new Uint8Array(L.size);
  swappedPortsKey(L, ct, 0, key, 0);
  silentDelete(m, L === tuple4 ? new NatKey4(key) : new NatKey6(key));
}

/** Go DeleteMapping4: remove the SNAT entry of a CT tuple and, if found, its RevSNAT twin. */
export function DeleteMapping4(m: NatMap, tk: TupleKey4Global): void {
  deleteMapping(m, tupleBytes(tk, TupleKey4Global), tuple4);
}

export function DeleteMapping6(m: NatMap, tk: TupleKey6Global): void {
  deleteMapping(m, tupleBytes(tk, TupleKey6Global), tuple6);
}

/** Go DeleteSwappedMapping4: remove the legacy DSR SNAT entry (the CT tuple with its ports swapped, flags OUT). */
export function DeleteSwappedMapping4(m: NatMap, tk: TupleKey4Global): void {
  deleteSwappedMapping(m, tupleBytes(tk, TupleKey4Global), tuple4);
}

export function DeleteSwappedMapping6(m: NatMap, tk: TupleKey6Global): void {
  deleteSwappedMapping(m, tupleBytes(tk, TupleKey6Global), tuple6);
}

function next(event: GCEvent, v4: boolean): void {
  const m = event.natMap;
  if (m === undefined) return;
  const t = event.key.getTupleKey();
  // Only plain egress entries own SNAT mappings: flags must be exactly OUT (not IN, RELATED or SERVICE).
  if (t.flags !== TUPLE_F_OUT) return;
  try {
    if ((event.entry.flags & DSRInternal) !== 0) {
      if (v4) DeleteSwappedMapping4(m, t as TupleKey4Global);
      else DeleteSwappedMapping6(m, t as TupleKey6Global);
    } else if (v4) {
      DeleteMapping4(m, t as TupleKey4Global);
    } else {
      DeleteMapping6(m, t as TupleKey6Global);
    }
  } catch {
    // A key of the wrong family: Go's observer ignores the error too.
  }
}

/** Go NatMapNext4: the v4 GC-event observer. */
export function NatMapNext4(event: GCEvent): void {
  next(event, true);
}

/** Go NatMapNext6: the v6 GC-event observer. */
export function NatMapNext6(event: GCEvent): void {
  next(event, false);
}
