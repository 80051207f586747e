// The counters CSV (dcgm-exporter's format): which fields to export, with the metric name,
// the Prometheus type written verbatim in # TYPE, and the HELP text. `#` starts a comment line,
// blank lines are skipped, every record has exactly three fields (name, type, help).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CSV_TYPES, lookupField, nearestFieldNames, type CsvType, type LabelField, type ValueField } from './index.js';
import { parseCsvLine } from './csv.js';
import { ConfigError } from '../contract/errors.js';
import { FileReadError, readRegularFile } from '../contract/files.js';
import { packageRoot } from '../package-root.js';
import { isGpmField } from './gpm-fields.js';
import { counterpartIn, DEFAULT_GENERATION, GENERATION_DEFAULTS, type Generation } from './generations.js';

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

export interface SelectedField {
  field: ValueField;
  /** the metric name: exactly column 1 (a legacy name stays legacy) */
  name: string;
  /** column 2, written verbatim in # TYPE */
  type: CsvType;
  /** column 3, written in # HELP */
  help: string;
  line: number;
}

export interface SelectedLabel {
  field: LabelField;
  /** the label name: column 1 */
  name: string;
  help: string;
  line: number;
}

export interface SkippedRow {
  name: string;
  line: number;
  reason: string;
}

export interface FieldSelection {
  /** the file the selection came from */
  source: string;
  /** numeric fields in ascending field-ID order (then by name), as dcgm-exporter emits them */
  fields: readonly SelectedField[];
  /** label rows, sorted by name */
  labels: readonly SelectedLabel[];
  /** rows naming fields we recognise but cannot provide (each was logged once) */
  skipped: readonly SkippedRow[];
}

