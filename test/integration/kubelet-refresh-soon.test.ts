// PodAttributor.refreshSoon, what every scrape calls, against a simulated kubelet: however often
// it is called the kubelet sees at most about one List per minGapMs; a pod scheduled meanwhile
// shows up within about that long, without waiting for the refresh interval; stop() cancels it.
import t from 'tap';
import { PodAttributor, type PodAttributorOptions } from '../../lib/kubernetes/attribution.js';
import { startSimKubelet, type SimKubeletScenario, type SimPod } from '../../lib/kubernetes/sim-kubelet.js';
import { GPU0, GPU1, nodeSweep, socketDir, waitFor } from '../fixtures/kubelet/node.js';

const sweep = nodeSweep();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pod(name: string, id: string): SimPod {
  return { namespace: 'ml', name, containers: [{ name: 'main', devices: [{ resource: 'nvidia.com/gpu', ids: [id] }] }] };
}

/** An attributor with a 60 s interval and the default minGapMs (1000 ms) unless `opts` says otherwise. */
async function setup(t: { teardown(fn: () => unknown): void }, scenario: SimKubeletScenario, opts: Partial<PodAttributorOptions> = {}) {
  const { socket, cleanup } = socketDir();
  const sim = await startSimKubelet(socket, scenario);
  const attributor = new PodAttributor({ socketPath: socket, getSweep: () => sweep, deadlineMs: 2000, refreshIntervalMs: 60_000, ...opts });
  t.teardown(async () => {
    attributor.stop();
    await sim.stop();
    cleanup();
  });
  return { sim, attributor };
}

const podsOn = (a: PodAttributor, uuid: string): string[] => a.current()?.byUuid.get(uuid)?.map((x) => x.pod) ?? [];

t.test('a burst of scrapes: thousands of refreshSoon calls over 2.5 s make 2 to 4 List calls', async (t) => {
  const { sim, attributor } = await setup(t, { pods: [pod('a', GPU0)] });
  await attributor.start();
  t.equal(sim.calls.List, 1, 'start() made one call');
  const before = sim.calls.List;
  const t0 = Date.now();
  let calls = 0;
  let returned: unknown;
  while (Date.now() - t0 < 2500) {
    for (let i = 0; i < 200; i++, calls++) returned ??= attributor.refreshSoon() as unknown;
    await sleep(2);
  }
  t.equal(returned, undefined, 'refreshSoon returns nothing to wait on');
  await sleep(200); // a call started at the end of the burst has answered
  const made = sim.calls.List - before;
  t.ok(calls >= 2000, `${calls} refreshSoon calls`);
  t.ok(made >= 2 && made <= 4, `${calls} refreshSoon calls over ${Date.now() - t0} ms made ${made} List calls (want 2 to 4)`);
  t.equal(attributor.status().up, true);
});

t.test('a pod added to the kubelet is seen after refreshSoon, long before the interval', async (t) => {
  const { sim, attributor } = await setup(t, { pods: [pod('a', GPU0)] });
  await attributor.start();
  t.same(podsOn(attributor, GPU1), [], 'GPU1 has no pod yet');
  sim.setScenario({ pods: [pod('a', GPU0), pod('new', GPU1)] });
  const t0 = Date.now();
  // a poller every 50 ms (KEDA's scaler polls every 500 ms): each poll reads current() and asks for a refresh
  await waitFor(() => (attributor.refreshSoon(), podsOn(attributor, GPU1).length > 0), 'the new pod', 5000);
  const took = Date.now() - t0;
  t.same(podsOn(attributor, GPU1), ['new']);
  t.ok(took < 3000, `seen after ${took} ms (about minGapMs, not the 60 s interval)`);
  t.ok(sim.calls.List <= 3, `${sim.calls.List} List calls in all`);
});

