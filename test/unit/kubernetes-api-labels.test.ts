// The pure parts of the Kubernetes API features: DRA device names resolved through NVML (GPU by
// minor, MIG by GPU-instance profile id and placement start), the dra_* labels, the owning workload
// from a pod's owner references, label sanitising, the allowlist, the cap and collisions.
import t from 'tap';
import { matchPods } from '../../lib/kubernetes/matching.js';
import type { ListPodResourcesResponse } from '../../lib/kubernetes/podresources-api.js';
import { trimPod, workloadOf } from '../../lib/kubernetes/api/pods.js';
import { MAX_POD_LABELS, PodLabelJoin, sanitizeLabelName } from '../../lib/kubernetes/pod-labels.js';
import type { PodMeta, PodMetadataView } from '../../lib/contract/pod-metadata.js';
import type { PodMap } from '../../lib/contract/pods.js';
import { GPU0, GPU1, GPU2, MIG_GI1, MIG_GI5, nodeSweep } from '../fixtures/kubelet/node.js';

/** the node's sweep with GPU minors 10.. (not the indexes) and GPU 2's instances' profile ids and placements */
function sweep() {
  const s = nodeSweep();
  s.devices.forEach((d, i) => (d.minor = 10 + i));
  const [gi1, gi5, gi6] = s.devices[2]!.mig;
  Object.assign(gi1!, { gpuInstanceProfileId: 9, placementStart: 0 });
  Object.assign(gi5!, { gpuInstanceProfileId: 19, placementStart: 4 });
  Object.assign(gi6!, { gpuInstanceProfileId: 20, placementStart: 5 });
  return s;
}

function draList(...pods: [pod: string, claim: string, driver: string, device: string][]): ListPodResourcesResponse {
  return {
    pod_resources: pods.map(([name, claim, driver, device]) => ({
      namespace: 'ml',
      name,
      containers: [{
        name: 'main',
        devices: [],
        dynamic_resources: [{ claim_name: claim, claim_namespace: 'ml', claim_resources: [{ cdi_devices: [], driver_name: driver, pool_name: 'node-1', device_name: device }] }],
      }],
    })),
  };
}

t.test('DRA: gpu-<minor> and gpu-<minor>-mig-<profile>-<profileId>-<start> resolve through NVML, with the dra_* labels', async (t) => {
  const { map, unmatched } = matchPods(
    draList(['a', 'claim-a', 'gpu.nvidia.com', 'gpu-11'], ['b', 'claim-b', 'gpu.nvidia.com', 'gpu-12-mig-1g.10gb-19-4']),
    sweep(), { dra: {} },
  );
  t.same(unmatched, []);
  t.same(map.byUuid.get(GPU1), [{
    namespace: 'ml', pod: 'a', container: 'main', resourceName: 'dra:gpu.nvidia.com',
    labels: [['dra_claim_name', 'claim-a'], ['dra_claim_namespace', 'ml'], ['dra_device_name', 'gpu-11'], ['dra_driver_name', 'gpu.nvidia.com'], ['dra_pool_name', 'node-1']],
  }], 'gpu-11 is the GPU with minor 11 (index 1), not index 11');
  t.same(map.byUuid.get(MIG_GI5)?.[0]?.labels, [
    ['dra_claim_name', 'claim-b'], ['dra_claim_namespace', 'ml'], ['dra_device_name', 'gpu-12-mig-1g.10gb-19-4'], ['dra_driver_name', 'gpu.nvidia.com'],
    ['dra_mig_device_uuid', MIG_GI5], ['dra_mig_profile', '1g.10gb'], ['dra_pool_name', 'node-1'],
  ], 'the MIG device with profile id 19 at placement 4');
  t.equal(map.byUuid.get(GPU0), undefined, 'an unallocated GPU keeps no pods');
});

