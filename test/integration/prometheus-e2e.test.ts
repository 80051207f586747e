// End to end: the exporter on simulated GPUs and a simulated kubelet, scraped every second by a
// real Prometheus, answering the seed documents' queries.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prometheus, prometheusSkipReason, type PromSample } from '../helpers/prometheus.js';
import { startExporter } from '../helpers/exporter.js';
import { startSimKubelet, type SimKubeletScenario } from '../../lib/kubernetes/sim-kubelet.js';
import type { Scenario } from '../../lib/nvml/scenario.js';
import { PROMQL_INVENTORY } from '../deploy/promql-inventory.js';

const MiB = 1024 * 1024;
const uuid = (i: number) => `GPU-00000000-0000-4000-8000-00000000000${i}`;
const migUuid = (j: number) => `MIG-00000000-0000-4000-9000-00000000000${j}`;

function scenario(util: number[]): Scenario {
  return {
    driverVersion: '580.65.06',
    gpus: [
      ...util.map((u, i) => ({
        uuid: uuid(i),
        // GPM (H100s): the tensor pipes 15, 25, 35, 45 %; the graphics engine follows gpuUtil
        gpm: { anyTensorUtil: 15 + 10 * i },
        values: { gpuUtil: u, memUsed: (1000 + 100 * i) * MiB, memTotal: 81559 * MiB, memReserved: 500 * MiB, memFree: (81559 - 500 - 1000 - 100 * i) * MiB },
      })),
      {
        uuid: uuid(util.length),
        mig: [
          { profile: '3g.40gb', uuid: migUuid(0), gpuInstanceId: 1, computeInstanceId: 0, values: { memUsed: 2048 * MiB }, gpm: { anyTensorUtil: 20, graphicsUtil: 70 } },
          { profile: '3g.40gb', uuid: migUuid(1), gpuInstanceId: 2, computeInstanceId: 0, values: { memUsed: 4096 * MiB }, gpm: { anyTensorUtil: 40, graphicsUtil: 30 } },
        ],
      },
    ],
  };
}

const pod = (ns: string, name: string, ids: string[], resource = 'nvidia.com/gpu') => ({
  namespace: ns,
  name,
  containers: [{ name: 'custom-container', devices: [{ resource, ids }] }],
});

// GPU 0 and 1 held by the seed's hpa-test pods, GPU 2 by another namespace, GPU 3 unallocated,
// GPU 4 is MIG with instance 0 held by a pod and instance 1 free.
function kubelet(hpaGpus: [number, number]): SimKubeletScenario {
  return {
    pods: [
      pod('ha-test-namespace', 'hpa-test-7d468b4969-abcde', [uuid(hpaGpus[0])]),
      pod('ha-test-namespace', 'hpa-test-7d468b4969-fghij', [uuid(hpaGpus[1])]),
      pod('other', 'batch-job-1', [uuid(2)]),
      pod('ha-test-namespace', 'mig-worker-0', [migUuid(0)], 'nvidia.com/mig-3g.40gb'),
    ],
  };
}

const values = (r: PromSample[]) => r.map((s) => Number(s.value[1]));

