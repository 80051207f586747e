// The GPM fields' conversions and levels as pure functions of a sweep's GPM data, the selection
// switch, and the documentation listing every DCGM_FI_PROF_* field.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GPM_FIELDS, isGpmField } from '../../lib/fields/gpm-fields.js';
import { lookupField } from '../../lib/fields/index.js';
import { parseCounters, selectionNeedsGpm } from '../../lib/fields/counters.js';
import { DCGM_FIELDS } from '../../lib/fields/dcgm-field-table.js';
import type { DeviceSample, GpmEntity, GpmSample, MigDeviceSample } from '../../lib/nvml/types.js';
import type { Snapshot } from '../../lib/collect/types.js';
import { repoRoot } from '../helpers/exporter.js';

const entity = (values: Record<number, number>, extra: Partial<GpmEntity> = {}): GpmEntity => ({
  gpuInstanceId: null, computeInstanceId: null, code: 0, values: new Map(Object.entries(values).map(([k, v]) => [Number(k), v])), status: new Map(), ...extra,
});
const dev = (gpm?: GpmSample): DeviceSample => ({
  index: 0, minor: 0, uuid: 'GPU-x', name: 'NVIDIA H100 80GB HBM3', pciBusId: '00000000:18:00.0', serial: null, migEnabled: false, lostCode: null,
  readings: {}, status: {}, mig: [], gpm,
});
const mig = (gi: number | null): MigDeviceSample => ({ uuid: 'MIG-x', slot: 0, gpuInstanceId: gi, computeInstanceId: 0, profile: '3g.40gb', name: 'MIG', readings: {}, status: {} });
const snap = {} as Snapshot;
const field = (name: string) => {
  const f = lookupField(name);
  if (f?.kind !== 'value') throw new Error(`${name} is not a value field`);
  return f;
};

t.test('DCGM conversions: percent ÷ 100, MiB/s × 1,048,576 truncated, counters as they are', async (t) => {
  const d = dev({ support: 0, gpu: entity({ 1: 62.5, 5: 33.25, 10: 47, 20: 1000.0000001, 21: 0.5, 60: 3, 61: 7, 255: 123456789.9, 160: 12.7 }), instances: [], computeInstances: [] });
  t.equal(field('DCGM_FI_PROF_GR_ENGINE_ACTIVE').device(d, snap), 0.625);
  t.equal(field('DCGM_FI_PROF_PIPE_TENSOR_ACTIVE').device(d, snap), 0.3325, 'metric 5 (any tensor)');
  t.equal(field('DCGM_FI_PROF_DRAM_ACTIVE').device(d, snap), 0.47);
  t.equal(field('DCGM_FI_PROF_PCIE_TX_BYTES').device(d, snap), 1048576000, 'truncated, as DCGM stores an int64');
  t.equal(field('DCGM_FI_PROF_PCIE_RX_BYTES').device(d, snap), 524288);
  t.equal(field('DCGM_FI_PROF_NVLINK_RX_BYTES').device(d, snap), 3 * 1048576, 'RX is metric 60');
  t.equal(field('DCGM_FI_PROF_NVLINK_TX_BYTES').device(d, snap), 7 * 1048576, 'TX is metric 61');
  t.equal(field('DCGM_FI_PROF_PCIE_TX_BYTES_TOTAL').device(d, snap), 123456789);
  t.equal(field('DCGM_FI_PROF_HOSTMEM_CACHE_HIT').device(d, snap), 12);
  t.equal(field('DCGM_FI_PROF_PCIE_TX_BYTES').format, 'int');
  t.equal(field('DCGM_FI_PROF_GR_ENGINE_ACTIVE').format, 'double');
});

