// The composition root of `nvml-exporter`: it wires the rooms and owns the lifecycle. Data flows
// one way — NVML → collector (Snapshot) → renderer → HTTP; kubelet → attributor (pod map) → join
// at render — and nothing downstream calls back upstream, except the one documented hook: a
// /metrics request asks the attributor for an early, rate-bounded kubelet refresh.
//
//   startExporter(config, { signal, logger })  opens everything, resolves once serving
//   runExporter(config, { signal, logger, hangups })  start → serve until `signal` aborts → close;
//                                               resolves to the process exit code
import { EventEmitter } from 'node:events';
import { hostname as osHostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { GpusDocument } from '../contract/gpus-document.js';
import type { AddressInfo } from 'node:net';
import { bindTcp, describeListen, joinHostPort } from '../contract/address.js';
import { ConfigError } from '../contract/errors.js';
import type { PodMap } from '../contract/pods.js';
import type { Config } from '../config/types.js';
import { Nvml, releaseFreeMemory } from '../nvml/index.js';
import { Collector } from '../collect/collector.js';
import { loadCounters, loadDefaultCounters, parseCounters, selectionNeedsGpm, selectionNeedsPcieThroughput, withTransition, type FieldSelection } from '../fields/counters.js';
import { GENERATION_DEFAULTS } from '../fields/generations.js';
import { servedFieldName } from '../fields/index.js';
import { GpuPageRenderer } from '../exposition/render.js';
import { buildGpusDocument } from '../exposition/gpus-json.js';
import { createSelfMetrics } from '../exposition/self-metrics.js';
import { buildServer, type ServerOptions } from '../server/server.js';
import type { PodAttributor, RefreshEvent } from '../kubernetes/attribution.js';
import type { PodUsageTracker } from '../kubernetes/pod-usage.js';
import type { PodMetadataView } from '../contract/pod-metadata.js';
import { stat } from 'node:fs/promises';
import type { ScalerGrpcServer } from '../scaler/grpc-server.js';
import type { ChangeSignal } from '../scaler/node-local.js';
import { packageVersion } from '../package-root.js';
import type { Logger } from '../logger.js';
import type { Simulation } from './simulation.js';
import type { NodeApi } from '../kubernetes/api/node-api.js';
import type { Informer } from '../kubernetes/api/informer.js';
import type { TrimmedConfigMap } from '../kubernetes/api/watched-objects.js';

export interface StartOptions {
  logger: Logger;
  /** aborting it stops a start in progress as soon as the step under way returns */
  signal?: AbortSignal;
  /** false: no HTTP server (`--once`) */
  listen?: boolean;
  /**
   * Pod metadata from the Kubernetes API (pod UID → name, namespace, containers), for the per-pod
   * usage join; absent when the API is off (then the pods PodResources lists for a GPU are used
   * where unambiguous).
   */
  podMetadata?: PodMetadataView;
}

export interface RunningExporter {
  /** the HTTP app (null with listen: false) */
  app: FastifyInstance | null;
  collector: Collector;
  attributor: PodAttributor | null;
  /** per-pod usage from the processes (null without --pod-usage) */
  podUsage: PodUsageTracker | null;
  /** where the HTTP server listens, e.g. `[::]:9400` (null with listen: false) */
  boundAddress: string | null;
  /** the GPU families as /metrics serves them */
  renderGpuText(): string;
  gpusDocument(): GpusDocument | null;
  /** reads the counters file again; false (the previous selection kept) when it is bad */
  reload(): Promise<boolean>;
  close(): Promise<void>;
}

class StartAborted extends Error {}

/** Opens NVML (the simulated one with --simulate), runs the collector and attribution, and listens. */
export async function startExporter(config: Config, opts: StartOptions): Promise<RunningExporter> {
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    return await start(config, opts, cleanups);
  } catch (err) {
    // A start that fails half way closes what it opened (NVML, the collector, the demo's files).
    for (const c of cleanups) {
      try {
        await c();
      } catch {
        // the first error is the one to report
      }
    }
    throw err;
  }
}

