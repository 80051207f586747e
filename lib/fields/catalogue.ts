// The DCGM name catalogue as the exporter reads it at run time: etc/dcgm-field-catalogue.json,
// written from the typed facts in dcgm-field-table.ts by `npm run catalogue:update` (a unit test
// fails when the two differ).
//
// Why a data file and not the module: every counters-CSV name is checked against 1,000+ DCGM
// names, but only while a CSV is read (at start and on a reload). Imported as a module, the table
// stays resident for the life of the process — its source text, literals and bytecode, ~0.5 MB of
// heap, plus ~0.4 MB of name indexes built from it (measured with node --expose-gc, heapUsed after
// a full GC, import vs none). Read as JSON and indexed on demand, nothing of it survives the next
// garbage collection after the CSV is read (see the WeakRef in index.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';
import type { DcgmEntity, DcgmValueType } from './dcgm-field-table.js';

/** One DCGM field as the catalogue keeps it: id, canonical name, value type, entity level, older names. */
export type CatalogueField = readonly [id: number, name: string, type: DcgmValueType, entity: DcgmEntity, aliases: readonly string[]];

export interface CatalogueData {
  /** every DCGM field, in the table's order */
  fields: readonly CatalogueField[];
  /** `#define OLD NEW` renames: [id, from, to] */
  renames: readonly (readonly [number, string, string])[];
  /** names that are not fields (range markers, the null field): [name, id] */
  nonField: readonly (readonly [string, number])[];
  /** go-dcgm's lower-case legacy names: [legacy, current] */
  legacy: readonly (readonly [string, string])[];
  /** dcgm-exporter's own DCGM_EXP_* names */
  exporter: readonly string[];
}

export const CATALOGUE_FILE = 'etc/dcgm-field-catalogue.json';

/** Reads and checks the catalogue file; a missing or malformed file is an installation error. */
export function readCatalogue(path = join(packageRoot(), CATALOGUE_FILE)): CatalogueData {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read the DCGM field catalogue ${path}: ${(e as Error).message}; reinstall the package (the file ships in etc/)`, { cause: e });
  }
  const d = data as Partial<CatalogueData>;
  if (!Array.isArray(d.fields) || !Array.isArray(d.renames) || !Array.isArray(d.nonField) || !Array.isArray(d.legacy) || !Array.isArray(d.exporter)) {
    throw new Error(`the DCGM field catalogue ${path} lacks one of fields, renames, nonField, legacy, exporter; reinstall the package`);
  }
  return d as CatalogueData;
}

/** The catalogue file's text for the typed facts: one entry per line, so a change is a small diff. */
export function catalogueText(d: CatalogueData): string {
  const list = (xs: readonly unknown[]) => (xs.length ? `[\n    ${xs.map((x) => JSON.stringify(x)).join(',\n    ')}\n  ]` : '[]');
  return `{\n  "fields": ${list(d.fields)},\n  "renames": ${list(d.renames)},\n  "nonField": ${list(d.nonField)},\n  "legacy": ${list(d.legacy)},\n  "exporter": ${list(d.exporter)}\n}\n`;
}
