// The pull worker: the scaler's pulls run in a worker thread and the main thread answers from the
// view the worker's batches build. What a pull brings reaches the answers and the self-metrics,
// the demand (the pod view's nodes and scopes) reaches the pulls, a worker that dies ends the
// command with a non-zero code instead of leaving a view that no longer moves, and a stopped
// scaler leaves no thread behind.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { parseScalerArgs } from '../../lib/config/scaler.js';
import { runScaler, type RunningScaler } from '../../lib/app/scaler.js';
import { RemoteClusterView } from '../../lib/scaler/remote-view.js';
import { silentLogger } from '../../lib/logger.js';
import { MemoryPodView } from '../helpers/pod-view.js';
import { gpu, gpusDoc, pod, scalerClient, startExporter, startTestScaler, until } from './scaler-harness.js';

const util = (v: number) => ({ DCGM_FI_DEV_GPU_UTIL: v });
const workerOf = (s: RunningScaler) => (s.view as unknown as { worker: Worker }).worker;

t.test('updates reach the main thread: documents, changes, pull errors, staleness', async (t) => {
  const a = await startExporter(gpusDoc('node-a', [gpu(0, util(60), [pod('ai', 'web-1')])]));
  const scaler = await startTestScaler({ exporters: [a.address, '127.0.0.1:1'], pullIntervalMs: 50, pullTimeoutMs: 400, staleAfterMs: 600 });
  const client = scalerClient(`127.0.0.1:${scaler.grpcPort}`);
  t.teardown(async () => {
    client.close();
    await scaler.close();
    await a.close();
  });
  t.ok(scaler.view instanceof RemoteClusterView, 'the command\'s default: the pulls run in the worker');
  const ref = { name: 'web', namespace: 'ai', scalerMetadata: {} };
  t.equal((await client.getMetrics(ref))[0]!.metricValueFloat, 60, 'the first round is in view once the scaler has started');
  // a stream hears a change the worker saw
  const pushed: boolean[] = [];
  const stream = client.streamIsActive({ ...ref, scalerMetadata: { activationThreshold: '70' } });
  stream.on('data', (m: { result: boolean }) => pushed.push(m.result));
  stream.on('error', () => {});
  t.teardown(() => stream.cancel());
  await until(() => pushed.length === 1, 'the stream\'s first state');
  a.doc = gpusDoc('node-a', [gpu(0, util(90), [pod('ai', 'web-1')])]);
  await until(() => pushed.at(-1) === true, 'a change pushed to the stream');
  t.equal((await client.getMetrics(ref))[0]!.metricValueFloat, 90, 'and answered by GetMetrics');
  const page = await (await fetch(`http://127.0.0.1:${scaler.httpPort}/metrics`)).text();
  t.match(page, /nvml_scaler_pull_errors_total\{exporter="127\.0\.0\.1:1",reason="connect"\} [1-9]/, 'the worker\'s pull errors counted by reason');
  t.match(page, /nvml_scaler_pull_duration_seconds_count [1-9]/, 'its pulls timed');
  t.match(page, /nvml_scaler_exporters\{state="stale"\} 1/);
  await a.close();
  await until(() => !scaler.view.exporters().find((e) => e.address === a.address)!.fresh, 'a stopped exporter turns stale in the main view');
  t.same(scaler.view.documents(), [], 'and its GPUs leave the answers');
  t.equal((await fetch(`http://127.0.0.1:${scaler.httpPort}/ready`)).status, 503, '/ready follows the worker\'s freshness');
});

t.test('a conflict seen through the worker: the first claim kept, the other reported', async (t) => {
  const a = await startExporter(gpusDoc('node-a', [gpu(0, util(60), [pod('ai', 'web-1')])]));
  const scaler = await startTestScaler({ exporters: [a.address], pullIntervalMs: 50, pullTimeoutMs: 400, staleAfterMs: 60_000 });
  await until(() => scaler.view.documents().length === 1, 'node-a in view');
  const dup = await startExporter(gpusDoc('node-a', [gpu(0, util(0), [pod('ai', 'web-9')])]));
  const scaler2 = await startTestScaler({ exporters: [a.address, dup.address], pullIntervalMs: 50, pullTimeoutMs: 400, staleAfterMs: 60_000 });
  t.teardown(async () => {
    await scaler.close();
    await scaler2.close();
    await a.close();
    await dup.close();
  });
  await until(() => scaler2.view.conflicts().length === 1, 'the conflict is seen');
  const [c] = scaler2.view.conflicts();
  t.equal(scaler2.view.documents().length, 1, 'one document for node-a');
  const page = await (await fetch(`http://127.0.0.1:${scaler2.httpPort}/metrics`)).text();
  t.match(page, `nvml_scaler_hostname_conflict{hostname="node-a",exporter="${c!.ignored[0]}"} 1`);
});

