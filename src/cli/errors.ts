/** An error the CLI reports as `Error: <message>` with exit status 1 (kept apart so `--help` loads nothing else). */
export class CliError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'CliError';
  }
}
