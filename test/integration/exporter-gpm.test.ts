// The profiling fields (DCGM_FI_PROF_*) as a user sees them: the `nvml-exporter` command on the
// simulated NVML, the page it serves, and its log. Values are the scenario's with DCGM's units
// (percent ÷ 100, MiB/s × 1,048,576); the default counters file's five profiling fields at GPU
// level and per MIG GPU instance with that instance's pods; every naming generation's names; the
// first sweep's gap; pre-Hopper GPUs skipped with one log line; per-metric errors; a library
// without GPM; NVML refusing GPM for lack of privilege.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Scenario, SimGpu } from '../../lib/nvml/scenario.js';
import { startSimKubelet, type SimPod } from '../../lib/kubernetes/sim-kubelet.js';
import { spawnSync } from 'node:child_process';
import { cliPath, samplesOf, scrape, startExporter, valueOf, waitUntil, type Sample } from '../helpers/exporter.js';
import { simulatedLibraryPath, writeScenario } from '../../lib/nvml/simulation.js';
import { socketDir } from '../fixtures/kubelet/node.js';
import { simWithout } from './sim-harness.js';

const MIB = 1048576;
const uuid = (i: number) => `GPU-${i}0000000-bbbb-4ccc-8ddd-000000000000`;
const h100 = (i: number, extra: Partial<SimGpu> = {}): SimGpu => ({
  uuid: uuid(i),
  name: 'NVIDIA H100 80GB HBM3',
  gpm: { graphicsUtil: 62.5 + i, anyTensorUtil: 33.25, dramBwUtil: 47, pcieTxPerSec: 1000, pcieRxPerSec: 2048.5, smUtil: 55, nvlinkTotalTxPerSec: 700, nvlinkTotalRxPerSec: 300 },
  ...extra,
});
const a100 = (i: number): SimGpu => ({ uuid: uuid(i), name: 'NVIDIA A100-SXM4-80GB' });

/** Runs the exporter until `sweeps` sweeps are done (and `until` holds); returns the page and the log. */
async function pageOf(scenario: Scenario, opts: { args?: string[]; sweeps?: number; until?: (s: Sample[]) => boolean; library?: string } = {}) {
  const lib = opts.library ? ['--nvml-library', opts.library] : [];
  const exp = await startExporter({ scenario, args: ['-c', '200', ...(opts.args ?? []), ...lib] });
  try {
    const s = await waitUntil(async () => {
      const x = await scrape(exp.url);
      const swept = (valueOf(x.samples, 'nvml_exporter_sweeps_total') ?? 0) >= (opts.sweeps ?? 3);
      return swept && (opts.until?.(x.samples) ?? true) ? x : undefined;
    }, `${opts.sweeps ?? 3} sweeps`);
    return { ...s, stderr: exp.stderr() };
  } finally {
    await exp.stop();
  }
}

const v = (s: Sample[], name: string, labels: Record<string, string> = {}) => valueOf(s, name, labels);

