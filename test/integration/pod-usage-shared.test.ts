// Two pods time-sharing one simulated GPU, and two pods time-sharing one MIG instance, with the
// Kubernetes API's pod metadata (an in-memory PodMetadataView, as the API informer provides it):
// each pod gets its own SM and memory values and counters, whose sums match the GPU's within the
// sampling error; with --kubernetes-virtual-gpus the per-pod `vgpu` series of DCGM_FI_DEV_GPU_UTIL
// and DCGM_FI_DEV_FB_USED carry each pod's own usage. The exporter runs in this process
// (lib/app/exporter.ts) so the view can be handed to it; it serves /metrics over HTTP as always.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimKubelet, type SimPod } from '../../lib/kubernetes/sim-kubelet.js';
import { writeProcTree } from '../../lib/kubernetes/sim-proc.js';
import { simulatedLibraryPath, writeScenario } from '../../lib/nvml/simulation.js';
import type { Scenario } from '../../lib/nvml/scenario.js';
import { parseCli } from '../../lib/config/cli.js';
import { startExporter } from '../../lib/app/exporter.js';
import { silentLogger } from '../../lib/logger.js';
import type { PodMeta, PodMetadataView } from '../../lib/contract/pod-metadata.js';
import { scrape, samplesOf, valueOf, waitUntil, type Sample } from '../helpers/exporter.js';
import { freePort } from '../helpers/ports.js';
import { socketDir } from '../fixtures/kubelet/node.js';

const GIB = 1073741824;
const GPU = 'GPU-c0000000-1111-4222-8333-444444444401';
const MIGGPU = 'GPU-c0000000-1111-4222-8333-444444444402';
const MIG = 'MIG-d0000000-1111-5222-8333-444444444401';
const uid = (n: number): string => `1000000${n}-aaaa-4bbb-8ccc-dddddddddddd`;
const cid = (n: number): string => String(n).repeat(64);

/** The view the Kubernetes API informer implements, from a fixed list of pods. */
class PodsInMemory implements PodMetadataView {
  generation = 1;
  syncedAt = Date.now();
  constructor(private readonly pods: PodMeta[]) {}
  byUid(u: string): PodMeta | undefined {
    return this.pods.find((p) => p.uid === u);
  }
  byName(ns: string, name: string): PodMeta | undefined {
    return this.pods.find((p) => p.namespace === ns && p.name === name);
  }
  all(): Iterable<PodMeta> {
    return this.pods;
  }
}
const meta = (n: number, name: string): PodMeta => ({
  uid: uid(n), namespace: 'serve', name, nodeName: 'test-node', labels: {}, workload: { kind: 'Pod', name }, phase: 'Running',
  containers: [{ name: 'model', containerId: cid(n) }, { name: 'sidecar' }],
});

// GPU 0: pod a (two processes, one moving with load) and pod b time-share it; GPU 1: MIG, one
// 3g.40gb instance time-shared by pods c and d
const NVML: Scenario = {
  gpus: [
    {
      uuid: GPU,
      processes: [
        { pid: 6101, sm: { wave: { min: 10, max: 30, periodS: 120 } }, mem: 6 * GIB, memUtil: 10 },
        { pid: 6102, sm: 5, mem: 1 * GIB, kinds: ['compute', 'graphics'] },
        { pid: 6201, sm: 40, mem: 12 * GIB, memUtil: 20 },
      ],
    },
    { uuid: MIGGPU, mig: [{ profile: '3g.40gb', uuid: MIG, processes: [{ pid: 6301, mem: 5 * GIB }, { pid: 6401, mem: 7 * GIB, kinds: ['mps'] }] }] },
  ],
};
const pod = (name: string, id: string): SimPod => ({ namespace: 'serve', name, containers: [{ name: 'model', devices: [{ resource: 'nvidia.com/gpu', ids: [id] }] }] });

/**
 * The exporter (in process) on a simulated NVML `nvml`, a simulated kubelet with `pods`, a fake /proc
 * with `procs`, and `metadata` as the Kubernetes API's pod view: -k --kubernetes-virtual-gpus, 200 ms
 * sweeps and refreshes, plus `extraArgs`. Everything is torn down with the test.
 */
