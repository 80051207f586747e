// The kustomize base and every overlay render offline, validate, and carry the settings the
// DaemonSet, Services, ServiceMonitor and KEDA scaler depend on.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, findObject, kubectlSkipReason, kustomize, rel } from './helpers/files.js';
import { type K8sObject, validateObject } from './helpers/schema.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Any = any;

const RENDERS = [
  'deploy/manifests',
  'deploy/manifests/base',
  'deploy/manifests/overlays/monitoring',
  'deploy/manifests/overlays/keda-scaler',
  'deploy/manifests/overlays/full',
  'deploy/manifests/overlays/pod-metadata',
  'deploy/manifests/overlays/pod-usage',
  'deploy/manifests/overlays/keda-scaler-pod-view',
  'deploy/examples/c-aks-managed-prometheus/exporter',
];

const skip = kubectlSkipReason();
const rendered = new Map<string, K8sObject[]>();
if (!skip) for (const dir of RENDERS) rendered.set(dir, kustomize(join(ROOT, dir)));

const opts = skip ? { skip } : {};

t.test('every render validates (schemas and unknown fields)', opts, async (t) => {
  for (const [dir, docs] of rendered) {
    t.ok(docs.length >= 5, `${dir} renders objects`);
    for (const doc of docs) {
      t.same(validateObject(doc), [], `${dir}: ${String(doc.kind)} ${(doc.metadata as Any)?.name}`);
    }
  }
});

t.test('the base holds the objects the issue lists, all namespaced to nvml-exporter', opts, async (t) => {
  const docs = rendered.get('deploy/manifests')!;
  t.same(docs.map((d) => d.kind).sort(), ['ConfigMap', 'DaemonSet', 'Namespace', 'NetworkPolicy', 'Service', 'Service', 'ServiceAccount']);
  for (const d of docs.filter((d) => d.kind !== 'Namespace')) t.equal((d.metadata as Any).namespace, 'nvml-exporter', `${d.kind} namespace`);
  const cm = findObject(docs, 'ConfigMap');
  t.equal((cm.data as Any)['counters.csv'], readFileSync(join(ROOT, 'etc/default-counters.csv'), 'utf8'), 'the image default counters CSV');
});