t.test('default counters on H100s: the five profiling fields with DCGM units, whole GPU', async (t) => {
  const { samples, text } = await pageOf({ gpus: [h100(0), h100(1)] });
  t.equal(v(samples, 'DCGM_FI_PROF_GR_ENGINE_ACTIVE', { gpu: '0' }), 0.625, 'GRAPHICS_UTIL 62.5 % → 0.625');
  t.equal(v(samples, 'DCGM_FI_PROF_GR_ENGINE_ACTIVE', { gpu: '1' }), 0.635);
  t.equal(v(samples, 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE', { gpu: '0' }), 0.3325, 'ANY_TENSOR_UTIL (5), not HMMA');
  t.equal(v(samples, 'DCGM_FI_PROF_DRAM_ACTIVE', { gpu: '0' }), 0.47);
  t.equal(v(samples, 'DCGM_FI_PROF_PCIE_TX_BYTES', { gpu: '0' }), 1000 * MIB, '1000 MiB/s → 1,048,576,000 B/s');
  t.equal(v(samples, 'DCGM_FI_PROF_PCIE_RX_BYTES', { gpu: '0' }), Math.trunc(2048.5 * MIB), 'MiB/s × 1,048,576, truncated');
  t.match(text, /^DCGM_FI_PROF_GR_ENGINE_ACTIVE\{gpu="0",UUID="GPU-00000000-bbbb-4ccc-8ddd-000000000000",pci_bus_id="[^"]+",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",hostname="[^"]*",DCGM_FI_DRIVER_VERSION="580.65.06"\} 0.625000$/m,
    'six decimals, the label order of every GPU family');
  t.match(text, /^DCGM_FI_PROF_PCIE_TX_BYTES\{[^}]*\} 1048576000$/m, 'an integer');
  t.match(text, /# HELP DCGM_FI_PROF_GR_ENGINE_ACTIVE Ratio of time the graphics engine is active.\n# TYPE DCGM_FI_PROF_GR_ENGINE_ACTIVE gauge\n/);
  t.equal(samplesOf(samples, 'DCGM_FI_PROF_SM_ACTIVE').length, 0, 'commented out in the default file: not served');
});

t.test('every naming generation: 4.9 ratio names, 4.10 _BYTES_PER_SECOND, the transition serving both', async (t) => {
  const p49 = await pageOf({ gpus: [h100(0)] }, { args: ['--naming-profile', '4.9'] });
  t.equal(v(p49.samples, 'DCGM_FI_PROF_GR_ENGINE_UTIL_RATIO', { gpu: '0' }), 0.625);
  t.equal(v(p49.samples, 'DCGM_FI_PROF_TENSOR_UTIL_RATIO', { gpu: '0' }), 0.3325);
  t.equal(v(p49.samples, 'DCGM_FI_PROF_DRAM_UTIL_RATIO', { gpu: '0' }), 0.47);
  t.equal(v(p49.samples, 'DCGM_FI_PROF_PCIE_TX_BYTES', { gpu: '0' }), 1000 * MIB);
  const p410 = await pageOf({ gpus: [h100(0)] }, { args: ['--naming-profile', '4.10'] });
  t.equal(v(p410.samples, 'DCGM_FI_PROF_PCIE_TX_BYTES_PER_SECOND', { gpu: '0' }), 1000 * MIB);
  t.equal(v(p410.samples, 'DCGM_FI_PROF_PCIE_RX_BYTES_PER_SECOND', { gpu: '0' }), Math.trunc(2048.5 * MIB));
  t.equal(v(p410.samples, 'DCGM_FI_PROF_GR_ENGINE_UTIL_RATIO', { gpu: '0' }), 0.625);
  const tr = await pageOf({ gpus: [h100(0)] }, { args: ['--naming-transition', '4.10'] });
  for (const [a, b] of [['DCGM_FI_PROF_GR_ENGINE_ACTIVE', 'DCGM_FI_PROF_GR_ENGINE_UTIL_RATIO'], ['DCGM_FI_PROF_PCIE_TX_BYTES', 'DCGM_FI_PROF_PCIE_TX_BYTES_PER_SECOND']] as const) {
    t.equal(v(tr.samples, a, { gpu: '0' }), v(tr.samples, b, { gpu: '0' }), `${a} and ${b} both served, same value`);
    t.not(v(tr.samples, b, { gpu: '0' }), undefined);
  }
});

t.test('the rest of the PROF fields from a CSV: SM, occupancy, pipes, NVLink totals and per link', async (t) => {
  const csv = join(mkdtempSync(join(tmpdir(), 'gpm-csv-')), 'c.csv');
  writeFileSync(csv, [
    'DCGM_FI_PROF_SM_ACTIVE, gauge, SM.',
    'DCGM_FI_PROF_SM_OCCUPANCY, gauge, Occupancy.',
    'DCGM_FI_PROF_NVLINK_TX_BYTES, gauge, NVLink TX.',
    'DCGM_FI_PROF_NVLINK_RX_BYTES_PER_SECOND, gauge, NVLink RX.',
    'DCGM_FI_PROF_NVLINK_L0_TX_BYTES, gauge, Link 0 TX.',
    'DCGM_FI_PROF_C2C_TX_ALL_BYTES, gauge, C2C.',
    'DCGM_FI_PROF_PCIE_TX_BYTES_TOTAL, counter, PCIe bytes.',
    '',
  ].join('\n'));
  const { samples } = await pageOf({ gpus: [h100(0, { values: { gpuUtil: 40 }, gpm: { smUtil: 55, nvlinkTotalTxPerSec: 700, nvlinkTotalRxPerSec: 300, 63: 38.5, 255: 1000 } })] }, { args: ['-f', csv] });
  t.equal(v(samples, 'DCGM_FI_PROF_SM_ACTIVE', { gpu: '0' }), 0.55);
  t.equal(v(samples, 'DCGM_FI_PROF_SM_OCCUPANCY', { gpu: '0' }), 0.2, 'the simulator\'s default: half the load (40 % × 0.5)');
  t.equal(v(samples, 'DCGM_FI_PROF_NVLINK_TX_BYTES', { gpu: '0' }), 700 * MIB, 'TX is metric 61');
  t.equal(v(samples, 'DCGM_FI_PROF_NVLINK_RX_BYTES_PER_SECOND', { gpu: '0' }), 300 * MIB, 'RX is metric 60');
  t.equal(v(samples, 'DCGM_FI_PROF_NVLINK_L0_TX_BYTES', { gpu: '0' }), Math.trunc(38.5 * MIB), 'link 0 TX is metric 63');
  t.equal(samplesOf(samples, 'DCGM_FI_PROF_C2C_TX_ALL_BYTES').length, 0, 'no C2C on this GPU (NOT_SUPPORTED): no series');
  const total = v(samples, 'DCGM_FI_PROF_PCIE_TX_BYTES_TOTAL', { gpu: '0' });
  t.ok(total !== undefined && total > 0 && Number.isInteger(total), `a counter since the library started: ${total}`);
});

t.test('the first sweep serves no profiling series (one sample), the next ones do', async (t) => {
  const exp = await startExporter({ scenario: { gpus: [h100(0)] }, args: ['-c', '60000'] });
  t.teardown(() => exp.stop());
  const first = await scrape(exp.url);
  t.equal(valueOf(first.samples, 'nvml_exporter_sweeps_total'), 1, 'one sweep so far (60 s interval)');
  t.equal(samplesOf(first.samples, 'DCGM_FI_PROF_GR_ENGINE_ACTIVE').length, 0, 'no GPM pair yet: no series (never a 0)');
  t.not(valueOf(first.samples, 'DCGM_FI_DEV_GPU_UTIL', { gpu: '0' }), undefined, 'the other fields are there');
});

t.test('--once takes a second sweep so the page has the profiling fields', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'gpm-once-')), 's.txt');
  writeScenario(file, { gpus: [h100(0)] });
  const r = spawnSync(process.execPath, [cliPath, '--once', '--nvml-library', simulatedLibraryPath()], {
    env: { ...process.env, NVML_SIM_SCENARIO: file }, encoding: 'utf8', timeout: 60_000,
  });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^DCGM_FI_PROF_GR_ENGINE_ACTIVE\{gpu="0",[^}]*\} 0.625000$/m);
});

