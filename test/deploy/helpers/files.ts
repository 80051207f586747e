// Reading the deploy/ tree: YAML documents, file lists, kubectl kustomize.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { K8sObject } from './schema.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The counters files of etc/ that the image carries in /etc/dcgm-exporter/, dcgm-exporter's folder. */
export const COUNTERS_FILES = [
  'default-counters.csv', 'dcp-metrics-included.csv', '1.x-compatibility-metrics.csv',
  'default-counters-4.9.csv', 'default-counters-4.10.csv',
] as const;

export function rel(path: string): string {
  return relative(ROOT, path);
}

/** All YAML documents of a file or of kustomize output (empty documents dropped). */
export function parseYamlDocs(text: string, source: string): K8sObject[] {
  const docs: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) docs.push(value as K8sObject);
  }
  return docs;
}

export function readYamlDocs(path: string): K8sObject[] {
  return parseYamlDocs(readFileSync(path, 'utf8'), rel(path));
}

/** Files under dir (recursive) whose name matches. */
export function listFiles(dir: string, match: RegExp): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path, match));
    else if (match.test(name)) out.push(path);
  }
  return out;
}

export function kubectlAvailable(): boolean {
  const r = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  return r.status === 0;
}

/** `kubectl kustomize <dir>` → objects; throws with kubectl's message on failure. */
export function kustomize(dir: string): K8sObject[] {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${rel(dir)} failed: ${r.stderr || r.error?.message}`);
  return parseYamlDocs(r.stdout, `kustomize ${rel(dir)}`);
}

/** Why a kubectl-dependent test is skipped, or undefined to run it; throws where kubectl is required. */
export function kubectlSkipReason(): string | undefined {
  if (kubectlAvailable()) return undefined;
  if (process.env.NVML_EXPORTER_REQUIRE_KUBECTL === '1') {
    throw new Error('kubectl is required (NVML_EXPORTER_REQUIRE_KUBECTL=1) but not found on PATH');
  }
  const reason = 'SKIPPED: kubectl not found on PATH, kustomize renders not checked (set NVML_EXPORTER_REQUIRE_KUBECTL=1 to fail instead)';
  process.stderr.write(`${reason}\n`);
  return reason;
}

export function findObject(docs: K8sObject[], kind: string, name?: string): K8sObject {
  const found = docs.find((d) => d.kind === kind && (name === undefined || (d.metadata as { name?: string })?.name === name));
  if (!found) throw new Error(`no ${kind}${name ? ` ${name}` : ''} among ${docs.map((d) => d.kind).join(', ')}`);
  return found;
}
