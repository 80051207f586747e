// The real driver's quirks as a user sees them: the `nvml-exporter` command on the simulated NVML
// with each quirk switched on, and the page it serves. (The addon's side of each item:
// nvml-driver-quirks.test.ts and nvml-mig-fidelity.test.ts.)
import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Collector, type SweepSource } from '../../lib/collect/collector.js';
import type { DeviceSample, SweepResult } from '../../lib/nvml/types.js';
import type { Scenario, SimGpu } from '../../lib/nvml/scenario.js';
import { repoRoot, samplesOf, scrape, startExporter, valueOf, waitUntil, type Sample } from '../helpers/exporter.js';
import { findObject, kubectlSkipReason, kustomize, readYamlDocs } from '../deploy/helpers/files.js';
import { renderObjects } from '../deploy/helpers/chart.js';
import { silentLogger } from '../../lib/logger.js';

const uuid = (i: number) => `GPU-${i}0000000-aaaa-4bbb-8ccc-000000000000`;
const gpus = (...g: SimGpu[]): Scenario => ({ gpus: g.map((x, i) => ({ uuid: uuid(i), ...x })) });
const v = (s: Sample[], name: string, gpu: string, extra: Record<string, string> = {}) => valueOf(s, name, { gpu, ...extra });
const noMigMonitor = { NVIDIA_MIG_MONITOR_DEVICES: undefined };

/** Runs the exporter on `scenario` until `sweeps` sweeps are done; returns the page then. */
async function pageOf(scenario: Scenario, opts: { args?: string[]; env?: NodeJS.ProcessEnv; sweeps?: number } = {}) {
  const exp = await startExporter({ scenario, args: ['-c', '300', ...(opts.args ?? [])], env: { ...noMigMonitor, ...opts.env } });
  try {
    const s = await waitUntil(async () => {
      const x = await scrape(exp.url);
      return (valueOf(x.samples, 'nvml_exporter_sweeps_total') ?? 0) >= (opts.sweeps ?? 1) ? x : undefined;
    }, `${opts.sweeps ?? 1} sweeps`);
    return { ...s, stderr: exp.stderr() };
  } finally {
    await exp.stop();
  }
}

t.test('item 1: mislabelled field types: memory temperature and NVLink bandwidth on the page', async (t) => {
  const nv = { nvlinkTx: { ramp: { start: 0, perS: 600_000 } }, nvlinkRx: { ramp: { start: 0, perS: 400_000 } } };
  const { samples } = await pageOf(gpus({ values: { memTemp: 52, ...nv }, quirks: ['field-types-double'] }), { sweeps: 3 });
  t.equal(v(samples, 'DCGM_FI_DEV_MEMORY_TEMP', '0'), 52, 'not 0 (2.57e-322 read as a double)');
  const bw = v(samples, 'DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL', '0');
  t.ok(bw !== undefined && bw >= 700 && bw <= 1300, `NVLink bandwidth present, about 1000: ${bw}`);
});

t.test('item 2: an untouched RETIRED_PENDING entry (ECC off) has no series; with ECC on it has', async (t) => {
  const csv = join(mkdtempSync(join(tmpdir(), 'quirk-csv-')), 'c.csv');
  writeFileSync(csv, 'DCGM_FI_DEV_RETIRED_PENDING, counter, Pages pending retirement.\nDCGM_FI_DEV_GPU_TEMP, gauge, GPU temperature (in C).\n');
  const { samples } = await pageOf(gpus(
    { values: { eccModeCurrent: 0, retiredPending: 1 }, quirks: ['ecc-fields-untouched'] },
    { values: { eccModeCurrent: 1, retiredPending: 1 }, quirks: ['ecc-fields-untouched'] },
  ), { args: ['-f', csv] });
  t.equal(v(samples, 'DCGM_FI_DEV_RETIRED_PENDING', '0'), undefined, 'not the 0 of a zeroed entry');
  t.equal(v(samples, 'DCGM_FI_DEV_RETIRED_PENDING', '1'), 1);
  t.equal(v(samples, 'DCGM_FI_DEV_GPU_TEMP', '0'), 45, 'the GPU is there');
  t.same(samplesOf(samples, 'nvml_exporter_read_errors_total'), [], 'not a read error either');
});