t.test('a mixed node: H100s served, A100s skipped with one accurate log line each', async (t) => {
  const { samples, stderr } = await pageOf({ gpus: [h100(0), a100(1), h100(2)] }, { sweeps: 4 });
  t.same(samplesOf(samples, 'DCGM_FI_PROF_GR_ENGINE_ACTIVE').map((s) => s.labels.gpu), ['0', '2'], 'only the Hopper GPUs');
  t.not(v(samples, 'DCGM_FI_DEV_GPU_UTIL', { gpu: '1' }), undefined, 'the A100 keeps its other series');
  const lines = stderr.split('\n').filter((l) => /has no GPM/.test(l));
  t.equal(lines.length, 1, 'one line for the one A100, not one per sweep');
  t.match(lines[0], /GPU 1 \(NVIDIA A100-SXM4-80GB\) has no GPM: NVML profiling metrics need a Hopper or newer GPU; its DCGM_FI_PROF_\* series are skipped/);
  t.match(lines[0], /uuid=GPU-10000000-bbbb-4ccc-8ddd-000000000000/);
});

t.test('all A100s: no profiling series, a line per GPU, the exporter serves the rest', async (t) => {
  const { samples, stderr } = await pageOf({ gpus: [a100(0), a100(1)] });
  t.equal(samples.filter((s) => s.name.startsWith('DCGM_FI_PROF_')).length, 0);
  t.equal(stderr.split('\n').filter((l) => /has no GPM/.test(l)).length, 2);
  t.not(v(samples, 'DCGM_FI_DEV_GPU_UTIL', { gpu: '0' }), undefined);
});

