/**
 * Go's stream.Multicast, reduced to what GC needs: the runner's event
 * streams. Delivery is synchronous — `emit` returns after every subscriber
 * has run — which is what lets a NAT follow-up observer finish before the
 * pass does (the upstream tests rely on that ordering).
 */
import type { Logger } from '../datapath/log.js';

// synchronous: `emit` returns after every subscriber has run, which is what
// lets the NAT follow-up finish before the pass does.

export interface Subscription {
  unsubscribe(): void;
}

export class Observable<T> {
  readonly #subs = new Set<{ next: (v: T) => void; complete: (() => void) | undefined }>();
  readonly #log: Logger | undefined;
  #completed = false;

  /** `log` hears about subscribers that throw (they never stop the others). */
  constructor(log?: Logger) {
    this.#log = log;
  }

  /** Subscribe; after complete() a new subscriber is completed at once. */
  subscribe(next: (v: T) => void, complete?: () => void): Subscription {
    if (this.#completed) {
      complete?.();
      return { unsubscribe: () => undefined };
    }
    const sub = { next, complete };
    this.#subs.add(sub);
    return { unsubscribe: () => { this.#subs.delete(sub); } };
  }

  unsubscribe(sub: Subscription): void {
    sub.unsubscribe();
  }

  /** Whether anyone listens (GC builds events only then). */
  get observed(): boolean {
    return this.#subs.size > 0;
  }

  get completed(): boolean {
    return this.#completed;
  }

  /** Deliver to every subscriber now; one that throws is logged and does not stop the others. */
  emit(v: T): void {
    for (const s of this.#subs) {
      try {
        s.next(v);
      } catch (err) {
        this.#log?.('error', 'GC event observer failed', { error: err });
      }
    }
  }

  complete(): void {
    if (this.#completed) return;
    this.#completed = true;
    for (const s of this.#subs) s.complete?.();
    this.#subs.clear();
  }
}

