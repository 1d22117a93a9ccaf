/**
 * `ctmap exporter`: a Prometheus endpoint for a node's CT and NAT maps.
 *
 * Every `--interval` it reads the maps once (the same counts as `ct stats`
 * and `nat stats`) and sets gauges; a scrape returns the last figures, so
 * scrapes cost nothing and never race a collection. With `--gc` it also runs
 * Cilium's GC loop (the library's GCRunner: adaptive interval, Cilium's
 * `cilium_datapath_conntrack_gc_*` metrics); with `--purge-orphans` the orphan
 * NAT purge runs after every collection and feeds Cilium's
 * `cilium_datapath_nat_gc_entries` and `cilium_datapath_nat_gc_deleted_total`.
 *
 * Series (besides Cilium's):
 *   ctmap_map_entries{map}, ctmap_map_max_entries{map}, cilium_bpf_map_pressure{map_name}
 *   ctmap_ct_entries_by_protocol{map,proto}, ctmap_ct_entries_by_direction{map,dir}, ctmap_ct_expired_entries{map}
 *   ctmap_snat_mappings{family,address,proto}, ctmap_snat_ports_in_use{family,address,proto},
 *   ctmap_snat_port_range_size{family,address,proto}, ctmap_snat_busiest_remote_ports{family,address,proto}
 *   ctmap_collect_duration_seconds, ctmap_collect_errors_total, ctmap_last_collect_timestamp_seconds
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { ctStats } from '../ctmap/stats.js';
import { natStats } from '../nat/stats.js';
import type { GCRunner } from '../gc/runner.js';
import { openIfPinned } from '../node/sets.js';
import type { Node } from '../node/node.js';
import { CliError, cliNode, type GlobalOptions } from './context.js';
import { parseMode } from './ct.js';
import { parsePortRange } from './stats.js';
import { parseDuration } from './watch.js';

export interface ExporterOptions {
  readonly listen?: string;
  readonly interval?: string;
  readonly gc?: boolean;
  readonly mode?: string;
  readonly purgeOrphans?: boolean;
  readonly portRange?: string;
}

/** `host:port` or `[v6]:port`; port 0 picks a free one. */
export function parseListen(v: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(v) ?? /^([^:]+):(\d+)$/.exec(v);
  if (m === null || Number(m[2]) > 65535) throw new CliError(`invalid --listen ${JSON.stringify(v)} (host:port, e.g. 127.0.0.1:9964)`);
  return { host: m[1] ?? '', port: Number(m[2]) };
}

