/**
 * The library's logger: Cilium logs a few things (an incompatible pin being
 * replaced, a GC error it swallows) instead of failing. ctmap does the same
 * through this hook, which defaults to stderr for warnings and errors only.
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

let logger: Logger = stderrLogger;

/** Install a logger (returns the previous one). */
export function setLogger(next: Logger): Logger {
  const prev = logger;
  logger = next;
  return prev;
}

export function log(level: LogLevel, msg: string, fields?: LogFields): void {
  logger(level, msg, fields);
}
