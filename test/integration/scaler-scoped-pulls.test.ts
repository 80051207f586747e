// With a pod view (the Kubernetes API informer's interface, here in memory), the scaler pulls only
// the exporters of nodes that run pods of workloads KEDA asks about, only those pods' GPUs
// (?namespace=&pod=), conditionally (304 when unchanged), and stops when KEDA stops asking.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimApiServer } from '../../lib/kubernetes/sim-api-server.js';
import { silentLogger } from '../../lib/logger.js';
import { gpu, gpusDoc, pod, scalerClient, startExporter, startTestScaler, until, type FakeExporter } from './scaler-harness.js';
import { MemoryPodView } from '../helpers/pod-view.js';

const util = (v: number) => ({ DCGM_FI_DEV_GPU_UTIL: v });

t.test('pulls follow the workloads KEDA asks about', async (t) => {
  const a = await startExporter(gpusDoc('node-a', [gpu(0, util(90), [pod('ai', 'web-5d8-aaaaa')]), gpu(1, util(70), [pod('batch', 'train-0')])]));
  const b = await startExporter(gpusDoc('node-b', [gpu(0, util(30), [pod('ai', 'web-5d8-bbbbb')])]));
  const c = await startExporter(gpusDoc('node-c', [gpu(0, util(50), [pod('batch', 'train-1')])]));
  const exporters: FakeExporter[] = [a, b, c];
  const pods = new MemoryPodView();
  pods.set({ namespace: 'ai', name: 'web-5d8-aaaaa', nodeName: 'node-a' });
  pods.set({ namespace: 'ai', name: 'web-5d8-bbbbb', nodeName: 'node-b' });
  pods.set({ namespace: 'batch', name: 'train-0', nodeName: 'node-a' });
  pods.set({ namespace: 'batch', name: 'train-1', nodeName: 'node-c' });
  const scaler = await startTestScaler({
    exporters: exporters.map((e) => e.address), podMetadata: pods, pullIntervalMs: 100, pullTimeoutMs: 1000, staleAfterMs: 3000,
    workloadIdleTimeoutMs: 1500, idleProbeIntervalMs: 60_000,
  });
  const client = scalerClient(`127.0.0.1:${scaler.grpcPort}`);
  t.teardown(async () => {
    client.close();
    await scaler.close();
    for (const e of exporters) await e.close();
  });

  t.same(exporters.map((e) => e.queries[0]), ['', '', ''], 'each exporter is pulled whole once, to learn its node');
  const before = exporters.map((e) => e.requests);
  await new Promise((r) => setTimeout(r, 600));
  t.same(exporters.map((e) => e.requests), before, 'no workload asked about: no pulls (probes are 60 s apart)');
  const health = await fetch(`http://127.0.0.1:${scaler.httpPort}/health`).then((r) => r.json()) as { exporters: { idle: number }; workloads: { mode: string; wanted: number } };
  t.match(health, { exporters: { idle: 3 }, workloads: { mode: 'scoped', wanted: 0 } });
  t.equal((await fetch(`http://127.0.0.1:${scaler.httpPort}/ready`)).status, 200, 'idle exporters do not make the scaler unready');

  // a workload at zero replicas: no pods, no GPUs → 0 and inactive (never an error), nothing pulled
  const atZero = { name: 'batch-llm', namespace: 'ai', scalerMetadata: { metricType: 'memory_used_percent', targetValue: '85' } };
  t.same((await client.getMetrics(atZero))[0].metricValueFloat, 0, 'a workload at zero replicas measures 0');
  t.equal(await client.isActive(atZero), false, 'and is inactive: a memory trigger alone cannot activate it from zero');
  t.same(exporters.map((e) => e.requests), before, 'asking about it pulls nothing');
  const web = { name: 'web', namespace: 'ai', scalerMetadata: {} };
  const [first] = await client.getMetrics(web);
  t.equal(first.metricValueFloat, 120, 'the first answer already comes from the workload\'s nodes (avg 60 × 2 GPUs)');
  await until(() => a.requests > before[0] + 3 && b.requests > before[1] + 3, 'node-a and node-b pulled repeatedly');
  t.equal(a.queries.at(-1), 'namespace=ai&pod=web-5d8-aaaaa', 'node-a is asked for the workload\'s pod only');
  t.equal(b.queries.at(-1), 'namespace=ai&pod=web-5d8-bbbbb');
  t.equal(c.requests, before[2], 'node-c runs none of its pods: not pulled');
  await until(() => a.notModified > 0, 'an unchanged document answers 304');

  a.doc = gpusDoc('node-a', [gpu(0, util(10), [pod('ai', 'web-5d8-aaaaa')]), gpu(1, util(70), [pod('batch', 'train-0')])]);
  await until(async () => (await client.getMetrics(web))[0].metricValueFloat === 40, 'a change on node-a reaches GetMetrics');

  // the pod on node-b moves to node-c: the next evaluation pulls node-c (after the index catches up)
  pods.remove('ai', 'web-5d8-bbbbb');
  pods.set({ namespace: 'ai', name: 'web-5d8-ccccc', nodeName: 'node-c' });
  c.doc = gpusDoc('node-c', [gpu(0, util(50), [pod('batch', 'train-1')]), gpu(1, util(80), [pod('ai', 'web-5d8-ccccc')])]);
  const seen = new Set<number>();
  await until(async () => {
    const v = (await client.getMetrics(web))[0].metricValueFloat;
    seen.add(v);
    return v === 90;
  }, 'the moved pod is found on node-c (10 + 80)');
  t.notOk(seen.has(120), 'node-b, which the pod left, is never counted with node-c (its last document is still fresh)');
  t.equal(c.queries.at(-1), 'namespace=ai&pod=web-5d8-ccccc');

  // KEDA stops asking: after the idle timeout the workload's nodes are no longer pulled
  await new Promise((r) => setTimeout(r, 1500 + 600));
  const quiet = exporters.map((e) => e.requests);
  await new Promise((r) => setTimeout(r, 600));
  t.same(exporters.map((e) => e.requests), quiet, 'no pulls once no workload has been asked about for the idle timeout');
});

