/**
 * The SNAT mappings a CT entry owns (nat-datapath.md §7): Go's
 * DeleteMapping4/6 and DeleteSwappedMapping4/6, and the lookup of the same
 * keys for showing a flow's NAT pair (`ctmap ct get`, `ct delete --dry-run`).
 *
 * Only plain egress CT entries (tuple flags exactly OUT) own mappings: the
 * SNAT (OUT) key is the CT tuple with its addresses swapped (Cilium #5848),
 * the RevSNAT (IN) key is derived from the SNAT value; a DSR backend's entry
 * (DSRInternal) owns the legacy DSR key instead: the CT tuple with its ports
 * swapped, flags OUT.
 */
import { TupleKey4, TupleKey6, TupleKey4Global, TupleKey6Global, NatKey4, NatKey6, TUPLE_F_OUT } from '../structs/tuple.js';
import { CtKey4Global, CtKey6Global } from '../structs/tuple.js';
import { DSRInternal } from '../structs/ctentry.js';
import type { NatEntry } from '../structs/natentry.js';
import { reverseNatKey, swappedAddrsKey, swappedPortsKey, tuple4, tuple6, type TupleOffsets } from './keys.js';
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

function natKey(L: TupleOffsets, b: Uint8Array): NatKey4 | NatKey6 {
  return L === tuple4 ? new NatKey4(b) : new NatKey6(b);
}

function deleteMapping(m: NatMap, ct: Uint8Array, L: TupleOffsets): void {
  const key = new Uint8Array(L.size);
  swappedAddrsKey(L, ct, 0, key, 0);
  // DeleteMapping keeps the tuple's own flags byte (the caller checked it is OUT).
  key[L.flags] = ct[L.flags] ?? 0;
  const nk = natKey(L, key);
  const val = m.lookup(nk);
  if (val === undefined) return;
  const rkey = new Uint8Array(L.size);
  reverseNatKey(L, key, 0, val.raw, 0, rkey, 0);
  silentDelete(m, nk);
  silentDelete(m, natKey(L, rkey));
}

function deleteSwappedMapping(m: NatMap, ct: Uint8Array, L: TupleOffsets): void {
  const key = new Uint8Array(L.size);
  swappedPortsKey(L, ct, 0, key, 0);
  silentDelete(m, natKey(L, key));
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

/** A NAT entry a CT entry owns, as found in the NAT map. */
export interface NatPairEntry {
  readonly role: 'SNAT' | 'RevSNAT' | 'DSR';
  readonly key: NatKey4 | NatKey6;
  readonly entry: NatEntry;
}

/**
 * The NAT entries the CT entry `ct` (its key bytes, and its entry flags)
 * owns in `m`, as GC's follow-up would delete them: nothing for entries that
 * are not plain egress, the DSR key for DSRInternal entries, else the SNAT
 * entry and — when present — its RevSNAT twin. Looks only; changes nothing.
 */
export function natPairOf(m: NatMap, ct: Uint8Array, entryFlags: number): NatPairEntry[] {
  const L = ct.length === tuple4.size ? tuple4 : tuple6;
  if (ct[L.flags] !== TUPLE_F_OUT) return [];
  const key = new Uint8Array(L.size);
  if ((entryFlags & DSRInternal) !== 0) {
    swappedPortsKey(L, ct, 0, key, 0);
    const k = natKey(L, key);
    const e = m.lookup(k);
    return e === undefined ? [] : [{ role: 'DSR', key: k, entry: e }];
  }
  swappedAddrsKey(L, ct, 0, key, 0);
  const k = natKey(L, key);
  const e = m.lookup(k);
  if (e === undefined) return [];
  const out: NatPairEntry[] = [{ role: 'SNAT', key: k, entry: e }];
  const rkey = new Uint8Array(L.size);
  reverseNatKey(L, key, 0, e.raw, 0, rkey, 0);
  const rk = natKey(L, rkey);
  const re = m.lookup(rk);
  if (re !== undefined) out.push({ role: 'RevSNAT', key: rk, entry: re });
  return out;
}
