// Wires the parts together for `nvml-exporter` (bin/ calls this): NVML → collector → renderers →
// HTTP server, plus pod attribution, SIGHUP reloads and the node-local KEDA scaler.
import { hostname as osHostname, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Nvml } from './nvml/index.js';
import { demoScenario, simulatedLibraryPath, writeScenario } from './nvml/simulation.js';
import { Collector } from './collect/collector.js';
import { buildApp } from './server/app.js';
import type { PodAttributor } from './kubernetes/attribution.js';
import type { SimKubelet } from './kubernetes/sim-kubelet.js';
import { DEFAULT_POD_RESOURCES_SOCKET } from './kubernetes/types.js';
import { loadCounters, loadDefaultCounters, selectionNeedsPcieThroughput, type FieldSelection } from './config/counters.js';
import type { Config as ExporterConfig } from './config/types.js';
import { renderMetrics } from './exposition/render.js';
import { buildGpusDocument } from './exposition/gpus-json.js';
import { createSelfMetrics } from './exposition/self-metrics.js';
import { packageVersion } from './package-root.js';
import type { Logger } from './logger.js';
import type { GpusDocument } from './exposition/gpus-json-types.js';

export interface RunningExporter {
  app: FastifyInstance | null;
  collector: Collector;
  /** renders the page /metrics serves (GPU families only) */
  renderGpuText(): string;
  gpusDocument(): GpusDocument | null;
  reload(): boolean;
  close(): Promise<void>;
}

