// Test and benchmark helpers for the KEDA scaler: "exporters" (node:http servers on port 0 that
// serve a GpusDocument the test changes at will), GpusDocument builders, and a KEDA-like gRPC
// client made from our proto.
import { createHash } from 'node:crypto';
import { parseGpusScope, scopeDocument } from '../../lib/contract/gpus-scope.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { GpuApiEntry, GpusDocument, MigApiEntry, PodAttribution } from '../../lib/contract/gpus-document.js';
import { externalScalerApi } from '../../lib/scaler/keda-api.js';
import { parseListenAddress, parseListenTarget, parsePeerAddress } from '../../lib/contract/address.js';
import { startScaler, type RunningScaler, type ScalerStartOptions } from '../../lib/app/scaler.js';
import { silentLogger } from '../../lib/logger.js';
import type { ScalerConfig } from '../../lib/config/types.js';
import type { PodMetadataView } from '../../lib/contract/pod-metadata.js';

export interface TestScalerOptions {
  /** default `127.0.0.1:0` */
  grpcAddress?: string;
  /** default `127.0.0.1:0` */
  address?: string;
  exporters?: string[];
  exportersDns?: string;
  pullIntervalMs?: number;
  pullTimeoutMs?: number;
  staleAfterMs?: number;
  fieldName?: (name: string) => string | undefined;
  view?: ScalerStartOptions['view'];
  pulls?: ScalerConfig['pulls'];
  grpcTls?: ScalerConfig['grpcTls'];
  /** an in-memory pod view: turns on the workload-scoped pulls (as --kubernetes-api does) */
  podMetadata?: PodMetadataView;
  workloadIdleTimeoutMs?: number;
  idleProbeIntervalMs?: number;
  readyMinFreshPercent?: number;
  /** where the pulls run (default: the command's, a worker thread) */
  pullMode?: ScalerStartOptions['pulls'];
  /** default: silent */
  logger?: ScalerStartOptions['logger'];
  /** how often certificate and credentials files are checked for a change (default 2000 ms) */
  fileCheckMs?: number;
}

export interface TestScaler extends RunningScaler {
  /** the bound HTTP port */
  httpPort: number;
}

/** The scaler command's root with addresses given as text, as the flags give them. */
export async function startTestScaler(o: TestScalerOptions): Promise<TestScaler> {
  const config: ScalerConfig = {
    grpcAddress: parseListenTarget(o.grpcAddress ?? '127.0.0.1:0', '--grpc-address'),
    address: parseListenAddress(o.address ?? '127.0.0.1:0', '--address'),
    exporters: (o.exporters ?? []).map((e) => parsePeerAddress(e, '--exporters')),
    exportersDns: o.exportersDns ? parsePeerAddress(o.exportersDns, '--exporters-dns') : null,
    pullIntervalMs: o.pullIntervalMs ?? 500,
    pullTimeoutMs: o.pullTimeoutMs ?? 400,
    staleAfterMs: o.staleAfterMs ?? 3000,
    logFormat: 'text',
    debug: false,
    pulls: o.pulls ?? { scheme: 'http', caFile: null, certFile: null, keyFile: null, serverName: null, basicAuthFile: null },
    grpcTls: o.grpcTls ?? null,
    kubernetesApi: o.podMetadata !== undefined,
    workloadIdleTimeoutMs: o.workloadIdleTimeoutMs ?? 120_000,
    idleProbeIntervalMs: o.idleProbeIntervalMs ?? 30_000,
    readyMinFreshPercent: o.readyMinFreshPercent ?? 50,
    kubernetesApiKubeconfig: null,
  };
  const s = await startScaler(config, { logger: o.logger ?? silentLogger, fileCheckMs: o.fileCheckMs, fieldName: o.fieldName, view: o.view, podMetadata: o.podMetadata, pulls: o.pullMode });
  return Object.assign(s, { httpPort: (s.http.server.address() as AddressInfo).port });
}

export function pod(namespace: string, name: string, extra: Partial<PodAttribution> = {}): PodAttribution {
  return { namespace, pod: name, container: 'main', ...extra };
}

export function gpu(index: number, readings: Record<string, number>, pods: PodAttribution[] = [], mig: MigApiEntry[] = []): GpuApiEntry {
  return {
    gpu: index,
    uuid: `GPU-${index}-${Math.random().toString(16).slice(2, 10)}`,
    pciBusId: `00000000:${(0x10 + index).toString(16).toUpperCase()}:00.0`,
    device: `nvidia${index}`,
    modelName: 'NVIDIA H100 80GB HBM3',
    serial: null,
    migEnabled: mig.length > 0,
    lost: false,
    readings,
    pods,
    mig,
  };
}

export function migInstance(gi: number, readings: Record<string, number>, pods: PodAttribution[]): MigApiEntry {
  return { uuid: `MIG-${gi}-${Math.random().toString(16).slice(2, 10)}`, gpuInstanceId: gi, computeInstanceId: 0, profile: '1g.10gb', readings, pods };
}

