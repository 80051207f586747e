// A misbehaving kubelet, seen through the real `nvml-exporter -k` command's /metrics: the socket
// missing at start, a kubelet restart (socket file replaced), a List that hangs (deadline),
// RESOURCE_EXHAUSTED, a malformed answer, device IDs that match no GPU. In every case /metrics
// keeps answering 200 with the GPU series (with the last good pod map, or without pod labels),
// and the podresources self-metrics say what happened.
//
// The hang case runs with the default per-call deadline (10 s, --pod-resources-timeout), and the
// failure cases with the default time the last good map outlives failures (60 s,
// --pod-resources-stale-after), so they show the map being kept, not dropped; other tests set both.
import t, { type Test } from 'tap';
import * as grpc from '@grpc/grpc-js';
import { startSimKubelet, type SimKubelet, type SimKubeletScenario, type SimPod } from '../../lib/kubernetes/sim-kubelet.js';
import { scrape, startExporter, samplesOf, valueOf, waitUntil, type RunningExporter, type Sample, untilServing } from '../helpers/exporter.js';
import type { Scenario } from '../../lib/nvml/scenario.js';
import { socketDir } from '../fixtures/kubelet/node.js';

const UUIDS = [
  'GPU-a0000000-1111-4222-8333-444444444444',
  'GPU-b0000000-1111-4222-8333-444444444444',
  'GPU-c0000000-1111-4222-8333-444444444444',
];
const NVML: Scenario = { gpus: UUIDS.map((uuid, i) => ({ uuid, values: { gpuUtil: 10 * (i + 1) } })) };

function pod(name: string, ...ids: string[]): SimPod {
  return { namespace: 'ml', name, containers: [{ name: 'main', devices: [{ resource: 'nvidia.com/gpu', ids }] }] };
}
/** GPU 0 → ml/trainer-0, GPU 1 → ml/server-1, GPU 2 unallocated */
const PODS: SimKubeletScenario = { pods: [pod('trainer-0', UUIDS[0]!), pod('server-1', UUIDS[1]!)] };

/** `namespace/pod/container` of each GPU's utilization series ('' without pod labels). */
function podsByGpu(s: Sample[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const x of samplesOf(s, 'DCGM_FI_DEV_GPU_UTIL')) {
    const l = x.labels;
    out[l.gpu!] = l.pod === undefined && l.namespace === undefined && l.container === undefined ? '' : `${l.namespace}/${l.pod}/${l.container}`;
  }
  return out;
}
const LABELLED = { '0': 'ml/trainer-0/main', '1': 'ml/server-1/main', '2': '' };
const UNLABELLED = { '0': '', '1': '', '2': '' };

const up = (s: Sample[]) => valueOf(s, 'nvml_exporter_podresources_up');
const errors = (s: Sample[], reason: string) => valueOf(s, 'nvml_exporter_podresources_refresh_errors_total', { reason }) ?? 0;
const age = (s: Sample[]) => valueOf(s, 'nvml_exporter_pod_map_age_seconds');

async function setup(t: Test, scenario: SimKubeletScenario | null, extraArgs: string[] = []): Promise<{ exp: RunningExporter; sim: SimKubelet | null; socket: string }> {
  const { socket, cleanup } = socketDir();
  const sim = scenario ? await startSimKubelet(socket, scenario) : null;
  const exp = await startExporter({
    scenario: NVML,
    args: ['-c', '200', '-k', '--pod-resources-kubelet-socket', socket, '--pod-resources-refresh-interval', '200', ...extraArgs],
  });
  t.teardown(async () => {
    await exp.stop();
    await sim?.stop();
    cleanup();
  });
  return { exp, sim, socket };
}

/** Scrapes until `cond` holds on the page; returns that page. Every scrape must be a 200 with all three GPUs. */
const until = (t: Test, exp: RunningExporter, cond: (s: Sample[]) => boolean, what: string, limitMs = 15000) => untilServing(t, exp, 3, cond, what, limitMs);

t.test('socket missing at start: GPU series without pod labels, up 0, socket_missing; labels once the kubelet appears', async (t) => {
  const { exp, socket } = await setup(t, null);
  const s = (await scrape(exp.url)).samples;
  t.same(podsByGpu(s), UNLABELLED, 'all GPUs reported, none with pod labels');
  t.equal(up(s), 0);
  t.ok(errors(s, 'socket_missing') >= 1, 'refresh errors {reason="socket_missing"}');
  t.equal(age(s), undefined, 'no map yet: no age sample (not a 0 that would claim a fresh map)');
  t.equal(valueOf(s, 'DCGM_FI_DEV_GPU_UTIL', { gpu: '1' }), 20);
  t.match(exp.stderr(), /pod-resources refresh failed \(socket_missing\)/);

  const sim = await startSimKubelet(socket, PODS);
  t.teardown(() => sim.stop());
  const after = await until(t, exp, (x) => up(x) === 1, 'up 1 once the kubelet appears');
  t.same(podsByGpu(after), LABELLED, 'pod labels on the allocated GPUs only');
  t.ok(age(after)! <= 2, `a fresh map: ${age(after)} s`);
  t.ok(errors(after, 'socket_missing') >= 1, 'the counter keeps what happened');
});

