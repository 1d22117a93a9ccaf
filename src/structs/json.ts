/**
 * Go `encoding/json` compatibility: ctmap's JSON must match `cilium-dbg … -o
 * json` byte for byte, including u64 values above 2^53 that a JS number
 * cannot hold. So this module marshals with bigint support in Go's
 * MarshalIndent layout, and parses JSON keeping large integers exact.
 */

export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | JsonObject;
export interface JsonObject { [key: string]: JsonValue }

function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    // Go escapes HTML-significant characters and the JS line separators by default.
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function toJsonValue(v: unknown): JsonValue | undefined {
  // toGoJSON keeps u64 fields as bigint; toJSON (for JSON.stringify) cannot.
  if (v !== null && typeof v === 'object' && 'toGoJSON' in v && typeof v.toGoJSON === 'function') {
    return (v.toGoJSON as () => JsonValue)();
  }
  if (v !== null && typeof v === 'object' && 'toJSON' in v && typeof v.toJSON === 'function') {
    return (v.toJSON as () => JsonValue)();
  }
  return v as JsonValue | undefined;
}

/** `json.MarshalIndent(v, prefix, indent)`; bigints are written as exact integers. */
export function marshalIndent(value: unknown, indent = '  ', prefix = ''): string {
  const parts: string[] = [];
  const write = (raw: unknown, depth: number): void => {
    const v = toJsonValue(raw);
    const pad = (d: number): string => `\n${prefix}${indent.repeat(d)}`;
    if (v === null || v === undefined) parts.push('null');
    else if (typeof v === 'boolean') parts.push(v ? 'true' : 'false');
    else if (typeof v === 'bigint') parts.push(v.toString());
    else if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new RangeError(`json: unsupported value: ${v}`);
      parts.push(String(v));
    } else if (typeof v === 'string') parts.push(quote(v));
    else if (Array.isArray(v)) {
      if (v.length === 0) { parts.push('[]'); return; }
      parts.push('[');
      v.forEach((el, i) => {
        parts.push(pad(depth + 1));
        write(el, depth + 1);
        if (i < v.length - 1) parts.push(',');
      });
      parts.push(pad(depth), ']');
    } else {
      // A toJSON may leave fields undefined; Go's encoder has no such value, so they are dropped.
      const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
      if (entries.length === 0) { parts.push('{}'); return; }
      parts.push('{');
      entries.forEach(([k, x], i) => {
        parts.push(pad(depth + 1), quote(k), ': ');
        write(x, depth + 1);
        if (i < entries.length - 1) parts.push(',');
      });
      parts.push(pad(depth), '}');
    }
  };
  write(value, 0);
  return parts.join('');
}

export class JsonSyntaxError extends SyntaxError {
  readonly offset: number;
  constructor(msg: string, offset: number) {
    super(`invalid JSON at offset ${offset}: ${msg}`);
    this.name = 'JsonSyntaxError';
    this.offset = offset;
  }
}

/** Strict RFC 8259 parse; integers outside the safe range come back as bigint. */
export function parseJSON(text: string, maxDepth = 64): JsonValue {
  if (typeof text !== 'string') throw new TypeError('parseJSON: expected a string');
  let i = 0;
  const ws = (): void => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  const fail = (msg: string): never => { throw new JsonSyntaxError(msg, i); };
  const str = (): string => {
    i++;
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) { i++; return out; }
      if (c < 0x20) fail('control character in string');
      if (c === 0x5c) {
        const e = text[i + 1];
        i += 2;
        if (e === '"' || e === '\\' || e === '/') out += e;
        else if (e === 'b') out += '\b';
        else if (e === 'f') out += '\f';
        else if (e === 'n') out += '\n';
        else if (e === 'r') out += '\r';
        else if (e === 't') out += '\t';
        else if (e === 'u') {
          const h = text.slice(i, i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('bad \\u escape');
          out += String.fromCharCode(parseInt(h, 16));
          i += 4;
        } else fail('bad escape');
      } else {
        out += text.charAt(i);
        i++;
      }
    }
  };
  const num = (): number | bigint => {
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m === null) return fail('bad number');
    const s = m[0];
    i += s.length;
    if (m[1] === undefined && m[2] === undefined) {
      const n = Number(s);
      return Number.isSafeInteger(n) ? n : BigInt(s);
    }
    return Number(s);
  };
  const value = (depth: number): JsonValue => {
    if (depth > maxDepth) fail('nesting too deep');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: JsonObject = {};
      ws();
      if (text[i] === '}') { i++; return obj; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a string key');
        const k = str();
        ws();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        Object.defineProperty(obj, k, { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return obj; }
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const arr: JsonValue[] = [];
      ws();
      if (text[i] === ']') { i++; return arr; }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return arr; }
        fail('expected "," or "]"');
      }
    }
    if (c === '"') return str();
    if (c === 't' && text.startsWith('true', i)) { i += 4; return true; }
    if (c === 'f' && text.startsWith('false', i)) { i += 5; return false; }
    if (c === 'n' && text.startsWith('null', i)) { i += 4; return null; }
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return num();
    return fail(c === undefined ? 'unexpected end of input' : `unexpected character ${JSON.stringify(c)}`);
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail('trailing data');
  return v;
}

/** A JSON integer field of at most `max`. */
export function jsonInt(v: unknown, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${what}: expected an integer, got ${v === undefined ? 'nothing' : JSON.stringify(typeof v === 'bigint' ? String(v) : v)}`);
  if (v < 0 || v > max) throw new RangeError(`${what}: ${v} is out of range (0..${max})`);
  return v;
}

/** A JSON u64 field: a number, a bigint from parseJSON, or a decimal string. */
export function jsonU64(v: unknown, what: string): bigint {
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
  else if (typeof v === 'string' && /^\d+$/.test(v)) b = BigInt(v);
  else throw new TypeError(`${what}: expected an unsigned integer, got ${v === undefined ? 'nothing' : typeof v}`);
  if (b < 0n || b > 0xffffffffffffffffn) throw new RangeError(`${what}: ${b} is out of range for u64`);
  return b;
}

/** A JSON array of `n` byte values (Go's encoding of a fixed byte array). */
export function jsonBytes(v: unknown, n: number, what: string): Uint8Array {
  if (!Array.isArray(v)) throw new TypeError(`${what}: expected an array of ${n} numbers`);
  if (v.length !== n) throw new RangeError(`${what}: expected ${n} numbers, got ${v.length}`);
  return Uint8Array.from(v, (x, i) => jsonInt(x, 0xff, `${what}[${i}]`));
}

/** u64 for JSON.stringify: a number when exact, else a decimal string (use marshalIndent for Go's exact form). */
export function u64ForJSON(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}
