// How the cluster scaler spends its time at scale: one scheduler for every pull (idle exporters are
// not pulled, their probes and new phases spread over the interval), each query's last result kept
// while nothing it depends on changed, streams woken only by their workload's nodes; and what KEDA
// sees when the scaler cannot be reached (the ScaledObject's fallback starts from these errors).
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseListenTarget } from '../../lib/contract/address.js';
import type { GpusDocument } from '../../lib/contract/gpus-document.js';
import type { ClusterView } from '../../lib/scaler/cluster-view.js';
import { createScalerServer, type ScalerSource } from '../../lib/scaler/grpc-server.js';
import { MemoryPodView } from '../helpers/pod-view.js';
import { gpu, gpusDoc, pod, scalerClient, startExporter, startTestScaler, until, type FakeExporter } from './scaler-harness.js';

const util = (v: number) => ({ DCGM_FI_DEV_GPU_UTIL: v });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('one scheduler: idle exporters wait for their spread probes, needed ones are pulled every interval', async (t) => {
  const a = await startExporter(gpusDoc('node-a', [gpu(0, util(60), [pod('ai', 'web-5d8-aaaaa')])]));
  const idle: FakeExporter[] = [];
  for (const n of ['node-b', 'node-c', 'node-d']) idle.push(await startExporter(gpusDoc(n, [gpu(0, util(50), [pod('batch', `${n}-job`)])])));
  const pods = new MemoryPodView();
  pods.set({ namespace: 'ai', name: 'web-5d8-aaaaa', nodeName: 'node-a' });
  const probeMs = 60_000;
  const started = Date.now();
  const scaler = await startTestScaler({
    exporters: [a, ...idle].map((e) => e.address), podMetadata: pods, pullIntervalMs: 100, pullTimeoutMs: 1000, idleProbeIntervalMs: probeMs,
    pullMode: 'in-process', // reads the schedule (nextPullAt)
  });
  const view = scaler.view as ClusterView;
  const client = scalerClient(`127.0.0.1:${scaler.grpcPort}`);
  t.teardown(async () => {
    client.close();
    await scaler.close();
    for (const e of [a, ...idle]) await e.close();
  });

  await until(() => scaler.view.exporters().every((e) => e.idle), 'every exporter probed once and idle');
  const probes = idle.map((e) => view.nextPullAt(e.address)!);
  for (const at of probes) {
    t.ok(at >= started + probeMs && at <= Date.now() + 2 * probeMs, `the next probe is 1–2 probe intervals after the first (${at - started} ms after start)`);
  }
  t.equal(new Set(probes).size, probes.length, 'each idle exporter has its own phase: the probes do not come in a burst');
  const before = [a, ...idle].map((e) => e.requests);
  await sleep(500);
  t.same([a, ...idle].map((e) => e.requests), before, 'no workload asked about: nobody is pulled');

  t.equal((await client.getMetrics({ name: 'web', namespace: 'ai', scalerMetadata: {} }))[0].metricValueFloat, 60);
  const t0 = Date.now();
  const r0 = a.requests;
  await sleep(1000);
  const rate = (a.requests - r0) / ((Date.now() - t0) / 1000);
  t.ok(rate >= 3 && rate <= 15, `node-a, now needed, is pulled about every 100 ms (${rate.toFixed(1)}/s)`);
  t.ok(view.nextPullAt(a.address) === undefined || view.nextPullAt(a.address)! <= Date.now() + 200, 'its next pull is at most two intervals away');
  t.same(idle.map((e) => e.requests), before.slice(1), 'the idle exporters are still not pulled');
  t.same(idle.map((e) => view.nextPullAt(e.address)), probes, 'and their probes have not moved');

  // a change on the needed node reaches GetMetrics (the kept result is dropped when the document changes)
  a.doc = gpusDoc('node-a', [gpu(0, util(20), [pod('ai', 'web-5d8-aaaaa')])]);
  await until(async () => (await client.getMetrics({ name: 'web', namespace: 'ai', scalerMetadata: {} }))[0].metricValueFloat === 20, 'the new value');
});

