// The shape of one DCGM field as this exporter knows it: dcgm-exporter's name, DCGM's numeric
// field ID, the CSV type and HELP text dcgm-exporter ships, the unit, and how to read it from a
// sweep. Every read function is pure and returns undefined when there is no value: undefined means
// "no series", never NaN and never a sentinel.
import type { DeviceSample, MigDeviceSample, SweepResult } from '../nvml/types.js';
import type { Snapshot } from '../collect/types.js';

/** The types a counters CSV may give in its second column (dcgm-exporter's set plus `untyped`). */
export const CSV_TYPES = ['gauge', 'counter', 'histogram', 'summary', 'label', 'untyped'] as const;
export type CsvType = (typeof CSV_TYPES)[number];

/** How a value is printed: DCGM int64 fields as integers, DCGM double fields with six decimals. */
export type ValueFormat = 'int' | 'double';

interface FieldBase {
  /** dcgm-exporter's metric name, e.g. `DCGM_FI_DEV_SM_CLOCK` */
  name: string;
  /** DCGM's numeric field ID (exporter-owned `DCGM_EXP_*` fields use 9001+) */
  id: number;
  /** the type dcgm-exporter's CSV gives this field */
  type: CsvType;
  /** the HELP text dcgm-exporter's CSV gives this field */
  help: string;
  /** unit of the value as exposed */
  unit: string;
  /** go-dcgm legacy names (`dcgm_sm_clock`) and older DCGM spellings that select the same field */
  aliases?: readonly string[];
  /** the DCGM field's entity level (gpu, gpu_i, …), from DCGM's field table; absent: gpu */
  entity?: string;
}

/** A numeric field: one family of samples. */
export interface ValueField extends FieldBase {
  kind: 'value';
  format: ValueFormat;
  /** the value for a whole GPU */
  device(d: DeviceSample, snap: Snapshot): number | undefined;
  /**
   * The value a MIG instance itself measures. Absent: the field is not reported per instance
   * (device-wide values such as temperature, power and clocks are not repeated per GPU_I_ID).
   */
  mig?(m: MigDeviceSample, parent: DeviceSample, snap: Snapshot): number | undefined;
  /** extra labels (attributes) for the device sample, e.g. XID's err_code / err_msg */
  attributes?(d: DeviceSample, snap: Snapshot): ReadonlyArray<readonly [string, string]>;
  /**
   * Several samples per device, each with its own attributes (e.g. DCGM_EXP_XID_ERRORS_COUNT: one
   * per XID number). When given, it is used instead of device() and attributes().
   */
  series?(d: DeviceSample, snap: Snapshot): ReadonlyArray<{ attrs: ReadonlyArray<readonly [string, string]>; value: number }>;
}

/** A `label` row: its value is attached as a label named after the field to every GPU sample. */
export interface LabelField extends FieldBase {
  kind: 'label';
  value(sweep: SweepResult, d: DeviceSample, m: MigDeviceSample | null): string | undefined;
}

/** A DCGM field we recognise but cannot provide from NVML; a CSV row naming it is skipped. */
export interface UnavailableField extends FieldBase {
  kind: 'unavailable';
  /** why, for the log line */
  reason: string;
}

export type FieldDef = ValueField | LabelField | UnavailableField;