t.test('the demand reaches the worker: only the workload\'s nodes are pulled, with its scope, and follow its pods', async (t) => {
  const a = await startExporter(gpusDoc('node-a', [gpu(0, util(60), [pod('ai', 'web-1')])]));
  const b = await startExporter(gpusDoc('node-b', [gpu(0, util(30), [pod('ai', 'web-2')])]));
  const pods = new MemoryPodView();
  pods.set({ namespace: 'ai', name: 'web-1', nodeName: 'node-a' });
  const scaler = await startTestScaler({ exporters: [a.address, b.address], podMetadata: pods, pullIntervalMs: 50, pullTimeoutMs: 400, idleProbeIntervalMs: 60_000 });
  const client = scalerClient(`127.0.0.1:${scaler.grpcPort}`);
  t.teardown(async () => {
    client.close();
    await scaler.close();
    await a.close();
    await b.close();
  });
  await until(() => scaler.view.exporters().every((e) => e.idle), 'both probed and idle');
  const ref = { name: 'web', namespace: 'ai', scalerMetadata: {} };
  t.equal((await client.getMetrics(ref))[0]!.metricValueFloat, 60, 'the first answer comes from node-a, pulled for it');
  const bBefore = b.requests;
  await until(() => a.queries.at(-1) === 'namespace=ai&pod=web-1' && a.notModified > 0, 'node-a pulled with the workload\'s scope, conditionally');
  t.equal(b.requests, bBefore, 'node-b runs none of its pods: not pulled');
  // the pod view moves a pod to node-b: the worker starts pulling it
  pods.set({ namespace: 'ai', name: 'web-2', nodeName: 'node-b' });
  await until(async () => (await client.getMetrics(ref))[0]!.metricValueFloat === 90, 'node-b joins the answer', 10_000);
  t.equal(b.queries.at(-1), 'namespace=ai&pod=web-2');
  t.notOk(scaler.view.exporters().find((e) => e.address === b.address)!.idle, 'and is in use');
});

t.test('a dead worker: the view empties, RPCs answer UNAVAILABLE, /ready fails, the command exits 1 with a log line', async (t) => {
  const a = await startExporter(gpusDoc('node-a', [gpu(0, util(60), [pod('ai', 'web-1')])]));
  t.teardown(() => a.close());
  const { config } = parseScalerArgs(['--exporters', a.address, '--grpc-address', '127.0.0.1:0', '--address', '127.0.0.1:0', '--pull-interval', '100'], {});
  const lines: string[] = [];
  const logger = { ...silentLogger, error: (m: string, f?: Record<string, unknown>) => lines.push(`${m} ${JSON.stringify(f ?? {})}`) };
  let s!: RunningScaler;
  let exited!: Promise<number>;
  await new Promise<void>((resolve) => {
    exited = runScaler(config, { logger, signal: new AbortController().signal, onStart: (r) => { s = r; resolve(); } });
  });
  const client = scalerClient(`127.0.0.1:${s.grpcPort}`);
  t.teardown(() => client.close());
  const ref = { name: 'web', namespace: 'ai', scalerMetadata: {} };
  t.equal((await client.getMetrics(ref))[0]!.metricValueFloat, 60);
  const failed = s.failed;
  await workerOf(s).terminate();
  t.match((await failed).message, /pull worker exited/);
  t.same(s.view.exporters(), [], 'nothing stays in view');
  t.equal(await exited, 1, 'the command exits 1');
  t.match(lines.join('\n'), /the pull worker stopped; exiting rather than serving a view that is no longer pulled/);
  await t.rejects(client.getMetrics(ref), { code: grpc.status.UNAVAILABLE }, 'the server is closed');
});

t.test('a dead worker before the server is closed: no stale answers', async (t) => {
  const a = await startExporter(gpusDoc('node-a', [gpu(0, util(60), [pod('ai', 'web-1')])]));
  const scaler = await startTestScaler({ exporters: [a.address], pullIntervalMs: 100 });
  const client = scalerClient(`127.0.0.1:${scaler.grpcPort}`);
  t.teardown(async () => {
    client.close();
    await scaler.close();
    await a.close();
  });
  const ref = { name: 'web', namespace: 'ai', scalerMetadata: {} };
  t.equal((await client.getMetrics(ref))[0]!.metricValueFloat, 60);
  await workerOf(scaler).terminate();
  await scaler.failed;
  t.equal((await client.getMetrics(ref))[0]!.metricValueFloat, 0, 'the dead worker\'s node is not counted');
  t.equal((await fetch(`http://127.0.0.1:${scaler.httpPort}/ready`)).status, 200, 'no exporter in view: /ready as for an empty view');
});

t.test('stop ends the worker: a process that starts and closes a scaler exits on its own', async (t) => {
  const a = await startExporter(gpusDoc('node-a', [gpu(0, util(60), [pod('ai', 'web-1')])]));
  t.teardown(() => a.close());
  const harness = fileURLToPath(new URL('./scaler-harness.ts', import.meta.url));
  const code = `
    const { startTestScaler } = await import(${JSON.stringify(pathToFileURL(harness).href)});
    const s = await startTestScaler({ exporters: [${JSON.stringify(a.address)}] });
    if (s.view.constructor.name !== 'RemoteClusterView') throw new Error('not the worker');
    await s.close();
    await s.view.exited;
    console.log('closed');`;
  const dir = mkdtempSync(join(tmpdir(), 'scaler-worker-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'start-stop.mjs');
  writeFileSync(script, code);
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [exitCode, signal] = await new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])));
  clearTimeout(timer);
  t.equal(signal, null, `the process ended by itself (${out.trim()})`);
  t.equal(exitCode, 0);
  t.match(out, /closed/);
});
