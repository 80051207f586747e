// The GPU families of /metrics, rendered from one Snapshot: pure, no I/O. One family per selected
// field in ascending field-ID order (`# HELP`, `# TYPE` as the counters file gives them), samples
// in GPU index order, a family with no samples is not written (as dcgm-exporter). Lost GPUs have
// no series. A render of the same snapshot, selection, pod map and options is a cached string.
//
// Device selection (-d), as dcgm-exporter: `f` — whole GPUs, and on a GPU with MIG instances its GPU
// instances instead: every field is written once per GPU instance (GPU_I_PROFILE, GPU_I_ID and the
// pods of that instance), a field the instance measures itself (framebuffer) with its own value,
// a device-wide one (temperature, power, clocks, XID…) with the GPU's value repeated, as
// dashboards written for dcgm-exporter expect; `g[:ids]` — whole GPUs only; `i[:ids]` — GPU
// instances only (ids are GPU_I_ID values). Several compute instances of one GPU instance are one
// target: they share its memory, and their pods are that instance's pods.
import type { Snapshot } from '../collect/types.js';
import type { PodMap } from '../contract/pods.js';
import type { PodUsage } from '../contract/pod-usage.js';
import type { FieldSelection, SelectedField } from '../fields/counters.js';
import type { DeviceSelection } from '../fields/devices.js';
import type { DeviceSample, MigDeviceSample } from '../nvml/types.js';
import { buildTarget, labelSet, type SeriesOptions, type Target } from './series.js';
import { escapeHelp, formatValue } from './text-format.js';

export interface RenderInput {
  snapshot: Snapshot;
  selection: FieldSelection;
  /** null: no pod attribution (no -k, or no map yet) */
  pods: PodMap | null;
  /** the host label's value; empty = no host label */
  hostname: string;
  /** `Hostname` (dcgm-exporter ≤ 4.8.2; the renderer's default) or `hostname` (4.8.3+; the naming profile decides) */
  hostnameLabel?: 'Hostname' | 'hostname';
  /** a naming transition: the host label under both spellings */
  bothHostnameLabels?: boolean;
  replaceBlanksInModelName?: boolean;
  /** -o: `uuid`, `container_name`, `pod_name`, `pod_namespace` */
  useOldNamespace?: boolean;
  /**
   * A GPU held by several pods: `per-pod` (--kubernetes-virtual-gpus) writes one series per pod in the map, with
   * `vgpu` when the attribution carries a replica index; `single-pod` (default) writes the first pod only,
   * without `vgpu` (dcgm-exporter's behaviour without --kubernetes-virtual-gpus).
   */
  sharedGpus?: 'per-pod' | 'single-pod';
  /** -d; default `f` */
  devices?: DeviceSelection;
  /**
   * Per-pod usage from the processes (lib/kubernetes/pod-usage.ts). With `sharedGpus: 'per-pod'`,
   * the series of a GPU shared by several pods carry each pod's own GPU utilisation and
   * framebuffer use (DCGM_FI_DEV_GPU_UTIL, DCGM_FI_DEV_FB_USED and their base-unit twins), as
   * dcgm-exporter 4.8.2+ does with --kubernetes-virtual-gpus. null/absent: the device's values.
   */
  podUsage?: PodUsage | null;
}

interface CacheEntry {
  selection: FieldSelection;
  pods: PodMap | null;
  podUsage: PodUsage | null;
  key: string;
  text: string;
}

const cache = new WeakMap<Snapshot, CacheEntry>();

function optionsKey(o: SeriesOptions, devices: DeviceSelection): string {
  const ids = devices.kind === 'flex' ? '' : (devices.ids ?? []).join(',') + (devices.ids ? '' : '*');
  return `${o.hostname}\u0000${o.hostnameLabels.join(',')}\u0000${o.replaceBlanksInModelName}\u0000${o.useOldNamespace}\u0000${o.sharedGpus}\u0000${devices.kind}:${ids}`;
}

/**
 * The GPU page of one exporter: the render options fixed, the inputs given per call. Renders only
 * when the snapshot, the selection or the pod map changed (renderMetrics caches), and times each
 * render that made a new page: that render, with the pod join, is what a sweep costs on this side.
 */
export class GpuPageRenderer {
  /** seconds the last render that made a new page took; null before the first */
  lastRenderSeconds: number | null = null;
  private last: { snapshot: Snapshot; selection: FieldSelection; pods: PodMap | null; podUsage: PodUsage | null; text: string } | null = null;

