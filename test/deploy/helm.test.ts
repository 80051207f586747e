// The Helm chart, checked offline (helm cannot be installed on these machines; the chart is not
// rendered in CI): files parse, every .Values path exists, and each template's skeleton agrees
// with the kustomize base.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse } from 'yaml';
import { ROOT, findObject, listFiles, readYamlDocs } from './helpers/files.js';
import { lookup, skeleton, valuesPaths } from './helpers/helm-skeleton.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Any = any;

const CHART = join(ROOT, 'deploy/helm/nvml-exporter');
const BASE = join(ROOT, 'deploy/manifests/base');
const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8'));
const templates = listFiles(join(CHART, 'templates'), /\.(ya?ml|tpl|txt)$/);
const yamlTemplates = templates.filter((f) => /\.ya?ml$/.test(f));
const skel = new Map(yamlTemplates.map((f) => [basename(f), skeleton(readFileSync(f, 'utf8'), values, f)]));
const base = [...['daemonset', 'service', 'service-nodes'].flatMap((n) => readYamlDocs(join(BASE, `${n}.yaml`)))];
const scalerBase = readYamlDocs(join(ROOT, 'deploy/manifests/components/keda-scaler/deployment.yaml'));

t.test('Chart.yaml and values.yaml parse', async (t) => {
  const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8'));
  t.equal(chart.apiVersion, 'v2');
  t.equal(chart.name, 'nvml-exporter');
  t.match(chart.version, /^\d+\.\d+\.\d+/);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  t.equal(chart.appVersion, pkg.version, 'appVersion follows package.json');
  t.type(values, 'object');
});

t.test('every .Values path used in a template exists in values.yaml', async (t) => {
  let count = 0;
  for (const file of templates) {
    for (const path of valuesPaths(readFileSync(file, 'utf8'))) {
      count++;
      t.ok(lookup(values, path).found, `${basename(file)}: .Values.${path}`);
    }
  }
  t.ok(count > 30, `${count} paths checked`);
});

t.test('the knobs users expect are in values.yaml', async (t) => {
  for (const p of ['image.repository', 'image.tag', 'resources', 'nodeSelector', 'tolerations', 'affinity', 'runtimeClassName',
    'priorityClassName', 'extraArgs', 'extraEnv', 'counters.csv', 'counters.existingConfigMap', 'serviceMonitor.enabled',
    'serviceMonitor.interval', 'serviceMonitor.honorLabels', 'serviceMonitor.relabelings', 'prometheusRule.enabled', 'scaler.enabled']) {
    t.ok(lookup(values, p).found, p);
  }
  t.equal(values.serviceMonitor.honorLabels, true);
  t.equal(values.serviceMonitor.interval, '15s');
});

t.test('every template skeleton parses, with the same kinds as the kustomize objects', async (t) => {
  const kinds = [...skel.values()].flat().map((d) => d.kind).sort();
  t.same(kinds, ['ConfigMap', 'DaemonSet', 'Deployment', 'NetworkPolicy', 'NetworkPolicy', 'PrometheusRule', 'Secret', 'Service', 'Service', 'Service', 'ServiceAccount', 'ServiceMonitor']);
});

t.test('the DaemonSet skeleton matches the base: port, probes, mounts, env, security', async (t) => {
  const h = (skel.get('daemonset.yaml')![0] as Any).spec.template.spec.containers[0];
  const k = (findObject(base, 'DaemonSet') as Any).spec.template.spec.containers[0];
  t.same(h.ports, k.ports, 'container port name and number');
  // probes come from the "nvml-exporter.probe" helper (HTTPS with TLS, tcpSocket with basic auth)
  const dsText = readFileSync(join(CHART, 'templates/daemonset.yaml'), 'utf8');
  t.match(dsText, `livenessProbe:\n            {{- include "nvml-exporter.probe" (dict "path" "${k.livenessProbe.httpGet.path}" "root" $) | nindent 12 }}`);
  t.match(dsText, `readinessProbe:\n            {{- include "nvml-exporter.probe" (dict "path" "${k.readinessProbe.httpGet.path}" "root" $) | nindent 12 }}`);
  const helpers = readFileSync(join(CHART, 'templates/_helpers.tpl'), 'utf8');
  t.match(helpers, /httpGet:\n {2}path: \{\{ \.path \}\}\n {2}port: metrics\n {2}\{\{- if and \.root\.Values\.webConfig\.enabled \.root\.Values\.webConfig\.tls\.secretName \}\}\n {2}scheme: HTTPS/);
  t.match(helpers, /if and \.root\.Values\.webConfig\.enabled \.root\.Values\.webConfig\.basicAuth\.users \}\}\ntcpSocket:\n {2}port: metrics/);
  // the web config's env and mounts exist only with webConfig.enabled (the skeleton keeps `if` bodies)
  const webOnly = (x: string) => x === 'DCGM_EXPORTER_WEB_CONFIG_FILE' || x.startsWith('/etc/nvml-exporter/web') || x.startsWith('/etc/nvml-exporter/tls');
  t.same(h.volumeMounts.filter((m: Any) => !webOnly(m.mountPath)).map((m: Any) => [m.mountPath, m.readOnly ?? false]), k.volumeMounts.map((m: Any) => [m.mountPath, m.readOnly ?? false]), 'mount paths');
  t.same(h.env.map((e: Any) => e.name).filter((n: string) => !webOnly(n)), k.env.map((e: Any) => e.name), 'env names');
  t.equal(h.env.find((e: Any) => e.name === 'DCGM_EXPORTER_LISTEN').value, ':9400');
  t.ok(h.args.includes('-k'), '-k with kubernetes.enabled');
  t.same(values.securityContext, k.securityContext, 'values.securityContext is the base container securityContext');
  t.same(values.resources, k.resources, 'same resources');
  t.same(values.nodeSelector, (findObject(base, 'DaemonSet') as Any).spec.template.spec.nodeSelector);
  t.same(values.tolerations, (findObject(base, 'DaemonSet') as Any).spec.template.spec.tolerations);
  t.same(values.updateStrategy, (findObject(base, 'DaemonSet') as Any).spec.updateStrategy);
  const hv = (skel.get('daemonset.yaml')![0] as Any).spec.template.spec.volumes;
  t.same(hv.find((v: Any) => v.name === 'pod-resources').hostPath, { path: '/var/lib/kubelet/pod-resources', type: 'Directory' });
});

