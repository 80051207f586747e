// Which pods hold which GPU or MIG instance: what the kubernetes room produces and the exposition
// room joins onto series. Types, and the kubelet socket's default path.

/** Where the kubelet serves its PodResources API (dcgm-exporter's and the kubelet's default). */
export const DEFAULT_POD_RESOURCES_SOCKET = '/var/lib/kubelet/pod-resources/kubelet.sock';

export interface PodAttribution {
  namespace: string;
  pod: string;
  container: string;
  /** replica index when the GPU is shared (time-slicing / MPS), e.g. "0" */
  vgpu?: string;
  /** the kubelet resource name the device came from, e.g. `nvidia.com/gpu` */
  resourceName?: string;
  /**
   * More labels for this pod's series, as (name, value) pairs with valid, distinct label names:
   * DRA's `dra_*`, and what the Kubernetes API adds (`pod_uid`, the workload, allowed pod labels).
   * The renderer writes them with the other pod attributes, sorted by name.
   */
  labels?: readonly (readonly [string, string])[];
}

/** The pod map: the last good kubelet answer joined with the GPUs of a sweep. Immutable. */
export interface PodMap {
  /** GPU UUID (`GPU-…`) or MIG UUID (`MIG-…`) → the pods holding it (several when shared) */
  byUuid: ReadonlyMap<string, readonly PodAttribution[]>;
  /** ms since epoch of the refresh that produced this map */
  updatedAt: number;
}

/** What the pod attribution reports about itself; read by the self-metrics at scrape time. */
export interface PodResourcesStatus {
  /** the last refresh succeeded */
  up: boolean;
  /** refresh failures since start, by reason (`unavailable`, `deadline`, `resource_exhausted`, `malformed`, `socket_missing`, …) */
  errorsByReason: Readonly<Record<string, number>>;
  /** ms since epoch of the last successful refresh, null before the first */
  lastSuccessMs: number | null;
  /** device IDs from the kubelet that matched no GPU on this node, since start */
  unmatchedDeviceIds: number;
  /** the last failure (reason, message, ms since epoch), null when none since start */
  lastError?: { reason: string; message: string; atMs: number } | null;
}
