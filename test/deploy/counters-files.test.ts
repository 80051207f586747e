// The counters files the image carries at dcgm-exporter's paths (etc/*.csv → /etc/dcgm-exporter/):
// their active rows are dcgm-exporter 4.8.x's (the field facts in lib/fields/dcgm-field-table.ts),
// every row it ships commented is here too, the 4.9 and 4.10 generation files carry the renamed
// fields, every name is a DCGM name, and each file parses with the exporter's own parser.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsvLine } from '../../lib/fields/csv.js';
import { parseCounters } from '../../lib/fields/counters.js';
import {
  DCGM_EXPORTER_CSV_ROWS, DCGM_EXPORTER_FIELDS, DCGM_FIELDS, DCGM_LEGACY_NAMES, DCGM_RENAMES, type DcgmCsvRow,
} from '../../lib/fields/dcgm-field-table.js';
import { COUNTERS_FILES, ROOT } from './helpers/files.js';

interface Row { name: string; type: string; help: string; active: boolean; line: number }

/** Data rows of a counters file: active ones, and commented ones that look like a row (`# NAME, type, help`). */
function rows(file: string): Row[] {
  const out: Row[] = [];
  readFileSync(join(ROOT, 'etc', file), 'utf8').split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const active = !line.startsWith('#');
    const body = active ? line : line.replace(/^#\s*/, '');
    if (!active && !/^(DCGM_|dcgm_)[A-Za-z0-9_]*\s*,/.test(body)) return; // prose
    const parsed = parseCsvLine(body);
    if (!parsed.ok || parsed.fields.length !== 3) throw new Error(`etc/${file} line ${i + 1}: not a three-column row: ${raw}`);
    const [name, type, help] = parsed.fields as [string, string, string];
    out.push({ name, type, help, active, line: i + 1 });
  });
  return out;
}

const active = <T extends { active: boolean }>(r: readonly T[]): T[] => r.filter((x) => x.active);
const triple = (r: { name: string; type: string; help: string }) => [r.name, r.type, r.help];

/** Every name DCGM, go-dcgm or dcgm-exporter knows, in any release the fact table covers. */
const KNOWN = new Set<string>([
  ...DCGM_FIELDS.flatMap((f) => [f.name, ...(f.aliases ?? [])]),
  ...DCGM_RENAMES.flatMap((r) => [r.from, r.to]),
  ...DCGM_LEGACY_NAMES.keys(),
  ...DCGM_EXPORTER_FIELDS.map((e) => e.name),
]);

