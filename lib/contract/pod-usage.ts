// Per-pod GPU usage from what actually runs: the processes NVML lists on each GPU or MIG device,
// joined to pods through their cgroups (lib/kubernetes/pod-usage.ts), with the chargeback counters
// integrated over time. What the kubernetes room produces and the exposition room renders. Types only.

/** Why a process on a device is not attributed to a pod that holds that device. */
export type UnattributedReason =
  /** its cgroup names no pod: a host process, or a container outside Kubernetes */
  | 'no_pod'
  /** it runs in a pod that did not request this device (PodResources does not list it there) */
  | 'not_allocated'
  /** it runs in a pod, but which of the device's pods cannot be told (no API metadata, several candidates) */
  | 'ambiguous'
  /** its cgroup could not be read (it exited, or the exporter does not see the host's /proc) */
  | 'unresolved';

/** One pod's (or one unattributed group's) use of one GPU or GPU instance. */
export interface PodUsageRow {
  /** position of the GPU in the sweep's devices, and its UUID */
  gpu: number;
  gpuUuid: string;
  /** the MIG device, when the use is on one; null for a whole GPU */
  migUuid: string | null;
  namespace: string;
  pod: string;
  container: string;
  /** '' when the processes are in no pod */
  podUid: string;
  /** the pod requested this device (PodResources lists it there) */
  allocated: boolean;
  /** set for processes not attributed to one of the device's pods */
  reason: UnattributedReason | null;
  processes: number;
  /** ratios 0–1 over the time since the previous process read; null when the device has no per-process utilisation (MIG) */
  smUtil: number | null;
  memUtil: number | null;
  encUtil: number | null;
  decUtil: number | null;
  /** bytes of GPU memory its processes use now */
  memoryBytes: number;
  /** counters since this exporter started (or since this pod first used the device) */
  busySecondsTotal: number;
  memoryByteSecondsTotal: number;
  /** null when the GPU has no energy counter */
  energyJoulesTotal: number | null;
}

/** Immutable: a new object for every process read. */
export interface PodUsage {
  rows: readonly PodUsageRow[];
  /** ms since epoch of the sweep the rows come from */
  sweepTimestamp: number;
  /** processes per device UUID and reason that are not attributed to one of the device's pods */
  unattributed: readonly { gpu: number; gpuUuid: string; migUuid: string | null; reason: UnattributedReason; processes: number }[];
}
