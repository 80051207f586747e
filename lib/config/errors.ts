// A configuration error: bad flag, env var or counters file. The CLI prints the message and exits
// with `exitCode` (2, as for any usage error).
export class ConfigError extends Error {
  readonly exitCode: number = 2;
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** A counters-file error, naming the file and (when it is about one row) the line. */
export class CountersError extends ConfigError {
  constructor(
    readonly file: string,
    readonly line: number | null,
    detail: string,
  ) {
    super(`counters file ${file}${line === null ? '' : ` line ${line}`}: ${detail}`);
    this.name = 'CountersError';
  }
}
