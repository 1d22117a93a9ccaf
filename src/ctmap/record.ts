/**
 * One CT entry as iteration yields it: `{ key, entry }`, each wrapping its
 * own copy of the kernel bytes (fields decode on access), so a loop may keep
 * what it is given while the walk reuses its batch buffers.
 */
import { CtKey4Global, CtKey6Global, SizeofCtKey4Global, SizeofCtKey6Global, type CtKey } from '../structs/tuple.js';
import { CtEntry, SizeofCtEntry } from '../structs/ctentry.js';

export interface CtRecord {
  readonly key: CtKey;
  readonly entry: CtEntry;
}

export function ctRecord4(keys: Uint8Array, ko: number, values: Uint8Array, vo: number): CtRecord {
  return { key: new CtKey4Global(keys.slice(ko, ko + SizeofCtKey4Global)), entry: new CtEntry(values.slice(vo, vo + SizeofCtEntry)) };
}

export function ctRecord6(keys: Uint8Array, ko: number, values: Uint8Array, vo: number): CtRecord {
  return { key: new CtKey6Global(keys.slice(ko, ko + SizeofCtKey6Global)), entry: new CtEntry(values.slice(vo, vo + SizeofCtEntry)) };
}
