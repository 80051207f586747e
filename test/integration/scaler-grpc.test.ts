// A KEDA-like client against the cluster-wide scaler pulling three "exporters" on different ports.
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { hpaDesiredReplicas } from '../../lib/scaler/compute.js';

import { gpu, gpusDoc, migInstance, pod, scalerClient, startExporter, startTestScaler, until, type FakeExporter, type Ref, type ScalerClient, type TestScaler } from './scaler-harness.js';

const util = (v: number) => ({ DCGM_FI_DEV_GPU_UTIL: v, DCGM_FI_DEV_FB_USED: 70000, DCGM_FI_DEV_FB_FREE: 10000, DCGM_FI_DEV_POWER_USAGE: 300 });

// the workload "web" in namespace "ai": one GPU on node-a, a GPU shared by two of its pods on
// node-a, a MIG instance on node-b, one GPU on node-c. Other pods and namespaces around it.
function docs(load: { a0: number; a1: number; bMig: number; c0: number }) {
  return {
    a: gpusDoc('node-a', [
      gpu(0, util(load.a0), [pod('ai', 'web-5d8-aaaaa')]),
      gpu(1, util(load.a1), [pod('ai', 'web-5d8-bbbbb', { vgpu: '0' }), pod('ai', 'web-5d8-ccccc', { vgpu: '1' })]),
      gpu(2, util(99), [pod('ai', 'webhook-1-x')]),
    ]),
    b: gpusDoc('node-b', [
      gpu(0, util(0), [], [
        migInstance(1, { DCGM_FI_DEV_GPU_UTIL: load.bMig, DCGM_FI_DEV_FB_USED: 1000, DCGM_FI_DEV_FB_FREE: 9000 }, [pod('ai', 'web-5d8-ddddd')]),
        migInstance(2, { DCGM_FI_DEV_GPU_UTIL: 95, DCGM_FI_DEV_FB_USED: 1000, DCGM_FI_DEV_FB_FREE: 9000 }, [pod('ai', 'trainer-0')]),
      ]),
      gpu(1, util(97), [pod('prod', 'web-5d8-eeeee')]),
    ]),
    c: gpusDoc('node-c', [gpu(0, util(load.c0), [pod('ai', 'web-5d8-fffff')]), gpu(1, util(88), [])]),
  };
}

let ex: { a: FakeExporter; b: FakeExporter; c: FakeExporter };
let scaler: TestScaler;
let client: ScalerClient;

const ref = (meta: Record<string, string> = {}): Ref => ({ name: 'web', namespace: 'ai', scalerMetadata: { scalerAddress: 'x:6000', ...meta } });
const setLoad = (load: Parameters<typeof docs>[0]) => {
  const d = docs(load);
  ex.a.doc = d.a;
  ex.b.doc = d.b;
  ex.c.doc = d.c;
};
const metricsText = async () => (await fetch(`http://127.0.0.1:${scaler.httpPort}/metrics`)).text();

t.before(async () => {
  const d = docs({ a0: 60, a1: 80, bMig: 40, c0: 20 });
  ex = { a: await startExporter(d.a), b: await startExporter(d.b), c: await startExporter(d.c) };
  scaler = await startTestScaler({
    grpcAddress: '127.0.0.1:0',
    address: '127.0.0.1:0',
    exporters: [ex.a.address, ex.b.address, ex.c.address],
    pullIntervalMs: 100,
    pullTimeoutMs: 80,
    staleAfterMs: 500,
  });
  client = scalerClient(`127.0.0.1:${scaler.grpcPort}`);
});

t.teardown(async () => {
  client.close();
  await scaler.close();
  await Promise.all([ex.a.close(), ex.b.close(), ex.c.close()]);
});

t.test('GetMetricSpec: one spec, stable name, int and float target', async (t) => {
  const specs = await client.getMetricSpec(ref({ targetValue: '62.5' }));
  t.same(specs, [{ metricName: 'gpu-gpu-utilization-ai-web', targetSize: 63, targetSizeFloat: 62.5 }]);
  const again = await client.getMetricSpec(ref({ targetValue: '62.5' }));
  t.equal(again[0].metricName, specs[0].metricName);
  const small = await client.getMetricSpec(ref({ targetValue: '0.2' }));
  t.equal(small[0].targetSize, 1, 'never an int target of 0');
});

