// Through the real `nvml-exporter` command's /metrics:
//   - DRA: GPUs and MIG devices allocated by NVIDIA's DRA driver (PodResources dynamic_resources)
//     get their pods with no API server at all, named canonically (gpu-<minor>,
//     gpu-<minor>-mig-<profile>-<profileId>-<placementStart>), including a MIG device created on
//     demand after the claim; the dra_* labels; unallocated GPUs stay bare;
//   - -m namespace:name: the counters come from the ConfigMap's `metrics` key, a change applies like
//     a reload, a bad change keeps the previous selection and says why; a missing ConfigMap or key at
//     start is refused.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startSimKubelet, type SimPod } from '../../lib/kubernetes/sim-kubelet.js';
import { startSimApiServer } from '../../lib/kubernetes/sim-api-server.js';
import { cliPath, scrape, startExporter, samplesOf, valueOf, waitUntil, type RunningExporter, type Sample } from '../helpers/exporter.js';
import { simulatedLibraryPath, writeScenario } from '../../lib/nvml/simulation.js';
import type { Scenario, SimMigDevice } from '../../lib/nvml/scenario.js';
import { socketDir } from '../fixtures/kubelet/node.js';

const GPU0 = 'GPU-d0000000-1111-4222-8333-444444444444';
const GPU1 = 'GPU-d1000000-1111-4222-8333-444444444444';
const GPU2 = 'GPU-d2000000-1111-4222-8333-444444444444';
const MIG_GI1 = 'MIG-e1000000-1111-4222-8333-444444444444';
const MIG_GI5 = 'MIG-e5000000-1111-4222-8333-444444444444';
const GI1: SimMigDevice = { profile: '3g.40gb', uuid: MIG_GI1, gpuInstanceId: 1, computeInstanceId: 0 };
const GI5: SimMigDevice = { profile: '1g.10gb', uuid: MIG_GI5, gpuInstanceId: 5, computeInstanceId: 0 };
const nvml = (migs: SimMigDevice[]): Scenario => ({
  gpus: [
    { uuid: GPU0, minor: 0, values: { gpuUtil: 10 } },
    { uuid: GPU1, minor: 1, migMode: true, migCapable: true, mig: migs, values: { gpuUtil: 20 } },
    { uuid: GPU2, minor: 2, values: { gpuUtil: 30 } },
  ],
});

// The simulated driver places GPU instance <id> at start <id % 8>; H100 profile ids: 3g.40gb 9, 1g.10gb 19.
const claimPod = (name: string, claim: string, device: string): SimPod => ({
  namespace: 'ml', name,
  containers: [{ name: 'main', devices: [], dra: [{ claim, devices: [{ driver: 'gpu.nvidia.com', pool: 'test-node', device }] }] }],
});