t.test('item 3: NVLink bandwidth over links 0, 2, 5, 7 without the all-links scope, in DCGM\'s unit', async (t) => {
  // 1,000,000 KiB/s in all: DCGM's rate is ΔKiB / s / 1000 = 1000 (ours was 1024)
  const nv = { nvlinkTx: { ramp: { start: 0, perS: 700_000 } }, nvlinkRx: { ramp: { start: 0, perS: 300_000 } } };
  const { samples } = await pageOf(gpus(
    { nvlinkIds: [0, 2, 5, 7], quirks: ['no-nvlink-all-scope'], values: nv },
    { nvlinkIds: [1, 3], values: nv },
  ), { sweeps: 4 });
  for (const gpu of ['0', '1']) {
    const bw = v(samples, 'DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL', gpu)!;
    // sweeps land a few ms off schedule on a busy machine; counting half the links would read ~500
    t.ok(bw >= 850 && bw <= 1150, `GPU ${gpu}: every link counted, about 1000: ${bw}`);
  }
});

t.test('item 3: the collector\'s arithmetic is DCGM\'s: ΔKiB / s / 1000, truncated', async (t) => {
  const at = (ms: number, kib: number): SweepResult => ({
    timestamp: ms, durationUs: 1, driverVersion: '', nvmlVersion: '', cudaDriverVersion: null,
    devices: [{ index: 0, minor: 0, uuid: uuid(0), name: 'x', pciBusId: '', serial: null, migEnabled: null, lostCode: null,
      readings: { nvlinkTx: kib, nvlinkRx: 0 }, status: {}, mig: [] } as DeviceSample],
  });
  const queue = [at(1000, 0), at(2000, 999_999), at(2500, 999_999 + 250_750)];
  const source: SweepSource = { sweep: async () => queue.shift()!, onXid: () => () => {} };
  const c = new Collector({ nvml: source, intervalMs: 3_600_000, logger: silentLogger });
  await c.start();
  t.teardown(() => c.stop());
  t.equal(c.current()!.nvlinkBandwidth.get(uuid(0)), 0, 'first sample');
  await c.sweepOnce();
  t.equal(c.current()!.nvlinkBandwidth.get(uuid(0)), 999, '999,999 KiB in 1 s → 999.999 → 999 (rounding would give 1000; ×1024/1e6 1023)');
  await c.sweepOnce();
  t.equal(c.current()!.nvlinkBandwidth.get(uuid(0)), 501, '250,750 KiB in 0.5 s → 501.5 → 501');
});

t.test('item 5: GPU_I_PROFILE from the GPU instance, not from the MIG device name', async (t) => {
  const { samples, text } = await pageOf(gpus({
    mig: [
      { profile: '1c.2g.20gb', gpuInstanceId: 3, computeInstanceId: 0 },
      { profile: '1g.10gb+me', gpuInstanceId: 9 },
      { profile: '3g.40gb', gpuInstanceId: 1, profileMemoryMB: 41472 },
    ],
  }));
  const profiles = samplesOf(samples, 'DCGM_FI_DEV_FB_USED').map((s) => [s.labels.GPU_I_ID, s.labels.GPU_I_PROFILE]);
  t.same(profiles, [['3', '2g.20gb'], ['9', '1g.10gb'], ['1', '3g.41gb']], 'DCGM\'s <slices>g.<ceil(MB/1024)>gb');
  t.notMatch(text, /GPU_I_PROFILE="1c\.|\+me"/, 'no compute-instance prefix, no suffix anywhere');
});

