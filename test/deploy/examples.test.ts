// Every example and every servicemonitor/ object validates (schemas + unknown fields), and the
// autoscaling examples point at things that exist.
import t from 'tap';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, findObject, listFiles, readYamlDocs, rel } from './helpers/files.js';
import { type K8sObject, validateObject } from './helpers/schema.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Any = any;

const EXAMPLES = join(ROOT, 'deploy/examples');
const files = [...listFiles(EXAMPLES, /\.ya?ml$/), ...listFiles(join(ROOT, 'servicemonitor'), /\.ya?ml$/)]
  .filter((f) => !/kustomization\.ya?ml$/.test(f));
const docs = new Map<string, K8sObject[]>(files.map((f) => [rel(f), readYamlDocs(f)]));
const all = [...docs.values()].flat();
const objects = all.filter((d) => d.apiVersion && d.kind);
const workload = readYamlDocs(join(EXAMPLES, 'd-vllm-workload/workload.yaml'));

t.test('every example document validates against its schema, with no unknown fields', async (t) => {
  t.ok(objects.length >= 15, `${objects.length} objects`);
  for (const [file, list] of docs) {
    for (const doc of list) {
      if (!doc.apiVersion) {
        t.match(file, /prometheus-adapter-values\.yaml$/, `${file}: only Helm values files have no apiVersion`);
        continue;
      }
      t.same(validateObject(doc), [], `${file}: ${String(doc.kind)} ${(doc.metadata as Any)?.name}`);
    }
  }
});

t.test('each example folder has a README and at least one manifest', async (t) => {
  const dirs = readdirSync(EXAMPLES).filter((d) => statSync(join(EXAMPLES, d)).isDirectory());
  t.same(dirs.map((d) => d[0]), ['a', 'b', 'c', 'd', 'e', 'f']);
  for (const d of dirs) {
    t.ok(existsSync(join(EXAMPLES, d, 'README.md')), `${d}/README.md`);
    t.ok(listFiles(join(EXAMPLES, d), /\.ya?ml$/).length > 0, `${d} has YAML`);
  }
});

t.test('the workload requests a GPU and is what the examples scale', async (t) => {
  const dep = findObject(workload, 'Deployment', 'hpa-test') as Any;
  t.equal(dep.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu'], '1');
  const ns = dep.metadata.namespace;
  const targets = objects.filter((d) => d.kind === 'ScaledObject' || d.kind === 'HorizontalPodAutoscaler') as Any[];
  const onWorkload = targets.filter((o) => o.metadata.namespace === ns);
  t.ok(onWorkload.length >= 4, 'examples a, b, c, e scale it');
  for (const o of onWorkload) t.equal(o.spec.scaleTargetRef.name, 'hpa-test', `${o.kind} ${o.metadata.name}`);
});

t.test('prometheus triggers: one-series queries, numeric thresholds, explicit ignoreNullValues semantics', async (t) => {
  const triggers = objects.filter((d) => d.kind === 'ScaledObject').flatMap((o: Any) => o.spec.triggers).filter((x: Any) => x.type === 'prometheus');
  t.ok(triggers.length >= 2);
  for (const trig of triggers) {
    t.match(trig.metadata.query, /^(avg|sum|max|min)\(/, 'aggregated to one series');
    t.ok(Number.isFinite(Number(trig.metadata.threshold)) && Number(trig.metadata.threshold) > 0, 'threshold > 0');
    if (trig.metadata.ignoreNullValues !== undefined) t.match(trig.metadata.ignoreNullValues, /^(true|false)$/);
    t.notMatch(trig.metadata.query, /deployment=/, 'no exporter publishes a deployment label');
  }
});

t.test('external triggers point at the scaler Service and name the workload', async (t) => {
  const scalerSvc = readYamlDocs(join(ROOT, 'deploy/manifests/components/keda-scaler/service.yaml'))[0] as Any;
  const grpc = scalerSvc.spec.ports.find((p: Any) => p.name === 'grpc').port;
  const expected = `${scalerSvc.metadata.name}.nvml-exporter.svc.cluster.local:${grpc}`;
  const ext = objects.filter((d) => d.kind === 'ScaledObject') as Any[];
  let n = 0;
  for (const o of ext) {
    for (const trig of o.spec.triggers.filter((x: Any) => x.type === 'external' || x.type === 'external-push')) {
      n++;
      t.equal(trig.metadata.scalerAddress, expected, `${o.metadata.name}: scalerAddress`);
      t.ok(trig.metadata.deployment ?? trig.metadata.podNamePattern, `${o.metadata.name}: selects its pods`);
      if (trig.metadata.deployment) t.equal(trig.metadata.deployment, o.spec.scaleTargetRef.name, 'deployment = scale target');
    }
  }
  t.ok(n >= 4, 'e plus the three f forms');
  t.ok(ext.some((o) => o.spec.triggers.some((x: Any) => x.type === 'external-push')), 'an external-push example');
});
