// The Kubernetes API features through the real `nvml-exporter` command's /metrics: pod labels
// (allowlisted, sanitised), pod_uid and the owning workload from a simulated API server; a pod
// that appears in the watch; and every API fault (failing, slow, 410 Gone, restarts, oversized and
// malformed answers, unreachable) leaving the GPU series served, with the API self-metrics saying
// what happened. The kubelet is simulated too; the API server is reached through a kubeconfig.
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { startSimKubelet, type SimKubelet, type SimPod } from '../../lib/kubernetes/sim-kubelet.js';
import { startSimApiServer, type SimApiPod, type SimApiServer } from '../../lib/kubernetes/sim-api-server.js';
import { scrape, startExporter, samplesOf, valueOf, type RunningExporter, type Sample, untilServing } from '../helpers/exporter.js';
import type { Scenario } from '../../lib/nvml/scenario.js';
import { socketDir } from '../fixtures/kubelet/node.js';

const UUIDS = ['GPU-a0000000-1111-4222-8333-444444444444', 'GPU-b0000000-1111-4222-8333-444444444444', 'GPU-c0000000-1111-4222-8333-444444444444'];
const NVML: Scenario = { gpus: UUIDS.map((uuid, i) => ({ uuid, values: { gpuUtil: 10 * (i + 1) } })) };
const NODE = 'test-node';

const kubeletPod = (name: string, uuid: string): SimPod => ({ namespace: 'ml', name, containers: [{ name: 'main', devices: [{ resource: 'nvidia.com/gpu', ids: [uuid] }] }] });
const apiPod = (name: string, extra: Partial<SimApiPod> = {}): SimApiPod => ({
  namespace: 'ml', name, nodeName: NODE,
  labels: { app: 'trainer', 'app.kubernetes.io/name': 'llm', team: 'research', 'pod-template-hash': '7d9f8', secret: 'x' },
  owner: { kind: 'ReplicaSet', name: 'trainer-7d9f8' }, ...extra,
});

const LABEL_ARGS = ['--kubernetes-enable-pod-labels', '--kubernetes-pod-label-allowlist-regex', '^app,^team$', '--kubernetes-enable-pod-uid', '--kubernetes-enable-workload-label'];

interface World { exp: RunningExporter; kubelet: SimKubelet; api: SimApiServer }

async function setup(t: Test, opts: { apiPods?: SimApiPod[]; args?: string[]; apiDown?: boolean } = {}): Promise<World> {
  const { dir, socket, cleanup } = socketDir();
  const kubelet = await startSimKubelet(socket, { pods: [kubeletPod('trainer-7d9f8-aaaaa', UUIDS[0]!), kubeletPod('other', UUIDS[1]!)] });
  const api = await startSimApiServer({ pods: opts.apiPods ?? [apiPod('trainer-7d9f8-aaaaa', { uid: 'uid-trainer' }), apiPod('other', { uid: 'uid-other', owner: undefined, labels: {} })], bookmarkMs: 200 });
  const kubeconfig = api.writeKubeconfig(join(dir, 'kubeconfig.yaml'));
  if (opts.apiDown) await api.stop();
  const exp = await startExporter({
    scenario: NVML,
    args: ['-c', '200', '-k', '--pod-resources-kubelet-socket', socket, '--pod-resources-refresh-interval', '200',
      '--kubernetes-api-kubeconfig', kubeconfig, ...LABEL_ARGS, ...(opts.args ?? [])],
    startLimitMs: 60000,
  });
  t.teardown(async () => {
    await exp.stop();
    await kubelet.stop();
    await api.stop().catch(() => {});
    cleanup();
  });
  return { exp, kubelet, api };
}

const gpu0 = (s: Sample[]) => samplesOf(s, 'DCGM_FI_DEV_GPU_UTIL', { gpu: '0' })[0]?.labels ?? {};
const apiUp = (s: Sample[]) => valueOf(s, 'nvml_exporter_kubernetes_api_up', { watch: 'pods' });
const apiErrors = (s: Sample[], reason: string) => valueOf(s, 'nvml_exporter_kubernetes_api_errors_total', { watch: 'pods', reason }) ?? 0;

