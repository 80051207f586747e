// The PromQL inventory: complete, plausible, and using only metrics that exist.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { stringify } from 'yaml';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { VALUE_FIELDS } from '../../lib/fields/index.js';
import { createScalerMetrics } from '../../lib/scaler/metrics.js';
import type { ScalerView } from '../../lib/scaler/remote-view.js';
import { ROOT, readYamlDocs } from './helpers/files.js';
import { promtoolAvailable } from '../helpers/prometheus.js';
import { metricNames, shapeProblems } from './helpers/promql.js';
import { PROMQL_INVENTORY, PROMQL_SCENARIO } from './promql-inventory.js';

/** Metrics of other exporters that the examples use on purpose. */
const EXTERNAL = new Set(['up', 'vllm:num_requests_waiting']);
const CATALOGUE = new Set(VALUE_FIELDS.map((f) => f.name));
/** The scaler's own series, as its /metrics names them (a histogram's _bucket, _sum and _count too). */
const SCALER = new Set<string>();
{
  const view = Object.assign(new EventEmitter(), { exporters: () => [], documents: () => [], conflicts: () => [] }) as unknown as ScalerView;
  const m = createScalerMetrics(view);
  m.watching('grpc_tls');
  for (const [, name, type] of (await m.render()).matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    SCALER.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) SCALER.add(name + s);
  }
}

function unknownMetrics(expr: string): string[] {
  return metricNames(expr).filter((n) => !CATALOGUE.has(n) && !EXTERNAL.has(n) && !n.startsWith('nvml_exporter_') && !SCALER.has(n));
}

t.test('the checker itself', async (t) => {
  t.ok(SCALER.has('nvml_scaler_file_reloads_total') && SCALER.has('nvml_scaler_rpc_duration_seconds_bucket'), 'the scaler\'s series are read from its own /metrics');
  t.same(unknownMetrics('nvml_scaler_file_reload_total'), ['nvml_scaler_file_reload_total'], 'a misspelled scaler metric is caught');
  t.same(shapeProblems('avg(DCGM_FI_DEV_GPU_UTIL{namespace="a", pod=~"b-.*"})'), []);
  t.same(shapeProblems('sum(rate(x[5m])) by (pod)'), []);
  t.same(shapeProblems('label_replace(x, "a", "$1", "b", "(.*)")'), [], 'brackets inside strings do not count');
  t.same(shapeProblems('avg(DCGM_FI_DEV_GPU_UTIL{namespace="a"}'), ["unclosed '('"]);
  t.same(shapeProblems('avg(x})'), ["unbalanced '}'"]);
  t.same(shapeProblems('avg(x{<<.LabelMatchers>>})'), ['unsubstituted template text']);
  t.same(metricNames('(DCGM_FI_DEV_XID_ERRORS > 0) unless on (UUID, err_code) (DCGM_FI_DEV_XID_ERRORS offset 30m > 0)'), ['DCGM_FI_DEV_XID_ERRORS']);
  t.same(metricNames('time() - max by (instance) (nvml_exporter_last_sweep_success_timestamp_seconds) > 30'), ['nvml_exporter_last_sweep_success_timestamp_seconds']);
  t.same(metricNames('avg(vllm:num_requests_waiting{pod="x"}) by (pod)'), ['vllm:num_requests_waiting']);
  t.same(unknownMetrics('avg(DCGM_FI_DEV_GPU_UTILX)'), ['DCGM_FI_DEV_GPU_UTILX'], 'a misspelled metric is caught');
});

t.test('the inventory covers every source', async (t) => {
  t.ok(PROMQL_INVENTORY.length >= 20, `${PROMQL_INVENTORY.length} expressions`);
  const sources = PROMQL_INVENTORY.map((e) => e.source).join('\n');
  for (const s of ['a-keda-prometheus/scaledobject.yaml', 'b-prometheus-adapter-hpa/prometheus-adapter-values.yaml rules.custom[0].metricsQuery',
    'c-aks-managed-prometheus/keda-gpu-scaler-prometheus.yaml', 'servicemonitor/prometheusrule.yaml GpuXidError', 'deploy/grafana/nvml-exporter-dashboard.json']) {
    t.match(sources, s, `includes ${s}`);
  }
  t.ok(PROMQL_INVENTORY.some((e) => e.expectData), 'some expressions must return data');
  const seedQuery = PROMQL_INVENTORY.find((e) => e.source.includes('a-keda-prometheus'));
  t.equal(seedQuery?.expr, `avg(DCGM_FI_DEV_GPU_UTIL{namespace="${PROMQL_SCENARIO.namespace}", pod=~"${PROMQL_SCENARIO.podPrefix}.*"})`, 'the seed query, unchanged');
  t.equal(seedQuery?.expectData, true);
  const adapter = PROMQL_INVENTORY.find((e) => e.source.endsWith('rules.custom[0].metricsQuery'));
  t.equal(adapter?.expr, 'avg(DCGM_FI_DEV_GPU_UTIL{namespace="ha-test-namespace",pod=~"hpa-test-.*"}) by (pod)');
  t.equal(PROMQL_INVENTORY.find((e) => e.expr.includes('vllm:'))?.expectData, false, 'vLLM metrics are not in the simulation');
});

t.test('every expression is plausible and uses known metrics', async (t) => {
  for (const e of PROMQL_INVENTORY) {
    t.same(shapeProblems(e.expr), [], `${e.source}: shape`);
    t.same(unknownMetrics(e.expr), [], `${e.source}: metrics`);
    t.ok(metricNames(e.expr).length > 0, `${e.source}: selects a metric`);
  }
});

t.test('Grafana dashboard: valid JSON, every panel has a query, variables use known metrics', async (t) => {
  const dash = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/nvml-exporter-dashboard.json'), 'utf8'));
  t.equal(dash.uid, 'nvml-exporter-gpus');
  const titles = dash.panels.map((p: { title: string }) => p.title).join('|');
  for (const word of ['utilization', 'memory', 'Power', 'temperature', 'clock', 'XID', 'by pod']) t.match(titles, word);
  for (const v of dash.templating.list.filter((v: { type: string }) => v.type === 'query')) {
    t.same(unknownMetrics(v.query.query.replace(/label_values\((.*),\s*\w+\)$/, '$1')), [], `variable ${v.name}`);
  }
});

t.test('the alert rules load in Prometheus (promtool check rules)', async (t) => {
  if (!promtoolAvailable(t, 'the rules check')) return;
  const dir = mkdtempSync(join(tmpdir(), 'nvx-rules-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // a PrometheusRule's spec is a Prometheus rule file
  const rule = readYamlDocs(join(ROOT, 'servicemonitor/prometheusrule.yaml'))[0] as { spec: { groups: { rules: unknown[] }[] } };
  const file = join(dir, 'rules.yaml');
  writeFileSync(file, stringify(rule.spec));
  const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
  const rules = rule.spec.groups.reduce((n, g) => n + g.rules.length, 0);
  t.equal(r.status, 0, `promtool check rules: ${(r.stdout + r.stderr).trim().slice(0, 400)}`);
  t.match(r.stdout, new RegExp(`SUCCESS: ${rules} rules found`), `all ${rules} rules`);
});
