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
import { FileReloader } from '../contract/file-reload.js';
import type { ScalerPullConfig } from '../config/types.js';
import { createScalerServer, ScalerUnavailableError, type ScalerGrpcServer, type ScalerSource, type ScalerTls } from '../scaler/grpc-server.js';
import { WorkloadDemand } from '../scaler/demand.js';
import { RemoteClusterView, type ScalerView } from '../scaler/remote-view.js';
import type { PodMetadataView } from '../contract/pod-metadata.js';
import { createSecureContext } from 'node:tls';
import { createScalerMetrics, type ScalerMetrics } from '../scaler/metrics.js';
import type { ParseOptions } from '../scaler/query.js';
import { buildServer } from '../server/server.js';
import type { Logger } from '../logger.js';

export interface ScalerStartOptions extends ParseOptions {
  logger: Logger;
  /** how often the certificate and credentials files are checked for a change, ms (default 2000) */
  fileCheckMs?: number;
  /** test seams of the cluster view (DNS lookup, refresh period, document cap); a lookup function keeps the pulls in this thread */
  view?: Pick<ClusterViewOptions, 'lookup' | 'dnsRefreshMs' | 'maxDocumentBytes'>;
  /**
   * Where the pulls run: 'worker' (default, the command's): a worker thread, so that no pull waits
   * in line with a gRPC answer; 'in-process': on this thread (tests that reach into the view).
   */
  pulls?: 'worker' | 'in-process';
  /** --debug: the pull worker forwards its debug lines */
  debug?: boolean;
  /**
   * The pods of the cluster (the Kubernetes API's informer, or a test's in-memory view). Given, or
   * loaded by --kubernetes-api through `loadPodMetadata`, it turns on the workload-scoped pulls.
   */
  podMetadata?: PodMetadataView;
  /** how --kubernetes-api gets its pod view (default: loadPodInformer) */
  loadPodMetadata?: (log: Logger) => Promise<{ view: PodMetadataView; stop(): void }>;
}

/**
 * The pod informer over the Kubernetes API, cluster-wide (list/watch every pod: which node runs
 * which workload's pods), from lib/kubernetes/api/, loaded only with --kubernetes-api. A module that
 * cannot load refuses the flag (exit 2) rather than falling back to pulling every node whole.
 */
export async function loadPodInformer(log: Logger, kubeconfig: string | null = null): Promise<{ view: PodMetadataView; stop(): void }> {
  let mod: typeof import('../kubernetes/api/pod-informer.js');
  try {
    mod = await import('../kubernetes/api/pod-informer.js');
  } catch (err) {
    throw new ConfigError(`--kubernetes-api: the Kubernetes API pod informer cannot be loaded (${(err as Error).message}); run without --kubernetes-api to pull every exporter whole`);
  }
  let informer: Awaited<ReturnType<typeof mod.createPodInformer>>;
  try {
    informer = await mod.createPodInformer({ logger: log, kubeconfig });
  } catch (err) {
    throw new ConfigError(`--kubernetes-api: ${(err as Error).message}`);
  }
  await informer.start();
  return { view: informer, stop: () => informer.stop() };
}

/** A file named by a flag, read bounded; one that cannot be read is a ConfigError naming the flag and the path. */
async function readFlagFile(path: string, flag: string, max = 1024 * 1024): Promise<Buffer> {
  try {
    return await readRegularFile(path, max);
  } catch (err) {
    if (err instanceof FileReadError) throw new ConfigError(`${flag} ${path}: cannot read it (${err.why})`);
    throw err;
  }
}

/** A CA bundle OpenSSL loads, with at least one PEM certificate; else a ConfigError naming the flag and the path. */
function checkCa(ca: Buffer, flag: string, path: string): void {
  try {
    if (!/-----BEGIN CERTIFICATE-----/.test(ca.toString('latin1'))) throw new Error('no PEM certificate in it');
    createSecureContext({ ca });
  } catch (err) {
    throw new ConfigError(`${flag} ${path}: not a PEM CA certificate (${(err as Error).message})`);
  }
}