t.test('GetMetrics selects the workload\'s GPUs across nodes and fills int and float', async (t) => {
  // units: a0 60, a1 80 (shared by two pods, counted once), MIG 40, c0 20 → sum 200 over 4 units
  const [v] = await client.getMetrics(ref(), 'gpu-gpu-utilization-ai-web');
  t.same(v, { metricName: 'gpu-gpu-utilization-ai-web', metricValue: 200, metricValueFloat: 200 });
  const [mx] = await client.getMetrics(ref({ aggregation: 'max' }));
  t.equal(mx.metricValueFloat, 4 * 80, 'max × units');
  const [other] = await client.getMetrics({ ...ref(), namespace: 'prod' });
  t.equal(other.metricValueFloat, 97, 'namespace scopes the pods');
  const [pat] = await client.getMetrics(ref({ podNamePattern: '^(web|webhook)-' }));
  t.equal(pat.metricValueFloat, 200 + 99);
});

t.test('the HPA formula on GetMetrics gives the replica count for several loads', async (t) => {
  const loads = [
    { load: { a0: 90, a1: 90, bMig: 90, c0: 90 }, target: 60, replicas: 4, want: 6 },
    { load: { a0: 10, a1: 20, bMig: 30, c0: 20 }, target: 80, replicas: 4, want: 1 },
    { load: { a0: 82, a1: 78, bMig: 80, c0: 84 }, target: 80, replicas: 4, want: 4 },
    { load: { a0: 100, a1: 100, bMig: 50, c0: 50 }, target: 50, replicas: 4, want: 6 },
  ];
  for (const c of loads) {
    setLoad(c.load);
    const expected = c.load.a0 + c.load.a1 + c.load.bMig + c.load.c0;
    await until(async () => (await client.getMetrics(ref()))[0].metricValueFloat === expected, `GetMetrics reaching ${expected}`);
    const [v] = await client.getMetrics(ref({ targetValue: String(c.target) }));
    t.equal(v.metricValue, Math.round(expected));
    t.equal(hpaDesiredReplicas(v.metricValueFloat, c.target, c.replicas), c.want, `load ${JSON.stringify(c.load)} target ${c.target}`);
    t.equal(hpaDesiredReplicas(v.metricValue, c.target, c.replicas), c.want, 'KEDA < 2.17 (int fields) decides the same');
  }
});

t.test('IsActive around the activation threshold', async (t) => {
  setLoad({ a0: 10, a1: 10, bMig: 10, c0: 10 });
  await until(async () => (await client.getMetrics(ref()))[0].metricValueFloat === 40, 'load 10 everywhere');
  t.equal(await client.isActive(ref({ activationThreshold: '9.5' })), true);
  t.equal(await client.isActive(ref({ activationThreshold: '10' })), false, 'strict: equal is inactive');
  t.equal(await client.isActive(ref({ activationThreshold: '10', aggregation: 'sum' })), true, 'sum 40 > 10');
  t.equal(await client.isActive({ ...ref(), name: 'nothing' }), false, 'no GPUs → inactive');
  t.same((await client.getMetrics({ ...ref(), name: 'nothing' }))[0].metricValue, 0);
});

t.test('StreamIsActive sends the state at once, then pushes a change after a pull sees it', async (t) => {
  setLoad({ a0: 0, a1: 0, bMig: 0, c0: 0 });
  await until(async () => !(await client.isActive(ref({ activationThreshold: '5' }))), 'idle');
  const listeners = scaler.view.listenerCount('change');
  const stream = client.streamIsActive(ref({ activationThreshold: '5', pollIntervalSeconds: '60' }));
  const got: boolean[] = [];
  stream.on('data', (m: { result: boolean }) => got.push(m.result));
  stream.on('error', () => {});
  await until(() => got.length >= 1, 'first message on open');
  t.same(got, [false]);
  setLoad({ a0: 50, a1: 0, bMig: 0, c0: 0 });
  await until(() => got.includes(true), 'a push after the load rose');
  t.same(got, [false, true]);
  setLoad({ a0: 0, a1: 0, bMig: 0, c0: 0 });
  await until(() => got.length >= 3, 'a push after the load fell');
  t.same(got, [false, true, false]);
  t.equal(scaler.view.listenerCount('change'), listeners + 1, 'the stream listens for changes');
  stream.cancel();
  await until(() => scaler.view.listenerCount('change') === listeners, 'listener removed on cancel');
  t.pass('the change listener is removed when KEDA cancels the stream');
});