export interface CountersLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn?(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * Bounds of a counters file. dcgm-exporter's largest shipped file is ~10 KB with lines under 200
 * characters; past these bounds a file is not a counters file (and a 20 MB HELP text would be
 * copied into every page).
 */
export const COUNTERS_LIMITS = { fileBytes: 1024 * 1024, lineChars: 4096 } as const;

function unknownField(name: string): string {
  const near = nearestFieldNames(name, 3).map((n) => `"${n}"`).join(', ');
  return `"${name}" is not a DCGM field name (the nearest valid names: ${near}); docs/dcgm-field-sources.md says where the names come from`;
}

/** Parses counters-file text; `source` names the file in errors and log lines. */
export function parseCounters(text: string, source: string, log?: CountersLog): FieldSelection {
  const fields: SelectedField[] = [];
  const labels: SelectedLabel[] = [];
  const skipped: SkippedRow[] = [];
  const seen = new Map<string, number>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!;
    if (line.length > COUNTERS_LIMITS.lineChars) {
      throw new CountersError(source, lineNo, `the line is ${line.length} characters long, more than the ${COUNTERS_LIMITS.lineChars} accepted; shorten its help text`);
    }
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const parsed = parseCsvLine(line);
    if (!parsed.ok) throw new CountersError(source, lineNo, parsed.error);
    const cols = parsed.fields;
    if (cols.length !== 3) {
      throw new CountersError(source, lineNo,
        `expected 3 comma-separated fields (name, type, help), got ${cols.length}; quote a help text that contains commas`);
    }
    const [name, typeText, help] = cols as [string, string, string];
    if (name === '') throw new CountersError(source, lineNo, 'empty field name in column 1; give a DCGM field name such as DCGM_FI_DEV_GPU_UTIL');
    const type = typeText as CsvType;
    if (!(CSV_TYPES as readonly string[]).includes(typeText)) {
      throw new CountersError(source, lineNo,
        `field "${name}": unknown type "${typeText}" (expected one of ${CSV_TYPES.join(', ')})`);
    }
    const def = lookupField(name);
    if (!def) throw new CountersError(source, lineNo, unknownField(name));
    const first = seen.get(name);
    if (first !== undefined) {
      (log?.warn ?? log?.info)?.call(log, `counters file ${source} line ${lineNo}: "${name}" is listed again (first on line ${first}); it is served once, as line ${first} gives it`);
      continue;
    }
    seen.set(name, lineNo);
    if (def.kind === 'unavailable') {
      skipped.push({ name, line: lineNo, reason: def.reason });
      log?.info(`counters file ${source} line ${lineNo}: skipping "${name}": ${def.reason}`);
      continue;
    }
    if (def.kind === 'label') {
      if (type !== 'label') {
        throw new CountersError(source, lineNo, `field "${name}" is a string field; give it the type label (got "${typeText}")`);
      }
      labels.push({ field: def, name, help, line: lineNo });
      continue;
    }
    if (type === 'label') {
      throw new CountersError(source, lineNo,
        `field "${name}" is numeric; type label is only for string fields such as DCGM_FI_DRIVER_VERSION (use gauge or counter)`);
    }
    fields.push({ field: def, name, type, help, line: lineNo });
  }
  if (fields.length === 0) {
    // An empty selection would serve no GPU family at all, silently.
    throw new CountersError(source, null,
      `it selects no numeric field${labels.length + skipped.length > 0 ? ` (only ${labels.length} label and ${skipped.length} skipped rows)` : ' (it is empty or only comments)'}; list at least one field such as DCGM_FI_DEV_GPU_UTIL, or leave -f unset for the built-in default`);
  }
  fields.sort((a, b) => a.field.id - b.field.id || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  labels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { source, fields, labels, skipped };
}

const READ_HINT = 'pass a readable counters file with -f/--collectors or DCGM_EXPORTER_COLLECTORS, or leave both unset for the built-in default';

/** Reads a counters file off the event loop: a regular file of at most COUNTERS_LIMITS.fileBytes (contract/files.ts). */
export async function readCountersFile(path: string): Promise<string> {
  try {
    return (await readRegularFile(path, COUNTERS_LIMITS.fileBytes)).toString('utf8');
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err;
    const cannotRead = /^(no such file|permission denied|it is a directory)$/.test(err.why) || !/^it is /.test(err.why);
    throw new CountersError(path, null, cannotRead ? `cannot read it (${err.why}); ${READ_HINT}`
      : `${err.why}${/regular file$/.test(err.why) ? `; ${READ_HINT}` : ' for a counters file'}`);
  }
}

/** Reads (off the event loop, bounded: readCountersFile) and parses a counters file. */
export async function loadCounters(path: string, log?: CountersLog): Promise<FieldSelection> {
  return parseCounters(await readCountersFile(path), path, log);
}

/** The default counters file of a naming generation, in the installed package's etc/. */
export function defaultCountersPath(generation: Generation = DEFAULT_GENERATION): string {
  return join(packageRoot(), 'etc', GENERATION_DEFAULTS[generation].countersFile);
}

/** The built-in default selection of a naming generation: etc/ of the package (ours: read as is). */
export function loadDefaultCounters(log?: CountersLog, generation: Generation = DEFAULT_GENERATION): FieldSelection {
  const path = defaultCountersPath(generation);
  return parseCounters(readFileSync(path, 'utf8'), path, log);
}

/**
 * The selection with a second generation's names added (--naming-transition): for every selected
 * field or label row that `generation` names differently, the same row under that name, read with
 * that name's own unit. Rows already selected under both names stay single.
 */
export function withTransition(sel: FieldSelection, generation: Generation): FieldSelection {
  const have = new Set([...sel.fields.map((f) => f.name), ...sel.labels.map((l) => l.name)]);
  const fields = [...sel.fields];
  const labels = [...sel.labels];
  for (const f of sel.fields) {
    const other = counterpartIn(f.name, generation);
    if (!other || have.has(other)) continue;
    const def = lookupField(other);
    if (def?.kind !== 'value') continue;
    fields.push({ field: def, name: other, type: def.type, help: def.help, line: f.line });
    have.add(other);
  }
  for (const l of sel.labels) {
    const other = counterpartIn(l.name, generation);
    if (!other || have.has(other)) continue;
    const def = lookupField(other);
    if (def?.kind !== 'label') continue;
    labels.push({ field: def, name: other, help: l.help, line: l.line });
    have.add(other);
  }
  fields.sort((a, b) => a.field.id - b.field.id || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  labels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { ...sel, fields, labels };
}

/** Whether a selection exports PCIe throughput (fields 200/201), whose reading is opt-in in the sweep. */
export function selectionNeedsPcieThroughput(sel: FieldSelection): boolean {
  return sel.fields.some((f) => f.field.id === 200 || f.field.id === 201);
}

/** Whether a selection exports a GPM profiling field (DCGM_FI_PROF_*), whose samples are opt-in in the sweep. */
export function selectionNeedsGpm(sel: FieldSelection): boolean {
  return sel.fields.some((f) => isGpmField(f.field.id));
}