/** A certificate and the key that matches it; else a ConfigError naming both flags and paths. */
function checkPair(cert: Buffer, key: Buffer, certArg: string, keyArg: string): void {
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new ConfigError(`${certArg} / ${keyArg}: not a usable PEM certificate and matching key (${(err as Error).message})`);
  }
}

/** The gRPC certificate, key and client CA, read (bounded) and checked at start: one that cannot be used is a ConfigError. */
export async function loadGrpcTls(c: ScalerConfig['grpcTls']): Promise<ScalerTls | null> {
  if (!c) return null;
  const cert = await readFlagFile(c.certFile, '--grpc-tls-cert-file');
  const key = await readFlagFile(c.keyFile, '--grpc-tls-key-file');
  const clientCa = c.clientCaFile ? await readFlagFile(c.clientCaFile, '--grpc-tls-client-ca-file') : null;
  checkPair(cert, key, `--grpc-tls-cert-file ${c.certFile}`, `--grpc-tls-key-file ${c.keyFile}`);
  if (clientCa) checkCa(clientCa, '--grpc-tls-client-ca-file', c.clientCaFile!);
  return { cert, key, clientCa };
}

export interface RunningScaler {
  view: ScalerView;
  /** resolves when the pull worker has died (the view is then empty); never while it runs */
  failed: Promise<Error>;
  grpc: ScalerGrpcServer;
  /** the bound gRPC port (1 for a unix socket) */
  grpcPort: number;
  http: FastifyInstance;
  /** the bound HTTP address, e.g. `[::]:9401` */
  httpAddress: string;
  close(): Promise<void>;
}

/** The cluster view as the gRPC service's source; with a demand, each query marks its workload wanted and pulls its nodes first. */
export function viewSource(view: ScalerView, demand: WorkloadDemand | null = null): ScalerSource {
  return {
    // with a pod view, only the query's nodes: a node its pods left no longer counts, even while its last document is fresh
    documents: (q) => (demand && q ? view.documents(Date.now(), demand.touch(q)) : view.documents()),
    prepare: demand
      ? async (q) => {
          const pending = await view.refresh(q.namespace, demand.touch(q));
          // answering from documents that do not hold the workload's GPUs would read as zero load
          if (pending > 0) throw new ScalerUnavailableError(`${pending} of the nodes running ${q.namespace}/${q.podRule.source} pods have not answered with their GPUs yet; ask again`);
        }
      : undefined,
    onChange(listener) {
      view.on('change', listener);
      return () => view.off('change', listener);
    },
    // a workload not asked about yet may run anywhere: every change concerns it
    affects: demand ? (q, node) => demand.nodesFor(q)?.has(node) ?? true : undefined,
    // the documents (any change of a node in use moves the view's version) and, with a pod view,
    // the workload's nodes (a new map whenever the pod index is rebuilt)
    version: (q) => (demand ? [view.version, demand.nodesFor(q)] : [view.version]),
  };
}

/** The CA, client certificate and credentials files of the pulls, read (bounded) at start; a bad one is a ConfigError. */
export async function loadPullSecurity(p: ScalerPullConfig): Promise<PullSecurity> {
  const read = async (path: string | null, flag: string, max?: number) => (path === null ? undefined : readFlagFile(path, flag, max));
  const auth = await read(p.basicAuthFile, '--exporters-basic-auth-file', 4096);
  const basicAuth = auth?.toString('utf8').replace(/\r?\n$/, '');
  if (basicAuth !== undefined && !/^[^:\r\n]+:[^\r\n]*$/.test(basicAuth)) {
    throw new ConfigError(`--exporters-basic-auth-file ${p.basicAuthFile}: expected one line user:password`);
  }
  const ca = await read(p.caFile, '--exporters-ca-file');
  const cert = await read(p.certFile, '--exporters-cert-file');
  const key = await read(p.keyFile, '--exporters-key-file');
  // what would fail every pull fails here, naming the file: at start, and when a change is reloaded
  if (ca) checkCa(ca, '--exporters-ca-file', p.caFile!);
  if (cert && key) checkPair(cert, key, `--exporters-cert-file ${p.certFile}`, `--exporters-key-file ${p.keyFile}`);
  return { scheme: p.scheme, ca, cert, key, serverName: p.serverName ?? undefined, basicAuth };
}

