// The field catalogue: every name dcgm-exporter accepts in a counters CSV (DCGM's field table —
// current names, older names, go-dcgm's legacy lower-case names — and dcgm-exporter's own
// DCGM_EXP_* names, facts in dcgm-field-table.ts), each either
//   - served: a ValueField or LabelField reading the sweep (device-fields.ts, base-unit-fields.ts,
//     label-fields.ts), under every name DCGM gives that field, or
//   - known but not served: an UnavailableField whose reason says why (which NVML call is missing,
//     or which DCGM module the field needs), logged once when a CSV names it.
// Only a name that is none of these is an error (the counters parser names the nearest valid ones).
import { BASE_UNIT_FIELDS } from './base-unit-fields.js';
import { DEVICE_FIELDS } from './device-fields.js';
import { LABEL_FIELDS } from './label-fields.js';
import { STATE_FIELDS } from './state-fields.js';
import { CONFIG_FIELDS } from './config-fields.js';
import { UNAVAILABLE_FIELDS } from './unavailable.js';
export { MAX_CLOCK_EVENT_SAMPLES, clockEventSamplesNeeded } from '../collect/clock-events.js';
import { GPM_FIELDS } from './gpm-fields.js';
import { readCatalogue, type CatalogueData } from './catalogue.js';
import type { DcgmEntity, DcgmValueType } from './dcgm-field-table.js';
import type { FieldDef, UnavailableField, ValueField } from './types.js';

export type { FieldDef, LabelField, UnavailableField, ValueField, CsvType, ValueFormat } from './types.js';
export { CSV_TYPES } from './types.js';
export { xidMessage } from './xid.js';

/** Every numeric field this exporter serves, in ascending field-ID order. */
export const VALUE_FIELDS: readonly ValueField[] = [...STATE_FIELDS, ...CONFIG_FIELDS, ...DEVICE_FIELDS, ...BASE_UNIT_FIELDS, ...GPM_FIELDS].sort((a, b) => a.id - b.id);
/** Every label row this exporter serves. */
export { LABEL_FIELDS, UNAVAILABLE_FIELDS };

/**
 * Names whose meaning changed between DCGM releases: `DCGM_FI_DEV_GPU_UTIL_RATIO` is field 203 (percent)
 * in DCGM 4.6 and field 1613 (a 0–1 ratio) from 4.7, which is what dcgm-exporter 4.9's CSV means by it.
 * The newer meaning wins; the name is not an alias of 203.
 */
const NOT_ALIASES: ReadonlySet<string> = new Set(['DCGM_FI_DEV_GPU_UTIL_RATIO']);

/** What the reason for an unserved field is decided from. */
interface Fact {
  id: number;
  type: DcgmValueType;
  entity: DcgmEntity;
}

/**
 * The DCGM names of the catalogue file, indexed. Built when a name outside the served fields is
 * looked up (reading a counters CSV: at start and on a reload) and held only through a WeakRef, so
 * it is collected once the CSV has been read (catalogue.ts says why).
 */
class NameIndex {
  /** every DCGM name (current, older, renamed, legacy) → the field it names; the first entry wins */
  readonly byName = new Map<string, Fact>();
  /** every DCGM spelling of each field id */
  readonly namesById = new Map<number, Set<string>>();
  readonly nonField: ReadonlyMap<string, number>;
  readonly exporter: ReadonlySet<string>;

  constructor(d: CatalogueData) {
    const byId = new Map<number, Fact>();
    const spell = (id: number, n: string) => {
      let set = this.namesById.get(id);
      if (!set) this.namesById.set(id, (set = new Set()));
      set.add(n);
    };
    const name = (n: string, f: Fact) => {
      if (!this.byName.has(n)) this.byName.set(n, f);
    };
    for (const [id, canonical, type, entity, aliases] of d.fields) {
      const f: Fact = { id, type, entity };
      if (!byId.has(id)) byId.set(id, f);
      for (const n of [canonical, ...aliases]) {
        spell(id, n);
        name(n, f);
      }
    }
    for (const [id, from, to] of d.renames) {
      spell(id, from);
      spell(id, to);
      const f = byId.get(id);
      if (f) {
        name(from, f);
        name(to, f);
      }
    }
    for (const [legacy, current] of d.legacy) {
      const f = this.byName.get(current);
      if (f) {
        name(legacy, f);
        spell(f.id, legacy);
      }
    }
    this.nonField = new Map(d.nonField);
    this.exporter = new Set(d.exporter);
  }

  /** Every name DCGM gives field `id` (its current name and older ones), except NOT_ALIASES. */
  dcgmNames(id: number): string[] {
    return [...(this.namesById.get(id) ?? [])].filter((n) => !NOT_ALIASES.has(n));
  }
}

let nameIndexRef: WeakRef<NameIndex> | null = null;
function nameIndex(): NameIndex {
  const held = nameIndexRef?.deref();
  if (held) return held;
  const built = new NameIndex(readCatalogue());
  nameIndexRef = new WeakRef(built);
  return built;
}

/** The served fields (and the listed unavailable ones) under every DCGM name: resident, small. */
const BY_NAME = servedByName();
function servedByName(): Map<string, FieldDef> {
  const byName = new Map<string, FieldDef>();
  const names = nameIndex();
  const add = (n: string, f: FieldDef) => {
    if (!byName.has(n)) byName.set(n, f);
  };
  for (const f of [...VALUE_FIELDS, ...LABEL_FIELDS]) {
    add(f.name, f);
    for (const n of f.aliases ?? []) add(n, f);
    if (f.id < 9000) for (const n of names.dcgmNames(f.id)) add(n, f); // every DCGM spelling of a served field
  }
  for (const f of UNAVAILABLE_FIELDS) for (const n of [f.name, ...(f.aliases ?? [])]) add(n, f);
  return byName;
}

