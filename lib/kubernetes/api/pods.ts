// Pods as the informer keeps them: what PodMeta needs, trimmed from the API's JSON, and the owning
// workload resolved from the pod alone (no ReplicaSet or Job reads, so no RBAC beyond pods):
//   ReplicaSet `<d>-<pod-template-hash>` whose pod carries that `pod-template-hash` label → Deployment <d>
//     (how the Deployment controller names its ReplicaSets);
//   Job `<c>-<n>` where n is the scheduled time in minutes since the epoch, within the last 400 days
//     (how the CronJob controller names its Jobs) → CronJob <c>; any other Job stays a Job;
//   StatefulSet, DaemonSet, and any other controller kind → itself; no controller → the pod itself.
import type { PodContainerMeta, PodMeta, PodWorkload } from '../../contract/pod-metadata.js';
import type { KubeObject } from './informer.js';

/** A pod as the informer stores it: the PodMeta and the resource version. */
export interface TrimmedPod extends KubeObject {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  meta: PodMeta;
}

const MAX_LABELS = 256;
const MAX_STRING = 1024;

const str = (v: unknown): string => (typeof v === 'string' ? v.slice(0, MAX_STRING) : '');

interface OwnerRef {
  kind?: unknown;
  name?: unknown;
  controller?: unknown;
}

/** The owning workload of a pod (see the head of this file). `nowMs` bounds the CronJob rule. */
export function workloadOf(podName: string, labels: Readonly<Record<string, string>>, owners: readonly OwnerRef[], nowMs: number): PodWorkload {
  const owner = owners.find((o) => o?.controller === true) ?? owners[0];
  const kind = str(owner?.kind);
  const name = str(owner?.name);
  if (!owner || kind === '' || name === '') return { kind: 'Pod', name: podName };
  if (kind === 'ReplicaSet') {
    const hash = labels['pod-template-hash'];
    if (hash && name.length > hash.length + 1 && name.endsWith(`-${hash}`)) return { kind: 'Deployment', name: name.slice(0, -hash.length - 1) };
    return { kind, name };
  }
  if (kind === 'Job') {
    const m = /^(.+)-(\d{1,12})$/.exec(name);
    if (m) {
      const scheduledMs = Number(m[2]) * 60_000;
      if (scheduledMs <= nowMs + 86_400_000 && scheduledMs >= nowMs - 400 * 86_400_000) return { kind: 'CronJob', name: m[1]! };
    }
    return { kind, name };
  }
  return { kind, name };
}

/** A pod from the API (list item or watch object) → TrimmedPod; null without a name, namespace or UID. */
export function trimPod(raw: unknown, nowMs: number = Date.now()): TrimmedPod | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const p = raw as { metadata?: Record<string, unknown>; spec?: Record<string, unknown>; status?: Record<string, unknown> };
  const md = p.metadata ?? {};
  const name = str(md.name);
  const namespace = str(md.namespace);
  const uid = str(md.uid);
  if (name === '' || namespace === '' || uid === '') return null;
  const labels: Record<string, string> = {};
  if (typeof md.labels === 'object' && md.labels !== null) {
    let n = 0;
    for (const [k, v] of Object.entries(md.labels as Record<string, unknown>)) {
      if (typeof v !== 'string' || n++ >= MAX_LABELS) continue;
      labels[k.slice(0, MAX_STRING)] = v.slice(0, MAX_STRING);
    }
  }
  const owners = Array.isArray(md.ownerReferences) ? (md.ownerReferences as OwnerRef[]).slice(0, 16) : [];
  const containers: PodContainerMeta[] = [];
  const statuses = Array.isArray(p.status?.containerStatuses) ? (p.status!.containerStatuses as unknown[]).slice(0, 256) : [];
  for (const s of statuses) {
    const cs = s as { name?: unknown; containerID?: unknown };
    const cname = str(cs?.name);
    if (cname === '') continue;
    const id = str(cs.containerID).replace(/^[a-z0-9-]+:\/\//, '');
    containers.push(id === '' ? { name: cname } : { name: cname, containerId: id });
  }
  const meta: PodMeta = {
    uid,
    namespace,
    name,
    nodeName: str(p.spec?.nodeName),
    labels: Object.freeze(labels),
    workload: workloadOf(name, labels, owners, nowMs),
    containers: Object.freeze(containers),
    phase: str(p.status?.phase),
  };
  const rv = str(md.resourceVersion);
  return { metadata: rv ? { name, namespace, resourceVersion: rv } : { name, namespace }, meta: Object.freeze(meta) };
}
