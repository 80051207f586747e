// The pod informer as other parts use it (lib/kubernetes/api/pod-informer.ts, the PodMetadataView
// contract): node-scoped (the exporter) and cluster-wide (the scaler: which nodes run a workload's
// pods), against the simulated API server — lookups by UID and name, the change event and the
// generation, container IDs, deletes, and the health it reports.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimApiServer } from '../../lib/kubernetes/sim-api-server.js';
import { createPodInformer } from '../../lib/kubernetes/api/pod-informer.js';
import { waitUntil } from '../helpers/exporter.js';

t.test('node-scoped and cluster-wide views, lookups, changes and deletes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nvx-informer-'));
  const api = await startSimApiServer({
    pods: [
      { namespace: 'ml', name: 'web-5d8f7-a', uid: 'u-a', nodeName: 'node-1', labels: { 'pod-template-hash': '5d8f7' }, owner: { kind: 'ReplicaSet', name: 'web-5d8f7' }, containers: [{ name: 'srv', containerId: 'c0ffee' }] },
      { namespace: 'ml', name: 'web-5d8f7-b', uid: 'u-b', nodeName: 'node-2', labels: { 'pod-template-hash': '5d8f7' }, owner: { kind: 'ReplicaSet', name: 'web-5d8f7' } },
      { namespace: 'batch', name: 'train-0', uid: 'u-t', nodeName: 'node-2', owner: { kind: 'StatefulSet', name: 'train' } },
    ],
    bookmarkMs: 200,
  });
  const kubeconfig = api.writeKubeconfig(join(dir, 'kubeconfig.yaml'));
  const node = await createPodInformer({ nodeName: 'node-1', kubeconfig });
  const cluster = await createPodInformer({ kubeconfig, backoffMs: { first: 100, max: 200 } });
  t.teardown(async () => {
    node.stop();
    cluster.stop();
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  t.equal(node.syncedAt, null, 'null before the first list');
  await Promise.all([node.start(), cluster.start()]);
  t.same([...node.all()].map((p) => p.name), ['web-5d8f7-a'], 'node-scoped: only node-1');
  t.same([...cluster.all()].map((p) => `${p.nodeName}/${p.namespace}/${p.name}`).sort(), ['node-1/ml/web-5d8f7-a', 'node-2/batch/train-0', 'node-2/ml/web-5d8f7-b']);
  const a = node.byUid('u-a')!;
  t.same([a.workload, a.containers, a.phase], [{ kind: 'Deployment', name: 'web' }, [{ name: 'srv', containerId: 'c0ffee' }], 'Running']);
  t.equal(cluster.byName('batch', 'train-0')?.uid, 'u-t');
  t.equal(node.byUid('u-b'), undefined, 'another node\'s pod is not in the node view');
  // the scaler's question: which nodes run Deployment ml/web
  const nodes = new Set([...cluster.all()].filter((p) => p.namespace === 'ml' && p.workload.kind === 'Deployment' && p.workload.name === 'web').map((p) => p.nodeName));
  t.same([...nodes].sort(), ['node-1', 'node-2']);
  t.ok(node.syncedAt !== null && cluster.status().up);

  const gen = cluster.generation;
  let changes = 0;
  cluster.on('change', () => changes++);
  api.setPod({ namespace: 'ml', name: 'web-5d8f7-c', uid: 'u-c', nodeName: 'node-3', labels: { 'pod-template-hash': '5d8f7' }, owner: { kind: 'ReplicaSet', name: 'web-5d8f7' } });
  await waitUntil(() => cluster.byUid('u-c'), 'the added pod');
  t.ok(cluster.generation > gen && changes >= 1, 'the generation moved and change was emitted');
  t.equal(node.byUid('u-c'), undefined, 'not on node-1');
  api.deletePod('ml', 'web-5d8f7-b');
  await waitUntil(() => cluster.byUid('u-b') === undefined, 'the deleted pod gone');
  t.equal(cluster.byName('ml', 'web-5d8f7-b'), undefined);
  // one namespace's pods, from the cache kept by namespace (the scaler's demand reads only these)
  t.same([...cluster.inNamespace('ml')].map((p) => p.name).sort(), ['web-5d8f7-a', 'web-5d8f7-c'], 'the pods of namespace ml, after the add and the delete');
  t.same([...cluster.inNamespace('batch')].map((p) => p.name), ['train-0']);
  t.same([...cluster.inNamespace('absent')], [], 'a namespace with no pods');
  t.same([...cluster.inNamespace('')], [], 'an empty name is no namespace, not every one');

  api.setBehaviour({ failStatus: 503 });
  api.endWatches();
  await waitUntil(() => !cluster.status().up, 'the failure reported');
  t.ok((cluster.status().errorsByReason.server_error ?? 0) >= 1);
  t.ok(cluster.byUid('u-a'), 'the last pods are still answered while the API fails');
  api.setBehaviour({});
  await waitUntil(() => cluster.status().up, 'up again', 15000);
});