/** Why a DCGM field that NVML could give is not read, where a specific NVML call is known. */
const NOT_READ: ReadonlyMap<number, string> = new Map([
  [3, 'DCGM-internal: the process name of the DCGM host engine'],
  [6, 'DCGM-internal: GPU bind/unbind events of the DCGM host engine'],
  [63, 'not read from NVML (nvmlDeviceGetCudaComputeCapability)'],
  [64, 'not read from NVML (nvmlDeviceGetP2PStatus)'],
  [74, 'not read from NVML (nvmlSystemGetConfComputeState)'],
  [120, 'not read from NVML (nvmlDeviceGetAutoBoostedClocksEnabled)'],
  [170, 'not read from NVML (nvmlDeviceGetGpuFabricInfoV)'],
  [171, 'not read from NVML (nvmlDeviceGetGpuFabricInfoV)'],
  [172, 'not read from NVML (nvmlDeviceGetGpuFabricInfoV)'],
  [173, 'not read from NVML (nvmlDeviceGetGpuFabricInfoV)'],
  [174, 'not read from NVML (nvmlDeviceGetGpuFabricInfoV)'],
  [175, 'not read from NVML (nvmlDeviceGetGpuFabricInfoV)'],
  [1532, "a per-link entity field (DCGM's NVLink link entities): the same GPM rates are served per GPU as DCGM_FI_PROF_NVLINK_L<k>_TX_BYTES"],
  [1533, "a per-link entity field (DCGM's NVLink link entities): the same GPM rates are served per GPU as DCGM_FI_PROF_NVLINK_L<k>_RX_BYTES"],
]);

/** The reason a known DCGM field is not served, from what DCGM's field table says about it. */
function reasonFor(f: Fact): string {
  const specific = NOT_READ.get(f.id);
  if (specific) return specific;
  switch (f.entity) {
    case 'nvswitch':
      return "needs DCGM's NVSwitch module (NVSwitch telemetry is not in NVML)";
    case 'cpu':
    case 'cpu_core':
      return "needs DCGM's CPU module (Grace CPU telemetry is not in NVML)";
    case 'connectx':
      return "needs DCGM's ConnectX module (not in NVML)";
    case 'vgpu':
      return 'a per-vGPU-instance field of a vGPU host: vGPU instances are not enumerated by this exporter';
    case 'link':
      return 'a per-link NVLink field: per-link NVML field values are not read (the GPU total DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL is)';
    default:
      break;
  }
  if (f.id >= 1000 && f.id < 1100) {
    return "a DCGM profiling (DCP) metric with no NVML GPM metric: it needs DCGM's profiling module";
  }
  if (f.id >= 350 && f.id < 370) return "a DCGM diagnostic result: DCGM's diagnostics have no NVML reading";
  if (f.type === 'binary') return 'a binary DCGM attribute with no Prometheus value';
  if (f.id >= 400 && f.id < 700) return 'an NVLink or vGPU field whose NVML field value is not read by this exporter';
  return f.type === 'string' ? 'a string attribute not read from NVML by this exporter' : 'no NVML reading of this exporter provides it';
}

/**
 * The catalogue entry for a CSV name, matched exactly as dcgm-exporter does; undefined when the
 * name is not a DCGM field name at all.
 */
export function lookupField(name: string): FieldDef | undefined {
  const served = BY_NAME.get(name);
  if (served) return served;
  const un = (id: number, reason: string): UnavailableField => ({ kind: 'unavailable', name, id, type: 'gauge', help: '', unit: '', reason });
  const index = nameIndex();
  const fact = index.byName.get(name);
  if (fact) return un(fact.id, reasonFor(fact));
  const marker = index.nonField.get(name);
  if (marker !== undefined) return un(marker, marker === 0 ? 'the null field (DCGM_FI_UNKNOWN) has no value' : 'a DCGM field-range marker, not a field');
  if (index.exporter.has(name)) return un(9000, 'an exporter-owned metric this exporter does not implement');
  if (/^DCGM_FI_PROF_[A-Z0-9_]+$/.test(name)) return un(1000, 'a DCGM profiling (DCP) metric of a newer DCGM with no NVML GPM metric this release maps it to');
  return undefined;
}

/**
 * The name the GPU document (/api/v1/gpus) keys a served value field by — its first name — for any
 * name of that field (an older or newer DCGM name, a legacy lower-case name); undefined when the
 * name is not a served value field. The KEDA scalers resolve a trigger's metricType with it.
 */
export function servedFieldName(name: string): string | undefined {
  const f = BY_NAME.get(name);
  return f?.kind === 'value' ? f.name : undefined;
}

/** All names the catalogue knows, served or not. */
export function knownFieldNames(): string[] {
  const index = nameIndex();
  return [...new Set<string>([...BY_NAME.keys(), ...index.byName.keys(), ...index.nonField.keys(), ...index.exporter])];
}

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The `k` known names closest to `name` (case-insensitive edit distance). */
export function nearestFieldNames(name: string, k = 3): string[] {
  const upper = name.toUpperCase().slice(0, 200);
  return knownFieldNames()
    .map((n) => ({ n, d: distance(upper, n.toUpperCase()) }))
    .sort((a, b) => a.d - b.d || (a.n < b.n ? -1 : 1))
    .slice(0, k)
    .map((x) => x.n);
}
