/**
 * How a value that was refused is named in error messages: short, never the
 * whole value (a 1 MB buffer prints as `Uint8Array(1048576)`), and never
 * throwing. Used by every layer's argument checks.
 */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === 'object') return 'object';
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined) return String(value);
  return typeof value;
}

/** Runtime guard for callers that bypass the types (plain JS, the REPL). */
export function isObject(v: unknown): v is object {
  return typeof v === 'object' && v !== null;
}