t.test('DRA: a MIG device created on demand matches once a sweep shows it; unknown names and other drivers', async (t) => {
  const before = sweep();
  before.devices[2]!.mig = before.devices[2]!.mig.filter((m) => m.gpuInstanceId !== 1);
  const l = draList(['a', 'c', 'gpu.nvidia.com', 'gpu-12-mig-3g.40gb-9-0']);
  const r1 = matchPods(l, before, { dra: {} });
  t.same(r1.unmatched, ['gpu.nvidia.com/node-1/gpu-12-mig-3g.40gb-9-0'], 'not created yet: unmatched');
  const r2 = matchPods(l, sweep(), { dra: {} });
  t.equal(r2.map.byUuid.get(MIG_GI1)?.[0]?.pod, 'a', 'created: attributed');
  t.same(matchPods(draList(['a', 'c', 'gpu.nvidia.com', 'gpu-12-mig-1g.10gb-19-5']), sweep(), { dra: {} }).unmatched.length, 1, 'wrong placement: no match');
  t.same(matchPods(draList(['a', 'c', 'gpu.nvidia.com', 'gpu-99']), sweep(), { dra: {} }).unmatched, ['gpu.nvidia.com/node-1/gpu-99']);
  t.same(matchPods(draList(['a', 'c', 'example.com/fpga', 'fpga-0']), sweep(), { dra: {} }).unmatched, [], 'another driver is not ours');
  t.equal(matchPods(draList(['a', 'c', 'gpu.nvidia.com', 'gpu-11']), sweep(), {}).map.byUuid.size, 0, 'DRA off: claims ignored');
  const viaSlice = matchPods(draList(['a', 'c', 'gpu.nvidia.com', 'gpu-vfio-3']), sweep(),
    { dra: { resolveSlice: (d, p, n) => (d === 'gpu.nvidia.com' && p === 'node-1' && n === 'gpu-vfio-3' ? GPU2 : undefined) } });
  t.equal(viaSlice.map.byUuid.get(GPU2)?.[0]?.pod, 'a', 'another name shape resolves through the ResourceSlice fallback');
});

t.test('DRA: two pods on one claim share the GPU like time-slicing (one pod by default, all per pod)', async (t) => {
  const l = draList(['b', 'shared', 'gpu.nvidia.com', 'gpu-10'], ['a', 'shared', 'gpu.nvidia.com', 'gpu-10']);
  t.same(matchPods(l, sweep(), { dra: {}, singlePod: true }).map.byUuid.get(GPU0)?.map((a) => a.pod), ['a']);
  t.same(matchPods(l, sweep(), { dra: {} }).map.byUuid.get(GPU0)?.map((a) => a.pod), ['a', 'b']);
});

t.test('the owning workload from owner references', async (t) => {
  const now = Date.UTC(2026, 11, 1);
  const minutes = Math.floor(now / 60_000);
  t.same(workloadOf('web-7d9f8-abcde', { 'pod-template-hash': '7d9f8' }, [{ kind: 'ReplicaSet', name: 'web-7d9f8', controller: true }], now),
    { kind: 'Deployment', name: 'web' });
  t.same(workloadOf('x', {}, [{ kind: 'ReplicaSet', name: 'bare-rs', controller: true }], now), { kind: 'ReplicaSet', name: 'bare-rs' }, 'no hash: the ReplicaSet');
  t.same(workloadOf('db-0', {}, [{ kind: 'StatefulSet', name: 'db', controller: true }], now), { kind: 'StatefulSet', name: 'db' });
  t.same(workloadOf('dp-x', {}, [{ kind: 'DaemonSet', name: 'dp', controller: true }], now), { kind: 'DaemonSet', name: 'dp' });
  t.same(workloadOf('j', {}, [{ kind: 'Job', name: `nightly-${minutes - 60}`, controller: true }], now), { kind: 'CronJob', name: 'nightly' });
  t.same(workloadOf('j', {}, [{ kind: 'Job', name: 'train-42', controller: true }], now), { kind: 'Job', name: 'train-42' }, 'a small number is not a schedule');
  t.same(workloadOf('lone', {}, [], now), { kind: 'Pod', name: 'lone' });
  t.same(workloadOf('r', {}, [{ kind: 'RayCluster', name: 'ray', controller: true }], now), { kind: 'RayCluster', name: 'ray' });
});

t.test('trimPod keeps what PodMeta needs and refuses a pod without name, namespace or UID', async (t) => {
  const p = trimPod({
    metadata: { name: 'p', namespace: 'ml', uid: 'u-1', resourceVersion: '7', labels: { app: 'x', n: 3 } },
    spec: { nodeName: 'node-1', containers: [{ name: 'main' }] },
    status: { phase: 'Running', containerStatuses: [{ name: 'main', containerID: 'containerd://abc123' }] },
  });
  t.same(p?.meta, { uid: 'u-1', namespace: 'ml', name: 'p', nodeName: 'node-1', labels: { app: 'x' }, workload: { kind: 'Pod', name: 'p' }, containers: [{ name: 'main', containerId: 'abc123' }], phase: 'Running' });
  t.equal(trimPod({ metadata: { name: 'p', namespace: 'ml' } }), null);
  t.equal(trimPod('x'), null);
});