const skip = prometheusSkipReason();
t.test('seed queries against a real Prometheus', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nvx-e2e-'));
  const sock = join(dir, 'kubelet.sock');
  const sim = await startSimKubelet(sock, kubelet([0, 1]));
  const util = [40, 60, 90, 10];
  const exp = await startExporter({
    scenario: scenario(util),
    args: ['-c', '500', '-k', '--pod-resources-kubelet-socket', sock, '--pod-resources-refresh-interval', '500'],
  });
  // Target labels as the shipped ServiceMonitor leaves them: honorLabels: true keeps the
  // exporter's pod/namespace/container, and its relabelings move the exporter pod's own
  // pod/namespace target labels to exporter_pod/exporter_namespace — otherwise honor_labels would
  // fill an unallocated GPU's missing pod label with the exporter's pod name.
  const prom = await Prometheus.start([
    { address: `127.0.0.1:${exp.port}`, labels: { exporter_namespace: 'gpu-monitoring', exporter_pod: 'nvml-exporter-x7k2p' } },
  ]);
  t.teardown(async () => {
    await prom.stop();
    await exp.stop();
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const seed = 'avg(DCGM_FI_DEV_GPU_UTIL{namespace="ha-test-namespace",pod=~"hpa-test-.*"})';
  const r1 = await prom.waitFor(seed, (r) => r.length === 1);
  t.equal(values(r1)[0], 50, 'the seed query averages the GPUs the hpa-test pods hold (40 and 60)');

  // Profiling fields from GPM. NVIDIA's dashboard's tensor-core panel shape: the tensor pipe per GPU,
  // averaged over a GPU's series (on a MIG GPU, its GPU instances).
  const tensor = await prom.waitFor('avg by (gpu, hostname) (DCGM_FI_PROF_PIPE_TENSOR_ACTIVE)', (r) => r.length === 5);
  const byGpuTensor = Object.fromEntries(tensor.map((s) => [s.metric.gpu, Math.round(Number(s.value[1]) * 1e6) / 1e6]));
  t.same(byGpuTensor, { 0: 0.15, 1: 0.25, 2: 0.35, 3: 0.45, 4: 0.3 }, 'ratios from GPM (ANY_TENSOR_UTIL ÷ 100); the MIG GPU averages its instances (0.2, 0.4)');
  t.ok(tensor.every((s) => s.metric.hostname !== undefined), 'grouped by the host label too');
  const migTensor = await prom.query('DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{gpu="4"}');
  t.same(migTensor.map((s) => [s.metric.GPU_I_ID, s.metric.pod ?? '', Number(s.value[1])]).sort(), [['1', 'mig-worker-0', 0.2], ['2', '', 0.4]],
    'per GPU instance, with that instance\'s pod');
  // A KEDA prometheus trigger on the graphics engine of the hpa-test pods' GPUs (0.4 and 0.6)
  const keda = 'avg(DCGM_FI_PROF_GR_ENGINE_ACTIVE{namespace="ha-test-namespace",pod=~"hpa-test-.*"})';
  const k1 = await prom.waitFor(keda, (r) => r.length === 1);
  t.equal(Math.round(values(k1)[0]! * 1e6) / 1e6, 0.5, 'the KEDA query on DCGM_FI_PROF_GR_ENGINE_ACTIVE averages the pods\' GPUs');
  const kedaMig = await prom.query('DCGM_FI_PROF_GR_ENGINE_ACTIVE{pod="mig-worker-0"}');
  t.same(values(kedaMig), [0.7], 'a pod on a MIG instance: its GPU instance\'s own value');

  const all = await prom.waitFor('avg(DCGM_FI_DEV_GPU_UTIL)', (r) => r.length === 1);
  t.equal(values(all)[0], 50, 'avg over every whole GPU: (40+60+90+10)/4 (MIG instances have no GPU_UTIL)');

  const fb = await prom.query('DCGM_FI_DEV_FB_USED');
  const byGpu = new Map(fb.filter((s) => !s.metric.GPU_I_ID).map((s) => [s.metric.gpu, Number(s.value[1])]));
  t.same([...byGpu].sort(), [['0', 1000], ['1', 1100], ['2', 1200], ['3', 1300]], 'FB_USED per GPU in MiB');
  const mig = fb.filter((s) => s.metric.GPU_I_ID).map((s) => [s.metric.GPU_I_ID, s.metric.GPU_I_PROFILE, Number(s.value[1])]);
  t.same(mig.sort(), [['1', '3g.40gb', 2048], ['2', '3g.40gb', 4096]], 'FB_USED per MIG instance with its profile');

  const allocated = await prom.query('DCGM_FI_DEV_GPU_UTIL{namespace!="",pod!=""}');
  t.same(allocated.map((s) => `${s.metric.gpu}/${s.metric.namespace}/${s.metric.pod}`).sort(), [
    '0/ha-test-namespace/hpa-test-7d468b4969-abcde',
    '1/ha-test-namespace/hpa-test-7d468b4969-fghij',
    '2/other/batch-job-1',
  ], "the Prometheus Adapter's series query returns exactly the allocated GPUs, with the exporter's pod labels");
  t.notOk(allocated.some((s) => 'exported_pod' in s.metric), 'no exported_pod: honor_labels keeps our labels');
  const allocFb = await prom.query('DCGM_FI_DEV_FB_USED{namespace!="",pod!=""}');
  t.same(allocFb.map((s) => `${s.metric.gpu}:${s.metric.GPU_I_ID ?? '-'}`).sort(), ['0:-', '1:-', '2:-', '4:1'],
    'allocated GPUs and the allocated MIG instance carry pod labels; free ones do not');

  // A change in the simulated load reaches Prometheus.
  exp.setScenario(scenario([80, 100, 90, 10]));
  const r2 = await prom.waitFor(seed, (r) => values(r)[0] === 90);
  t.equal(values(r2)[0], 90, 'a load change in NVML reaches the seed query');
  const k2 = await prom.waitFor(keda, (r) => Math.abs(values(r)[0]! - 0.9) < 1e-6);
  t.ok(Math.abs(values(k2)[0]! - 0.9) < 1e-6, 'and the KEDA query on the profiling field: (0.8 + 1.0) / 2');

  // A pod that moves to another GPU is followed.
  sim.setScenario(kubelet([0, 3]));
  const r3 = await prom.waitFor(seed, (r) => values(r)[0] === 45);
  t.equal(values(r3)[0], 45, 'after hpa-test-…-fghij moves from GPU 1 to GPU 3 the query averages 80 and 10');
  const moved = await prom.query('DCGM_FI_DEV_GPU_UTIL{pod="hpa-test-7d468b4969-fghij"}');
  t.same(moved.map((s) => s.metric.gpu), ['3'], 'the moved pod is on GPU 3 only');

  // Every PromQL expression shipped in deploy/ and servicemonitor/ is accepted by this Prometheus,
  // and those over series the simulated exporter always has return data.
  for (const entry of PROMQL_INVENTORY) {
    let result: PromSample[];
    try {
      result = entry.expectData ? await prom.waitFor(entry.expr, (r) => r.length > 0, 10000) : await prom.query(entry.expr);
    } catch (err) {
      t.fail(`${entry.source}: ${entry.expr}: ${(err as Error).message}`);
      continue;
    }
    if (entry.expectData) t.ok(result.length > 0, `${entry.source} returns data`);
    else t.pass(`${entry.source} is accepted by Prometheus`);
  }
});
