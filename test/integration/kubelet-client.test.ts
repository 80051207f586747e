// The PodResources client against a simulated kubelet over a real unix socket.
import t from 'tap';
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { PodResourcesClient, PodResourcesError } from '../../lib/kubernetes/client.js';
import { startSimKubelet, type SimKubeletScenario } from '../../lib/kubernetes/sim-kubelet.js';
import { GPU0, GPU1, socketDir } from '../fixtures/kubelet/node.js';

const scenario: SimKubeletScenario = {
  pods: [
    { namespace: 'ns', name: 'a', containers: [{ name: 'c', devices: [{ resource: 'nvidia.com/gpu', ids: [GPU0] }] }] },
    { namespace: 'ns', name: 'b', containers: [{ name: 'c', devices: [{ resource: 'cpu', ids: ['1'] }] }] },
  ],
  allocatable: [{ resource: 'nvidia.com/gpu', ids: [GPU0, GPU1] }],
};

async function reason(p: Promise<unknown>): Promise<[string, string]> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PodResourcesError) return [e.reason, e.message];
    throw e;
  }
  throw new Error('the call succeeded');
}

t.test('List and GetAllocatableResources answer from the kubelet', async (t) => {
  const { socket, cleanup } = socketDir();
  const sim = await startSimKubelet(socket, scenario);
  const client = new PodResourcesClient({ socketPath: socket });
  t.teardown(async () => (client.close(), await sim.stop(), cleanup()));
  const list = await client.list();
  t.same(
    list.pod_resources.map((p) => [p.namespace, p.name, p.containers[0]?.devices[0]?.resource_name, p.containers[0]?.devices[0]?.device_ids]),
    [
      ['ns', 'a', 'nvidia.com/gpu', [GPU0]],
      ['ns', 'b', 'cpu', ['1']],
    ],
  );
  const alloc = await client.getAllocatableResources();
  t.same(alloc.devices.map((d) => [d.resource_name, d.device_ids]), [['nvidia.com/gpu', [GPU0, GPU1]]]);
  t.same(sim.calls, { List: 1, GetAllocatableResources: 1 });
  t.equal(client.generation, 1, 'both calls used one channel');
});

t.test('a List answer over 4 MiB is received (16 MiB limit)', async (t) => {
  const { socket, cleanup } = socketDir();
  const ids = Array.from({ length: 40 }, (_, i) => `${GPU0}::${i}`.padEnd(200, '0'));
  const pods = Array.from({ length: 800 }, (_, i) => ({
    namespace: 'bulk',
    name: `pod-${i}`,
    containers: [{ name: 'c', devices: [{ resource: 'nvidia.com/gpu', ids }] }],
  }));
  const sim = await startSimKubelet(socket, { pods });
  const client = new PodResourcesClient({ socketPath: socket });
  t.teardown(async () => (client.close(), await sim.stop(), cleanup()));
  const list = await client.list();
  t.equal(list.pod_resources.length, 800);
  t.equal(list.pod_resources[799]?.containers[0]?.devices[0]?.device_ids.length, 40);
});