t.test('the DaemonSet: GPU nodes, pod-resources mount, env, probes, security, rolling update', opts, async (t) => {
  const docs = rendered.get('deploy/manifests')!;
  const ds = findObject(docs, 'DaemonSet') as Any;
  const pod = ds.spec.template.spec;
  const c = pod.containers[0];
  t.equal(ds.spec.updateStrategy.type, 'RollingUpdate');
  t.same(pod.nodeSelector, { 'nvidia.com/gpu.present': 'true' });
  t.ok(pod.tolerations.some((x: Any) => x.key === 'nvidia.com/gpu' && x.operator === 'Exists' && x.effect === 'NoSchedule'), 'tolerates nvidia.com/gpu');
  t.equal(pod.priorityClassName, 'system-node-critical');
  t.equal(c.image, 'nvml-exporter:0.1.0', 'image tag set by kustomize images');
  t.ok(c.args.includes('-k'), '-k on');
  const env = Object.fromEntries(c.env.map((e: Any) => [e.name, e]));
  t.equal(env.NODE_NAME.valueFrom.fieldRef.fieldPath, 'spec.nodeName');
  t.equal(env.DCGM_EXPORTER_LISTEN.value, ':9400');
  t.same(c.ports, [{ name: 'metrics', containerPort: 9400, protocol: 'TCP' }]);
  t.equal(c.livenessProbe.httpGet.path, '/health');
  t.equal(c.readinessProbe.httpGet.path, '/ready');
  const mount = c.volumeMounts.find((m: Any) => m.mountPath === '/var/lib/kubelet/pod-resources');
  t.ok(mount?.readOnly, 'pod-resources mounted read-only');
  const vol = pod.volumes.find((v: Any) => v.name === mount.name);
  t.same(vol.hostPath, { path: '/var/lib/kubelet/pod-resources', type: 'Directory' }, 'the directory, not the socket');
  const cfgMount = c.volumeMounts.find((m: Any) => m.name === 'counters');
  const fIndex = c.args.indexOf('-f');
  t.ok(c.args[fIndex + 1].startsWith(`${cfgMount.mountPath}/`), '-f points into the counters mount');
  const cm = findObject(docs, 'ConfigMap') as Any;
  t.equal(pod.volumes.find((v: Any) => v.name === 'counters').configMap.name, cm.metadata.name, 'hashed ConfigMap name is referenced');
  const sc = c.securityContext;
  t.equal(sc.readOnlyRootFilesystem, true);
  t.equal(sc.allowPrivilegeEscalation, false);
  t.equal(sc.privileged, false);
  t.same(sc.capabilities, { drop: ['ALL'] });
  t.equal(sc.runAsUser, 0, 'root only for the kubelet socket');
  t.equal(sc.runAsNonRoot, false);
  t.same(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' });
  t.ok(c.args.includes('--enable-exporter-metrics'), 'self-metrics on: the alerts use them');
  for (const [k, v] of [['NVIDIA_VISIBLE_DEVICES', 'all'], ['NVIDIA_DRIVER_CAPABILITIES', 'utility'], ['NVIDIA_MIG_MONITOR_DEVICES', 'all']]) {
    t.equal(env[k!]?.value, v, `${k}=${v}`);
  }
  const tmp = c.volumeMounts.find((m: Any) => m.mountPath === '/tmp');
  t.ok(pod.volumes.find((v: Any) => v.name === tmp?.name)?.emptyDir, '/tmp is an emptyDir (the only writable path)');
  t.same(pod.volumes.filter((v: Any) => v.hostPath).map((v: Any) => v.hostPath.path), ['/var/lib/kubelet/pod-resources'], 'the only host path');
  t.ok(c.resources.limits.memory && c.resources.requests.memory, 'memory request and limit set');
  t.equal(pod.automountServiceAccountToken, false);
});

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

t.test('the ServiceMonitor selects exactly the scrape Service, by labels and port name', opts, async (t) => {
  const docs = rendered.get('deploy/manifests/overlays/monitoring')!;
  const sm = findObject(docs, 'ServiceMonitor', 'nvml-exporter') as Any;
  const services = docs.filter((d) => d.kind === 'Service') as Any[];
  const matched = services.filter((s) => selects(sm.spec.selector.matchLabels, s.metadata.labels));
  t.same(matched.map((s) => s.metadata.name), ['nvml-exporter'], 'not the headless discovery Service');
  const svc = matched[0];
  const namespaces: string[] = sm.spec.namespaceSelector?.matchNames ?? [sm.metadata.namespace];
  t.ok(namespaces.includes(svc.metadata.namespace), 'the ServiceMonitor looks in the Service\'s namespace');
  const ep = sm.spec.endpoints[0];
  t.equal(ep.port, 'metrics');
  t.ok(svc.spec.ports.some((p: Any) => p.name === 'metrics' && p.port === 9400));
  t.equal(ep.honorLabels, true);
  t.equal(ep.interval, '15s');
  const ds = findObject(docs, 'DaemonSet') as Any;
  t.ok(selects(svc.spec.selector, ds.spec.template.metadata.labels), 'the Service selects the DaemonSet pods');
});

t.test('the headless Service finds the exporter pods for the scaler', opts, async (t) => {
  const docs = rendered.get('deploy/manifests')!;
  const nodes = findObject(docs, 'Service', 'nvml-exporter-nodes') as Any;
  const ds = findObject(docs, 'DaemonSet') as Any;
  t.equal(nodes.spec.clusterIP, 'None');
  t.ok(selects(nodes.spec.selector, ds.spec.template.metadata.labels));
  t.equal(nodes.spec.ports[0].port, 9400);
});

t.test('the KEDA scaler: Deployment, gRPC Service on 6000, discovery through the headless Service', opts, async (t) => {
  const docs = rendered.get('deploy/manifests/overlays/keda-scaler')!;
  const dep = findObject(docs, 'Deployment', 'nvml-exporter-scaler') as Any;
  const svc = findObject(docs, 'Service', 'nvml-exporter-scaler') as Any;
  const nodes = findObject(docs, 'Service', 'nvml-exporter-nodes') as Any;
  const c = dep.spec.template.spec.containers[0];
  t.equal(c.args[0], 'scaler');
  const arg = (flag: string) => c.args[c.args.indexOf(flag) + 1];
  t.equal(arg('--grpc-address'), ':6000');
  t.equal(arg('-a'), ':9401');
  t.equal(arg('--exporters-dns'), `${nodes.metadata.name}.$(POD_NAMESPACE).svc.cluster.local:9400`);
  t.ok(c.env.some((e: Any) => e.name === 'POD_NAMESPACE' && e.valueFrom.fieldRef.fieldPath === 'metadata.namespace'), '$(POD_NAMESPACE) is defined');
  t.equal(c.image, 'nvml-exporter:0.1.0');
  t.equal(svc.spec.type, 'ClusterIP');
  t.ok(svc.spec.ports.some((p: Any) => p.port === 6000 && p.name === 'grpc'));
  t.ok(selects(svc.spec.selector, dep.spec.template.metadata.labels));
  t.equal(c.securityContext.readOnlyRootFilesystem, true);
  t.equal(dep.spec.template.spec.securityContext.runAsNonRoot, true);
  t.equal(svc.metadata.namespace, 'nvml-exporter', 'scalerAddress nvml-exporter-scaler.nvml-exporter.svc…');
  t.notOk(docs.some((d) => /Role/.test(String(d.kind))), 'no RBAC');
  // highly available: two replicas on different nodes, at most one down in a drain, readiness = a fresh view
  t.equal(dep.spec.replicas, 2);
  const term = dep.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
  t.equal(term.topologyKey, 'kubernetes.io/hostname');
  t.ok(selects(term.labelSelector.matchLabels, dep.spec.template.metadata.labels), 'the anti-affinity selects the scaler pods');
  const pdb = findObject(docs, 'PodDisruptionBudget', 'nvml-exporter-scaler') as Any;
  t.equal(pdb.spec.maxUnavailable, 1);
  t.ok(selects(pdb.spec.selector.matchLabels, dep.spec.template.metadata.labels), 'the PDB selects the scaler pods');
  t.equal(c.readinessProbe.httpGet.path, '/ready');
});

t.test('the AKS overlay keeps the base and selects AKS GPU nodes', opts, async (t) => {
  const docs = rendered.get('deploy/examples/c-aks-managed-prometheus/exporter')!;
  const ds = findObject(docs, 'DaemonSet') as Any;
  t.same(ds.spec.template.spec.nodeSelector, { 'kubernetes.azure.com/accelerator': 'nvidia' });
  t.ok(ds.spec.template.spec.tolerations.some((x: Any) => x.key === 'sku' && x.value === 'gpu'));
  t.equal(findObject(docs, 'ServiceMonitor').apiVersion, 'azmonitoring.coreos.com/v1');
  t.comment(`rendered from ${rel(join(ROOT, 'deploy/examples/c-aks-managed-prometheus/exporter'))}`);
});

t.test('pod metadata and the counters ConfigMap: the minimal RBAC, the token, the options, and none of it in the base', opts, async (t) => {
  const docs = rendered.get('deploy/manifests/overlays/pod-metadata')!;
  const cr = findObject(docs, 'ClusterRole', 'nvml-exporter-pod-metadata') as Any;
  t.same(cr.rules, [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }], 'pods get/list/watch only');
  const crb = findObject(docs, 'ClusterRoleBinding', 'nvml-exporter-pod-metadata') as Any;
  t.same(crb.subjects, [{ kind: 'ServiceAccount', name: 'nvml-exporter', namespace: 'nvml-exporter' }]);
  const role = findObject(docs, 'Role', 'nvml-exporter-counters') as Any;
  t.same(role.rules, [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['nvml-exporter-counters-api'], verbs: ['get', 'list', 'watch'] }],
    'configmaps: the one ConfigMap only');
  t.equal(role.metadata.namespace, 'nvml-exporter');
  const cm = findObject(docs, 'ConfigMap', 'nvml-exporter-counters-api') as Any;
  t.equal(cm.data.metrics, readFileSync(join(ROOT, 'etc/default-counters.csv'), 'utf8'), 'the component\'s counters.csv is the image default');
  const ds = findObject(docs, 'DaemonSet') as Any;
  const c = ds.spec.template.spec.containers[0];
  const env = (n: string) => c.env.find((e: Any) => e.name === n)?.value;
  t.equal(ds.spec.template.spec.automountServiceAccountToken, true);
  t.equal((findObject(docs, 'ServiceAccount', 'nvml-exporter') as Any).automountServiceAccountToken, true);
  t.same([env('DCGM_EXPORTER_KUBERNETES_ENABLE_POD_LABELS'), env('DCGM_EXPORTER_KUBERNETES_ENABLE_POD_UID'), env('NVML_EXPORTER_KUBERNETES_ENABLE_WORKLOAD_LABEL')],
    ['true', 'true', 'true']);
  t.ok(env('DCGM_EXPORTER_KUBERNETES_POD_LABEL_ALLOWLIST_REGEX'), 'an allowlist (required with pod labels)');
  t.equal(env('DCGM_EXPORTER_CONFIGMAP_DATA'), `nvml-exporter:${cm.metadata.name}`);
  t.notOk(c.args.includes('-f'), '-f is dropped: -m names the counters');
  const base = rendered.get('deploy/manifests')!;
  t.notOk(base.some((d) => /Role/.test(String(d.kind))), 'the base has no RBAC');
  t.equal((findObject(base, 'DaemonSet') as Any).spec.template.spec.automountServiceAccountToken, false, 'and no token');
});

