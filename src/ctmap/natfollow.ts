/**
 * The NAT follow-up when GC removes a CT entry (ctmap.md §11,
 * nat-datapath.md §7): the SNAT mappings an egress entry owned go with it.
 *
 * Two forms with one outcome:
 * - `NatFollowUp`, inside the pass: decided from the batch bytes, the SNAT
 *   entry taken with one LOOKUP_AND_DELETE (its value names the reverse
 *   key), the reverse and DSR keys queued and deleted with one batch delete
 *   per CT batch — they belong to entries already gone, so no race widens.
 *   The LOOKUP_AND_DELETEs themselves are queued too, up to VECTOR at a time
 *   in one FFI crossing (an ElemVector): the same syscalls, fewer crossings;
 * - `NatMapNext4/6`, Go's observers of the GC event streams.
 */
import type { BpfMap } from '../syscall/map.js';
import { Errno } from '../syscall/errors.js';
import { ElemVector } from '../syscall/elemvec.js';
import { Features, haveFeature } from '../syscall/features.js';
import { KeyList } from '../structs/keyset.js';
import { DSRInternal } from '../structs/ctentry.js';
import { TUPLE_F_OUT, type TupleKey4Global, type TupleKey6Global } from '../structs/tuple.js';
import type { Logger } from '../datapath/log.js';
import { reverseNatKey, swappedAddrsKey, swappedPortsKey, type TupleOffsets } from '../nat/keys.js';
import { DeleteMapping4, DeleteMapping6, DeleteSwappedMapping4, DeleteSwappedMapping6 } from '../nat/mapping.js';
import type { NatMap } from '../nat/natmap.js';
import type { GCEvent } from './gcevent.js';

/** LOOKUP_AND_DELETEs per crossing. */
const VECTOR = 256;

export class NatFollowUp {
  readonly #nat: NatMap;
  readonly #bm: BpfMap;
  readonly #L: TupleOffsets;
  readonly #rkey: Uint8Array;
  readonly #pending: KeyList;
  readonly #dryRun: boolean;
  readonly #log: Logger;
  #lookupAndDelete = true;
  /** The SNAT keys waiting for their LOOKUP_AND_DELETE (not in a dry run, not once the kernel lacked the command). */
  #vec: ElemVector | undefined;
  /** NAT entries removed (in a dry run: found, that would be removed). */
  deleted = 0;

  constructor(nat: NatMap, L: TupleOffsets, dryRun: boolean, log: Logger) {
    this.#nat = nat;
    this.#bm = nat.bpfMap;
    this.#L = L;
    this.#rkey = new Uint8Array(L.size);
    this.#pending = new KeyList(L.size, 64);
    this.#dryRun = dryRun;
    this.#log = log;
  }

  /**
   * The NAT deletes for a removed CT entry (key at ct[ko…], entry flags):
   * the SNAT entry at once, the reverse or DSR key queued for flush().
   */
  follow(ct: Uint8Array, ko: number, entryFlags: number): void {
    const L = this.#L;
    // Only plain egress entries own SNAT mappings: flags exactly OUT (not IN, RELATED or SERVICE).
    if (ct[ko + L.flags] !== TUPLE_F_OUT) return;
    const key = this.#bm.scratchKey;
    if ((entryFlags & DSRInternal) !== 0) {
      swappedPortsKey(L, ct, ko, key, 0);
      if (this.#dryRun) {
        if (this.#present()) this.deleted++;
        return;
      }
      this.#pending.push(key, 0);
      return;
    }
    // The vector only where the kernel has LOOKUP_AND_DELETE for hash maps (probed once per kernel): before 5.14
    // every queued call would fail and go again one at a time.
    if (this.#vec === undefined && !this.#dryRun && this.#lookupAndDelete) {
      if (haveFeature(Features.lookupAndDeleteHash, this.#bm.kernel)) this.#vec = new ElemVector(this.#bm, VECTOR);
      else this.#lookupAndDelete = false;
    }
    if (this.#vec !== undefined && this.#lookupAndDelete) {
      const v = this.#vec;
      swappedAddrsKey(L, ct, ko, v.keys, v.length * L.size);
      v.lookupAndDelete(v.length);
      if (v.length === v.capacity) this.#takeQueued();
      return;
    }
    swappedAddrsKey(L, ct, ko, key, 0);
    if (!(this.#dryRun ? this.#present() : this.#takeValue())) return;
    this.deleted++;
    reverseNatKey(L, key, 0, this.#bm.scratchValue, 0, this.#rkey, 0);
    if (this.#dryRun) {
      key.set(this.#rkey);
      if (this.#present()) this.deleted++;
      return;
    }
    this.#pending.push(this.#rkey, 0);
  }

  #present(): boolean {
    try {
      return this.#bm.lookupInPlace();
    } catch {
      return false;
    }
  }

  /**
   * The SNAT entry at the scratch key, read then deleted: the path one entry at a time, taken only where
   * LOOKUP_AND_DELETE is not available (the probe said no, or the NAT map refused it in #takeQueued) — where it
   * is, every SNAT key goes through the vector. False when the entry was not there or a call failed.
   */
  #takeValue(): boolean {
    const bm = this.#bm;
    try {
      if (!bm.lookupInPlace()) return false;
      bm.deleteInPlace();
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Run the queued LOOKUP_AND_DELETEs; each SNAT entry taken names its reverse key, queued for flush(). A
   * kernel without the command for hash maps (before 5.14) answers EINVAL/ENOTSUPP: that key and every later
   * one go through #takeValue, which falls back to lookup + delete.
   */
  #takeQueued(): void {
    const v = this.#vec as ElemVector;
    const n = v.length;
    if (n === 0) return;
    const L = this.#L;
    const vs = this.#bm.valueBufferSize;
    try {
      v.run();
    } catch (err) {
      v.clear();
      this.#log('warn', 'NAT follow-up lookups failed', { map: this.#nat.name, error: err });
      return;
    }
    for (let j = 0; j < n; j++) {
      const ret = v.result(j);
      if (ret === -Errno.EINVAL || ret === -Errno.ENOTSUPP || ret === -Errno.EOPNOTSUPP) {
        // From here on, one entry at a time (BpfMap.lookupAndDeleteInPlace's probe and fallback).
        this.#lookupAndDelete = false;
        this.#bm.scratchKey.set(v.keys.subarray(j * L.size, (j + 1) * L.size));
        if (!this.#takeValue()) continue;
        this.deleted++;
        reverseNatKey(L, this.#bm.scratchKey, 0, this.#bm.scratchValue, 0, this.#rkey, 0);
        this.#pending.push(this.#rkey, 0);
        continue;
      }
      if (ret < 0) continue;
      this.deleted++;
      reverseNatKey(L, v.keys, j * L.size, v.values, j * vs, this.#rkey, 0);
      this.#pending.push(this.#rkey, 0);
    }
    v.clear();
  }

  /** Take the queued SNAT entries, then delete the queued reverse and DSR keys (end of a CT batch). */
  flush(): void {
    if (this.#vec !== undefined) this.#takeQueued();
    if (this.#pending.count === 0) return;
    try {
      this.deleted += this.#bm.deleteBatch(this.#pending.bytes, this.#pending.count).done;
    } catch (err) {
      this.#log('warn', 'NAT follow-up batch delete failed', { map: this.#nat.name, error: err });
    }
    this.#pending.clear();
  }
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
