// The per-pod usage families (nvml_exporter_pod_gpu_*): one sample per (GPU or GPU instance, pod
// UID, container) in the PodUsage, with the GPU's identity labels as the DCGM families carry them,
// then `allocated`, `container`, `namespace`, `pod`, `pod_uid`. Processes in no pod have pod="" and
// pod_uid="". Pure: a render of the same inputs is a cached string. README "Per-pod GPU usage".
import type { Snapshot } from '../collect/types.js';
import type { PodUsage, PodUsageRow } from '../contract/pod-usage.js';
import type { SelectedLabel } from '../fields/counters.js';
import { buildTarget, type SeriesOptions } from './series.js';
import { escapeLabelValue } from './text-format.js';

export interface PodUsageRenderOptions {
  hostname: string;
  hostnameLabels: readonly string[];
  replaceBlanksInModelName: boolean;
  labelRows: readonly SelectedLabel[];
}

interface Family {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  value(r: PodUsageRow): number | null;
}

export const POD_USAGE_FAMILIES: readonly Family[] = [
  { name: 'nvml_exporter_pod_gpu_sm_utilization_ratio', type: 'gauge', help: "Share of time (0-1) the pod's processes had kernels running on the GPU, averaged since the previous process read.", value: (r) => r.smUtil },
  { name: 'nvml_exporter_pod_gpu_memory_utilization_ratio', type: 'gauge', help: "Share of time (0-1) the pod's processes read or wrote GPU memory, averaged since the previous process read.", value: (r) => r.memUtil },
  { name: 'nvml_exporter_pod_gpu_encoder_utilization_ratio', type: 'gauge', help: "Share of time (0-1) the pod's processes used the video encoder, averaged since the previous process read.", value: (r) => r.encUtil },
  { name: 'nvml_exporter_pod_gpu_decoder_utilization_ratio', type: 'gauge', help: "Share of time (0-1) the pod's processes used the video decoder, averaged since the previous process read.", value: (r) => r.decUtil },
  { name: 'nvml_exporter_pod_gpu_memory_used_bytes', type: 'gauge', help: "GPU memory used by the pod's processes, in bytes.", value: (r) => r.memoryBytes },
  { name: 'nvml_exporter_pod_gpu_processes', type: 'gauge', help: "Processes of the pod on the GPU (compute, graphics and MPS clients).", value: (r) => r.processes },
  { name: 'nvml_exporter_pod_gpu_busy_seconds_total', type: 'counter', help: "Seconds of GPU time the pod's processes kept the SMs busy (SM utilisation integrated over time).", value: (r) => (r.smUtil === null && r.busySecondsTotal === 0 ? null : r.busySecondsTotal) },
  { name: 'nvml_exporter_pod_gpu_memory_byte_seconds_total', type: 'counter', help: "GPU memory the pod's processes held, integrated over time, in byte-seconds.", value: (r) => r.memoryByteSecondsTotal },
  { name: 'nvml_exporter_pod_gpu_energy_joules_total', type: 'counter', help: "GPU energy apportioned to the pod by its share of SM utilisation (memory share where no process was busy), in joules.", value: (r) => r.energyJoulesTotal },
];

const cache = new WeakMap<PodUsage, { snapshot: Snapshot; key: string; text: string }>();

function num(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(6);
}

/** The nvml_exporter_pod_gpu_* families and nvml_exporter_gpu_unattributed_processes; '' when there is nothing. */
export function renderPodUsage(usage: PodUsage | null, snapshot: Snapshot | null, o: PodUsageRenderOptions): string {
  if (!usage || !snapshot) return '';
  const key = `${o.hostname}\u0000${o.hostnameLabels.join(',')}\u0000${o.replaceBlanksInModelName}`;
  const hit = cache.get(usage);
  if (hit && hit.snapshot === snapshot && hit.key === key) return hit.text;
  const sweep = snapshot.sweep;
  const opts: SeriesOptions = { hostname: o.hostname, hostnameLabels: o.hostnameLabels, replaceBlanksInModelName: o.replaceBlanksInModelName, useOldNamespace: false, sharedGpus: 'per-pod' };
  const heads = new Map<string, string>();
  const head = (gpu: number, gpuUuid: string, migUuid: string | null): string | null => {
    const k = `${gpuUuid}\u0000${migUuid ?? ''}`;
    const h = heads.get(k);
    if (h !== undefined) return h;
    const d = sweep.devices[gpu];
    if (!d || d.uuid !== gpuUuid || d.lostCode !== null) return null;
    const m = migUuid === null ? null : d.mig.find((x) => x.uuid === migUuid) ?? null;
    if (migUuid !== null && !m) return null;
    const t = buildTarget(sweep, d, m, o.labelRows, null, opts);
    heads.set(k, t.head);
    return t.head;
  };
  let out = '';
  for (const f of POD_USAGE_FAMILIES) {
    let body = '';
    for (const r of usage.rows) {
      const v = f.value(r);
      const h = head(r.gpu, r.gpuUuid, r.migUuid);
      if (v === null || h === null || !Number.isFinite(v)) continue;
      body += `${f.name}${h},allocated="${r.allocated}",container="${escapeLabelValue(r.container)}",namespace="${escapeLabelValue(r.namespace)}",pod="${escapeLabelValue(r.pod)}",pod_uid="${escapeLabelValue(r.podUid)}"} ${num(v)}\n`;
    }
    if (body !== '') out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n${body}`;
  }
  let body = '';
  for (const u of usage.unattributed) {
    const h = head(u.gpu, u.gpuUuid, u.migUuid);
    if (h !== null) body += `nvml_exporter_gpu_unattributed_processes${h},reason="${u.reason}"} ${u.processes}\n`;
  }
  if (body !== '') {
    out += '# HELP nvml_exporter_gpu_unattributed_processes Processes on the GPU not attributed to one of the pods that hold it: reason no_pod (a host process or a container outside Kubernetes), not_allocated (a pod that did not request this GPU), ambiguous (which pod cannot be told without the Kubernetes API), unresolved (the cgroup could not be read).\n';
    out += `# TYPE nvml_exporter_gpu_unattributed_processes gauge\n${body}`;
  }
  cache.set(usage, { snapshot, key, text: out });
  return out;
}
