import t from 'tap';
import { buildGpusDocument } from '../../lib/exposition/gpus-json.js';
import { createSelfMetrics } from '../../lib/exposition/self-metrics.js';
import type { Snapshot, CollectorStatus } from '../../lib/collect/types.js';
import type { DeviceSample } from '../../lib/nvml/types.js';
import type { PodMap, PodResourcesStatus } from '../../lib/kubernetes/types.js';

const MiB = 1048576;
const gpu = (index: number, over: Partial<DeviceSample> = {}): DeviceSample => ({
  index, minor: index, uuid: `GPU-${index}`, name: 'NVIDIA A100 80GB PCIe', pciBusId: `00000000:0${index}:00.0`, serial: 'S',
  migEnabled: false, lostCode: null, status: {}, mig: [],
  readings: { gpuUtil: 30, powerUsage: 55500, memUsed: 2048 * MiB, memTemp: 250 },
  ...over,
});
const snapshot = (devices: DeviceSample[]): Snapshot => ({
  sweep: { timestamp: 1_700_000_000_000, durationUs: 10, driverVersion: '550.54.15', nvmlVersion: 'x', cudaDriverVersion: null, devices },
  seq: 3, lastXid: new Map(), xidCount: new Map(), nvlinkBandwidth: new Map(),
});

t.test('the /api/v1/gpus document', async (t) => {
  const g0 = gpu(0, {
    migEnabled: true,
    mig: [{ uuid: 'MIG-a', slot: 0, gpuInstanceId: 3, computeInstanceId: 0, profile: '3g.40gb', name: 'MIG 3g.40gb',
      readings: { memUsed: 100 * MiB, gpuUtil: 12 }, status: {} }],
  });
  const lost = gpu(1, { lostCode: 15 });
  const pods: PodMap = { updatedAt: 0, byUuid: new Map([
    ['MIG-a', [{ namespace: 'ml', pod: 'p', container: 'c', resourceName: 'nvidia.com/mig-3g.40gb' }]],
    ['GPU-1', [{ namespace: 'a', pod: 'b', container: 'c' }]],
  ]) };
  const doc = buildGpusDocument({
    snapshot: snapshot([lost, g0]), pods, hostname: 'node-1', now: 1_700_000_002_500, staleAfterMs: 2000,
    podResources: { enabled: true, up: true, ageSeconds: 1.5 }, replaceBlanksInModelName: true,
  });
  t.equal(doc.apiVersion, 1);
  t.equal(doc.hostname, 'node-1');
  t.equal(doc.timestamp, '2023-11-14T22:13:20.000Z');
  t.equal(doc.ageSeconds, 2.5);
  t.equal(doc.stale, true);
  t.equal(doc.driverVersion, '550.54.15');
  t.same(doc.podResources, { enabled: true, up: true, ageSeconds: 1.5 });
  t.same(doc.gpus.map((g) => g.gpu), [0, 1], 'GPU index order');
  const [a, b] = doc.gpus;
  t.same(a!.readings, {
    DCGM_FI_DEV_POWER_USAGE: 55.5, DCGM_FI_DEV_GPU_UTIL: 30, DCGM_FI_DEV_XID_ERRORS: 0, DCGM_FI_DEV_FB_USED: 2048,
    DCGM_EXP_XID_ERRORS_COUNT: 0,
  }, 'all catalogue fields the GPU provides, in /metrics units; MEMORY_TEMP 250 omitted');
  t.equal(a!.device, 'nvidia0');
  t.equal(a!.modelName, 'NVIDIA-A100-80GB-PCIe');
  t.equal(a!.lost, false);
  t.same(a!.pods, []);
  t.same(a!.mig, [{ uuid: 'MIG-a', gpuInstanceId: 3, computeInstanceId: 0, profile: '3g.40gb', readings: { DCGM_FI_DEV_FB_USED: 100 },
    pods: [{ namespace: 'ml', pod: 'p', container: 'c', resourceName: 'nvidia.com/mig-3g.40gb' }] }]);
  t.equal(b!.lost, true);
  t.same(b!.readings, {});
  t.same(b!.pods, [{ namespace: 'a', pod: 'b', container: 'c' }]);
  const fresh = buildGpusDocument({ snapshot: snapshot([]), pods: null, hostname: 'h', now: 1_700_000_000_100, staleAfterMs: 2000,
    podResources: { enabled: false, up: false, ageSeconds: null } });
  t.equal(fresh.stale, false);
  t.same(fresh.gpus, []);
  t.same(JSON.parse(JSON.stringify(doc)), doc, 'plain JSON');
});

