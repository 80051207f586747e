import t from 'tap';
import { idTypeHint, isGpuResource, matchPods, parseDeviceId, type GpuIdType } from '../../lib/kubernetes/matching.js';
import { buildTarget } from '../../lib/exposition/series.js';
import type { ListPodResourcesResponse } from '../../lib/kubernetes/podresources-api.js';
import { GPU0, GPU1, GPU2, GPU3, MIG_GI1, MIG_GI5, MIG_GI6, nodeSweep } from '../fixtures/kubelet/node.js';

type Dev = [resource: string, ids: string[]];
function list(...pods: [ns: string, pod: string, container: string, devs: Dev[]][]): ListPodResourcesResponse {
  return {
    pod_resources: pods.map(([namespace, name, container, devs]) => ({
      namespace,
      name,
      containers: [{ name: container, devices: devs.map(([resource_name, device_ids]) => ({ resource_name, device_ids })) }],
    })),
  };
}

const one = (resource: string, id: string, gpuIdType?: GpuIdType) =>
  matchPods(list(['ns', 'p', 'c', [[resource, [id]]]]), nodeSweep(), gpuIdType ? { gpuIdType } : {});

t.test('parseDeviceId reads every form', async (t) => {
  t.same(parseDeviceId(GPU0), { kind: 'uuid', uuid: GPU0 });
  t.same(parseDeviceId(`${GPU0}::3`), { kind: 'uuid', uuid: GPU0, replica: '3' });
  t.same(parseDeviceId(MIG_GI1), { kind: 'uuid', uuid: MIG_GI1 });
  t.same(parseDeviceId(`MIG-${GPU2}/5/0`), { kind: 'mig-legacy', parentUuid: GPU2, gi: 5, ci: 0 });
  t.same(parseDeviceId(`MIG-${GPU2}/5/0::1`), { kind: 'mig-legacy', parentUuid: GPU2, gi: 5, ci: 0, replica: '1' });
  t.same(parseDeviceId('nvidia3'), { kind: 'index', index: 3 });
  t.same(parseDeviceId('nvidia2/gi5'), { kind: 'index', index: 2, gi: 5 });
  t.same(parseDeviceId('nvidia0/vgpu2'), { kind: 'index', index: 0, replica: '2' });
  t.same(parseDeviceId('nvidia2/gi6/vgpu1'), { kind: 'index', index: 2, gi: 6, replica: '1' });
  t.same(parseDeviceId('0000:3b:00.0'), { kind: 'unknown' });
  t.same(parseDeviceId(`${GPU0}::x`), { kind: 'unknown' }, 'a replica suffix must be a number');
  t.same(parseDeviceId(''), { kind: 'unknown' });
});

t.test('accepted resource names', async (t) => {
  for (const n of ['nvidia.com/gpu', 'nvidia.com/gpu.shared', 'nvidia.com/mig-1g.10gb', 'nvidia.com/mig-1g.10gb.me', 'nvidia.com/mig-3g.40gb']) {
    t.ok(isGpuResource(n), n);
  }
  for (const n of ['nvidia.com/gpu-custom', 'cpu', 'example.com/fpga', 'amd.com/gpu', 'nvidia.com/mig']) t.notOk(isGpuResource(n), n);
  t.ok(isGpuResource('example.com/my-gpus', ['example.com/my-gpus']), 'an extra name is accepted when given');
});

t.test('each ID form lands on the right GPU or MIG instance (default id type uid)', async (t) => {
  const cases: [string, string, string, string | undefined][] = [
    ['nvidia.com/gpu', GPU1, GPU1, undefined],
    ['nvidia.com/gpu', MIG_GI1, MIG_GI1, undefined], // single strategy
    ['nvidia.com/mig-1g.10gb', MIG_GI5, MIG_GI5, undefined], // mixed strategy
    ['nvidia.com/mig-1g.10gb.me', MIG_GI6, MIG_GI6, undefined],
    ['nvidia.com/mig-1g.10gb', `MIG-${GPU2}/5/0`, MIG_GI5, undefined], // legacy MIG form
    ['nvidia.com/gpu', `${GPU3}::2`, GPU3, '2'], // time-slicing replica
    ['nvidia.com/gpu.shared', `${GPU0}::0`, GPU0, '0'], // renamed shared resource
    ['nvidia.com/mig-1g.10gb', `${MIG_GI5}::3`, MIG_GI5, '3'], // a shared MIG instance
    ['nvidia.com/gpu', 'nvidia2/gi6', MIG_GI6, undefined], // GKE MIG: MIG instances match under both id types
    ['nvidia.com/gpu', 'GPU-' + GPU1.slice(4).toUpperCase(), GPU1, undefined], // UUID case differs
  ];
  for (const [resource, id, want, vgpu] of cases) {
    for (const idType of [undefined, 'uid'] as const) {
      const { map, unmatched } = one(resource, id, idType);
      t.same(unmatched, [], `${resource} ${id} matched (${idType ?? 'default'})`);
      t.same([...map.byUuid.keys()], [want], `${resource} ${id} → ${want}`);
      const expected: Record<string, string> = { namespace: 'ns', pod: 'p', container: 'c', resourceName: resource };
      if (vgpu !== undefined) expected.vgpu = vgpu;
      t.strictSame(map.byUuid.get(want), [expected], `${id} attribution`);
    }
  }
});

