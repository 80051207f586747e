// The attack campaign (issue 14): every attack on the exporter, its kubelet client, the cluster
// scaler and the node-local scaler that once broke something, run against the real commands as
// child processes on this machine's loopback only, each with its pass condition. Bounded: every
// attack has a fixed window and every child is killed at its end.
//
//   npm run campaign                      the full campaign (~5 min on 2 cores)
//   npm run campaign -- --short           the CI version (< 60 s: shorter windows, smaller floods)
//   npm run campaign -- --root DIR        attack another build (DIR/dist, DIR/build), e.g. an
//                                         older checkout, for RELIABILITY.md's "before" column
//   npm run campaign -- --only redos,idle run some attacks
//   npm run campaign -- --json FILE       also write the results as JSON
//
// Exit code 0 when every attack passed, 1 otherwise. Figures are printed per attack.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { gpu, gpusDoc, pod, scalerClient } from '../test/integration/scaler-harness.js';
import { startSimKubelet } from '../lib/kubernetes/sim-kubelet.js';
import { probeLiveness } from '../test/helpers/probe.js';
import { writeScenario } from '../lib/nvml/simulation.js';
import type { Scenario } from '../lib/nvml/scenario.js';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const SHORT = args.includes('--short');
const HERE = resolve(fileURLToPath(import.meta.url), '..', '..');
const ROOT = resolve(flag('--root') ?? HERE);
const CLI = join(ROOT, 'dist', 'bin', 'nvml-exporter.js');
const SIM = join(ROOT, 'build', 'Release', 'nvml_sim.so');
const ONLY = flag('--only')?.split(',');
const JSON_OUT = flag('--json');
const W = (shortMs: number, fullMs: number) => (SHORT ? shortMs : fullMs);

if (!existsSync(CLI) || !existsSync(SIM)) {
  process.stderr.write(`campaign: ${CLI} or ${SIM} is missing: build ${ROOT} first (npm ci)\n`);
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'nvx-campaign-'));
const children = new Set<ChildProcess>();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = (pid: number | undefined) => {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  } catch {
    return NaN;
  }
};

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

interface Child { proc: ChildProcess; url: string; port: number; stderr: () => string; exited: Promise<{ code: number | null; signal: string | null }> }

/** Runs the command under attack; waits until `waitPath` answers (unless null). */
async function run(argv: string[], opts: { env?: NodeJS.ProcessEnv; scenario?: Scenario; waitPath?: string | null; nodeArgs?: string[] } = {}): Promise<Child> {
  const port = await freePort();
  const scenario = join(work, `scenario-${port}.txt`);
  writeScenario(scenario, opts.scenario ?? { gpus: [{ values: { gpuUtil: 40 } }, { values: { gpuUtil: 60 } }] });
  const isScaler = argv[0] === 'scaler';
  const full = isScaler ? [...argv, '-a', `127.0.0.1:${port}`] : ['--nvml-library', SIM, '-a', `127.0.0.1:${port}`, ...argv];
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), CLI, ...full], {
    env: { ...process.env, NODE_OPTIONS: '', NVML_SIM_SCENARIO: scenario, NODE_NAME: 'campaign-node', ...opts.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(proc);
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-20000)));
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => proc.once('exit', (code, signal) => { children.delete(proc); r({ code, signal }); }));
  const url = `http://127.0.0.1:${port}`;
  if (opts.waitPath !== null) {
    for (let i = 0; ; i++) {
      if (proc.exitCode !== null) throw new Error(`the command exited ${proc.exitCode}: ${err.slice(-500)}`);
      if (await fetch(url + (opts.waitPath ?? '/health')).then((r) => r.ok, () => false)) break;
      if (i > 300) throw new Error(`no answer on ${url}: ${err.slice(-500)}`);
      await sleep(50);
    }
  }
  return { proc, url, port, stderr: () => err, exited };
}

async function kill(c: Child | undefined): Promise<void> {
  if (!c || c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  c.proc.kill('SIGKILL');
  await c.exited;
}

async function fakeExporter(answer: (res: ServerResponse, req: number) => void) {
  let requests = 0;
  const srv = createHttpServer((req, res) => (req.url === '/api/v1/gpus' ? answer(res, ++requests) : res.writeHead(404).end()));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const address = `127.0.0.1:${(srv.address() as { port: number }).port}`;
  return { address, requests: () => requests, close: () => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }) };
}
const serveDoc = (doc: object) => (res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...doc, timestamp: new Date().toISOString() }));