class ExporterMetrics {
  readonly entries: Gauge<'map'>;
  readonly maxEntries: Gauge<'map'>;
  readonly byProto: Gauge<'map' | 'proto'>;
  readonly byDir: Gauge<'map' | 'dir'>;
  readonly expired: Gauge<'map'>;
  readonly snatMappings: Gauge<'family' | 'address' | 'proto'>;
  readonly snatPorts: Gauge<'family' | 'address' | 'proto'>;
  readonly snatRange: Gauge<'family' | 'address' | 'proto'>;
  readonly snatBusiest: Gauge<'family' | 'address' | 'proto'>;
  readonly duration: Gauge;
  readonly errors: Counter;
  readonly last: Gauge;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.entries = new Gauge({ name: 'ctmap_map_entries', help: 'Entries in the map', labelNames: ['map'], registers });
    this.maxEntries = new Gauge({ name: 'ctmap_map_max_entries', help: 'The map\'s max_entries', labelNames: ['map'], registers });
    this.byProto = new Gauge({ name: 'ctmap_ct_entries_by_protocol', help: 'CT entries by protocol', labelNames: ['map', 'proto'], registers });
    this.byDir = new Gauge({ name: 'ctmap_ct_entries_by_direction', help: 'CT entries by direction (IN, OUT, SVC)', labelNames: ['map', 'dir'], registers });
    this.expired = new Gauge({ name: 'ctmap_ct_expired_entries', help: 'CT entries whose lifetime has passed (left for the next GC)', labelNames: ['map'], registers });
    const snat = ['family', 'address', 'proto'] as const;
    this.snatMappings = new Gauge({ name: 'ctmap_snat_mappings', help: 'RevSNAT entries per external address and protocol', labelNames: snat, registers });
    this.snatPorts = new Gauge({ name: 'ctmap_snat_ports_in_use', help: 'Distinct SNAT ports taken per external address and protocol', labelNames: snat, registers });
    this.snatRange = new Gauge({ name: 'ctmap_snat_port_range_size', help: 'Ports in the SNAT range for the protocol', labelNames: snat, registers });
    this.snatBusiest = new Gauge({ name: 'ctmap_snat_busiest_remote_ports', help: 'Ports taken toward the busiest remote endpoint (a new connection to it fails when this reaches the range size)', labelNames: snat, registers });
    this.duration = new Gauge({ name: 'ctmap_collect_duration_seconds', help: 'How long the last collection took', registers });
    this.errors = new Counter({ name: 'ctmap_collect_errors_total', help: 'Collections that failed', registers });
    this.last = new Gauge({ name: 'ctmap_last_collect_timestamp_seconds', help: 'When the last collection ended (Unix time)', registers });
  }

  /** One read of every map; series of maps or addresses that went away are dropped. */
  collect(node: Node, o: { readonly purge: boolean; readonly portRange: ReturnType<typeof parsePortRange> }): void {
    const t0 = performance.now();
    for (const g of [this.entries, this.maxEntries, this.byProto, this.byDir, this.expired, this.snatMappings, this.snatPorts, this.snatRange, this.snatBusiest]) g.reset();
    for (const m of node.ct.maps()) {
      if (!openIfPinned(m)) continue;
      const s = ctStats([m], { top: 0, capacity: 1 });
      const fill = s.maps[0];
      if (fill === undefined) continue;
      this.entries.set({ map: m.name }, fill.entries);
      this.maxEntries.set({ map: m.name }, fill.maxEntries);
      m.updatePressureMetricWithSize(fill.entries);
      for (const [proto, n] of Object.entries(s.byProto)) this.byProto.set({ map: m.name, proto }, n);
      for (const [dir, n] of Object.entries(s.byDir)) this.byDir.set({ map: m.name, dir }, n);
      this.expired.set({ map: m.name }, s.lifetime[0]?.count ?? 0);
    }
    for (const m of node.nat.maps()) {
      if (!openIfPinned(m)) continue;
      const s = natStats([m], { top: 0, portRange: o.portRange });
      const fill = s.maps[0];
      if (fill === undefined) continue;
      this.entries.set({ map: m.name }, fill.entries);
      this.maxEntries.set({ map: m.name }, fill.maxEntries);
      m.updatePressureMetricWithSize(fill.entries);
      for (const u of s.snat) {
        const labels = { family: m.family, address: u.external, proto: u.proto };
        this.snatMappings.set(labels, u.mappings);
        this.snatPorts.set(labels, u.ports);
        this.snatRange.set(labels, u.rangeSize);
        this.snatBusiest.set(labels, u.busiest?.ports ?? 0);
      }
    }
    if (o.purge) node.purgeOrphans({ registry: this.registry });
    this.duration.set((performance.now() - t0) / 1000);
    this.last.set(Date.now() / 1000);
  }
}

export async function exporter(o: ExporterOptions, g: GlobalOptions, signal?: AbortSignal): Promise<void> {
  const { host, port } = parseListen(o.listen ?? '127.0.0.1:9964');
  const interval = parseDuration(o.interval ?? '30s', '--interval');
  const mode = parseMode(o.mode);
  const portRange = parsePortRange(o.portRange);
  const registry = new Registry();
  const node = cliNode(g, { registry });
  const metrics = new ExporterMetrics(registry);
  let runner: GCRunner | undefined;
  let server: Server | undefined;
  const collect = (): void => {
    try {
      metrics.collect(node, { purge: o.purgeOrphans === true, portRange });
    } catch (err) {
      metrics.errors.inc();
      process.stderr.write(`collection failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  };
  try {
    collect();
    if (o.gc === true) {
      runner = node.runner({ registry, mode });
      runner.enable();
    }
    server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; metrics are at /metrics\n');
        return;
      }
      if (req.url === '/') {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<a href="/metrics">ctmap metrics</a>\n');
        return;
      }
      registry.metrics().then((text) => { res.writeHead(200, { 'content-type': registry.contentType }).end(text); },
        (err: unknown) => { res.writeHead(500).end(String(err)); });
    });
    const srv = server;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', (err) => { reject(new CliError(`cannot listen on ${o.listen ?? '127.0.0.1:9964'}: ${err.message}`, err)); });
      srv.listen(port, host, () => { resolve(); });
    });
    const addr = srv.address();
    const shown = typeof addr === 'object' && addr !== null ? `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}` : String(addr);
    process.stderr.write(`ctmap exporter listening on http://${shown}/metrics (collecting every ${interval} ms${o.gc === true ? ', GC loop on' : ''})\n`);
    const timer = setInterval(collect, interval);
    await new Promise<void>((resolve) => {
      const stop = (): void => { clearInterval(timer); resolve(); };
      if (signal !== undefined) signal.addEventListener('abort', stop, { once: true });
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  } finally {
    await runner?.stop();
    const srv = server;
    if (srv !== undefined) await new Promise<void>((resolve) => { srv.close(() => { resolve(); }); srv.closeAllConnections(); });
    node.close();
  }
}