t.test('DRA GPUs and MIG devices get their pods with no API server, MIG devices created on demand included', async (t) => {
  const { socket, cleanup } = socketDir();
  const kubelet = await startSimKubelet(socket, {
    pods: [
      claimPod('whole', 'gpu-claim', 'gpu-0'),
      claimPod('mig-a', 'mig-claim', 'gpu-1-mig-3g.40gb-9-1'),
      claimPod('mig-later', 'dynamic-claim', 'gpu-1-mig-1g.10gb-19-5'),
      claimPod('sharer', 'gpu-claim', 'gpu-0'),
    ],
  });
  const exp = await startExporter({
    scenario: nvml([GI1]),
    args: ['-c', '200', '-k', '--pod-resources-kubelet-socket', socket, '--pod-resources-refresh-interval', '200', '--kubernetes-enable-dra', '--kubernetes-virtual-gpus'],
  });
  t.teardown(async () => {
    await exp.stop();
    await kubelet.stop();
    cleanup();
  });
  // GPU temperature: written for whole GPUs and, repeated, for every GPU instance (utilization is not, on MIG)
  const util = (s: Sample[], l: Record<string, string>) => samplesOf(s, 'DCGM_FI_DEV_GPU_TEMP', l);
  let s = await waitUntil(async () => {
    const r = await scrape(exp.url);
    return util(r.samples, { gpu: '0' }).length === 2 && util(r.samples, { GPU_I_ID: '1' })[0]?.labels.pod ? r.samples : undefined;
  }, 'DRA pods attributed', 20000, 100);
  const whole = util(s, { gpu: '0' }).map((x) => x.labels);
  t.same(whole.map((l) => l.pod).sort(), ['sharer', 'whole'], 'two pods on one claim: one series per pod with --kubernetes-virtual-gpus');
  t.same(
    { claim: whole[0]!.dra_claim_name, ns: whole[0]!.dra_claim_namespace, driver: whole[0]!.dra_driver_name, pool: whole[0]!.dra_pool_name, device: whole[0]!.dra_device_name, container: whole[0]!.container, namespace: whole[0]!.namespace },
    { claim: 'gpu-claim', ns: 'ml', driver: 'gpu.nvidia.com', pool: 'test-node', device: 'gpu-0', container: 'main', namespace: 'ml' },
  );
  const mig = util(s, { GPU_I_ID: '1' })[0]!.labels;
  t.same([mig.pod, mig.GPU_I_PROFILE, mig.dra_mig_profile, mig.dra_mig_device_uuid, mig.dra_device_name], ['mig-a', '3g.40gb', '3g.40gb', MIG_GI1, 'gpu-1-mig-3g.40gb-9-1']);
  t.same(util(s, { gpu: '2' }).map((x) => x.labels.pod), [undefined], 'the unallocated GPU keeps its bare series');
  t.equal(valueOf(s, 'nvml_exporter_kubernetes_api_up', { watch: 'pods' }), undefined, 'no API watch: DRA needs none');
  // the DRA driver creates the claimed MIG device on demand: it appears in NVML, and is attributed
  exp.setScenario(nvml([GI1, GI5]));
  s = await waitUntil(async () => {
    const r = await scrape(exp.url);
    return util(r.samples, { GPU_I_ID: '5' })[0]?.labels.pod === 'mig-later' ? r.samples : undefined;
  }, 'the on-demand MIG device attributed', 20000, 100);
  t.same(util(s, { GPU_I_ID: '5' })[0]!.labels.dra_mig_device_uuid, MIG_GI5);
  t.equal(exp.stderr().match(/kubelet device ID matches no GPU or MIG instance on this node.*gpu-1-mig-1g\.10gb-19-5/g)?.length ?? 0, 1,
    'before it existed, the device was reported once as unmatched');
});