async function startScaler(exporters: string[], extra: string[] = []) {
  const grpcPort = await freePort();
  const c = await run(['scaler', '--exporters', exporters.join(','), '--grpc-address', `127.0.0.1:${grpcPort}`, '--pull-interval', '200', '--pull-timeout', '2000', '--stale-after', '60000', ...extra]);
  return { ...c, grpcPort, client: scalerClient(`127.0.0.1:${grpcPort}`) };
}

type Figures = Record<string, string | number | boolean>;
interface Attack { id: string; item: string; what: string; pass: string; fullOnly?: boolean; run(): Promise<{ ok: boolean; figures: Figures }> }

const ATTACKS: Attack[] = [
  {
    id: 'redos', item: '1', what: 'catastrophic podNamePattern (^(.|.|.)*!$ and 5 more) over a 10,000-pod document, 18 RPCs at once',
    pass: 'every /health probe and another tenant\'s GetMetrics answer in < 500 ms during the attack',
    async run() {
      const gpus = Array.from({ length: 40 }, (_, g) => gpu(g, { DCGM_FI_DEV_GPU_UTIL: 50 }, Array.from({ length: 250 }, (_, i) => pod('victim', `a${String(g * 250 + i).padStart(18, 'a')}`))));
      gpus.push(gpu(40, { DCGM_FI_DEV_GPU_UTIL: 70 }, [pod('tenant', 'web-5d8-aaaaa')]));
      const ex = await fakeExporter(serveDoc(gpusDoc('node-big', gpus)));
      const s = await startScaler([ex.address]);
      try {
        for (let i = 0; i < 100 && !(await s.client.getMetrics({ name: 'web', namespace: 'tenant', scalerMetadata: {} }).then((v) => v[0]!.metricValueFloat === 70, () => false)); i++) await sleep(100);
        const patterns = ['^(.|.|.)*!$', '^(a+)+$', '(x+x+)+y', '^(([a-z])+.)+[A-Z]([a-z])+$', '^(\\w+\\s?)*!$', '(.*a){20}'];
        let done = 0;
        const attack = Promise.allSettled(patterns.flatMap((p) => [0, 1, 2].map(() => s.client.getMetrics({ name: 'x', namespace: 'victim', scalerMetadata: { podNamePattern: p } }).finally(() => done++))));
        const windowMs = W(4000, 20000);
        const [h, o] = await Promise.all([
          probeLiveness(s.url, ['/health'], windowMs, 50),
          (async () => {
            const until = Date.now() + windowMs;
            let slowest = 0;
            let failed = 0;
            while (Date.now() < until) {
              const t0 = performance.now();
              const ok = await Promise.race([
                s.client.getMetrics({ name: 'web', namespace: 'tenant', scalerMetadata: {} }).then((v) => v[0]!.metricValueFloat === 70, () => false),
                sleep(3000).then(() => false),
              ]);
              slowest = Math.max(slowest, performance.now() - t0);
              if (!ok) failed++;
              await sleep(100);
            }
            return { slowest: Math.round(slowest), failed };
          })(),
        ]);
        void attack;
        return {
          ok: h.failed === 0 && h.slowest < 500 && o.failed === 0 && o.slowest < 500,
          figures: { health_probes: h.n, health_failed: h.failed, health_slowest_ms: h.slowest, tenant_failed: o.failed, tenant_slowest_ms: o.slowest, attack_rpcs_done: `${done}/18`, rss_mib: Math.round(MiB(s.proc.pid)) },
        };
      } finally {
        s.client.close();
        await kill(s);
        await ex.close();
      }
    },
  },
  {
    id: 'idle', item: '2', what: '1,000 silent and 300 slow-loris connections, reconnecting when dropped',
    pass: '/health and /metrics answer every probe in < 1 s',
    async run() {
      const e = await run(['-c', '500']);
      const socks = new Set<Socket>();
      let stopped = false;
      let reconnects = 0;
      const open = (dribble: boolean) => {
        if (stopped) return;
        const s = connect(e.port, '127.0.0.1', () => {
          if (!dribble) return;
          s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
          const iv = setInterval(() => s.write(`X-${Math.random().toString(36).slice(2, 6)}: y\r\n`), 400);
          s.once('close', () => clearInterval(iv));
        });
        socks.add(s);
        s.on('error', () => {});
        s.on('close', () => { socks.delete(s); if (!stopped) { reconnects++; setTimeout(() => open(dribble), 20); } });
      };
      try {
        for (let i = 0; i < 1000; i++) open(false);
        for (let i = 0; i < 300; i++) open(true);
        await sleep(1000);
        const r = await probeLiveness(e.url, ['/health', '/metrics'], W(5000, 30000));
        return { ok: r.failed === 0 && r.slowest < 1000, figures: { probes: r.n, failed: r.failed, slowest_ms: r.slowest, server_closed: reconnects, rss_mib: Math.round(MiB(e.proc.pid)) } };
      } finally {
        stopped = true;
        for (const s of socks) s.destroy();
        await kill(e);
      }
    },
  },
  {
    id: 'pipeline', item: '3', what: '30 connections × 1,900 pipelined GET /metrics never read (× 3 waves), heap capped at 96 MiB',
    pass: 'alive, a scrape answers during the flood, peak RSS < 192 MiB (the chart\'s limit)',
    async run() {
      const e = await run(['-c', '500'], { scenario: { gpus: Array.from({ length: 8 }, (_, i) => ({ values: { gpuUtil: i * 10 } })) }, nodeArgs: ['--max-old-space-size=96'] });
      const socks: Socket[] = [];
      try {
        const before = MiB(e.proc.pid);
        let peak = before;
        const flood = Buffer.from('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(1900));
        for (let wave = 0; wave < W(2, 3); wave++) {
          for (let i = 0; i < 30; i++) {
            const s = connect(e.port, '127.0.0.1', () => s.write(flood));
            s.pause();
            s.on('error', () => {});
            socks.push(s);
          }
          for (let k = 0; k < 10; k++) { await sleep(100); peak = Math.max(peak, MiB(e.proc.pid)); }
        }
        const scrape = await fetch(e.url + '/metrics', { signal: AbortSignal.timeout(3000) }).then((r) => r.status, () => 0);
        const alive = e.proc.exitCode === null && e.proc.signalCode === null;
        return { ok: alive && scrape === 200 && peak < 192, figures: { rss_before_mib: Math.round(before), rss_peak_mib: Math.round(peak), scrape_status: scrape, alive } };
      } finally {
        for (const s of socks) s.destroy();
        await kill(e);
      }
    },
  },
  {
    id: 'webconfig', item: '4', what: '--web-config-file with basic_auth_users; a missing web config file',
    pass: 'no credentials → 401 on /metrics and /health; a missing file → exit 2 before serving',
    async run() {
      const cfg = join(work, 'web.yml');
      writeFileSync(cfg, 'basic_auth_users:\n  prometheus: "$2b$04$K9zHj0wxMlSd8OJJdlkhD.e9Hh8yHV5UcOM7EChgCRS3xhOYQNXvm"\n');
      const e = await run(['--web-config-file', cfg], { waitPath: null });
      try {
        let metrics = 0;
        let health = 0;
        for (let i = 0; i < 200 && metrics === 0; i++) {
          metrics = await fetch(e.url + '/metrics').then((r) => r.status, () => 0);
          if (e.proc.exitCode !== null) break;
          if (metrics === 0) await sleep(50);
        }
        health = await fetch(e.url + '/health').then((r) => r.status, () => 0);
        const missing = spawnSync(process.execPath, [CLI, '--nvml-library', SIM, '-a', '127.0.0.1:0', '--web-config-file', join(work, 'nope.yml')], {
          env: { ...process.env, NODE_OPTIONS: '', NVML_SIM_SCENARIO: join(work, `scenario-${e.port}.txt`) }, timeout: W(4000, 8000), killSignal: 'SIGKILL', encoding: 'utf8',
        });
        return {
          ok: metrics === 401 && health === 401 && missing.status === 2,
          figures: { metrics_without_credentials: metrics, health_without_credentials: health, missing_file_exit: missing.status ?? `killed after ${W(4, 8)} s (still serving)` },
        };
      } finally {
        await kill(e);
      }
    },
  },
  {
    id: 'malformed', item: '5', what: 'one of three exporters serves a malformed document; 9 ScaledObjects',
    pass: 'the 6 ScaledObjects on good nodes get their values, none gets INTERNAL',
    async run() {
      const a = await fakeExporter(serveDoc(gpusDoc('node-a', [0, 1, 2].map((i) => gpu(i, { DCGM_FI_DEV_GPU_UTIL: 10 * (i + 1) }, [pod('ai', `wl${i}-5d8-aaaaa`)])))));
      const c = await fakeExporter(serveDoc(gpusDoc('node-c', [0, 1, 2].map((i) => gpu(i, { DCGM_FI_DEV_GPU_UTIL: 50 + i }, [pod('ai', `wl${6 + i}-5d8-ccccc`)])))));
      const b = await fakeExporter((res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...gpusDoc('node-b', []), gpus: [{ gpu: 'zero', pods: 'many' }] })));
      const s = await startScaler([a.address, b.address, c.address]);
      try {
        await sleep(1000);
        const got = await Promise.all(Array.from({ length: 9 }, (_, i) => s.client.getMetrics({ name: `wl${i}`, namespace: 'ai', scalerMetadata: { deployment: `wl${i}` } })
          .then((v) => v[0]!.metricValueFloat, (e: grpc.ServiceError) => grpc.status[e.code] ?? String(e.code))));
        const want = [10, 20, 30, 0, 0, 0, 50, 51, 52];
        return { ok: got.every((v, i) => v === want[i]), figures: { answers: got.join(' '), internal: got.filter((v) => v === 'INTERNAL').length } };
      } finally {
        s.client.close();
        await kill(s);
        await Promise.all([a.close(), b.close(), c.close()]);
      }
    },
  },
  {
    id: 'scaler-memory', item: '6', what: 'distinct 4 MB requests; a 39 MB document; a 500 MB body with a 60 s pull timeout; silent gRPC connections',
    pass: 'alive, peak RSS < 256 MiB (the chart\'s limit), bodies cut at the 4 MiB cap, silent connections closed within 15 s',
    async run() {
      let maxBody = 0;
      const huge = await fakeExporter((res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        let sent = 0;
        let closed = false;
        res.on('close', () => (closed = true));
        const pump = () => {
          while (sent < 500 * 1024 * 1024 && !closed) {
            sent += chunk.length;
            maxBody = Math.max(maxBody, sent);
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      });
      // 39 MB: 64 GPUs × 256 pods with long names (over the cap: refused while it streams in)
      const fat = Array.from({ length: 64 }, (_, g) => gpu(g, { DCGM_FI_DEV_GPU_UTIL: 1 }, Array.from({ length: 256 }, (_, i) => pod('ns', `p${g}-${i}-${'x'.repeat(2300)}`))));
      const big = await fakeExporter(serveDoc(gpusDoc('node-big', fat)));
      const ok = await fakeExporter(serveDoc(gpusDoc('node-a', [gpu(0, { DCGM_FI_DEV_GPU_UTIL: 5 }, [pod('ai', 'web-1')])])));
      const s = await startScaler([ok.address, huge.address, big.address], ['--pull-interval', '1000', '--pull-timeout', '60000']);
      let peak = 0;
      const sample = () => (peak = Math.max(peak, MiB(s.proc.pid)));
      const timer = setInterval(sample, 100);
      try {
        await sleep(1500);
        const before = MiB(s.proc.pid);
        let refused = 0;
        const n = W(20, 100);
        for (let i = 0; i < n; i++) {
          await s.client.isActive({ name: `x${i}`, namespace: 'ai', scalerMetadata: { podNamePattern: `${i}-${'a'.repeat(4 * 1024 * 1024)}` } }).catch(() => refused++);
        }
        const afterRequests = MiB(s.proc.pid);
        // silent connections, opened 500 at a time (a burst past the listen backlog only measures SYN retries)
        const silent: Socket[] = [];
        let connected = 0;
        let closedByServer = 0;
        let stopping = false;
        const nConn = W(1000, 5000);
        for (let i = 0; i < nConn; i++) {
          const so = connect(s.grpcPort, '127.0.0.1');
          let up = false;
          so.on('connect', () => { up = true; connected++; });
          so.on('error', () => {});
          so.on('close', () => { if (up && !stopping) closedByServer++; });
          so.resume();
          silent.push(so);
          if (i % 500 === 499) await sleep(100);
        }
        const t0 = Date.now();
        while ((closedByServer < connected || connected === 0) && Date.now() - t0 < 15000) await sleep(200);
        const closedIn = Date.now() - t0;
        const closed = closedByServer;
        stopping = true;
        for (const so of silent) so.destroy();
        const alive = s.proc.exitCode === null && s.proc.signalCode === null;
        const good = await s.client.isActive({ name: 'web', namespace: 'ai', scalerMetadata: {} }).catch(() => null);
        sample();
        return {
          ok: alive && peak < 256 && maxBody < 16 * 1024 * 1024 && connected > 0 && closed === connected && good === true,
          figures: {
            big_doc_mib: (JSON.stringify(gpusDoc('node-big', fat)).length / 1048576).toFixed(0), refused_4mb_requests: `${refused}/${n}`,
            rss_start_mib: Math.round(before), rss_after_requests_mib: Math.round(afterRequests), rss_peak_mib: Math.round(peak),
            largest_body_sent_mib: (maxBody / 1048576).toFixed(1), silent_closed_by_server: `${closed}/${connected} connected (of ${nConn}) within ${closedIn} ms of the last connect`, alive,
          },
        };
      } finally {
        clearInterval(timer);
        s.client.close();
        await kill(s);
        await Promise.all([huge.close(), big.close(), ok.close()]);
      }
    },
  },
  {
    id: 'identity', item: '7', what: 'an exporter answers 302 to another; a second endpoint claims an existing node with idle GPUs',
    pass: 'the redirect target is never asked; GetMetrics stays 90 (the first claim), the conflict is a self-metric',
    async run() {
      const real = await fakeExporter(serveDoc(gpusDoc('node-a', [gpu(0, { DCGM_FI_DEV_GPU_UTIL: 90 }, [pod('ai', 'web-1')])])));
      const target = await fakeExporter(serveDoc(gpusDoc('node-x', [])));
      const redirect = await fakeExporter((res) => res.writeHead(302, { location: `http://${target.address}/api/v1/gpus` }).end());
      const shadow = await fakeExporter(serveDoc(gpusDoc('node-a', [gpu(0, { DCGM_FI_DEV_GPU_UTIL: 0 }, [pod('ai', 'web-1')])])));
      const s = await startScaler([real.address, redirect.address]);
      let s2: Awaited<ReturnType<typeof startScaler>> | undefined;
      try {
        await sleep(1000);
        // the shadow joins later: a second scaler sees the real one first, then both
        s2 = await startScaler([real.address, shadow.address]);
        await sleep(1000);
        const values: number[] = [];
        for (let i = 0; i < 5; i++) {
          values.push(await s2.client.getMetrics({ name: 'web', namespace: 'ai', scalerMetadata: {} }).then((v) => v[0]!.metricValueFloat, () => -1));
          await sleep(100);
        }
        const page = await fetch(s2.url + '/metrics').then((r) => r.text(), () => '');
        const conflict = /nvml_scaler_hostname_conflict\{hostname="node-a"/.test(page);
        return {
          ok: target.requests() === 0 && conflict && values.every((v) => v === values[0]),
          figures: { redirect_target_requests: target.requests(), getmetrics: values.join(' '), conflict_metric: conflict },
        };
      } finally {
        s.client.close();
        s2?.client.close();
        await kill(s);
        await kill(s2);
        await Promise.all([real.close(), target.close(), redirect.close(), shadow.close()]);
      }
    },
  },
  {
    id: 'kubelet', item: '8', what: 'the kubelet answers List with 15 MB of empty repeated entries, every 300 ms',
    pass: 'alive, every scrape 200 with the last good pod labels in < 1 s, RSS grows < 100 MiB',
    async run() {
      const uuid = 'GPU-a0000000-1111-4222-8333-444444444444';
      const dir = mkdtempSync(join(work, 'k-'));
      const socket = join(dir, 'kubelet.sock');
      const sim = await startSimKubelet(socket, { pods: [{ namespace: 'ml', name: 'trainer-0', containers: [{ name: 'main', devices: [{ resource: 'nvidia.com/gpu', ids: [uuid] }] }] }] });
      const e = await run(['-c', '200', '-k', '--pod-resources-kubelet-socket', socket, '--pod-resources-refresh-interval', '300'], { scenario: { gpus: [{ uuid, values: { gpuUtil: 30 } }] }, nodeArgs: ['--max-old-space-size=128'] });
      try {
        for (let i = 0; i < 100 && !(await fetch(e.url + '/metrics').then((r) => r.text(), () => '')).includes('pod="trainer-0"'); i++) await sleep(100);
        const before = MiB(e.proc.pid);
        sim.setScenario({ pods: [], list: { raw: Buffer.alloc(15 * 1024 * 1024, Buffer.from([0x0a, 0x00])) } });
        let peak = before;
        let bad = 0;
        let slowest = 0;
        const until = Date.now() + W(4000, 20000);
        while (Date.now() < until) {
          const t0 = performance.now();
          const text = await fetch(e.url + '/metrics', { signal: AbortSignal.timeout(3000) }).then((r) => (r.ok ? r.text() : ''), () => '');
          slowest = Math.max(slowest, performance.now() - t0);
          if (!text.includes('pod="trainer-0"')) bad++;
          peak = Math.max(peak, MiB(e.proc.pid));
          await sleep(200);
        }
        const alive = e.proc.exitCode === null && e.proc.signalCode === null;
        return { ok: alive && bad === 0 && slowest < 1000 && peak - before < 100, figures: { alive, bad_scrapes: bad, slowest_ms: Math.round(slowest), rss_before_mib: Math.round(before), rss_peak_mib: Math.round(peak) } };
      } finally {
        await kill(e);
        await sim.stop();
      }
    },
  },
  ...smallOnes(),
];

/** Item 9: each a command that must end (or serve) within a bound. */
function smallOnes(): Attack[] {
  const exitsWith = (id: string, what: string, argv: () => string[], code: number, pattern: RegExp, limitMs = 5000): Attack => ({
    id, item: '9', what, pass: `exit ${code} within ${limitMs / 1000} s, naming the problem`,
    async run() {
      const t0 = Date.now();
      const r = spawnSync(process.execPath, [CLI, '--nvml-library', SIM, '--once', ...argv()], {
        encoding: 'utf8', timeout: limitMs + 1000, killSignal: 'SIGKILL', env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=256', NVML_SIM_SCENARIO: scenarioFile() },
      });
      const ms = Date.now() - t0;
      const last = (r.stderr ?? '').trim().split('\n').pop() ?? '';
      return { ok: r.status === code && ms <= limitMs && pattern.test(r.stderr ?? ''), figures: { exit: r.status ?? `killed (${r.signal})`, ms, message: last.slice(0, 160) } };
    },
  });
  const scenarioFile = () => {
    const p = join(work, 'small-scenario.txt');
    if (!existsSync(p)) writeScenario(p, { gpus: [{ values: { gpuUtil: 7 } }] });
    return p;
  };
  const file = (name: string, make: (p: string) => void) => () => {
    const p = join(work, name);
    if (!existsSync(p)) make(p);
    return ['-f', p];
  };
  return [
    exitsWith('devices', '-d g:9007199254740992', () => ['-d', 'g:9007199254740992'], 2, /out of range/),
    exitsWith('fifo', 'counters file is a FIFO', file('c.fifo', (p) => spawnSync('mkfifo', [p])), 2, /FIFO/),
    exitsWith('dev-zero', 'counters file is /dev/zero', () => ['-f', '/dev/zero'], 2, /not a regular file/),
    exitsWith('huge-help', 'a 20 MB HELP text', file('huge.csv', (p) => writeFileSync(p, `DCGM_FI_DEV_GPU_UTIL, gauge, ${'x'.repeat(20 * 1024 * 1024)}\n`)), 2, /more than the 1048576 accepted/),
    exitsWith('empty-counters', 'an empty counters file', file('empty.csv', (p) => writeFileSync(p, '')), 2, /selects no numeric field/),
    {
      id: 'hung-kubelet', item: '9', what: 'the kubelet never answers at start', pass: '/health answers within 3 s of the start',
      async run() {
        const dir = mkdtempSync(join(work, 'h-'));
        const socket = join(dir, 'kubelet.sock');
        const sim = await startSimKubelet(socket, { pods: [], list: { delayMs: Infinity }, getAllocatableResources: { delayMs: Infinity } });
        const t0 = Date.now();
        let e: Child | undefined;
        try {
          e = await run(['-k', '--pod-resources-kubelet-socket', socket]);
          const ms = Date.now() - t0;
          return { ok: ms < 3000, figures: { listening_after_ms: ms } };
        } finally {
          await kill(e);
          await sim.stop();
        }
      },
    },
    {
      id: 'threads', item: '9', what: 'the XID event thread cannot be created (pthread_create EAGAIN)', pass: 'no abort: metrics served, an error logged',
      async run(): Promise<{ ok: boolean; figures: Figures }> {
        const so = join(work, 'fail-threads.so');
        const cc = spawnSync('gcc', ['-shared', '-fPIC', '-O1', '-o', so, join(HERE, 'test/fixtures/native/fail-threads.c'), '-ldl']);
        if (cc.status !== 0) return { ok: false, figures: { error: 'gcc cannot build the shim' } };
        let e: Child | undefined;
        try {
          e = await run(['-c', '200'], { env: { LD_PRELOAD: so, NVX_FAIL_THREADS_AFTER: '1' } });
          const text = await fetch(e.url + '/metrics').then((r) => r.text(), () => '');
          const served = /DCGM_FI_DEV_GPU_UTIL\{/.test(text);
          return { ok: served && /XID events are off/.test(e.stderr()), figures: { served, logged: /XID events are off/.test(e.stderr()) } };
        } catch (err) {
          return { ok: false, figures: { error: (err as Error).message.slice(0, 160) } };
        } finally {
          await kill(e);
        }
      },
    },
    {
      id: 'sim-tmpdir', item: '9', what: 'a killed --simulate run left its temporary folder', pass: 'the next --simulate start removes it',
      async run() {
        const tmp = mkdtempSync(join(work, 't-'));
        const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
        const stale = join(tmp, `nvml-exporter-sim-${dead}-zzz`);
        mkdirSync(stale);
        spawnSync(process.execPath, [CLI, '--simulate', '1', '--once'], { env: { ...process.env, NODE_OPTIONS: '', TMPDIR: tmp }, timeout: 15000, killSignal: 'SIGKILL' });
        return { ok: !existsSync(stale), figures: { stale_folder_left: existsSync(stale) } };
      },
    },
    {
      id: 'sigterm-init', item: '9', what: 'SIGTERM while nvmlInit hangs (60 s)', pass: 'the process ends within 12 s of SIGTERM', fullOnly: true,
      async run() {
        const e = await run([], { scenario: { gpus: [{ values: { gpuUtil: 1 } }], delays: { nvmlInit_v2: 60000 } }, waitPath: null });
        for (let i = 0; i < 100 && !/opening NVML/.test(e.stderr()); i++) await sleep(50);
        await sleep(300);
        const t0 = Date.now();
        e.proc.kill('SIGTERM');
        const r = await Promise.race([e.exited, sleep(15000).then(() => null)]);
        const ms = Date.now() - t0;
        await kill(e);
        return { ok: r !== null && ms < 12000, figures: { ended_after_ms: r ? ms : '> 15000', how: r ? (r.signal ?? `exit ${r.code}`) : 'still running' } };
      },
    },
  ];
}

async function main(): Promise<number> {
  const selected = ATTACKS.filter((a) => (!ONLY || ONLY.includes(a.id)) && !(SHORT && a.fullOnly));
  process.stdout.write(`campaign against ${ROOT}${SHORT ? ' (short)' : ''}: ${selected.length} attacks, loopback only\n`);
  const results: { id: string; item: string; what: string; pass: string; ok: boolean; ms: number; figures: Figures }[] = [];
  for (const a of selected) {
    const t0 = Date.now();
    let r: { ok: boolean; figures: Figures };
    try {
      r = await Promise.race([a.run(), sleep(120_000).then(() => ({ ok: false, figures: { error: 'the attack did not end within 120 s' } }))]);
    } catch (err) {
      r = { ok: false, figures: { error: (err as Error).message.slice(0, 200) } };
    }
    const ms = Date.now() - t0;
    results.push({ id: a.id, item: a.item, what: a.what, pass: a.pass, ok: r.ok, ms, figures: r.figures });
    const figs = Object.entries(r.figures).map(([k, v]) => `${k}=${v}`).join(' ');
    process.stdout.write(`${r.ok ? 'PASS' : 'FAIL'} ${a.id.padEnd(15)} item ${a.item.padEnd(2)} ${(ms / 1000).toFixed(1).padStart(5)} s  ${figs}\n`);
  }
  const failed = results.filter((r) => !r.ok).length;
  process.stdout.write(`campaign: ${results.length - failed} passed, ${failed} failed\n`);
  if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ root: ROOT, short: SHORT, at: new Date().toISOString(), results }, null, 2));
  return failed === 0 ? 0 : 1;
}

const cleanup = () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
};
main().then(
  (code) => { cleanup(); process.exit(code); },
  (err) => { cleanup(); process.stderr.write(`campaign: ${(err as Error).stack}\n`); process.exit(1); },
);