t.test('a refreshSoon while a call is in flight: exactly one more call follows it', async (t) => {
  const { sim, attributor } = await setup(t, { pods: [pod('a', GPU0)], list: { delayMs: 300 } }, { minGapMs: 100 });
  void attributor.start();
  await waitFor(() => sim.calls.List === 1, 'the first call to arrive');
  sim.setScenario({ pods: [pod('b', GPU0)] });
  for (let i = 0; i < 1000; i++) attributor.refreshSoon();
  await waitFor(() => sim.calls.List === 2, 'the follow-up call');
  await waitFor(() => podsOn(attributor, GPU0)[0] === 'b', 'its answer');
  await sleep(400);
  t.equal(sim.calls.List, 2, 'one follow-up for a thousand requests, then nothing until the interval');
});

t.test('refreshSoon after a quiet spell refreshes at once', async (t) => {
  const { sim, attributor } = await setup(t, { pods: [pod('a', GPU0)] }, { minGapMs: 50 });
  await attributor.start();
  await sleep(100);
  sim.setScenario({ pods: [pod('b', GPU0)] });
  attributor.refreshSoon();
  t.equal(sim.calls.List, 1, 'nothing was waited for: the call is still on its way');
  await waitFor(() => sim.calls.List === 2, 'the call');
  await waitFor(() => podsOn(attributor, GPU0)[0] === 'b', 'its answer');
});

t.test('stop() cancels a refresh that refreshSoon arranged; refreshSoon does nothing before start or after stop', async (t) => {
  const { sim, attributor } = await setup(t, { pods: [pod('a', GPU0)] });
  attributor.refreshSoon();
  await sleep(50);
  t.equal(sim.calls.List, 0, 'not started: no call');
  await attributor.start();
  attributor.refreshSoon(); // within minGapMs of the first call: arranged for when the gap ends
  attributor.stop();
  await sleep(1300);
  t.equal(sim.calls.List, 1, 'the arranged refresh never ran');
  attributor.refreshSoon();
  await sleep(50);
  t.equal(sim.calls.List, 1, 'stopped: no call');
});

t.test('an unchanged answer keeps the same pod map object (no re-render); a changed one replaces it', async (t) => {
  const { sim, attributor } = await setup(t, { pods: [pod('a', GPU0)] }, { minGapMs: 50 });
  await attributor.start();
  const first = attributor.current();
  t.ok(first, 'a map after start');
  await attributor.requestRefresh();
  await attributor.requestRefresh();
  t.equal(sim.calls.List, 3, 'two more List calls were made');
  t.equal(attributor.current(), first, 'the same answer: the same map object');
  sim.setScenario({ pods: [pod('a', GPU0), pod('b', GPU1)] });
  await attributor.requestRefresh();
  const second = attributor.current();
  t.not(second, first, 'a changed answer: a new map');
  t.same(podsOn(attributor, GPU1), ['b']);
  sim.setScenario({ pods: [pod('a', GPU0)] });
  await attributor.requestRefresh();
  t.not(attributor.current(), second, 'the pod that ended is gone from a new map');
  t.same(podsOn(attributor, GPU1), []);
});

t.test('samePlainData: deep equality of decoded data', async (t) => {
  const { samePlainData } = await import('../../lib/kubernetes/attribution.js');
  t.ok(samePlainData({ a: [1, 'x', { b: null }] }, { a: [1, 'x', { b: null }] }));
  t.notOk(samePlainData({ a: [1, 'x'] }, { a: [1, 'y'] }));
  t.notOk(samePlainData({ a: [1] }, { a: [1, 2] }));
  t.notOk(samePlainData({ a: 1 }, { a: 1, b: undefined }));
  t.notOk(samePlainData({ a: 1, c: 2 }, { a: 1, b: 2 }));
  t.notOk(samePlainData([], {}));
  t.notOk(samePlainData({}, []));
  t.notOk(samePlainData({ a: null }, { a: {} }));
  t.ok(samePlainData('s', 's'));
  t.notOk(samePlainData('1', 1));
});