async function startShared(t: Test, o: { nvml: Scenario; pods: SimPod[]; procs: Parameters<typeof writeProcTree>[1]; metadata: PodMeta[]; extraArgs?: string[] }) {
  const { socket, cleanup } = socketDir();
  const dir = mkdtempSync(join(tmpdir(), 'nvx-shared-'));
  const proc = join(dir, 'proc');
  writeProcTree(proc, o.procs);
  const scenario = join(dir, 'scenario.txt');
  writeScenario(scenario, o.nvml);
  process.env.NVML_SIM_SCENARIO = scenario;
  const kubelet = await startSimKubelet(socket, { pods: o.pods });
  const port = await freePort();
  const cli = parseCli(['-a', `127.0.0.1:${port}`, '--nvml-library', simulatedLibraryPath(), '-c', '200', '-k', '--kubernetes-virtual-gpus',
    '--pod-resources-kubelet-socket', socket, '--pod-resources-refresh-interval', '200', '--host-proc', proc,
    '-f', join(process.cwd(), 'etc', 'default-counters.csv'), ...(o.extraArgs ?? [])], { NODE_NAME: 'test-node' });
  if (cli.kind !== 'run') throw new Error('expected a run config');
  const exp = await startExporter(cli.config, { logger: silentLogger, podMetadata: new PodsInMemory(o.metadata) });
  t.teardown(async () => {
    await exp.close();
    await kubelet.stop();
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  return { exp, config: cli.config, url: `http://127.0.0.1:${port}` };
}

t.test('time-sharing on a GPU and on a MIG instance, with pod metadata', async (t) => {
  const { exp, config, url } = await startShared(t, {
    nvml: NVML,
    pods: [pod('a', `${GPU}::0`), pod('b', `${GPU}::1`), pod('c', `${MIG}::0`), pod('d', `${MIG}::1`)],
    procs: [
      { pid: 6101, layout: 'systemd-v2-containerd', podUid: uid(1), containerId: cid(1) },
      { pid: 6102, layout: 'systemd-v2-containerd', podUid: uid(1), containerId: cid(1) },
      { pid: 6201, layout: 'cgroupfs-v1', podUid: uid(2), containerId: cid(2) },
      { pid: 6301, layout: 'systemd-v2-crio', podUid: uid(3), containerId: cid(3) },
      { pid: 6401, layout: 'cgroupfs-v2', podUid: uid(4), containerId: cid(4) },
    ],
    metadata: [meta(1, 'a'), meta(2, 'b'), meta(3, 'c'), meta(4, 'd')],
  });
  t.ok(config.podUsage, '--kubernetes-virtual-gpus with -k reads processes');
  const row = (s: Sample[], name: string, labels: Record<string, string>): number | undefined => valueOf(s, `nvml_exporter_pod_gpu_${name}`, labels);

  const s = await waitUntil(async () => {
    const r = await scrape(url);
    return (row(r.samples, 'busy_seconds_total', { pod: 'b' }) ?? 0) > 0.2 && row(r.samples, 'memory_used_bytes', { pod: 'd' }) !== undefined ? r.samples : undefined;
  }, 'per-pod rows for a, b, c, d');

  // GPU 0: each pod its own values, container named from the API's container ID
  t.equal(row(s, 'memory_used_bytes', { pod: 'a', namespace: 'serve', container: 'model', allocated: 'true', UUID: GPU }), 7 * GIB, 'pod a: two processes, 6 + 1 GiB');
  t.equal(row(s, 'memory_used_bytes', { pod: 'b', container: 'model', UUID: GPU }), 12 * GIB, 'pod b: 12 GiB');
  t.equal(row(s, 'processes', { pod: 'a' }), 2);
  t.equal(row(s, 'sm_utilization_ratio', { pod: 'b' }), 0.4, 'pod b: 40 % SM');
  const smA = row(s, 'sm_utilization_ratio', { pod: 'a' })!;
  t.ok(smA >= 0.15 && smA <= 0.35, `pod a: 5 % + a 10-30 % wave = ${smA}`);
  const util = valueOf(s, 'DCGM_FI_DEV_GPU_UTIL', { gpu: '0', pod: 'a' })!;
  const utilB = valueOf(s, 'DCGM_FI_DEV_GPU_UTIL', { gpu: '0', pod: 'b' })!;
  t.equal(utilB, 40, 'the vgpu series of pod b carries its own GPU_UTIL (%)');
  t.ok(Math.abs(util - smA * 100) <= 1, `the vgpu series of pod a carries its own GPU_UTIL: ${util} vs ${smA * 100}`);
  t.equal(valueOf(s, 'DCGM_FI_DEV_FB_USED', { gpu: '0', pod: 'a' }), 7 * 1024, 'pod a FB_USED 7 GiB in MiB');
  t.equal(valueOf(s, 'DCGM_FI_DEV_FB_USED', { gpu: '0', pod: 'b' }), 12 * 1024, 'pod b FB_USED 12 GiB in MiB');
  t.ok(samplesOf(s, 'DCGM_FI_DEV_GPU_UTIL', { gpu: '0' }).every((x) => x.labels.vgpu !== undefined), 'one vgpu series per pod');

  // the sums match the GPU's own readings within the sampling error
  const gpuUtil = samplesOf(s, 'DCGM_FI_DEV_GPU_UTIL', { gpu: '0' });
  t.equal(gpuUtil.length, 2);
  const sumSm = samplesOf(s, 'nvml_exporter_pod_gpu_sm_utilization_ratio', { UUID: GPU }).reduce((a, x) => a + x.value, 0);
  const deviceUtil = (): number => exp.collector.current()!.sweep.devices[0]!.readings.gpuUtil!;
  const u0 = deviceUtil();
  t.ok(Math.abs(sumSm * 100 - u0) <= 3, `the pods' SM ${(sumSm * 100).toFixed(1)} % vs the GPU's utilisation ${u0} % (NVML's device reading)`);
  const fbTotal = samplesOf(s, 'nvml_exporter_pod_gpu_memory_used_bytes', { UUID: GPU }).reduce((a, x) => a + x.value, 0);
  t.equal(fbTotal, 19 * GIB, 'the pods\' memory adds up to the GPU\'s processes\' memory');

  // counters over a window: the pods' busy seconds add up to the GPU's utilisation integrated, and
  // their joules to the GPU's energy counter's difference
  const energy = (x: Sample[]) => valueOf(x, 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', { gpu: '0', pod: 'a' })!;
  const busy = (x: Sample[]) => samplesOf(x, 'nvml_exporter_pod_gpu_busy_seconds_total', { UUID: GPU }).reduce((a, y) => a + y.value, 0);
  const joules = (x: Sample[]) => samplesOf(x, 'nvml_exporter_pod_gpu_energy_joules_total', { UUID: GPU }).reduce((a, y) => a + y.value, 0);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, 3000));
  const s2 = (await scrape(url)).samples;
  const dt = (performance.now() - t0) / 1000;
  const dBusy = busy(s2) - busy(s);
  const expected = ((u0 + deviceUtil()) / 2 / 100) * dt;
  t.ok(Math.abs(dBusy - expected) <= 0.1 * expected + 0.2 * 0.8, `busy seconds: pods ${dBusy.toFixed(3)} s vs GPU ${expected.toFixed(3)} s over ${dt.toFixed(2)} s`);
  const dJoules = joules(s2) - joules(s);
  const dEnergy = (energy(s2) - energy(s)) / 1000;
  t.ok(dEnergy > 0 && Math.abs(dJoules - dEnergy) <= 0.15 * dEnergy, `joules: pods ${dJoules.toFixed(1)} J vs the GPU's energy counter ${dEnergy.toFixed(1)} J`);
  const jA = valueOf(s2, 'nvml_exporter_pod_gpu_energy_joules_total', { pod: 'a' })!;
  const jB = valueOf(s2, 'nvml_exporter_pod_gpu_energy_joules_total', { pod: 'b' })!;
  t.ok(jB > jA, `energy follows the SM share: b ${jB.toFixed(1)} J > a ${jA.toFixed(1)} J`);

  // MIG: two pods time-share one instance: each its own memory, summing to the instance's FB_USED
  const c = row(s, 'memory_used_bytes', { pod: 'c', UUID: MIGGPU, allocated: 'true' });
  const d = row(s, 'memory_used_bytes', { pod: 'd', UUID: MIGGPU, allocated: 'true' });
  t.equal(c, 5 * GIB, 'pod c on the MIG instance: 5 GiB');
  t.equal(d, 7 * GIB, 'pod d (an MPS client) on the MIG instance: 7 GiB');
  const gi = samplesOf(s, 'nvml_exporter_pod_gpu_memory_used_bytes', { pod: 'c' })[0]!.labels.GPU_I_ID!;
  const fbC = valueOf(s, 'DCGM_FI_DEV_FB_USED', { gpu: '1', GPU_I_ID: gi, pod: 'c' });
  const fbD = valueOf(s, 'DCGM_FI_DEV_FB_USED', { gpu: '1', GPU_I_ID: gi, pod: 'd' });
  t.equal(fbC, 5 * 1024, 'the MIG vgpu series of pod c: its own FB_USED');
  t.equal(fbD, 7 * 1024, 'the MIG vgpu series of pod d: its own FB_USED');
  const migBytes = (row(s2, 'memory_byte_seconds_total', { pod: 'c' }) ?? 0) + (row(s2, 'memory_byte_seconds_total', { pod: 'd' }) ?? 0);
  t.ok(migBytes > 0, 'MIG pods accrue byte-seconds');
  t.ok((row(s2, 'energy_joules_total', { pod: 'c' }) ?? 0) > 0, 'MIG pods get the MIG GPU\'s energy by memory share');
});

// A shared DRA claim: pods e and f both use claim `shared-gpu`, whose one device NVIDIA's DRA driver
// names gpu-0 (the GPU with minor 0, resolved through NVML). Each pod gets its own usage, as on a
// time-sliced device-plugin GPU.
t.test('a shared DRA claim: two pods on one GPU through one claim each get their own values', async (t) => {
  const claimed = (name: string): SimPod => ({
    namespace: 'serve', name,
    containers: [{ name: 'model', devices: [], dra: [{ claim: 'shared-gpu', devices: [{ driver: 'gpu.nvidia.com', pool: 'test-node', device: 'gpu-0' }] }] }],
  });
  const { exp, url } = await startShared(t, {
    nvml: { gpus: [{ uuid: GPU, processes: [{ pid: 7101, sm: 25, mem: 3 * GIB }, { pid: 7201, sm: 35, mem: 5 * GIB }] }] },
    pods: [claimed('e'), claimed('f')],
    procs: [
      { pid: 7101, layout: 'systemd-v2-containerd', podUid: uid(5), containerId: cid(5) },
      { pid: 7201, layout: 'systemd-v2-containerd', podUid: uid(6), containerId: cid(6) },
    ],
    metadata: [meta(5, 'e'), meta(6, 'f')],
    extraArgs: ['--kubernetes-enable-dra'],
  });
  const s = await waitUntil(async () => {
    const r = await scrape(url);
    // utilisation needs two process reads (it is weighted over the span between them)
    return (valueOf(r.samples, 'nvml_exporter_pod_gpu_sm_utilization_ratio', { pod: 'e' }) ?? 0) > 0
      && (valueOf(r.samples, 'nvml_exporter_pod_gpu_sm_utilization_ratio', { pod: 'f' }) ?? 0) > 0 ? r.samples : undefined;
  }, 'per-pod rows with utilisation for e and f');
  t.equal(valueOf(s, 'nvml_exporter_pod_gpu_memory_used_bytes', { pod: 'e', container: 'model', allocated: 'true', UUID: GPU }), 3 * GIB);
  t.equal(valueOf(s, 'nvml_exporter_pod_gpu_memory_used_bytes', { pod: 'f', container: 'model', allocated: 'true', UUID: GPU }), 5 * GIB);
  t.equal(valueOf(s, 'nvml_exporter_pod_gpu_sm_utilization_ratio', { pod: 'e' }), 0.25);
  t.equal(valueOf(s, 'nvml_exporter_pod_gpu_sm_utilization_ratio', { pod: 'f' }), 0.35);
  const util = samplesOf(s, 'DCGM_FI_DEV_GPU_UTIL', { gpu: '0' });
  t.same(util.map((x) => [x.labels.pod, x.value, x.labels.dra_claim_name, x.labels.dra_device_name]).sort(),
    [['e', 25, 'shared-gpu', 'gpu-0'], ['f', 35, 'shared-gpu', 'gpu-0']], 'one vgpu series per claim pod, each its own GPU_UTIL, with the dra_* labels');
  const device = exp.collector.current()!.sweep.devices[0]!.readings.gpuUtil!;
  t.ok(Math.abs(25 + 35 - device) <= 3, `the pods' SM 60 % vs the GPU's ${device} %`);
});