/** Scrapes until `cond` holds; every scrape must be a 200 with the three GPUs' series. */
const until = (t: Test, exp: RunningExporter, cond: (s: Sample[]) => boolean, what: string, limitMs = 20000) => untilServing(t, exp, 3, cond, what, limitMs);

t.test('allowed pod labels (sanitised), pod_uid and the workload on the pod series; unallocated GPUs stay bare', async (t) => {
  const { exp } = await setup(t);
  const s = await until(t, exp, (s) => gpu0(s).pod_uid !== undefined, 'pod metadata joined');
  const l = gpu0(s);
  t.same(
    { pod: l.pod, pod_uid: l.pod_uid, app: l.app, name: l.app_kubernetes_io_name, team: l.team, workload: l.workload, kind: l.workload_kind, deployment: l.deployment },
    { pod: 'trainer-7d9f8-aaaaa', pod_uid: 'uid-trainer', app: 'trainer', name: 'llm', team: 'research', workload: 'trainer', kind: 'Deployment', deployment: 'trainer' },
  );
  t.equal(l.secret, undefined, 'a label outside the allowlist is not written');
  t.equal(l.pod_template_hash, undefined);
  const other = samplesOf(s, 'DCGM_FI_DEV_GPU_UTIL', { gpu: '1' })[0]!.labels;
  t.same([other.workload, other.workload_kind, other.pod_uid], ['other', 'Pod', 'uid-other'], 'a bare pod is its own workload');
  const bare = samplesOf(s, 'DCGM_FI_DEV_GPU_UTIL', { gpu: '2' })[0]!.labels;
  t.same([bare.pod, bare.pod_uid, bare.workload], [undefined, undefined, undefined], 'the unallocated GPU keeps its bare series');
  t.equal(apiUp(s), 1);
  t.ok((valueOf(s, 'nvml_exporter_kubernetes_api_cache_age_seconds', { watch: 'pods' }) ?? 99) <= 5, 'bookmarks keep the cache fresh');
});

t.test('a pod that appears in the watch is on its GPU series soon after (about a second)', async (t) => {
  const { exp, kubelet, api } = await setup(t);
  await until(t, exp, (s) => gpu0(s).pod_uid !== undefined, 'first pods joined');
  const t0 = Date.now();
  kubelet.setScenario({ pods: [kubeletPod('trainer-7d9f8-aaaaa', UUIDS[0]!), kubeletPod('other', UUIDS[1]!), kubeletPod('newcomer', UUIDS[2]!)] });
  api.setPod(apiPod('newcomer', { uid: 'uid-new', owner: { kind: 'StatefulSet', name: 'db' }, labels: { app: 'db' } }));
  const s = await until(t, exp, (s) => samplesOf(s, 'DCGM_FI_DEV_GPU_UTIL', { gpu: '2', pod_uid: 'uid-new' }).length === 1, 'the new pod on GPU 2');
  const ms = Date.now() - t0;
  t.comment(`the new pod's labels were served ${ms} ms after it appeared`);
  t.ok(ms < 10_000, `served within the bound (${ms} ms; about a second on an idle machine)`);
  const l = samplesOf(s, 'DCGM_FI_DEV_GPU_UTIL', { gpu: '2' })[0]!.labels;
  t.same([l.statefulset, l.workload_kind, l.app], ['db', 'StatefulSet', 'db']);
  // a label change is followed too
  api.setPod(apiPod('newcomer', { uid: 'uid-new', owner: { kind: 'StatefulSet', name: 'db' }, labels: { app: 'db2' } }));
  await until(t, exp, (s) => samplesOf(s, 'DCGM_FI_DEV_GPU_UTIL', { gpu: '2', app: 'db2' }).length === 1, 'the changed label');
});