t.test('--kubernetes-gpu-id-type device-name: nvidia<N> forms match, GPU UUIDs do not', async (t) => {
  const cases: [string, string, string, string | undefined][] = [
    ['nvidia.com/gpu', 'nvidia1', GPU1, undefined], // GKE whole GPU by index
    ['nvidia.com/gpu', 'nvidia0/vgpu2', GPU0, '2'], // GKE sharing
    ['nvidia.com/gpu', 'nvidia3::1', GPU3, '1'], // replica in the device plugin's form
    ['nvidia.com/gpu', 'nvidia2/gi6', MIG_GI6, undefined], // GKE MIG
    ['nvidia.com/gpu', 'nvidia2/gi5/vgpu1', MIG_GI5, '1'],
    ['nvidia.com/gpu', MIG_GI1, MIG_GI1, undefined], // MIG UUIDs still match
    ['nvidia.com/mig-1g.10gb', `MIG-${GPU2}/5/0`, MIG_GI5, undefined],
    ['nvidia.com/mig-1g.10gb', `${MIG_GI5}::3`, MIG_GI5, '3'],
  ];
  for (const [resource, id, want, vgpu] of cases) {
    const { map, unmatched } = one(resource, id, 'device-name');
    t.same(unmatched, [], `${resource} ${id} matched`);
    t.same([...map.byUuid.keys()], [want], `${resource} ${id} → ${want}`);
    const expected: Record<string, string> = { namespace: 'ns', pod: 'p', container: 'c', resourceName: resource };
    if (vgpu !== undefined) expected.vgpu = vgpu;
    t.strictSame(map.byUuid.get(want), [expected], `${id} attribution`);
  }
});

t.test('a whole-GPU ID of the other id type is unmatched, with a hint naming the flag value', async (t) => {
  const uidMiss = ['nvidia1', 'nvidia0/vgpu2', 'nvidia3::1'];
  const r = matchPods(list(['ns', 'p', 'c', [['nvidia.com/gpu', [...uidMiss, GPU0]]]]), nodeSweep());
  t.same([...r.map.byUuid.keys()], [GPU0], 'under uid only the UUID matched');
  t.same(r.unmatched.sort(), [...uidMiss].sort(), 'nvidia<N> IDs are unmatched under uid');
  t.equal(idTypeHint('nvidia0', 'uid'), 'device ID nvidia0 looks like a device name; run with --kubernetes-gpu-id-type device-name');
  t.equal(idTypeHint('nvidia0/vgpu2', 'uid'), 'device ID nvidia0/vgpu2 looks like a device name; run with --kubernetes-gpu-id-type device-name');

  const nameMiss = [GPU1, `${GPU3}::2`];
  const d = matchPods(list(['ns', 'p', 'c', [['nvidia.com/gpu', [...nameMiss, 'nvidia0']]]]), nodeSweep(), { gpuIdType: 'device-name' });
  t.same([...d.map.byUuid.keys()], [GPU0], 'under device-name only nvidia0 matched');
  t.same(d.unmatched.sort(), [...nameMiss].sort(), 'GPU UUIDs are unmatched under device-name');
  t.equal(idTypeHint(`${GPU3}::2`, 'device-name'), `device ID ${GPU3}::2 looks like a GPU UUID; run with --kubernetes-gpu-id-type uid`);

  for (const [id, type] of [
    [GPU0, 'uid'], ['nvidia0', 'device-name'], // the right form
    [MIG_GI1, 'device-name'], ['nvidia2/gi6', 'uid'], // MIG forms match under both
    ['bogus', 'uid'], ['bogus', 'device-name'], ['GPU-00000000-0000-0000-0000-000000000000', 'uid'], // unknown, no hint
  ] as const) {
    t.equal(idTypeHint(id, type), null, `no hint for ${id} under ${type}`);
  }
});

