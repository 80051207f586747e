// npm run bench: the exporter as users run it (a child process on simulated GPUs), loaded with
// autocannon at 10 connections. Reports /metrics latency and throughput, server CPU per scrape,
// RSS at rest and after 100,000 scrapes, sweep cost, and the throughput of the same server setup
// answering a static buffer of the same size. Writes the figures into BENCHMARKS.md.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon, { type Result } from 'autocannon';
import { freePort } from '../test/helpers/ports.js';
import { migScenario, demoScenario, processScenario, simulatedLibraryPath, writeScenario } from '../lib/nvml/simulation.js';
import { writeProcTree } from '../lib/kubernetes/sim-proc.js';
import { Nvml } from '../lib/nvml/index.js';
import { startSimKubelet } from '../lib/kubernetes/sim-kubelet.js';
import { startSimApiServer } from '../lib/kubernetes/sim-api-server.js';
import type { Scenario } from '../lib/nvml/scenario.js';
import { updateBenchmarks, repoRoot } from './report.js';

const CONNECTIONS = 10;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const SCRAPES_FOR_RSS = Number(process.env.BENCH_RSS_SCRAPES ?? 100000);
const WARMUP_S = 3;
const ROUNDS = 3;

// The load generator (autocannon, in this process) and the server under test each get a core of
// their own where the machine has two or more, so that neither measurement is decided by how the
// scheduler mixes them. Without taskset (util-linux) they share the cores, and the report says so.
const PIN = ((): { load: string; server: string } | null => {
  if (cpus().length < 2 || process.env.BENCH_NO_PIN === '1') return null;
  try {
    execFileSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
    return { load: '0', server: String(cpus().length - 1) };
  } catch {
    console.error('bench: taskset (util-linux) is not available: the load generator and the server share the cores');
    return null;
  }
})();
const pinned = (cmd: string, args: string[]): [string, string[]] => (PIN ? ['taskset', ['-c', PIN.server, cmd, ...args]] : [cmd, args]);

interface Case {
  name: string;
  scenario: Scenario;
  pods: boolean;
  /** this many pods share the GPUs (time-slicing replicas, one series per pod with --kubernetes-virtual-gpus) */
  sharedPods?: number;
  /** the Kubernetes API features on (pod labels with an allowlist, UID, workload), from a simulated API server */
  api?: boolean;
  /** per-pod usage: the processes' cgroups in a fake /proc, one pod per GPU (--pod-usage) */
  processes?: boolean;
}