export function gpusDoc(hostname: string, gpus: GpuApiEntry[]): GpusDocument {
  return {
    apiVersion: 1,
    hostname,
    timestamp: new Date().toISOString(),
    ageSeconds: 0.1,
    stale: false,
    driverVersion: '550.144.03',
    podResources: { enabled: true, up: true, ageSeconds: 0.5 },
    gpus,
  };
}

export interface FakeExporter {
  address: string;
  port: number;
  doc: GpusDocument;
  /** requests received on /api/v1/gpus */
  requests: number;
  /** the query strings of those requests ('' for the whole document), latest last, at most 1000 */
  queries: string[];
  /** answers 304 Not Modified */
  notModified: number;
  /** when true, requests are held and never answered (until close) */
  hang: boolean;
  /** requests being held right now */
  held: Set<ServerResponse>;
  close(): Promise<void>;
}

export async function startExporter(doc: GpusDocument): Promise<FakeExporter> {
  const held = new Set<ServerResponse>();
  const ex: FakeExporter = {
    address: '',
    port: 0,
    doc,
    requests: 0,
    queries: [],
    notModified: 0,
    hang: false,
    held,
    close: async () => {},
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const [path, query = ''] = (req.url ?? '').split('?');
    if (path !== '/api/v1/gpus') {
      res.writeHead(404).end();
      return;
    }
    ex.requests++;
    ex.queries.push(query);
    if (ex.queries.length > 1000) ex.queries.shift();
    if (ex.hang) {
      held.add(res);
      res.on('close', () => held.delete(res));
      return;
    }
    // as the exporter does: the scope of the query, and a tag over the content (not the clock)
    let doc = ex.doc;
    try {
      const scope = parseGpusScope(Object.fromEntries(new URLSearchParams(query)));
      if (scope) doc = scopeDocument(doc, scope);
    } catch (err) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (err as Error).message }));
      return;
    }
    const etag = `W/"${createHash('sha1').update(JSON.stringify([doc.hostname, doc.stale, doc.gpus])).digest('base64url')}"`;
    if (req.headers['if-none-match'] === etag) {
      ex.notModified++;
      res.writeHead(304, { etag }).end();
      return;
    }
    const body = JSON.stringify({ ...doc, timestamp: new Date().toISOString() });
    res.writeHead(200, { 'content-type': 'application/json', etag }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  ex.port = (server.address() as AddressInfo).port;
  ex.address = `127.0.0.1:${ex.port}`;
  ex.close = () =>
    new Promise<void>((resolve) => {
      for (const r of held) r.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return ex;
}

export interface ScalerClient {
  raw: grpc.Client;
  isActive(ref: Ref): Promise<boolean>;
  getMetricSpec(ref: Ref): Promise<{ metricName: string; targetSize: number; targetSizeFloat: number }[]>;
  getMetrics(ref: Ref, metricName?: string): Promise<{ metricName: string; metricValue: number; metricValueFloat: number }[]>;
  streamIsActive(ref: Ref): grpc.ClientReadableStream<{ result: boolean }>;
  close(): void;
}

export interface Ref {
  name: string;
  namespace: string;
  scalerMetadata: Record<string, string>;
}

type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

/** A client that talks to the scaler the way KEDA does, made from proto/externalscaler.proto. */
export function scalerClient(target: string, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(), options: grpc.ChannelOptions = {}): ScalerClient {
  const Ctor = externalScalerApi();
  const c = new Ctor(target, credentials, options) as unknown as grpc.Client & Record<string, Unary>;
  const call = <T>(method: string, req: unknown) =>
    new Promise<T>((resolve, reject) => (c[method] as Unary).call(c, req, (err, res) => (err ? reject(err) : resolve(res as T))));
  return {
    raw: c,
    isActive: async (ref) => (await call<{ result: boolean }>('IsActive', ref)).result,
    getMetricSpec: async (ref) =>
      (await call<{ metricSpecs: { metricName: string; targetSize: number; targetSizeFloat: number }[] }>('GetMetricSpec', ref)).metricSpecs,
    getMetrics: async (ref, metricName = '') =>
      (
        await call<{ metricValues: { metricName: string; metricValue: number; metricValueFloat: number }[] }>('GetMetrics', {
          scaledObjectRef: ref,
          metricName,
        })
      ).metricValues,
    streamIsActive: (ref) =>
      (c as unknown as { StreamIsActive(r: Ref): grpc.ClientReadableStream<{ result: boolean }> }).StreamIsActive(ref),
    close: () => c.close(),
  };
}

/** Resolves when pred() holds, checking every few ms; rejects with msg after maxMs (a hang guard, not a timing). */
export async function until(pred: () => boolean | Promise<boolean>, msg: string, maxMs = 10_000): Promise<void> {
  const end = Date.now() + maxMs;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > end) throw new Error(`gave up waiting: ${msg}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
