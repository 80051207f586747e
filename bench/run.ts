// npm run bench: the exporter as users run it (a child process on simulated GPUs), loaded with
// autocannon at 10 connections. Reports /metrics latency and throughput, server CPU per scrape,
// RSS at rest and after 100,000 scrapes, sweep cost, and the throughput of the same server setup
// answering a static buffer of the same size. Writes the figures into BENCHMARKS.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { freePort } from '../test/helpers/ports.js';
import { migScenario, demoScenario, simulatedLibraryPath, writeScenario } from '../lib/nvml/simulation.js';
import { startSimKubelet } from '../lib/kubernetes/sim-kubelet.js';
import type { Scenario } from '../lib/nvml/scenario.js';
import { updateBenchmarks, repoRoot } from './report.js';

const CONNECTIONS = 10;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const SCRAPES_FOR_RSS = Number(process.env.BENCH_RSS_SCRAPES ?? 100000);

interface Case {
  name: string;
  scenario: Scenario;
  pods: boolean;
}

function procStat(pid: number): { cpuS: number; rssMB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuS: ticks / 100, rssMB: rssKB / 1024 };
}

async function waitHttp(url: string, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startExporter(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const p = spawn(process.execPath, [join(repoRoot, 'dist/bin/nvml-exporter.js'), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return p;
}

function startStatic(port: number, size: number): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'bench/static-server.ts'), String(port), String(size)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function load(url: string, opts: { duration?: number; amount?: number }) {
  const o: { url: string; connections: number; pipelining: number; duration?: number; amount?: number } = { url, connections: CONNECTIONS, pipelining: 1 };
  if (opts.duration !== undefined) o.duration = opts.duration;
  if (opts.amount !== undefined) o.amount = opts.amount;
  return autocannon(o);
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  const done = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await done;
}

function selfMetric(text: string, name: string): number | null {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

async function runCase(c: Case): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), 'nvx-bench-'));
  const scenarioPath = join(dir, 'scenario.txt');
  writeScenario(scenarioPath, c.scenario);
  const port = await freePort();
  const args = ['-a', `127.0.0.1:${port}`, '--nvml-library', simulatedLibraryPath(), '-c', '1000'];
  let kubelet: Awaited<ReturnType<typeof startSimKubelet>> | null = null;
  if (c.pods) {
    const sock = join(dir, 'kubelet.sock');
    const uuids: string[] = [];
    c.scenario.gpus.forEach((g, i) => {
      if (g.mig?.length) g.mig.forEach((m, j) => uuids.push(m.uuid ?? `MIG-${i}-${j}`));
      else uuids.push(g.uuid ?? '');
    });
    kubelet = await startSimKubelet(sock, {
      pods: uuids.map((u, i) => ({
        namespace: 'bench',
        name: `inference-${i}`,
        containers: [{ name: 'server', devices: [{ resource: u.startsWith('MIG-') ? 'nvidia.com/mig-1g.10gb' : 'nvidia.com/gpu', ids: [u] }] }],
      })),
    });
    args.push('-k', '--pod-resources-kubelet-socket', sock);
  }
  const exp = startExporter(args, { NVML_SIM_SCENARIO: scenarioPath });
  const url = `http://127.0.0.1:${port}/metrics`;
  await waitHttp(url);
  await new Promise((r) => setTimeout(r, 3000)); // a few sweeps and a pod refresh
  const page = await (await fetch(url)).text();
  const series = page.split('\n').filter((l) => l && !l.startsWith('#')).length;
  const rest = procStat(exp.pid!);

  const before = procStat(exp.pid!);
  const res = await load(url, { duration: DURATION_S });
  const after = procStat(exp.pid!);
  const cpuPerScrapeUs = ((after.cpuS - before.cpuS) / res.requests.total) * 1e6;

  const rssBefore = procStat(exp.pid!).rssMB;
  await load(url, { amount: SCRAPES_FOR_RSS });
  await new Promise((r) => setTimeout(r, 1000));
  const rssAfter = procStat(exp.pid!).rssMB;
  const self = await (await fetch(url)).text();
  const sweepS = selfMetric(self, 'nvml_exporter_sweep_duration_seconds') ?? selfMetric(self, 'nvml_exporter_last_sweep_duration_seconds');
  await stop(exp);
  await kubelet?.stop();

  const sport = await freePort();
  const st = startStatic(sport, Buffer.byteLength(page));
  await waitHttp(`http://127.0.0.1:${sport}/metrics`);
  const sres = await load(`http://127.0.0.1:${sport}/metrics`, { duration: DURATION_S });
  await stop(st);
  rmSync(dir, { recursive: true, force: true });

  const out = {
    case: c.name,
    series: String(series),
    bytes: String(Buffer.byteLength(page)),
    p50_ms: String(res.latency.p50),
    p99_ms: String(res.latency.p99),
    req_s: res.requests.average.toFixed(0),
    static_req_s: sres.requests.average.toFixed(0),
    ratio: (res.requests.average / sres.requests.average).toFixed(2),
    cpu_per_scrape_us: cpuPerScrapeUs.toFixed(0),
    rss_rest_mb: rest.rssMB.toFixed(1),
    rss_after_mb: rssAfter.toFixed(1),
    rss_growth_mb: (rssAfter - rssBefore).toFixed(1),
    sweep_ms: sweepS === null ? 'n/a' : (sweepS * 1000).toFixed(2),
  };
  console.log(JSON.stringify(out));
  return out;
}

const cases: Case[] = [
  { name: '8 GPUs', scenario: demoScenario(8), pods: false },
  { name: '8 GPUs x 7 MIG', scenario: migScenario(8, 7), pods: false },
  { name: '8 GPUs x 7 MIG, 56 pods', scenario: migScenario(8, 7), pods: true },
];

const rows: Record<string, string>[] = [];
for (const c of cases) rows.push(await runCase(c));

const header =
  '| case | series | bytes | p50 ms | p99 ms | req/s | static req/s | ratio | CPU µs/scrape | RSS rest MB | RSS after 100k MB | growth MB | sweep ms |\n' +
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|\n';
const table = rows
  .map((r) => `| ${r.case} | ${r.series} | ${r.bytes} | ${r.p50_ms} | ${r.p99_ms} | ${r.req_s} | ${r.static_req_s} | ${r.ratio} | ${r.cpu_per_scrape_us} | ${r.rss_rest_mb} | ${r.rss_after_mb} | ${r.rss_growth_mb} | ${r.sweep_ms} |`)
  .join('\n');
updateBenchmarks(
  'Exporter /metrics',
  `Command: \`npm run bench\` (autocannon, ${CONNECTIONS} connections, ${DURATION_S} s per run; RSS after ${SCRAPES_FOR_RSS} scrapes). ` +
    `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}; load generator and exporter share the cores.\n` +
    'Targets: p99 ≤ 2 ms, throughput ratio to a static buffer of the same size ≥ 0.8, RSS ≤ 80 MB, RSS growth ≤ 2 MB over 100,000 scrapes.\n\n' +
    header +
    table +
    '\n',
);