t.test('DRA device names of another shape resolve through the ResourceSlice watch (--kubernetes-dra-resourceslices)', async (t) => {
  const { dir, socket, cleanup } = socketDir();
  const kubelet = await startSimKubelet(socket, { pods: [claimPod('custom', 'custom-claim', 'accelerator-x')] });
  const api = await startSimApiServer({ bookmarkMs: 200 });
  const exp = await startExporter({
    scenario: nvml([GI1]),
    args: ['-c', '200', '-k', '--pod-resources-kubelet-socket', socket, '--pod-resources-refresh-interval', '200', '--kubernetes-enable-dra',
      '--kubernetes-dra-resourceslices', '--kubernetes-api-kubeconfig', api.writeKubeconfig(join(dir, 'kubeconfig.yaml'))],
    startLimitMs: 60000,
  });
  t.teardown(async () => {
    await exp.stop();
    await kubelet.stop();
    await api.stop();
    cleanup();
  });
  let s = (await scrape(exp.url)).samples;
  t.same(samplesOf(s, 'DCGM_FI_DEV_GPU_TEMP', { gpu: '2' }).map((x) => x.labels.pod), [undefined], 'no slice yet: unattributed');
  // the driver publishes its slice: the device's uuid attribute names GPU 2
  api.setResourceSlice({ name: 'test-node-gpu.nvidia.com-0', nodeName: 'test-node', driver: 'gpu.nvidia.com', pool: 'test-node', devices: { 'accelerator-x': { type: 'gpu', uuid: GPU2 } } });
  api.setResourceSlice({ name: 'other-node-slice', nodeName: 'other-node', driver: 'gpu.nvidia.com', pool: 'other-node', devices: { 'accelerator-x': { type: 'gpu', uuid: GPU0 } } });
  s = await waitUntil(async () => {
    const r = await scrape(exp.url);
    return samplesOf(r.samples, 'DCGM_FI_DEV_GPU_TEMP', { gpu: '2' })[0]?.labels.pod === 'custom' ? r.samples : undefined;
  }, 'attributed through the slice', 20000, 100);
  const l = samplesOf(s, 'DCGM_FI_DEV_GPU_TEMP', { gpu: '2' })[0]!.labels;
  t.same([l.dra_device_name, l.dra_claim_name, l.dra_pool_name], ['accelerator-x', 'custom-claim', 'test-node']);
  t.same(samplesOf(s, 'DCGM_FI_DEV_GPU_TEMP', { gpu: '0' }).map((x) => x.labels.pod), [undefined], 'another node\'s slice is not watched');
  t.equal(valueOf(s, 'nvml_exporter_kubernetes_api_up', { watch: 'resourceslices' }), 1);
});

const CSV = (...names: string[]) => names.map((n) => `${n}, gauge, ${n} help.`).join('\n') + '\n';

async function cmSetup(t: Test, data: Record<string, string> | null): Promise<{ exp: RunningExporter; api: Awaited<ReturnType<typeof startSimApiServer>>; kubeconfig: string }> {
  const { dir, cleanup } = socketDir();
  const api = await startSimApiServer({ configMaps: data ? [{ namespace: 'gpu', name: 'counters', data }] : [], bookmarkMs: 200 });
  const kubeconfig = api.writeKubeconfig(join(dir, 'kubeconfig.yaml'));
  t.teardown(async () => {
    await api.stop();
    cleanup();
  });
  if (!data) return { exp: null as unknown as RunningExporter, api, kubeconfig };
  const exp = await startExporter({ scenario: nvml([]), args: ['-c', '200', '-m', 'gpu:counters', '--kubernetes-api-kubeconfig', kubeconfig], startLimitMs: 60000 });
  t.teardown(() => exp.stop());
  return { exp, api, kubeconfig };
}

const families = (s: Sample[]) => [...new Set(s.map((x) => x.name).filter((n) => n.startsWith('DCGM_')))].sort();

t.test('-m serves the ConfigMap\'s counters; a change applies like a reload; a bad change keeps the previous selection', async (t) => {
  const { exp, api } = await cmSetup(t, { metrics: CSV('DCGM_FI_DEV_GPU_UTIL', 'DCGM_FI_DEV_GPU_TEMP') });
  let s = (await scrape(exp.url)).samples;
  t.same(families(s), ['DCGM_FI_DEV_GPU_TEMP', 'DCGM_FI_DEV_GPU_UTIL'], 'the ConfigMap\'s two fields, not the default counters');
  api.setConfigMap({ namespace: 'gpu', name: 'counters', data: { metrics: CSV('DCGM_FI_DEV_GPU_UTIL', 'DCGM_FI_DEV_SM_CLOCK') } });
  s = await waitUntil(async () => {
    const r = await scrape(exp.url);
    return families(r.samples).includes('DCGM_FI_DEV_SM_CLOCK') ? r.samples : undefined;
  }, 'the changed counters served', 15000, 100);
  t.same(families(s), ['DCGM_FI_DEV_GPU_UTIL', 'DCGM_FI_DEV_SM_CLOCK']);
  t.equal(valueOf(s, 'nvml_exporter_config_reloads_total'), 1);
  api.setConfigMap({ namespace: 'gpu', name: 'counters', data: { metrics: 'DCGM_FI_NOT_A_FIELD, gauge, nope.\n' } });
  s = await waitUntil(async () => {
    const r = await scrape(exp.url);
    return valueOf(r.samples, 'nvml_exporter_config_reload_failures_total') === 1 ? r.samples : undefined;
  }, 'the bad change refused', 15000, 100);
  t.same(families(s), ['DCGM_FI_DEV_GPU_UTIL', 'DCGM_FI_DEV_SM_CLOCK'], 'the previous selection is kept');
  t.match(exp.stderr(), /counters reload failed: keeping the previous selection.*ConfigMap gpu\/counters.*DCGM_FI_NOT_A_FIELD/, 'and the log says why');
  t.equal(valueOf(s, 'nvml_exporter_kubernetes_api_up', { watch: 'configmap' }), 1);
});

