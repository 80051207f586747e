// GPM (profiling metrics) through the addon, against the simulated NVML: the first sweep has no
// metrics, the next one (≥ 100 ms later) has the scenario's values exactly; per-GPU support
// (H100 yes, A100 no, a library without the symbols: FUNCTION_NOT_FOUND); MIG GPU instances
// sampled through the parent (a GPU instance aggregates its compute instances), compute instances
// on request; per-metric errors and NaN; errors of whole calls; sweeps closer than 100 ms keep the
// older sample; an older driver header (98 metrics per call).
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Nvml, GPM_METRIC, type GpmEntity, type SweepResult } from '../../lib/nvml/index.js';
import { simulatedLibraryPath, writeScenario } from '../../lib/nvml/simulation.js';
import type { Scenario, SimGpu } from '../../lib/nvml/scenario.js';
import { simWithout } from './sim-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'nvml-gpm-'));
const file = join(dir, 'scenario.txt');
process.env.NVML_SIM_SCENARIO = file;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Two sweeps 150 ms apart (GPM pairs need ≥ 100 ms); returns both. */
async function twoSweeps(s: Scenario, opts: { gpm?: boolean | 'with-compute-instances'; library?: string } = {}): Promise<[SweepResult, SweepResult]> {
  writeScenario(file, s);
  const nvml = await Nvml.open({ library: opts.library ?? simulatedLibraryPath() });
  try {
    const gpm = opts.gpm ?? true;
    const first = await nvml.sweep({ gpm });
    await sleep(150);
    return [first, await nvml.sweep({ gpm })];
  } finally {
    await nvml.close();
  }
}

const values = (e: GpmEntity | null | undefined) => Object.fromEntries([...(e?.values ?? new Map<number, number>())].map(([k, v]) => [k, v]));

const h100 = (extra: Partial<SimGpu> = {}): SimGpu => ({
  name: 'NVIDIA H100 80GB HBM3',
  values: { gpuUtil: 40, memUtil: 25, pcieTx: 150_000, pcieRx: 400_000 },
  gpm: { graphicsUtil: 62.5, anyTensorUtil: 33.25, dramBwUtil: 47, pcieTxPerSec: 1000, pcieRxPerSec: 2048.5, nvlinkTotalRxPerSec: 300, nvlinkTotalTxPerSec: 700 },
  ...extra,
});

t.test('the first sweep has no metrics; the second has the scenario values exactly, in NVML units', async (t) => {
  const [a, b] = await twoSweeps({ gpus: [h100()] });
  const g0 = a.devices[0]!.gpm!;
  t.equal(g0.support, 0, 'an H100 supports GPM');
  t.equal(g0.gpu!.code, -1, 'first sweep: no earlier sample to pair with');
  t.equal(g0.gpu!.values.size, 0);
  const g = b.devices[0]!.gpm!;
  t.equal(g.gpu!.code, 0);
  const v = values(g.gpu);
  t.equal(v[GPM_METRIC.graphicsUtil], 62.5, 'percent as NVML gives it');
  t.equal(v[GPM_METRIC.anyTensorUtil], 33.25);
  t.equal(v[GPM_METRIC.dramBwUtil], 47);
  t.equal(v[GPM_METRIC.pcieTxPerSec], 1000, 'MiB/s');
  t.equal(v[GPM_METRIC.pcieRxPerSec], 2048.5);
  t.equal(v[GPM_METRIC.nvlinkTotalRxPerSec], 300, 'RX is metric 60');
  t.equal(v[GPM_METRIC.nvlinkTotalTxPerSec], 700, 'TX is metric 61');
  t.equal(v[GPM_METRIC.smUtil], 36, 'a metric the scenario leaves out follows the load (gpuUtil 40 × 0.9)');
  t.equal(g.gpu!.status.get(GPM_METRIC.c2cTotalTxPerSec), 3, 'no C2C on an H100: NOT_SUPPORTED for that metric');
  t.equal(g.gpu!.values.size + g.gpu!.status.size, 91, 'one call asks for all 91 GPU-level metrics');
  t.same(g.instances, [], 'no MIG: no GPU instances');
});

