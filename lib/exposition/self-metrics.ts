// The exporter's own metrics (`nvml_exporter_*`), in a prom-client Registry without the default
// process metrics, used as prom-client means it to be used:
//   - counters count events as they happen (a sweep, a failed sweep, a read error, a kubelet
//     failure, a reload): the collector and the attributor emit them, the counters `inc()`;
//   - gauges read their value in a `collect()` callback when the page is rendered;
//   - a gauge whose value is not known yet (no sweep, no pod map) is registered only once it has
//     one, so it has no sample instead of a 0 that would read as "0 s old" or "at the epoch".
// The page is cached by what it is made of, derived and not hand-listed: the number of counter
// events so far and the current value of every gauge (each gauge is defined with the function
// that reads it, and the same functions make the key). It cannot go stale: any event or any
// changed reading makes a new key.
import { Counter, Gauge, Registry } from 'prom-client';
import type { CollectorStatus } from '../collect/types.js';
import type { SweepOutcome } from '../collect/collector.js';
import type { PodResourcesStatus } from '../contract/pods.js';
import type { KubernetesApiStatus } from '../contract/pod-metadata.js';
import type { ProcessCadenceStatus } from '../collect/process-cadence.js';

export interface BuildInfo {
  version: string;
  nodeVersion: string;
  /** the NVML library path that was opened */
  library: string;
  /** the driver version (read at render: known from the first sweep on) */
  driver: () => string;
}

/** The part of an EventEmitter the self-metrics listen with. */
export interface Events<E extends Record<string, unknown>> {
  on<K extends keyof E & string>(event: K, listener: (arg: E[K]) => void): unknown;
}

export interface SelfMetricsSources {
  collector: { status(): CollectorStatus } & Events<{ sweep: SweepOutcome }>;
  /** absent: pod attribution is off (no podresources metrics) */
  podResources?: { status(): PodResourcesStatus } & Events<{ refresh: { ok: boolean; reason?: string }; malformed: number; unmatched: number }>;
  /** absent: no Kubernetes API watch (no pod labels, UID, workload, -m or ResourceSlices) */
  kubernetesApi?: { statuses(): Record<string, KubernetesApiStatus>; droppedPodLabels(): number };
  /** counters-file reloads: 'reload' with whether it succeeded */
  reloads: Events<{ reload: boolean }>;
  /** seconds the last render of the GPU families took (the pod join included); null before the first */
  renderSeconds?: () => number | null;
  build: BuildInfo;
  /** clock for ages (default Date.now) */
  now?: () => number;
  /** the process-read cadence (--pod-usage); absent or null: processes are not read */
  processes?: () => ProcessCadenceStatus | null;
}

export interface SelfMetrics {
  registry: Registry;
  render(): Promise<string>;
}

type Read = () => number | null;

