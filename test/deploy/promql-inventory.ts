// Every PromQL expression in deploy/examples, servicemonitor/ and deploy/grafana, for the
// end-to-end test that runs them against a real Prometheus scraping the simulated exporter.
//
// Assumptions the end-to-end setup must meet for `expectData: true` entries to return data:
// - Prometheus scrapes the exporter with honor_labels: true, under job name `nvml-exporter`
//   (what the ServiceMonitor produces: the job is the Service's name);
// - the exporter runs with -k against a simulated kubelet that assigns at least one GPU to a pod
//   named `hpa-test-…` in namespace `ha-test-namespace` (the seed's workload, example (d)).
// Alert conditions are listed with expectData: false (they must parse, and not fire on healthy
// simulated GPUs is not asserted); the metrics they use are listed separately.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, listFiles, readYamlDocs, rel } from './helpers/files.js';
import { metricNames } from './helpers/promql.js';

export interface PromqlEntry { source: string; expr: string; expectData: boolean }

export const PROMQL_SCENARIO = { job: 'nvml-exporter', namespace: 'ha-test-namespace', podPrefix: 'hpa-test-' } as const;

/** Series the simulated exporter always has (with -k and a kubelet attributing a GPU). */
const ALWAYS_PRESENT = new Set([
  'up', 'DCGM_FI_DEV_GPU_UTIL', 'DCGM_FI_DEV_FB_USED', 'DCGM_FI_DEV_FB_FREE', 'DCGM_FI_DEV_POWER_USAGE',
  'DCGM_FI_DEV_GPU_TEMP', 'DCGM_FI_DEV_SM_CLOCK', 'DCGM_FI_DEV_MEM_CLOCK', 'DCGM_FI_DEV_XID_ERRORS',
  'nvml_exporter_gpus_lost', 'nvml_exporter_last_sweep_success_timestamp_seconds',
  'nvml_exporter_sweeps_stalled_total', 'nvml_exporter_podresources_up',
]);

/** What the Prometheus Adapter puts in place of its template variables for one pod query. */
const ADAPTER_MATCHERS = `namespace="${PROMQL_SCENARIO.namespace}",pod=~"${PROMQL_SCENARIO.podPrefix}.*"`;

function dataExpected(expr: string): boolean {
  return metricNames(expr).every((n) => ALWAYS_PRESENT.has(n));
}

function fromExamples(): PromqlEntry[] {
  const out: PromqlEntry[] = [];
  for (const file of listFiles(join(ROOT, 'deploy/examples'), /\.ya?ml$/)) {
    if (/kustomization\.ya?ml$/.test(file)) continue;
    for (const doc of readYamlDocs(file) as Record<string, any>[]) { // eslint-disable-line @typescript-eslint/no-explicit-any
      if (doc.kind === 'ScaledObject') {
        for (const [i, trig] of (doc.spec?.triggers ?? []).entries()) {
          if (trig.type !== 'prometheus') continue;
          const expr = String(trig.metadata.query);
          out.push({ source: `${rel(file)} ${doc.metadata.name} trigger ${i} query`, expr, expectData: dataExpected(expr) });
        }
      }
      if (doc.kind === 'PrometheusRule') {
        for (const group of doc.spec?.groups ?? []) {
          for (const rule of group.rules ?? []) out.push({ source: `${rel(file)} ${rule.record ?? rule.alert}`, expr: String(rule.expr), expectData: false });
        }
      }
      for (const [i, rule] of (doc.rules?.custom ?? []).entries()) {
        const series = String(rule.seriesQuery);
        out.push({ source: `${rel(file)} rules.custom[${i}].seriesQuery`, expr: series, expectData: dataExpected(series) });
        const q = String(rule.metricsQuery).replaceAll('<<.LabelMatchers>>', ADAPTER_MATCHERS).replaceAll('<<.GroupBy>>', 'pod');
        out.push({ source: `${rel(file)} rules.custom[${i}].metricsQuery`, expr: q, expectData: dataExpected(q) });
      }
    }
  }
  return out;
}

function fromRules(): PromqlEntry[] {
  const out: PromqlEntry[] = [];
  const used = new Set<string>();
  const file = join(ROOT, 'servicemonitor/prometheusrule.yaml');
  for (const doc of readYamlDocs(file) as Record<string, any>[]) { // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const group of doc.spec?.groups ?? []) {
      for (const rule of group.rules ?? []) {
        const expr = String(rule.expr);
        out.push({ source: `${rel(file)} ${rule.alert ?? rule.record}`, expr, expectData: false });
        for (const n of metricNames(expr)) used.add(n);
      }
    }
  }
  for (const n of [...used].sort()) out.push({ source: `${rel(file)} (metric used by alerts)`, expr: n, expectData: ALWAYS_PRESENT.has(n) });
  return out;
}

/** Grafana variables replaced by match-all values. */
function fromDashboards(): PromqlEntry[] {
  const out: PromqlEntry[] = [];
  for (const file of listFiles(join(ROOT, 'deploy/grafana'), /\.json$/)) {
    const dash = JSON.parse(readFileSync(file, 'utf8'));
    for (const panel of dash.panels ?? []) {
      for (const target of panel.targets ?? []) {
        const expr = String(target.expr).replace(/\$(Hostname|gpu|namespace)\b/g, '.*');
        out.push({ source: `${rel(file)} panel "${panel.title}"`, expr, expectData: dataExpected(expr) });
      }
    }
  }
  // single panels kept with the examples (deploy/examples/*/grafana-panel.json)
  for (const file of listFiles(join(ROOT, 'deploy/examples'), /\.json$/)) {
    const panel = JSON.parse(readFileSync(file, 'utf8'));
    for (const target of panel.targets ?? []) {
      const expr = String(target.expr).replace(/\$(Hostname|gpu|namespace)\b/g, '.*');
      out.push({ source: `${rel(file)} panel "${panel.title}"`, expr, expectData: dataExpected(expr) });
    }
  }
  return out;
}

export const PROMQL_INVENTORY: PromqlEntry[] = [...fromExamples(), ...fromRules(), ...fromDashboards()];
export default PROMQL_INVENTORY;
