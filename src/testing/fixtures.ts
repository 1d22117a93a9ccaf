/**
 * Recorded nodes: CT and SNAT maps written by Cilium's own datapath and
 * captured byte for byte (a folder with `manifest.json` and one
 * `<map>.hex` per map: `<key hex> <value hex>` per line, in the kernel's
 * iteration order). This module reads a scenario, refusing a manifest it
 * does not understand, and restores it into a bpffs: every map created with
 * the manifest's type, sizes and flags, filled with update batches in the
 * recorded order, and checked to hold exactly the recorded entries.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap, unpinPath, type MapSpec } from '../syscall/map.js';
import { removeMemlock } from '../syscall/memlock.js';
import { MapType } from '../syscall/attr.js';
import { describe } from '../structs/describe.js';
import type { Settings } from '../datapath/settings.js';

export interface ScenarioMap {
  readonly name: string;
  readonly type: 'lru_hash' | 'hash';
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly entries: number;
  readonly file: string;
}

export interface Scenario {
  readonly name: string;
  readonly dir: string;
  /** When the maps were captured, in seconds of the datapath's clock (CLOCK_MONOTONIC under ktime). */
  readonly captureS: number;
  readonly clockSource: 'ktime';
  readonly ciliumCommit: string;
  readonly maps: readonly ScenarioMap[];
}

/** One recorded entry: its key and value bytes. */
export interface RecordedEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

const mapTypes: Readonly<Record<string, number>> = { lru_hash: MapType.LRUHash, hash: MapType.Hash };
const mapFields = ['name', 'type', 'key_size', 'value_size', 'max_entries', 'map_flags', 'entries', 'file'];

function fail(dir: string, why: string): never {
  throw new Error(`recorded scenario ${dir}: ${why}`);
}

function int(dir: string, v: unknown, what: string, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(dir, `${what} must be an integer ≥ ${min}, got ${describe(v)}`);
  return v;
}

/** Read and check a scenario's manifest. */
export function readScenario(dir: string): Scenario {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) fail(dir, 'no manifest.json');
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail(dir, 'the manifest is not an object');
  const m = parsed as Record<string, unknown>;
  const clock = m.clock_source;
  if (typeof clock !== 'string' || !clock.startsWith('ktime')) fail(dir, `clock_source ${describe(clock)} is not one this reader knows (ktime)`);
  const fmt = m.hex_format;
  if (typeof fmt !== 'string' || !fmt.startsWith('one line per entry') || !fmt.includes('<key hex> <value hex>')) fail(dir, `hex_format ${describe(fmt)} is not one this reader knows`);
  const capture = m.capture_monotonic_s;
  if (typeof capture !== 'number' || !Number.isFinite(capture) || capture <= 0) fail(dir, `capture_monotonic_s must be a positive number, got ${describe(capture)}`);
  if (!Array.isArray(m.maps) || m.maps.length === 0) fail(dir, 'maps must be a non-empty list');
  const seen = new Set<string>();
  const maps = (m.maps as unknown[]).map((x, i): ScenarioMap => {
    if (typeof x !== 'object' || x === null) fail(dir, `maps[${i}] is not an object`);
    const o = x as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!mapFields.includes(k)) fail(dir, `maps[${i}] has an unknown field "${k}"`);
    const name = o.name;
    if (typeof name !== 'string' || !/^[a-z0-9_]+$/.test(name) || seen.has(name)) fail(dir, `maps[${i}].name ${describe(name)} is not a new map name`);
    seen.add(name);
    const type = o.type;
    if (typeof type !== 'string' || !(type in mapTypes)) fail(dir, `${name}: map type ${describe(type)} is not one this reader knows (${Object.keys(mapTypes).join(', ')})`);
    const file = o.file;
    if (typeof file !== 'string' || file.includes('/') || !file.endsWith('.hex')) fail(dir, `${name}: file ${describe(file)} must be a .hex file in the scenario folder`);
    return {
      name, type: type as ScenarioMap['type'], keySize: int(dir, o.key_size, `${name}.key_size`, 1),
      valueSize: int(dir, o.value_size, `${name}.value_size`, 1), maxEntries: int(dir, o.max_entries, `${name}.max_entries`, 1),
      flags: int(dir, o.map_flags, `${name}.map_flags`, 0), entries: int(dir, o.entries, `${name}.entries`, 0), file,
    };
  });
  const name = typeof m.scenario === 'string' ? m.scenario : dir.split('/').at(-1) ?? dir;
  return {
    name, dir, captureS: capture, clockSource: 'ktime', ciliumCommit: typeof m.cilium_commit === 'string' ? m.cilium_commit : '', maps,
  };
}

/** The scenarios in a fixtures folder (every sub-folder with a manifest), by name. */
export function listScenarios(root: string): Scenario[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(root, e.name, 'manifest.json')))
    .map((e) => readScenario(join(root, e.name)))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function hexBytes(dir: string, h: string | undefined, size: number, where: string): Uint8Array {
  if (h === undefined || h.length !== 2 * size || !/^[0-9a-f]*$/.test(h)) fail(dir, `${where}: expected ${size} bytes of lowercase hex`);
  return new Uint8Array(Buffer.from(h, 'hex'));
}

/** The recorded entries of one map, in the recorded order. */
export function scenarioEntries(s: Scenario, mapName: string): RecordedEntry[] {
  const m = s.maps.find((x) => x.name === mapName);
  if (m === undefined) fail(s.dir, `no map ${mapName}`);
  if (m.entries === 0 && !existsSync(join(s.dir, m.file))) return [];
  const text = readFileSync(join(s.dir, m.file), 'utf8');
  const lines = text.split('\n').filter((l) => l !== '');
  if (lines.length !== m.entries) fail(s.dir, `${m.file} holds ${lines.length} entries, the manifest says ${m.entries}`);
  return lines.map((l, i) => {
    const [k, v, extra] = l.split(' ');
    if (extra !== undefined) fail(s.dir, `${m.file}:${i + 1}: more than a key and a value`);
    return { key: hexBytes(s.dir, k, m.keySize, `${m.file}:${i + 1} key`), value: hexBytes(s.dir, v, m.valueSize, `${m.file}:${i + 1} value`) };
  });
}

/** The spec a recorded map is restored with. */
export function scenarioSpec(m: ScenarioMap): MapSpec {
  return { name: m.name, type: mapTypes[m.type] as MapSpec['type'], keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags };
}

/**
 * Restore every map of `s` under `settings.bpffs` (pins at
 * `<bpffs>/tc/globals/<name>`), replacing what is pinned there. Each map
 * ends holding exactly its recorded entries, or this throws.
 */
export function restoreScenario(s: Scenario, settings: Settings): void {
  removeMemlock(settings.kernel);
  for (const m of s.maps) {
    const path = settings.pinPath(m.name);
    unpinPath(path);
    const map = BpfMap.create(scenarioSpec(m), { kernel: settings.kernel });
    try {
      const entries = scenarioEntries(s, m.name);
      if (entries.length > 0) {
        const keys = new Uint8Array(entries.length * m.keySize);
        const values = new Uint8Array(entries.length * m.valueSize);
        entries.forEach((e, i) => {
          keys.set(e.key, i * m.keySize);
          values.set(e.value, i * m.valueSize);
        });
        map.updateBatch(keys, values, entries.length);
      }
      const n = map.count();
      if (n !== entries.length) fail(s.dir, `${m.name} holds ${n} entries after the restore, not ${entries.length}`);
      map.pin(path);
    } finally {
      map.close();
    }
  }
}