t.test('per-metric errors and NaN: only that field is missing', async (t) => {
  const { samples } = await pageOf({ gpus: [h100(0, { gpm: { graphicsUtil: 'nan', anyTensorUtil: { error: 999 }, dramBwUtil: 47, pcieTxPerSec: 5, pcieRxPerSec: 6 } })] });
  t.equal(samplesOf(samples, 'DCGM_FI_PROF_GR_ENGINE_ACTIVE').length, 0, 'NaN → no sample (never NaN on the page)');
  t.equal(samplesOf(samples, 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE').length, 0, 'an error for that metric → no sample');
  t.equal(v(samples, 'DCGM_FI_PROF_DRAM_ACTIVE', { gpu: '0' }), 0.47);
  t.equal(v(samples, 'DCGM_FI_PROF_PCIE_TX_BYTES', { gpu: '0' }), 5 * MIB);
});

t.test('NVML refuses GPM (NO_PERMISSION): said once, with the fix', async (t) => {
  const { samples, stderr } = await pageOf({ gpus: [h100(0), h100(1)], errors: { nvmlGpmSampleGet: 4 } }, { sweeps: 4 });
  t.equal(samples.filter((s) => s.name.startsWith('DCGM_FI_PROF_')).length, 0);
  const lines = stderr.split('\n').filter((l) => /NO_PERMISSION/.test(l));
  t.equal(lines.length, 1, 'once, not per GPU or per sweep');
  t.match(lines[0], /NVreg_RestrictProfilingToAdminUsers=0/);
  t.match(lines[0], /level=warn/);
});

t.test('a library without the GPM symbols: every GPU skipped with the reason, the rest served', async (t) => {
  const lib = simWithout('exp-no-gpm', ['nvmlGpmQueryDeviceSupport', 'nvmlGpmSampleAlloc', 'nvmlGpmSampleFree', 'nvmlGpmSampleGet', 'nvmlGpmMigSampleGet', 'nvmlGpmMetricsGet']);
  if (lib.missingGcc) return t.fail(lib.missingGcc);
  const { samples, stderr } = await pageOf({ gpus: [h100(0)] }, { library: lib.path });
  t.equal(samples.filter((s) => s.name.startsWith('DCGM_FI_PROF_')).length, 0);
  t.match(stderr, /GPU 0 \(NVIDIA H100 80GB HBM3\): the NVML library has no GPM functions/);
  t.not(v(samples, 'DCGM_FI_DEV_GPU_UTIL', { gpu: '0' }), undefined);
});

t.test('MIG: the profiling fields per GPU instance, with that instance\'s pods; PCIe the GPU\'s', async (t) => {
  const MIG = ['MIG-00000000-cccc-4ddd-8eee-000000000001', 'MIG-00000000-cccc-4ddd-8eee-000000000002', 'MIG-00000000-cccc-4ddd-8eee-000000000003'];
  const scenario: Scenario = {
    gpus: [h100(0, {
      mig: [
        { profile: '3g.40gb', uuid: MIG[0], gpuInstanceId: 1, gpm: { graphicsUtil: 80, anyTensorUtil: 50, dramBwUtil: 30 } },
        { profile: '1c.2g.20gb', uuid: MIG[1], gpuInstanceId: 3, gpm: { graphicsUtil: 20, dramBwUtil: 12.5 } },
        { profile: '1c.2g.20gb', uuid: MIG[2], gpuInstanceId: 3, gpm: { graphicsUtil: 60 } },
      ],
    })],
  };
  const sock = socketDir();
  const pods: SimPod[] = [
    { namespace: 'ml', name: 'trainer-0', containers: [{ name: 'main', devices: [{ resource: 'nvidia.com/mig-3g.40gb', ids: [MIG[0]!] }] }] },
    { namespace: 'ml', name: 'notebook-0', containers: [{ name: 'main', devices: [{ resource: 'nvidia.com/mig-2g.20gb', ids: [MIG[1]!] }] }] },
  ];
  const kubelet = await startSimKubelet(sock.socket, { pods });
  t.teardown(async () => {
    await kubelet.stop();
    sock.cleanup();
  });
  const { samples } = await pageOf(scenario, {
    args: ['-k', '--pod-resources-kubelet-socket', sock.socket, '--pod-resources-refresh-interval', '200'],
    until: (s) => samplesOf(s, 'DCGM_FI_PROF_GR_ENGINE_ACTIVE').some((x) => x.labels.pod !== undefined),
  });
  const gr = samplesOf(samples, 'DCGM_FI_PROF_GR_ENGINE_ACTIVE');
  t.same(gr.map((s) => [s.labels.GPU_I_ID, s.labels.GPU_I_PROFILE, s.labels.pod, s.value]), [
    ['1', '3g.40gb', 'trainer-0', 0.8],
    ['3', '2g.20gb', 'notebook-0', 0.4],
  ], 'one series per GPU instance (its own GPM sample), with its pod; the compute instances of GI 3 aggregated');
  t.same(samplesOf(samples, 'DCGM_FI_PROF_DRAM_ACTIVE').map((s) => [s.labels.GPU_I_ID, s.value]), [['1', 0.3], ['3', 0.125]], 'DRAM per GPU instance');
  t.same(samplesOf(samples, 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE').map((s) => [s.labels.GPU_I_ID, s.labels.namespace, s.value]), [['1', 'ml', 0.5], ['3', 'ml', 0.21]],
    'GI 3: the simulator\'s default tensor share (0.6 × the default load 35)');
  t.same(samplesOf(samples, 'DCGM_FI_PROF_PCIE_TX_BYTES').map((s) => [s.labels.GPU_I_ID, s.value]), [['1', 1000 * MIB], ['3', 1000 * MIB]],
    'PCIe is whole-GPU only: the GPU\'s value on each instance, as every device-wide field');
  t.equal(samplesOf(samples, 'DCGM_FI_PROF_GR_ENGINE_ACTIVE').filter((s) => s.labels.GPU_I_ID === undefined).length, 0, 'no whole-GPU ratio series beside the instances (-d f)');
  const gOnly = await pageOf(scenario, { args: ['-d', 'g'] });
  t.same(samplesOf(gOnly.samples, 'DCGM_FI_PROF_GR_ENGINE_ACTIVE').map((s) => [s.labels.gpu, s.labels.GPU_I_ID, s.value]), [['0', undefined, 0.625]],
    '-d g: the whole GPU from its own sample');
});

t.test('/api/v1/gpus carries the profiling readings too (what the KEDA scaler reads), per GPU and per MIG device', async (t) => {
  const exp = await startExporter({
    scenario: { gpus: [h100(0), h100(1, { mig: [{ profile: '3g.40gb', gpuInstanceId: 1, gpm: { graphicsUtil: 80 } }] }), a100(2)] },
    args: ['-c', '200'],
  });
  t.teardown(() => exp.stop());
  type Doc = { gpus: { gpu: number; readings: Record<string, number>; mig: { gpuInstanceId: number; readings: Record<string, number> }[] }[] };
  const doc = await waitUntil(async () => {
    const d = (await (await fetch(`${exp.url}/api/v1/gpus`)).json()) as Doc;
    return d.gpus[0]?.readings.DCGM_FI_PROF_GR_ENGINE_ACTIVE !== undefined && d.gpus[1]?.mig[0]?.readings.DCGM_FI_PROF_GR_ENGINE_ACTIVE !== undefined ? d : undefined;
  }, 'profiling readings in the document');
  t.equal(doc.gpus[0]!.readings.DCGM_FI_PROF_GR_ENGINE_ACTIVE, 0.625);
  t.equal(doc.gpus[0]!.readings.DCGM_FI_PROF_PCIE_TX_BYTES, 1000 * MIB);
  t.equal(doc.gpus[1]!.mig[0]!.readings.DCGM_FI_PROF_GR_ENGINE_ACTIVE, 0.8, 'the GPU instance\'s own value');
  t.equal(doc.gpus[2]!.readings.DCGM_FI_PROF_GR_ENGINE_ACTIVE, undefined, 'none on the A100');
  t.not(doc.gpus[2]!.readings.DCGM_FI_DEV_GPU_UTIL, undefined);
});