t.test('label names are sanitised as dcgm-exporter does', async (t) => {
  t.equal(sanitizeLabelName('app.kubernetes.io/name'), 'app_kubernetes_io_name');
  t.equal(sanitizeLabelName('team'), 'team');
  t.equal(sanitizeLabelName('3rd-party.io/x'), '_3rd_party_io_x', 'a leading digit gets _');
});

function view(pods: PodMeta[], gen = 1): PodMetadataView {
  return {
    byUid: (u) => pods.find((p) => p.uid === u),
    byName: (ns, n) => pods.find((p) => p.namespace === ns && p.name === n),
    all: () => pods,
    generation: gen,
    syncedAt: 1,
  };
}

const meta = (labels: Record<string, string>): PodMeta => ({
  uid: 'uid-1', namespace: 'ml', name: 'p', nodeName: 'n', labels, workload: { kind: 'Deployment', name: 'web' }, containers: [], phase: 'Running',
});
const MAP: PodMap = { byUuid: new Map([[GPU0, [{ namespace: 'ml', pod: 'p', container: 'main' }]]]), updatedAt: 1 };

t.test('the join: allowlist, sanitising, collisions, de-duplication, the cap, pod_uid and the workload', async (t) => {
  const labels: Record<string, string> = { 'app.kubernetes.io/name': 'web', app_kubernetes_io_name: 'dup', team: 'ml', pod: 'collides', secret: 'no' };
  for (let i = 0; i < 30; i++) labels[`x-${String(i).padStart(2, '0')}`] = String(i);
  const j = new PodLabelJoin({ podLabels: true, allowlist: ['^app', '^team$', '^pod$', '^x-'], podUid: true, workload: true }, view([meta(labels)]), () => true);
  const out = j.join(MAP)!.byUuid.get(GPU0)![0]!.labels!;
  const names = out.map(([k]) => k);
  t.same(out.slice(0, 5), [['pod_uid', 'uid-1'], ['workload', 'web'], ['workload_kind', 'Deployment'], ['deployment', 'web'], ['app_kubernetes_io_name', 'web']]);
  t.notOk(names.includes('secret'), 'not in the allowlist');
  t.notOk(out.some(([k, v]) => k === 'pod' && v === 'collides'), 'a label named like one of ours is dropped');
  t.equal(names.filter((n) => n === 'app_kubernetes_io_name').length, 1, 'two keys that sanitise alike keep the first in key order');
  t.equal(out.length - 4, MAX_POD_LABELS, `at most ${MAX_POD_LABELS} pod labels`);
  t.ok(j.droppedLabels > 0);
  t.equal(j.join(MAP), j.join(MAP), 'the same map back while nothing moved');
  t.throws(() => new PodLabelJoin({ podLabels: true, allowlist: ['(a'], podUid: false, workload: false }, view([]), () => true),
    /^--kubernetes-pod-label-allowlist-regex: "\(a" is not a regular expression RE2 accepts/);
  t.throws(() => new PodLabelJoin({ podLabels: true, allowlist: ['(a)\\1'], podUid: false, workload: false }, view([]), () => true),
    /is not a regular expression RE2 accepts/, 'a backreference (not linear-time) is refused');
  const stale = new PodLabelJoin({ podLabels: true, allowlist: ['.*'], podUid: true, workload: false }, view([meta({ a: 'b' })]), () => false);
  t.equal(stale.join(MAP), MAP, 'metadata too old: the map as it is (pod, namespace, container only)');
});

t.test('the default footprint: @kubernetes/client-node and the API modules are only imported dynamically (when an option is on)', async (t) => {
  const { readFileSync, readdirSync, statSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { packageRoot } = await import('../../lib/package-root.js');
  const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? (n === 'gen' ? [] : files(p)) : p.endsWith('.ts') ? [p] : [];
  });
  const root = packageRoot();
  const offenders: string[] = [];
  for (const f of [...files(join(root, 'lib')), ...files(join(root, 'bin'))]) {
    if (f.includes('/lib/kubernetes/api/')) continue; // inside the API part, which itself loads only on demand
    for (const m of readFileSync(f, 'utf8').matchAll(/^import\s+(?!type\b)[^;]*?from\s+'([^']+)'/gm)) {
      if (m[1] === '@kubernetes/client-node' || m[1]!.includes('kubernetes/api/')) offenders.push(`${f}: ${m[0]}`);
    }
  }
  t.same(offenders, [], 'no static import outside lib/kubernetes/api/');
  const api = files(join(root, 'lib/kubernetes/api'));
  const staticClient = api.filter((f) => /^import\s+(?!type\b)[^;]*from\s+'@kubernetes\/client-node'/m.test(readFileSync(f, 'utf8')));
  t.same(staticClient, [], 'inside it, the client is loaded with import() on first use');
});