export function createSelfMetrics(src: SelfMetricsSources): SelfMetrics {
  const registry = new Registry();
  const registers = [registry];
  const now = src.now ?? Date.now;
  let events = 0;
  const reads: (() => unknown)[] = [src.build.driver];
  const pendingGauges: { gauge: Gauge; read: Read }[] = [];

  // The collector's status, read once per render.
  let st: CollectorStatus | null = null;
  const status = () => (st ??= src.collector.status());

  /** A gauge whose value `read` gives at render time; `lazy`: registered once it has a value. */
  const gauge = (name: string, help: string, read: Read, lazy = false) => {
    const g = new Gauge({
      name, help, registers: lazy ? [] : registers,
      collect() {
        const v = read();
        if (v !== null) this.set(v);
      },
    });
    reads.push(read);
    if (lazy) pendingGauges.push({ gauge: g, read });
  };
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) => {
    const c = new Counter<L>({ name, help, labelNames, registers });
    return (labels?: Partial<Record<L, string>>, by = 1) => {
      events++;
      if (labels) c.inc(labels, by);
      else c.inc(by);
    };
  };

  const b = src.build;
  new Gauge({
    name: 'nvml_exporter_build_info', help: 'Build and runtime information; the value is always 1.',
    labelNames: ['version', 'node_version', 'nvml_library', 'driver'], registers,
    collect() {
      this.reset();
      this.set({ version: b.version, node_version: b.nodeVersion, nvml_library: b.library, driver: b.driver() }, 1);
    },
  });
  gauge('nvml_exporter_nvml_up', 'Whether NVML is open (1) or not (0).', () => (status().nvmlOpen ? 1 : 0));
  gauge('nvml_exporter_sweep_duration_seconds', 'Duration of the last finished NVML sweep.', () => status().lastSweepSeconds, true);
  gauge('nvml_exporter_last_sweep_success_timestamp_seconds', 'Time of the last successful NVML sweep, in seconds since the epoch.', () => {
    const v = status().lastSuccessMs;
    return v === null ? null : v / 1000;
  }, true);
  if (src.renderSeconds) {
    gauge('nvml_exporter_render_duration_seconds',
      'Duration of the last render of the GPU families from a new sweep or pod map (the pod join included); scrapes in between reuse it.',
      src.renderSeconds, true);
  }
  const sweeps = counter('nvml_exporter_sweeps_total', 'NVML sweeps started.');
  const sweepsFailed = counter('nvml_exporter_sweeps_failed_total', 'NVML sweeps that failed (the last good values were kept).');
  const sweepsStalled = counter('nvml_exporter_sweeps_stalled_total', 'NVML sweeps that did not finish within the sweep deadline.');
  const readErrors = counter('nvml_exporter_read_errors_total',
    'Failed NVML readings, by field and NVML return code (NOT_SUPPORTED is not counted).', ['field', 'code'] as const);
  src.collector.on('sweep', (o) => {
    sweeps();
    if (o.outcome === 'failed') sweepsFailed();
    if (o.outcome === 'stalled') sweepsStalled();
    for (const [field, code] of o.readErrors) readErrors({ field, code });
  });
  gauge('nvml_exporter_gpus', 'GPUs in the last sweep.', () => status().gpuCount);
  gauge('nvml_exporter_gpus_lost', 'GPUs that did not answer the last sweep (fallen off the bus, lost).', () => status().gpusLost);
  gauge('nvml_exporter_mig_parent_memory_denied_gpus',
    'MIG-enabled GPUs whose memory NVML refuses (NO_PERMISSION: set NVIDIA_MIG_MONITOR_DEVICES=all); their DCGM_FI_DEV_FB_* series are missing.',
    () => status().migParentMemoryDenied ?? 0);
  const reloadsOk = counter('nvml_exporter_config_reloads_total', 'Counters-file reloads that succeeded.');
  const reloadsFailed = counter('nvml_exporter_config_reload_failures_total', 'Counters-file reloads that failed (the previous selection was kept).');
  src.reloads.on('reload', (ok) => (ok ? reloadsOk() : reloadsFailed()));

  const ps = src.processes;
  if (ps && ps() !== null) {
    const p = () => ps()!;
    gauge('nvml_exporter_process_query_duration_seconds', 'Duration of the last read of the processes on every GPU (on the sweep thread, within the sweep deadline).',
      () => p().lastDurationSeconds, true);
    gauge('nvml_exporter_process_query_interval_seconds',
      'How often the processes are read now: --process-interval, or --process-slow-interval while a read takes longer than --process-budget.',
      () => p().intervalMs / 1000);
    gauge('nvml_exporter_process_query_slow', 'Whether process reads run on the slow cadence (1) because one took longer than --process-budget, or not (0).',
      () => (p().slow ? 1 : 0));
    gauge('nvml_exporter_process_info_stride_bytes',
      "Entry size of the driver's process lists as probed (16, 24, or 32 on drivers 535.43-535.86); absent before a process was seen.",
      () => (p().stride > 0 ? p().stride : null), true);
  }

  const pr = src.podResources;
  if (pr) {
    gauge('nvml_exporter_podresources_up', 'Whether the last kubelet PodResources refresh succeeded (1) or not (0).', () => (pr.status().up ? 1 : 0));
    const refreshErrors = counter('nvml_exporter_podresources_refresh_errors_total', 'Failed kubelet PodResources refreshes, by reason.', ['reason'] as const);
    pr.on('refresh', (e) => {
      if (!e.ok) refreshErrors({ reason: e.reason ?? 'other' });
    });
    pr.on('malformed', (n) => refreshErrors({ reason: 'malformed' }, n));
    gauge('nvml_exporter_pod_map_age_seconds', 'Age of the pod map in use (time since the last successful refresh), in whole seconds.', () => {
      const last = pr.status().lastSuccessMs;
      return last === null ? null : Math.max(0, Math.floor((now() - last) / 1000));
    }, true);
    const unmatched = counter('nvml_exporter_podresources_unmatched_device_ids_total', 'Kubelet device IDs that matched no GPU on this node.');
    pr.on('unmatched', (n) => unmatched(undefined, n));
  }

  // The cache key is the event count and every read's value, compared in place (no string built
  // per scrape: a scrape between changes allocates nothing here).
  let cachedEvents = -1;
  const lastValues: unknown[] = reads.map(() => undefined);
  let cachedText: string | null = null;
  const api = src.kubernetesApi;
  if (api) {
    let sts: Record<string, KubernetesApiStatus> | null = null;
    const statuses = () => (sts ??= api.statuses());
    reads.push(() => {
      sts = null;
      const all = statuses();
      let k = '';
      for (const [w, x] of Object.entries(all)) {
        // error counts only grow: their sum changes whenever one does (no JSON per scrape)
        let errors = 0;
        for (const n of Object.values(x.errorsByReason)) errors += n;
        k += `${w}:${x.up}:${x.lastContactMs === null ? '-' : Math.floor((now() - x.lastContactMs) / 1000)}:${errors};`;
      }
      return k;
    });
    new Gauge({
      name: 'nvml_exporter_kubernetes_api_up', help: 'Whether the Kubernetes API watch is listed and watching (1) or failing (0), by watch.',
      labelNames: ['watch'], registers,
      collect() {
        this.reset();
        for (const [w, x] of Object.entries(statuses())) this.set({ watch: w }, x.up ? 1 : 0);
      },
    });
    new Counter({
      name: 'nvml_exporter_kubernetes_api_errors_total', help: 'Kubernetes API list and watch failures, by watch and reason.',
      labelNames: ['watch', 'reason'], registers,
      collect() {
        this.reset();
        for (const [w, x] of Object.entries(statuses())) for (const [reason, n] of Object.entries(x.errorsByReason)) this.inc({ watch: w, reason }, n);
      },
    });
    new Gauge({
      name: 'nvml_exporter_kubernetes_api_cache_age_seconds',
      help: 'Time since the last successful list or watch event (bookmarks included) of the Kubernetes API watch, in whole seconds, by watch.',
      labelNames: ['watch'], registers,
      collect() {
        this.reset();
        for (const [w, x] of Object.entries(statuses())) {
          if (x.lastContactMs !== null) this.set({ watch: w }, Math.max(0, Math.floor((now() - x.lastContactMs) / 1000)));
        }
      },
    });
    gauge('nvml_exporter_kubernetes_pod_labels_dropped', 'Pod labels left out since start: past the cap of 16 per series, or colliding with a label of ours.',
      () => api.droppedPodLabels());
  }

  return {
    registry,
    async render() {
      st = null;
      try {
        let same = cachedText !== null && events === cachedEvents;
        for (let i = 0; i < reads.length; i++) {
          const v = reads[i]!();
          if (v !== lastValues[i]) {
            same = false;
            lastValues[i] = v;
          }
        }
        if (same) return cachedText!;
        if (pendingGauges.length > 0) {
          const still = pendingGauges.filter((p) => p.read() === null);
          for (const p of pendingGauges) if (!still.includes(p)) registry.registerMetric(p.gauge);
          pendingGauges.splice(0, pendingGauges.length, ...still);
        }
        const ev = events; // an event during the await makes the next scrape render again
        const text = await registry.metrics();
        cachedEvents = ev;
        cachedText = text;
        return text;
      } finally {
        st = null;
      }
    },
  };
}
