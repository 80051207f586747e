// The composition root of `nvml-exporter scaler`: the cluster view of every exporter's document,
// KEDA's external-scaler gRPC service over it, and the HTTP routes (/metrics, /health, /ready)
// through the same Fastify plugin as the exporter's.
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { bindTcp, describeListen, joinHostPort } from '../contract/address.js';
import type { ScalerConfig } from '../config/types.js';
import { ClusterView, type ClusterViewOptions, type PullSecurity } from '../scaler/cluster-view.js';
import { ConfigError } from '../contract/errors.js';
import { FileReadError, readRegularFile } from '../contract/files.js';
import type { ScalerPullConfig } from '../config/types.js';
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

/** The CA, client certificate and credentials files of the pulls, read (bounded) at start; a bad one is a ConfigError. */
export async function loadPullSecurity(p: ScalerPullConfig): Promise<PullSecurity> {
  const read = async (path: string | null, flag: string, max = 1024 * 1024): Promise<Buffer | undefined> => {
    if (path === null) return undefined;
    try {
      return await readRegularFile(path, max);
    } catch (err) {
      if (err instanceof FileReadError) throw new ConfigError(`${flag} ${path}: cannot read it (${err.why})`);
      throw err;
    }
  };
  const auth = await read(p.basicAuthFile, '--exporters-basic-auth-file', 4096);
  const basicAuth = auth?.toString('utf8').replace(/\r?\n$/, '');
  if (basicAuth !== undefined && !/^[^:\r\n]+:[^\r\n]*$/.test(basicAuth)) {
    throw new ConfigError(`--exporters-basic-auth-file ${p.basicAuthFile}: expected one line user:password`);
  }
  return {
    scheme: p.scheme,
    ca: await read(p.caFile, '--exporters-ca-file'),
    cert: await read(p.certFile, '--exporters-cert-file'),
    key: await read(p.keyFile, '--exporters-key-file'),
    serverName: p.serverName ?? undefined,
    basicAuth,
  };
}

export async function startScaler(config: ScalerConfig, opts: ScalerStartOptions): Promise<RunningScaler> {
  const log = opts.logger;
  const security = await loadPullSecurity(config.pulls);
  const view = new ClusterView({
    security,
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
    return err instanceof ConfigError ? 2 : 1;
  }
  if (!opts.signal.aborted) await new Promise<void>((resolve) => opts.signal.addEventListener('abort', () => resolve(), { once: true }));
  await s.close();
  return 0;
}