t.test('NetworkPolicies on by default, web config off by default, least privilege', async (t) => {
  t.equal(values.networkPolicy.enabled, true);
  t.same(values.networkPolicy.prometheusNamespaces, ['monitoring']);
  t.same(values.networkPolicy.kedaNamespaces, ['keda']);
  const [ex, sc] = skel.get('networkpolicy.yaml')! as Any[];
  t.same(ex.spec.policyTypes, ['Ingress']);
  t.equal(ex.spec.ingress[0].ports[0].port, 9400);
  t.equal(ex.spec.podSelector.matchLabels['app.kubernetes.io/component'], 'exporter');
  t.same(sc.spec.ingress.map((r: Any) => r.ports[0].port), [6000, 9401]);
  const kx = findObject(readYamlDocs(join(BASE, 'networkpolicy.yaml')), 'NetworkPolicy') as Any;
  t.same(ex.spec.ingress[0].ports, kx.spec.ingress[0].ports, 'the same port rule as the kustomize base');
  t.equal(values.webConfig.enabled, false);
  t.same(values.securityContext.capabilities, { drop: ['ALL'] });
  t.equal(values.securityContext.allowPrivilegeEscalation, false);
  t.equal(values.securityContext.readOnlyRootFilesystem, true);
  t.equal(values.securityContext.privileged, false);
  const pod = (skel.get('daemonset.yaml')![0] as Any).spec.template.spec;
  t.same(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' });
  const secret = skel.get('webconfig-secret.yaml')![0] as Any;
  t.equal(secret.kind, 'Secret');
  t.match(secret.stringData['web-config.yaml'], /tls_server_config:\n\s+cert_file: \/etc\/nvml-exporter\/tls\/tls\.crt/);
  const scText = readFileSync(join(CHART, 'templates/scaler-deployment.yaml'), 'utf8');
  t.match(scText, /- --exporters-scheme=https/, 'the scaler pulls over HTTPS when the exporters serve TLS');
  t.match(scText, /items:\n\s+- key: ca\.crt/, 'the scaler mounts only the CA of the exporters\' TLS Secret');
});

t.test('the Services and the scaler match the kustomize objects', async (t) => {
  const svc = skel.get('service.yaml')![0] as Any;
  t.same(svc.spec.ports, (findObject(base, 'Service', 'nvml-exporter') as Any).spec.ports);
  const nodes = skel.get('service-nodes.yaml')![0] as Any;
  t.equal(nodes.spec.clusterIP, 'None');
  t.same(nodes.spec.ports, (findObject(base, 'Service', 'nvml-exporter-nodes') as Any).spec.ports);
  const sc = (skel.get('scaler-deployment.yaml')![0] as Any).spec.template.spec.containers[0];
  const kc = (scalerBase[0] as Any).spec.template.spec.containers[0];
  t.same(sc.ports, kc.ports);
  t.same(sc.args.slice(0, 6), kc.args.slice(0, 6), 'scaler, --grpc-address :6000, -a :9401');
  t.equal(sc.livenessProbe.httpGet.path, kc.livenessProbe.httpGet.path);
  const sm = skel.get('servicemonitor.yaml')![0] as Any;
  t.equal(sm.spec.endpoints[0].port, 'metrics');
  t.equal(sm.spec.endpoints[0].honorLabels, true);
});

t.test('files shared with the kustomize tree are the same', async (t) => {
  const csv = (p: string) => readFileSync(join(ROOT, p), 'utf8');
  t.equal(csv('deploy/helm/nvml-exporter/files/default-counters.csv'), csv('deploy/manifests/base/default-counters.csv'), 'counters CSV');
  t.equal(csv('deploy/manifests/base/default-counters.csv'), csv('etc/default-counters.csv'), 'the image default counters CSV');
  const rules = parse(csv('deploy/helm/nvml-exporter/files/prometheus-rules.yaml'));
  const rule = readYamlDocs(join(ROOT, 'servicemonitor/prometheusrule.yaml'))[0] as Any;
  t.same(rules.groups, rule.spec.groups, 'alert rules');
});
