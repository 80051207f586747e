// The real exporter (dist/, as a child process) on simulated GPUs and a simulated kubelet, with a
// 60 s pod-map interval. The one documented side effect of a read: a /metrics request asks for an
// early kubelet refresh, so a scraper sees a newly scheduled pod's labels within about a second,
// while the kubelet sees at most about one List per second however hard the exporter is scraped.
// Reading /api/v1/gpus has no side effect: it never calls the kubelet.
import t from 'tap';
import { startSimKubelet, type SimPod } from '../../lib/kubernetes/sim-kubelet.js';
import { parseExposition, startExporter } from '../helpers/exporter.js';
import { socketDir } from '../fixtures/kubelet/node.js';
import type { GpusDocument } from '../../lib/contract/gpus-document.js';

const GPU_A = 'GPU-11111111-2222-4333-8444-555555555555';
const GPU_B = 'GPU-66666666-7777-4888-8999-aaaaaaaaaaaa';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pod(name: string, uuid: string): SimPod {
  return { namespace: 'ha-test-namespace', name, containers: [{ name: 'main', devices: [{ resource: 'nvidia.com/gpu', ids: [uuid] }] }] };
}

t.test('/metrics requests trigger early refreshes (about one kubelet call per second); /api/v1/gpus reads never do', async (t) => {
  const { socket, cleanup } = socketDir();
  const sim = await startSimKubelet(socket, { pods: [] });
  const exp = await startExporter({
    scenario: { gpus: [{ uuid: GPU_A, values: { gpuUtil: 30 } }, { uuid: GPU_B, values: { gpuUtil: 70 } }] },
    args: ['-c', '200', '--kubernetes', '--pod-resources-kubelet-socket', socket, '--pod-resources-refresh-interval', '60000'],
  });
  t.teardown(async () => {
    await exp.stop();
    await sim.stop();
    cleanup();
  });
  const gpus = async (): Promise<GpusDocument> => (await fetch(`${exp.url}/api/v1/gpus`)).json() as Promise<GpusDocument>;
  const podsOnA = async () => (await gpus()).gpus.find((g) => g.uuid === GPU_A)?.pods.map((p) => p.pod) ?? [];
  const firstUp = Date.now() + 5000;
  while (!(await gpus()).podResources.up && Date.now() < firstUp) await sleep(50);
  t.equal((await gpus()).podResources.up, true, 'the first refresh ran at start');
  t.same(await podsOnA(), []);
  await sleep(1100); // past the start's minimum gap, so the next scrape asks at once

  // a pod is scheduled; polling /api/v1/gpus for 2.5 s does not make the exporter ask the kubelet
  sim.setScenario({ pods: [pod('hpa-test-a', GPU_A)] });
  const listBefore = sim.calls.List;
  const p0 = Date.now();
  let reads = 0;
  while (Date.now() - p0 < 2500) {
    await podsOnA();
    reads++;
    await sleep(50);
  }
  t.equal(sim.calls.List, listBefore, `${reads} document reads made no kubelet call`);
  t.same(await podsOnA(), [], 'so the document still has the old map (the 60 s interval has not passed)');

  // /metrics asks: the pod shows up on its series within about a second
  const labelOf = async (uuid: string) => {
    const page = await (await fetch(`${exp.url}/metrics`)).text();
    return parseExposition(page).find((s) => s.name === 'DCGM_FI_DEV_GPU_UTIL' && s.labels.UUID === uuid && s.labels.pod)?.labels.pod;
  };
  let t0 = Date.now();
  let labelled: string | undefined;
  while (!labelled && Date.now() - t0 < 8000) {
    labelled = await labelOf(GPU_A);
    if (!labelled) await sleep(100);
  }
  t.equal(labelled, 'hpa-test-a', 'the new pod is on its GPU series in /metrics');
  t.ok(Date.now() - t0 < 3000, `after ${Date.now() - t0} ms, not the 60 s interval`);
  t.same(await podsOnA(), ['hpa-test-a'], 'and the document joins the same, newer map');

  // a second pod: a scraper of /metrics again sees it within about a second
  sim.setScenario({ pods: [pod('hpa-test-a', GPU_A), pod('hpa-test-b', GPU_B)] });
  t0 = Date.now();
  labelled = undefined;
  while (!labelled && Date.now() - t0 < 8000) {
    labelled = await labelOf(GPU_B);
    if (!labelled) await sleep(100);
  }
  t.equal(labelled, 'hpa-test-b');
  t.ok(Date.now() - t0 < 3000, `after ${Date.now() - t0} ms`);

  // many scrapers at once, for 3 s: the kubelet sees about one List per second
  const before = sim.calls.List;
  const h0 = Date.now();
  let scrapes = 0;
  await Promise.all(
    Array.from({ length: 8 }, async (_, i) => {
      while (Date.now() - h0 < 3000) {
        const r = await fetch(`${exp.url}${i % 2 ? '/metrics' : '/api/v1/gpus'}`);
        await r.arrayBuffer();
        scrapes++;
      }
    }),
  );
  const elapsed = Date.now() - h0;
  const made = sim.calls.List - before;
  t.ok(scrapes >= 50, `${scrapes} scrapes`);
  t.ok(made >= 2 && made <= Math.ceil(elapsed / 1000) + 1, `${scrapes} scrapes over ${elapsed} ms → ${made} List calls (about one per second)`);
});