t.test('bad metadata → INVALID_ARGUMENT naming the parameter; the server keeps serving', async (t) => {
  const err = await client.getMetrics(ref({ targetValue: 'eighty' })).then(
    () => null,
    (e: grpc.ServiceError) => e,
  );
  t.equal(err?.code, grpc.status.INVALID_ARGUMENT);
  t.match(err?.details, /targetValue="eighty": expected a number > 0/);
  const e2 = await client.isActive(ref({ podNamePattern: '(' })).catch((e: grpc.ServiceError) => e);
  t.match(e2, { code: grpc.status.INVALID_ARGUMENT, details: /podNamePattern/ });
  const e3 = await client.getMetricSpec(ref({ profile: 'nope' })).catch((e: grpc.ServiceError) => e);
  t.match(e3, { code: grpc.status.INVALID_ARGUMENT, details: /profile="nope"/ });
  const stream = client.streamIsActive(ref({ aggregation: 'p99' }));
  const e4 = await new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
  t.match(e4, { code: grpc.status.INVALID_ARGUMENT, details: /aggregation="p99"/ });
  t.equal(typeof (await client.isActive(ref())), 'boolean', 'still serving');
  t.match(await metricsText(), /nvml_scaler_rpcs_total\{method="GetMetrics",code="INVALID_ARGUMENT"\} 1/);
});

t.test('StreamMetricSpec (not implemented) → UNIMPLEMENTED', async (t) => {
  const call = client.raw.makeServerStreamRequest(
    '/externalscaler.ExternalScaler/StreamMetricSpec',
    (v: Buffer) => v,
    (b: Buffer) => b,
    Buffer.alloc(0),
  );
  const err = await new Promise<grpc.ServiceError>((resolve) => {
    call.on('error', resolve);
    call.on('data', () => {});
  });
  t.equal(err.code, grpc.status.UNIMPLEMENTED);
});

t.test('seed ScaledObject parameters are accepted', async (t) => {
  const seed: Record<string, string>[] = [
    { profile: 'vllm-inference' },
    { targetGpuUtilization: '80' },
    { targetMemoryUtilization: '70' },
    { metricType: 'gpu_utilization', targetValue: '85', activationThreshold: '10', gpuIndex: '0', aggregation: 'max' },
    { profile: 'training', pollIntervalSeconds: '5' },
    { profile: 'batch' },
    { profile: 'triton-inference' },
  ];
  for (const meta of seed) {
    const [spec] = await client.getMetricSpec(ref(meta));
    t.ok(spec.targetSizeFloat > 0 && spec.targetSize >= 1, `${JSON.stringify(meta)} → target ${spec.targetSizeFloat}`);
    const [v] = await client.getMetrics(ref(meta));
    t.ok(v.metricValueFloat >= 0, 'a value');
    t.equal(typeof (await client.isActive(ref(meta))), 'boolean');
  }
  t.equal((await client.getMetricSpec(ref({ targetMemoryUtilization: '70' })))[0].targetSizeFloat, 70);
  setLoad({ a0: 30, a1: 70, bMig: 11, c0: 5 });
  await until(async () => (await client.getMetrics(ref()))[0].metricValueFloat === 116, 'new load');
  const [g0] = await client.getMetrics(ref({ gpuIndex: '0' }));
  t.equal(g0.metricValueFloat, 30 + 11 + 5, 'gpuIndex 0: a0, the MIG instance on GPU 0 of node-b, c0');
});

t.test('an exporter going away: its node turns stale, its GPUs are excluded, /metrics shows it', async (t) => {
  setLoad({ a0: 10, a1: 10, bMig: 10, c0: 10 });
  await until(async () => (await client.getMetrics(ref()))[0].metricValueFloat === 40, 'all four units');
  t.match(await metricsText(), /nvml_scaler_exporters\{state="fresh"\} 3/);
  await ex.c.close();
  await until(async () => (await client.getMetrics(ref()))[0].metricValueFloat === 30, 'node-c excluded');
  const text = await metricsText();
  t.match(text, new RegExp(`nvml_scaler_exporter_up\\{exporter="${ex.c.address}"\\} 0`));
  t.match(text, new RegExp(`nvml_scaler_exporter_up\\{exporter="${ex.a.address}"\\} 1`));
  t.match(text, /nvml_scaler_exporters\{state="stale"\} 1/);
  t.match(text, new RegExp(`nvml_scaler_pull_errors_total\\{exporter="${ex.c.address}",reason="connect"\\} [1-9]`));
  t.match(text, /nvml_scaler_gpus 5/);
  const health = await (await fetch(`http://127.0.0.1:${scaler.httpPort}/health`)).json();
  t.same(health, { status: 'ok', exporters: { total: 3, fresh: 2, stale: 1, idle: 0 }, workloads: { mode: 'all' } });
});
