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
  t.same(dirs.map((d) => d[0]), ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']);
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
  const onWorkload = targets.filter((o) => o.metadata.namespace === ns && o.metadata.name !== 'hpa-test-memory-from-zero');
  t.ok(onWorkload.length >= 4, 'examples a, b, c, e, g, h, i scale it');
  for (const o of onWorkload) t.equal(o.spec.scaleTargetRef.name, 'hpa-test', `${o.kind} ${o.metadata.name}`);
});

t.test('prometheus triggers: one-series queries, numeric thresholds, explicit ignoreNullValues semantics', async (t) => {
  const triggers = objects.filter((d) => d.kind === 'ScaledObject').flatMap((o: Any) => o.spec.triggers).filter((x: Any) => x.type === 'prometheus');
  t.ok(triggers.length >= 2);
  for (const trig of triggers) {
    t.match(trig.metadata.query, /^(avg|sum|max|min)\(/, 'aggregated to one series');
    t.notMatch(trig.metadata.query, /deployment=/, 'no exporter publishes a deployment label');
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

t.test("the metrics-api example reads the exporter's /api/v1/workload as KEDA does, with the right HPA arithmetic", async (t) => {
  const so = findObject(readYamlDocs(join(EXAMPLES, 'h-keda-metrics-api/scaledobject.yaml')), 'ScaledObject') as Any;
  t.same(validateObject(so), [], 'valid against the KEDA ScaledObject schema');
  const trig = so.spec.triggers[0];
  t.equal(trig.type, 'metrics-api');
  t.equal(trig.metricType, 'AverageValue', 'sum over GPUs against a per-GPU target: AverageValue');
  t.equal(trig.metadata.aggregateFromKubeServiceEndpoints, 'true');
  t.equal(trig.metadata.aggregationType, 'sum');
  t.equal(trig.metadata.format, 'json');
  const url = new URL(trig.metadata.url);
  const svc = readYamlDocs(join(ROOT, 'deploy/manifests/base/service.yaml')).find((d) => d.kind === 'Service') as Any;
  t.equal(url.hostname, `${svc.metadata.name}.nvml-exporter.svc.cluster.local`, 'the exporter Service');
  const port = svc.spec.ports.find((p: Any) => p.name === 'metrics');
  t.equal(port.targetPort, 'metrics', "the Service targets the exporter's container port named metrics, 9400");
  t.equal(url.port, '9400', 'the pod port: KEDA dials each endpoint on the port of the url');
  t.equal(url.pathname, '/api/v1/workload');
  t.same(Object.fromEntries(url.searchParams), { namespace: so.metadata.namespace, workload: so.spec.scaleTargetRef.name });
  // the route answers that URL, and valueLocation finds a number in the answer
  const { buildServer } = await import('../../lib/server/server.js');
  const { valueAt } = await import('../helpers/metrics-api-client.js');
  const doc = {
    apiVersion: 1 as const, hostname: 'n1', timestamp: new Date().toISOString(), ageSeconds: 0.1, stale: false, driverVersion: '580.65.06',
    podResources: { enabled: true, up: true, ageSeconds: 0.2 },
    gpus: [{ gpu: 0, uuid: 'GPU-0', pciBusId: '00000000:10:00.0', device: 'nvidia0', modelName: 'H100', serial: null, migEnabled: false, lost: false,
      readings: { DCGM_FI_DEV_GPU_UTIL: 72 }, pods: [{ namespace: so.metadata.namespace, pod: `${so.spec.scaleTargetRef.name}-5d8-abcde`, container: 'vllm' }], mig: [] }],
  };
  const app = buildServer({ metrics: () => ({ gpuText: '', selfText: '' }), ready: () => ({ ok: true, reason: '' }), gpusDocument: () => doc, landing: { title: 'x', description: 'x', links: [] } });
  const r = await app.inject(`${url.pathname}${url.search}`);
  t.equal(r.statusCode, 200);
  t.equal(valueAt(r.json(), trig.metadata.valueLocation), 72);
  t.ok(Number(trig.metadata.targetValue) > 0 && Number(trig.metadata.activationTargetValue) >= 0);
});

t.test('the TLS example: TriggerAuthentication gives caCert, tlsClientCert and tlsClientKey from the cert-manager Secret', async (t) => {
  const docs = readYamlDocs(join(EXAMPLES, 'i-scaler-tls-cert-manager/scaledobject.yaml'));
  const ta = findObject(docs, 'TriggerAuthentication') as Any;
  t.same(ta.spec.secretTargetRef.map((r: Any) => [r.parameter, r.key]), [['caCert', 'ca.crt'], ['tlsClientCert', 'tls.crt'], ['tlsClientKey', 'tls.key']]);
  const certs = readYamlDocs(join(EXAMPLES, 'i-scaler-tls-cert-manager/certificates.yaml')) as Any[];
  const client = certs.find((c) => c.kind === 'Certificate' && c.spec.secretName === ta.spec.secretTargetRef[0].name);
  t.ok(client, 'the Secret is a cert-manager Certificate\'s');
  t.equal(client.metadata.namespace, ta.metadata.namespace, 'in the TriggerAuthentication\'s namespace');
  const server = certs.find((c) => c.kind === 'Certificate' && c.spec.secretName === 'nvml-exporter-scaler-grpc-tls');
  const so = findObject(docs, 'ScaledObject') as Any;
  const host = so.spec.triggers[0].metadata.scalerAddress.split(':')[0];
  t.ok(server.spec.dnsNames.includes(host), 'the server certificate names the address KEDA dials');
  t.equal(so.spec.triggers[0].authenticationRef.name, ta.metadata.name);
});

t.test('the composite example: scalingModifiers over named triggers, a fallback, activation from zero not on memory', async (t) => {
  const docs = readYamlDocs(join(EXAMPLES, 'j-keda-composite-safe/scaledobject.yaml')) as Any[];
  const comp = docs.find((d) => d.metadata.name === 'hpa-test-gpu-and-queue');
  const names = comp.spec.triggers.map((x: Any) => x.name);
  for (const n of names) t.match(comp.spec.advanced.scalingModifiers.formula, new RegExp(`\\b${n}\\b`), `the formula uses ${n}`);
  t.ok(comp.spec.fallback.failureThreshold > 0 && comp.spec.fallback.replicas > 0);
  t.match(comp.spec.triggers.find((x: Any) => x.type === 'prometheus').metadata.query, /vllm:num_requests_waiting/);
  const zero = docs.find((d) => d.metadata.name === 'hpa-test-memory-from-zero');
  t.equal(zero.spec.minReplicaCount, 0);
  const activator = zero.spec.triggers.find((x: Any) => x.type === 'prometheus');
  t.equal(activator.metadata.activationThreshold, '0', 'the queue activates from zero');
  t.match(activator.metadata.query, /or vector\(0\)$/, 'and reads 0, not nothing, when idle');
});
