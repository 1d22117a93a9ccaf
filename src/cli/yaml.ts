/**
 * YAML as cilium-dbg prints it (`-o yaml`): Go's yaml.v3 (go.yaml.in/yaml/v3)
 * with its defaults — 4-space indentation, sequences inside mappings
 * indented too, and a mapping that is a sequence item starting on the dash's
 * line ("the first indent inside a sequence just skips the `- `"). Values
 * come in as the JSON-like trees ctmap builds (records give theirs through
 * `toGoYAML()`: field names lowercased, embedded structs nested, as yaml.v3
 * does with Go structs that carry no yaml tags).
 *
 * Only what ctmap prints is covered: mappings with string keys, sequences,
 * integers (number or bigint), booleans, null and strings. Strings are plain
 * unless they would read back as something else or contain what libyaml
 * refuses in a plain scalar; then they are quoted the way yaml.v3 chooses.
 */
import type { JsonValue } from '../structs/json.js';

const BEST_INDENT = 4;

/** yaml.v3's indent for a block collection nested under a mapping key at `indent`. */
function nested(indent: number): number {
  return BEST_INDENT * Math.floor((indent + BEST_INDENT) / BEST_INDENT);
}

/** Strings yaml.v3 would resolve to a non-string tag, or that YAML 1.1 readers take for booleans. */
const resolvesElsewhere = /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?0o?[0-7_]+|[-+]?0b[01_]+|[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|<<|[0-9]+:[0-5]?[0-9](?::[0-5]?[0-9])*)$/;

/** libyaml's analysis: may this string be written as a plain scalar in block context? */
function plainAllowed(s: string): boolean {
  if (s === '' || s !== s.trim()) return false;
  const first = s.charAt(0);
  if ('#,[]{}&*!|>\'"%@`'.includes(first)) return false;
  // `-`, `?` and `:` start a plain scalar only when something other than a blank follows.
  if ('-?:'.includes(first) && (s.length === 1 || /\s/.test(s.charAt(1)))) return false;
  if (s.startsWith('---') || s.startsWith('...')) return false;
  if (s.includes(': ') || s.includes(' #') || s.endsWith(':')) return false;
  // Control characters, line breaks and non-printables need a quoted style.
  return !/[\p{Cc}\u2028\u2029\ufeff]/u.test(s);
}

function doubleQuoted(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** One string as yaml.v3 writes it. */
export function yamlString(s: string): string {
  if (resolvesElsewhere.test(s)) return doubleQuoted(s);
  if (plainAllowed(s)) return s;
  // libyaml falls back to single quotes when the text has no character that needs escaping.
  if (!/[\p{Cc}\u2028\u2029\ufeff]/u.test(s) && s !== '') return `'${s.replace(/'/g, "''")}'`;
  return doubleQuoted(s);
}

function scalar(v: JsonValue): string | undefined {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return Number.isNaN(v) ? '.nan' : v > 0 ? '.inf' : '-.inf';
    return String(v);
  }
  if (typeof v === 'string') return yamlString(v);
  if (Array.isArray(v)) return v.length === 0 ? '[]' : undefined;
  return Object.keys(v).length === 0 ? '{}' : undefined;
}

function emitMapping(o: { [k: string]: JsonValue }, indent: number, firstInline: boolean, out: string[]): void {
  let first = true;
  for (const [k, v] of Object.entries(o)) {
    const pad = first && firstInline ? '' : ' '.repeat(indent);
    first = false;
    const s = scalar(v);
    if (s !== undefined) {
      out.push(`${pad}${yamlString(k)}: ${s}\n`);
    } else if (Array.isArray(v)) {
      out.push(`${pad}${yamlString(k)}:\n`);
      emitSequence(v, nested(indent), out);
    } else {
      out.push(`${pad}${yamlString(k)}:\n`);
      emitMapping(v as { [k: string]: JsonValue }, nested(indent), false, out);
    }
  }
}

function emitSequence(a: readonly JsonValue[], indent: number, out: string[]): void {
  for (const v of a) emitItem(v, indent, out);
}

function emitItem(v: JsonValue, indent: number, out: string[]): void {
  const pad = ' '.repeat(indent);
  const s = scalar(v);
  if (s !== undefined) {
    out.push(`${pad}- ${s}\n`);
    return;
  }
  out.push(`${pad}- `);
  if (Array.isArray(v)) {
    // A sequence in a sequence: its first item on the dash's line, the rest two columns in.
    const [head, ...rest] = v;
    const tmp: string[] = [];
    emitItem(head as JsonValue, indent + 2, tmp);
    out.push((tmp.join('')).slice(indent + 2));
    emitSequence(rest, indent + 2, out);
    return;
  }
  emitMapping(v as { [k: string]: JsonValue }, indent + 2, true, out);
}

/** A whole document, as yaml.Marshal returns it. */
export function marshalYAML(v: JsonValue): string {
  const s = scalar(v);
  if (s !== undefined) return `${s}\n`;
  const out: string[] = [];
  if (Array.isArray(v)) emitSequence(v, 0, out);
  else emitMapping(v as { [k: string]: JsonValue }, 0, false, out);
  return out.join('');
}

/** One item of a top-level sequence, so a long list streams out an item at a time. */
export function yamlSequenceItem(v: JsonValue): string {
  const out: string[] = [];
  emitItem(v, 0, out);
  return out.join('');
}