/** 20 labels per pod, 10 of which the allowlist `^label-0` keeps, and a Deployment's pod-template-hash. */
function benchPodLabels(i: number): Record<string, string> {
  const l: Record<string, string> = { 'pod-template-hash': '5f7c9d8b6' };
  for (let k = 0; k < 20; k++) l[`label-${String(k).padStart(2, '0')}`] = `value-${k}-${i % 7}`;
  return l;
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

const BIN = join(repoRoot, 'dist/bin/nvml-exporter.js');
// What the command runs with: its #! line, `#!/usr/bin/env -S [NAME=VALUE…] node [flags…]`.
const SHEBANG = readFileSync(BIN, 'utf8').split('\n')[0]!.replace(/^#!\/usr\/bin\/env -S\s*/, '').split(/\s+/).filter(Boolean);
const NODE_AT = SHEBANG.indexOf('node');
const NODE_ENV = Object.fromEntries(SHEBANG.slice(0, Math.max(0, NODE_AT)).map((kv) => kv.split('=', 2) as [string, string]));
const NODE_FLAGS = NODE_AT < 0 ? [] : SHEBANG.slice(NODE_AT + 1);

function startExporter(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  // The file itself, as the image's ENTRYPOINT and npm's bin link run it.
  const [cmd, argv] = pinned(BIN, args);
  return spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}

function startStatic(port: number, size: number): ChildProcess {
  // The same Node flags as the exporter, so that the two differ only in what they serve.
  const [cmd, argv] = pinned(process.execPath, [...NODE_FLAGS, '--import', 'tsx', join(repoRoot, 'bench/static-server.ts'), String(port), String(size)]);
  return spawn(cmd, argv, { env: { ...process.env, ...NODE_ENV }, stdio: ['ignore', 'ignore', 'inherit'] });
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
  const args = ['-a', `127.0.0.1:${port}`, '--nvml-library', simulatedLibraryPath(), '-c', '1000', '--enable-exporter-metrics'];
  // BENCH_EXPORTER_ARGS: extra exporter flags, e.g. `-f /path/old-counters.csv` to compare like with like
  if (process.env.BENCH_EXPORTER_ARGS) args.push(...process.env.BENCH_EXPORTER_ARGS.trim().split(/\s+/));
  let kubelet: Awaited<ReturnType<typeof startSimKubelet>> | null = null;
  let apiServer: Awaited<ReturnType<typeof startSimApiServer>> | null = null;
  let podCount = 0;
  if (c.pods) {
    const sock = join(dir, 'kubelet.sock');
    // The IDs the kubelet hands out are the UUIDs the simulated library gives its GPUs and MIG
    // devices: read them through NVML, as the exporter will.
    process.env.NVML_SIM_SCENARIO = scenarioPath;
    const nvml = await Nvml.open({ library: simulatedLibraryPath() });
    const sweep = await nvml.sweep();
    await nvml.close();
    const uuids = sweep.devices.flatMap((d) => (d.mig.length ? d.mig.map((m) => m.uuid) : [d.uuid]));
    podCount = c.sharedPods ?? uuids.length;
    // shared: pod i holds replica i / GPUs of GPU i % GPUs (time-slicing)
    const idOf = (i: number) => (c.sharedPods ? `${uuids[i % uuids.length]}::${Math.floor(i / uuids.length)}` : uuids[i]!);
    kubelet = await startSimKubelet(sock, {
      pods: Array.from({ length: podCount }, (_, i) => ({
        namespace: 'bench',
        name: `inference-${i}`,
        containers: [{ name: 'server', devices: [{ resource: idOf(i).startsWith('MIG-') ? 'nvidia.com/mig-1g.10gb' : 'nvidia.com/gpu', ids: [idOf(i)] }] }],
      })),
    });
    args.push('-k', '--pod-resources-kubelet-socket', sock);
    if (c.sharedPods) args.push('--kubernetes-virtual-gpus');
    if (c.api) {
      apiServer = await startSimApiServer({
        pods: Array.from({ length: podCount }, (_, i) => ({
          namespace: 'bench', name: `inference-${i}`, nodeName: 'bench-node', labels: benchPodLabels(i),
          owner: { kind: 'ReplicaSet', name: 'inference-5f7c9d8b6' }, containers: [{ name: 'server' }],
        })),
      });
      args.push('--kubernetes-api-kubeconfig', apiServer.writeKubeconfig(join(dir, 'kubeconfig.yaml')), '--kubernetes-enable-pod-labels',
        '--kubernetes-pod-label-allowlist-regex', '^label-0', '--kubernetes-enable-pod-uid', '--kubernetes-enable-workload-label');
    }
  }
  if (c.processes) {
    // each GPU's processes run in the pod that holds it (inference-<gpu index>)
    const proc = join(dir, 'proc');
    const podUid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    writeProcTree(proc, c.scenario.gpus.flatMap((g, i) => (g.processes ?? []).map((p) => ({
      pid: p.pid, layout: 'systemd-v2-containerd' as const, podUid: podUid(i), containerId: String(i % 10).repeat(64),
    }))));
    args.push('--pod-usage', '--host-proc', proc);
  }
  const exp = startExporter(args, { NVML_SIM_SCENARIO: scenarioPath, NODE_NAME: 'bench-node' });
  const url = `http://127.0.0.1:${port}/metrics`;
  await waitHttp(url);
  await new Promise((r) => setTimeout(r, 3000)); // a few sweeps and a pod refresh
  const page = await (await fetch(url)).text();
  const series = page.split('\n').filter((l) => l && !l.startsWith('#')).length;
  if (c.pods) {
    const attributed = new Set([...page.matchAll(c.api ? /label_09="[^"]*",.*pod="(inference-\d+)"/g : /pod="(inference-\d+)"/g)].map((m) => m[1])).size;
    if (attributed !== podCount) {
      exp.kill('SIGKILL');
      kubelet?.stop();
      throw new Error(`bench: ${c.name}: ${attributed} of ${podCount} pods attributed on the page; the case would not measure the pod join`);
    }
  }
  if (c.processes) {
    const rows = [...page.matchAll(/^nvml_exporter_pod_gpu_processes\{[^}]*pod="inference-\d+"[^}]*\} 16$/gm)].length;
    if (rows !== c.scenario.gpus.length) {
      exp.kill('SIGKILL');
      await kubelet?.stop();
      throw new Error(`bench: ${c.name}: ${rows} of ${c.scenario.gpus.length} pods have their 16 processes on the page; the case would not measure per-pod usage`);
    }
  }
  const sport = await freePort();
  const st = startStatic(sport, Buffer.byteLength(page));
  const surl = `http://127.0.0.1:${sport}/metrics`;
  await waitHttp(surl);
  const rest = procStat(exp.pid!);

  // RSS after the first 100,000 scrapes (which also warm up the exporter, and the load generator
  // that runs in this process); the static server gets the same warm-up.
  await load(url, { amount: SCRAPES_FOR_RSS });
  await new Promise((r) => setTimeout(r, 1000));
  const after100k = procStat(exp.pid!).rssMB;
  await load(surl, { duration: WARMUP_S });

  // Throughput: the exporter and the static server in turns, ROUNDS times; the median round of each.
  const mine: Result[] = [];
  const theirs: Result[] = [];
  let cpuS = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const before = procStat(exp.pid!);
    mine.push(await load(url, { duration: DURATION_S }));
    cpuS += procStat(exp.pid!).cpuS - before.cpuS;
    theirs.push(await load(surl, { duration: DURATION_S }));
  }
  const median = (rs: Result[]) => [...rs].sort((x, y) => x.requests.average - y.requests.average)[Math.floor(rs.length / 2)]!;
  const res = median(mine);
  const sres = median(theirs);
  const scrapes = mine.reduce((n, r) => n + r.requests.total, 0);
  const cpuPerScrapeUs = (cpuS / scrapes) * 1e6;
  const p99 = Math.max(...mine.map((r) => r.latency.p99));
  const staticP99 = Math.max(...theirs.map((r) => r.latency.p99));

  // Growth: another 100,000 scrapes once the process is in its steady state.
  const rssBefore = procStat(exp.pid!).rssMB;
  await load(url, { amount: SCRAPES_FOR_RSS });
  await new Promise((r) => setTimeout(r, 1000));
  const rssAfter = procStat(exp.pid!).rssMB;
  const self = await (await fetch(url)).text();
  const sweepS = selfMetric(self, 'nvml_exporter_sweep_duration_seconds');
  const renderS = selfMetric(self, 'nvml_exporter_render_duration_seconds');
  await stop(exp);
  await stop(st);
  await kubelet?.stop();
  await apiServer?.stop();
  rmSync(dir, { recursive: true, force: true });

  const out = {
    case: c.name,
    series: String(series),
    bytes: String(Buffer.byteLength(page)),
    p50_ms: String(res.latency.p50),
    p99_ms: String(p99),
    static_p99_ms: String(staticP99),
    req_s: res.requests.average.toFixed(0),
    static_req_s: sres.requests.average.toFixed(0),
    ratio: (res.requests.average / sres.requests.average).toFixed(2),
    cpu_per_scrape_us: cpuPerScrapeUs.toFixed(0),
    rss_rest_mb: rest.rssMB.toFixed(1),
    rss_after_mb: after100k.toFixed(1),
    rss_max_mb: Math.max(after100k, rssBefore, rssAfter).toFixed(1),
    rss_growth_mb: (rssAfter - rssBefore).toFixed(1),
    sweep_ms: sweepS === null ? 'n/a' : (sweepS * 1000).toFixed(2),
    render_ms: renderS === null ? 'n/a' : (renderS * 1000).toFixed(2),
  };
  console.log(JSON.stringify(out));
  return out;
}

const cases: Case[] = [
  { name: '8 GPUs', scenario: demoScenario(8), pods: false },
  { name: '8 GPUs x 7 MIG', scenario: migScenario(8, 7), pods: false },
  { name: '8 GPUs x 7 MIG, 56 pods', scenario: migScenario(8, 7), pods: true },
  // the Kubernetes API features (BENCH_CASES=4,5): 100 pods time-sliced on 8 GPUs, 20 labels each, 10 allowed
  { name: '8 GPUs, 100 pods, API labels on', scenario: demoScenario(8), pods: true, sharedPods: 100, api: true },
  { name: '8 GPUs, 100 pods, API labels off', scenario: demoScenario(8), pods: true, sharedPods: 100 },
  { name: '8 GPUs x 16 processes, per-pod usage', scenario: processScenario(8, 16), pods: true, processes: true },
];

// BENCH_CASES=3 (or 1,3): only those cases, printed and not written to BENCHMARKS.md.
const only = process.env.BENCH_CASES?.split(',').map((x) => Number(x.trim()));
if (only && !only.every((n) => Number.isInteger(n) && n >= 1 && n <= cases.length)) {
  console.error(`bench: BENCH_CASES must list case numbers 1..${cases.length}, got ${process.env.BENCH_CASES}`);
  process.exit(2);
}
const rows: Record<string, string>[] = [];
for (const [i, c] of cases.entries()) if (!only || only.includes(i + 1)) rows.push(await runCase(c));
if (only) {
  console.log('BENCH_CASES is set: BENCHMARKS.md left as it is');
  process.exit(0);
}

const header =
  '| case | series | bytes | p50 ms | p99 ms | static p99 ms | req/s | static req/s | ratio | CPU µs/scrape | RSS rest MB | RSS after 100k MB | RSS max MB | growth MB | sweep ms | join + render ms |\n' +
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n';
const table = rows
  .map((r) => `| ${r.case} | ${r.series} | ${r.bytes} | ${r.p50_ms} | ${r.p99_ms} | ${r.static_p99_ms} | ${r.req_s} | ${r.static_req_s} | ${r.ratio} | ${r.cpu_per_scrape_us} | ${r.rss_rest_mb} | ${r.rss_after_mb} | ${r.rss_max_mb} | ${r.rss_growth_mb} | ${r.sweep_ms} | ${r.render_ms} |`)
  .join('\n');
updateBenchmarks(
  'Exporter /metrics',
  `Command: \`npm run bench\` (bench/run.ts). Machine: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown'}), Node ${process.version}; ` +
    (PIN ? `the load generator (autocannon, ${CONNECTIONS} connections) on CPU ${PIN.load}, the server under test on CPU ${PIN.server} (taskset).\n` : `the load generator (autocannon, ${CONNECTIONS} connections) and the server share the cores (no taskset).\n`) +
    `The exporter runs as \`dist/bin/nvml-exporter.js\`, with the environment and node flags of its #! line (\`${SHEBANG.join(' ')}\`), collect interval 1 s; ` +
    'the static server is the same Fastify setup with the same environment and flags answering a buffer of the same size.\n' +
    `Per case: RSS at rest; RSS after the first ${SCRAPES_FOR_RSS} scrapes; then ${ROUNDS} rounds of ${DURATION_S} s on the exporter and on the static server in turns ` +
    `(req/s and p50 of the median round, p99 the worst round, for the exporter and for the static server, CPU over all rounds); then growth over another ${SCRAPES_FOR_RSS} scrapes. RSS max is the highest reading. ` +
    'Per interval, on top of serving scrapes, the exporter pays for one sweep (`nvml_exporter_sweep_duration_seconds`: the NVML calls on the sweep thread) and one join with the pod map and render of the page, ' +
    'done by the first scrape after the sweep (`nvml_exporter_render_duration_seconds`); the last of each is shown.\n' +
    'Targets: p99 ≤ 2 ms, throughput ratio to a static buffer of the same size ≥ 0.8, RSS ≤ 80 MB, RSS growth ≤ 2 MB over 100,000 scrapes.\n\n' +
    header +
    table +
    '\n',
);
