// Issue 14 item 1: catastrophic `podNamePattern`s (which pinned the scaler at 100 % CPU for
// minutes with JavaScript's backtracking RegExp) against a 10,000-pod document. Patterns are now
// matched by a linear-time engine (RE2 semantics) in fair slices, so while the attack runs the
// scaler's /health and other tenants' RPCs answer within a bound; in node-local mode the
// exporter's own /metrics does too. Patterns RE2 cannot run in linear time are refused.
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { gpu, gpusDoc, pod, scalerClient, startExporter, startTestScaler, until, type Ref } from './scaler-harness.js';
import { startExporter as startRealExporter } from '../helpers/exporter.js';
import { startSimKubelet } from '../../lib/kubernetes/sim-kubelet.js';
import { socketDir } from '../fixtures/kubelet/node.js';
import { freePort } from '../helpers/ports.js';

const CATASTROPHIC = ['^(.|.|.)*!$', '^(a+)+$', '(x+x+)+y', '^(([a-z])+.)+[A-Z]([a-z])+$', '^(\\w+\\s?)*!$', '(.*a){20}'];

/** 40 GPUs × 250 pods = 10,000 pods of 19 characters in namespace "victim", plus one tenant's pod. */
function bigDocument() {
  const gpus = [];
  for (let g = 0; g < 40; g++) {
    const pods = [];
    for (let i = 0; i < 250; i++) pods.push(pod('victim', `a${String(g * 250 + i).padStart(18, 'a')}`));
    gpus.push(gpu(g, { DCGM_FI_DEV_GPU_UTIL: 50 }, pods));
  }
  gpus.push(gpu(40, { DCGM_FI_DEV_GPU_UTIL: 70 }, [pod('tenant', 'web-5d8-aaaaa')]));
  return gpusDoc('node-big', gpus);
}

/** Polls `probe` every 25 ms while `during` runs; returns the slowest answer and the failures. */
async function watch(probe: () => Promise<boolean>, during: Promise<unknown>): Promise<{ slowest: number; failed: number; n: number }> {
  let done = false;
  void during.finally(() => (done = true));
  let slowest = 0;
  let failed = 0;
  let n = 0;
  while (!done) {
    const t0 = performance.now();
    const ok = await probe().catch(() => false);
    slowest = Math.max(slowest, performance.now() - t0);
    n++;
    if (!ok) failed++;
    await new Promise((r) => setTimeout(r, 25));
  }
  return { slowest, failed, n };
}

t.test('catastrophic patterns over a 10,000-pod document: /health and other RPCs answer within 1.5 s meanwhile (a bound for a loaded 2-core machine; before the fix they stalled for minutes)', async (t) => {
  const ex = await startExporter(bigDocument());
  const scaler = await startTestScaler({ exporters: [ex.address], pullIntervalMs: 500, pullTimeoutMs: 2000, staleAfterMs: 60000 });
  const client = scalerClient(`127.0.0.1:${scaler.grpcPort}`);
  t.teardown(async () => {
    client.close();
    await scaler.close();
    await ex.close();
  });
  await until(() => scaler.view.documents().length === 1, 'the big document in view');

  const ref = (pattern: string): Ref => ({ name: 'x', namespace: 'victim', scalerMetadata: { podNamePattern: pattern } });
  const t0 = performance.now();
  const attack = Promise.all(
    CATASTROPHIC.flatMap((p) => [client.getMetrics(ref(p)), client.isActive(ref(p)), client.getMetrics(ref(p))]),
  );
  const health = watch(async () => (await fetch(`http://127.0.0.1:${scaler.httpPort}/health`)).ok, attack);
  const tenant = watch(async () => {
    const [v] = await client.getMetrics({ name: 'web', namespace: 'tenant', scalerMetadata: { deployment: 'web' } });
    return v!.metricValueFloat === 70;
  }, attack);
  const results = await attack;
  const took = performance.now() - t0;
  const h = await health;
  const o = await tenant;
  t.ok(took < 20000, `${results.length} attacking RPCs over 10,000 pods finished in ${took.toFixed(0)} ms`);
  t.ok(results.every((r) => Array.isArray(r) ? r[0]!.metricValueFloat === 0 : r === false), 'every attacking RPC answered (no pod matches)');
  t.equal(h.failed, 0, `/health: ${h.n} probes, none failed`);
  t.ok(h.slowest < 1500, `/health slowest ${h.slowest.toFixed(0)} ms`);
  t.equal(o.failed, 0, `another tenant's GetMetrics: ${o.n} calls, all right`);
  t.ok(o.slowest < 1500, `another tenant's GetMetrics slowest ${o.slowest.toFixed(0)} ms`);

  // a pattern that matches does match (RE2 semantics, unanchored search like RegExp.test)
  const [all] = await client.getMetrics(ref('^a+\\d*a*\\d+$'));
  t.equal(all!.metricValueFloat, 40 * 50, 'the 40 GPUs of the 10,000 pods: 40 units × average 50');
});