  constructor(private readonly opts: Omit<RenderInput, 'snapshot' | 'selection' | 'pods'>) {}

  render(snapshot: Snapshot, selection: FieldSelection, pods: PodMap | null, podUsage: PodUsage | null = null): string {
    const l = this.last;
    // a scrape between sweeps: the same inputs, the same page, nothing allocated
    if (l && l.snapshot === snapshot && l.selection === selection && l.pods === pods && l.podUsage === podUsage) return l.text;
    const t0 = process.hrtime.bigint();
    const text = renderMetrics({ ...this.opts, snapshot, selection, pods, podUsage });
    this.lastRenderSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    this.last = { snapshot, selection, pods, podUsage, text };
    return text;
  }
}

/** The GPU families as exposition text (ends with a newline, or '' when there is nothing). */
export function renderMetrics(input: RenderInput): string {
  const opts: SeriesOptions = {
    hostname: input.hostname,
    hostnameLabels: input.bothHostnameLabels ? ['Hostname', 'hostname'] : [input.hostnameLabel ?? 'Hostname'],
    replaceBlanksInModelName: input.replaceBlanksInModelName ?? false,
    useOldNamespace: input.useOldNamespace ?? false,
    sharedGpus: input.sharedGpus ?? 'single-pod',
  };
  const devices = input.devices ?? { kind: 'flex' };
  const key = optionsKey(opts, devices);
  const hit = cache.get(input.snapshot);
  const usage = opts.sharedGpus === 'per-pod' ? input.podUsage ?? null : null;
  if (hit && hit.selection === input.selection && hit.pods === input.pods && hit.podUsage === usage && hit.key === key) return hit.text;
  const text = render(input.snapshot, input.selection, input.pods, opts, devices, usage);
  cache.set(input.snapshot, { selection: input.selection, pods: input.pods, podUsage: usage, key, text });
  return text;
}

interface DeviceTargets {
  device: Target;
  /** MIG instance targets (only where MIG is on and instances exist) */
  instances: Target[] | null;
}

