// node --import tsx bench/scaler.ts
// The KEDA external scaler: GetMetrics latency with 100 nodes × 8 GPUs in the cluster view, and the
// time from a changed exporter document to the changed value in GetMetrics and to a StreamIsActive
// push at default intervals. The exporters run in a child process (100 node:http servers serving
// /api/v1/gpus documents) so that their work does not share the scaler's event loop.
import { fork, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { GpusDocument } from '../lib/contract/gpus-document.js';
import { gpu, gpusDoc, pod, scalerClient, startExporter, startTestScaler, type FakeExporter } from '../test/integration/scaler-harness.js';
import { updateBenchmarks } from './report.js';

const NODES = Number(process.env.BENCH_SCALER_NODES ?? 100);
const GPUS = 8;
const CALLS = Number(process.env.BENCH_SCALER_CALLS ?? 5000);
const TRIALS = Number(process.env.BENCH_SCALER_TRIALS ?? 20);

function readings(util: number): Record<string, number> {
  return {
    DCGM_FI_DEV_GPU_UTIL: util, DCGM_FI_DEV_MEM_COPY_UTIL: util / 2, DCGM_FI_DEV_FB_USED: 70000, DCGM_FI_DEV_FB_FREE: 9000,
    DCGM_FI_DEV_FB_RESERVED: 500, DCGM_FI_DEV_POWER_USAGE: 350.5, DCGM_FI_DEV_GPU_TEMP: 61, DCGM_FI_DEV_MEMORY_TEMP: 70,
    DCGM_FI_DEV_SM_CLOCK: 1980, DCGM_FI_DEV_MEM_CLOCK: 2619, DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION: 123456789,
    DCGM_FI_DEV_PCIE_REPLAY_COUNTER: 0, DCGM_FI_DEV_XID_ERRORS: 0, DCGM_FI_DEV_ENC_UTIL: 0, DCGM_FI_DEV_DEC_UTIL: 0,
  };
}

/** Node i: GPU 0 runs a pod of "web" (namespace ai); GPUs 1–7 run pods of 7 other deployments. */
function nodeDoc(i: number, webUtil: number): GpusDocument {
  const gpus = [gpu(0, readings(webUtil), [pod('ai', `web-7c9d-${i}`)])];
  for (let g = 1; g < GPUS; g++) gpus.push(gpu(g, readings(50 + g), [pod(g % 2 ? 'ai' : 'batch', `svc${g}-55f-${i}`)]));
  return gpusDoc(`gpu-node-${i}`, gpus);
}

// ---- child: the exporters ------------------------------------------------------------------
async function child(): Promise<void> {
  const exporters: FakeExporter[] = [];
  for (let i = 0; i < NODES; i++) exporters.push(await startExporter(nodeDoc(i, 10)));
  process.on('message', (m: { webUtil: number; node: number }) => {
    exporters[m.node].doc = nodeDoc(m.node, m.webUtil);
    process.send!({ applied: m.webUtil });
  });
  process.send!({ addresses: exporters.map((e) => e.address) });
}

// ---- parent: the scaler and a KEDA-like client ------------------------------------------------
function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const kid: ChildProcess = fork(fileURLToPath(import.meta.url), ['--child'], { execArgv: ['--import', 'tsx'] });
  const addresses = await new Promise<string[]>((resolve) =>
    kid.once('message', (m: { addresses: string[] }) => resolve(m.addresses)),
  );
  const scaler = await startTestScaler({ exporters: addresses }); // default intervals
  const client = scalerClient(`127.0.0.1:${scaler.grpcPort}`);
  const ref = { name: 'web', namespace: 'ai', scalerMetadata: { activationThreshold: '50' } };
  const gpusInView = scaler.view.documents().reduce((n, d) => n + d.gpus.length, 0);
  if (gpusInView !== NODES * GPUS) throw new Error(`expected ${NODES * GPUS} GPUs in view, got ${gpusInView}`);

  // 1. GetMetrics latency, sequential on one connection as KEDA does, with pulls running meanwhile
  for (let i = 0; i < 200; i++) await client.getMetrics(ref);
  const lat: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t0 = performance.now();
    const [v] = await client.getMetrics(ref);
    lat.push(performance.now() - t0);
    if (v.metricValueFloat !== NODES * 10) throw new Error(`unexpected value ${v.metricValueFloat}`);
  }
  lat.sort((a, b) => a - b);

  // 2. change → GetMetrics and → StreamIsActive push, flipping node 0's web GPU between 10 and 90
  const got: { at: number; result: boolean }[] = [];
  const stream = client.streamIsActive({ ...ref, scalerMetadata: { activationThreshold: '10', aggregation: 'max' } });
  stream.on('data', (m: { result: boolean }) => got.push({ at: performance.now(), result: m.result }));
  stream.on('error', () => {});
  while (got.length === 0) await new Promise((r) => setTimeout(r, 5));
  const toMetrics: number[] = [];
  const toStream: number[] = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    const high = trial % 2 === 0;
    const webUtil = high ? 90 : 10;
    const expected = (NODES - 1) * 10 + webUtil;
    const seen = got.length;
    // wait a random part of a pull interval so that changes land anywhere in the pull cycle
    await new Promise((r) => setTimeout(r, Math.random() * 500));
    const applied = new Promise((resolve) => kid.once('message', resolve));
    const t0 = performance.now();
    kid.send({ node: 0, webUtil });
    await applied;
    for (;;) {
      const [v] = await client.getMetrics(ref);
      if (v.metricValueFloat === expected) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    toMetrics.push(performance.now() - t0);
    while (!got.slice(seen).some((m) => m.result === high)) await new Promise((r) => setTimeout(r, 2));
    toStream.push(got.slice(seen).find((m) => m.result === high)!.at - t0);
  }
  stream.cancel();
  client.close();
  await scaler.close();
  kid.kill();
  toMetrics.sort((a, b) => a - b);
  toStream.sort((a, b) => a - b);

  const f = (n: number) => n.toFixed(2);
  const fs = (n: number) => (n / 1000).toFixed(2);
  const lines = [
    `Command: \`node --import tsx bench/scaler.ts\` (Node ${process.version}, ${cpus().length} CPUs, ${NODES} exporters × ${GPUS} GPUs served from a child process, default pull interval 500 ms, deadline 400 ms).`,
    '',
    '| figure | value | target |',
    '|---|---|---|',
    `| GetMetrics latency, ${NODES} nodes × ${GPUS} GPUs in view, ${CALLS} sequential calls: p50 | ${f(pct(lat, 50))} ms | |`,
    `| GetMetrics latency p99 | ${f(pct(lat, 99))} ms | < 5 ms |`,
    `| GetMetrics latency max | ${f(lat[lat.length - 1])} ms | |`,
    `| exporter document changed → new value in GetMetrics (${TRIALS} trials): p50 / max | ${fs(pct(toMetrics, 50))} s / ${fs(toMetrics[toMetrics.length - 1])} s | < 1.5 s |`,
    `| exporter document changed → StreamIsActive push (${TRIALS} trials): p50 / max | ${fs(pct(toStream, 50))} s / ${fs(toStream[toStream.length - 1])} s | < 1.5 s |`,
    '',
    'The change is applied to one exporter\'s document at a random point of the pull cycle; the time runs until the',
    'scaler answers with the new value (GetMetrics polled every 2 ms) or pushes the new active state. End to end, a',
    'load change on a GPU additionally waits for the exporter\'s own sweep (its collect interval) before it appears',
    'in /api/v1/gpus. Through Prometheus the same change takes a scrape interval plus KEDA\'s polling: 15–60 s.',
  ];
  const body = lines.join('\n');
  process.stdout.write(body + '\n');
  updateBenchmarks('KEDA external scaler', body);
}

if (process.argv.includes('--child')) await child();
else await main();
