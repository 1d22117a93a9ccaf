/**
 * Prometheus metrics (Cilium pkg/metrics names) on a registry the caller
 * passes. prom-client refuses a second metric of the same name on one
 * registry, so each metric is created once per registry and shared.
 * Without a registry nothing is recorded and nothing is allocated.
 */
import { createRequire } from 'node:module';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * prom-client, loaded on first use: it costs ~60 ms to load, and a CLI command
 * or a library user without a registry never needs it (issue: start-up).
 * It is CommonJS, so require() loads it synchronously where a metric is made.
 */
let promClient: typeof import('prom-client') | undefined;
function prom(): typeof import('prom-client') {
  promClient ??= createRequire(import.meta.url)('prom-client') as typeof import('prom-client');
  return promClient;
}

export const MapPressureMetricName = 'cilium_bpf_map_pressure';
export const NatGCEntriesMetricName = 'cilium_datapath_nat_gc_entries';
/** Cilium's NatGCDeletedTotal (pkg/metrics); the name follows Cilium's `<namespace>_<subsystem>_<name>` convention. */
export const NatGCDeletedMetricName = 'cilium_datapath_nat_gc_deleted_total';
export const ConntrackGCRunsMetricName = 'cilium_datapath_conntrack_gc_runs_total';
export const ConntrackGCEntriesMetricName = 'cilium_datapath_conntrack_gc_entries';
export const ConntrackGCDurationMetricName = 'cilium_datapath_conntrack_gc_duration_seconds';
export const ConntrackGCKeyFallbacksMetricName = 'cilium_datapath_conntrack_gc_key_fallbacks_total';
export const ConntrackDumpResetsMetricName = 'cilium_datapath_conntrack_dump_resets_total';
export const ConntrackGCIntervalMetricName = 'cilium_datapath_conntrack_gc_interval_seconds';

/** The map_name label: the map's name without Cilium's "cilium_" prefix. */
export function mapPressureLabel(name: string): string {
  return name.startsWith('cilium_') ? name.slice('cilium_'.length) : name;
}

type Metric = Gauge | Counter | Histogram;

type Kind = 'Gauge' | 'Counter' | 'Histogram';

function shared<M extends Metric>(registry: Registry, name: string, kindName: Kind, make: () => M): M {
  const kind = prom()[kindName] as unknown as abstract new (...args: never[]) => M;
  const existing = registry.getSingleMetric(name);
  if (existing instanceof kind) return existing;
  if (existing !== undefined) throw new Error(`metric ${name} is already registered with another type`);
  return make();
}

export function mapPressureGauge(registry: Registry): Gauge<'map_name'> {
  return shared(registry, MapPressureMetricName, 'Gauge', () => new (prom().Gauge)({
    name: MapPressureMetricName, help: 'Fill percentage of map, tagged by map name', labelNames: ['map_name'], registers: [registry],
  }));
}

/** What a map reports its pressure to: the gauge on `registry` under the map's label, or nothing. */
export function pressureSink(registry: Registry | undefined, mapName: string): ((pressure: number) => void) | undefined {
  if (registry === undefined) return undefined;
  const gauge = mapPressureGauge(registry);
  const labels = { map_name: mapPressureLabel(mapName) };
  return (pressure) => { gauge.set(labels, pressure); };
}

/** nat_gc_entries{family, direction="ingress"|"egress", status="alive"|"deleted"}, set by the orphan purge. */
export function natGCEntriesGauge(registry: Registry): Gauge<'family' | 'direction' | 'status'> {
  return shared(registry, NatGCEntriesMetricName, 'Gauge', () => new (prom().Gauge)({
    name: NatGCEntriesMetricName, help: 'The number of alive and deleted nat entries', labelNames: ['family', 'direction', 'status'], registers: [registry],
  }));
}

/** nat_gc_deleted_total{family, direction}: incremented by every orphan purge with what it deleted. */
export function natGCDeletedCounter(registry: Registry): Counter<'family' | 'direction'> {
  return shared(registry, NatGCDeletedMetricName, 'Counter', () => new (prom().Counter)({
    name: NatGCDeletedMetricName, help: 'The number of nat entries deleted by the orphan purge', labelNames: ['family', 'direction'], registers: [registry],
  }));
}

type GCLabels = 'family' | 'protocol' | 'status';

/** The metrics a CT GC pass records (ctmap.md §12). */
export interface GCMetrics {
  readonly runs: Counter<GCLabels>;
  readonly entries: Gauge<GCLabels>;
  readonly duration: Histogram<GCLabels>;
  readonly keyFallbacks: Counter<'family' | 'protocol'>;
  readonly dumpResets: Counter<'area' | 'name' | 'family'>;
}

export function gcMetrics(registry: Registry): GCMetrics {
  const registers = [registry];
  return {
    runs: shared(registry, ConntrackGCRunsMetricName, 'Counter', () => new (prom().Counter)({
      name: ConntrackGCRunsMetricName, help: 'Number of times that the conntrack garbage collector process was run', labelNames: ['family', 'protocol', 'status'], registers,
    })),
    entries: shared(registry, ConntrackGCEntriesMetricName, 'Gauge', () => new (prom().Gauge)({
      name: ConntrackGCEntriesMetricName, help: 'The number of alive and deleted conntrack entries at the end of a garbage collector run', labelNames: ['family', 'protocol', 'status'], registers,
    })),
    duration: shared(registry, ConntrackGCDurationMetricName, 'Histogram', () => new (prom().Histogram)({
      name: ConntrackGCDurationMetricName, help: 'Duration in seconds of the garbage collector process', labelNames: ['family', 'protocol', 'status'], registers,
    })),
    keyFallbacks: shared(registry, ConntrackGCKeyFallbacksMetricName, 'Counter', () => new (prom().Counter)({
      name: ConntrackGCKeyFallbacksMetricName, help: 'Number of times a key fallback was needed when iterating over the BPF map', labelNames: ['family', 'protocol'], registers,
    })),
    dumpResets: shared(registry, ConntrackDumpResetsMetricName, 'Counter', () => new (prom().Counter)({
      name: ConntrackDumpResetsMetricName, help: 'Number of times a dump had to restart', labelNames: ['area', 'name', 'family'], registers,
    })),
  };
}

export function gcIntervalGauge(registry: Registry): Gauge<'global'> {
  return shared(registry, ConntrackGCIntervalMetricName, 'Gauge', () => new (prom().Gauge)({
    name: ConntrackGCIntervalMetricName, help: 'Interval of conntrack garbage collector', labelNames: ['global'], registers: [registry],
  }));
}