t.test('kubelet restart (socket file replaced): last good map kept while it is down, then reconnect and new data', async (t) => {
  const { exp, sim } = await setup(t, PODS);
  const first = await until(t, exp, (x) => up(x) === 1, 'up 1');
  t.same(podsByGpu(first), LABELLED);
  t.equal(sim!.calls.GetAllocatableResources, 1, 'GetAllocatableResources once at start');

  // the kubelet goes away for 2.5 s and comes back with server-1 moved to GPU 2
  sim!.setScenario({ pods: [pod('trainer-0', UUIDS[0]!), pod('server-1', UUIDS[2]!)] });
  const restarting = sim!.restart({ downMs: 2500 });
  const down = await until(t, exp, (x) => up(x) === 0, 'up 0 while the socket is gone');
  t.same(podsByGpu(down), LABELLED, 'the last good map is kept meanwhile');
  t.ok(errors(down, 'socket_missing') + errors(down, 'unavailable') >= 1, 'counted as socket_missing or unavailable');
  await restarting;
  const back = await until(t, exp, (x) => up(x) === 1, 'up 1 after the restart');
  const moved = await until(t, exp, (x) => podsByGpu(x)['2'] === 'ml/server-1/main', 'the new allocation');
  t.same(podsByGpu(moved), { '0': 'ml/trainer-0/main', '1': '', '2': 'ml/server-1/main' }, 'the new kubelet’s answer is used');
  t.ok(age(back)! <= 2);
  t.equal(sim!.calls.GetAllocatableResources, 2, 'GetAllocatableResources again on reconnect');

  // a restart that replaces the socket file at once (no gap): the exporter notices the new file
  sim!.setScenario(PODS);
  const before = sim!.calls.List;
  await sim!.restart();
  const again = await until(t, exp, (x) => podsByGpu(x)['1'] === 'ml/server-1/main', 'the answer of the replaced socket');
  t.same(podsByGpu(again), LABELLED);
  t.equal(up(again), 1);
  t.ok(sim!.calls.List > before, 'List reached the new server');
  t.equal(sim!.calls.GetAllocatableResources, 3, 'a new connection again');
});

t.test('a List that hangs: scrapes never wait, the last map is kept, and the deadline is counted', async (t) => {
  const { exp, sim } = await setup(t, PODS);
  await until(t, exp, (x) => up(x) === 1, 'up 1');
  sim!.setScenario({ ...PODS, list: { delayMs: Infinity } }); // never answers
  const hungFrom = Date.now();
  let slowest = 0;
  const page = await waitUntil(async () => {
    const r = await scrape(exp.url);
    slowest = Math.max(slowest, r.ms);
    t.same(podsByGpu(r.samples), LABELLED, 'GPU series with the last good map');
    return errors(r.samples, 'deadline') >= 1 ? r.samples : undefined;
  }, 'a deadline error (default deadline 10 s)', 25000, 250);
  t.ok(Date.now() - hungFrom >= 9000, `the deadline error came after the 10 s deadline (${Date.now() - hungFrom} ms)`);
  t.ok(slowest < 1000, `scrapes answered from memory while the kubelet hung: slowest ${slowest.toFixed(0)} ms`);
  t.equal(up(page), 0);
  t.ok(age(page)! >= 8, `the map's age shows how stale it is: ${age(page)} s`);
  t.same(podsByGpu(page), LABELLED, 'still the last good map (kept for 60 s)');

  // The attributor retries at once after the deadline, so another List is already hanging in the
  // simulated kubelet: restart it (as a recovering kubelet would), which ends that call too.
  sim!.setScenario(PODS);
  await sim!.restart();
  const ok = await until(t, exp, (x) => up(x) === 1, 'up 1 once List answers');
  t.ok(age(ok)! <= 2);
  t.same(podsByGpu(ok), LABELLED);
  t.equal(errors(ok, 'deadline'), errors(page, 'deadline'), 'no further deadline errors');
});

