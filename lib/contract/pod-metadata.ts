// What the Kubernetes API tells us about pods, beyond what the kubelet's PodResources socket says:
// UID, labels, the owning workload, the node and the containers' runtime IDs. The kubernetes room
// produces it (an informer over the API server, loaded only when a feature needs it); the
// exposition room (pod labels, UID, workload), the per-pod usage join (process cgroup → pod UID →
// pod) and the cluster scaler (which nodes run a workload's pods) read it. Types only.

/** The controller a pod belongs to, resolved through one level of indirection where Kubernetes has
 * one (ReplicaSet → Deployment, Job → CronJob). A bare pod is its own workload (`kind: 'Pod'`). */
export interface PodWorkload {
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob' | 'ReplicaSet' | 'Pod' | string;
  name: string;
}

export interface PodContainerMeta {
  name: string;
  /** the runtime's container ID without its scheme (`containerd://` etc. stripped), when running */
  containerId?: string;
}

/** One pod as last seen in the watch. Immutable. */
export interface PodMeta {
  uid: string;
  namespace: string;
  name: string;
  /** `spec.nodeName`; empty while unscheduled */
  nodeName: string;
  /** the pod's own Kubernetes labels, unfiltered (allowlisting and sanitising happen at render) */
  labels: Readonly<Record<string, string>>;
  workload: PodWorkload;
  containers: readonly PodContainerMeta[];
  /** `status.phase` */
  phase: string;
}

/** A read-only view of the pods a watch holds. Readers never wait: every method answers from memory. */
export interface PodMetadataView {
  byUid(uid: string): PodMeta | undefined;
  byName(namespace: string, name: string): PodMeta | undefined;
  /** every pod currently known (this node's, or the cluster's for the scaler) */
  all(): Iterable<PodMeta>;
  /**
   * The pods of one namespace, in time proportional to their number, not the cluster's (the
   * scaler's demand reads only the namespaces of the workloads KEDA asks about). Absent: readers
   * index all() themselves.
   */
  inNamespace?(namespace: string): Iterable<PodMeta>;
  /** changes as a counter: bumps whenever any pod is added, changed or removed */
  readonly generation: number;
  /** ms since epoch of the last successful list or watch event; null before the first list */
  readonly syncedAt: number | null;
}

/**
 * The health of one watch over the API server (pods, a ConfigMap, ResourceSlices), as the
 * self-metrics read it: `nvml_exporter_kubernetes_api_up`, `…_errors_total{reason}`, `…_cache_age_seconds`.
 */
export interface KubernetesApiStatus {
  /** the last list succeeded and the watch has not failed since */
  up: boolean;
  /** failures since start, by reason (`unreachable`, `timeout`, `forbidden`, `gone`, `too_large`, `malformed`, `server_error`, …) */
  errorsByReason: Readonly<Record<string, number>>;
  /** ms since epoch of the last successful list or watch event (bookmarks included); null before the first list */
  lastContactMs: number | null;
}