t.test('each failure is classified', async (t) => {
  const { dir, socket, cleanup } = socketDir();
  const client = new PodResourcesClient({ socketPath: socket, deadlineMs: 300 });
  t.teardown(() => (client.close(), cleanup()));

  const [missing, missingMsg] = await reason(client.list());
  t.equal(missing, 'socket_missing');
  t.match(missingMsg, socket, 'the message names the socket');
  t.match(missingMsg, /mount the host's \/var\/lib\/kubelet\/pod-resources directory/, 'and the fix');

  const notSocket = `${dir}/plain-file`;
  writeFileSync(notSocket, 'x');
  const c2 = new PodResourcesClient({ socketPath: notSocket });
  t.teardown(() => c2.close());
  t.match(await reason(c2.list()), ['socket_missing', /is not a unix socket/]);

  // something listens but drops every connection: the kubelet is not serving
  const dropper = createServer((s) => s.destroy());
  await new Promise<void>((r) => dropper.listen(socket, r));
  t.match(await reason(client.list()), ['unavailable', /UNAVAILABLE/]);
  await new Promise((r) => dropper.close(r));

  const sim = await startSimKubelet(socket, scenario);
  t.teardown(() => sim.stop());
  const cases: [SimKubeletScenario['list'], string, RegExp][] = [
    [{ error: { code: grpc.status.RESOURCE_EXHAUSTED, message: 'rejected by rate limit' } }, 'resource_exhausted', /RESOURCE_EXHAUSTED: rejected by rate limit/],
    [{ error: { code: grpc.status.UNIMPLEMENTED, message: 'unknown service v1.PodResourcesLister' } }, 'unimplemented', /UNIMPLEMENTED/],
    [{ error: { code: grpc.status.PERMISSION_DENIED, message: 'no' } }, 'other', /PERMISSION_DENIED: no/],
    [{ malformed: true }, 'malformed', /parsing error/],
    [{ delayMs: Infinity }, 'deadline', /DEADLINE_EXCEEDED: no answer within 300 ms/],
  ];
  for (const [behaviour, want, msg] of cases) {
    sim.setScenario({ ...scenario, list: behaviour });
    t.match(await reason(client.list()), [want, msg], want);
  }
  sim.setScenario({ ...scenario, getAllocatableResources: { malformed: true } });
  t.match(await reason(client.getAllocatableResources()), ['malformed', /GetAllocatableResources/]);
  sim.setScenario(scenario);
  t.equal((await client.list()).pod_resources.length, 2, 'after all that, the same client answers again');
});

t.test('List leaves out pods and containers without a name, says which, and keeps the rest', async (t) => {
  const { socket, cleanup } = socketDir();
  const gpu = (ids: string[]) => [{ resource: 'nvidia.com/gpu', ids }];
  const sim = await startSimKubelet(socket, {
    pods: [
      { namespace: 'ns', name: '', containers: [{ name: 'c', devices: gpu([GPU0]) }] },
      { namespace: 'ns', name: 'ok', containers: [{ name: 'c', devices: gpu([GPU0]) }] },
      { namespace: '', name: 'orphan', containers: [{ name: 'c', devices: gpu([GPU1]) }] },
      { namespace: 'ns', name: 'mixed', containers: [{ name: '', devices: gpu([GPU1]) }, { name: '', devices: [] }, { name: 'keep', devices: gpu([GPU1]) }] },
    ],
  });
  const client = new PodResourcesClient({ socketPath: socket });
  t.teardown(async () => (client.close(), await sim.stop(), cleanup()));
  const dropped: string[] = [];
  const list = await client.list((p) => dropped.push(p));
  t.same(
    list.pod_resources.map((p) => [p.namespace, p.name, p.containers.map((c) => c.name)]),
    [
      ['ns', 'ok', ['c']],
      ['ns', 'mixed', ['keep']],
    ],
  );
  t.same(dropped, [
    'pod "ns"/"" has an empty name; the pod is left out',
    'pod ""/"orphan" has an empty namespace; the pod is left out',
    'pod "ns"/"mixed" has 2 containers with an empty name; they are left out',
  ]);
  t.equal((await client.list()).pod_resources.length, 2, 'without a listener the entries are left out all the same');
  sim.setScenario(scenario);
  const clean: string[] = [];
  t.equal((await client.list((p) => clean.push(p))).pod_resources.length, 2);
  t.same(clean, [], 'a well-formed answer drops nothing');
});

t.test('a kubelet restart that replaces the socket file is followed', async (t) => {
  const { socket, cleanup } = socketDir();
  const sim = await startSimKubelet(socket, scenario);
  const client = new PodResourcesClient({ socketPath: socket, deadlineMs: 2000 });
  t.teardown(async () => (client.close(), await sim.stop(), cleanup()));
  t.equal((await client.list()).pod_resources.length, 2);
  t.equal(client.generation, 1);
  sim.setScenario({ pods: [] });
  await sim.restart();
  t.equal((await client.list()).pod_resources.length, 0, 'the new kubelet answers');
  t.equal(client.generation, 2, 'through a new channel');
  await sim.restart({ downMs: 50 });
  t.equal((await client.list()).pod_resources.length, 0);
  t.equal(client.generation, 3);
  t.equal(sim.calls.List, 3);
});

t.test('bad options are refused with a clear message', async (t) => {
  t.throws(() => new PodResourcesClient({ deadlineMs: 0 }), /deadline must be a positive number of ms, got 0/);
  t.throws(() => new PodResourcesClient({ socketPath: '' }), /socket path is empty/);
  t.equal(new PodResourcesClient().socketPath, '/var/lib/kubelet/pod-resources/kubelet.sock');
});