function render(snap: Snapshot, selection: FieldSelection, pods: PodMap | null, opts: SeriesOptions, sel: DeviceSelection, usage: PodUsage | null): string {
  const sweep = snap.sweep;
  const live = sweep.devices.filter((d) => d.lostCode === null).sort((a, b) => a.index - b.index);
  const targets: DeviceTargets[] = [];
  for (const d of live) {
    if (sel.kind === 'gpu' && sel.ids && !sel.ids.includes(d.index)) continue;
    const migOn = d.migEnabled === true && d.mig.length > 0;
    let instances: Target[] | null = null;
    if (migOn && sel.kind !== 'gpu') {
      const ms = sel.kind === 'instance' && sel.ids ? d.mig.filter((m) => m.gpuInstanceId !== null && sel.ids!.includes(m.gpuInstanceId)) : d.mig;
      instances = gpuInstances(ms).map((g) => buildTarget(sweep, d, g[0]!, selection.labels, pods, opts, g.map((m) => m.uuid)));
    }
    if (sel.kind === 'instance' && !instances) continue;
    targets.push({ device: buildTarget(sweep, d, null, selection.labels, pods, opts), instances });
  }

  let out = '';
  for (const f of selection.fields) {
    const body = family(f, targets, snap, sel, usage);
    if (body === '') continue;
    out += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n${body}`;
  }
  return out;
}

/** MIG devices (compute instances) grouped by GPU instance, in slot order; unknown GI ids stay alone. */
function gpuInstances(ms: readonly MigDeviceSample[]): MigDeviceSample[][] {
  const groups = new Map<string, MigDeviceSample[]>();
  for (const m of [...ms].sort((a, b) => a.slot - b.slot)) {
    const key = m.gpuInstanceId === null ? `slot:${m.slot}` : `gi:${m.gpuInstanceId}`;
    const g = groups.get(key);
    if (g) g.push(m);
    else groups.set(key, [m]);
  }
  return [...groups.values()];
}

/** DCGM field ID → the pod's own value from its processes' usage (--kubernetes-virtual-gpus). */
const POD_VALUE: ReadonlyMap<number, (smRatio: number, bytes: number) => number> = new Map([
  [203, (sm: number) => Math.round(sm * 100)], // DCGM_FI_DEV_GPU_UTIL, %
  [1613, (sm: number) => sm], // DCGM_FI_DEV_GPU_UTIL_RATIO
  [252, (_: number, b: number) => Math.floor(b / 1048576)], // DCGM_FI_DEV_FB_USED, MiB
  [1627, (_: number, b: number) => b], // DCGM_FI_DEV_FB_USED_BYTES
]);

/** The pod of a variant's labels, as `namespace/pod`. */
function variantPod(pairs: readonly (readonly [string, string])[]): string | null {
  let ns: string | undefined, pod: string | undefined;
  for (const [k, v] of pairs) {
    if (k === 'namespace' || k === 'pod_namespace') ns = v;
    else if (k === 'pod' || k === 'pod_name') pod = v;
  }
  return ns === undefined || pod === undefined ? null : `${ns}/${pod}`;
}

/** Per pod (`namespace/pod`) on a target: SM ratio and bytes summed over its rows; null when the usage has no rows there. */
function podValuesOn(t: Target, usage: PodUsage): Map<string, { sm: number | null; bytes: number }> {
  const d = t.device;
  const gi = t.mig?.gpuInstanceId;
  const out = new Map<string, { sm: number | null; bytes: number }>();
  for (const r of usage.rows) {
    if (r.gpuUuid !== d.uuid || !r.allocated) continue;
    if (t.mig) {
      const m = d.mig.find((x) => x.uuid === r.migUuid);
      if (!m || (m.uuid !== t.mig.uuid && (gi === null || m.gpuInstanceId !== gi))) continue;
    } else if (r.migUuid !== null) continue;
    const k = `${r.namespace}/${r.pod}`;
    const v = out.get(k) ?? { sm: null, bytes: 0 };
    if (r.smUtil !== null) v.sm = (v.sm ?? 0) + r.smUtil;
    v.bytes += r.memoryBytes;
    out.set(k, v);
  }
  return out;
}

function family(f: SelectedField, targets: readonly DeviceTargets[], snap: Snapshot, sel: DeviceSelection, usage: PodUsage | null): string {
  const def = f.field;
  let body = '';
  const podValue = usage ? POD_VALUE.get(def.id) : undefined;
  const write = (t: Target, v: number | undefined, d: DeviceSample) => {
    if (v === undefined) return;
    const text = formatValue(v, def.format);
    if (text === null) return;
    const attrs = def.attributes ? def.attributes(d, snap) : null;
    // a shared GPU: each pod's series carries that pod's own usage, once the processes of at least
    // one of its pods are known (else, e.g. without the host's /proc, the device's value as before)
    let own = podValue && t.variants.length > 1 ? podValuesOn(t, usage!) : null;
    if (own && !t.variants.some((v) => own!.has(variantPod(v.pairs) ?? ''))) own = null;
    for (const variant of t.variants) {
      const labels = attrs ? labelSet(t.head, [...variant.pairs, ...attrs]) : variant.labels;
      let vt = text;
      if (own) {
        const key = variantPod(variant.pairs);
        const pv = key === null ? undefined : own.get(key) ?? { sm: 0, bytes: 0 };
        const value = pv === undefined ? undefined : def.id === 203 || def.id === 1613 ? (pv.sm === null ? undefined : podValue!(pv.sm, pv.bytes)) : podValue!(0, pv.bytes);
        if (value !== undefined) vt = formatValue(value, def.format) ?? text;
      }
      body += `${f.name}${labels} ${vt}\n`;
    }
  };
  const writeSeries = (t: Target, d: DeviceSample) => {
    for (const s of def.series!(d, snap)) {
      const text = formatValue(s.value, def.format);
      if (text === null) continue;
      for (const variant of t.variants) body += `${f.name}${labelSet(t.head, [...variant.pairs, ...s.attrs])} ${text}\n`;
    }
  };
  for (const dt of targets) {
    const d = dt.device.device;
    if (dt.instances) {
      for (const t of dt.instances) {
        if (def.mig) write(t, def.mig(t.mig as MigDeviceSample, d, snap), d);
        else if (def.series) writeSeries(t, d);
        else write(t, def.device(d, snap), d);
      }
    } else if (sel.kind !== 'instance') {
      if (def.series) writeSeries(dt.device, d);
      else write(dt.device, def.device(d, snap), d);
    }
  }
  return body;
}