t.test('without a pod view every exporter is pulled whole, as before', async (t) => {
  const a = await startExporter(gpusDoc('node-a', [gpu(0, util(90), [pod('ai', 'web-5d8-aaaaa')])]));
  const scaler = await startTestScaler({ exporters: [a.address], pullIntervalMs: 100 });
  t.teardown(async () => {
    await scaler.close();
    await a.close();
  });
  await until(() => a.requests > 3, 'pulled on every interval');
  t.ok(a.queries.every((q) => q === ''), 'whole documents');
  await until(() => a.notModified > 0, 'conditionally: 304 while unchanged');
  t.equal(scaler.view.documents()[0].gpus[0].readings.DCGM_FI_DEV_GPU_UTIL, 90, 'the document held across 304s');
});

t.test('--kubernetes-api with the real pod informer: a simulated API server says where a workload runs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nvx-scaler-api-'));
  const api = await startSimApiServer({
    pods: [
      { namespace: 'ai', name: 'web-5d8-aaaaa', nodeName: 'node-a', labels: { 'pod-template-hash': '5d8' }, owner: { kind: 'ReplicaSet', name: 'web-5d8' } },
      { namespace: 'batch', name: 'train-1', nodeName: 'node-c', owner: { kind: 'StatefulSet', name: 'train' } },
    ],
  });
  const kubeconfig = api.writeKubeconfig(join(dir, 'kubeconfig.yaml'));
  const a = await startExporter(gpusDoc('node-a', [gpu(0, util(90), [pod('ai', 'web-5d8-aaaaa')])]));
  const c = await startExporter(gpusDoc('node-c', [gpu(0, util(50), [pod('batch', 'train-1')])]));
  const { loadPodInformer } = await import('../../lib/app/scaler.js');
  const informer = await loadPodInformer(silentLogger, kubeconfig);
  const scaler = await startTestScaler({
    exporters: [a.address, c.address], podMetadata: informer.view, pullIntervalMs: 100, pullTimeoutMs: 1000, staleAfterMs: 3000,
    workloadIdleTimeoutMs: 5000, idleProbeIntervalMs: 60_000,
  });
  const client = scalerClient(`127.0.0.1:${scaler.grpcPort}`);
  t.teardown(async () => {
    client.close();
    await scaler.close();
    informer.stop();
    await a.close();
    await c.close();
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  t.equal(informer.view.byName('ai', 'web-5d8-aaaaa')?.workload.name, 'web', 'the informer resolves the Deployment through its ReplicaSet');
  const web = { name: 'web', namespace: 'ai', scalerMetadata: {} };
  t.equal((await client.getMetrics(web))[0].metricValueFloat, 90, "the workload's one GPU");
  await until(() => a.queries.at(-1) === 'namespace=ai&pod=web-5d8-aaaaa', "node-a is asked for the workload's pod");
  const cBefore = c.requests;
  await new Promise((r) => setTimeout(r, 500));
  t.equal(c.requests, cBefore, 'node-c runs none of its pods: not pulled');
});

t.test('--kubernetes-api outside a cluster without a kubeconfig is refused (exit 2), never a silent whole pull', async (t) => {
  const { parseScalerArgs } = await import('../../lib/config/scaler.js');
  const { runScaler } = await import('../../lib/app/scaler.js');
  const { config } = parseScalerArgs(['--exporters', '127.0.0.1:1', '--kubernetes-api', '--grpc-address', '127.0.0.1:0', '--address', '127.0.0.1:0'], {});
  t.equal(config.kubernetesApi, true);
  const lines: string[] = [];
  const logger = { debug() {}, info() {}, warn() {}, error: (m: string) => lines.push(m) };
  const saved = process.env.KUBERNETES_SERVICE_HOST;
  delete process.env.KUBERNETES_SERVICE_HOST;
  t.teardown(() => { if (saved !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved; });
  t.equal(await runScaler(config, { logger, signal: AbortSignal.abort() }), 2);
  t.match(lines.join('\n'), /--kubernetes-api: /);
  const viaLoader = await runScaler(config, {
    logger, signal: AbortSignal.abort(),
    loadPodMetadata: async () => {
      const { MemoryPodView } = await import('../helpers/pod-view.js');
      return { view: new MemoryPodView(), stop() {} };
    },
  });
  t.equal(viaLoader, 0, 'with a loader that gives a pod view the scaler starts (scoped) and exits 0 when stopped');
});