t.test('self-metrics: values read from the providers at render time', async (t) => {
  let status: CollectorStatus = {
    nvmlOpen: true, lastSweepSeconds: 0.0025, lastSuccessMs: 1_700_000_000_000, sweepsTotal: 10, sweepsFailed: 2, sweepsStalled: 1,
    readErrors: new Map([['powerUsage\u0000UNKNOWN', 3]]), gpusLost: 1, gpuCount: 8,
  };
  const pr: PodResourcesStatus = { up: false, errorsByReason: { deadline: 2, unavailable: 1 }, lastSuccessMs: 1_700_000_000_000, unmatchedDeviceIds: 4 };
  const m = createSelfMetrics({
    collector: () => status, podResources: () => pr, reloads: () => ({ ok: 2, failed: 1 }),
    build: { version: '0.1.0', nodeVersion: 'v20.0.0', library: '/lib/libnvidia-ml.so.1', driver: '550.54.15' },
    now: () => 1_700_000_004_000,
  });
  let text = await m.render();
  const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
  t.same(lines, [
    'nvml_exporter_build_info{version="0.1.0",node_version="v20.0.0",nvml_library="/lib/libnvidia-ml.so.1",driver="550.54.15"} 1',
    'nvml_exporter_nvml_up 1',
    'nvml_exporter_sweep_duration_seconds 0.0025',
    'nvml_exporter_last_sweep_success_timestamp_seconds 1700000000',
    'nvml_exporter_sweeps_total 10',
    'nvml_exporter_sweeps_failed_total 2',
    'nvml_exporter_sweeps_stalled_total 1',
    'nvml_exporter_read_errors_total{field="powerUsage",code="UNKNOWN"} 3',
    'nvml_exporter_gpus 8',
    'nvml_exporter_gpus_lost 1',
    'nvml_exporter_config_reloads_total 2',
    'nvml_exporter_config_reload_failures_total 1',
    'nvml_exporter_podresources_up 0',
    'nvml_exporter_podresources_refresh_errors_total{reason="deadline"} 2',
    'nvml_exporter_podresources_refresh_errors_total{reason="unavailable"} 1',
    'nvml_exporter_pod_map_age_seconds 4',
    'nvml_exporter_podresources_unmatched_device_ids_total 4',
  ]);
  t.match(text, '# TYPE nvml_exporter_sweeps_total counter');
  status = { ...status, sweepsTotal: 11, readErrors: new Map() };
  text = await m.render();
  t.match(text, 'nvml_exporter_sweeps_total 11');
  t.notMatch(text, 'nvml_exporter_read_errors_total{');
  const noK8s = createSelfMetrics({ collector: () => status, reloads: () => ({ ok: 0, failed: 0 }),
    build: { version: '0', nodeVersion: 'v', library: 'l', driver: 'd' } });
  t.notMatch(await noK8s.render(), 'podresources', 'no pod metrics without attribution');
  t.notMatch(await noK8s.render(), 'nvml_exporter_render_duration_seconds', 'no render timing without its provider');
  let renderS: number | null = null;
  const timed = createSelfMetrics({ collector: () => status, reloads: () => ({ ok: 0, failed: 0 }), renderSeconds: () => renderS,
    build: { version: '0', nodeVersion: 'v', library: 'l', driver: 'd' } });
  t.match(await timed.render(), /^# TYPE nvml_exporter_render_duration_seconds gauge$/m);
  t.notMatch(await timed.render(), /^nvml_exporter_render_duration_seconds /m, 'no sample before the first render (not a 0)');
  renderS = 0.0004;
  t.match(await timed.render(), /^nvml_exporter_render_duration_seconds 0\.0004$/m);
  // before the first sweep: no duration and no success time (a 0 would read as "at the epoch")
  status = { ...status, lastSweepSeconds: null, lastSuccessMs: null };
  const before = await timed.render();
  t.match(before, /^# TYPE nvml_exporter_sweep_duration_seconds gauge$/m, 'the family is still declared');
  t.notMatch(before, /^nvml_exporter_sweep_duration_seconds /m);
  t.notMatch(before, /^nvml_exporter_last_sweep_success_timestamp_seconds /m);
  status = { ...status, lastSweepSeconds: 0.002, lastSuccessMs: 1_700_000_001_000 };
  const after = await timed.render();
  t.match(after, /^nvml_exporter_sweep_duration_seconds 0\.002$/m);
  t.match(after, /^nvml_exporter_last_sweep_success_timestamp_seconds 1700000001$/m);
});

t.test('self-metrics: rendered again only when a value changed, and then every change shows', async (t) => {
  let status: CollectorStatus = {
    nvmlOpen: true, lastSweepSeconds: 0.001, lastSuccessMs: 1_700_000_000_000, sweepsTotal: 1, sweepsFailed: 0, sweepsStalled: 0,
    readErrors: new Map(), gpusLost: 0, gpuCount: 2,
  };
  let pr: PodResourcesStatus = { up: true, errorsByReason: {}, lastSuccessMs: 1_700_000_000_000, unmatchedDeviceIds: 0 };
  let clock = 1_700_000_000_200;
  let reloads = { ok: 0, failed: 0 };
  const m = createSelfMetrics({
    collector: () => status, podResources: () => pr, reloads: () => reloads,
    build: { version: '0', nodeVersion: 'v', library: 'l', driver: 'd' }, now: () => clock,
  });
  let renders = 0;
  const real = m.registry.metrics.bind(m.registry);
  m.registry.metrics = () => {
    renders++;
    return real();
  };
  const first = await m.render();
  t.equal(await m.render(), first);
  clock += 500; // the pod map age stays 0 whole seconds
  t.equal(await m.render(), first);
  t.equal(renders, 1, 'nothing changed: no new render');

  const step = async (what: string, change: () => void, expect: string | RegExp) => {
    change();
    const text = await m.render();
    t.match(text, expect, what);
  };
  await step('a sweep', () => (status = { ...status, sweepsTotal: 2, lastSuccessMs: 1_700_000_000_900 }), /^nvml_exporter_sweeps_total 2$/m);
  await step('a read error appears', () => (status = { ...status, readErrors: new Map([['powerUsage\u0000UNKNOWN', 1]]) }),
    /^nvml_exporter_read_errors_total\{field="powerUsage",code="UNKNOWN"\} 1$/m);
  await step('a different read error, same count and size', () => (status = { ...status, readErrors: new Map([['gpuTemp\u0000UNKNOWN', 1]]) }),
    /^nvml_exporter_read_errors_total\{field="gpuTemp",code="UNKNOWN"\} 1$/m);
  await step('a GPU lost', () => (status = { ...status, gpusLost: 1 }), /^nvml_exporter_gpus_lost 1$/m);
  await step('a reload', () => (reloads = { ok: 1, failed: 0 }), /^nvml_exporter_config_reloads_total 1$/m);
  await step('the kubelet fails', () => (pr = { ...pr, up: false, errorsByReason: { deadline: 1 } }),
    /^nvml_exporter_podresources_up 0$[^]*^nvml_exporter_podresources_refresh_errors_total\{reason="deadline"\} 1$/m);
  await step('the same count under another reason', () => (pr = { ...pr, errorsByReason: { unavailable: 1 } }),
    /^nvml_exporter_podresources_refresh_errors_total\{reason="unavailable"\} 1$/m);
  await step('the pod map ages past a whole second', () => (clock = 1_700_000_003_100), /^nvml_exporter_pod_map_age_seconds 3$/m);
  const n = renders;
  await m.render();
  t.equal(renders, n, 'and no render while it stays the same');
});
