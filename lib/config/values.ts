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
