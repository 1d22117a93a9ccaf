/**
 * Go's `ct-map` cell as a plain object: it builds the global CT maps of the
 * enabled families, opens-or-creates them on start and closes them on stop.
 */
import type { Registry } from 'prom-client';
import type { ConntrackMap } from '../ctmap/ctmap.js';
import { CtMapType, ctMapTypeGlobalName, type CtMapTypeValue } from '../ctmap/types.js';
import type { NatMap } from '../nat/natmap.js';
import { newMap, WithRegistry, type MapOption } from './ctmap.js';
import { InitMapInfo } from './process.js';

export interface CTMapsConfig {
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  /** Enables the maps' pressure gauges. */
  readonly registry?: Registry;
  /** The global NAT maps GC follows up on (Go's cell takes them from the NAT cell and calls InitMapInfo). */
  readonly nat4?: NatMap;
  readonly nat6?: NatMap;
}

export class CTMaps {
  readonly #tcp4: ConntrackMap | undefined;
  readonly #any4: ConntrackMap | undefined;
  readonly #tcp6: ConntrackMap | undefined;
  readonly #any6: ConntrackMap | undefined;

  constructor(cfg: CTMapsConfig) {
    InitMapInfo(cfg.nat4, cfg.nat6);
    const opts: MapOption[] = cfg.registry === undefined ? [] : [WithRegistry(cfg.registry)];
    const build = (t: CtMapTypeValue): ConntrackMap => newMap(ctMapTypeGlobalName(t), t, ...opts);
    if (cfg.ipv4) {
      this.#any4 = build(CtMapType.IPv4AnyGlobal);
      this.#tcp4 = build(CtMapType.IPv4TCPGlobal);
    }
    if (cfg.ipv6) {
      this.#any6 = build(CtMapType.IPv6AnyGlobal);
      this.#tcp6 = build(CtMapType.IPv6TCPGlobal);
    }
  }

  /** The maps in use, in the order v4 TCP, v4 Any, v6 TCP, v6 Any: GC pairs neighbours as (TCP, Any). */
  activeMaps(): ConntrackMap[] {
    return [this.#tcp4, this.#any4, this.#tcp6, this.#any6].filter((m): m is ConntrackMap => m !== undefined);
  }

  /**
   * The start hook: open-or-create every active map. On a failure the maps
   * this call opened are closed again, so a failed start holds no fds.
   */
  start(): void {
    const opened: ConntrackMap[] = [];
    for (const m of this.activeMaps()) {
      try {
        m.openOrCreate();
        opened.push(m);
      } catch (err) {
        for (const o of opened) o.close();
        throw new Error(`failed to open and create ${m.name} map: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  /** The stop hook: close every active map. */
  stop(): void {
    for (const m of this.activeMaps()) {
      try {
        m.close();
      } catch (err) {
        throw new Error(`failed to close ${m.name} map: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `CTMaps [${this.activeMaps().map((m) => m.name).join(', ')}]`;
  }

  toJSON(): unknown[] {
    return this.activeMaps().map((m) => m.toJSON());
  }
}

export function newCTMaps(cfg: CTMapsConfig): CTMaps {
  return new CTMaps(cfg);
}
