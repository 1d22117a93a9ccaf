/**
 * Records: a key with its value, as Go's CtMapRecord / NatMapRecord. They
 * are what the JSON output lists and what mock maps hold.
 */
import { CtKey4Global, CtKey6Global, NatKey4, NatKey6, type CtKey, type NatKey } from './tuple.js';
import { CtEntry } from './ctentry.js';
import { NatEntry4, NatEntry6, type NatEntry } from './natentry.js';
import { describe } from './describe.js';
import { marshalIndent, parseJSON, type JsonObject } from './json.js';

const inspect = Symbol.for('nodejs.util.inspect.custom');

/** yaml.v3's field names: a Go field without a yaml tag is keyed by its name lowercased. */
function lowerKeys(o: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) out[k.toLowerCase()] = v;
  return out;
}

/**
 * A CT or NAT key as yaml.v3 marshals it. CtKey4Global and NatKey4 embed
 * tuple.TupleKey4Global, which embeds TupleKey4 (the v6 keys likewise); an
 * embedded struct without `yaml:",inline"` is a nested mapping keyed by its
 * type name lowercased — unlike encoding/json, which flattens it.
 */
function yamlTuple(key: CtKey | NatKey): JsonObject {
  const fields = lowerKeys(key.toJSON());
  return key.raw.length === 14 ? { tuplekey4global: { tuplekey4: fields } } : { tuplekey6global: { tuplekey6: fields } };
}

function keyFamily(v: unknown, what: string): 4 | 6 {
  if (typeof v !== 'object' || v === null) throw new TypeError(`${what}.Key: expected a JSON object, got ${describe(v)}`);
  const d = (v as Record<string, unknown>).DestAddr;
  if (Array.isArray(d) && d.length === 4) return 4;
  if (Array.isArray(d) && d.length === 16) return 6;
  throw new TypeError(`${what}.Key.DestAddr: expected an array of 4 or 16 numbers`);
}

function recordParts(v: unknown, what: string): [unknown, unknown] {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TypeError(`${what}: expected {"Key":…,"Value":…}, got ${describe(v)}`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'Key' && k !== 'Value') throw new TypeError(`${what}: unknown field "${k}"`);
  return [o.Key, o.Value];
}

export class CtMapRecord {
  readonly key: CtKey;
  readonly value: CtEntry;

  constructor(key: CtKey, value: CtEntry) {
    if (!(key instanceof CtKey4Global) && !(key instanceof CtKey6Global)) throw new TypeError(`CtMapRecord: key must be a CtKey4Global or CtKey6Global, got ${describe(key)}`);
    if (!(value instanceof CtEntry)) throw new TypeError(`CtMapRecord: value must be a CtEntry, got ${describe(value)}`);
    this.key = key;
    this.value = value;
  }

  toGoJSON(): JsonObject { return { Key: this.key.toJSON(), Value: this.value.toGoJSON() }; }
  toJSON(): JsonObject { return { Key: this.key.toJSON(), Value: this.value.toJSON() }; }
  /** The record as cilium-dbg's `-o yaml` (yaml.v3) shows it. */
  toGoYAML(): JsonObject { return { key: yamlTuple(this.key), value: lowerKeys(this.value.toGoJSON()) }; }

  static fromJSON(v: unknown): CtMapRecord {
    const [k, val] = recordParts(v, 'CtMapRecord');
    const key = keyFamily(k, 'CtMapRecord') === 4 ? CtKey4Global.fromJSON(k) : CtKey6Global.fromJSON(k);
    return new CtMapRecord(key, CtEntry.fromJSON(val));
  }

  [inspect](): string {
    return `CtMapRecord ${(this.key.toHost().dump(true) ?? this.key.toString())}${this.value.toString().trimEnd()}`;
  }
}

export class NatMapRecord {
  readonly key: NatKey;
  readonly value: NatEntry;

  constructor(key: NatKey, value: NatEntry) {
    const v4 = key instanceof NatKey4 && value instanceof NatEntry4;
    const v6 = key instanceof NatKey6 && value instanceof NatEntry6;
    if (!v4 && !v6) throw new TypeError('NatMapRecord: key and value must be NatKey4+NatEntry4 or NatKey6+NatEntry6');
    this.key = key;
    this.value = value;
  }

  toGoJSON(): JsonObject { return { Key: this.key.toJSON(), Value: this.value.toGoJSON() }; }
  toJSON(): JsonObject { return { Key: this.key.toJSON(), Value: this.value.toJSON() }; }
  /** The record as cilium-dbg's `-o yaml` (yaml.v3) shows it. */
  toGoYAML(): JsonObject { return { key: yamlTuple(this.key), value: lowerKeys(this.value.toGoJSON()) }; }

  static fromJSON(v: unknown): NatMapRecord {
    const [k, val] = recordParts(v, 'NatMapRecord');
    return keyFamily(k, 'NatMapRecord') === 4
      ? new NatMapRecord(NatKey4.fromJSON(k), NatEntry4.fromJSON(val))
      : new NatMapRecord(NatKey6.fromJSON(k), NatEntry6.fromJSON(val));
  }

  [inspect](): string {
    const hk = this.key.toHost();
    return `NatMapRecord ${(hk.dump(false) ?? this.key.toString())}${this.value.toHost().dump(this.key).trimEnd()}`;
  }
}

function parseArray(text: string, what: string): unknown[] {
  const v = parseJSON(text);
  if (!Array.isArray(v)) throw new TypeError(`${what}: expected a JSON array of records`);
  return v;
}

/** Parse `ctmap ct list -o json` / `cilium-dbg bpf ct list global -o json` output. */
export function parseCtMapRecords(text: string): CtMapRecord[] {
  return parseArray(text, 'CT records').map((r) => CtMapRecord.fromJSON(r));
}

export function parseNatMapRecords(text: string): NatMapRecord[] {
  return parseArray(text, 'NAT records').map((r) => NatMapRecord.fromJSON(r));
}

/** Go's `json.MarshalIndent(records, "", "  ")`. */
export function marshalRecords(records: readonly (CtMapRecord | NatMapRecord)[]): string {
  return marshalIndent(records);
}
