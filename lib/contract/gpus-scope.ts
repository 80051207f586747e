// A scoped /api/v1/gpus request: `?namespace=a&pod=x,y` keeps only the GPUs (and MIG instances)
// that run at least one pod of those namespaces and names, so a scaler that needs one workload's
// GPUs does not pull the whole node. Query parameters come from any HTTP client: their count and
// length are bounded and every value must be a Kubernetes name before anything is filtered.
import type { GpusDocument, PodAttribution } from './gpus-document.js';

export interface GpusScope {
  /** namespaces whose pods are kept (empty: any namespace) */
  namespaces: ReadonlySet<string>;
  /** pod names that are kept (empty: any pod of the namespaces) */
  pods: ReadonlySet<string>;
  /** `gpus=none`: no GPU is kept, only the node's identity (a scaler's probe of a node no workload needs) */
  none?: boolean;
}

/** The query of a document with no GPUs: the node's name and state only (a few hundred bytes). */
export const NO_GPUS_QUERY = 'gpus=none';

export const GPUS_SCOPE_LIMITS = { namespaces: 16, pods: 256 } as const;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export class GpusScopeError extends Error {}

function values(v: unknown, name: string, max: number): string[] {
  if (v === undefined) return [];
  const raw = Array.isArray(v) ? v : [v];
  if (raw.length > max) throw new GpusScopeError(`too many ${name} parameters: at most ${max}`);
  const out: string[] = [];
  for (const r of raw) {
    if (typeof r !== 'string') throw new GpusScopeError(`${name} must be a string`);
    for (const part of r.split(',')) {
      if (out.length >= max) throw new GpusScopeError(`too many ${name} values: at most ${max}`);
      out.push(part);
    }
  }
  return out;
}

/**
 * The scope of a parsed query string (`namespace`, `pod`: repeated or comma-separated), null when
 * neither is given (the whole document). Throws GpusScopeError naming the parameter and the fix.
 */
export function parseGpusScope(query: Record<string, unknown>): GpusScope | null {
  for (const k of Object.keys(query)) {
    if (k !== 'namespace' && k !== 'pod' && k !== 'gpus') throw new GpusScopeError(`unknown parameter "${k.slice(0, 64)}": /api/v1/gpus takes namespace, pod and gpus=none`);
  }
  if (query.gpus !== undefined) {
    if (query.gpus !== 'none') throw new GpusScopeError('gpus takes one value, none (the node without its GPUs)');
    if (query.namespace !== undefined || query.pod !== undefined) throw new GpusScopeError('gpus=none takes no namespace or pod: it keeps no GPU');
    return { namespaces: new Set(), pods: new Set(), none: true };
  }
  const namespaces = values(query.namespace, 'namespace', GPUS_SCOPE_LIMITS.namespaces);
  const pods = values(query.pod, 'pod', GPUS_SCOPE_LIMITS.pods);
  for (const n of namespaces) {
    if (!DNS_LABEL.test(n)) throw new GpusScopeError(`namespace "${n.slice(0, 64)}" is not a Kubernetes namespace name (lower-case letters, digits and '-', at most 63)`);
  }
  for (const p of pods) {
    if (!DNS_SUBDOMAIN.test(p)) throw new GpusScopeError(`pod "${p.slice(0, 64)}" is not a Kubernetes pod name (lower-case letters, digits, '-' and '.', at most 253)`);
  }
  if (namespaces.length === 0 && pods.length === 0) return null;
  return { namespaces: new Set(namespaces), pods: new Set(pods) };
}

/** The query string of a scope (sorted, so one scope is always one URL). */
export function gpusScopeQuery(scope: GpusScope): string {
  const parts: string[] = [];
  if (scope.namespaces.size > 0) parts.push(`namespace=${[...scope.namespaces].sort().join(',')}`);
  if (scope.pods.size > 0) parts.push(`pod=${[...scope.pods].sort().join(',')}`);
  return parts.join('&');
}

function inScope(pods: readonly PodAttribution[], s: GpusScope): boolean {
  return pods.some((p) => (s.namespaces.size === 0 || s.namespaces.has(p.namespace)) && (s.pods.size === 0 || s.pods.has(p.pod)));
}

/** The document with only the GPUs that run a pod in scope; a MIG GPU keeps only its instances in scope. */
export function scopeDocument(doc: GpusDocument, s: GpusScope): GpusDocument {
  if (s.none) return { ...doc, gpus: [] };
  const gpus = [];
  for (const g of doc.gpus) {
    const mig = g.mig.filter((m) => inScope(m.pods, s));
    if (inScope(g.pods, s) || mig.length > 0) gpus.push(mig.length === g.mig.length ? g : { ...g, mig });
  }
  return { ...doc, gpus };
}
