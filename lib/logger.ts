// One small logger for the whole process: text (default, like dcgm-exporter's) or JSON lines, to
// stderr so that `--once` keeps stdout for the exposition.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  format?: LogFormat;
  debug?: boolean;
  /** where lines go; default process.stderr */
  write?: (line: string) => void;
}

function textValue(v: unknown): string {
  const s = typeof v === 'string' ? v : v instanceof Error ? v.message : JSON.stringify(v);
  return /[\s="]/.test(s) ? JSON.stringify(s) : s;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const min = opts.debug ? ORDER.debug : ORDER.info;
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const format = opts.format ?? 'text';
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const time = new Date().toISOString();
    if (format === 'json') {
      const rec: Record<string, unknown> = { time, level, msg };
      for (const [k, v] of Object.entries(fields ?? {})) rec[k] = v instanceof Error ? v.message : v;
      write(JSON.stringify(rec));
    } else {
      let line = `time=${time} level=${level} msg=${textValue(msg)}`;
      for (const [k, v] of Object.entries(fields ?? {})) line += ` ${k}=${textValue(v)}`;
      write(line);
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
