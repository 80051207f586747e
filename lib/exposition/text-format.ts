// Prometheus text-format details: escaping and number formatting.
import type { ValueFormat } from '../fields/types.js';

/** A label value: backslash, double quote and newline escaped. */
export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

/** A HELP text: backslash and newline escaped. */
export function escapeHelp(v: string): string {
  return /[\\\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : v;
}

/**
 * A sample value as dcgm-exporter prints it: DCGM int64 fields as plain integers, double fields
 * with six decimals (Go's %f). Returns null for a value that must not be written (NaN, ±Inf).
 */
export function formatValue(v: number, format: ValueFormat): string | null {
  if (!Number.isFinite(v)) return null;
  if (format === 'double') return v.toFixed(6);
  const n = Math.trunc(v);
  return Math.abs(n) < 1e21 ? (Object.is(n, -0) ? '0' : String(n)) : BigInt(n).toString();
}