t.test('the pod-usage overlay: the host /proc read-only, the env vars that switch per-pod usage on, no host PID namespace', opts, async (t) => {
  const ds = findObject(rendered.get('deploy/manifests/overlays/pod-usage')!, 'DaemonSet') as Any;
  const pod = ds.spec.template.spec;
  const c = pod.containers[0];
  const env = Object.fromEntries(c.env.filter((e: Any) => e.value !== undefined).map((e: Any) => [e.name, e.value]));
  t.equal(env.NVML_EXPORTER_POD_USAGE, 'true');
  t.equal(env.NVML_EXPORTER_HOST_PROC, '/host/proc');
  const mount = c.volumeMounts.find((m: Any) => m.name === 'host-proc');
  t.same(mount, { name: 'host-proc', mountPath: '/host/proc', readOnly: true }, 'mounted read-only');
  t.same(pod.volumes.find((v: Any) => v.name === 'host-proc').hostPath, { path: '/proc', type: 'Directory' });
  t.notOk(pod.hostPID, 'no host PID namespace');
  t.ok(c.volumeMounts.some((m: Any) => m.name === 'pod-resources'), 'the base mounts are kept');
  t.ok(c.args.includes('-k'), 'the base args are kept');
});

t.test('the scaler with a pod view: list/watch pods cluster-wide for its ServiceAccount, the token, --kubernetes-api on; none of it without the component', opts, async (t) => {
  const docs = rendered.get('deploy/manifests/overlays/keda-scaler-pod-view')!;
  const cr = findObject(docs, 'ClusterRole', 'nvml-exporter-scaler-pods') as Any;
  t.same(cr.rules, [{ apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] }], 'pods list/watch only');
  const crb = findObject(docs, 'ClusterRoleBinding', 'nvml-exporter-scaler-pods') as Any;
  t.same(crb.subjects, [{ kind: 'ServiceAccount', name: 'nvml-exporter-scaler', namespace: 'nvml-exporter' }]);
  const dep = findObject(docs, 'Deployment', 'nvml-exporter-scaler') as Any;
  t.equal(dep.spec.template.spec.automountServiceAccountToken, true);
  t.equal((findObject(docs, 'ServiceAccount', 'nvml-exporter-scaler') as Any).automountServiceAccountToken, true);
  t.equal(dep.spec.template.spec.containers[0].env.find((e: Any) => e.name === 'NVML_EXPORTER_SCALER_KUBERNETES_API')?.value, 'true');
  const plain = rendered.get('deploy/manifests/overlays/keda-scaler')!;
  t.notOk(plain.some((d) => /Role/.test(String(d.kind))), 'the plain scaler overlay has no RBAC');
  t.equal((findObject(plain, 'Deployment', 'nvml-exporter-scaler') as Any).spec.template.spec.automountServiceAccountToken, false, 'and no token');
});
