/**
 * The logger a node's maps report to. Cilium logs a few things instead of
 * failing (an incompatible pin being replaced, a GC error it swallows);
 * ctmap does the same through the logger in the caller's Settings. The
 * default writes warnings and errors to stderr in Cilium's logfmt shape.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Readonly<Record<string, unknown>>;
export type Logger = (level: LogLevel, msg: string, fields?: LogFields) => void;

function fmt(fields: LogFields | undefined): string {
  if (fields === undefined) return '';
  return Object.entries(fields)
    .map(([k, v]) => ` ${k}=${v instanceof Error ? JSON.stringify(v.message) : typeof v === 'string' ? JSON.stringify(v) : String(v)}`)
    .join('');
}

export const stderrLogger: Logger = (level, msg, fields) => {
  if (level === 'warn' || level === 'error') process.stderr.write(`level=${level} msg=${JSON.stringify(msg)}${fmt(fields)}\n`);
};

/** Drops everything (tests, and callers who read the returned values instead). */
export const silentLogger: Logger = () => undefined;
