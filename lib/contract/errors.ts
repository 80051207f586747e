// A configuration error (a bad flag, env var, counters file or config file): the command prints
// the message and exits with `exitCode` 2, as for any usage error. Thrown by the config and fields
// rooms, caught by the composition root.
export class ConfigError extends Error {
  readonly exitCode: number = 2;
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
