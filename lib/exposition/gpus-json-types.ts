// The JSON document served at /api/v1/gpus: the current snapshot for people and for the KEDA
// scaler (lib/scaler pulls it from every exporter). Readings are keyed by DCGM field name and use
// the same units as /metrics (MiB, W, MHz, °C, %). Version this document when it changes shape.

export interface PodAttribution {
  namespace: string;
  pod: string;
  container: string;
  /** replica index when the GPU is shared (time-slicing / MPS), e.g. "0" */
  vgpu?: string;
  /** the kubelet resource name the device came from, e.g. `nvidia.com/gpu` */
  resourceName?: string;
}

export interface MigApiEntry {
  uuid: string;
  gpuInstanceId: number | null;
  computeInstanceId: number | null;
  profile: string;
  readings: Record<string, number>;
  pods: PodAttribution[];
}

export interface GpuApiEntry {
  gpu: number;
  uuid: string;
  pciBusId: string;
  device: string;
  modelName: string;
  serial: string | null;
  migEnabled: boolean | null;
  /** true when the GPU did not answer the last sweep */
  lost: boolean;
  readings: Record<string, number>;
  pods: PodAttribution[];
  mig: MigApiEntry[];
}

export interface GpusDocument {
  apiVersion: 1;
  hostname: string;
  /** ISO time of the sweep the readings come from */
  timestamp: string;
  /** seconds since that sweep finished */
  ageSeconds: number;
  /** true when the last sweep is older than the freshness bound */
  stale: boolean;
  driverVersion: string;
  /** whether pod attribution is enabled and its last refresh succeeded */
  podResources: { enabled: boolean; up: boolean; ageSeconds: number | null };
  gpus: GpuApiEntry[];
}