t.test('idle probes ask for the node without its GPUs (gpus=none, 304 while unchanged); an older exporter is probed whole', async (t) => {
  const a = await startExporter(gpusDoc('node-a', [gpu(0, util(60), [pod('ai', 'web-5d8-aaaaa')])]));
  const b = await startExporter(gpusDoc('node-b', [gpu(0, util(50), [pod('batch', 'job-1')]), gpu(1, util(40), [pod('ai', 'web-5d8-bbbbb')])]));
  // an exporter from before gpus=none: 400 for a parameter it does not know, the whole document otherwise
  const oldQueries: string[] = [];
  const oldDoc = gpusDoc('node-old', [gpu(0, util(30), [pod('batch', 'job-2')])]);
  const old = createServer((req, res) => {
    const query = (req.url ?? '').split('?')[1] ?? '';
    oldQueries.push(query);
    if (query !== '') {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unknown parameter "gpus": /api/v1/gpus takes namespace and pod' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(oldDoc));
  });
  await new Promise<void>((r) => old.listen(0, '127.0.0.1', r));
  const oldAddress = `127.0.0.1:${(old.address() as AddressInfo).port}`;
  const pods = new MemoryPodView();
  pods.set({ namespace: 'ai', name: 'web-5d8-aaaaa', nodeName: 'node-a' });
  const lines: string[] = [];
  const logger = { debug: () => {}, info: (m: string, f?: Record<string, unknown>) => void lines.push(`${m} ${JSON.stringify(f ?? {})}`), warn: () => {}, error: () => {} };
  const scaler = await startTestScaler({
    exporters: [a.address, b.address, oldAddress], podMetadata: pods, pullIntervalMs: 100, pullTimeoutMs: 1000, staleAfterMs: 60_000,
    idleProbeIntervalMs: 150, logger,
  });
  const client = scalerClient(`127.0.0.1:${scaler.grpcPort}`);
  t.teardown(async () => {
    client.close();
    await scaler.close();
    await a.close();
    await b.close();
    old.close();
  });
  const ref = { name: 'web', namespace: 'ai', scalerMetadata: {} };
  t.equal((await client.getMetrics(ref))[0].metricValueFloat, 60, 'node-a answers for the workload');

  await until(() => b.queries.filter((q) => q === 'gpus=none').length >= 4 && b.notModified >= 2, 'node-b probed with gpus=none, answered 304', 10_000);
  t.equal(b.queries[0], '', 'the first contact (its node not known yet) is a whole pull');
  t.ok(b.queries.slice(1).every((q) => q === 'gpus=none'), `then only probes without GPUs (${[...new Set(b.queries)].join(' | ')})`);
  t.equal(scaler.view.exporters().find((e) => e.address === b.address)?.idle, true, 'node-b is idle');

  await until(() => oldQueries.filter((q) => q === '').length >= 3, 'the older exporter probed whole', 10_000);
  t.same(oldQueries.filter((q) => q !== ''), ['gpus=none'], 'it was asked for gpus=none once');
  t.match(lines.join('\n'), /an exporter does not take \/api\/v1\/gpus\?gpus=none \(an older version\): its probes pull the whole document .*"exporter":"127\.0\.0\.1:\d+"/);
  const oldState = scaler.view.exporters().find((e) => e.address === oldAddress);
  t.same([oldState?.doc?.hostname, oldState?.idle, oldState?.lastError], ['node-old', true, null], 'it stays known, idle and without error');

  // a replica scheduled on node-b: node-b is pulled for it, and its GPU counts
  pods.set({ namespace: 'ai', name: 'web-5d8-bbbbb', nodeName: 'node-b' });
  await until(async () => (await client.getMetrics(ref).then((r) => r[0].metricValueFloat, () => -1)) === 100, 'node-b\'s replica counted (60 + 40)', 10_000);
  t.match(b.queries.at(-1), /^namespace=ai&pod=web-5d8-bbbbb$/, 'node-b is pulled with the workload\'s scope');
});

/** A source whose documents and version the test sets, counting what the server asks of it. */
function fakeSource(doc: GpusDocument) {
  const state = { doc, version: 1, documents: 0, prepares: 0, listeners: new Set<(node?: string | null) => void>() };
  const source: ScalerSource = {
    documents: () => {
      state.documents++;
      return [state.doc];
    },
    prepare: () => {
      state.prepares++;
    },
    onChange(listener) {
      state.listeners.add(listener);
      return () => state.listeners.delete(listener);
    },
    affects: (_q, node) => node === state.doc.hostname,
    version: () => [state.version],
  };
  return { state, source, change: (node: string | null) => { for (const l of state.listeners) l(node); } };
}

t.test('a query\'s last result is the answer while the source\'s version is unchanged', async (t) => {
  const f = fakeSource(gpusDoc('node-a', [gpu(0, util(40), [pod('ai', 'web-5d8-aaaaa')])]));
  const server = createScalerServer({ source: f.source });
  const port = await server.listen(parseListenTarget('127.0.0.1:0', 'test'));
  const client = scalerClient(`127.0.0.1:${port}`);
  t.teardown(async () => {
    client.close();
    await server.close();
  });
  const web = { name: 'web', namespace: 'ai', scalerMetadata: {} };
  for (let i = 0; i < 3; i++) t.equal((await client.getMetrics(web))[0].metricValueFloat, 40);
  t.equal(await client.isActive(web), true);
  t.equal(f.state.documents, 1, 'four answers, the documents read once');
  t.equal(f.state.prepares, 4, 'every RPC still prepares (marks the workload wanted, pulls its nodes the first time)');

  // the documents change but the version does not: the kept result stands (the version is the contract)
  f.state.doc = gpusDoc('node-a', [gpu(0, util(90), [pod('ai', 'web-5d8-aaaaa')])]);
  t.equal((await client.getMetrics(web))[0].metricValueFloat, 40);
  f.state.version++;
  t.equal((await client.getMetrics(web))[0].metricValueFloat, 90, 'a new version: computed again');
  t.equal(f.state.documents, 2);
  const other = { name: 'web', namespace: 'ai', scalerMetadata: { aggregation: 'max' } };
  t.equal((await client.getMetrics(other))[0].metricValueFloat, 90, 'another query has its own result');
  t.equal(f.state.documents, 3);
});

t.test('a stream evaluates again for changes of its own nodes only', async (t) => {
  const f = fakeSource(gpusDoc('node-a', [gpu(0, util(5), [pod('ai', 'web-5d8-aaaaa')])]));
  const server = createScalerServer({ source: f.source });
  const port = await server.listen(parseListenTarget('127.0.0.1:0', 'test'));
  const client = scalerClient(`127.0.0.1:${port}`);
  const pushes: boolean[] = [];
  const stream = client.streamIsActive({ name: 'web', namespace: 'ai', scalerMetadata: { activationThreshold: '50' } });
  stream.on('data', (m: { result: boolean }) => pushes.push(m.result));
  stream.on('error', () => {});
  t.teardown(async () => {
    stream.cancel();
    client.close();
    await server.close();
  });
  await until(() => pushes.length === 1, 'the first answer');
  t.same(pushes, [false]);
  const prepared = f.state.prepares;
  f.state.doc = gpusDoc('node-a', [gpu(0, util(80), [pod('ai', 'web-5d8-aaaaa')])]);
  f.state.version++;
  f.change('node-z');
  await sleep(200);
  t.equal(f.state.prepares, prepared, 'a change of a node the workload does not run on: no evaluation');
  t.same(pushes, [false]);
  f.change('node-a');
  await until(() => pushes.length === 2, 'a change of its node: evaluated and pushed');
  t.same(pushes, [false, true]);
  f.state.doc = gpusDoc('node-a', [gpu(0, util(1), [pod('ai', 'web-5d8-aaaaa')])]);
  f.state.version++;
  f.change(null);
  await until(() => pushes.length === 3, 'a change of any node (null): evaluated');
  t.same(pushes, [false, true, false]);
});

t.test('the scaler unreachable: KEDA gets UNAVAILABLE (what starts the ScaledObject\'s fallback)', async (t) => {
  const a = await startExporter(gpusDoc('node-a', [gpu(0, util(60), [pod('ai', 'web-5d8-aaaaa')])]));
  const scaler = await startTestScaler({ exporters: [a.address], pullIntervalMs: 100 });
  const client = scalerClient(`127.0.0.1:${scaler.grpcPort}`);
  t.teardown(async () => {
    client.close();
    await a.close();
  });
  const web = { name: 'web', namespace: 'ai', scalerMetadata: {} };
  t.equal((await client.getMetrics(web))[0].metricValueFloat, 60, 'answers while it runs');
  await scaler.close();
  for (const [what, call] of [['GetMetrics', () => client.getMetrics(web)], ['IsActive', () => client.isActive(web)]] as const) {
    const err = await (call() as Promise<unknown>).then(() => null, (e: grpc.ServiceError) => e);
    t.equal(err?.code, grpc.status.UNAVAILABLE, `${what}: UNAVAILABLE once the scaler is gone`);
  }
});