/** Opens NVML (the simulated one with --simulate) and runs the collector and attribution. */
export async function startExporter(config: ExporterConfig, log: Logger, opts: { listen: boolean }): Promise<RunningExporter> {
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    return await start(config, log, opts, cleanups);
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

async function start(
  config: ExporterConfig,
  log: Logger,
  opts: { listen: boolean },
  cleanups: (() => Promise<void> | void)[],
): Promise<RunningExporter> {
  let library = config.nvmlLibrary ?? undefined;
  let sim: SimKubelet | null = null;
  let socketPath = config.podResourcesSocket;

  if (config.simulate !== null) {
    const dir = mkdtempSync(join(tmpdir(), 'nvml-exporter-sim-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const scenario = demoScenario(config.simulate);
    const file = join(dir, 'scenario.txt');
    writeScenario(file, scenario);
    process.env.NVML_SIM_SCENARIO = file;
    library = simulatedLibraryPath();
    if (config.kubernetes && socketPath === DEFAULT_POD_RESOURCES_SOCKET) socketPath = join(dir, 'kubelet.sock');
    log.info('simulation: running on simulated GPUs', { gpus: config.simulate, library });
  }

  // The counters file first: a bad file is a configuration error (exit 2) whether or not NVML opens.
  let selection: FieldSelection = loadSelection(config, log);

  log.info('opening NVML', { library: library ?? 'libnvidia-ml.so.1 (the dynamic loader\'s search)' });
  const nvml = await Nvml.open({ library, sweepDeadlineMs: config.sweepDeadlineMs });
  cleanups.unshift(() => nvml.close());
  log.info('NVML opened', { library: nvml.libraryPath });

  const collector = new Collector({
    nvml,
    intervalMs: config.collectIntervalMs,
    pcieThroughput: () => config.pcieThroughput || selectionNeedsPcieThroughput(selection),
    logger: log,
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

  if (config.simulate !== null && config.kubernetes && socketPath !== config.podResourcesSocket) {
    // The demo: a simulated kubelet whose pods hold the simulated GPUs.
    // Loaded only when used, like everything that pulls in gRPC: it costs memory at rest.
    const { startSimKubelet, demoPods } = await import('./kubernetes/sim-kubelet.js');
    sim = await startSimKubelet(socketPath, demoPods((first?.sweep.devices ?? []).map((d) => d.uuid)));
    cleanups.push(() => sim?.stop());
    log.info('simulation: a simulated kubelet serves pod resources', { socket: socketPath });
  }

  let attributor: PodAttributor | null = null;
  if (config.kubernetes) {
    const { PodAttributor } = await import('./kubernetes/attribution.js'); // gRPC: loaded only with -k
    attributor = new PodAttributor({
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
    await attributor.start();
    cleanups.unshift(() => attributor?.stop());
  }

  const reloads = { ok: 0, failed: 0 };
  const hostname = config.hostname || process.env.NODE_NAME || osHostname();
  const renderOpts = {
    hostname,
    replaceBlanksInModelName: config.replaceBlanksInModelName,
    useOldNamespace: config.useOldNamespace,
    sharedGpus: config.sharedGpus,
    hostnameLabel: config.hostnameLabel,
    devices: config.devices,
  };
  // The page is rendered again only for a new sweep, pod map or selection (renderMetrics caches
  // it); that render, with the pod join, is what a sweep costs on this side: timed for the self-metrics.
  let renderSeconds: number | null = null;
  let rendered: { snap: object; pods: object | null; selection: object } | null = null;
  const renderGpuText = (): string => {
    const snap = collector.current();
    if (!snap) return '';
    attributor?.refreshSoon(); // never waits: this page joins the last map, the next scrape a fresher one
    const t0 = process.hrtime.bigint();
    const pods = attributor?.current() ?? null;
    const text = renderMetrics({ snapshot: snap, selection, pods, ...renderOpts });
    if (!rendered || rendered.snap !== snap || rendered.pods !== pods || rendered.selection !== selection) {
      renderSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
      rendered = { snap, pods, selection };
    }
    return text;
  };

  const self = createSelfMetrics({
    collector: () => collector.status(),
    podResources: attributor ? () => attributor!.status() : undefined,
    reloads: () => reloads,
    renderSeconds: () => renderSeconds,
    build: { version: packageVersion(), nodeVersion: process.version, library: nvml.libraryPath, driver: first?.sweep.driverVersion ?? '' },
  });

  const freshMs = 3 * config.collectIntervalMs + 1000;
  const reload = (): boolean => {
    try {
      selection = loadSelection(config, log);
      reloads.ok++;
      log.info('counters reloaded', { file: config.collectors ?? 'built-in default' });
      return true;
    } catch (err) {
      reloads.failed++;
      log.error('counters reload failed: keeping the previous selection', { error: (err as Error).message });
      return false;
    }
  };

  const gpusDocument = (): GpusDocument | null => {
        const snap = collector.current();
        if (!snap) return null;
        attributor?.refreshSoon(); // never waits, like the page
        const pods = attributor?.current() ?? null;
        const st = attributor?.status();
        return buildGpusDocument({
          snapshot: snap,
          pods,
          hostname,
          now: Date.now(),
          staleAfterMs: freshMs,
          podResources: {
            enabled: attributor !== null,
            up: st?.up ?? false,
            ageSeconds: st?.lastSuccessMs ? (Date.now() - st.lastSuccessMs) / 1000 : null,
          },
          replaceBlanksInModelName: config.replaceBlanksInModelName,
        });
      };

  let app: FastifyInstance | null = null;
  if (opts.listen) {
    app = buildApp({
      renderMetrics: async () => ({ gpuText: renderGpuText(), selfText: await self.render() }),
      ready: () => {
        const age = collector.ageMs();
        if (!collector.status().nvmlOpen) return { ok: false, reason: 'NVML is not open' };
        if (age > freshMs) return { ok: false, reason: `the last good sweep is ${Number.isFinite(age) ? (age / 1000).toFixed(1) + ' s' : 'missing'} old (bound ${freshMs / 1000} s)` };
        return { ok: true, reason: '' };
      },
      gpusDocument,
    });
  }

  return {
    app,
    collector,
    renderGpuText,
    gpusDocument,
    reload,
    close: async () => {
      if (app) await app.close();
      for (const c of cleanups) await c();
    },
  };
}

function loadSelection(config: ExporterConfig, log: Logger): FieldSelection {
  const sink = { info: (m: string) => log.info(m), warn: (m: string) => log.warn(m) };
  return config.collectors ? loadCounters(config.collectors, sink) : loadDefaultCounters(sink);
}
