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
    'one series per pod sharing a GPU, with a vgpu label (already the default; see --kubernetes-single-pod)'),
  s(['nvidia-resource-names'], 'NVIDIA_RESOURCE_NAMES', 'none', 'extra GPU resource names besides nvidia.com/gpu, comma-separated'),
  s(['devices', 'd'], 'DCGM_EXPORTER_DEVICES_STR', 'f', 'devices to export: f, g, g:0,1-3, i or i:0,1-3'),
  b(['replace-blanks-in-model-name', 'rbmn'], 'DCGM_EXPORTER_REPLACE_BLANKS_IN_MODEL_NAME', 'replace spaces in the modelName label with -'),
  b(['use-old-namespace', 'o'], 'DCGM_EXPORTER_USE_OLD_NAMESPACE', 'old label names: uuid, pod_name, pod_namespace, container_name'),
  s(['log-format'], 'DCGM_EXPORTER_LOG_FORMAT', 'text', 'log format: text or json'),
  s(['web-config-file'], 'DCGM_EXPORTER_WEB_CONFIG_FILE', 'none',
    'exporter-toolkit web config (YAML): TLS, mTLS, basic auth (bcrypt), headers, rate limit, for every path'),
  b(['debug'], 'DCGM_EXPORTER_DEBUG', 'debug logging'),
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
    "one pod per shared GPU and no vgpu label (dcgm-exporter's behaviour without --kubernetes-virtual-gpus)"),
  b(['pcie-throughput'], 'NVML_EXPORTER_PCIE_THROUGHPUT', 'read PCIe TX/RX throughput (blocks ~20 ms per GPU per sweep)'),
  s(['hostname-label'], 'NVML_EXPORTER_HOSTNAME_LABEL', 'Hostname', 'spelling of the host label: Hostname (<= 4.8.2) or hostname (4.8.3+)'),
  s(['keda-scaler-address'], 'NVML_EXPORTER_KEDA_SCALER_ADDRESS', 'off', 'serve the KEDA external-scaler gRPC API on this address'),
  s(['sweep-deadline'], 'NVML_EXPORTER_SWEEP_DEADLINE', '5000', 'a sweep not finished in this many milliseconds is reported as stalled'),
  b(['version'], undefined, 'print the version and exit'),
  b(['help', 'h'], undefined, 'print this help and exit'),
  // dcgm-exporter's flags we accept and ignore
  ignoredS(['remote-hostengine-info', 'r'], 'DCGM_REMOTE_HOSTENGINE_INFO', 'localhost:5555', NO_DCGM),
  ignoredB(['enable-dcgm-log'], 'DCGM_EXPORTER_ENABLE_DCGM_LOG', NO_DCGM),
  ignoredS(['dcgm-log-level'], 'DCGM_EXPORTER_DCGM_LOG_LEVEL', 'NONE', NO_DCGM),
  ignoredS(['cpu-devices', 'p'], 'DCGM_EXPORTER_CPU_DEVICES_STR', 'f', 'CPU metrics are not exported'),
  ignoredS(['switch-devices', 's'], 'DCGM_EXPORTER_OTHER_DEVICES_STR', 'f', 'NVSwitch and NVLink entities are not exported'),
  ignoredB(['no-hostname', 'n'], 'DCGM_EXPORTER_NO_HOSTNAME', 'it has had no effect since dcgm-exporter 4.0; the host label is always written'),
  ignoredS(['configmap-data', 'm'], 'DCGM_EXPORTER_CONFIGMAP_DATA', 'none', 'read counters from a file with -f (mount the ConfigMap as a file)'),
  ignoredB(['fake-gpus'], 'DCGM_EXPORTER_USE_FAKE_GPUS', 'use --simulate N for simulated GPUs'),
  ignoredB(['web-systemd-socket'], 'DCGM_EXPORTER_SYSTEMD_SOCKET', 'systemd socket activation is not supported; use --address'),
  ignoredS(['xid-count-window-size', 'x'], 'DCGM_EXPORTER_XID_COUNT_WINDOW_SIZE', '300000',
    'DCGM_EXP_XID_ERRORS_COUNT counts XIDs since the exporter started, without a window'),
  ignoredS(['clock-events-count-window-size'], 'DCGM_EXPORTER_CLOCK_EVENTS_COUNT_WINDOW_SIZE', '300000',
    'DCGM_EXP_CLOCK_EVENTS_COUNT is not provided'),
  ignoredB(['kubernetes-enable-pod-labels'], 'DCGM_EXPORTER_KUBERNETES_ENABLE_POD_LABELS', 'pod labels are not added to series'),
  ignoredB(['kubernetes-enable-pod-uid'], 'DCGM_EXPORTER_KUBERNETES_ENABLE_POD_UID', 'the pod_uid label is not added to series'),
  ignoredS(['kubernetes-pod-label-allowlist-regex'], 'DCGM_EXPORTER_KUBERNETES_POD_LABEL_ALLOWLIST_REGEX', 'none',
    'pod labels are not added to series'),
  ignoredS(['hpc-job-mapping-dir'], 'DCGM_HPC_JOB_MAPPING_DIR', 'none', 'HPC job mapping is not supported'),
  ignoredB(['kubernetes-enable-dra'], 'KUBERNETES_ENABLE_DRA', 'DRA ResourceSlices are not read'),
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
