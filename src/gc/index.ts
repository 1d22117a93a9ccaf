// ctmap/gc: the GC runner (Cilium pkg/maps/ctmap/gc) — its own package above ctmap, as in Cilium.
export { Observable, type Subscription } from './observable.js';
export { calculateInterval, getInterval, GCIntervalStart, GCIntervalMin, GCIntervalMaxLRU } from './interval.js';
export { SignalQueue, SignalProtoV4, SignalProtoV6, SignalProtoMax, realWait, type WakeReason, type WaitFn } from './signals.js';
export {
  GCRunner, NewFakeGCRunner, type GCRunnerLike, type GCRunnerOptions, type GCConfig, type PassResult, type SchedulerDeps,
} from './runner.js';
