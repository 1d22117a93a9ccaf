/**
 * `-o jsonpath=<template>`, as cilium-dbg accepts it (Kubernetes' JSONPath
 * templates, k8s.io/client-go/util/jsonpath, with missing keys allowed). The
 * template runs over the same value `-o json` prints (records with Go's field
 * names: `Key.DestAddr`, `Value.Lifetime`…).
 *
 * Covered: text outside braces; `$`, `@`, `.field`, `['field']`, `..field`
 * (recursive descent), `*`, `[i]` (negative from the end), `[i,j]`,
 * `[start:end:step]`, filters `[?(@.path <op> literal)]` with == != < <= > >=
 * (and `[?(@.path)]` for "exists"), `{range …}…{end}`, and quoted literals
 * (`{"\n"}`). Several results of one expression are joined by a space, as
 * kubectl does. Strings print bare, numbers in decimal; where Go would print
 * a struct or an array with %v, ctmap prints compact JSON (so an address
 * prints as its bytes, `[10,0,0,1]`, as in `-o json`).
 */
import type { JsonValue } from '../structs/json.js';

type Step =
  | { readonly kind: 'field'; readonly name: string }
  | { readonly kind: 'recursive'; readonly name: string }
  | { readonly kind: 'wildcard' }
  | { readonly kind: 'index'; readonly indices: readonly number[] }
  | { readonly kind: 'slice'; readonly start: number | undefined; readonly end: number | undefined; readonly step: number }
  | { readonly kind: 'filter'; readonly path: Path; readonly op: string | undefined; readonly value: JsonValue | undefined };

interface Path {
  readonly root: '$' | '@';
  readonly steps: readonly Step[];
}

type Node =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'path'; readonly path: Path }
  | { readonly kind: 'range'; readonly path: Path; readonly body: readonly Node[] };

export class JsonPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonPathError';
  }
}

/** A parsed template, ready to run over any number of values. */
export class JsonPathTemplate {
  readonly source: string;
  readonly #nodes: readonly Node[];

  constructor(source: string) {
    this.source = source;
    this.#nodes = parseTemplate(source);
  }

  execute(data: JsonValue): string {
    const out: string[] = [];
    run(this.#nodes, data, data, out);
    return out.join('');
  }
}

function parseTemplate(src: string): Node[] {
  // Split into text and actions; nested braces do not occur in actions.
  const stack: { nodes: Node[]; path: Path | undefined }[] = [{ nodes: [], path: undefined }];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{', i);
    const top = stack[stack.length - 1];
    if (top === undefined) throw new JsonPathError('unbalanced range');
    if (open < 0) {
      top.nodes.push({ kind: 'text', text: src.slice(i) });
      break;
    }
    if (open > i) top.nodes.push({ kind: 'text', text: src.slice(i, open) });
    const close = closingBrace(src, open);
    const action = src.slice(open + 1, close).trim();
    i = close + 1;
    if (action === 'end') {
      const done = stack.pop();
      const parent = stack[stack.length - 1];
      if (done?.path === undefined || parent === undefined) throw new JsonPathError('{end} without {range}');
      parent.nodes.push({ kind: 'range', path: done.path, body: done.nodes });
    } else if (action.startsWith('range ') || action === 'range') {
      stack.push({ nodes: [], path: parsePath(action.slice('range'.length).trim()) });
    } else if (/^"(?:[^"\\]|\\.)*"$/.test(action) || /^'[^']*'$/.test(action)) {
      top.nodes.push({ kind: 'text', text: action.startsWith('"') ? JSON.parse(action) as string : action.slice(1, -1) });
    } else {
      top.nodes.push({ kind: 'path', path: parsePath(action) });
    }
  }
  if (stack.length !== 1) throw new JsonPathError('{range} without {end}');
  return stack[0]?.nodes ?? [];
}

