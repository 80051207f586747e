// The scaler's own /metrics: exporter freshness, pulls, RPCs and the GPUs in view. Its own
// registry, no default process metrics.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PullEvent } from './cluster-view.js';
import type { ScalerView } from './remote-view.js';
import type { RpcMethod } from './grpc-server.js';

export interface ScalerMetrics {
  registry: Registry;
  onRpc(method: RpcMethod, code: string, seconds?: number): void;
}

export function createScalerMetrics(view: ScalerView): ScalerMetrics {
  const registry = new Registry();
  const exporters = new Gauge({
    name: 'nvml_scaler_exporters',
    help: 'Exporters known to the scaler, by state (fresh: answered within the stale bound; stale: excluded).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const all = view.exporters();
      this.set({ state: 'fresh' }, all.filter((e) => e.fresh).length);
      this.set({ state: 'stale' }, all.filter((e) => !e.fresh).length);
    },
  });
  const up = new Gauge({
    name: 'nvml_scaler_exporter_up',
    help: 'Whether the exporter is fresh (1) or stale and excluded (0).',
    labelNames: ['exporter'],
    registers: [registry],
    collect() {
      this.reset();
      for (const e of view.exporters()) this.set({ exporter: e.address }, e.fresh ? 1 : 0);
    },
  });
  const lastSuccess = new Gauge({
    name: 'nvml_scaler_exporter_last_success_timestamp_seconds',
    help: 'Unix time of the last successful pull of the exporter\'s /api/v1/gpus.',
    labelNames: ['exporter'],
    registers: [registry],
    collect() {
      this.reset();
      for (const e of view.exporters()) if (e.lastSuccessMs !== null) this.set({ exporter: e.address }, e.lastSuccessMs / 1000);
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
  void exporters;
  void up;
  void lastSuccess;
  void gpus;
  void conflicts;
  view.on('pull', (ev: PullEvent) => {
    pullDuration.observe(ev.durationMs / 1000);
    if (!ev.ok) pullErrors.inc({ exporter: ev.exporter, reason: ev.reason ?? 'connect' });
  });
  return {
    registry,
    onRpc: (method, code, seconds) => {
      rpcs.inc({ method, code });
      if (seconds !== undefined) rpcDuration.observe({ method }, seconds);
    },
  };
}
