// The typed configuration the CLI produces (see cli.ts for how flags and env vars map to it).
import type { ListenAddress, PeerAddress, TcpListenAddress } from '../contract/address.js';
import type { DeviceSelection } from '../fields/devices.js';
import type { Generation } from '../fields/generations.js';

export type { ListenAddress, PeerAddress, TcpListenAddress, DeviceSelection };

export interface Config {
  address: TcpListenAddress;
  collectIntervalMs: number;
  /** -f/--collectors; null = the built-in etc/default-counters.csv */
  collectors: string | null;
  kubernetes: boolean;
  kubernetesGpuIdType: 'uid' | 'device-name';
  podResourcesSocket: string;
  /** --kubernetes-virtual-gpus: a GPU shared by several pods gets one series per pod */
  kubernetesVirtualGpus: boolean;
  /** how a GPU shared by several pods is exposed: one series per pod with `vgpu`, or one pod (the default) */
  sharedGpus: 'per-pod' | 'single-pod';
  nvidiaResourceNames: string[];
  devices: DeviceSelection;
  replaceBlanksInModelName: boolean;
  useOldNamespace: boolean;
  logFormat: 'text' | 'json';
  debug: boolean;
  /** null = `libnvidia-ml.so.1` through the dynamic loader */
  nvmlLibrary: string | null;
  /** number of simulated GPUs, null = real NVML */
  simulate: number | null;
  once: boolean;
  podResourcesIntervalMs: number;
  /** deadline of each kubelet call (--pod-resources-timeout) */
  podResourcesTimeoutMs: number;
  /** how long the last good pod map outlives kubelet failures (--pod-resources-stale-after) */
  podResourcesStaleAfterMs: number;
  pcieThroughput: boolean;
  hostnameLabel: 'Hostname' | 'hostname';
  /** the dcgm-exporter generation whose names and defaults to follow */
  namingProfile: Generation;
  /** a second generation whose names are served too (migrating dashboards), or null */
  namingTransition: Generation | null;
  /** counters rows given inline by --config-file's metrics.fields (CSV text), or null */
  countersInline: string | null;
  webReadTimeoutMs: number;
  webWriteTimeoutMs: number;
  /** /metrics requests served at once (0 = no limit) */
  maxConcurrentScrapes: number;
  /** serve the nvml_exporter_* self-metrics on /metrics */
  enableExporterMetrics: boolean;
  /** /health answers 503 while the last sweep saw no GPU */
  healthRequireGpus: boolean;
  /** listen on the socket systemd passes (LISTEN_FDS) */
  webSystemdSocket: boolean;
  /** the window of DCGM_EXP_XID_ERRORS_COUNT */
  xidCountWindowMs: number;
  /** the window of DCGM_EXP_CLOCK_EVENTS_COUNT, ms */
  clockEventsCountWindowMs: number;
  /** the host label's value: NODE_NAME, else the host name */
  hostname: string;
  /** null = the KEDA scaler API is off */
  kedaScalerAddress: ListenAddress | null;
  sweepDeadlineMs: number;
  /** --web-config-file / DCGM_EXPORTER_WEB_CONFIG_FILE: the exporter-toolkit web config, null = plain HTTP */
  webConfigFile: string | null;
  /** what the Kubernetes API adds to pod series (all off by default; any on loads the API client) */
  kubernetesApi: KubernetesApiConfig;
  /** read processes and serve per-pod usage (--pod-usage, or -k with --kubernetes-virtual-gpus) */
  podUsage: boolean;
  /** where the host's processes' cgroups are read (--host-proc) */
  hostProc: string;
  /** how often processes are read, ms (--process-interval; default the collect interval) */
  processIntervalMs: number;
  /** the cadence while a process read takes longer than processBudgetMs */
  processSlowIntervalMs: number;
  processBudgetMs: number;
}

export interface KubernetesApiConfig {
  /** --kubernetes-enable-pod-labels: the pod's own labels the allowlist keeps */
  podLabels: boolean;
  /** --kubernetes-pod-label-allowlist-regex: RE2 patterns (unanchored, as Go's MatchString); null when not given */
  podLabelAllowlist: string[] | null;
  /** --kubernetes-enable-pod-uid */
  podUid: boolean;
  /** --kubernetes-enable-workload-label */
  workload: boolean;
  /** --kubernetes-enable-dra: PodResources dynamic_resources matched through NVML (no API needed) */
  dra: boolean;
  /** --kubernetes-dra-resourceslices: the ResourceSlice watch for device names of another shape */
  draResourceSlices: boolean;
  /** -m / DCGM_EXPORTER_CONFIGMAP_DATA: the ConfigMap whose key `metrics` holds the counters */
  configMap: { namespace: string; name: string } | null;
  /** --kubernetes-api-kubeconfig: null = in-cluster configuration */
  kubeconfig: string | null;
  /** how long the last pod metadata outlives API failures */
  staleAfterMs: number;
  /** NODE_NAME: the node whose pods are watched (empty when unset) */
  nodeName: string;
}

/** `nvml-exporter scaler` options, validated and parsed. */
export interface ScalerConfig {
  /** `:6000`, `host:port`, or a unix socket path (`/run/x.sock`, `unix:///run/x.sock`) */
  grpcAddress: ListenAddress;
  /** where the scaler serves its own /metrics and /health (`:9401`) */
  address: TcpListenAddress;
  /** a fixed list of exporters to pull /api/v1/gpus from */
  exporters: PeerAddress[];
  /** or a DNS name:port (a headless Service) whose addresses are the exporters */
  exportersDns: PeerAddress | null;
  pullIntervalMs: number;
  /** deadline of one pull */
  pullTimeoutMs: number;
  /** an exporter not answering for this long is excluded */
  staleAfterMs: number;
  logFormat: 'text' | 'json';
  debug: boolean;
  /** how pulls reach the exporters (their web config's TLS and basic auth); files are read at start */
  pulls: ScalerPullConfig;
  /** TLS of the gRPC API (files read at start), null = plaintext */
  grpcTls: ScalerGrpcTlsConfig | null;
  /** --kubernetes-api: pull only the nodes of the workloads KEDA asks about (pod informer) */
  kubernetesApi: boolean;
  /** --kubernetes-api-kubeconfig: null = the in-cluster configuration */
  kubernetesApiKubeconfig: string | null;
  /** with kubernetesApi: a workload not asked about for this long is no longer pulled */
  workloadIdleTimeoutMs: number;
  /** with kubernetesApi: an exporter no workload needs is pulled this often (its node may change) */
  idleProbeIntervalMs: number;
  /** /ready is 503 while fewer than this percentage of the exporters in use are fresh */
  readyMinFreshPercent: number;
}

export interface ScalerGrpcTlsConfig {
  certFile: string;
  keyFile: string;
  /** require client certificates signed by this CA */
  clientCaFile: string | null;
}

export interface ScalerPullConfig {
  scheme: 'http' | 'https';
  caFile: string | null;
  certFile: string | null;
  keyFile: string | null;
  serverName: string | null;
  /** a file holding `user:password` */
  basicAuthFile: string | null;
}

export type CliResult =
  | { kind: 'run'; config: Config; warnings: string[] }
  | { kind: 'scaler'; config: ScalerConfig; warnings: string[] }
  | { kind: 'help'; text: string }
  | { kind: 'version'; text: string };

/** the exporter configuration (the name the composition root, lib/app/exporter.ts, uses) */
export type ExporterConfig = Config;
