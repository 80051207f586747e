import t from 'tap';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCsvLine } from '../../lib/fields/csv.js';
import {
  defaultCountersPath, loadCounters, loadDefaultCounters, parseCounters, selectionNeedsGpm, selectionNeedsPcieThroughput,
} from '../../lib/fields/counters.js';
import { ConfigError } from '../../lib/contract/errors.js';
import { CountersError } from '../../lib/fields/counters.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '..', 'fixtures', 'counters');
const tmp = mkdtempSync(join(tmpdir(), 'nvml-exporter-counters-'));
const write = (name: string, text: string) => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};
const collectLog = () => {
  const lines: string[] = [];
  return { lines, log: { info: (m: string) => lines.push(m) } };
};

t.test('csv line reader: quotes, doubled quotes, trimming, errors', async (t) => {
  t.same(parseCsvLine(' a , b ,c '), { ok: true, fields: ['a', 'b', 'c'] });
  t.same(parseCsvLine('a, gauge, "x, y"'), { ok: true, fields: ['a', 'gauge', 'x, y'] });
  t.same(parseCsvLine('a,b,"say ""hi"""'), { ok: true, fields: ['a', 'b', 'say "hi"'] });
  t.same(parseCsvLine('a,b,'), { ok: true, fields: ['a', 'b', ''] });
  const open = parseCsvLine('a,b,"never closed');
  t.equal(open.ok, false);
  t.match(!open.ok && open.error, /unterminated quoted field \(column 3\)/);
  const stray = parseCsvLine('a,b,say "hi"');
  t.match(!stray.ok && stray.error, /stray '"' in column 3/);
  const after = parseCsvLine('a,"b" x,c');
  t.match(!after.ok && after.error, /after the closing quote in column 2/);
});