t.test('item 7: MIG parent memory without NVIDIA_MIG_MONITOR_DEVICES: one warning naming GPU and fix; with it the series', async (t) => {
  const s = gpus({ migCapable: true, migMode: true }, {});
  const exp = await startExporter({ scenario: s, args: ['-c', '200'], env: noMigMonitor });
  t.teardown(() => exp.stop());
  const page = await waitUntil(async () => {
    const x = await scrape(exp.url);
    return (valueOf(x.samples, 'nvml_exporter_sweeps_total') ?? 0) >= 4 ? x.samples : undefined;
  }, 'four sweeps');
  t.equal(v(page, 'DCGM_FI_DEV_FB_USED', '0'), undefined, 'MIG on, no instances, no permission: no parent FB_USED');
  t.equal(v(page, 'DCGM_FI_DEV_FB_USED', '1'), 40960, 'the whole GPU has it');
  const warnings = exp.stderr().split('\n').filter((l) => l.includes('NVIDIA_MIG_MONITOR_DEVICES'));
  t.equal(warnings.length, 1, `said once over four sweeps: ${warnings.join(' | ')}`);
  t.match(warnings[0], /NO_PERMISSION/);
  t.match(warnings[0], new RegExp(uuid(0)), 'names the GPU');
  t.match(warnings[0], /NVIDIA_MIG_MONITOR_DEVICES=all/, 'names the fix');
  const withVar = await pageOf(s, { env: { NVIDIA_MIG_MONITOR_DEVICES: 'all' } });
  t.equal(v(withVar.samples, 'DCGM_FI_DEV_FB_USED', '0'), 40960, 'with the variable: the parent\'s memory');
  t.notMatch(withVar.stderr, /NVIDIA_MIG_MONITOR_DEVICES/, 'and no warning');
});

t.test('item 7: CollectorStatus counts the GPUs whose MIG parent memory is refused', async (t) => {
  const dev = (i: number, mig: boolean, memCode?: number): DeviceSample => ({
    index: i, minor: i, uuid: uuid(i), name: 'x', pciBusId: '', serial: null, migEnabled: mig, lostCode: null,
    readings: memCode ? {} : { memTotal: 1 }, status: memCode ? { memTotal: memCode } : {}, mig: [],
  });
  const sweeps: SweepResult[] = [[dev(0, true, 4), dev(1, true, 4), dev(2, false)], [dev(0, true), dev(1, true, 4), dev(2, false)]]
    .map((devices) => ({ timestamp: Date.now(), durationUs: 1, driverVersion: '', nvmlVersion: '', cudaDriverVersion: null, devices }));
  const warned: unknown[] = [];
  const c = new Collector({
    nvml: { sweep: async () => sweeps.shift()!, onXid: () => () => {} }, intervalMs: 3_600_000,
    logger: { ...silentLogger, warn: (_m: string, f?: unknown) => void warned.push(f) },
  });
  await c.start();
  t.teardown(() => c.stop());
  t.equal(c.status().migParentMemoryDenied, 2);
  t.same(warned, [{ gpu: 0, uuid: uuid(0) }, { gpu: 1, uuid: uuid(1) }]);
  await c.sweepOnce();
  t.equal(c.status().migParentMemoryDenied, 1, 'GPU 0 answers now');
  t.equal(warned.length, 2, 'no second warning for GPU 1');
});

t.test('item 8: no row-remap series for a MIG GPU with instances', async (t) => {
  const { samples } = await pageOf(gpus({ mig: [{ profile: '3g.40gb' }] }, { values: { remappedCorrectable: 3 } }));
  for (const name of ['DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS', 'DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS', 'DCGM_FI_DEV_ROW_REMAP_FAILURE']) {
    t.same(samplesOf(samples, name, { UUID: uuid(0) }), [], `${name}: none for the MIG GPU (as DCGM's fields 142-145 then)`);
  }
  t.equal(v(samples, 'DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS', '1'), 3, 'the whole GPU keeps them');
});

