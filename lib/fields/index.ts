// The field catalogue: lookup by metric name (current names, legacy go-dcgm names, other
// recognised DCGM names) and the list of everything NVML provides.
import { DEVICE_FIELDS } from './device-fields.js';
import { LABEL_FIELDS } from './label-fields.js';
import { UNAVAILABLE_FIELDS } from './unavailable.js';
import type { FieldDef, UnavailableField, ValueField } from './types.js';

export type { FieldDef, LabelField, UnavailableField, ValueField, CsvType, ValueFormat } from './types.js';
export { CSV_TYPES } from './types.js';
export { xidMessage } from './xid.js';

/** Every numeric field NVML provides, in ascending field-ID order. */
export const VALUE_FIELDS: readonly ValueField[] = [...DEVICE_FIELDS].sort((a, b) => a.id - b.id);
/** Every label row NVML provides. */
export { LABEL_FIELDS, UNAVAILABLE_FIELDS };

const BY_NAME = new Map<string, FieldDef>();
for (const f of [...DEVICE_FIELDS, ...LABEL_FIELDS, ...UNAVAILABLE_FIELDS]) {
  for (const n of [f.name, ...(f.aliases ?? [])]) {
    if (BY_NAME.has(n)) throw new Error(`field catalogue: duplicate name ${n}`);
    BY_NAME.set(n, f);
  }
}

/**
 * The catalogue entry for a CSV name. Names are matched exactly, as dcgm-exporter does. An
 * unlisted `DCGM_FI_PROF_*` or `DCGM_EXP_*` name is still recognised, as a field we cannot provide.
 */
export function lookupField(name: string): FieldDef | undefined {
  const f = BY_NAME.get(name);
  if (f) return f;
  if (/^DCGM_FI_PROF_[A-Z0-9_]+$/.test(name)) {
    return { kind: 'unavailable', name, id: 1000, type: 'gauge', help: '', unit: '',
      reason: 'a DCGM profiling (DCP) metric' } satisfies UnavailableField;
  }
  if (/^DCGM_EXP_[A-Z0-9_]+$/.test(name)) {
    return { kind: 'unavailable', name, id: 9000, type: 'gauge', help: '', unit: '',
      reason: 'an exporter-owned metric this exporter does not implement' } satisfies UnavailableField;
  }
  return undefined;
}

/** All names the catalogue knows (for "did you mean" hints). */
export function knownFieldNames(): string[] {
  return [...BY_NAME.keys()];
}