t.test('per-GPU support: H100 and H200 yes, A100 no; a mixed node', async (t) => {
  const [, b] = await twoSweeps({ gpus: [h100(), { name: 'NVIDIA A100-SXM4-80GB' }, { name: 'NVIDIA H200' }, { name: 'NVIDIA A100-SXM4-80GB', gpmSupported: true }] });
  t.same(b.devices.map((d) => d.gpm?.support), [0, 3, 0, 0], 'A100 answers isSupportedDevice 0 → NOT_SUPPORTED (3); `gpm on` overrides');
  t.equal(b.devices[1]!.gpm!.gpu, null, 'no entity on a GPU without GPM');
  t.equal(values(b.devices[0]!.gpm!.gpu)[1], 62.5, 'the supported GPU still has its metrics');
  t.equal(values(b.devices[2]!.gpm!.gpu)[1], 35, 'default graphicsUtil follows the default load (gpuUtil 35)');
});

t.test('GPM not asked: nothing sampled, no gpm in the result', async (t) => {
  const [a, b] = await twoSweeps({ gpus: [h100()] }, { gpm: false });
  t.equal(a.devices[0]!.gpm, undefined);
  t.equal(b.devices[0]!.gpm, undefined);
});

t.test('a wave: the metric is the time-weighted mean between the samples, within the wave', async (t) => {
  const [, b] = await twoSweeps({ gpus: [h100({ gpm: { graphicsUtil: { wave: { min: 10, max: 90, periodS: 2 } } } })] });
  const v = values(b.devices[0]!.gpm!.gpu)[1]!;
  t.ok(v >= 10 && v <= 90, `between min and max: ${v}`);
});

t.test('NaN and per-metric error codes stay per metric', async (t) => {
  const [, b] = await twoSweeps({ gpus: [h100({ gpm: { graphicsUtil: 'nan', anyTensorUtil: { error: 999 }, dramBwUtil: 'unsupported', pcieTxPerSec: 12 } })] });
  const e = b.devices[0]!.gpm!.gpu!;
  t.equal(e.code, 0, 'the call succeeds');
  t.ok(Number.isNaN(e.values.get(1)), 'NaN kept as NaN (the field layer drops it)');
  t.equal(e.status.get(5), 999, 'UNKNOWN for the tensor metric only');
  t.equal(e.status.get(10), 3, 'NOT_SUPPORTED for DRAM only');
  t.equal(e.values.get(20), 12, 'the other metrics are there');
});

t.test('a failing call: NO_PERMISSION from the sample or from the support query, a failing metrics get', async (t) => {
  const [, b] = await twoSweeps({ gpus: [h100({ errors: { nvmlGpmSampleGet: 4 } }), h100({ errors: { nvmlGpmQueryDeviceSupport: 4 } }), h100()] });
  t.equal(b.devices[0]!.gpm!.support, 0);
  t.equal(b.devices[0]!.gpm!.gpu!.code, 4, 'the entity carries NO_PERMISSION');
  t.equal(b.devices[1]!.gpm!.support, 4, 'the support query answered NO_PERMISSION');
  t.equal(b.devices[2]!.gpm!.gpu!.code, 0, 'the other GPU is not affected');
  const [, c] = await twoSweeps({ gpus: [h100(), h100()], errors: { nvmlGpmMetricsGet: 2 } });
  t.same(c.devices.map((d) => d.gpm!.gpu!.code), [2, 2], 'metrics get failing: the code, no values');
});