t.test('API failures (500, 403), 410 Gone, slow answers and a restart: GPU series stay, labels kept, errors counted', async (t) => {
  const { exp, api } = await setup(t);
  await until(t, exp, (s) => gpu0(s).pod_uid !== undefined, 'joined');
  api.setBehaviour({ failStatus: 500 });
  api.endWatches();
  const s = await until(t, exp, (s) => apiUp(s) === 0 && apiErrors(s, 'server_error') >= 1, 'the failure seen');
  t.equal(gpu0(s).pod_uid, 'uid-trainer', 'the last labels are kept while the API fails (within --kubernetes-api-stale-after)');
  api.setBehaviour({ failStatus: 403 });
  await until(t, exp, (s) => apiErrors(s, 'forbidden') >= 1, 'RBAC refusal counted as forbidden');
  api.setBehaviour({});
  await until(t, exp, (s) => apiUp(s) === 1, 'recovered');
  // 410 Gone: the history the watch resumes from is compacted; the informer lists again
  const lists = api.requests.list;
  api.compact();
  api.endWatches();
  api.setPod(apiPod('trainer-7d9f8-aaaaa', { uid: 'uid-trainer', labels: { app: 'after-gone', 'pod-template-hash': '7d9f8' } }));
  await until(t, exp, (s) => gpu0(s).app === 'after-gone' && apiErrors(s, 'gone') >= 1, 'a re-list after 410 Gone');
  t.ok(api.requests.list > lists, 'listed again');
  // slow answers: the scrapes do not wait for the API
  api.setBehaviour({ delayMs: 3000 });
  api.endWatches();
  const r = await scrape(exp.url);
  t.equal(r.status, 200);
  t.ok(r.ms < 2500, `a scrape while the API is slow takes ${r.ms.toFixed(0)} ms (it never waits for the API)`);
  api.setBehaviour({});
  await api.restart({ downMs: 1500 });
  await until(t, exp, (s) => apiErrors(s, 'unreachable') >= 1 || apiUp(s) === 1, 'the restart seen or ridden over');
  await until(t, exp, (s) => apiUp(s) === 1 && gpu0(s).pod_uid === 'uid-trainer', 'up again after the restart');
});

t.test('past --kubernetes-api-stale-after the API labels are left out; pod, namespace and container stay', async (t) => {
  const { exp, api } = await setup(t, { args: ['--kubernetes-api-stale-after', '1500'] });
  await until(t, exp, (s) => gpu0(s).pod_uid !== undefined, 'joined');
  await api.stop();
  const s = await until(t, exp, (s) => gpu0(s).pod_uid === undefined, 'labels dropped once stale');
  t.same([gpu0(s).pod, gpu0(s).namespace, gpu0(s).container, gpu0(s).app], ['trainer-7d9f8-aaaaa', 'ml', 'main', undefined]);
  t.equal(apiUp(s), 0);
});

t.test('API server unreachable from the start: the exporter serves the GPU series with kubelet pods, api_up 0', async (t) => {
  const { exp } = await setup(t, { apiDown: true });
  const s = await until(t, exp, (s) => gpu0(s).pod === 'trainer-7d9f8-aaaaa' && apiErrors(s, 'unreachable') >= 1, 'kubelet pods, API unreachable');
  t.equal(gpu0(s).pod_uid, undefined);
  t.equal(apiUp(s), 0);
  t.equal(valueOf(s, 'nvml_exporter_kubernetes_api_cache_age_seconds', { watch: 'pods' }), undefined, 'no cache yet: no age sample');
});

t.test('an oversized list and a malformed watch are refused and counted; the series stay', async (t) => {
  const { exp, api } = await setup(t);
  await until(t, exp, (s) => gpu0(s).pod_uid !== undefined, 'joined');
  api.setBehaviour({ garbageWatch: true });
  api.endWatches();
  await until(t, exp, (s) => apiErrors(s, 'malformed') >= 1, 'malformed watch event counted');
  api.setBehaviour({ padListBytes: 9 * 1024 * 1024 });
  api.compact();
  api.endWatches();
  const s = await until(t, exp, (s) => apiErrors(s, 'too_large') >= 1, 'oversized list refused (8 MiB per answer)');
  t.equal(gpu0(s).pod_uid, 'uid-trainer', 'the last labels are kept');
  api.setBehaviour({});
  await until(t, exp, (s) => apiUp(s) === 1, 'recovered');
});
