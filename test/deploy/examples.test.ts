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
  t.same(dirs.map((d) => d[0]), ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
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

t.test('per-pod usage example (g): the families it uses exist, the panel is valid, the cost rules record per namespace', async (t) => {
  const { POD_USAGE_FAMILIES } = await import('../../lib/exposition/pod-usage.js');
  const { metricNames } = await import('./helpers/promql.js');
  const { readFileSync } = await import('node:fs');
  const ours = new Set([...POD_USAGE_FAMILIES.map((f) => f.name), 'nvml_exporter_gpu_unattributed_processes']);
  const dir = join(EXAMPLES, 'g-pod-usage-shared-gpu');
  const rule = findObject(readYamlDocs(join(dir, 'prometheusrule.yaml')), 'PrometheusRule', 'nvml-exporter-gpu-cost') as Any;
  const records = rule.spec.groups.flatMap((g: Any) => g.rules);
  const recorded = new Set(records.map((r: Any) => r.record));
  t.ok(recorded.has('namespace:nvml_exporter_gpu_cost_dollars_per_hour:usage'), 'a cost-per-namespace rule');
  const so = findObject(readYamlDocs(join(dir, 'scaledobject.yaml')), 'ScaledObject', 'vllm-own-gpu-share-scaler') as Any;
  const panel = JSON.parse(readFileSync(join(dir, 'grafana-panel.json'), 'utf8'));
  t.equal(panel.type, 'timeseries');
  t.equal(panel.fieldConfig.defaults.unit, 'percentunit', 'ratios shown as percent');
  const exprs: string[] = [...records.map((r: Any) => String(r.expr)), String(so.spec.triggers[0].metadata.query), ...panel.targets.map((x: Any) => String(x.expr))];
  for (const e of exprs) {
    for (const n of metricNames(e)) {
      if (!n.startsWith('nvml_exporter_pod_') && !n.startsWith('nvml_exporter_gpu_')) continue;
      t.ok(ours.has(n), `${n} is a family the exporter serves`);
    }
    for (const sel of e.matchAll(/rate\((nvml_exporter_pod_gpu_\w+)/g)) t.match(sel[1], /_total$/, `rate() only over counters: ${sel[1]}`);
  }
  t.match(so.spec.triggers[0].metadata.query, /allocated="true"/, 'the trigger counts only GPUs the replicas were given');
  t.ok(Number(so.spec.triggers[0].metadata.threshold) > 0 && Number(so.spec.triggers[0].metadata.threshold) <= 1, 'a ratio threshold');
});
