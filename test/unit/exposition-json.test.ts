import t from 'tap';
import { buildGpusDocument } from '../../lib/exposition/gpus-json.js';
import { validateGpusDocument } from '../../lib/contract/gpus-document.js';
import type { Snapshot } from '../../lib/collect/types.js';
import type { DeviceSample } from '../../lib/nvml/types.js';
import type { PodMap } from '../../lib/contract/pods.js';

const MiB = 1048576;
const gpu = (index: number, over: Partial<DeviceSample> = {}): DeviceSample => ({
  index, minor: index, uuid: `GPU-${index}`, name: 'NVIDIA A100 80GB PCIe', pciBusId: `00000000:0${index}:00.0`, serial: 'S',
  migEnabled: false, lostCode: null, status: {}, mig: [],
  readings: { gpuUtil: 30, powerUsage: 55500, memUsed: 2048 * MiB, memTemp: 250 },
  ...over,
});
const snapshot = (devices: DeviceSample[]): Snapshot => ({
  sweep: { timestamp: 1_700_000_000_000, durationUs: 10, driverVersion: '550.54.15', nvmlVersion: 'x', cudaDriverVersion: null, devices },
  seq: 3, lastXid: new Map(), xidCount: new Map(), nvlinkBandwidth: new Map(), nvlinkBytesPerSecond: new Map(), xidWindowCounts: new Map(), xidWindowMs: 300000,
  xidTotals: new Map(), clockEventWindowCounts: new Map(), clockEventsWindowMs: 300000, clockEventTotals: new Map(),
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
    DCGM_EXP_XID_ERRORS_COUNT: 0, DCGM_EXP_CLOCK_EVENTS_COUNT: 0, DCGM_FI_DEV_COUNT: 2, DCGM_FI_DEV_MIG_MODE: 1, DCGM_FI_DEV_GPU_UTIL_RATIO: 0.3,
    DCGM_FI_DEV_FB_USED_BYTES: 2147483648,
  }, 'all catalogue fields the GPU provides, in /metrics units; MEMORY_TEMP 250 omitted');
  t.equal(a!.device, 'nvidia0');
  t.equal(a!.modelName, 'NVIDIA-A100-80GB-PCIe');
  t.equal(a!.lost, false);
  t.same(a!.pods, []);
  t.same(a!.mig, [{ uuid: 'MIG-a', gpuInstanceId: 3, computeInstanceId: 0, profile: '3g.40gb', readings: { DCGM_FI_DEV_FB_USED: 100, DCGM_FI_DEV_FB_USED_BYTES: 100 * MiB },
    pods: [{ namespace: 'ml', pod: 'p', container: 'c', resourceName: 'nvidia.com/mig-3g.40gb' }] }]);
  t.equal(b!.lost, true);
  t.same(b!.readings, {});
  t.same(b!.pods, [{ namespace: 'a', pod: 'b', container: 'c' }]);
  const fresh = buildGpusDocument({ snapshot: snapshot([]), pods: null, hostname: 'h', now: 1_700_000_000_100, staleAfterMs: 2000,
    podResources: { enabled: false, up: false, ageSeconds: null } });
  t.equal(fresh.stale, false);
  t.same(fresh.gpus, []);
  t.same(JSON.parse(JSON.stringify(doc)), doc, 'plain JSON');
  t.same(validateGpusDocument(JSON.parse(JSON.stringify(doc))), { ok: true, doc }, 'the document the exporter builds is valid by the contract schema');
  t.same(validateGpusDocument(JSON.parse(JSON.stringify(fresh))).ok, true);
});

t.test('the contract schema rejects what is not a GPUs document, naming where', async (t) => {
  const doc = buildGpusDocument({ snapshot: snapshot([gpu(0)]), pods: null, hostname: 'h', now: 1_700_000_000_100, staleAfterMs: 2000,
    podResources: { enabled: false, up: false, ageSeconds: null } });
  interface Loose {
    apiVersion: number;
    hostname: string;
    gpus: { gpu: number; readings: Record<string, unknown>; pods: unknown[] }[];
    [k: string]: unknown;
  }
  const plain = (): Loose => JSON.parse(JSON.stringify(doc));
  const bad = (what: string, change: (d: Loose) => void, where: RegExp) => {
    const d = plain();
    change(d);
    const r = validateGpusDocument(d);
    t.equal(r.ok, false, what);
    if (!r.ok) t.match(r.error, where, what);
  };
  bad('no gpus list', (d) => delete (d as Partial<Loose>).gpus, /must have required property 'gpus'/);
  bad('a reading that is not a number', (d) => (d.gpus[0]!.readings.DCGM_FI_DEV_GPU_UTIL = '30'), /^\/gpus\/0\/readings\/DCGM_FI_DEV_GPU_UTIL must be number/);
  bad('another API version', (d) => (d.apiVersion = 2), /^\/apiVersion must be equal to constant/);
  bad('a pod without a name', (d) => (d.gpus[0]!.pods = [{ namespace: 'a', container: 'c' }]), /^\/gpus\/0\/pods\/0 must have required property 'pod'/);
  bad('more GPUs than NVML can index', (d) => (d.gpus = Array.from({ length: 65 }, () => d.gpus[0]!)), /^\/gpus must NOT have more than 64 items/);
  bad('a GPU index out of range', (d) => (d.gpus[0]!.gpu = 64), /^\/gpus\/0\/gpu must be <= 63/);
  bad('a huge host name', (d) => (d.hostname = 'x'.repeat(300)), /^\/hostname must NOT have more than 253 characters/);
  const extra = plain();
  extra.futureField = { x: 1 };
  t.equal(validateGpusDocument(extra).ok, true, 'a property a newer exporter adds is accepted');
});