t.test('other resources are ignored; IDs matching no GPU are reported', async (t) => {
  const r = matchPods(
    list(
      ['ns', 'fpga', 'c', [['example.com/fpga', [GPU0]], ['cpu', ['0']]]],
      ['ns', 'lost', 'c', [['nvidia.com/gpu', ['GPU-00000000-0000-0000-0000-000000000000', 'nvidia7', `MIG-${GPU2}/9/0`, 'nvidia2/gi9', 'bogus']]]],
      ['ns', 'ok', 'c', [['nvidia.com/gpu', [GPU3]]]],
    ),
    nodeSweep(),
  );
  t.same([...r.map.byUuid.keys()], [GPU3], 'only the pod with a known GPU is attributed');
  t.same(r.unmatched.sort(), ['GPU-00000000-0000-0000-0000-000000000000', `MIG-${GPU2}/9/0`, 'bogus', 'nvidia2/gi9', 'nvidia7'].sort());
  const extra = matchPods(list(['ns', 'fpga', 'c', [['example.com/fpga', [GPU0]]]]), nodeSweep(), {
    extraResourceNames: ['example.com/fpga'],
  });
  t.same(extra.map.byUuid.get(GPU0)?.map((a) => a.pod), ['fpga'], 'an extra resource name is attributed');
});

t.test('a shared GPU gets one attribution per pod, with its replica', async (t) => {
  const input = list(
    ['team-b', 'worker-2', 'main', [['nvidia.com/gpu', [`${GPU0}::1`]]]],
    ['team-a', 'worker-1', 'main', [['nvidia.com/gpu', [`${GPU0}::0`]]]],
    ['team-a', 'worker-0', 'main', [['nvidia.com/gpu', [`${GPU0}::10`]]]],
  );
  const { map } = matchPods(input, nodeSweep());
  t.same(
    map.byUuid.get(GPU0)?.map((a) => [a.namespace, a.pod, a.vgpu]),
    [
      ['team-a', 'worker-0', '10'],
      ['team-a', 'worker-1', '0'],
      ['team-b', 'worker-2', '1'],
    ],
  );
  const single = matchPods(input, nodeSweep(), { singlePod: true });
  t.strictSame(single.map.byUuid.get(GPU0), [{ namespace: 'team-a', pod: 'worker-0', container: 'main', resourceName: 'nvidia.com/gpu' }], 'singlePod keeps the first by namespace/pod/container and drops vgpu');
  const reversed = { pod_resources: [...input.pod_resources].reverse() };
  t.strictSame(matchPods(reversed, nodeSweep(), { singlePod: true }).map.byUuid.get(GPU0), single.map.byUuid.get(GPU0), 'the kept pod does not depend on the kubelet order');

  // the renderer in single-pod mode keeps the same pod, whether it is given the full list or matching's one
  const sweep = nodeSweep();
  const dev = sweep.devices[0]!;
  const opts = { hostname: 'h', hostnameLabels: ['Hostname'], replaceBlanksInModelName: false, useOldNamespace: false, sharedGpus: 'single-pod' } as const;
  for (const [what, m] of [['the full list', map], ['matching\'s single pod', single.map], ['the full list of the reversed answer', matchPods(reversed, sweep).map]] as const) {
    const target = buildTarget(sweep, dev, null, [], m, opts);
    t.same(target.variants.map((v) => v.pairs), [[['container', 'main'], ['namespace', 'team-a'], ['pod', 'worker-0']]], `render of ${what} keeps team-a/worker-0`);
  }
});

t.test('a container listing the same device twice is one attribution; several devices are several', async (t) => {
  const { map } = matchPods(list(['ns', 'p', 'c', [['nvidia.com/gpu', [GPU0, GPU0, GPU1]], ['nvidia.com/gpu.shared', [GPU0]]]]), nodeSweep());
  t.equal(map.byUuid.get(GPU0)?.length, 1);
  t.equal(map.byUuid.get(GPU1)?.length, 1);
  t.notOk(map.byUuid.has(GPU2));
});

t.test('without a sweep nothing matches; updatedAt is the given time', async (t) => {
  const r = matchPods(list(['ns', 'p', 'c', [['nvidia.com/gpu', [GPU0]]]]), null, {}, 1234);
  t.equal(r.map.byUuid.size, 0);
  t.equal(r.map.updatedAt, 1234);
  t.same(r.unmatched, [GPU0]);
});
