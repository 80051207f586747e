// The chart rendered to objects, by this repository's renderer (helm-render.ts) and, where a helm
// binary is named by NVML_EXPORTER_HELM, by helm itself for comparison.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT, parseYamlDocs } from './files.js';
import { renderChart } from './helm-render.js';
import type { K8sObject } from './schema.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Any = any;

export const CHART = join(ROOT, 'deploy/helm/nvml-exporter');
export const VALUES_DIR = join(ROOT, 'test/deploy/helm-values');
export const RELEASE = 'nvx';
export const NAMESPACE = 'gpu-monitoring';

export function valuesFile(name: string): unknown {
  return parse(readFileSync(join(VALUES_DIR, name), 'utf8'));
}

/** The chart's manifests as objects, rendered with the named values files of test/deploy/helm-values/. */
export function renderObjects(valuesFiles: string[] = [], inline: unknown[] = []): K8sObject[] {
  const out = renderChart(CHART, { releaseName: RELEASE, namespace: NAMESPACE, values: [...valuesFiles.map(valuesFile), ...inline] });
  return [...out.entries()].filter(([f]) => /\.ya?ml$/.test(f)).flatMap(([f, text]) => parseYamlDocs(text, f));
}

/** The same through a real helm (`helm template`), or undefined without NVML_EXPORTER_HELM. */
export function helmObjects(valuesFiles: string[] = []): K8sObject[] | undefined {
  const helm = process.env.NVML_EXPORTER_HELM;
  if (!helm) return undefined;
  const args = ['template', RELEASE, CHART, '--namespace', NAMESPACE, ...valuesFiles.flatMap((f) => ['-f', join(VALUES_DIR, f)])];
  const r = spawnSync(helm, args, { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`${helm} ${args.join(' ')}: ${r.stderr}`);
  return parseYamlDocs(r.stdout, 'helm template');
}

/** What differs between renders by design: generated keys and certificates, bcrypt hashes. */
export function withoutGeneratedSecrets(docs: K8sObject[]): K8sObject[] {
  return docs.map((d) => {
    if (d.kind !== 'Secret') return d;
    const copy = structuredClone(d) as Any;
    for (const k of Object.keys(copy.data ?? {})) copy.data[k] = '<generated>';
    for (const k of Object.keys(copy.stringData ?? {})) {
      copy.stringData[k] = String(copy.stringData[k]).replace(/"\$2[aby]\$[^"]*"/g, '"<bcrypt>"');
    }
    return copy;
  });
}

export function objectKey(d: K8sObject): string {
  return `${String(d.kind)}/${String((d.metadata as Any)?.name)}`;
}

export function find(docs: K8sObject[], kind: string, nameSuffix = ''): Any {
  const found = docs.filter((d) => d.kind === kind && String((d.metadata as Any)?.name).endsWith(nameSuffix));
  if (found.length !== 1) throw new Error(`${found.length} ${kind} objects named *${nameSuffix} among ${docs.map(objectKey).join(', ')}`);
  return found[0];
}

/** The exporter container of the rendered DaemonSet, and its pod spec. */
export function exporter(docs: K8sObject[]): { pod: Any; c: Any; env: Map<string, Any>; envNames: string[] } {
  const ds = find(docs, 'DaemonSet');
  const pod = ds.spec.template.spec;
  const c = pod.containers.find((x: Any) => x.name === 'nvml-exporter');
  const envNames: string[] = c.env.map((e: Any) => e.name);
  return { pod, c, env: new Map(c.env.map((e: Any) => [e.name, e])), envNames };
}

/** `.Values.a.b` paths used in a template (deduplicated, in order of appearance). */
export function valuesPaths(template: string): string[] {
  const paths = new Set<string>();
  for (const m of template.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) paths.add(m[1]!.slice(1));
  return [...paths];
}

export function lookup(values: unknown, path: string): { found: boolean; value: unknown } {
  let cur: unknown = values;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !(key in (cur as object))) return { found: false, value: undefined };
    cur = (cur as Record<string, unknown>)[key];
  }
  return { found: true, value: cur };
}
