// Converters from flag/env text to typed values, each failing with a ConfigError that names the
// flag (or env var), the value and what was expected.
import { ConfigError } from './errors.js';
import type { RawValue } from './argv.js';

export function positiveInt(v: RawValue, what: string, max = 2_147_483_647): number {
  const t = v.value.trim();
  if (!/^\d+$/.test(t) || Number(t) < 1 || Number(t) > max) {
    throw new ConfigError(`${v.label}: "${v.value}" is not a positive integer ${what}`);
  }
  return Number(t);
}

export function oneOf<T extends string>(v: RawValue, allowed: readonly T[]): T {
  const t = v.value.trim();
  if (!(allowed as readonly string[]).includes(t)) {
    throw new ConfigError(`${v.label}: "${v.value}" is not allowed (expected ${allowed.join(' or ')})`);
  }
  return t as T;
}

export function commaList(v: RawValue): string[] {
  return v.value.split(',').map((x) => x.trim()).filter((x) => x !== '');
}

export function nonEmpty(v: RawValue, what: string): string {
  if (v.value.trim() === '') throw new ConfigError(`${v.label}: empty value (expected ${what})`);
  return v.value;
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration (`10s`, `500ms`, `1m30s`) in milliseconds, > 0; a bare number is milliseconds. */
export function duration(v: RawValue): number {
  const t = v.value.trim();
  if (/^\d+$/.test(t) && Number(t) > 0) return Number(t);
  let ms = 0;
  let rest = t;
  const part = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/;
  while (rest !== '') {
    const m = part.exec(rest);
    if (!m) throw new ConfigError(`${v.label}: "${v.value}" is not a duration (expected e.g. 10s, 500ms, 1m30s)`);
    ms += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  if (!(ms > 0) || ms > 2_147_483_647) throw new ConfigError(`${v.label}: "${v.value}" is not a duration above 0 (expected e.g. 10s, 500ms, 1m30s)`);
  return Math.round(ms);
}