t.test('no value: NaN, a failed metric, no pair yet, not supported, not asked', async (t) => {
  const gr = field('DCGM_FI_PROF_GR_ENGINE_ACTIVE');
  t.equal(gr.device(dev({ support: 0, gpu: entity({ 1: NaN }), instances: [], computeInstances: [] }), snap), undefined, 'NaN → no sample');
  t.equal(gr.device(dev({ support: 0, gpu: entity({}, { status: new Map([[1, 999]]) }), instances: [], computeInstances: [] }), snap), undefined);
  t.equal(gr.device(dev({ support: 0, gpu: entity({ 1: 50 }, { code: -1 }), instances: [], computeInstances: [] }), snap), undefined, 'first sweep');
  t.equal(gr.device(dev({ support: 0, gpu: entity({ 1: 50 }, { code: 4 }), instances: [], computeInstances: [] }), snap), undefined);
  t.equal(gr.device(dev({ support: 3, gpu: null, instances: [], computeInstances: [] }), snap), undefined);
  t.equal(gr.device(dev(), snap), undefined);
});

t.test('levels: ratios and DRAM per GPU instance from its own entity; PCIe/NVLink whole GPU only', async (t) => {
  const d = dev({ support: 0, gpu: entity({ 1: 90, 10: 80, 20: 1 }), instances: [entity({ 1: 40, 10: 20 }, { gpuInstanceId: 3 })], computeInstances: [] });
  t.equal(field('DCGM_FI_PROF_GR_ENGINE_ACTIVE').mig!(mig(3), d, snap), 0.4);
  t.equal(field('DCGM_FI_PROF_DRAM_ACTIVE').mig!(mig(3), d, snap), 0.2);
  t.equal(field('DCGM_FI_PROF_GR_ENGINE_ACTIVE').mig!(mig(5), d, snap), undefined, 'an instance without its own sample has none');
  t.equal(field('DCGM_FI_PROF_GR_ENGINE_ACTIVE').mig!(mig(null), d, snap), undefined);
  t.equal(field('DCGM_FI_PROF_PCIE_TX_BYTES').mig, undefined, 'PCIe: whole GPU only');
  t.equal(field('DCGM_FI_PROF_NVLINK_TX_BYTES').mig, undefined);
  t.equal(field('DCGM_FI_PROF_NVDEC0_ACTIVE').mig, undefined);
  t.same(GPM_FIELDS.filter((f) => f.entity === 'gpu_i').map((f) => f.name), ['DCGM_FI_PROF_DRAM_ACTIVE']);
});

t.test('every DCGM_FI_PROF_* field with a GPM metric is served; GPM sampled only when one is selected', async (t) => {
  const prof = DCGM_FIELDS.filter((f) => f.name.startsWith('DCGM_FI_PROF_') || (f.aliases ?? []).some((a) => a.startsWith('DCGM_FI_PROF_')));
  const served = prof.filter((f) => lookupField(f.name)?.kind === 'value').map((f) => f.id);
  t.same(prof.filter((f) => !served.includes(f.id)).map((f) => f.id), [1532, 1533], 'only the two link-entity fields are not');
  t.equal(GPM_FIELDS.length, 91, '16 engine/pipe/PCIe/NVLink, 18 decoder engines, 36 NVLink links, 4 C2C, 4 caches, 13 counters');
  t.ok(isGpmField(1001) && isGpmField(1096) && !isGpmField(1035) && !isGpmField(203));
  t.equal(selectionNeedsGpm(parseCounters('DCGM_FI_DEV_GPU_UTIL, gauge, x\n', 'a.csv')), false);
  t.equal(selectionNeedsGpm(parseCounters('DCGM_FI_DEV_GPU_UTIL, gauge, x\nDCGM_FI_PROF_TENSOR_UTIL_RATIO, gauge, y\n', 'b.csv')), true);
});

t.test('docs/profiling-metrics.md lists every served field with its id, and the ones not served', async (t) => {
  const doc = readFileSync(join(repoRoot, 'docs', 'profiling-metrics.md'), 'utf8');
  const missing = GPM_FIELDS.filter((f) => !doc.includes(`| \`${f.name}\` | ${f.id} |`)).map((f) => f.name);
  t.same(missing, []);
  t.match(doc, /DCGM_FI_PROF_NVLINK_TX_BYTES_PER_LINK/);
  t.match(doc, /DCGM_FI_PROF_PCIE_TX_BYTES_PER_SECOND/);
  t.match(readFileSync(join(repoRoot, 'README.md'), 'utf8'), /docs\/profiling-metrics\.md/);
});