/** `nvml-exporter --once …` (asynchronously: the simulated API server runs in this process) */
function runOnce(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [cliPath, '--nvml-library', simulatedLibraryPath(), '--once', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 60000);
    const t0 = Date.now();
    p.on('close', (status) => {
      clearTimeout(timer);
      t.comment(`nvml-exporter --once ${args.join(' ')}: exit ${status} after ${Date.now() - t0} ms`);
      resolve({ status, stdout, stderr });
    });
  });
}

t.test('-m at start: a missing ConfigMap is exit 1, a ConfigMap without the metrics key or with bad counters exit 2', async (t) => {
  const { dir, cleanup } = socketDir();
  t.teardown(cleanup);
  const scenario = join(dir, 'scenario.txt');
  writeScenario(scenario, nvml([]));
  process.env.NVML_SIM_SCENARIO = scenario;
  const { api, kubeconfig } = await cmSetup(t, null);
  let r = await runOnce(['-m', 'gpu:counters', '--kubernetes-api-kubeconfig', kubeconfig]);
  t.equal(r.status, 1);
  t.match(r.stderr, /-m gpu:counters: the counters ConfigMap cannot be read through the Kubernetes API: it does not exist/);
  api.setConfigMap({ namespace: 'gpu', name: 'counters', data: { other: 'x' } });
  r = await runOnce(['-m', 'gpu:counters', '--kubernetes-api-kubeconfig', kubeconfig]);
  t.equal(r.status, 2);
  t.match(r.stderr, /-m gpu:counters: the ConfigMap has no key \\?"metrics/);
  api.setConfigMap({ namespace: 'gpu', name: 'counters', data: { metrics: 'DCGM_FI_NOT_A_FIELD, gauge, nope.\n' } });
  r = await runOnce(['-m', 'gpu:counters', '--kubernetes-api-kubeconfig', kubeconfig]);
  t.equal(r.status, 2);
  t.match(r.stderr, /ConfigMap gpu\/counters key metrics.*DCGM_FI_NOT_A_FIELD/);
  api.setConfigMap({ namespace: 'gpu', name: 'counters', data: { metrics: CSV('DCGM_FI_DEV_GPU_UTIL') } });
  const ok = await runOnce(['-m', 'gpu:counters', '--kubernetes-api-kubeconfig', kubeconfig]);
  t.equal(ok.status, 0);
  t.same(families(ok.stdout.split('\n').filter((l) => l.startsWith('DCGM_')).map((l) => ({ name: l.replace(/[{ ].*$/, ''), labels: {}, value: 0 }))), ['DCGM_FI_DEV_GPU_UTIL'], '--once prints the ConfigMap\'s counters');
  r = await runOnce(['-m', 'gpu:counters']);
  t.equal(r.status, 2, 'no in-cluster configuration and no kubeconfig');
  t.match(r.stderr, /KUBERNETES_SERVICE_HOST is unset.*--kubernetes-api-kubeconfig PATH/);
});
