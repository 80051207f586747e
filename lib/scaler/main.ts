// `nvml-exporter scaler`: the cluster view, the KEDA gRPC service and a small HTTP server with
// /metrics and /health. Also the node-local variant the DaemonSet exporter serves for its own node.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GpusDocument } from '../exposition/gpus-json-types.js';
import { silentLogger, type Logger } from '../logger.js';
import { ClusterView, type ClusterViewOptions } from './cluster-view.js';
import { createScalerServer, type ScalerGrpcServer, type ScalerSource } from './grpc-server.js';
import { createScalerMetrics } from './metrics.js';
import type { ParseOptions } from './query.js';

/** The options of `nvml-exporter scaler` (lib/config maps the flags onto this). */
export interface ScalerOptions extends ParseOptions, Omit<ClusterViewOptions, 'logger'> {
  /** --grpc-address: `:6000` (default), `host:port` or a unix socket path */
  grpcAddress?: string;
  /** -a/--address: the HTTP server for /metrics and /health, default `:9401` */
  address?: string;
}

export interface ScalerHandle {
  view: ClusterView;
  /** the bound gRPC port (1 for a unix socket) */
  grpcPort: number;
  /** the bound HTTP address */
  http: { host: string; port: number };
  close(): Promise<void>;
}

/** `:9401` → all interfaces on 9401; `host:port` as is. */
export function splitListenAddress(address: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:\s]*):(\d+)$/.exec(address.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port < 65536)) throw new Error(`listen address "${address}" is not :port or host:port (e.g. :9401)`);
  const host = m[1].replace(/^\[|\]$/g, '');
  return { host: host || '0.0.0.0', port };
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

export async function runScaler(options: ScalerOptions, logger: Logger = silentLogger): Promise<ScalerHandle> {
  const view = new ClusterView({ ...options, logger });
  const metrics = createScalerMetrics(view);
  const grpcServer = createScalerServer({ source: viewSource(view), logger, onRpc: metrics.onRpc, isKnownField: options.isKnownField });
  const listen = splitListenAddress(options.address ?? ':9401');
  const grpcAddress = options.grpcAddress ?? ':6000';

  const http: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    } else if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`cannot render metrics: ${err.message}\n`),
      );
    } else if (path === '/health') {
      const all = view.exporters();
      const fresh = all.filter((e) => e.fresh).length;
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ status: 'ok', exporters: { total: all.length, fresh, stale: all.length - fresh } }) + '\n',
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /health\n');
    }
  });

  let grpcPort: number;
  try {
    await view.start();
    grpcPort = await grpcServer.listen(grpcAddress);
    await new Promise<void>((resolve, reject) => {
      http.once('error', (err) => reject(new Error(`cannot listen for HTTP on ${options.address ?? ':9401'}: ${err.message}`)));
      http.listen(listen.port, listen.host, () => resolve());
    });
  } catch (err) {
    view.stop();
    await grpcServer.close();
    http.close();
    throw err;
  }
  const addr = http.address() as AddressInfo;
  logger.info('KEDA external scaler listening', { grpc: grpcAddress, grpcPort, http: `${addr.address}:${addr.port}`, exporters: view.exporters().length });

  return {
    view,
    grpcPort,
    http: { host: addr.address, port: addr.port },
    async close() {
      view.stop();
      await grpcServer.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

export interface NodeLocalOptions extends ParseOptions {
  /** how often the document is checked for changes (StreamIsActive pushes), ms; default 250 */
  checkIntervalMs?: number;
  logger?: Logger;
}

/**
 * The same gRPC service over this node's own snapshot (node-local mode, `--keda-scaler-address`).
 * getDocument returns the document /api/v1/gpus would serve, or null before the first sweep; a
 * document marked stale counts as no GPUs. Call listen(address) on the result, close() to stop.
 */
export function createNodeLocalScaler(getDocument: () => GpusDocument | null, opts: NodeLocalOptions = {}): ScalerGrpcServer {
  const listeners = new Set<() => void>();
  let lastSig = '';
  let timer: NodeJS.Timeout | null = null;
  const docs = (): GpusDocument[] => {
    const d = getDocument();
    return d && !d.stale ? [d] : [];
  };
  const check = () => {
    const d = getDocument();
    const sig = d ? JSON.stringify(d.gpus) + (d.stale ? '#stale' : '') : '';
    if (sig === lastSig) return;
    lastSig = sig;
    for (const l of [...listeners]) l();
  };
  const source: ScalerSource = {
    documents: docs,
    onChange(listener) {
      listeners.add(listener);
      if (!timer) {
        timer = setInterval(check, opts.checkIntervalMs ?? 250);
        timer.unref();
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && timer) {
          clearInterval(timer);
          timer = null;
        }
      };
    },
  };
  const inner = createScalerServer({ source, logger: opts.logger, isKnownField: opts.isKnownField });
  return {
    server: inner.server,
    listen: (address) => inner.listen(address),
    async close() {
      if (timer) clearInterval(timer);
      timer = null;
      await inner.close();
    },
  };
}
