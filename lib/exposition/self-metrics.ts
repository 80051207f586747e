// The exporter's own metrics (`nvml_exporter_*`), kept in a prom-client Registry without default
// metrics. Every value is read from the status providers when the page is rendered, so nothing
// here has to be updated by the collector or the attribution side. The text is rendered again only
// when one of those values changed (in practice once per sweep or pod refresh), not per scrape:
// render() returns the same string object until then.
import { Counter, Gauge, Registry } from 'prom-client';
import type { CollectorStatus } from '../collect/types.js';
import type { PodResourcesStatus } from '../kubernetes/types.js';

export interface BuildInfo {
  version: string;
  nodeVersion: string;
  /** the NVML library path that was opened */
  library: string;
  /** driver version at startup */
  driver: string;
}

export interface SelfMetricsProviders {
  collector: () => CollectorStatus;
  /** absent: pod attribution is off (no podresources metrics); null: no status yet */
  podResources?: () => PodResourcesStatus | null;
  reloads: () => { ok: number; failed: number };
  /** seconds the last render of the GPU families took (joining the pod map included); null before the first */
  renderSeconds?: () => number | null;
  build: BuildInfo;
  /** clock for ages (default Date.now) */
  now?: () => number;
}

export interface SelfMetrics {
  registry: Registry;
  render(): Promise<string>;
}

/** A counter whose value is set from a total kept elsewhere. */
function setCounter<T extends string>(c: Counter<T>, value: number, labels?: Partial<Record<T, string>>): void {
  if (labels) c.inc(labels as Record<T, string>, value);
  else c.inc(value);
}