// dcgm-naming-generations.md §1: the 4.8.2 default rows and their 4.9 names (23 renamed).
const RENAMED_49: ReadonlyMap<string, string> = new Map([
  ['DCGM_FI_DEV_SM_CLOCK', 'DCGM_FI_DEV_SM_CLOCK_HERTZ'],
  ['DCGM_FI_DEV_MEM_CLOCK', 'DCGM_FI_DEV_MEMORY_CLOCK_HERTZ'],
  ['DCGM_FI_DEV_MEMORY_TEMP', 'DCGM_FI_DEV_MEMORY_TEMP_CELSIUS'],
  ['DCGM_FI_DEV_GPU_TEMP', 'DCGM_FI_DEV_GPU_TEMP_CELSIUS'],
  ['DCGM_FI_DEV_POWER_USAGE', 'DCGM_FI_DEV_BOARD_POWER_WATTS'],
  ['DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', 'DCGM_FI_DEV_GPU_ENERGY_JOULES_TOTAL'],
  ['DCGM_FI_DEV_PCIE_REPLAY_COUNTER', 'DCGM_FI_DEV_PCIE_REPLAY_TOTAL'],
  ['DCGM_FI_DEV_GPU_UTIL', 'DCGM_FI_DEV_GPU_UTIL_RATIO'],
  ['DCGM_FI_DEV_MEM_COPY_UTIL', 'DCGM_FI_DEV_MEMORY_UTIL_RATIO'],
  ['DCGM_FI_DEV_ENC_UTIL', 'DCGM_FI_DEV_ENC_UTIL_RATIO'],
  ['DCGM_FI_DEV_DEC_UTIL', 'DCGM_FI_DEV_DEC_UTIL_RATIO'],
  ['DCGM_FI_DEV_XID_ERRORS', 'DCGM_FI_DEV_XID_ERROR'],
  ['DCGM_FI_DEV_FB_FREE', 'DCGM_FI_DEV_FB_FREE_BYTES'],
  ['DCGM_FI_DEV_FB_USED', 'DCGM_FI_DEV_FB_USED_BYTES'],
  ['DCGM_FI_DEV_FB_RESERVED', 'DCGM_FI_DEV_FB_RESERVED_BYTES'],
  ['DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL', 'DCGM_FI_DEV_NVLINK_THROUGHPUT_BYTES_PER_SECOND'],
  ['DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS', 'DCGM_FI_DEV_ROW_REMAP_UNCORRECTABLE_TOTAL'],
  ['DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS', 'DCGM_FI_DEV_ROW_REMAP_CORRECTABLE_TOTAL'],
  ['DCGM_FI_DEV_ROW_REMAP_FAILURE', 'DCGM_FI_DEV_ROW_REMAP_FAILED'],
  ['DCGM_FI_DRIVER_VERSION', 'DCGM_FI_SYSTEM_DRIVER_VERSION'],
  ['DCGM_FI_PROF_GR_ENGINE_ACTIVE', 'DCGM_FI_PROF_GR_ENGINE_UTIL_RATIO'],
  ['DCGM_FI_PROF_PIPE_TENSOR_ACTIVE', 'DCGM_FI_PROF_TENSOR_UTIL_RATIO'],
  ['DCGM_FI_PROF_DRAM_ACTIVE', 'DCGM_FI_PROF_DRAM_UTIL_RATIO'],
]);
const RENAMED_410: ReadonlyMap<string, string> = new Map([
  ['DCGM_FI_PROF_PCIE_TX_BYTES', 'DCGM_FI_PROF_PCIE_TX_BYTES_PER_SECOND'],
  ['DCGM_FI_PROF_PCIE_RX_BYTES', 'DCGM_FI_PROF_PCIE_RX_BYTES_PER_SECOND'],
]);

/** The 4.8.2 default rows' names in a later generation, the capacity row added before FB free. */
function generationNames(renames: readonly ReadonlyMap<string, string>[]): string[] {
  const out: string[] = [];
  for (const r of active(DCGM_EXPORTER_CSV_ROWS.default)) {
    if (r.name === 'DCGM_FI_DEV_FB_FREE') out.push('DCGM_FI_DEV_FB_CAPACITY_BYTES');
    out.push(renames.reduce((n, m) => m.get(n) ?? n, r.name));
  }
  return out;
}

t.test('every row of every file names a DCGM field, once', async (t) => {
  for (const file of COUNTERS_FILES) {
    const all = rows(file);
    t.ok(active(all).length >= 20, `${file}: ${active(all).length} active rows`);
    for (const r of all) t.ok(KNOWN.has(r.name), `${file} line ${r.line}: ${r.name} is a DCGM name`);
    for (const r of all) t.ok(['gauge', 'counter', 'label'].includes(r.type), `${file} line ${r.line}: type ${r.type}`);
    const names = active(all).map((r) => r.name);
    t.same(names.filter((n, i) => names.indexOf(n) !== i), [], `${file}: no name is active twice`);
    t.same(all.filter((r) => r.help === ''), [], `${file}: every row has a HELP text`);
  }
});

t.test("default-counters.csv and dcp-metrics-included.csv: dcgm-exporter 4.8.x's active rows, exactly", async (t) => {
  for (const [file, theirs] of [['default-counters.csv', DCGM_EXPORTER_CSV_ROWS.default], ['dcp-metrics-included.csv', DCGM_EXPORTER_CSV_ROWS.dcp]] as const) {
    const ours = rows(file);
    t.same(active(ours).map(triple), active(theirs).map(triple), `${file}: names, types and HELP texts in file order`);
    // every row dcgm-exporter ships commented can be switched on here too (a 3.x-era commented
    // duplicate of an active row is left out: it would make the name active twice)
    const activeNames = new Set(active(theirs).map((r) => r.name));
    for (const r of theirs.filter((x) => !x.active && !activeNames.has(x.name))) {
      t.ok(ours.some((o) => !o.active && o.name === r.name), `${file}: commented row ${r.name}`);
    }
  }
  t.same(active(rows('dcp-metrics-included.csv')).map(triple), active(rows('default-counters.csv')).map(triple), 'the two files have the same active rows');
});