function closingBrace(src: string, open: number): number {
  let quote: string | undefined;
  for (let j = open + 1; j < src.length; j++) {
    const c = src[j];
    if (quote !== undefined) {
      if (c === '\\') j++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '}') return j;
  }
  throw new JsonPathError(`unclosed action at column ${open + 1}`);
}

function parsePath(text: string): Path {
  if (text === '') throw new JsonPathError('empty expression');
  let s = text;
  let root: '$' | '@' = '@';
  if (s.startsWith('$')) { root = '$'; s = s.slice(1); } else if (s.startsWith('@')) s = s.slice(1);
  const steps: Step[] = [];
  let i = 0;
  const name = (): string => {
    const m = /^[A-Za-z0-9_-]+|^\*/.exec(s.slice(i));
    if (m === null) throw new JsonPathError(`expected a field name at ${JSON.stringify(s.slice(i))}`);
    i += m[0].length;
    return m[0];
  };
  while (i < s.length) {
    if (s.startsWith('..', i)) {
      i += 2;
      if (s[i] === '[') continue;
      steps.push({ kind: 'recursive', name: name() });
    } else if (s[i] === '.') {
      i++;
      if (i >= s.length || s[i] === '[') continue;
      const n = name();
      steps.push(n === '*' ? { kind: 'wildcard' } : { kind: 'field', name: n });
    } else if (s[i] === '[') {
      const close = bracketEnd(s, i);
      steps.push(parseBracket(s.slice(i + 1, close).trim()));
      i = close + 1;
    } else if (steps.length === 0 && i === 0) {
      const n = name();
      steps.push(n === '*' ? { kind: 'wildcard' } : { kind: 'field', name: n });
    } else {
      throw new JsonPathError(`unexpected ${JSON.stringify(s.slice(i))} in ${JSON.stringify(text)}`);
    }
  }
  return { root, steps };
}

function bracketEnd(s: string, open: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let j = open; j < s.length; j++) {
    const c = s[j];
    if (quote !== undefined) { if (c === quote) quote = undefined; continue; }
    if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') { depth--; if (depth === 0 && c === ']') return j; }
  }
  throw new JsonPathError(`unclosed [ in ${JSON.stringify(s)}`);
}

function parseBracket(inner: string): Step {
  if (inner === '*') return { kind: 'wildcard' };
  const quoted = /^'([^']*)'$|^"([^"]*)"$/.exec(inner);
  if (quoted !== null) return { kind: 'field', name: quoted[1] ?? quoted[2] ?? '' };
  if (inner.startsWith('?(') && inner.endsWith(')')) {
    const body = inner.slice(2, -1).trim();
    const m = /^(@[^\s=!<>]*)\s*(==|!=|<=|>=|<|>)\s*(.+)$/.exec(body);
    if (m === null) {
      if (!body.startsWith('@')) throw new JsonPathError(`bad filter ${JSON.stringify(inner)}`);
      return { kind: 'filter', path: parsePath(body), op: undefined, value: undefined };
    }
    return { kind: 'filter', path: parsePath(m[1] ?? '@'), op: m[2], value: literal(m[3] ?? '') };
  }
  if (inner.includes(':')) {
    const parts = inner.split(':').map((p) => p.trim());
    if (parts.length > 3) throw new JsonPathError(`bad slice [${inner}]`);
    const num = (p: string | undefined): number | undefined => {
      if (p === undefined || p === '') return undefined;
      if (!/^-?\d+$/.test(p)) throw new JsonPathError(`bad slice [${inner}]`);
      return Number(p);
    };
    const step = num(parts[2]) ?? 1;
    if (step === 0) throw new JsonPathError(`slice step 0 in [${inner}]`);
    return { kind: 'slice', start: num(parts[0]), end: num(parts[1]), step };
  }
  const indices = inner.split(',').map((p) => p.trim());
  if (indices.every((p) => /^-?\d+$/.test(p))) return { kind: 'index', indices: indices.map(Number) };
  throw new JsonPathError(`bad subscript [${inner}]`);
}

