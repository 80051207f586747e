// The exporter's flags: dcgm-exporter's names, aliases and env vars, then ours. Flags dcgm-exporter
// has and we have no use for are accepted (with their value) and produce one warning each.
import type { FlagSpec } from './argv.js';

const s = (names: string[], env: string | undefined, defaultText: string, help: string): FlagSpec =>
  ({ names, kind: 'string', env, defaultText, help });
const b = (names: string[], env: string | undefined, help: string): FlagSpec =>
  ({ names, kind: 'bool', env, defaultText: 'false', help });
const ignoredS = (names: string[], env: string, defaultText: string, why: string): FlagSpec =>
  ({ names, kind: 'string', env, defaultText, help: why, ignored: why });
const ignoredB = (names: string[], env: string, why: string): FlagSpec =>
  ({ names, kind: 'bool', env, defaultText: 'false', help: why, ignored: why });
const refusedS = (names: string[], env: string, defaultText: string, why: string): FlagSpec =>
  ({ names, kind: 'string', env, defaultText, help: why, unsupported: why });
const refusedB = (names: string[], env: string, why: string): FlagSpec =>
  ({ names, kind: 'bool', env, defaultText: 'false', help: why, unsupported: why });

const NO_DCGM = 'this exporter reads NVML directly and has no DCGM host engine';

