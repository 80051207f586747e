// The exporter with its node-local KEDA scaler (`--keda-scaler-address`), as a child process on
// simulated GPUs and a simulated kubelet. The scaler is fed by the collector's snapshots and the
// pod map's refreshes: an open StreamIsActive adds no kubelet calls (they stay at the refresh
// interval's rate) and a newly scheduled pod reaches the stream at the next refresh. Every
// listener also serves on IPv6 only (`[::1]:port`).
import t from 'tap';
import { startSimKubelet, type SimPod } from '../../lib/kubernetes/sim-kubelet.js';
import { startExporter } from '../helpers/exporter.js';
import { freePort } from '../helpers/ports.js';
import { socketDir } from '../fixtures/kubelet/node.js';
import { scalerClient, startTestScaler, until } from './scaler-harness.js';

const GPU_A = 'GPU-11111111-2222-4333-8444-555555555555';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pod = (name: string): SimPod => ({
  namespace: 'ai', name, containers: [{ name: 'main', devices: [{ resource: 'nvidia.com/gpu', ids: [GPU_A] }] }],
});
const ref = { name: 'vllm', namespace: 'ai', scalerMetadata: { deployment: 'vllm', activationThreshold: '5' } };

t.test('an open KEDA stream adds no kubelet calls: List stays at the refresh interval’s rate', async (t) => {
  const { socket, cleanup } = socketDir();
  const sim = await startSimKubelet(socket, { pods: [] });
  const grpcPort = await freePort();
  const exp = await startExporter({
    scenario: { gpus: [{ uuid: GPU_A, values: { gpuUtil: 60 } }] },
    args: ['-c', '200', '-k', '--pod-resources-kubelet-socket', socket, '--pod-resources-refresh-interval', '2000',
      '--keda-scaler-address', `127.0.0.1:${grpcPort}`],
  });
  const client = scalerClient(`127.0.0.1:${grpcPort}`);
  t.teardown(async () => {
    client.close();
    await exp.stop();
    await sim.stop();
    cleanup();
  });
  const got: boolean[] = [];
  const stream = client.streamIsActive(ref);
  stream.on('data', (m: { result: boolean }) => got.push(m.result));
  stream.on('error', () => {});
  await until(() => got.length === 1, 'the first answer');
  t.same(got, [false], 'no pod of the workload yet');

  const before = sim.calls.List;
  const t0 = Date.now();
  sim.setScenario({ pods: [pod('vllm-7d9-abcde')] });
  await until(() => got.includes(true), 'the new pod reaches the stream', 5000);
  const pushedAfter = Date.now() - t0;
  t.ok(pushedAfter <= 2000 + 1000, `pushed ${pushedAfter} ms after the pod appeared (refresh interval 2000 ms)`);
  await sleep(Math.max(0, 8000 - (Date.now() - t0)));
  const elapsed = Date.now() - t0;
  const calls = sim.calls.List - before;
  const expected = elapsed / 2000;
  t.ok(calls >= Math.floor(expected) - 1 && calls <= Math.ceil(expected) + 1,
    `${calls} List calls in ${elapsed} ms with a stream open (interval 2000 ms: about ${expected.toFixed(1)})`);
  t.same(got, [false, true], 'one push for the one change, none for the sweeps in between');
  stream.cancel();
});

t.test('IPv6 only: the exporter, its node-local scaler, and the cluster scaler listen on [::1]', async (t) => {
  const httpPort = await freePort();
  const grpcPort = await freePort();
  const exp = await startExporter({
    scenario: { gpus: [{ uuid: GPU_A, values: { gpuUtil: 42 } }] },
    args: ['-a', `[::1]:${httpPort}`, '--keda-scaler-address', `[::1]:${grpcPort}`],
    url: `http://[::1]:${httpPort}`,
  });
  t.teardown(() => exp.stop());
  const page = await (await fetch(`http://[::1]:${httpPort}/metrics`)).text();
  t.match(page, /^DCGM_FI_DEV_GPU_UTIL\{gpu="0",UUID="GPU-11111111-2222-4333-8444-555555555555".*\} 42$/m, 'the exporter answers on [::1]');
  await t.rejects(fetch(`http://127.0.0.1:${httpPort}/metrics`), Error, 'and not on IPv4');
  const local = scalerClient(`[::1]:${grpcPort}`);
  t.teardown(() => local.close());
  t.equal((await local.getMetricSpec(ref))[0]!.metricName, 'gpu-gpu-utilization-ai-vllm', 'the node-local scaler answers on [::1]');

  const scaler = await startTestScaler({ exporters: [`[::1]:${httpPort}`], grpcAddress: '[::1]:0', address: '[::1]:0', pullIntervalMs: 100 });
  t.teardown(() => scaler.close());
  t.equal(scaler.httpAddress, `[::1]:${scaler.httpPort}`);
  const health = await (await fetch(`http://[::1]:${scaler.httpPort}/health`)).json();
  t.same(health, { status: 'ok', exporters: { total: 1, fresh: 1, stale: 0, idle: 0 }, workloads: { mode: 'all' } }, "the scaler's HTTP answers on [::1] and pulled the exporter over IPv6 (whole pulls: no pod view)");
  const cluster = scalerClient(`[::1]:${scaler.grpcPort}`);
  t.teardown(() => cluster.close());
  t.equal(await cluster.isActive({ name: 'x', namespace: 'ai', scalerMetadata: { podNamePattern: '.*' } }), false, "the scaler's gRPC answers on [::1]");
});

t.test('the node-local scaler scales on a profiling field (DCGM_FI_PROF_GR_ENGINE_ACTIVE from GPM)', async (t) => {
  const { socket, cleanup } = socketDir();
  const sim = await startSimKubelet(socket, { pods: [pod('vllm-7d9-abcde')] });
  const grpcPort = await freePort();
  const exp = await startExporter({
    scenario: { gpus: [{ uuid: GPU_A, values: { gpuUtil: 60 }, gpm: { graphicsUtil: 72.5 } }] },
    args: ['-c', '200', '-k', '--pod-resources-kubelet-socket', socket, '--pod-resources-refresh-interval', '500',
      '--keda-scaler-address', `127.0.0.1:${grpcPort}`],
  });
  const client = scalerClient(`127.0.0.1:${grpcPort}`);
  t.teardown(async () => {
    client.close();
    await exp.stop();
    await sim.stop();
    cleanup();
  });
  const gpmRef = { ...ref, scalerMetadata: { ...ref.scalerMetadata, metricType: 'DCGM_FI_PROF_GR_ENGINE_ACTIVE', targetValue: '0.5' } };
  let value = NaN;
  await until(async () => {
    const m = await client.getMetrics(gpmRef).catch(() => []);
    value = m[0]?.metricValueFloat ?? NaN;
    return Math.abs(value - 0.725) < 1e-9;
  }, 'the profiling value through the scaler', 10_000);
  t.equal(value, 0.725, 'the pod\'s GPU graphics engine ratio (GPM 72.5 % ÷ 100)');
  // another DCGM name of a served field (DCGM 4.6.1's) is resolved to the name the document keys it by
  const named = async (metricType: string) =>
    (await client.getMetrics({ ...ref, scalerMetadata: { ...ref.scalerMetadata, metricType, targetValue: '50' } }))[0]?.metricValueFloat;
  const temp = await named('DCGM_FI_DEV_GPU_TEMP');
  t.ok(typeof temp === 'number' && temp > 0, `the GPU temperature through its first name: ${temp}`);
  t.equal(await named('DCGM_FI_DEV_GPU_TEMP_CELSIUS'), temp, 'the same value through DCGM 4.6.1\'s name of the field');
});
