/**
 * The SNAT allocation-retries histograms: per-CPU arrays indexed by how
 * many port collisions an allocation needed (0…SnatCollisionRetries, the
 * last slot meaning "gave up"). User space reads one 8-byte slot per
 * possible CPU for each key and sums them.
 */
import { MapType } from '../syscall/attr.js';
import { possibleCPUs } from '../syscall/cpus.js';
import { PinnedMap } from '../datapath/pinned.js';
import type { Settings } from '../datapath/settings.js';
import { getU32, setU32 } from '../structs/bytes.js';
import { MapNameSnat4AllocRetries, MapNameSnat6AllocRetries, SnatCollisionRetries } from './names.js';
import { IPv4, type IPFamily } from './natmap.js';

export class RetriesMap extends PinnedMap {
  readonly family: IPFamily;

  constructor(settings: Settings, family: IPFamily) {
    super(settings, {
      name: family === IPv4 ? MapNameSnat4AllocRetries : MapNameSnat6AllocRetries, type: MapType.PerCPUArray,
      keySize: 4, valueSize: 4, maxEntries: SnatCollisionRetries + 1, flags: 0,
    });
    this.family = family;
  }

  /** Go DumpPerCPUWithCallback: every key with its per-CPU values. */
  dumpPerCPUWithCallback(cb: (key: number, values: number[]) => void): void {
    const m = this.bpfMap;
    const cpus = possibleCPUs();
    const slot = m.valueBufferSize / cpus;
    const k = new Uint8Array(4);
    const v = new Uint8Array(m.valueBufferSize);
    for (let key = 0; key < m.maxEntries; key++) {
      setU32(k, 0, key);
      if (!m.lookupInto(k, v)) continue;
      const values: number[] = [];
      for (let c = 0; c < cpus; c++) values.push(getU32(v, c * slot));
      cb(key, values);
    }
  }

  /** The histogram summed over CPUs: one figure per retry count. */
  sums(): number[] {
    const out: number[] = [];
    this.dumpPerCPUWithCallback((key, values) => { out[key] = values.reduce((a, b) => a + b, 0); });
    return out;
  }

  /** Go ClearAll: overwrite every key's value with zeroes on every CPU (keys of an array cannot be deleted). */
  clearAll(): void {
    const m = this.bpfMap;
    const k = new Uint8Array(4);
    const zero = new Uint8Array(m.valueBufferSize);
    for (let key = 0; key < m.maxEntries; key++) {
      setU32(k, 0, key);
      m.set(k, zero);
    }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `RetriesMap(${this.name} ${this.isOpen ? 'open' : 'closed'}) @ ${this.path()}`;
  }
}

/** The retries maps of the enabled families. */
export function retriesMaps(settings: Settings, ipv4: boolean, ipv6: boolean): RetriesMap[] {
  const out: RetriesMap[] = [];
  if (ipv4) out.push(new RetriesMap(settings, 'ipv4'));
  if (ipv6) out.push(new RetriesMap(settings, 'ipv6'));
  return out;
}
