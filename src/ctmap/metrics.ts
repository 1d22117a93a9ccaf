/**
 * Prometheus metrics (Cilium pkg/metrics names) on a registry the caller
 * passes. prom-client refuses a second metric of the same name on one
 * registry, so each metric is created once per registry and shared.
 */
import { Gauge, type Registry } from 'prom-client';

export const MapPressureMetricName = 'cilium_bpf_map_pressure';

/** The map_name label: the map's name without Cilium's "cilium_" prefix. */
export function mapPressureLabel(name: string): string {
  return name.startsWith('cilium_') ? name.slice('cilium_'.length) : name;
}

const pressureGauges = new WeakMap<Registry, Gauge<'map_name'>>();

export function mapPressureGauge(registry: Registry): Gauge<'map_name'> {
  let g = pressureGauges.get(registry);
  if (g === undefined) {
    const existing = registry.getSingleMetric(MapPressureMetricName);
    g = existing instanceof Gauge
      ? existing
      : new Gauge({ name: MapPressureMetricName, help: 'Fill percentage of map, tagged by map name', labelNames: ['map_name'], registers: [registry] });
    pressureGauges.set(registry, g);
  }
  return g;
}
