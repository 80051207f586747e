// `--simulate N`: the demo's world. A temporary folder holds the scenario of N simulated GPUs (the
// simulated NVML reads it through NVML_SIM_SCENARIO) and, with -k, the socket of a simulated
// kubelet whose pods hold those GPUs. The folder is named after the process, so a run that was
// killed leaves a folder the next run recognises as stale (its process is gone) and removes.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { packageRoot } from '../package-root.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoScenario, simulatedLibraryPath, writeScenario } from '../nvml/simulation.js';
import { DEFAULT_POD_RESOURCES_SOCKET } from '../contract/pods.js'; // not kubernetes/client.js: that loads gRPC
import type { Logger } from '../logger.js';

const PREFIX = 'nvml-exporter-sim-';

export interface Simulation {
  /** the simulated NVML library to open */
  library: string;
  /** the simulated kubelet's socket, or null without -k (or with a socket path of the user's) */
  kubeletSocket: string | null;
  startKubelet(gpuUuids: string[]): Promise<void>;
  stopKubelet(): Promise<void>;
  /**
   * Starts a simulated Kubernetes API server holding the demo's pods (with labels and their
   * Deployment) on `nodeName`, and the counters ConfigMap `configMap` (the built-in counters) when
   * given; returns the path of a kubeconfig naming it.
   */
  startApiServer(nodeName: string, configMap: { namespace: string; name: string } | null): Promise<string>;
  stopApiServer(): Promise<void>;
  /** removes the folder */
  remove(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the folders of earlier `--simulate` runs whose process no longer exists; returns how many. */
export function removeStaleSimulations(dir = tmpdir()): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (!m || alive(Number(m[1]))) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

/**
 * Writes the demo scenario of `gpus` GPUs. `podResourcesSocket`: with -k, the configured socket;
 * the default one is replaced by the simulated kubelet's (a socket path the user chose is kept,
 * and nothing is simulated there).
 */
export function prepareSimulation(gpus: number, podResourcesSocket: string | null, log: Logger): Simulation {
  const stale = removeStaleSimulations();
  if (stale > 0) log.info('simulation: removed the folders of earlier runs that were killed', { folders: stale });
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
  const file = join(dir, 'scenario.txt');
  writeScenario(file, demoScenario(gpus));
  process.env.NVML_SIM_SCENARIO = file;
  const library = simulatedLibraryPath();
  log.info('simulation: running on simulated GPUs', { gpus, library });
  const kubeletSocket = podResourcesSocket === DEFAULT_POD_RESOURCES_SOCKET ? join(dir, 'kubelet.sock') : null;
  let kubelet: { stop(): Promise<void> } | null = null;
  let apiServer: { stop(): Promise<void> } | null = null;
  return {
    library,
    kubeletSocket,
    async startKubelet(uuids) {
      if (!kubeletSocket) return;
      // Loaded only when used, like everything that pulls in gRPC: it costs memory at rest.
      const { startSimKubelet, demoPods } = await import('../kubernetes/sim-kubelet.js');
      kubelet = await startSimKubelet(kubeletSocket, demoPods(uuids));
      log.info('simulation: a simulated kubelet serves pod resources', { socket: kubeletSocket });
    },
    async stopKubelet() {
      await kubelet?.stop();
      kubelet = null;
    },
    async startApiServer(nodeName, configMap) {
      const { startSimApiServer, demoApiPods } = await import('../kubernetes/sim-api-server.js');
      const { demoPods } = await import('../kubernetes/sim-kubelet.js');
      const names = demoPods(Array.from({ length: gpus }, (_, i) => `GPU-${i}`)).pods;
      const configMaps = configMap
        ? [{ ...configMap, data: { metrics: readFileSync(join(packageRoot(), 'etc', 'default-counters.csv'), 'utf8') } }]
        : [];
      const server = await startSimApiServer({ pods: demoApiPods(names, nodeName), configMaps });
      apiServer = server;
      log.info('simulation: a simulated Kubernetes API server serves the pods', { url: server.url, node: nodeName });
      return server.writeKubeconfig(join(dir, 'kubeconfig.yaml'));
    },
    async stopApiServer() {
      await apiServer?.stop();
      apiServer = null;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
