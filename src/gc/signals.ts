/**
 * The datapath's CT and NAT fill-up signals (ctmap.md §14.3), as the GC
 * loop consumes them: a buffered channel with mute/unmute, and the wait that
 * races the interval timer against the first signal.
 */

export const SignalProtoV4 = 0;
export const SignalProtoV6 = 1;
export const SignalProtoMax = 2;

/** A buffered (1024) signal channel with mute/unmute, as Cilium's signal handler offers. */
export class SignalQueue {
  readonly capacity: number;
  readonly #queue: number[] = [];
  #muted = false;
  #closed = false;
  #waiter: ((v: number | null) => void) | undefined;

  constructor(capacity = 1024) {
    this.capacity = capacity;
  }

  /** A datapath signal; dropped while muted, when full or after close. Returns whether it was taken. */
  push(proto: number): boolean {
    if (proto !== SignalProtoV4 && proto !== SignalProtoV6) throw new RangeError(`signal data must be ${SignalProtoV4} (ipv4) or ${SignalProtoV6} (ipv6), got ${String(proto)}`);
    if (this.#muted || this.#closed || this.#queue.length >= this.capacity) return false;
    const w = this.#waiter;
    if (w !== undefined) {
      this.#waiter = undefined;
      w(proto);
      return true;
    }
    this.#queue.push(proto);
    return true;
  }

  mute(): void { this.#muted = true; }
  unmute(): void { this.#muted = false; }
  get muted(): boolean { return this.#muted; }

  close(): void {
    this.#closed = true;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.(null);
  }

  get closed(): boolean { return this.#closed; }

  /** Everything queued now (the loop ORs these families in). */
  drain(): number[] {
    return this.#queue.splice(0, this.#queue.length);
  }

  /** The next signal, or null once closed. */
  next(): Promise<number | null> {
    const v = this.#queue.shift();
    if (v !== undefined) return Promise.resolve(v);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => { this.#waiter = resolve; });
  }

  /** Stop waiting (the loop's timer won). */
  cancelWait(): void {
    this.#waiter = undefined;
  }
}

/** Why the loop woke up: the interval elapsed, signals arrived (their families), or the channel closed. */
export type WakeReason = { readonly kind: 'timer' } | { readonly kind: 'signal'; readonly protos: readonly number[] } | { readonly kind: 'closed' };

/** Wait for `interval` ms or the first signal, whichever comes first; `stop` ends the wait as 'closed'. */
export type WaitFn = (interval: number, signals: SignalQueue, stop: AbortSignal) => Promise<WakeReason>;

export const realWait: WaitFn = (interval, signals, stop) => new Promise((resolve) => {
  let done = false;
  const finish = (r: WakeReason): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    stop.removeEventListener('abort', onAbort);
    signals.cancelWait();
    resolve(r);
  };
  const onAbort = (): void => { finish({ kind: 'closed' }); };
  const timer = setTimeout(() => { finish({ kind: 'timer' }); }, interval);
  stop.addEventListener('abort', onAbort, { once: true });
  if (stop.aborted) onAbort();
  void signals.next().then((p) => {
    if (p === null) finish({ kind: 'closed' });
    else finish({ kind: 'signal', protos: [p, ...signals.drain()] });
  });
});