export const EXPORTER_FLAGS: readonly FlagSpec[] = [
  // dcgm-exporter's flags
  s(['collectors', 'f'], 'DCGM_EXPORTER_COLLECTORS', 'built-in etc/default-counters.csv', 'counters CSV file: the fields to export'),
  s(['address', 'a'], 'DCGM_EXPORTER_LISTEN', ':9400', 'listen address: host:port, :port or [::]:port'),
  s(['collect-interval', 'c'], 'DCGM_EXPORTER_INTERVAL', '1000', 'interval between NVML sweeps, in milliseconds'),
  b(['kubernetes', 'k'], 'DCGM_EXPORTER_KUBERNETES', 'attribute GPUs to pods through the kubelet PodResources API'),
  s(['kubernetes-gpu-id-type'], 'DCGM_EXPORTER_KUBERNETES_GPU_ID_TYPE', 'uid', 'how the kubelet names GPUs: uid or device-name'),
  s(['pod-resources-kubelet-socket'], 'DCGM_POD_RESOURCES_KUBELET_SOCKET', '/var/lib/kubelet/pod-resources/kubelet.sock',
    'path of the kubelet PodResources socket'),
  b(['kubernetes-virtual-gpus'], 'KUBERNETES_VIRTUAL_GPUS',
    'a GPU shared by several pods (time-slicing, MPS) gets one series per pod, told apart by a vgpu label (default: one series per GPU)'),
  s(['nvidia-resource-names'], 'NVIDIA_RESOURCE_NAMES', 'none', 'extra GPU resource names besides nvidia.com/gpu, comma-separated'),
  s(['devices', 'd'], 'DCGM_EXPORTER_DEVICES_STR', 'f', 'devices to export: f, g, g:0,1-3, i or i:0,1-3'),
  b(['replace-blanks-in-model-name', 'rbmn'], 'DCGM_EXPORTER_REPLACE_BLANKS_IN_MODEL_NAME', 'replace spaces in the modelName label with -'),
  b(['use-old-namespace', 'o'], 'DCGM_EXPORTER_USE_OLD_NAMESPACE', 'old label names: uuid, pod_name, pod_namespace, container_name'),
  s(['log-format'], 'DCGM_EXPORTER_LOG_FORMAT', 'text', 'log format: text or json'),
  s(['web-config-file'], 'DCGM_EXPORTER_WEB_CONFIG_FILE', 'none',
    'exporter-toolkit web config (YAML): TLS, mTLS, basic auth (bcrypt), headers, rate limit, for every path'),
  b(['debug'], 'DCGM_EXPORTER_DEBUG', 'debug logging'),
  s(['config-file'], 'DCGM_EXPORTER_CONFIG_FILE', 'none', 'YAML configuration file (flags and env vars override it; see README)'),
  s(['web-read-timeout'], 'DCGM_EXPORTER_WEB_READ_TIMEOUT', '10s', 'how long a request may take to arrive whole (Go duration: 10s, 500ms, 1m)'),
  s(['web-write-timeout'], 'DCGM_EXPORTER_WEB_WRITE_TIMEOUT', '10s', 'how long writing one response may take before the connection is closed (Go duration)'),
  s(['max-concurrent-scrapes'], 'DCGM_EXPORTER_MAX_CONCURRENT_SCRAPES', '0',
    '/metrics requests served at once; more get 503 (0 = no limit); overlapping ones share one render'),
  b(['enable-exporter-metrics'], 'DCGM_EXPORTER_ENABLE_EXPORTER_METRICS', "also serve the exporter's own nvml_exporter_* metrics on /metrics"),
  b(['health-require-gpus'], 'DCGM_EXPORTER_HEALTH_REQUIRE_GPUS', '/health answers 503 while the last sweep saw no GPU'),
  b(['web-systemd-socket'], 'DCGM_EXPORTER_SYSTEMD_SOCKET', 'serve on the socket systemd passes (LISTEN_FDS) instead of --address'),
  s(['xid-count-window-size', 'x'], 'DCGM_EXPORTER_XID_COUNT_WINDOW_SIZE', '300000',
    'the window of DCGM_EXP_XID_ERRORS_COUNT, in milliseconds'),
  s(['clock-events-count-window-size'], 'DCGM_EXPORTER_CLOCK_EVENTS_COUNT_WINDOW_SIZE', '300000',
    'the window of DCGM_EXP_CLOCK_EVENTS_COUNT, in milliseconds'),
  // ours
  s(['nvml-library'], 'NVML_EXPORTER_NVML_LIBRARY', 'libnvidia-ml.so.1 through the loader search', 'path of the NVML library to load'),
  s(['simulate'], 'NVML_EXPORTER_SIMULATE', 'off', 'run on N simulated GPUs (no driver needed)'),
  b(['once'], undefined, 'print one exposition to stdout and exit'),
  s(['pod-resources-refresh-interval'], 'NVML_EXPORTER_PODRESOURCES_INTERVAL', '5000',
    'pod map refresh interval, in milliseconds (scrapes also ask for one; the kubelet gets at most one call per second)'),
  s(['pod-resources-timeout'], 'NVML_EXPORTER_PODRESOURCES_TIMEOUT', '10000', 'deadline of each kubelet PodResources call, in milliseconds'),
  s(['pod-resources-stale-after'], 'NVML_EXPORTER_PODRESOURCES_STALE_AFTER', '60000',
    'while the kubelet fails, the last good pod map is used for this many milliseconds, then pod labels are dropped'),
  b(['kubernetes-single-pod'], 'NVML_EXPORTER_KUBERNETES_SINGLE_POD',
    'one series per shared GPU with the first of its pods and no vgpu label: the default, as in dcgm-exporter (kept for earlier releases of this exporter, where per-pod series were the default)'),
  b(['pcie-throughput'], 'NVML_EXPORTER_PCIE_THROUGHPUT', 'read PCIe TX/RX throughput (blocks ~20 ms per GPU per sweep)'),
  s(['naming-profile'], 'NVML_EXPORTER_NAMING_PROFILE', '4.8.3',
    "the dcgm-exporter generation whose names, units, host and driver labels and default counters to follow: 4.8.2, 4.8.3 (4.8.3-4.8.4, what the GPU Operator deploys), 4.9 or 4.10"),
  s(['naming-transition'], 'NVML_EXPORTER_NAMING_TRANSITION', 'none',
    "also serve every renamed field under this generation's name and unit (4.8.2, 4.8.3, 4.9 or 4.10), for migrating dashboards"),
  s(['hostname-label'], 'NVML_EXPORTER_HOSTNAME_LABEL', 'from the naming profile', 'spelling of the host label: Hostname (<= 4.8.2) or hostname (4.8.3+)'),
  s(['keda-scaler-address'], 'NVML_EXPORTER_KEDA_SCALER_ADDRESS', 'off', 'serve the KEDA external-scaler gRPC API on this address'),
  s(['sweep-deadline'], 'NVML_EXPORTER_SWEEP_DEADLINE', '5000', 'a sweep not finished in this many milliseconds is reported as stalled'),
  b(['kubernetes-enable-workload-label'], 'NVML_EXPORTER_KUBERNETES_ENABLE_WORKLOAD_LABEL',
    'add the owning workload to pod series: workload, workload_kind and a label named by the kind (deployment, statefulset, daemonset, job, cronjob) (needs -k)'),
  b(['kubernetes-dra-resourceslices'], 'NVML_EXPORTER_KUBERNETES_DRA_RESOURCESLICES',
    'also watch this node\'s ResourceSlices to resolve DRA device names of another shape than gpu-<minor>[-mig-…] (needs --kubernetes-enable-dra and RBAC on resourceslices)'),
  s(['kubernetes-api-kubeconfig'], 'NVML_EXPORTER_KUBERNETES_API_KUBECONFIG', 'in-cluster (ServiceAccount token and CA)',
    'a kubeconfig file naming the API server to use instead of the in-cluster one (tests, running outside a cluster)'),
  s(['kubernetes-api-stale-after'], 'NVML_EXPORTER_KUBERNETES_API_STALE_AFTER', '300000',
    'while the Kubernetes API fails, the last pod labels, UIDs and workloads are used for this many milliseconds, then left out'),
  b(['pod-usage'], 'NVML_EXPORTER_POD_USAGE',
    'read the processes on every GPU and serve per-pod usage (nvml_exporter_pod_gpu_*); on by itself with -k --kubernetes-virtual-gpus'),
  s(['host-proc'], 'NVML_EXPORTER_HOST_PROC', '/proc', "the host's /proc (mounted read-only, or the pod's own with hostPID): where process cgroups are read"),
  s(['process-interval'], 'NVML_EXPORTER_PROCESS_INTERVAL', 'the collect interval', 'how often the processes are read, in milliseconds (a multiple of sweeps)'),
  s(['process-slow-interval'], 'NVML_EXPORTER_PROCESS_SLOW_INTERVAL', '10000, or the process interval when longer',
    'the processes are read this often (milliseconds) while one read takes longer than --process-budget'),
  s(['process-budget'], 'NVML_EXPORTER_PROCESS_BUDGET', '250', 'milliseconds a process read may take before the slower cadence applies'),
  b(['version'], undefined, 'print the version and exit'),
  b(['help', 'h'], undefined, 'print this help and exit'),
  // dcgm-exporter's flags we accept and ignore
  ignoredS(['remote-hostengine-info', 'r'], 'DCGM_REMOTE_HOSTENGINE_INFO', 'localhost:5555', NO_DCGM),
  ignoredB(['enable-dcgm-log'], 'DCGM_EXPORTER_ENABLE_DCGM_LOG', NO_DCGM),
  ignoredS(['dcgm-log-level'], 'DCGM_EXPORTER_DCGM_LOG_LEVEL', 'NONE', NO_DCGM),
  ignoredS(['cpu-devices', 'p'], 'DCGM_EXPORTER_CPU_DEVICES_STR', 'f', 'CPU metrics are not exported'),
  ignoredS(['switch-devices', 's'], 'DCGM_EXPORTER_OTHER_DEVICES_STR', 'f', 'NVSwitch and NVLink entities are not exported'),
  ignoredB(['no-hostname', 'n'], 'DCGM_EXPORTER_NO_HOSTNAME', 'it has had no effect since dcgm-exporter 4.0; the host label is always written'),
  s(['configmap-data', 'm'], 'DCGM_EXPORTER_CONFIGMAP_DATA', 'none',
    'read the counters from key `metrics` of this ConfigMap (<namespace>:<name>) through the Kubernetes API, and follow its changes'),
  refusedB(['fake-gpus'], 'DCGM_EXPORTER_USE_FAKE_GPUS', 'use --simulate N to serve N simulated GPUs'),
  b(['kubernetes-enable-pod-labels'], 'DCGM_EXPORTER_KUBERNETES_ENABLE_POD_LABELS',
    "add the pod's own Kubernetes labels that the allowlist keeps, sanitised into label names (needs -k and --kubernetes-pod-label-allowlist-regex)"),
  b(['kubernetes-enable-pod-uid'], 'DCGM_EXPORTER_KUBERNETES_ENABLE_POD_UID', 'add the pod_uid label to pod series (needs -k)'),
  s(['kubernetes-pod-label-allowlist-regex'], 'DCGM_EXPORTER_KUBERNETES_POD_LABEL_ALLOWLIST_REGEX', 'none',
    'comma-separated regular expressions (RE2); a pod label whose key one of them matches is kept (`.*` keeps every label, up to the cap of 16)'),
  refusedS(['hpc-job-mapping-dir'], 'DCGM_HPC_JOB_MAPPING_DIR', 'none', 'HPC job mapping (the hpc_job label) is not implemented; remove the setting'),
  b(['kubernetes-enable-dra'], 'KUBERNETES_ENABLE_DRA',
    'attribute GPUs and MIG devices allocated through DRA (PodResources dynamic_resources, driver gpu.nvidia.com) to their pods, with the dra_* labels (needs -k)'),
  refusedB(['container-labels'], 'DCGM_EXPORTER_CONTAINER_LABELS', 'container-runtime labels outside Kubernetes are not implemented; remove the flag'),
  refusedS(['container-runtime-socket'], 'DCGM_CONTAINER_RUNTIME_SOCKET', 'none', 'container-runtime labels outside Kubernetes are not implemented; remove the setting'),
  ignoredS(['watch-max-keep-age'], 'DCGM_EXPORTER_WATCH_MAX_KEEP_AGE', 'none', 'DCGM watch retention; this exporter keeps only the last sweep'),
  ignoredS(['watch-max-keep-samples'], 'DCGM_EXPORTER_WATCH_MAX_KEEP_SAMPLES', 'none', 'DCGM watch retention; this exporter keeps only the last sweep'),
  ignoredB(['dump-enabled'], 'DCGM_EXPORTER_DUMP_ENABLED', 'debug dumps are not written; see /api/v1/gpus'),
  ignoredS(['dump-directory'], 'DCGM_EXPORTER_DUMP_DIRECTORY', '/tmp/dcgm-exporter-debug', 'debug dumps are not written'),
  ignoredS(['dump-retention'], 'DCGM_EXPORTER_DUMP_RETENTION', '24', 'debug dumps are not written'),
  ignoredB(['dump-compression'], 'DCGM_EXPORTER_DUMP_COMPRESSION', 'debug dumps are not written'),
  ignoredB(['disable-startup-validate'], 'DISABLE_STARTUP_VALIDATE', 'there is no libdcgm to validate; a missing NVML is reported at startup'),
  ignoredB(['enable-gpu-bind-unbind-watch'], 'DCGM_EXPORTER_ENABLE_GPU_BIND_UNBIND_WATCH',
    'every sweep already enumerates the GPUs; lost GPUs are reported'),
  ignoredS(['gpu-bind-unbind-poll-interval'], 'DCGM_EXPORTER_GPU_BIND_UNBIND_POLL_INTERVAL', '1s',
    'every sweep already enumerates the GPUs'),
  ignoredB(['enable-pprof'], 'DCGM_EXPORTER_ENABLE_PPROF', 'profiling endpoints are not served; use node --inspect'),
];