t.test('item 10: the CUDA driver version label without libcuda', async (t) => {
  const csv = join(mkdtempSync(join(tmpdir(), 'quirk-csv-')), 'c.csv');
  writeFileSync(csv, 'DCGM_FI_DEV_GPU_TEMP, gauge, GPU temperature (in C).\nDCGM_FI_CUDA_DRIVER_VERSION, label, CUDA Driver Version\n');
  const { samples } = await pageOf({ ...gpus({}), cudaDriverVersion: 12080, quirks: ['no-libcuda'] }, { args: ['-f', csv] });
  t.equal(samplesOf(samples, 'DCGM_FI_DEV_GPU_TEMP')[0]?.labels.DCGM_FI_CUDA_DRIVER_VERSION, '12080');
});

t.test('item 11: DCGM_FI_DEV_VGPU_LICENSE_STATUS in the default page: 0 bare metal and unlicensed, 1 licensed', async (t) => {
  const { samples } = await pageOf(gpus({}, { values: { vgpuLicenseStatus: 1 } }, { values: { vgpuLicenseStatus: 0 } },
    { values: { vgpuLicenseStatus: 'unsupported' } }));
  t.same(['0', '1', '2', '3'].map((g) => v(samples, 'DCGM_FI_DEV_VGPU_LICENSE_STATUS', g)), [0, 1, 0, undefined]);
});

t.test('item 12: enforced power limit in whole watts; GPU temperatures above 200 C have no sample', async (t) => {
  const csv = join(mkdtempSync(join(tmpdir(), 'quirk-csv-')), 'c.csv');
  writeFileSync(csv, 'DCGM_FI_DEV_ENFORCED_POWER_LIMIT, gauge, Enforced limit.\nDCGM_FI_DEV_GPU_TEMP, gauge, GPU temperature (in C).\n');
  const { samples, text } = await pageOf(gpus({ values: { powerLimit: 350_999, gpuTemp: 255 } }, { values: { powerLimit: 700_000, gpuTemp: 200 } }), { args: ['-f', csv] });
  t.match(text, new RegExp(`DCGM_FI_DEV_ENFORCED_POWER_LIMIT\\{gpu="0"[^}]*\\} 350\\.000000\\n`), 'integer division, printed as DCGM\'s double');
  t.equal(v(samples, 'DCGM_FI_DEV_ENFORCED_POWER_LIMIT', '1'), 700);
  t.equal(v(samples, 'DCGM_FI_DEV_GPU_TEMP', '0'), undefined, '255 C is a read error');
  t.equal(v(samples, 'DCGM_FI_DEV_GPU_TEMP', '1'), 200);
});

/** The DaemonSet container's NVIDIA_MIG_MONITOR_DEVICES value among `docs`. */
function migEnv(docs: ReturnType<typeof readYamlDocs>): string | undefined {
  const ds = findObject(docs, 'DaemonSet') as { spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } };
  return ds.spec.template.spec.containers[0]!.env.find((e) => e.name === 'NVIDIA_MIG_MONITOR_DEVICES')?.value;
}

t.test('item 7: every manifest and the image set NVIDIA_MIG_MONITOR_DEVICES=all', async (t) => {
  const env = migEnv;
  t.equal(env(readYamlDocs(join(repoRoot, 'deploy/manifests/base/daemonset.yaml'))), 'all', 'kustomize base DaemonSet');
  t.equal(env(renderObjects() as ReturnType<typeof readYamlDocs>), 'all', 'Helm chart DaemonSet, rendered with its defaults');
  t.match(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'), /NVIDIA_MIG_MONITOR_DEVICES=all/, 'image ENV');
});

t.test('item 7: the kustomize renders carry NVIDIA_MIG_MONITOR_DEVICES=all', { skip: kubectlSkipReason() }, async (t) => {
  for (const overlay of ['', 'overlays/full', 'overlays/monitoring', 'overlays/keda-scaler']) {
    t.equal(migEnv(kustomize(join(repoRoot, 'deploy/manifests', overlay))), 'all', `kubectl kustomize deploy/manifests/${overlay}`);
  }
});
