// The scaler's workload demand over a pod view whose pods keep changing (a live informer at
// thousands of nodes): only the namespaces of the workloads KEDA asks about are read, and a change
// elsewhere keeps each workload's node map and the demand's version (so cached answers stay valid
// and the worker is not sent the same scopes again).
import t from 'tap';
import { WorkloadDemand } from '../../lib/scaler/demand.js';
import { parseQuery } from '../../lib/scaler/query.js';
import type { PodMetadataView } from '../../lib/contract/pod-metadata.js';
import { MemoryPodView } from '../helpers/pod-view.js';

const web = parseQuery({ name: 'web', namespace: 'ai', scalerMetadata: {} });
const nodesOf = (m: ReadonlyMap<string, ReadonlySet<string>> | null) =>
  m ? Object.fromEntries([...m].map(([n, pods]) => [n, [...pods].sort()]).sort()) : null;

/** the same pods behind a view without inNamespace: the demand indexes all() itself */
const withoutNamespaces = (v: MemoryPodView): PodMetadataView => ({
  byUid: (u) => v.byUid(u), byName: (ns, n) => v.byName(ns, n), all: () => v.all(),
  get generation() { return v.generation; }, get syncedAt() { return v.syncedAt; },
});

for (const kind of ['with inNamespace', 'without inNamespace'] as const) {
  t.test(`pod churn elsewhere keeps the workload's nodes; a change of its pods moves them (${kind})`, async (t) => {
    let now = 1_000_000;
    const pods = new MemoryPodView();
    pods.set({ namespace: 'ai', name: 'web-5d8-aaaaa', nodeName: 'node-a' });
    pods.set({ namespace: 'ai', name: 'web-5d8-bbbbb', nodeName: 'node-b' });
    pods.set({ namespace: 'ai', name: 'web-5d8-ccccc', nodeName: '' }); // not scheduled yet
    pods.set({ namespace: 'ai', name: 'web-5d8-ddddd', nodeName: 'node-d', phase: 'Succeeded' });
    pods.set({ namespace: 'ai', name: 'other-7c9-eeeee', nodeName: 'node-e' });
    pods.set({ namespace: 'batch', name: 'web-5d8-fffff', nodeName: 'node-f' }); // same name, other namespace
    const view = kind === 'with inNamespace' ? pods : withoutNamespaces(pods);
    const demand = new WorkloadDemand(view, { idleTimeoutMs: 60_000, rebuildMs: 500, now: () => now });

    const first = demand.touch(web);
    t.same(nodesOf(first), { 'node-a': ['web-5d8-aaaaa'], 'node-b': ['web-5d8-bbbbb'] }, 'scheduled, running pods of the workload in its namespace');
    t.same(new Set(demand.neededNodes()), new Set(['node-a', 'node-b']));
    const v0 = demand.version;
    pods.allCalls = 0;
    pods.namespacesRead = [];

    // 200 changes in another namespace, over several rebuilds
    for (let i = 0; i < 200; i++) {
      pods.set({ namespace: 'batch', name: `train-${i}`, nodeName: `node-${i % 40}` });
      if (i % 50 === 0) {
        now += 600;
        demand.neededNodes();
      }
    }
    now += 600;
    t.equal(demand.nodesFor(web), first, 'the same map: cached answers stay valid');
    t.equal(demand.version, v0, 'the demand has not moved');
    if (kind === 'with inNamespace') {
      t.equal(pods.allCalls, 0, 'the cluster\'s pods were not listed');
      t.ok(pods.namespacesRead.length > 0 && pods.namespacesRead.every((ns) => ns === 'ai'), `only the workload's namespace was read (${[...new Set(pods.namespacesRead)].join(',')})`);
    } else {
      t.ok(pods.allCalls > 0, 'a view without inNamespace is indexed from all()');
    }

    // a new replica of the workload, and one finishing
    pods.set({ namespace: 'ai', name: 'web-5d8-ggggg', nodeName: 'node-g' });
    pods.set({ namespace: 'ai', name: 'web-5d8-bbbbb', nodeName: 'node-b', phase: 'Succeeded' });
    now += 600;
    const v1 = demand.version;
    t.not(v1, v0, 'the demand moved');
    t.not(demand.nodesFor(web), first, 'a new map');
    t.same(nodesOf(demand.nodesFor(web)), { 'node-a': ['web-5d8-aaaaa'], 'node-g': ['web-5d8-ggggg'] });
    t.equal(demand.scopeFor('node-b'), null, 'a node the workload left is not pulled for it');
    t.same([...demand.scopeFor('node-g')!.pods], ['web-5d8-ggggg']);

    // within rebuildMs the index may lag: a change is seen at the next rebuild, not before
    pods.set({ namespace: 'ai', name: 'web-5d8-hhhhh', nodeName: 'node-h' });
    now += 100;
    t.equal(demand.version, v1, 'not rebuilt within rebuildMs');
    now += 500;
    t.ok(demand.nodesFor(web) !== null && demand.version !== v1 && demand.nodesFor(web)!.has('node-h'), 'seen at the next rebuild');
  });
}