t.test('the built-in default: dcgm-exporter default active rows, in field-ID order', async (t) => {
  const { lines, log } = collectLog();
  const sel = loadDefaultCounters(log);
  t.equal(sel.source, defaultCountersPath());
  t.same(sel.fields.map((f) => [f.field.id, f.name, f.type]), [
    [100, 'DCGM_FI_DEV_SM_CLOCK', 'gauge'],
    [101, 'DCGM_FI_DEV_MEM_CLOCK', 'gauge'],
    [140, 'DCGM_FI_DEV_MEMORY_TEMP', 'gauge'],
    [150, 'DCGM_FI_DEV_GPU_TEMP', 'gauge'],
    [155, 'DCGM_FI_DEV_POWER_USAGE', 'gauge'],
    [156, 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', 'counter'],
    [202, 'DCGM_FI_DEV_PCIE_REPLAY_COUNTER', 'counter'],
    [203, 'DCGM_FI_DEV_GPU_UTIL', 'gauge'],
    [204, 'DCGM_FI_DEV_MEM_COPY_UTIL', 'gauge'],
    [206, 'DCGM_FI_DEV_ENC_UTIL', 'gauge'],
    [207, 'DCGM_FI_DEV_DEC_UTIL', 'gauge'],
    [230, 'DCGM_FI_DEV_XID_ERRORS', 'gauge'],
    [251, 'DCGM_FI_DEV_FB_FREE', 'gauge'],
    [252, 'DCGM_FI_DEV_FB_USED', 'gauge'],
    [253, 'DCGM_FI_DEV_FB_RESERVED', 'gauge'],
    [393, 'DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS', 'counter'],
    [394, 'DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS', 'counter'],
    [395, 'DCGM_FI_DEV_ROW_REMAP_FAILURE', 'gauge'],
    [449, 'DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL', 'counter'],
    [526, 'DCGM_FI_DEV_VGPU_LICENSE_STATUS', 'gauge'],
    [1001, 'DCGM_FI_PROF_GR_ENGINE_ACTIVE', 'gauge'],
    [1004, 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE', 'gauge'],
    [1005, 'DCGM_FI_PROF_DRAM_ACTIVE', 'gauge'],
    [1009, 'DCGM_FI_PROF_PCIE_TX_BYTES', 'gauge'],
    [1010, 'DCGM_FI_PROF_PCIE_RX_BYTES', 'gauge'],
  ]);
  t.same(sel.labels.map((l) => l.name), ['DCGM_FI_DRIVER_VERSION']);
  const help = Object.fromEntries(sel.fields.map((f) => [f.name, f.help]));
  t.equal(help.DCGM_FI_DEV_POWER_USAGE, 'Power draw (in W).');
  t.equal(help.DCGM_FI_DEV_XID_ERRORS, 'Value of the last XID error encountered.');
  t.equal(help.DCGM_FI_DEV_DEC_UTIL, 'Decoder utilization (in %).');
  t.equal(help.DCGM_FI_DEV_ROW_REMAP_FAILURE, 'Whether remapping of rows has failed');
  // every active row is provided (the profiling rows from NVML GPM, on GPUs that have it): nothing skipped
  t.same(sel.skipped, []);
  t.same(lines, []);
  t.equal(selectionNeedsPcieThroughput(sel), false);
  t.equal(selectionNeedsGpm(sel), true, 'the default selects profiling fields: sweeps take GPM samples');
});

t.test('dcp-metrics-included.csv has the same active rows as default-counters.csv', async (t) => {
  const active = (p: string) => readFileSync(p, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const dcp = join(dirname(defaultCountersPath()), 'dcp-metrics-included.csv');
  t.same(active(dcp), active(defaultCountersPath()));
});

t.test('every commented opt-in row of the default file parses when enabled', async (t) => {
  const text = readFileSync(defaultCountersPath(), 'utf8').split('\n').map((l) => (/^# DCGM_/.test(l) ? l.slice(2) : l)).join('\n');
  const sel = parseCounters(text, 'all-enabled.csv');
  const names = sel.fields.map((f) => f.name);
  for (const n of ['DCGM_FI_DEV_POWER_VIOLATION', 'DCGM_FI_DEV_ECC_DBE_AGG_TOTAL', 'DCGM_FI_DEV_RETIRED_PENDING', 'DCGM_FI_DEV_FB_TOTAL',
    'DCGM_FI_DEV_PCIE_TX_THROUGHPUT', 'DCGM_FI_DEV_ENFORCED_POWER_LIMIT', 'DCGM_FI_DEV_CLOCKS_EVENT_REASONS', 'DCGM_EXP_XID_ERRORS_COUNT']) {
    t.ok(names.includes(n), `${n} selected`);
  }
  const ids = sel.fields.map((f) => f.field.id);
  t.same(ids, [...ids].sort((a, b) => a - b), 'ascending field IDs');
  t.same(sel.labels.map((l) => l.name), ['DCGM_FI_CUDA_DRIVER_VERSION', 'DCGM_FI_DEV_BRAND', 'DCGM_FI_DEV_ECC_INFOROM_VER', 'DCGM_FI_DEV_INFOROM_IMAGE_VER',
    'DCGM_FI_DEV_OEM_INFOROM_VER', 'DCGM_FI_DEV_POWER_INFOROM_VER', 'DCGM_FI_DEV_SERIAL', 'DCGM_FI_DEV_VBIOS_VERSION', 'DCGM_FI_DRIVER_VERSION', 'DCGM_FI_NVML_VERSION']);
  t.equal(selectionNeedsPcieThroughput(sel), true);
});

t.test('a user file: quoted help, trimming, legacy names, untyped, empty help, label rows, a PROF row', async (t) => {
  const { lines, log } = collectLog();
  const file = join(fixtures, 'quoted-help.csv');
  const sel = await loadCounters(file, log);
  t.same(sel.fields.map((f) => [f.name, f.type, f.help]), [
    ['DCGM_FI_DEV_SM_CLOCK', 'untyped', 'SM clock frequency (in MHz).'],
    ['dcgm_sm_clock', 'gauge', 'Legacy SM clock, "MHz".'],
    ['DCGM_FI_DEV_POWER_USAGE', 'gauge', ''],
    ['DCGM_FI_DEV_GPU_UTIL', 'gauge', 'GPU utilization, in percent (0-100).'],
    ['DCGM_FI_DEV_FB_USED', 'gauge', 'Framebuffer memory used (in MiB).'],
    ['DCGM_FI_PROF_SM_ACTIVE', 'gauge', 'The ratio of cycles an SM has at least 1 warp assigned.'],
  ]);
  t.equal(sel.fields[1]!.field.name, 'DCGM_FI_DEV_SM_CLOCK', 'legacy name maps to the same field');
  t.same(sel.labels.map((l) => l.name), ['DCGM_FI_DEV_SERIAL', 'DCGM_FI_DRIVER_VERSION']);
  t.same(lines, [], 'DCGM_FI_PROF_SM_ACTIVE (line 10) is served from NVML GPM, not skipped');
  const other = parseCounters('DCGM_FI_DEV_GPU_UTIL, gauge, x\nDCGM_FI_PROF_NVLINK_TX_BYTES_PER_LINK, gauge, y\n', 'prof.csv', log);
  t.same(other.skipped.map((r) => r.name), ['DCGM_FI_PROF_NVLINK_TX_BYTES_PER_LINK'], 'a PROF field of a link entity is skipped with its reason');
  t.match(lines[0], /skipping "DCGM_FI_PROF_NVLINK_TX_BYTES_PER_LINK": a per-link entity field/);
});

t.test('errors name the file, the line, the field and the fix', async (t) => {
  const unknown = join(fixtures, 'unknown-field.csv');
  await t.rejects(loadCounters(unknown), {
    name: 'CountersError',
    message: /^counters file .*unknown-field\.csv line 4: "DCGM_FI_DEV_FOO" is not a DCGM field name \(the nearest valid names: "[A-Z_]+", "[A-Z_]+", "[A-Z_]+"\)/,
    line: 4,
  });
  const two = join(fixtures, 'two-fields.csv');
  await t.rejects(loadCounters(two), {
    message: `counters file ${two} line 2: expected 3 comma-separated fields (name, type, help), got 2; quote a help text that contains commas`,
  });
  const cases: [string, RegExp][] = [
    ['DCGM_FI_DEV_GPU_UTIL, gauge, a, b\n', /line 1: expected 3 comma-separated fields \(name, type, help\), got 4/],
    ['DCGM_FI_DEV_GPU_UTIL, gaige, x\n', /line 1: field "DCGM_FI_DEV_GPU_UTIL": unknown type "gaige" \(expected one of gauge, counter, histogram, summary, label, untyped\)/],
    ['dcgm_fi_dev_gpu_util, gauge, x\n', /line 1: "dcgm_fi_dev_gpu_util" is not a DCGM field name \(the nearest valid names: "DCGM_FI_DEV_GPU_UTIL", /],
    ['DCGM_FI_DRIVER_VERSION, gauge, Driver Version\n', /line 1: field "DCGM_FI_DRIVER_VERSION" is a string field; give it the type label/],
    ['DCGM_FI_DEV_GPU_TEMP, label, t\n', /line 1: field "DCGM_FI_DEV_GPU_TEMP" is numeric; type label is only for string fields/],
    [', gauge, x\n', /line 1: empty field name in column 1/],
    ['DCGM_FI_DEV_GPU_UTIL, gauge, "open\n', /line 1: unterminated quoted field \(column 3\)/],
  ];
  for (const [text, re] of cases) {
    const p = write('bad.csv', text);
    let err: unknown;
    try { await loadCounters(p); } catch (e) { err = e; }
    t.ok(err instanceof CountersError && err instanceof ConfigError, 'a CountersError');
    t.equal((err as ConfigError).exitCode, 2);
    t.match((err as Error).message, new RegExp(`^counters file ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `));
    t.match((err as Error).message, re);
  }
  const missing = join(tmp, 'nope.csv');
  await t.rejects(loadCounters(missing), {
    message: `counters file ${missing}: cannot read it (no such file); pass a readable counters file with -f/--collectors or DCGM_EXPORTER_COLLECTORS, or leave both unset for the built-in default`,
  });
  await t.rejects(loadCounters(tmp), { message: /cannot read it \(it is a directory\)/ });
});

t.test('comments, blank lines and CRLF', async (t) => {
  const sel = parseCounters('# head\r\n\r\n   \r\n  # indented comment\r\nDCGM_FI_DEV_GPU_TEMP, gauge, GPU temperature (in C).\r\n', 'x.csv');
  t.same(sel.fields.map((f) => [f.name, f.line, f.help]), [['DCGM_FI_DEV_GPU_TEMP', 5, 'GPU temperature (in C).']]);
  // an empty selection would serve no GPU family: an error naming the fix
  t.throws(() => parseCounters('', 'empty.csv'), { name: 'CountersError', message: /^counters file empty\.csv: it selects no numeric field \(it is empty or only comments\)/ });
  t.throws(() => parseCounters('DCGM_FI_DRIVER_VERSION, label, d\n', 'labels.csv'), { message: /it selects no numeric field \(only 1 label and 0 skipped rows\)/ });
});

t.test('a duplicate row is a warning and the field is served once, as its first row gives it', async (t) => {
  const { lines, log } = collectLog();
  const sel = parseCounters('#c\nDCGM_FI_DEV_GPU_UTIL, gauge, first\nDCGM_FI_DEV_GPU_TEMP, gauge, t\nDCGM_FI_DEV_GPU_UTIL, counter, second\n', 'dup.csv', log);
  t.same(sel.fields.map((f) => [f.name, f.type, f.help, f.line]), [['DCGM_FI_DEV_GPU_TEMP', 'gauge', 't', 3], ['DCGM_FI_DEV_GPU_UTIL', 'gauge', 'first', 2]]);
  t.same(lines, ['counters file dup.csv line 4: "DCGM_FI_DEV_GPU_UTIL" is listed again (first on line 2); it is served once, as line 2 gives it']);
});
