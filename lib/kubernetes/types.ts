// The pod map: which pods hold which GPU or MIG instance, as last read from the kubelet.
import type { PodAttribution } from '../exposition/gpus-json-types.js';

export type { PodAttribution };

export interface PodMap {
  /** GPU UUID (`GPU-…`) or MIG UUID (`MIG-…`) → the pods holding it (several when shared) */
  byUuid: ReadonlyMap<string, readonly PodAttribution[]>;
  /** ms since epoch of the refresh that produced this map */
  updatedAt: number;
}

/** What the attribution side reports about itself; read by the self-metrics at scrape time. */
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

/** The kubelet's PodResources socket (`--pod-resources-kubelet-socket` default). */
export const DEFAULT_POD_RESOURCES_SOCKET = '/var/lib/kubelet/pod-resources/kubelet.sock';
