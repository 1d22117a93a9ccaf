/**
 * A CT entry removed by GC, handed synchronously to the observers (the NAT
 * follow-up among them) before the pass moves on. Key and entry are copies
 * the observer may keep; `natMap` is the NAT map the CT map pairs with, if any.
 */
import type { CtKey } from '../structs/tuple.js';
import type { CtEntry } from '../structs/ctentry.js';
import type { NatMap } from '../nat/natmap.js';

export interface GCEvent {
  readonly key: CtKey;
  readonly entry: CtEntry;
  readonly natMap: NatMap | undefined;
}
