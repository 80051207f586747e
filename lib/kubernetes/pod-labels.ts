// What the Kubernetes API adds to a pod's series, joined onto the pod map off the render: `pod_uid`
// (--kubernetes-enable-pod-uid), the owning workload (--kubernetes-enable-workload-label:
// `workload`, `workload_kind` and a label named by the kind, e.g. `deployment="my-gpu-workload"`)
// and the pod's own labels (--kubernetes-enable-pod-labels) that the allowlist keeps.
//
// Pod labels, as dcgm-exporter writes them: a key is kept when one of the allowlist's regular
// expressions matches it (unanchored, as Go's MatchString; RE2 through re2js, linear time), then
// sanitised — every character outside [a-zA-Z0-9_] becomes `_` (`app.kubernetes.io/name` →
// `app_kubernetes_io_name`), and a leading digit gets a `_` in front (a Prometheus label name cannot
// start with one). A key that collides with a label we write (gpu, UUID, pod, namespace, …), or
// starts with `__` (reserved by Prometheus), is dropped; two keys that sanitise to one name keep the
// first in key order. At most MAX_POD_LABELS per series, the first in key order.
import { RE2JS } from 're2js';
import type { PodMeta, PodMetadataView } from '../contract/pod-metadata.js';
import type { PodAttribution, PodMap } from '../contract/pods.js';

/** The most pod labels one series carries (after the allowlist). */
export const MAX_POD_LABELS = 16;
/** Allowlist decisions remembered (keys seen); past this the cache starts again. */
const MAX_DECISIONS = 10_000;

/** Label names the exporter writes itself: a pod label with one of these names is dropped. */
const RESERVED = new Set([
  'gpu', 'UUID', 'uuid', 'pci_bus_id', 'device', 'modelName', 'GPU_I_PROFILE', 'GPU_I_ID', 'Hostname', 'hostname',
  'container', 'namespace', 'pod', 'vgpu', 'container_name', 'pod_name', 'pod_namespace', 'pod_uid',
  'workload', 'workload_kind', 'deployment', 'statefulset', 'daemonset', 'job', 'cronjob', 'replicaset',
  'err_code', 'err_msg', 'xid', 'window_size_in_ms', 'clock_event', 'hpc_job',
]);

function reserved(name: string): boolean {
  return RESERVED.has(name) || name.startsWith('__') || name.startsWith('dra_') || name.startsWith('DCGM_');
}

/** A Kubernetes label key as a Prometheus label name (see the head of this file). */
export function sanitizeLabelName(key: string): string {
  const s = key.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

export interface PodLabelOptions {
  podLabels: boolean;
  /** RE2 patterns; required with podLabels */
  allowlist: readonly string[] | null;
  podUid: boolean;
  workload: boolean;
}

/** Whether the join has anything to add. */
export function joinWanted(o: PodLabelOptions): boolean {
  return o.podLabels || o.podUid || o.workload;
}

export class PodLabelJoin {
  private readonly patterns: RE2JS[];
  private readonly decisions = new Map<string, boolean>();
  private readonly perPod = new Map<string, { meta: PodMeta; pairs: readonly (readonly [string, string])[] }>();
  private memo: { map: PodMap; generation: number; fresh: boolean; out: PodMap } | null = null;
  /** pod labels left out by the cap or a collision, since start */
  droppedLabels = 0;

  constructor(
    private readonly opts: PodLabelOptions,
    private readonly view: PodMetadataView,
    /** whether the view's metadata may still be used (the API is up, or down for less than the stale bound) */
    private readonly fresh: () => boolean,
  ) {
    this.patterns = (opts.allowlist ?? []).map((p) => {
      try {
        return RE2JS.compile(p);
      } catch (err) {
        throw new Error(`--kubernetes-pod-label-allowlist-regex: "${p}" is not a regular expression RE2 accepts (${(err as Error).message}); fix or remove it`, { cause: err });
      }
    });
  }

  private allowed(key: string): boolean {
    let d = this.decisions.get(key);
    if (d === undefined) {
      d = this.patterns.some((p) => p.test(key));
      if (this.decisions.size >= MAX_DECISIONS) this.decisions.clear();
      this.decisions.set(key, d);
    }
    return d;
  }

  /** The extra labels of one pod, computed once per pod version. */
  private pairsOf(meta: PodMeta): readonly (readonly [string, string])[] {
    const hit = this.perPod.get(meta.uid);
    if (hit && hit.meta === meta) return hit.pairs;
    const pairs: [string, string][] = [];
    if (this.opts.podUid) pairs.push(['pod_uid', meta.uid]);
    if (this.opts.workload) {
      pairs.push(['workload', meta.workload.name], ['workload_kind', meta.workload.kind]);
      const kindLabel = meta.workload.kind.toLowerCase();
      if (['deployment', 'statefulset', 'daemonset', 'job', 'cronjob', 'replicaset'].includes(kindLabel)) pairs.push([kindLabel, meta.workload.name]);
    }
    if (this.opts.podLabels) {
      const names = new Set<string>();
      let kept = 0;
      for (const key of Object.keys(meta.labels).sort()) {
        if (!this.allowed(key)) continue;
        const name = sanitizeLabelName(key);
        if (reserved(name) || names.has(name) || kept >= MAX_POD_LABELS) {
          this.droppedLabels++;
          continue;
        }
        names.add(name);
        pairs.push([name, meta.labels[key]!]);
        kept++;
      }
    }
    this.perPod.set(meta.uid, { meta, pairs });
    return pairs;
  }

  /**
   * The pod map with each attribution's extra labels added; the same object back while neither the
   * map nor the pods moved. Without fresh metadata (the API down past its bound) the map is returned
   * as it is: the series keep pod, namespace and container.
   */
  join(map: PodMap | null): PodMap | null {
    if (!map) return null;
    const fresh = this.fresh();
    const gen = this.view.generation;
    const m = this.memo;
    if (m && m.map === map && m.generation === gen && m.fresh === fresh) return m.out;
    let out = map;
    if (fresh) {
      const byUuid = new Map<string, readonly PodAttribution[]>();
      for (const [uuid, attrs] of map.byUuid) {
        byUuid.set(uuid, attrs.map((a) => {
          const meta = this.view.byName(a.namespace, a.pod);
          if (!meta) return a;
          const extra = this.pairsOf(meta);
          if (extra.length === 0) return a;
          return { ...a, labels: a.labels ? [...a.labels, ...extra] : extra };
        }));
      }
      out = { byUuid, updatedAt: map.updatedAt };
    }
    if (this.perPod.size > 4 * 1024) this.perPod.clear(); // pods come and go: start again rather than grow
    this.memo = { map, generation: gen, fresh, out };
    return out;
  }
}