/**
 * Watches the files the scaler read at start (the gRPC certificate, key and client CA; the pulls'
 * CA, client certificate, key and basic-auth file) and puts a changed set in use without a restart:
 * cert-manager renews certificates in place. A change that cannot be loaded keeps the previous files
 * in use and is logged as an error, once per change.
 */
function watchFiles(
  config: ScalerConfig, log: Logger, grpc: ScalerGrpcServer, view: ScalerView, everyMs: number,
  metrics: Pick<ScalerMetrics, 'onFileReload' | 'watching'>,
): { stop(): void }[] {
  /** counted from 0 while watched; each change counted and logged */
  const onEvent = (files: 'grpc_tls' | 'pull_credentials') => {
    metrics.watching(files);
    return (ok: boolean, message: string) => {
      metrics.onFileReload(files, ok);
      if (ok) log.info(message);
      else log.error(message);
    };
  };
  const out: Pick<FileReloader<unknown>, 'start' | 'stop'>[] = [];
  const g = config.grpcTls;
  if (g) {
    out.push(new FileReloader<ScalerTls>({
      files: [g.certFile, g.keyFile, ...(g.clientCaFile ? [g.clientCaFile] : [])],
      load: async () => (await loadGrpcTls(g))!,
      apply: (t) => grpc.setTls(t),
      onEvent: onEvent('grpc_tls'),
      what: 'gRPC TLS files (--grpc-tls-cert-file, --grpc-tls-key-file, --grpc-tls-client-ca-file)',
    }));
  }
  const p = config.pulls;
  const pullFiles = [p.caFile, p.certFile, p.keyFile, p.basicAuthFile].filter((f): f is string => f !== null);
  if (pullFiles.length > 0) {
    out.push(new FileReloader<PullSecurity>({
      files: pullFiles,
      load: () => loadPullSecurity(p),
      apply: (sec) => view.setSecurity(sec),
      onEvent: onEvent('pull_credentials'),
      what: 'exporter pull credentials (--exporters-ca-file, --exporters-cert-file, --exporters-key-file, --exporters-basic-auth-file)',
    }));
  }
  for (const r of out) void r.start(everyMs);
  return out;
}