t.test('--pod-resources-timeout and --pod-resources-stale-after: a hang hits the shorter deadline, and the map is dropped after the bound', async (t) => {
  const { exp, sim } = await setup(t, PODS, ['--pod-resources-timeout', '700', '--pod-resources-stale-after', '3000']);
  await until(t, exp, (x) => up(x) === 1, 'up 1');
  t.same(podsByGpu((await scrape(exp.url)).samples), LABELLED);
  sim!.setScenario({ ...PODS, list: { delayMs: Infinity } }); // never answers
  const hungFrom = Date.now();
  const first = await waitUntil(async () => {
    const r = await scrape(exp.url);
    return errors(r.samples, 'deadline') >= 1 ? r.samples : undefined;
  }, 'a deadline error', 6000, 100);
  const took = Date.now() - hungFrom;
  t.ok(took >= 500 && took < 5000, `the deadline error came after about 0.7 s, not the default 10 s (${took} ms)`);
  t.same(podsByGpu(first), LABELLED, 'within the stale bound the last good map is used');
  const dropped = await waitUntil(async () => {
    const r = await scrape(exp.url);
    return podsByGpu(r.samples)['0'] === '' ? r.samples : undefined;
  }, 'pod labels dropped after the stale bound', 10000, 100);
  const droppedAfter = Date.now() - hungFrom;
  t.ok(droppedAfter >= 2500, `labels kept for the 3 s bound, dropped after ${droppedAfter} ms`);
  t.same(podsByGpu(dropped), UNLABELLED, 'every GPU still reported, none with stale labels');
  t.equal(up(dropped), 0);
  sim!.setScenario(PODS);
  await sim!.restart(); // ends the hanging call
  const back = await until(t, exp, (x) => up(x) === 1 && podsByGpu(x)['0'] !== '', 'labels back once List answers');
  t.same(podsByGpu(back), LABELLED);
});

t.test('RESOURCE_EXHAUSTED: counted by reason, up 0, last good map kept; back to up 1', async (t) => {
  const { exp, sim } = await setup(t, PODS);
  await until(t, exp, (x) => up(x) === 1, 'up 1');
  sim!.setScenario({ ...PODS, list: { error: { code: grpc.status.RESOURCE_EXHAUSTED, message: 'rejected by rate limit' } } });
  const down = await until(t, exp, (x) => errors(x, 'resource_exhausted') >= 2, 'two resource_exhausted errors');
  t.equal(up(down), 0);
  t.same(podsByGpu(down), LABELLED, 'the last good map is kept');
  t.ok(age(down)! >= 1, `the map ages: ${age(down)} s`);
  t.equal(errors(down, 'malformed') + errors(down, 'deadline') + errors(down, 'socket_missing'), 0, 'no other reason counted');
  t.match(exp.stderr(), /refresh failed \(resource_exhausted\).*keeping the last pod map/);
  sim!.setScenario(PODS);
  const ok = await until(t, exp, (x) => up(x) === 1, 'up 1 again');
  t.ok(age(ok)! <= 2);
});

t.test('a malformed answer: reason malformed, up 0, last good map kept; back to up 1', async (t) => {
  const { exp, sim } = await setup(t, PODS);
  await until(t, exp, (x) => up(x) === 1, 'up 1');
  sim!.setScenario({ ...PODS, list: { malformed: true } });
  const down = await until(t, exp, (x) => errors(x, 'malformed') >= 1, 'a malformed error');
  t.equal(up(down), 0);
  t.same(podsByGpu(down), LABELLED);
  t.equal(errors(down, 'other'), 0, 'classified as malformed, not other');
  sim!.setScenario({ pods: [pod('trainer-0', UUIDS[0]!)] });
  const ok = await until(t, exp, (x) => up(x) === 1, 'up 1 again');
  const fresh = await until(t, exp, (x) => podsByGpu(x)['1'] === '', 'the pod that ended loses its labels');
  t.same(podsByGpu(fresh), { '0': 'ml/trainer-0/main', '1': '', '2': '' });
  t.ok(age(ok)! <= 2);
});

t.test('device IDs that match no GPU: counted, ignored; the rest is attributed and up stays 1', async (t) => {
  const { exp } = await setup(t, {
    pods: [
      pod('trainer-0', UUIDS[0]!),
      pod('ghost', 'GPU-deadbeef-0000-4000-8000-000000000000', 'MIG-deadbeef-0000-4000-8000-000000000000'),
      { namespace: 'ml', name: 'cpu-only', containers: [{ name: 'main', devices: [{ resource: 'example.com/fpga', ids: ['fpga0'] }] }] },
    ],
  });
  const s = await until(t, exp, (x) => up(x) === 1 && valueOf(x, 'nvml_exporter_podresources_unmatched_device_ids_total') !== undefined, 'up 1');
  t.same(podsByGpu(s), { '0': 'ml/trainer-0/main', '1': '', '2': '' }, 'only the matching ID is attributed');
  t.equal(valueOf(s, 'nvml_exporter_podresources_unmatched_device_ids_total'), 2, 'the two GPU IDs of no GPU here; the FPGA is not a GPU resource');
  t.notOk(s.some((x) => x.labels.pod === 'ghost' || x.labels.pod === 'cpu-only'));
  t.equal(Object.values(samplesOf(s, 'nvml_exporter_podresources_refresh_errors_total')).reduce((n, x) => n + x.value, 0), 0, 'not a refresh error');
  await new Promise((r) => setTimeout(r, 1500));
  const later = (await scrape(exp.url)).samples;
  t.equal(valueOf(later, 'nvml_exporter_podresources_unmatched_device_ids_total'), 2, 'each distinct ID counted once, not per refresh');
  t.match(exp.stderr(), /matches no GPU or MIG instance on this node/);
});
