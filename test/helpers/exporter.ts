// Runs the real `nvml-exporter` command (dist/, as `npm ci` builds it) as a child process on the
// simulated NVML, for integration and end-to-end tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import { simulatedLibraryPath, writeScenario } from '../../lib/nvml/simulation.js';
import type { Scenario } from '../../lib/nvml/scenario.js';
import type { Test } from 'tap';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliPath = join(repoRoot, 'dist', 'bin', 'nvml-exporter.js');

export interface RunningExporter {
  url: string;
  port: number;
  proc: ChildProcess;
  dir: string;
  scenarioPath: string;
  stderr: () => string;
  stdout: () => string;
  /** rewrites the scenario; the simulated library picks it up on its next call */
  setScenario(s: Scenario): void;
  /** SIGTERM, then waits for exit */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startExporter(opts: {
  scenario: Scenario;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** wait for this path to answer 200 (default /health) */
  waitPath?: string;
  /** the base URL when `args` give their own -a (default http://127.0.0.1:<free port>) */
  url?: string;
  /** false: leave out --enable-exporter-metrics (default: on, as our chart and manifests run it) */
  exporterMetrics?: boolean;
  /** how long the start may take (default 15000 ms; loading the Kubernetes API client takes longer on a loaded machine) */
  startLimitMs?: number;
}): Promise<RunningExporter> {
  const dir = mkdtempSync(join(tmpdir(), 'nvx-exp-'));
  const scenarioPath = join(dir, 'scenario.txt');
  writeScenario(scenarioPath, opts.scenario);
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    [cliPath, '-a', `127.0.0.1:${port}`, '--nvml-library', simulatedLibraryPath(),
      ...(opts.exporterMetrics === false ? [] : ['--enable-exporter-metrics']), ...(opts.args ?? [])],
    { env: { ...process.env, NVML_SIM_SCENARIO: scenarioPath, NODE_NAME: 'test-node', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  let out = '';
  proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  const url = opts.url ?? `http://127.0.0.1:${port}`;
  const limitMs = opts.startLimitMs ?? 15000;
  const deadline = Date.now() + limitMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`exporter exited with ${proc.exitCode}: ${err}`);
    try {
      const r = await fetch(url + (opts.waitPath ?? '/health'));
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`exporter did not answer within ${limitMs / 1000} s: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port,
    proc,
    dir,
    scenarioPath,
    stderr: () => err,
    stdout: () => out,
    setScenario: (s) => writeScenario(scenarioPath, s),
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const done = new Promise<void>((r) => proc.once('exit', () => r()));
        proc.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 8000)))]);
        clearTimeout(timer); // else the test file lives on until it fires
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
      return { code: proc.exitCode, signal: proc.signalCode };
    },
  };
}

/** Parses a text exposition into samples (name, labels, value). */
export function parseExposition(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    let lm: RegExpExecArray | null;
    while ((lm = re.exec(m[3] ?? '')) !== null) labels[lm[1]!] = lm[2]!.replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
    out.push({ name: m[1]!, labels, value: Number(m[4]) });
  }
  return out;
}

// ---- helpers for tests that watch a running exporter ------------------------------------------

export type Sample = ReturnType<typeof parseExposition>[number];

/** GET `url` + /metrics: the status, the parsed samples, and how long the request took in ms. */
export async function scrape(url: string): Promise<{ status: number; text: string; samples: Sample[]; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(url + '/metrics');
  const text = await res.text();
  const ms = performance.now() - t0;
  return { status: res.status, text, samples: res.ok ? parseExposition(text) : [], ms };
}

/** The samples of `name` whose labels include every pair of `labels`. */
export function samplesOf(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of the one sample of `name` matching `labels`; undefined when none; throws when several match. */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const m = samplesOf(samples, name, labels);
  if (m.length > 1) throw new Error(`${m.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return m[0]?.value;
}

/**
 * Polls `probe` every `stepMs` until it returns something other than undefined/false, and returns
 * that; throws naming `what` after `limitMs` (a safety net for slow machines, not a timing check).
 */
export async function waitUntil<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string, limitMs = 15000, stepMs = 50): Promise<T> {
  const until = Date.now() + limitMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * Runs `nvml-exporter` with exactly `args` (no scenario, no --nvml-library: e.g. `--simulate N`),
 * listening on 127.0.0.1:`port` (`-a` is added), and waits until `waitPath` answers 200.
 * Same stop() and output accessors as startExporter.
 */
export async function startCommand(opts: {
  args: string[];
  port?: number;
  env?: NodeJS.ProcessEnv;
  waitPath?: string;
  /** how long the start may take (default 15000 ms; loading the Kubernetes API client takes longer on a loaded machine) */
  startLimitMs?: number;
}): Promise<RunningExporter> {
  const dir = mkdtempSync(join(tmpdir(), 'nvx-cmd-'));
  const port = opts.port ?? (await freePort());
  const proc = spawn(process.execPath, [cliPath, '-a', `127.0.0.1:${port}`, '--enable-exporter-metrics', ...opts.args], {
    env: { ...process.env, NODE_NAME: 'test-node', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const done = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      // the 8 s safety timer is cleared once the process has exited, so it does not hold the test open
      await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 8000)))]);
      clearTimeout(timer);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
    return { code: proc.exitCode, signal: proc.signalCode };
  };
  try {
    await waitUntil(async () => {
      if (proc.exitCode !== null) throw new Error(`nvml-exporter exited with ${proc.exitCode}: ${err}`);
      try {
        return (await fetch(url + (opts.waitPath ?? '/health'))).ok;
      } catch {
        return false; // not listening yet
      }
    }, `nvml-exporter ${opts.args.join(' ')} to answer ${opts.waitPath ?? '/health'}`, opts.startLimitMs ?? 15000);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    url,
    port,
    proc,
    dir,
    scenarioPath: '',
    stderr: () => err,
    stdout: () => out,
    setScenario: () => {
      throw new Error('startCommand: this exporter has no scenario file of the test');
    },
    stop,
  };
}

/**
 * Polls /metrics until `cond` holds and returns that page, asserting on the way that every scrape
 * was a 200 carrying DCGM_FI_DEV_GPU_UTIL for `gpus` GPUs (a fault elsewhere must never cost a
 * scrape or a GPU's series).
 */
export async function untilServing(t: Test, exp: RunningExporter, gpus: number, cond: (s: Sample[]) => boolean, what: string, limitMs = 15000): Promise<Sample[]> {
  let bad = 0;
  const page = await waitUntil(async () => {
    const r = await scrape(exp.url);
    if (r.status !== 200 || samplesOf(r.samples, 'DCGM_FI_DEV_GPU_UTIL').length !== gpus) bad++;
    return cond(r.samples) ? r.samples : undefined;
  }, what, limitMs, 100);
  t.equal(bad, 0, `every scrape until "${what}" was a 200 with the ${gpus} GPUs' series`);
  return page;
}