export async function startScaler(config: ScalerConfig, opts: ScalerStartOptions): Promise<RunningScaler> {
  const log = opts.logger;
  const security = await loadPullSecurity(config.pulls);
  const tls = await loadGrpcTls(config.grpcTls);
  let pods: { view: PodMetadataView; stop(): void } | null = null;
  if (opts.podMetadata) pods = { view: opts.podMetadata, stop: () => {} };
  else if (config.kubernetesApi) pods = await (opts.loadPodMetadata ?? ((l: Logger) => loadPodInformer(l, config.kubernetesApiKubeconfig)))(log);
  const demand = pods ? new WorkloadDemand(pods.view, { idleTimeoutMs: config.workloadIdleTimeoutMs }) : null;
  const viewOpts = {
    security,
    demand,
    idleProbeIntervalMs: config.idleProbeIntervalMs,
    exporters: config.exporters,
    exportersDns: config.exportersDns,
    pullIntervalMs: config.pullIntervalMs,
    pullTimeoutMs: config.pullTimeoutMs,
    staleAfterMs: config.staleAfterMs,
    logger: log,
    ...opts.view,
  };
  const inProcess = opts.pulls === 'in-process' || !!opts.view?.lookup;
  const view: ScalerView = inProcess ? new ClusterView(viewOpts) : new RemoteClusterView({ ...viewOpts, debug: opts.debug });
  const failed = new Promise<Error>((resolve) => view.once('failed', resolve));
  const metrics = createScalerMetrics(view);
  const grpc = createScalerServer({ source: viewSource(view, demand), logger: log, onRpc: metrics.onRpc, fieldName: opts.fieldName, tls });
  let started = false;
  const http = buildServer({
    metrics: async () => ({ gpuText: '', selfText: await metrics.render() }),
    health: () => {
      const all = view.exporters();
      const inUse = all.filter((e) => !e.idle);
      const fresh = inUse.filter((e) => e.fresh).length;
      return {
        body: {
          status: 'ok',
          exporters: { total: all.length, fresh, stale: inUse.length - fresh, idle: all.length - inUse.length },
          workloads: demand ? { mode: 'scoped', wanted: demand.size, podsSynced: demand.synced } : { mode: 'all' },
        },
      };
    },
    ready: () => {
      if (!started) return { ok: false, reason: 'the first round of pulls has not finished' };
      if (demand && !demand.synced) return { ok: false, reason: 'the pod view (Kubernetes API) has not listed the pods yet' };
      return readiness(view.exporters(), config.readyMinFreshPercent);
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
    pods?.stop();
    await grpc.close();
    await http.close();
    throw err;
  }
  const reloaders = watchFiles(config, log, grpc, view, opts.fileCheckMs ?? 2000, metrics);
  log.info('KEDA external scaler listening', { grpc: describeListen(config.grpcAddress), grpcPort, http: httpAddress, exporters: view.exporters().length });
  return {
    view,
    failed,
    grpc,
    grpcPort,
    http,
    httpAddress,
    async close() {
      for (const r of reloaders) r.stop();
      view.stop();
      pods?.stop();
      await grpc.close();
      await http.close();
    },
  };
}

/**
 * /ready: fresh enough to answer KEDA as well as any other replica would. The exporters in use
 * (all of them, or with a pod view those some workload needs) must be fresh in at least
 * `minFreshPercent` of cases; with none in use the view is trivially current.
 */
export function readiness(all: readonly { fresh: boolean; idle: boolean }[], minFreshPercent: number): { ok: boolean; reason: string } {
  const inUse = all.filter((e) => !e.idle);
  if (inUse.length === 0) return { ok: true, reason: '' };
  const fresh = inUse.filter((e) => e.fresh).length;
  if (fresh === 0 || (fresh / inUse.length) * 100 < minFreshPercent) {
    return { ok: false, reason: `${fresh} of the ${inUse.length} exporters in use are fresh, fewer than ${minFreshPercent}% (--ready-min-fresh-percent)` };
  }
  return { ok: true, reason: '' };
}

/** The scaler command's lifecycle: resolves to the exit code once `signal` aborts (1 when it cannot start). */
export async function runScaler(config: ScalerConfig, opts: ScalerStartOptions & { signal: AbortSignal; onStart?: (s: RunningScaler) => void }): Promise<number> {
  let s: RunningScaler;
  try {
    s = await startScaler(config, opts);
    opts.onStart?.(s);
  } catch (err) {
    opts.logger.error((err as Error).message);
    return err instanceof ConfigError ? 2 : 1;
  }
  let failure: Error | null = null;
  if (!opts.signal.aborted) {
    failure = await Promise.race([
      new Promise<null>((resolve) => opts.signal.addEventListener('abort', () => resolve(null), { once: true })),
      s.failed,
    ]);
  }
  if (failure) {
    // a view that no longer moves must not keep answering: exit, and let the pod be restarted
    opts.logger.error('the pull worker stopped; exiting rather than serving a view that is no longer pulled', { error: failure.message });
  }
  await s.close();
  return failure ? 1 : 0;
}
