/**
 * Prometheus metrics (Cilium pkg/metrics names) on a registry the caller
 * passes. prom-client refuses a second metric of the same name on one
 * registry, so each metric is created once per registry and shared.
 */
import { Gauge, type Registry } from 'prom-client';

export const MapPressureMetricName = 'cilium_bpf_map_pressure';
export const NatGCEntriesMetricName = 'cilium_datapath_nat_gc_entries';

/** The map_name label: the map's name without Cilium's "cilium_" prefix. */
export function mapPressureLabel(name: string): string {
  return name.startsWith('cilium_') ? name.slice('cilium_'.length) : name;
}

function sharedGauge<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[]): Gauge<L> {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Gauge) return existing;
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

export function mapPressureGauge(registry: Registry): Gauge<'map_name'> {
  return sharedGauge(registry, MapPressureMetricName, 'Fill percentage of map, tagged by map name', ['map_name']);
}

/** nat_gc_entries{family, direction="ingress"|"egress", status="alive"|"deleted"}, set by the orphan purge. */
export function natGCEntriesGauge(registry: Registry): Gauge<'family' | 'direction' | 'status'> {
  return sharedGauge(registry, NatGCEntriesMetricName, 'The number of alive and deleted nat entries', ['family', 'direction', 'status']);
}
