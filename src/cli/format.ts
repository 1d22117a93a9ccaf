/**
 * `-o, --output`: cilium-dbg's three machine formats next to the text.
 *
 * - `json`: Go's MarshalIndent, then the empty line cilium-dbg's printer
 *   adds; records stream out one at a time.
 * - `yaml`: yaml.v3's layout (./yaml.ts), streamed a sequence item at a
 *   time, then Println's empty line.
 * - `jsonpath=<template>`: the template over the value `-o json` prints
 *   (./jsonpath.ts). A template needs the whole value, so the records are
 *   held until the end, as cilium-dbg holds them; `--limit` bounds that.
 */
import type { JsonObject, JsonValue } from '../structs/json.js';
import { CliError } from './context.js';
import { JsonArrayWriter, type SyncWriter } from './output.js';
import { JsonPathError, JsonPathTemplate } from './jsonpath.js';
import { marshalYAML, yamlSequenceItem } from './yaml.js';

export type OutputKind = 'text' | 'json' | 'yaml' | 'jsonpath';

export interface OutputFormat {
  readonly kind: OutputKind;
  readonly template?: JsonPathTemplate;
}

/** Parse `-o`; `allowed` lists what the command offers besides text. */
export function parseOutput(o: string | undefined, allowed: readonly OutputKind[] = ['json', 'yaml', 'jsonpath']): OutputFormat {
  if (o === undefined || o === '') return { kind: 'text' };
  const m = /^jsonpath=(.*)$/s.exec(o);
  const kind: string = m === null ? o : 'jsonpath';
  if (!(allowed as readonly string[]).includes(kind)) {
    const names = allowed.map((a) => (a === 'jsonpath' ? 'jsonpath=<template>' : a));
    throw new CliError(`unsupported output format ${JSON.stringify(o)} (use ${names.length === 1 ? `-o ${names[0] ?? ''}` : `one of: ${names.join(', ')}`})`);
  }
  if (kind === 'json' || kind === 'yaml') return { kind };
  if (kind === 'jsonpath') {
    try {
      return { kind, template: new JsonPathTemplate(m?.[1] ?? '') };
    } catch (err) {
      if (err instanceof JsonPathError) throw new CliError(`invalid jsonpath template ${JSON.stringify(m?.[1] ?? '')}: ${err.message}`, err);
      throw err;
    }
  }
  throw new CliError(`unsupported output format ${JSON.stringify(o)}`);
}

/** Something that can show itself in Go's JSON and in yaml.v3's shape. */
export interface GoShaped {
  toGoJSON(): JsonObject;
  toGoYAML?(): JsonObject;
}

/** A list written in one of the machine formats, an element at a time. */
export interface ListSink {
  add(v: GoShaped | JsonValue): void;
  end(): void;
}

function isGoShaped(v: unknown): v is GoShaped {
  return typeof v === 'object' && v !== null && 'toGoJSON' in v && typeof v.toGoJSON === 'function';
}

function jsonOf(v: GoShaped | JsonValue): JsonValue {
  return isGoShaped(v) ? v.toGoJSON() : v;
}

function yamlOf(v: GoShaped | JsonValue): JsonValue {
  if (!isGoShaped(v)) return v;
  return v.toGoYAML === undefined ? v.toGoJSON() : v.toGoYAML();
}

/** The sink for a list in `fmt` (not text). */
export function listSink(fmt: OutputFormat, out: SyncWriter): ListSink {
  if (fmt.kind === 'json') {
    const arr = new JsonArrayWriter(out);
    return { add: (v) => { arr.add(jsonOf(v)); }, end: () => { arr.end(); } };
  }
  if (fmt.kind === 'yaml') {
    let any = false;
    return {
      add: (v) => { any = true; out.write(yamlSequenceItem(yamlOf(v))); },
      end: () => { out.write(any ? '\n' : '[]\n\n'); },
    };
  }
  const template = fmt.template;
  if (fmt.kind !== 'jsonpath' || template === undefined) throw new CliError('text output has no list sink');
  const items: JsonValue[] = [];
  return { add: (v) => { items.push(jsonOf(v)); }, end: () => { out.write(`${template.execute(items)}\n`); } };
}

/** One value (not a list) in `fmt`. */
export function writeValue(fmt: OutputFormat, out: SyncWriter, v: GoShaped | JsonValue, marshalJSON: (v: JsonValue) => string): void {
  if (fmt.kind === 'json') out.write(`${marshalJSON(jsonOf(v))}\n\n`);
  else if (fmt.kind === 'yaml') out.write(`${marshalYAML(yamlOf(v))}\n`);
  else if (fmt.kind === 'jsonpath' && fmt.template !== undefined) out.write(`${fmt.template.execute(jsonOf(v))}\n`);
  else throw new CliError('text output is written by the command');
}