async function start(config: Config, opts: StartOptions, cleanups: (() => Promise<void> | void)[]): Promise<RunningExporter> {
  const log = opts.logger;
  const aborted = () => {
    if (opts.signal?.aborted) throw new StartAborted('stopped while starting');
  };

  // the node-local scaler's modules load while NVML opens, so its gRPC listener follows the HTTP one at once
  const scalerModules = config.kedaScalerAddress && opts.listen !== false
    ? Promise.all([import('../scaler/grpc-server.js'), import('../scaler/node-local.js')])
    : null;
  scalerModules?.catch(() => {}); // awaited (and reported) below
  let sim: Simulation | null = null;
  if (config.simulate !== null) {
    const { prepareSimulation } = await import('./simulation.js'); // the demo's world: not loaded in production
    sim = prepareSimulation(config.simulate, config.kubernetes ? config.podResourcesSocket : null, log);
    cleanups.push(() => sim?.remove());
  }

  // The Kubernetes API (loaded only when an option needs it): pod labels, UID, workload, -m, ResourceSlices.
  const k = config.kubernetesApi;
  let nodeApi: NodeApi | null = null;
  if (k.podLabels || k.podUid || k.workload || k.configMap || k.draResourceSlices) {
    const { openNodeApi } = await import('../kubernetes/api/node-api.js');
    let kubeconfig = k.kubeconfig;
    if (sim && !kubeconfig) {
      kubeconfig = await sim.startApiServer(nodeHostname(config), k.configMap);
      cleanups.push(() => sim?.stopApiServer());
    }
    try {
      nodeApi = await openNodeApi({
        nodeName: k.nodeName || nodeHostname(config), kubeconfig, configMap: k.configMap, resourceSlices: k.draResourceSlices,
        podLabels: k.podLabels, allowlist: k.podLabelAllowlist, podUid: k.podUid, workload: k.workload,
        staleAfterMs: k.staleAfterMs, logger: log,
      });
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
    const n = nodeApi;
    cleanups.unshift(() => n.stop());
  }
  aborted();

  // The counters file first: a bad file is a configuration error (exit 2) whether or not NVML opens.
  const countersSource = nodeApi?.configMap ? await firstConfigMap(nodeApi.configMap, k.configMap!, log) : null;
  let selection = await loadSelection(config, log, countersSource?.text() ?? null);
  aborted();
  // --web-config-file: read and checked before anything opens (a bad one is exit 2, never plain HTTP)
  const web = await loadWeb(config, log);
  aborted();

  const library = sim?.library ?? config.nvmlLibrary ?? undefined;
  log.info('opening NVML', { library: library ?? "libnvidia-ml.so.1 (the dynamic loader's search)" });
  const nvml = await Nvml.open({ library, sweepDeadlineMs: config.sweepDeadlineMs });
  cleanups.unshift(() => nvml.close());
  log.info('NVML opened', { library: nvml.libraryPath });
  aborted();

  if (config.podUsage) {
    // a proc root that is not there would leave every process unresolved: refuse, do not serve less
    const st = await stat(config.hostProc).catch(() => null);
    if (!st?.isDirectory()) {
      throw new ConfigError(`--host-proc ${config.hostProc}: not a directory; mount the host's /proc there (read-only) or run with hostPID and keep the default /proc`);
    }
  }
  const collector = new Collector({
    nvml,
    intervalMs: config.collectIntervalMs,
    pcieThroughput: () => config.pcieThroughput || selectionNeedsPcieThroughput(selection),
    // GPM samples are taken only while a DCGM_FI_PROF_* field is selected
    gpm: () => selectionNeedsGpm(selection),
    xidWindowMs: config.xidCountWindowMs,
    clockEventsWindowMs: config.clockEventsCountWindowMs,
    logger: log,
    processes: config.podUsage
      ? { intervalMs: config.processIntervalMs, slowIntervalMs: config.processSlowIntervalMs, budgetMs: config.processBudgetMs }
      : undefined,
  });
  const reloads = new EventEmitter();
  const hostname = config.hostname || osHostname();
  nodeApi?.start();
  const renderer = new GpuPageRenderer({
    hostname,
    replaceBlanksInModelName: config.replaceBlanksInModelName,
    useOldNamespace: config.useOldNamespace,
    sharedGpus: config.sharedGpus,
    hostnameLabel: config.hostnameLabel,
    // a transition between 4.8.2 and a later generation serves the host label under both spellings
    bothHostnameLabels: config.namingTransition !== null && GENERATION_DEFAULTS[config.namingTransition].hostLabel !== config.hostnameLabel,
    devices: config.devices,
  });

  // The attributor is created before the first sweep so that the self-metrics hear every event.
  let attributor: PodAttributor | null = null;
  const socketPath = sim?.kubeletSocket ?? config.podResourcesSocket;
  if (config.kubernetes) {
    const { PodAttributor } = await import('../kubernetes/attribution.js'); // gRPC: loaded only with -k
    const slices = nodeApi?.slices ?? null;
    attributor = new PodAttributor({
      dra: k.dra ? (slices ? { resolveSlice: (d, p, n) => slices.resolve(d, p, n) } : {}) : undefined,
      matchGeneration: slices ? () => slices.generation() : undefined,
      getSweep: () => collector.current()?.sweep ?? null,
      socketPath,
      refreshIntervalMs: config.podResourcesIntervalMs,
      deadlineMs: config.podResourcesTimeoutMs,
      staleAfterMs: config.podResourcesStaleAfterMs,
      extraResourceNames: config.nvidiaResourceNames,
      gpuIdType: config.kubernetesGpuIdType,
      singlePod: config.sharedGpus === 'single-pod',
      logger: log,
    });
  }
  let podUsage: PodUsageTracker | null = null;
  let renderPodUsage: typeof import('../exposition/pod-usage.js').renderPodUsage | null = null;
  if (config.podUsage) {
    const [{ PodUsageTracker }, { ProcCgroupReader }, rendering] = await Promise.all([
      import('../kubernetes/pod-usage.js'),
      import('../kubernetes/proc-cgroup.js'),
      import('../exposition/pod-usage.js'),
    ]);
    renderPodUsage = rendering.renderPodUsage;
    podUsage = new PodUsageTracker({
      resolver: new ProcCgroupReader(config.hostProc),
      pods: () => attributor?.current() ?? null,
      // the pod informer when pod labels, UID or the workload label have it open (no extra watch for usage alone)
      metadata: opts.podMetadata ?? nodeApi?.pods ?? undefined,
      logger: log,
    });
    const tracker = podUsage;
    collector.on('snapshot', (s: { sweep: import('../nvml/types.js').SweepResult }) => tracker.offer(s.sweep));
  }
  const self = createSelfMetrics({
    collector,
    podResources: attributor ?? undefined,
    kubernetesApi: nodeApi ?? undefined,
    reloads,
    renderSeconds: () => renderer.lastRenderSeconds,
    processes: () => collector.processStatus(),
    build: { version: packageVersion(), nodeVersion: process.version, library: nvml.libraryPath, driver: () => collector.current()?.sweep.driverVersion ?? '' },
  });

  await collector.start();
  cleanups.unshift(() => collector.stop());
  const first = collector.current();
  if (first) {
    log.info('first sweep', {
      gpus: first.sweep.devices.length,
      driver: first.sweep.driverVersion,
      migInstances: first.sweep.devices.reduce((n, d) => n + d.mig.length, 0),
    });
  }
  aborted();

  if (sim && sim.kubeletSocket) {
    // The demo: a simulated kubelet whose pods hold the simulated GPUs.
    await sim.startKubelet((first?.sweep.devices ?? []).map((d) => d.uuid));
    cleanups.push(() => sim?.stopKubelet());
  }
  if (attributor) {
    // Not awaited: the HTTP listener never waits for the kubelet; the first map joins the page
    // as soon as it arrives.
    void attributor.start();
    const a = attributor;
    cleanups.unshift(() => a.stop());
  }

  const api = nodeApi;
  const pods = api ? (): PodMap | null => api.join(attributor?.current() ?? null) : (): PodMap | null => attributor?.current() ?? null;
  const podUsageOptions = {
    hostname,
    hostnameLabels: config.namingTransition !== null && GENERATION_DEFAULTS[config.namingTransition].hostLabel !== config.hostnameLabel ? ['Hostname', 'hostname'] : [config.hostnameLabel],
    replaceBlanksInModelName: config.replaceBlanksInModelName,
  };
  // the page is the same string object until a part changes: the server compares it to keep its bytes
  let joined = { gpu: '', usage: '', text: '' };
  const renderGpuText = (): string => {
    const snap = collector.current();
    if (!snap) return '';
    const usage = podUsage?.current() ?? null;
    const gpu = renderer.render(snap, selection, pods(), usage);
    if (!usage || !renderPodUsage) return gpu;
    const usageText = renderPodUsage(usage, snap, { ...podUsageOptions, labelRows: selection.labels });
    if (gpu !== joined.gpu || usageText !== joined.usage) joined = { gpu, usage: usageText, text: gpu + usageText };
    return joined.text;
  };
  const gpusDocument = documentBuilder(config, hostname, collector, attributor);

  const counterSourceName = k.configMap ? `ConfigMap ${k.configMap.namespace}/${k.configMap.name}` : config.collectors ?? 'built-in default';
  const reload = async (): Promise<boolean> => {
    try {
      selection = await loadSelection(config, log, countersSource ? countersSource.text() : null);
      reloads.emit('reload', true);
      log.info('counters reloaded', { file: counterSourceName });
      releaseFreeMemory(); // what reading the CSV and the catalogue freed
      return true;
    } catch (err) {
      reloads.emit('reload', false);
      log.error('counters reload failed: keeping the previous selection', { file: counterSourceName, error: (err as Error).message });
      return false;
    }
  };
  // -m: a change of the ConfigMap applies like a SIGHUP reload; a bad one keeps the previous selection
  countersSource?.onChange(() => void reload());

  let app: FastifyInstance | null = null;
  let boundAddress: string | null = null;
  if (opts.listen !== false) {
    const a = attributor;
    app = buildServer({
      // the nvml_exporter_* families only with --enable-exporter-metrics, as dcgm-exporter's own
      metrics: config.enableExporterMetrics
        ? async () => ({ gpuText: renderGpuText(), selfText: await self.render() })
        : () => ({ gpuText: renderGpuText(), selfText: '' }),
      maxConcurrentScrapes: config.maxConcurrentScrapes,
      health: config.healthRequireGpus
        ? () => {
            const live = collector.current()?.sweep.devices.filter((d) => d.lostCode === null).length ?? 0;
            return live > 0 ? { body: 'OK\n' } : { status: 503, body: 'no GPU: the last sweep saw none (--health-require-gpus)\n' };
          }
        : undefined,
      // The one side effect of a read (docs/architecture.md): a scrape asks for an early kubelet
      // refresh, never waited for and at most one kubelet call per second however many scrapers.
      onMetricsRequest: a ? () => a.refreshSoon() : undefined,
      ready: () => collector.readiness(),
      gpusDocument,
      landing: {
        title: 'nvml-exporter',
        description: 'GPU metrics over NVML, compatible with dcgm-exporter.',
        links: [
          ['/metrics', 'Prometheus exposition'],
          ['/health', 'the process is alive'],
          ['/ready', 'NVML is open and the last sweep is fresh'],
          ['/api/v1/gpus', 'the current snapshot as JSON'],
        ],
      },
    }, { requestTimeoutMs: config.webReadTimeoutMs, writeTimeoutMs: config.webWriteTimeoutMs, web });
    // the node-local KEDA scaler listens before the HTTP server: /health answering means both are up
    if (config.kedaScalerAddress) {
      const [{ createScalerServer }, { nodeLocalSource }] = await scalerModules!; // gRPC: loaded only when asked for
      const signals: ChangeSignal[] = [{ emitter: collector, event: 'snapshot' }];
      if (attributor) signals.push({ emitter: attributor, event: 'refresh', changed: (e) => (e as RefreshEvent).changed });
      const scaler: ScalerGrpcServer = createScalerServer({ source: nodeLocalSource(gpusDocument, signals), logger: log, fieldName: servedFieldName });
      try {
        await scaler.listen(config.kedaScalerAddress);
      } catch (err) {
        await scaler.close();
        throw new Error(`cannot serve the KEDA scaler API on ${config.kedaScalerAddress.text}: ${(err as Error).message}`, { cause: err });
      }
      cleanups.unshift(() => scaler.close());
      log.info('serving the node-local KEDA external scaler', { address: describeListen(config.kedaScalerAddress) });
    }
    const server = app;
    cleanups.unshift(() => server.close());
    try {
      if (config.webSystemdSocket) {
        const handle = systemdSocket();
        await server.ready();
        await new Promise<void>((resolve, reject) => {
          server.server.once('error', reject);
          server.server.listen(handle, () => resolve());
        });
        boundAddress = `systemd socket (fd ${handle.fd})`;
      } else {
        await bindTcp(config.address, (host, port) => server.listen({ host, port }));
        const a = server.server.address() as AddressInfo;
        boundAddress = joinHostPort(a.address, a.port);
      }
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EADDRINUSE' ? 'the address is already in use' : e.message;
      throw new Error(`cannot listen on ${config.address.text}: ${why}`, { cause: err });
    }
    log.info('serving metrics', {
      address: boundAddress, interval_ms: config.collectIntervalMs,
      ...(web ? { tls: web.config.tls !== null, basic_auth_users: web.config.users.size, web_config: web.config.file } : {}),
    });

  }

  // Startup is done: give the C heap's freed pages back (native/addon.cc), now and once more after
  // the first sweeps and scrapes have compiled what they use.
  releaseFreeMemory();
  const settle = setTimeout(() => releaseFreeMemory(), 10_000);
  settle.unref();
  cleanups.push(() => clearTimeout(settle));

  return {
    app,
    collector,
    attributor,
    podUsage,
    boundAddress,
    renderGpuText,
    gpusDocument,
    reload,
    close: async () => {
      for (const c of cleanups.splice(0)) await c();
    },
  };
}

/** The /api/v1/gpus document, built once per (snapshot, pod map) and reused until either changes. */
function documentBuilder(config: Config, hostname: string, collector: Collector, attributor: PodAttributor | null) {
  let memo: { snap: object; pods: object | null; doc: GpusDocument; at: number } | null = null;
  return (): GpusDocument | null => {
    const snap = collector.current();
    if (!snap) return null;
    const pods = attributor?.current() ?? null;
    const now = Date.now();
    // ageSeconds moves with the clock: a document older than 100 ms is built again
    if (memo && memo.snap === snap && memo.pods === pods && now - memo.at < 100) return memo.doc;
    const st = attributor?.status();
    const doc = buildGpusDocument({
      snapshot: snap,
      pods,
      hostname,
      now,
      staleAfterMs: collector.freshnessBoundMs,
      podResources: {
        enabled: attributor !== null,
        up: st?.up ?? false,
        ageSeconds: st?.lastSuccessMs ? (now - st.lastSuccessMs) / 1000 : null,
      },
      replaceBlanksInModelName: config.replaceBlanksInModelName,
    });
    memo = { snap, pods, doc, at: now };
    return doc;
  };
}

/** The web config and its TLS files, or null without --web-config-file (a ConfigError names the file and key). */
async function loadWeb(config: Config, log: Logger): Promise<ServerOptions['web']> {
  if (!config.webConfigFile) return null;
  const { loadWebConfig, readTlsMaterial } = await import('../server/web-config.js'); // YAML, bcrypt, https: loaded only when asked for
  const { webRuntime } = await import('../server/web-security.js');
  const webConfig = await loadWebConfig(config.webConfigFile);
  for (const n of webConfig.notes) log.info(`web config ${webConfig.file}: ${n}`);
  return webRuntime(webConfig, webConfig.tls ? await readTlsMaterial(webConfig) : null, {
    onTlsReload: (ok, message) => (ok ? log.info(message, { web_config: webConfig.file }) : log.error(message, { web_config: webConfig.file })),
  });
}

async function loadSelection(config: Config, log: Logger, configMapText: string | null): Promise<FieldSelection> {
  const sink = { info: (m: string) => log.info(m), warn: (m: string) => log.warn(m) };
  const cm = config.kubernetesApi.configMap;
  if (cm) {
    const label = `ConfigMap ${cm.namespace}/${cm.name} key metrics`;
    if (configMapText === null) throw new ConfigError(`-m ${cm.namespace}:${cm.name}: the ConfigMap has no key "metrics" (the counters CSV); add it`);
    const sel = parseCounters(configMapText, label, sink);
    return config.namingTransition ? withTransition(sel, config.namingTransition) : sel;
  }
  const sel = config.collectors
    ? await loadCounters(config.collectors, sink)
    : config.countersInline !== null
      ? parseCounters(config.countersInline, '--config-file metrics.fields', sink)
      : loadDefaultCounters(sink, config.namingProfile);
  return config.namingTransition ? withTransition(sel, config.namingTransition) : sel;
}

/** The counters in a ConfigMap (-m): its `metrics` key as last seen, and a hook for its changes. */
interface CountersSource {
  text(): string | null;
  onChange(fn: () => void): void;
}

/**
 * Waits for the first list of the -m ConfigMap (bounded by the connection's deadlines). A ConfigMap
 * that cannot be read at start is a runtime failure (exit 1: it may appear, and a restart retries);
 * serving the default counters instead would serve data the user did not ask for.
 */
async function firstConfigMap(inf: Informer<TrimmedConfigMap>, cm: { namespace: string; name: string }, log: Logger): Promise<CountersSource> {
  await inf.start();
  const obj = inf.get(cm.name, cm.namespace);
  if (!obj) {
    inf.stop();
    const st = inf.status();
    const why = st.lastError ? st.lastError.message : 'it does not exist';
    throw new Error(`-m ${cm.namespace}:${cm.name}: the counters ConfigMap cannot be read through the Kubernetes API: ${why}`);
  }
  log.info('counters from a ConfigMap', { configmap: `${cm.namespace}/${cm.name}`, resourceVersion: obj.metadata.resourceVersion });
  let last = obj.data.metrics ?? null;
  return {
    text: () => inf.get(cm.name, cm.namespace)?.data.metrics ?? last,
    onChange(fn) {
      inf.on('change', () => {
        const now = inf.get(cm.name, cm.namespace);
        if (!now) {
          log.warn('the counters ConfigMap was deleted: keeping the current selection', { configmap: `${cm.namespace}/${cm.name}` });
          return;
        }
        const text = now.data.metrics ?? null;
        if (text === last) return;
        last = text;
        fn();
      });
    },
  };
}

function nodeHostname(config: Config): string {
  return config.hostname || osHostname();
}

/** The listening socket systemd passes (socket activation): fd 3, for this process only. */
function systemdSocket(): { fd: number } {
  const fds = Number(process.env.LISTEN_FDS ?? 0);
  const pid = Number(process.env.LISTEN_PID ?? 0);
  if (!(fds >= 1) || pid !== process.pid) {
    throw new ConfigError(
      `--web-systemd-socket: no socket was passed by systemd (LISTEN_FDS=${process.env.LISTEN_FDS ?? 'unset'}, LISTEN_PID=${process.env.LISTEN_PID ?? 'unset'}, this process is ${process.pid}); start it from a .socket unit, or use --address`,
    );
  }
  return { fd: 3 };
}

export interface RunOptions {
  logger: Logger;
  /** aborted on SIGTERM/SIGINT: stop, and resolve 0 */
  signal: AbortSignal;
  /** 'SIGHUP' events reload the counters file */
  hangups?: { on(event: 'SIGHUP', listener: () => void): unknown; off(event: 'SIGHUP', listener: () => void): unknown };
  /** where `--once` prints the page (default process.stdout) */
  stdout?: (text: string) => void;
  /** how long a stop requested during the start may wait for it (default 10000 ms) */
  startGraceMs?: number;
  /**
   * Called when the start is abandoned after the grace period (a call into the driver is still
   * stuck on a libuv pool thread): a normal process.exit would wait for that thread.
   */
  onAbandonedStart?: () => void;
}

/** The exporter command's lifecycle: resolves to the exit code (0, 1 runtime failure, 2 bad configuration). */
export async function runExporter(config: Config, opts: RunOptions): Promise<number> {
  const log = opts.logger;
  let hupDuringStart = () => log.warn('SIGHUP while starting: the counters file is being read now; ignored');
  opts.hangups?.on('SIGHUP', hupDuringStart);
  const onAbortDuringStart = () => log.info('stop requested while starting; stopping once the start is done', { signal: String(opts.signal.reason ?? 'abort') });
  opts.signal.addEventListener('abort', onAbortDuringStart, { once: true });

  const starting = startExporter(config, { logger: log, signal: opts.signal, listen: !config.once });
  // A start stuck in the driver (nvmlInit that never returns) must not outlive a stop request.
  let graceTimer: NodeJS.Timeout | undefined;
  const grace = new Promise<'grace'>((resolve) => {
    const arm = () => {
      graceTimer = setTimeout(() => resolve('grace'), opts.startGraceMs ?? 10_000);
      graceTimer.unref();
    };
    if (opts.signal.aborted) arm();
    else opts.signal.addEventListener('abort', arm, { once: true });
  });
  let exp: RunningExporter;
  try {
    const r = await Promise.race([starting, grace]);
    if (r === 'grace') {
      log.warn(`the start did not finish within ${(opts.startGraceMs ?? 10_000) / 1000} s of the stop request; exiting without closing NVML`);
      opts.onAbandonedStart?.();
      return 0;
    }
    exp = r;
  } catch (err) {
    if (err instanceof StartAborted) return 0;
    log.error((err as Error).message);
    return err instanceof ConfigError ? 2 : 1;
  } finally {
    clearTimeout(graceTimer);
    opts.signal.removeEventListener('abort', onAbortDuringStart);
    opts.hangups?.off('SIGHUP', hupDuringStart);
  }
  if (opts.signal.aborted) {
    log.info('stopping', { signal: String(opts.signal.reason ?? 'abort') });
    await exp.close();
    return 0;
  }
  if (config.once) {
    // GPM metrics are computed between two samples at least 100 ms apart, and the first sweep has
    // only one: where a GPU takes GPM samples, one more sweep so the page has them
    if (exp.collector.current()?.sweep.devices.some((d) => d.gpm?.support === 0)) {
      await new Promise((r) => setTimeout(r, 150));
      await exp.collector.sweepOnce();
    }
    // the per-pod rows come from the first sweep's processes, joined off the loop: wait for them (bounded)
    const usage = exp.podUsage;
    if (usage && !usage.current()) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise((r) => usage.once('update', r)), new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
    }
    (opts.stdout ?? ((t) => process.stdout.write(t)))(exp.renderGpuText());
    await exp.close();
    return 0;
  }
  hupDuringStart = () => void exp.reload();
  opts.hangups?.on('SIGHUP', hupDuringStart);
  await new Promise<void>((resolve) => opts.signal.addEventListener('abort', () => resolve(), { once: true }));
  opts.hangups?.off('SIGHUP', hupDuringStart);
  log.info('stopping', { signal: String(opts.signal.reason ?? 'abort') });
  await exp.close(); // stops accepting, finishes scrapes in flight, closes NVML
  return 0;
}