t.test('1.x-compatibility-metrics.csv: the dcgm_* names, each active row of dcgm-exporter once', async (t) => {
  const ours = rows('1.x-compatibility-metrics.csv');
  const firsts: DcgmCsvRow[] = [];
  for (const r of active(DCGM_EXPORTER_CSV_ROWS.compat1x)) if (!firsts.some((f) => f.name === r.name)) firsts.push(r);
  t.equal(firsts.length, 20, 'dcgm-exporter lists 22 active rows, two names twice');
  t.same(active(ours).map(triple), firsts.map(triple), 'the first row of each name, in file order');
  for (const r of ours) t.match(r.name, /^dcgm_[a-z0-9_]+$/, `${r.name}: a lower-case 1.x name`);
  for (const r of DCGM_EXPORTER_CSV_ROWS.compat1x) {
    t.ok(ours.some((o) => o.name === r.name && o.help === r.help), `${r.name} "${r.help}" is here, active or commented`);
  }
});

t.test('the 4.9 and 4.10 generation files: the renamed defaults, the renamed driver label, the capacity row', async (t) => {
  t.equal(RENAMED_49.size, 23, "4.9.0's notes: 23 renamed fields");
  const g49 = active(rows('default-counters-4.9.csv'));
  const g410 = active(rows('default-counters-4.10.csv'));
  t.same(g49.map((r) => r.name), generationNames([RENAMED_49]), '4.9: the 4.8.2 rows renamed, DCGM_FI_DEV_FB_CAPACITY_BYTES added');
  t.same(g410.map((r) => r.name), generationNames([RENAMED_49, RENAMED_410]), '4.10: as 4.9, PCIe profiling rates *_BYTES_PER_SECOND');
  for (const g of [g49, g410]) {
    t.same(g.filter((r) => r.type === 'label').map((r) => r.name), ['DCGM_FI_SYSTEM_DRIVER_VERSION'], 'the one label row');
    const help = new Map(g.map((r) => [r.name, r.help]));
    t.match(help.get('DCGM_FI_DEV_SM_CLOCK_HERTZ'), /\(in Hz\)/);
    t.match(help.get('DCGM_FI_DEV_GPU_ENERGY_JOULES_TOTAL'), /\(in J\)/);
    t.match(help.get('DCGM_FI_DEV_FB_USED_BYTES'), /\(in bytes\)/);
    t.match(help.get('DCGM_FI_DEV_GPU_UTIL_RATIO'), /ratio from 0 to 1/);
    t.match(help.get('DCGM_FI_DEV_NVLINK_THROUGHPUT_BYTES_PER_SECOND'), /bytes per second/);
    t.equal(g.find((r) => r.name === 'DCGM_FI_DEV_GPU_ENERGY_JOULES_TOTAL')!.type, 'counter');
    // the rows that keep their 4.8.2 name keep its HELP text
    for (const r of active(DCGM_EXPORTER_CSV_ROWS.default).filter((x) => !RENAMED_49.has(x.name) && !RENAMED_410.has(x.name))) {
      t.equal(help.get(r.name), r.help, `${r.name}: 4.8.2's HELP text`);
    }
  }
  t.same(rows('default-counters-4.10.csv').filter((r) => !r.active).map((r) => r.name),
    ['DCGM_FI_PROF_NVLINK_TX_BYTES_PER_SECOND', 'DCGM_FI_PROF_NVLINK_RX_BYTES_PER_SECOND'], "4.10's optional NVLink profiling rates, commented");
});

t.test('each file parses with the exporter\'s parser', async (t) => {
  for (const file of COUNTERS_FILES) {
    const text = readFileSync(join(ROOT, 'etc', file), 'utf8');
    let sel: ReturnType<typeof parseCounters> | undefined;
    try {
      sel = parseCounters(text, file);
    } catch (err) {
      t.fail(`${file} parses: ${(err as Error).message}`);
      continue;
    }
    const n = active(rows(file)).length;
    t.equal(sel.fields.length + sel.labels.length + sel.skipped.length, n, `${file}: every active row is served or skipped`);
    t.ok(sel.fields.length >= 15, `${file}: ${sel.fields.length} fields served`);
  }
});