t.test('sweeps closer than 100 ms: the older sample is kept for the next pair; after a pair, its metrics are served again', async (t) => {
  writeScenario(file, { gpus: [h100()] });
  const nvml = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => nvml.close());
  const first = await nvml.sweep({ gpm: true });
  const soon = await nvml.sweep({ gpm: true });
  const gap = soon.timestamp - first.timestamp;
  // on a loaded machine the second sweep may land later than 100 ms: then it pairs, as it should
  if (gap < 90) t.equal(soon.devices[0]!.gpm!.gpu!.code, -1, `${gap} ms after the first sample: no pair`);
  else if (gap > 110) t.equal(soon.devices[0]!.gpm!.gpu!.code, 0, `${gap} ms after the first sample: paired`);
  else t.ok([-1, 0].includes(soon.devices[0]!.gpm!.gpu!.code), `${gap} ms: at the 100 ms edge either outcome is right`);
  await sleep(120);
  const later = await nvml.sweep({ gpm: true });
  t.equal(later.devices[0]!.gpm!.gpu!.code, 0, 'paired with the first sample');
  t.equal(values(later.devices[0]!.gpm!.gpu)[1], 62.5);
  writeScenario(file, { gpus: [h100({ gpm: { graphicsUtil: 10 } })] });
  await sleep(30); // the simulated library rereads its file at most every 10 ms
  const again = await nvml.sweep({ gpm: true });
  if (again.timestamp - later.timestamp < 90) {
    t.equal(again.devices[0]!.gpm!.gpu!.code, 0, 'under 100 ms after the pair: the last pair\'s metrics again (no gap in the series)');
    t.equal(values(again.devices[0]!.gpm!.gpu)[1], 62.5, 'the last pair\'s value, not yet the new load');
  }
  await sleep(150);
  const next = await nvml.sweep({ gpm: true });
  const v = values(next.devices[0]!.gpm!.gpu)[1]!;
  t.ok(v >= 10 && v < 62.5, `the next pair measures the new load, time-weighted over its interval: ${v}`);
});

t.test('MIG: each GPU instance through the parent (aggregating its compute instances), compute instances on request', async (t) => {
  const gpu = h100({
    mig: [
      { profile: '3g.40gb', gpuInstanceId: 1, gpm: { graphicsUtil: 80, anyTensorUtil: 50, dramBwUtil: 30 } },
      { profile: '1c.2g.20gb', gpuInstanceId: 3, gpm: { graphicsUtil: 20 } },
      { profile: '1c.2g.20gb', gpuInstanceId: 3, gpm: { graphicsUtil: 60 } },
    ],
  });
  const [a, b] = await twoSweeps({ gpus: [gpu, { name: 'NVIDIA A100-SXM4-80GB', migCapable: true, mig: [{ profile: '1g.10gb' }] }] }, { gpm: 'with-compute-instances' });
  t.same(a.devices[0]!.gpm!.instances.map((e) => [e.gpuInstanceId, e.code]), [[1, -1], [3, -1]], 'first sweep: GPU instances sampled, no pair yet');
  const g = b.devices[0]!.gpm!;
  t.same(g.instances.map((e) => e.gpuInstanceId), [1, 3], 'one entity per GPU instance that has a compute instance');
  const gi1 = values(g.instances[0]);
  t.equal(gi1[1], 80);
  t.equal(gi1[5], 50);
  t.equal(gi1[10], 30, 'DRAM at GPU-instance level');
  t.equal(values(g.instances[1])[1], 40, 'a GPU instance aggregates its compute instances (slice-weighted: (20 + 60) / 2)');
  t.equal(g.instances[0]!.status.get(20), undefined, 'only the ratio metrics are asked at instance level');
  t.equal(g.instances[0]!.values.size + g.instances[0]!.status.size, 12);
  t.same(g.computeInstances.map((e) => [e.gpuInstanceId, e.computeInstanceId, e.code]), [[1, 0, 0], [3, 0, 0], [3, 1, 0]]);
  t.same(g.computeInstances.map((e) => values(e)[1]), [80, 20, 60], 'each compute instance its own');
  t.notOk(g.computeInstances[0]!.values.has(10), 'no DRAM metric at compute-instance level');
  t.equal(b.devices[1]!.gpm!.support, 3, 'the MIG A100 has no GPM at any level');
  t.same(b.devices[1]!.gpm!.instances, []);
  const [, noCi] = await twoSweeps({ gpus: [gpu] }, { gpm: true });
  t.same(noCi.devices[0]!.gpm!.computeInstances, [], 'compute instances only when asked');
});

