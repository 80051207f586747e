// The PodAttributor against a simulated kubelet over a real unix socket: the map it keeps, how it
// follows the kubelet, and what it does when the kubelet misbehaves.
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { PodAttributor, type PodAttributorOptions } from '../../lib/kubernetes/attribution.js';
import { demoPods, startSimKubelet, type SimKubeletScenario, type SimPod } from '../../lib/kubernetes/sim-kubelet.js';
import type { Logger } from '../../lib/logger.js';
import { GPU0, GPU1, GPU2, GPU3, MIG_GI5, nodeSweep, socketDir, waitFor } from '../fixtures/kubelet/node.js';

const sweep = nodeSweep();

function pod(name: string, resource: string, ...ids: string[]): SimPod {
  return { namespace: 'ml', name, containers: [{ name: 'main', devices: [{ resource, ids }] }] };
}

function captureLogger(): Logger & { lines: { level: string; msg: string; fields?: Record<string, unknown> }[] } {
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** The pods on each GPU/MIG UUID, as `ns/pod[:vgpu]`. */
function podsOf(a: PodAttributor): Record<string, string[]> | null {
  const m = a.current();
  if (!m) return null;
  const out: Record<string, string[]> = {};
  for (const [uuid, attrs] of m.byUuid) out[uuid] = attrs.map((x) => `${x.namespace}/${x.pod}${x.vgpu !== undefined ? ':' + x.vgpu : ''}`);
  return out;
}

async function setup(t: { teardown(fn: () => unknown): void }, scenario: SimKubeletScenario | null, opts: Partial<PodAttributorOptions> = {}) {
  const { socket, cleanup } = socketDir();
  const sim = scenario ? await startSimKubelet(socket, scenario) : null;
  const logger = captureLogger();
  const attributor = new PodAttributor({ socketPath: socket, getSweep: () => sweep, logger, deadlineMs: 2000, minGapMs: 100, ...opts });
  t.teardown(async () => {
    attributor.stop();
    await sim?.stop();
    cleanup();
  });
  return { socket, sim, logger, attributor };
}

t.test('the map follows the kubelet: demo pods, a pod that ends, a pod that moves', async (t) => {
  const { sim, attributor, logger } = await setup(t, demoPods([GPU0, GPU1, GPU2, GPU3]));
  t.equal(attributor.current(), null, 'nothing before the first refresh');
  await attributor.start();
  const first = podsOf(attributor)!;
  t.same(Object.keys(first).sort(), [GPU0, GPU1, GPU2].sort(), 'GPU3 is unallocated');
  t.equal(first[GPU0]?.length, 1);
  t.match(first[GPU0]?.[0], /^ha-test-namespace\/hpa-test-7d468b4969-[a-z0-9]{5}$/);
  t.same(first[GPU2]?.map((p) => p.split(':')[1]).sort(), ['0', '1'], 'GPU2 is shared by two pods, replicas 0 and 1');
  t.equal(attributor.status().up, true);
  t.type(attributor.status().lastSuccessMs, 'number');
  const alloc = logger.lines.find((l) => l.msg === 'kubelet allocatable GPU devices');
  t.ok(alloc, 'the allocatable devices were logged');
  t.same((alloc?.fields?.resources as Record<string, string[]>)['nvidia.com/gpu']?.length, 5);
  t.same(alloc?.fields?.unknownToNvml, []);
  t.equal(sim!.calls.GetAllocatableResources, 1);

  sim!.setScenario({ pods: [pod('trainer', 'nvidia.com/gpu', GPU1), pod('notebook', 'nvidia.com/mig-1g.10gb', MIG_GI5)] });
  await attributor.requestRefresh();
  t.same(podsOf(attributor), { [GPU1]: ['ml/trainer'], [MIG_GI5]: ['ml/notebook'] }, 'ended pods are gone, new ones are there');

  sim!.setScenario({ pods: [pod('trainer', 'nvidia.com/gpu', GPU3)] });
  await attributor.requestRefresh();
  t.same(podsOf(attributor), { [GPU3]: ['ml/trainer'] }, 'a pod that moved to another GPU is followed');
  t.equal(sim!.calls.GetAllocatableResources, 1, 'GetAllocatableResources once per connection');
});

t.test('the interval refreshes on its own', async (t) => {
  const { sim, attributor } = await setup(t, { pods: [pod('a', 'nvidia.com/gpu', GPU0)] }, { refreshIntervalMs: 50, minGapMs: 10 });
  void attributor.start();
  await waitFor(() => sim!.calls.List >= 4, 'four interval refreshes');
  sim!.setScenario({ pods: [pod('b', 'nvidia.com/gpu', GPU0)] });
  const seen = sim!.calls.List;
  await waitFor(() => sim!.calls.List > seen + 1, 'two more refreshes');
  t.same(podsOf(attributor), { [GPU0]: ['ml/b'] }, 'a change is picked up without anyone asking');
});

t.test('on-demand refreshes are coalesced: many scrapers, a bounded number of kubelet calls', async (t) => {
  const { sim, attributor } = await setup(t, { pods: [pod('a', 'nvidia.com/gpu', GPU0)] }, { refreshIntervalMs: 60_000, minGapMs: 200 });
  await attributor.start();
  const start = sim!.calls.List;
  t.equal(start, 1, 'start() made one call');
  await Promise.all(Array.from({ length: 100 }, () => attributor.requestRefresh()));
  const more = sim!.calls.List - start;
  t.ok(more >= 1 && more <= 2, `100 concurrent requests made ${more} call(s): one, or two when one was already running`);
  // scrapers hammering requestRefresh for a while: calls stay within one per minGapMs
  const before = sim!.calls.List;
  const t0 = Date.now();
  let requests = 0;
  while (Date.now() - t0 < 1000) {
    for (let i = 0; i < 20; i++, requests++) void attributor.requestRefresh();
    await new Promise((r) => setTimeout(r, 5));
  }
  await attributor.requestRefresh();
  const elapsed = Date.now() - t0;
  const made = sim!.calls.List - before;
  t.ok(made >= 1, 'the requests were served');
  t.ok(made <= Math.floor(elapsed / 200) + 2, `${requests} requests over ${elapsed} ms → ${made} kubelet calls (≤ one per 200 ms)`);
});

t.test('socket missing at start, then the kubelet appears', async (t) => {
  const { socket, attributor } = await setup(t, null);
  await attributor.start();
  t.equal(attributor.current(), null);
  const st = attributor.status();
  t.equal(st.up, false);
  t.equal(st.errorsByReason.socket_missing, 1);
  t.match(st.lastError, { reason: 'socket_missing', message: /does not exist/ });
  const sim = await startSimKubelet(socket, { pods: [pod('late', 'nvidia.com/gpu', GPU1)] });
  t.teardown(() => sim.stop());
  await attributor.requestRefresh();
  t.same(podsOf(attributor), { [GPU1]: ['ml/late'] });
  t.equal(attributor.status().up, true);
  t.equal(attributor.status().errorsByReason.socket_missing, 1, 'failures since start stay counted');
  t.equal(attributor.status().lastError?.reason, 'socket_missing', 'and the last failure stays readable');
});

t.test('a kubelet restart with a replaced socket: reconnects and the map follows', async (t) => {
  const { sim, attributor, logger } = await setup(t, { pods: [pod('a', 'nvidia.com/gpu', GPU0)] });
  await attributor.start();
  t.same(podsOf(attributor), { [GPU0]: ['ml/a'] });
  sim!.setScenario({ pods: [pod('a', 'nvidia.com/gpu', GPU0), pod('b', 'nvidia.com/gpu', GPU1)] });
  await sim!.restart({ downMs: 20 });
  await attributor.requestRefresh();
  t.same(podsOf(attributor), { [GPU0]: ['ml/a'], [GPU1]: ['ml/b'] });
  t.equal(sim!.calls.GetAllocatableResources, 2, 'allocatable devices read again after the reconnect');
  t.equal(logger.lines.filter((l) => l.msg === 'kubelet allocatable GPU devices').length, 2);
});

t.test('a hanging List: deadline, the last good map is kept within staleAfterMs, then dropped', async (t) => {
  let clock = 1_000_000;
  const good = { pods: [pod('a', 'nvidia.com/gpu', GPU0)] };
  const { sim, attributor } = await setup(t, good, { deadlineMs: 150, staleAfterMs: 60_000, now: () => clock });
  await attributor.start();
  t.equal(attributor.status().lastSuccessMs, clock);
  sim!.setScenario({ ...good, list: { delayMs: Infinity } });
  clock += 10_000;
  await attributor.requestRefresh();
  t.equal(attributor.status().up, false);
  t.equal(attributor.status().errorsByReason.deadline, 1);
  t.same(podsOf(attributor), { [GPU0]: ['ml/a'] }, 'still answers with the last good map');
  t.equal(attributor.current()?.updatedAt, 1_000_000, 'which says when it was read');
  clock += 50_001;
  t.equal(attributor.current(), null, 'past staleAfterMs the map is dropped');
  sim!.setScenario(good);
  await attributor.requestRefresh();
  t.same(podsOf(attributor), { [GPU0]: ['ml/a'] }, 'and comes back with the kubelet');
  t.equal(attributor.status().up, true);
});

t.test('RESOURCE_EXHAUSTED, malformed answers and UNIMPLEMENTED keep the map and set the reason', async (t) => {
  const good = { pods: [pod('a', 'nvidia.com/gpu', GPU0)] };
  const { sim, attributor, logger } = await setup(t, good);
  await attributor.start();
  const cases: [SimKubeletScenario['list'], string][] = [
    [{ error: { code: grpc.status.RESOURCE_EXHAUSTED, message: 'rejected by rate limit' } }, 'resource_exhausted'],
    [{ malformed: true }, 'malformed'],
    [{ error: { code: grpc.status.UNIMPLEMENTED, message: 'unknown method List' } }, 'unimplemented'],
  ];
  for (const [list, reason] of cases) {
    sim!.setScenario({ ...good, list });
    await attributor.requestRefresh();
    const st = attributor.status();
    t.equal(st.up, false, reason);
    t.equal(st.errorsByReason[reason], 1, `${reason} counted`);
    t.equal(st.lastError?.reason, reason);
    t.same(podsOf(attributor), { [GPU0]: ['ml/a'] }, `${reason}: current() still answers`);
  }
  t.ok(logger.lines.some((l) => l.level === 'warn' && /resource_exhausted/.test(l.msg)), 'the failure was logged');
  sim!.setScenario(good);
  await attributor.requestRefresh();
  t.equal(attributor.status().up, true);
  t.ok(logger.lines.some((l) => l.msg === 'kubelet pod-resources answers again'));
});

t.test('GetAllocatableResources failing does not stop attribution', async (t) => {
  const { attributor, logger } = await setup(t, {
    pods: [pod('a', 'nvidia.com/gpu', GPU0)],
    getAllocatableResources: { error: { code: grpc.status.UNIMPLEMENTED, message: 'old kubelet' } },
  });
  await attributor.start();
  t.same(podsOf(attributor), { [GPU0]: ['ml/a'] });
  t.equal(attributor.status().up, true);
  t.match(logger.lines.find((l) => /GetAllocatableResources failed/.test(l.msg))?.fields, { error: /UNIMPLEMENTED: old kubelet/ });
});

t.test('IDs matching no GPU are counted once each and ignored', async (t) => {
  const { attributor, logger } = await setup(t, {
    pods: [pod('a', 'nvidia.com/gpu', GPU0, 'GPU-00000000-1111-2222-3333-444444444444', 'nvidia9'), pod('x', 'example.com/fpga', 'fpga0')],
  });
  await attributor.start();
  t.same(podsOf(attributor), { [GPU0]: ['ml/a'] });
  t.equal(attributor.status().unmatchedDeviceIds, 2, 'two GPU IDs unknown here; the fpga is not a GPU resource');
  await attributor.requestRefresh();
  t.equal(attributor.status().unmatchedDeviceIds, 2, 'the same IDs are not counted again');
  t.equal(logger.lines.filter((l) => /matches no GPU/.test(l.msg)).length, 2);
});

t.test('singlePod and extra resource names reach the matching', async (t) => {
  const { attributor } = await setup(
    t,
    { pods: [pod('z', 'nvidia.com/gpu', `${GPU0}::1`), pod('y', 'nvidia.com/gpu', `${GPU0}::0`), pod('f', 'example.com/gpu', GPU1)] },
    { singlePod: true, extraResourceNames: ['example.com/gpu'] },
  );
  await attributor.start();
  t.same(podsOf(attributor), { [GPU0]: ['ml/y'], [GPU1]: ['ml/f'] });
});

t.test('--kubernetes-gpu-id-type reaches the matching; an ID of the other form is counted and logged once with a hint', async (t) => {
  const scenario = { pods: [pod('by-name', 'nvidia.com/gpu', 'nvidia1'), pod('by-uuid', 'nvidia.com/gpu', GPU0), pod('mig', 'nvidia.com/mig-1g.10gb', MIG_GI5)] };
  const hinted = (logger: ReturnType<typeof captureLogger>, id: string) =>
    logger.lines.filter((l) => l.level === 'warn' && l.fields?.deviceId === id && /matches no GPU/.test(l.msg));

  const uid = await setup(t, scenario); // the default: uid
  await uid.attributor.start();
  await uid.attributor.requestRefresh();
  t.same(podsOf(uid.attributor), { [GPU0]: ['ml/by-uuid'], [MIG_GI5]: ['ml/mig'] }, 'uid: UUIDs match, nvidia1 does not');
  t.equal(uid.attributor.status().unmatchedDeviceIds, 1);
  t.same(hinted(uid.logger, 'nvidia1').map((l) => l.msg), [
    'kubelet device ID matches no GPU or MIG instance on this node: device ID nvidia1 looks like a device name; run with --kubernetes-gpu-id-type device-name',
  ], 'logged once, with the flag value to use');
  const alloc = uid.logger.lines.find((l) => l.msg === 'kubelet allocatable GPU devices');
  t.same(alloc?.fields?.unknownToNvml, ['nvidia1'], 'the allocatable log follows the id type too');

  const name = await setup(t, scenario, { gpuIdType: 'device-name' });
  await name.attributor.start();
  await name.attributor.requestRefresh();
  t.same(podsOf(name.attributor), { [GPU1]: ['ml/by-name'], [MIG_GI5]: ['ml/mig'] }, 'device-name: nvidia1 matches, the GPU UUID does not');
  t.equal(name.attributor.status().unmatchedDeviceIds, 1);
  t.same(hinted(name.logger, GPU0).map((l) => l.msg), [
    `kubelet device ID matches no GPU or MIG instance on this node: device ID ${GPU0} looks like a GPU UUID; run with --kubernetes-gpu-id-type uid`,
  ]);
  t.throws(() => new PodAttributor({ getSweep: () => null, gpuIdType: 'index' as never }), /gpuIdType must be uid or device-name, got index/);
});

t.test('a pod or container without a name is dropped as malformed; the rest of the answer is used', async (t) => {
  const unnamedContainer: SimPod = {
    namespace: 'ml',
    name: 'two-containers',
    containers: [
      { name: '', devices: [{ resource: 'nvidia.com/gpu', ids: [GPU2] }] },
      { name: 'main', devices: [{ resource: 'nvidia.com/gpu', ids: [GPU3] }] },
    ],
  };
  const { attributor, logger } = await setup(t, {
    pods: [pod('a', 'nvidia.com/gpu', GPU0), pod('', 'nvidia.com/gpu', GPU1), { ...pod('no-ns', 'nvidia.com/gpu', GPU1), namespace: '' }, unnamedContainer],
  });
  await attributor.start();
  t.same(podsOf(attributor), { [GPU0]: ['ml/a'], [GPU3]: ['ml/two-containers'] }, 'the valid pods and containers are attributed');
  let st = attributor.status();
  t.equal(st.up, true, 'the refresh succeeded');
  t.equal(st.errorsByReason.malformed, 3, 'one malformed error per dropped entry');
  const logged = () => logger.lines.filter((l) => l.level === 'warn' && /entry dropped \(malformed\)/.test(l.msg)).map((l) => l.msg);
  t.equal(logged().length, 3);
  t.match(logged()[0], 'pod "ml"/"" has an empty name; the pod is left out');
  t.match(logged()[1], 'pod ""/"no-ns" has an empty namespace');
  t.match(logged()[2], 'pod "ml"/"two-containers" has a container with an empty name');
  await attributor.requestRefresh();
  st = attributor.status();
  t.equal(st.errorsByReason.malformed, 6, 'counted again on the next refresh that meets them');
  t.equal(logged().length, 3, 'but logged once');
});

t.test('stop: no more calls, a hanging call is abandoned, requestRefresh answers at once', async (t) => {
  const { sim, attributor } = await setup(t, { pods: [], list: { delayMs: Infinity } }, { deadlineMs: 60_000 });
  void attributor.start();
  await waitFor(() => sim!.calls.List === 1, 'the first call to arrive');
  attributor.stop();
  await attributor.requestRefresh();
  t.equal(sim!.calls.List, 1);
  t.same(attributor.status().errorsByReason, {}, 'the cancelled call is not a kubelet failure');
});

t.test('bad options are refused with a clear message', async (t) => {
  t.throws(() => new PodAttributor({ getSweep: () => null, staleAfterMs: -1 }), /staleAfterMs must be a positive number of ms, got -1/);
  t.throws(() => new PodAttributor({} as PodAttributorOptions), /needs getSweep/);
});