function literal(s: string): JsonValue {
  const t = s.trim();
  if (/^'.*'$/.test(t)) return t.slice(1, -1);
  if (/^".*"$/.test(t)) return JSON.parse(t) as string;
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (t === 'true' || t === 'false') return t === 'true';
  if (t === 'null') return null;
  throw new JsonPathError(`bad literal ${JSON.stringify(t)} in filter`);
}

function isObject(v: JsonValue): v is { [k: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function children(v: JsonValue): JsonValue[] {
  if (Array.isArray(v)) return v;
  if (isObject(v)) return Object.values(v);
  return [];
}

function evalPath(p: Path, root: JsonValue, current: JsonValue): JsonValue[] {
  let values: JsonValue[] = [p.root === '$' ? root : current];
  for (const step of p.steps) {
    const next: JsonValue[] = [];
    for (const v of values) applyStep(step, v, root, next);
    values = next;
  }
  return values;
}

function applyStep(step: Step, v: JsonValue, root: JsonValue, out: JsonValue[]): void {
  switch (step.kind) {
    case 'field':
      if (isObject(v) && Object.hasOwn(v, step.name)) out.push(v[step.name] ?? null);
      return;
    case 'wildcard':
      out.push(...children(v));
      return;
    case 'recursive': {
      const visit = (x: JsonValue): void => {
        if (isObject(x)) {
          if (step.name === '*') out.push(...Object.values(x));
          else if (Object.hasOwn(x, step.name)) out.push(x[step.name] ?? null);
        } else if (Array.isArray(x) && step.name === '*') out.push(...x);
        for (const c of children(x)) visit(c);
      };
      visit(v);
      return;
    }
    case 'index':
      if (!Array.isArray(v)) return;
      for (const i of step.indices) {
        const j = i < 0 ? v.length + i : i;
        if (j >= 0 && j < v.length) out.push(v[j] ?? null);
      }
      return;
    case 'slice': {
      if (!Array.isArray(v)) return;
      const n = v.length;
      const norm = (x: number | undefined, dflt: number): number => x === undefined ? dflt : x < 0 ? Math.max(0, n + x) : Math.min(n, x);
      if (step.step > 0) {
        for (let j = norm(step.start, 0); j < norm(step.end, n); j += step.step) out.push(v[j] ?? null);
      } else {
        for (let j = step.start === undefined ? n - 1 : norm(step.start, n - 1); j > (step.end === undefined ? -1 : norm(step.end, -1)); j += step.step) {
          if (j < n) out.push(v[j] ?? null);
        }
      }
      return;
    }
    case 'filter':
      for (const c of children(v)) {
        const got = evalPath(step.path, root, c);
        if (step.op === undefined ? got.length > 0 : got.some((g) => compare(g, step.op ?? '==', step.value ?? null))) out.push(c);
      }
      return;
  }
}

function compare(a: JsonValue, op: string, b: JsonValue): boolean {
  const x = typeof a === 'bigint' ? Number(a) : a;
  if (op === '==') return x === b;
  if (op === '!=') return x !== b;
  if (typeof x !== 'number' || typeof b !== 'number') return false;
  switch (op) {
    case '<': return x < b;
    case '<=': return x <= b;
    case '>': return x > b;
    default: return x >= b;
  }
}

function text(v: JsonValue): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) return '<nil>';
  return compact(v);
}

/** Compact JSON; u64 values stay exact (bigint). */
function compact(v: JsonValue): string {
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return `[${v.map(compact).join(',')}]`;
  if (isObject(v)) return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${compact(x)}`).join(',')}}`;
  return JSON.stringify(v);
}

function run(nodes: readonly Node[], root: JsonValue, current: JsonValue, out: string[]): void {
  for (const n of nodes) {
    if (n.kind === 'text') out.push(n.text);
    else if (n.kind === 'path') out.push(evalPath(n.path, root, current).map(text).join(' '));
    else for (const item of evalPath(n.path, root, current).flatMap((v) => (Array.isArray(v) ? v : [v]))) run(n.body, root, item, out);
  }
}