t.test('an older driver header: at most 98 metrics per call, and the addon never asks for more', async (t) => {
  const [, b] = await twoSweeps({ gpus: [h100()], gpmMetricMax: 98 });
  t.equal(b.devices[0]!.gpm!.gpu!.code, 0, '91 metrics fit in one call of the shortest header');
  t.equal(values(b.devices[0]!.gpm!.gpu)[1], 62.5);
});

t.test('a library without the GPM symbols: every GPU reads FUNCTION_NOT_FOUND, the rest of the sweep is whole', async (t) => {
  const lib = simWithout('no-gpm', ['nvmlGpmQueryDeviceSupport', 'nvmlGpmSampleAlloc', 'nvmlGpmSampleFree', 'nvmlGpmSampleGet', 'nvmlGpmMigSampleGet', 'nvmlGpmMetricsGet']);
  if (lib.missingGcc) return t.fail(lib.missingGcc);
  const [, b] = await twoSweeps({ gpus: [h100(), h100()] }, { library: lib.path });
  t.same(b.devices.map((d) => d.gpm?.support), [13, 13]);
  t.equal(b.devices[0]!.readings.gpuUtil, 40, 'the other readings are read as always');
  const legacy = await twoSweeps({ gpus: [h100()] }, { library: simulatedLibraryPath(true) });
  t.equal(legacy[1].devices[0]!.gpm?.support, 13, 'the R470-era library has no GPM either');
});

t.test('a library with GPM but without nvmlGpmMigSampleGet (R520): GPU level served, GPU instances FUNCTION_NOT_FOUND', async (t) => {
  const lib = simWithout('no-gpm-mig', ['nvmlGpmMigSampleGet']);
  if (lib.missingGcc) return t.fail(lib.missingGcc);
  const [, b] = await twoSweeps({ gpus: [h100({ mig: [{ profile: '1g.10gb' }] })] }, { library: lib.path });
  const g = b.devices[0]!.gpm!;
  t.equal(g.gpu!.code, 0);
  t.same(g.instances.map((e) => [e.gpuInstanceId, e.code]), [[7, 13]]);
});

t.test('a GPU instance destroyed and created again under the same id starts a new pair', async (t) => {
  const layout = (uuid: string): Scenario => ({ gpus: [h100({ mig: [{ profile: '3g.40gb', gpuInstanceId: 1, uuid, gpm: { graphicsUtil: 80 } }] })] });
  writeScenario(file, layout('MIG-11111111-1111-4111-8111-111111111111'));
  const nvml = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => nvml.close());
  await nvml.sweep({ gpm: true });
  await sleep(150);
  const paired = await nvml.sweep({ gpm: true });
  t.equal(paired.devices[0]!.gpm!.instances[0]!.code, 0);
  writeScenario(file, layout('MIG-22222222-2222-4222-8222-222222222222'));
  await sleep(150);
  const recreated = await nvml.sweep({ gpm: true });
  t.same(recreated.devices[0]!.mig.map((m) => m.uuid), ['MIG-22222222-2222-4222-8222-222222222222'], 'the new instance is seen');
  t.equal(recreated.devices[0]!.gpm!.instances[0]!.code, -1, 'no pair with the old instance\'s sample');
  t.equal(recreated.devices[0]!.gpm!.gpu!.code, 0, 'the whole GPU keeps its pairs');
});
