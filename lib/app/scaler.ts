// The composition root of `nvml-exporter scaler`: the cluster view of every exporter's document,
// KEDA's external-scaler gRPC service over it, and the HTTP routes (/metrics, /health, /ready)
// through the same Fastify plugin as the exporter's.
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { bindTcp, describeListen, joinHostPort } from '../contract/address.js';
import type { ScalerConfig } from '../config/types.js';
import { ClusterView, type ClusterViewOptions } from '../scaler/cluster-view.js';
import { createScalerServer, type ScalerGrpcServer, type ScalerSource } from '../scaler/grpc-server.js';
import { createScalerMetrics } from '../scaler/metrics.js';
import type { ParseOptions } from '../scaler/query.js';
import { buildServer } from '../server/server.js';
import type { Logger } from '../logger.js';

export interface ScalerStartOptions extends ParseOptions {
  logger: Logger;
  /** test seams of the cluster view (DNS lookup, refresh period, document cap) */
  view?: Pick<ClusterViewOptions, 'lookup' | 'dnsRefreshMs' | 'maxDocumentBytes'>;
}

export interface RunningScaler {
  view: ClusterView;
  grpc: ScalerGrpcServer;
  /** the bound gRPC port (1 for a unix socket) */
  grpcPort: number;
  http: FastifyInstance;
  /** the bound HTTP address, e.g. `[::]:9401` */
  httpAddress: string;
  close(): Promise<void>;
}

/** The cluster view as the gRPC service's source. */
export function viewSource(view: ClusterView): ScalerSource {
  return {
    documents: () => view.documents(),
    onChange(listener) {
      view.on('change', listener);
      return () => view.off('change', listener);
    },
  };
}

export async function startScaler(config: ScalerConfig, opts: ScalerStartOptions): Promise<RunningScaler> {
  const log = opts.logger;
  const view = new ClusterView({
    exporters: config.exporters,
    exportersDns: config.exportersDns,
    pullIntervalMs: config.pullIntervalMs,
    pullTimeoutMs: config.pullTimeoutMs,
    staleAfterMs: config.staleAfterMs,
    logger: log,
    ...opts.view,
  });
  const metrics = createScalerMetrics(view);
  const grpc = createScalerServer({ source: viewSource(view), logger: log, onRpc: metrics.onRpc, isKnownField: opts.isKnownField });
  let started = false;
  const http = buildServer({
    metrics: async () => ({ gpuText: '', selfText: await metrics.registry.metrics() }),
    health: () => {
      const all = view.exporters();
      const fresh = all.filter((e) => e.fresh).length;
      return { body: { status: 'ok', exporters: { total: all.length, fresh, stale: all.length - fresh } } };
    },
    ready: () => {
      if (!started) return { ok: false, reason: 'the first round of pulls has not finished' };
      const all = view.exporters();
      if (all.length > 0 && !all.some((e) => e.fresh)) return { ok: false, reason: `none of the ${all.length} exporters is fresh` };
      return { ok: true, reason: '' };
    },
    landing: {
      title: 'nvml-exporter scaler',
      description: "KEDA external scaler over every exporter's GPUs.",
      links: [
        ['/metrics', "the scaler's own metrics"],
        ['/health', 'the process is alive, with the exporters in view'],
        ['/ready', 'the view is fresh enough to answer KEDA'],
      ],
    },
  });

  let grpcPort: number;
  let httpAddress: string;
  try {
    await view.start();
    started = true;
    grpcPort = await grpc.listen(config.grpcAddress);
    await bindTcp(config.address, (host, port) => http.listen({ host, port }));
    const a = http.server.address() as AddressInfo;
    httpAddress = joinHostPort(a.address, a.port);
  } catch (err) {
    view.stop();
    await grpc.close();
    await http.close();
    throw err;
  }
  log.info('KEDA external scaler listening', { grpc: describeListen(config.grpcAddress), grpcPort, http: httpAddress, exporters: view.exporters().length });
  return {
    view,
    grpc,
    grpcPort,
    http,
    httpAddress,
    async close() {
      view.stop();
      await grpc.close();
      await http.close();
    },
  };
}

/** The scaler command's lifecycle: resolves to the exit code once `signal` aborts (1 when it cannot start). */
export async function runScaler(config: ScalerConfig, opts: ScalerStartOptions & { signal: AbortSignal }): Promise<number> {
  let s: RunningScaler;
  try {
    s = await startScaler(config, opts);
  } catch (err) {
    opts.logger.error((err as Error).message);
    return 1;
  }
  if (!opts.signal.aborted) await new Promise<void>((resolve) => opts.signal.addEventListener('abort', () => resolve(), { once: true }));
  await s.close();
  return 0;
}
