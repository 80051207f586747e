// The scaler's own /metrics: exporter freshness, pulls, RPCs and the GPUs in view. Its own
// registry, no default process metrics.
//
// The per-exporter series (up, last success: two for each of thousands of exporters) are written
// as text in one pass over the view's exporters, after the registry's: through prom-client's
// gauges (reset, a labelled set per exporter, each collect() listing the exporters again) a
// scrape at 5,000 exporters held the main thread, which answers KEDA's RPCs, 60-200 ms.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ExporterState, PullEvent } from './cluster-view.js';
import type { ScalerView } from './remote-view.js';
import type { RpcMethod } from './grpc-server.js';

export interface ScalerMetrics {
  registry: Registry;
  /** the text exposition: the registry's metrics and the per-exporter series */
  render(): Promise<string>;
  onRpc(method: RpcMethod, code: string, seconds?: number): void;
  /** a watched set of files changed: put in use (ok) or not (the previous ones stay) */
  onFileReload(files: 'grpc_tls' | 'pull_credentials', ok: boolean): void;
  /** this set of files is watched: its counters are served from 0 (an increase from nothing is not seen by rate()) */
  watching(files: 'grpc_tls' | 'pull_credentials'): void;
}

export function createScalerMetrics(view: ScalerView): ScalerMetrics {
  const registry = new Registry();
  let all: ExporterState[] = [];
  let fresh = 0;
  const exporters = new Gauge({
    name: 'nvml_scaler_exporters',
    help: 'Exporters known to the scaler, by state (fresh: answered within the stale bound; stale: excluded).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.set({ state: 'fresh' }, fresh);
      this.set({ state: 'stale' }, all.length - fresh);
    },
  });
  const gpus = new Gauge({
    name: 'nvml_scaler_gpus',
    help: 'GPUs on fresh nodes in the scaler\'s cluster view.',
    registers: [registry],
    collect() {
      this.set(view.documents().reduce((n, d) => n + d.gpus.length, 0));
    },
  });
  const conflicts = new Gauge({
    name: 'nvml_scaler_hostname_conflict',
    help: 'An exporter whose document claims a node another exporter claimed first (1): its document is left out. Two endpoints reporting one node is a misconfiguration or an exporter shadowing another.',
    labelNames: ['hostname', 'exporter'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of view.conflicts()) for (const ex of c.ignored) this.set({ hostname: c.hostname, exporter: ex }, 1);
    },
  });
  const pullErrors = new Counter({
    name: 'nvml_scaler_pull_errors_total',
    help: 'Failed pulls of /api/v1/gpus, by exporter and reason (timeout, connect, http_status, too_large, invalid_json, invalid_document, stale_snapshot); a failing exporter leaves only its own node out.',
    labelNames: ['exporter', 'reason'],
    registers: [registry],
  });
  const pullDuration = new Histogram({
    name: 'nvml_scaler_pull_duration_seconds',
    help: 'Duration of pulls of /api/v1/gpus, successful or not.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8],
    registers: [registry],
  });
  const rpcs = new Counter({
    name: 'nvml_scaler_rpcs_total',
    help: 'KEDA external-scaler RPCs answered, by method and gRPC status code.',
    labelNames: ['method', 'code'],
    registers: [registry],
  });
  const rpcDuration = new Histogram({
    name: 'nvml_scaler_rpc_duration_seconds',
    help: 'Time from the start of a unary RPC\'s handler to its answer (the scaler\'s own work for it, not the wait for the event loop before it), by method.',
    labelNames: ['method'],
    buckets: [0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5],
    registers: [registry],
  });
  const reloads = new Counter({
    name: 'nvml_scaler_file_reloads_total',
    help: 'Changes of the files the scaler was started with, by set (grpc_tls: --grpc-tls-*; pull_credentials: --exporters-ca/cert/key/basic-auth-file) and result (ok: in use; error: could not be loaded, the previous files stay in use, see the log).',
    labelNames: ['files', 'result'],
    registers: [registry],
  });
  void exporters;
  void gpus;
  void conflicts;
  view.on('pull', (ev: PullEvent) => {
    pullDuration.observe(ev.durationMs / 1000);
    if (!ev.ok) pullErrors.inc({ exporter: ev.exporter, reason: ev.reason ?? 'connect' });
  });
  return {
    registry,
    render: async () => {
      // one listing of the exporters for the whole scrape
      all = view.exporters();
      fresh = 0;
      for (const e of all) if (e.fresh) fresh++;
      try {
        return `${await registry.metrics()}\n${perExporter(all)}`;
      } finally {
        all = [];
      }
    },
    onRpc: (method, code, seconds) => {
      rpcs.inc({ method, code });
      if (seconds !== undefined) rpcDuration.observe({ method }, seconds);
    },
    onFileReload: (files, ok) => reloads.inc({ files, result: ok ? 'ok' : 'error' }),
    watching: (files) => {
      reloads.inc({ files, result: 'ok' }, 0);
      reloads.inc({ files, result: 'error' }, 0);
    },
  };
}

const escapeLabel = (v: string) => v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));

/** nvml_scaler_exporter_up and nvml_scaler_exporter_last_success_timestamp_seconds, as text. */
function perExporter(all: readonly ExporterState[]): string {
  let up = '# HELP nvml_scaler_exporter_up Whether the exporter is fresh (1) or stale and excluded (0).\n# TYPE nvml_scaler_exporter_up gauge\n';
  let last = '# HELP nvml_scaler_exporter_last_success_timestamp_seconds Unix time of the last successful pull of the exporter\'s /api/v1/gpus.\n'
    + '# TYPE nvml_scaler_exporter_last_success_timestamp_seconds gauge\n';
  for (const e of all) {
    const label = `{exporter="${escapeLabel(e.address)}"}`;
    up += `nvml_scaler_exporter_up${label} ${e.fresh ? 1 : 0}\n`;
    if (e.lastSuccessMs !== null) last += `nvml_scaler_exporter_last_success_timestamp_seconds${label} ${e.lastSuccessMs / 1000}\n`;
  }
  return `${up}\n${last}`;
}