t.test('patterns RE2 cannot run in linear time, or too long or too large, are INVALID_ARGUMENT naming the limit', async (t) => {
  const ex = await startExporter(gpusDoc('n', [gpu(0, { DCGM_FI_DEV_GPU_UTIL: 1 }, [pod('ns', 'p-1')])]));
  const scaler = await startTestScaler({ exporters: [ex.address], pullIntervalMs: 200, pullTimeoutMs: 150 });
  const client = scalerClient(`127.0.0.1:${scaler.grpcPort}`);
  t.teardown(async () => {
    client.close();
    await scaler.close();
    await ex.close();
  });
  const cases: [string, RegExp][] = [
    ['(?=a)b', /RE2 syntax, without lookaround or backreferences/],
    ['(a)\\1', /RE2 syntax/],
    ['a'.repeat(513), /at most 512 characters \(got 513\)/],
    ['[a-z]{1,1000}[0-9]{1,1000}[a-f]{1,1000}', /compiles to \d+ instructions, more than the 4096 accepted/],
  ];
  for (const [p, re] of cases) {
    const err = await client.isActive({ name: 'x', namespace: 'ns', scalerMetadata: { podNamePattern: p } }).then(() => null, (e: grpc.ServiceError) => e);
    t.equal(err?.code, grpc.status.INVALID_ARGUMENT, `${p.slice(0, 40)}: INVALID_ARGUMENT`);
    t.match(err?.details ?? '', re);
  }
});

t.test('node-local mode: catastrophic patterns do not stop the exporter\'s own /metrics', async (t) => {
  const uuid = 'GPU-11111111-2222-4333-8444-555555555555';
  const { socket, cleanup } = socketDir();
  const names = Array.from({ length: 200 }, (_, i) => `a${String(i).padStart(18, 'a')}`);
  const sim = await startSimKubelet(socket, {
    pods: names.map((n) => ({ namespace: 'victim', name: n, containers: [{ name: 'c', devices: [{ resource: 'nvidia.com/gpu', ids: [uuid] }] }] })),
  });
  const grpcPort = await freePort();
  const exp = await startRealExporter({
    scenario: { gpus: [{ uuid, values: { gpuUtil: 60 } }] },
    args: ['-c', '200', '-k', '--pod-resources-kubelet-socket', socket, '--keda-scaler-address', `127.0.0.1:${grpcPort}`],
  });
  const client = scalerClient(`127.0.0.1:${grpcPort}`);
  t.teardown(async () => {
    client.close();
    await exp.stop();
    await sim.stop();
    cleanup();
  });
  await until(async () => (await (await fetch(exp.url + '/metrics')).text()).includes('pod="a'), 'pods in the page');
  const attack = Promise.all(CATASTROPHIC.map((p) => client.getMetrics({ name: 'x', namespace: 'victim', scalerMetadata: { podNamePattern: p } })));
  const m = await watch(async () => (await fetch(exp.url + '/metrics')).ok, attack);
  await attack;
  t.equal(m.failed, 0, `/metrics: ${m.n} scrapes during the attack, none failed`);
  t.ok(m.slowest < 1000, `/metrics slowest ${m.slowest.toFixed(0)} ms`);
});