export function createSelfMetrics(p: SelfMetricsProviders): SelfMetrics {
  const registry = new Registry();
  const now = p.now ?? Date.now;
  const registers = [registry];
  let st: CollectorStatus | null = null;
  const status = () => (st ??= p.collector());
  // Gauges whose value is not known yet (no sweep, no pod map): prom-client prints an unlabelled
  // gauge as 0 even after reset(), which would read as "0 s old" or "at the epoch"; their sample
  // line is left out of the page instead (the HELP and TYPE lines stay).
  const unknown = new Set<string>();
  const optional = (g: Gauge, name: string, v: number | null): void => {
    if (v === null) {
      unknown.add(name);
      g.set(0);
    } else {
      unknown.delete(name);
      g.set(v);
    }
  };

  new Gauge({
    name: 'nvml_exporter_build_info', help: 'Build and runtime information; the value is always 1.',
    labelNames: ['version', 'node_version', 'nvml_library', 'driver'], registers,
    collect() {
      this.set({ version: p.build.version, node_version: p.build.nodeVersion, nvml_library: p.build.library, driver: p.build.driver }, 1);
    },
  });
  new Gauge({
    name: 'nvml_exporter_nvml_up', help: 'Whether NVML is open (1) or not (0).', registers,
    collect() { this.set(status().nvmlOpen ? 1 : 0); },
  });
  new Gauge({
    name: 'nvml_exporter_sweep_duration_seconds', help: 'Duration of the last finished NVML sweep.', registers,
    collect() {
      optional(this, 'nvml_exporter_sweep_duration_seconds', status().lastSweepSeconds);
    },
  });
  new Gauge({
    name: 'nvml_exporter_last_sweep_success_timestamp_seconds', help: 'Time of the last successful NVML sweep, in seconds since the epoch.',
    registers,
    collect() {
      const v = status().lastSuccessMs;
      optional(this, 'nvml_exporter_last_sweep_success_timestamp_seconds', v === null ? null : v / 1000);
    },
  });
  if (p.renderSeconds) {
    const read = p.renderSeconds;
    new Gauge({
      name: 'nvml_exporter_render_duration_seconds',
      help: 'Duration of the last render of the GPU families from a new sweep or pod map (the pod join included); scrapes in between reuse it.',
      registers,
      collect() {
        optional(this, 'nvml_exporter_render_duration_seconds', read());
      },
    });
  }
  const counter = (name: string, help: string, read: (s: CollectorStatus) => number) =>
    new Counter({ name, help, registers, collect() { this.reset(); setCounter(this, read(status())); } });
  counter('nvml_exporter_sweeps_total', 'NVML sweeps started.', (s) => s.sweepsTotal);
  counter('nvml_exporter_sweeps_failed_total', 'NVML sweeps that failed (the last good values were kept).', (s) => s.sweepsFailed);
  counter('nvml_exporter_sweeps_stalled_total', 'NVML sweeps that did not finish within the sweep deadline.', (s) => s.sweepsStalled);
  new Counter({
    name: 'nvml_exporter_read_errors_total', help: 'Failed NVML readings, by field and NVML return code (NOT_SUPPORTED is not counted).',
    labelNames: ['field', 'code'], registers,
    collect() {
      this.reset();
      for (const [key, n] of status().readErrors) {
        const sep = key.indexOf('\u0000');
        setCounter(this, n, { field: sep === -1 ? key : key.slice(0, sep), code: sep === -1 ? '' : key.slice(sep + 1) });
      }
    },
  });
  new Gauge({ name: 'nvml_exporter_gpus', help: 'GPUs in the last sweep.', registers, collect() { this.set(status().gpuCount); } });
  new Gauge({
    name: 'nvml_exporter_gpus_lost', help: 'GPUs that did not answer the last sweep (fallen off the bus, lost).', registers,
    collect() { this.set(status().gpusLost); },
  });
  new Counter({
    name: 'nvml_exporter_config_reloads_total', help: 'Counters-file reloads that succeeded.', registers,
    collect() { this.reset(); setCounter(this, p.reloads().ok); },
  });
  new Counter({
    name: 'nvml_exporter_config_reload_failures_total', help: 'Counters-file reloads that failed (the previous selection was kept).',
    registers, collect() { this.reset(); setCounter(this, p.reloads().failed); },
  });

  const podMapAge = (): number | null => {
    const last = p.podResources?.()?.lastSuccessMs ?? null;
    return last === null ? null : Math.max(0, Math.floor((now() - last) / 1000));
  };
  // Everything the page is made of, as one string: equal keys give equal pages.
  const stateKey = (): string => {
    const s = status();
    const r = p.reloads();
    let k = `${s.nvmlOpen}|${s.lastSweepSeconds}|${s.lastSuccessMs}|${s.sweepsTotal}|${s.sweepsFailed}|${s.sweepsStalled}|${s.gpuCount}|${s.gpusLost}|${r.ok}|${r.failed}|${p.renderSeconds?.()}`;
    for (const [key, n] of s.readErrors) k += `|${key}=${n}`;
    if (p.podResources) {
      const q = p.podResources();
      k += `|pr:${q?.up}|${q?.unmatchedDeviceIds}|${podMapAge()}`;
      for (const [reason, n] of Object.entries(q?.errorsByReason ?? {})) k += `|${reason}=${n}`;
    }
    return k;
  };

  if (p.podResources) {
    const pr = p.podResources;
    new Gauge({
      name: 'nvml_exporter_podresources_up', help: 'Whether the last kubelet PodResources refresh succeeded (1) or not (0).', registers,
      collect() { this.set(pr()?.up ? 1 : 0); },
    });
    new Counter({
      name: 'nvml_exporter_podresources_refresh_errors_total', help: 'Failed kubelet PodResources refreshes, by reason.',
      labelNames: ['reason'], registers,
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(pr()?.errorsByReason ?? {})) setCounter(this, n, { reason });
      },
    });
    new Gauge({
      name: 'nvml_exporter_pod_map_age_seconds', help: 'Age of the pod map in use (time since the last successful refresh), in whole seconds.',
      registers,
      collect() {
        optional(this, 'nvml_exporter_pod_map_age_seconds', podMapAge());
      },
    });
    new Counter({
      name: 'nvml_exporter_podresources_unmatched_device_ids_total', help: 'Kubelet device IDs that matched no GPU on this node.',
      registers, collect() { this.reset(); setCounter(this, pr()?.unmatchedDeviceIds ?? 0); },
    });
  }

  let cachedKey: string | null = null;
  let cachedText = '';
  return {
    registry,
    async render() {
      st = null; // read the collector status once per render
      try {
        const key = stateKey();
        if (key !== cachedKey) {
          let text = await registry.metrics();
          for (const name of unknown) text = text.replace(new RegExp(`^${name} .*\\n`, 'm'), '');
          cachedText = text;
          cachedKey = key;
        }
        return cachedText;
      } finally {
        st = null;
      }
    },
  };
}
