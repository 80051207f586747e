// The scaler child of bench/scaler.ts: the compiled scaler (dist/), started as the command starts
// it (its flags parsed by the command's parser, its modules loaded without a TypeScript loader,
// run by bench/scaler.ts with the #! line's environment and node flags), with an in-memory pod view
// in place of the Kubernetes API informer. Plain JavaScript, so that nothing but the product is in
// the process's memory.
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { setInterval } from 'node:timers';
import { readFileSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';
import { parseScalerArgs } from '../dist/lib/config/scaler.js';
import { startScaler } from '../dist/lib/app/scaler.js';
import { createScalerServer } from '../dist/lib/scaler/grpc-server.js';
import { lookupField } from '../dist/lib/fields/index.js';
import { silentLogger } from '../dist/lib/logger.js';

const PROFILE_DIR = process.env.BENCH_SCALER_PROFILE ?? '';
/** DCGM field names resolved as the command resolves them: a served value field keys the documents by its name */
const fieldName = (f) => (lookupField(f)?.kind === 'value' ? f : undefined);

/** The pods of the layout, as the informer would list them. */
class PodList {
  constructor(pods) {
    this.byUidMap = new Map();
    for (const [namespace, name, nodeName] of pods) {
      const uid = `uid-${namespace}-${name}`;
      this.byUidMap.set(uid, {
        uid, namespace, name, nodeName, labels: {}, containers: [{ name: 'main' }], phase: 'Running',
        workload: { kind: 'Deployment', name: name.replace(/-[^-]+-[^-]+$/, '') },
      });
    }
    this.generation = 1;
    this.syncedAt = Date.now();
  }
  byUid(uid) { return this.byUidMap.get(uid); }
  byName(namespace, name) {
    for (const p of this.byUidMap.values()) if (p.namespace === namespace && p.name === name) return p;
    return undefined;
  }
  all() { return this.byUidMap.values(); }
}

async function run(n, { addresses, pods, pullTimeoutMs }) {
  const { config } = parseScalerArgs([
    '--exporters', addresses.join(','), '--grpc-address', '127.0.0.1:0', '--address', '127.0.0.1:0', '--pull-timeout', String(pullTimeoutMs),
  ], {});
  const s = await startScaler(config, {
    logger: silentLogger,
    fieldName,
    podMetadata: pods ? new PodList(pods) : undefined,
    // BENCH_SCALER_PULLS=in-process: the pulls on the main thread, for comparison (the command runs them in its worker)
    pulls: process.env.BENCH_SCALER_PULLS === 'in-process' ? 'in-process' : 'worker',
  });
  const httpPort = s.http.server.address().port;
  // how long callbacks wait for the main thread's event loop (what a request waits before its handler runs)
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  if (process.env.BENCH_SCALER_STALLS) traceStalls(Number(process.env.BENCH_SCALER_STALLS));
  process.on('message', (m) => {
    if (m.kind === 'own-reset') {
      loop.reset();
      process.send({ kind: 'own-reset' });
    } else if (m.kind === 'own') {
      // the scaler's own time per GetMetrics (its self-metric) and the event loop's delay since the reset
      // the event loop's figures as they are before this scrape, which then does not count in the next ones
      const loopNow = { loopP50: loop.percentile(50) / 1e6, loopP99: loop.percentile(99) / 1e6, loopMax: loop.max / 1e6 };
      void fetch(`http://127.0.0.1:${httpPort}/metrics`).then((r) => r.text()).then((text) => {
        const buckets = [];
        for (const [, labels, count] of text.matchAll(/^nvml_scaler_rpc_duration_seconds_bucket\{([^}]*)\} (\d+)$/gm)) {
          if (!labels.includes('method="GetMetrics"')) continue;
          const le = /le="([^"]+)"/.exec(labels)[1];
          buckets.push([le === '+Inf' ? Infinity : Number(le), Number(count)]);
        }
        loop.reset();
        process.send({ kind: 'own', buckets, ...loopNow });
      });
    } else if (m.kind === 'exit') {
      process.exit(0); // writes the CPU profile when one is being taken
    } else if (m.kind === 'heap') {
      if (PROFILE_DIR) writeHeapSnapshot(`${PROFILE_DIR}/scaler-${n}.heapsnapshot`);
      process.send({ kind: 'heap' });
    } else if (m.kind === 'status') {
      const all = s.view.exporters();
      process.send({ kind: 'status', known: all.filter((e) => e.doc).length, idle: all.filter((e) => e.idle).length, fresh: all.filter((e) => e.fresh).length });
    }
  });
  process.send({ kind: 'ready', grpcPort: s.grpcPort });
}

/**
 * BENCH_SCALER_STALLS=<ms>: writes to stderr each gap of the main thread's event loop longer than
 * <ms> and each GC pause longer than <ms>/4, with the time since the start, to find what stalls it.
 */
function traceStalls(minMs) {
  const at = () => new Date().toISOString().slice(11, 23);
  // the main thread's CPU time and time waiting for a CPU on the run queue (ns), and the process's CPU time (µs)
  const sched = () => readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ').map(Number);
  let last = performance.now();
  let lastSched = sched();
  let lastCpu = process.cpuUsage();
  setInterval(() => {
    const now = performance.now();
    const st = sched();
    const cpu = process.cpuUsage();
    if (now - last - 5 > minMs) {
      const procMs = (cpu.user + cpu.system - lastCpu.user - lastCpu.system) / 1000;
      process.stderr.write(`[scaler] ${at()} main thread stalled ${(now - last - 5).toFixed(0)} ms: main thread ran ${((st[0] - lastSched[0]) / 1e6).toFixed(0)} ms, waited for a CPU ${((st[1] - lastSched[1]) / 1e6).toFixed(0)} ms; the process (both threads, GC helpers) used ${procMs.toFixed(0)} ms of CPU\n`);
    }
    last = now;
    lastSched = st;
    lastCpu = cpu;
  }, 5).unref();
  const kinds = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb', 16: 'all' };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.duration >= minMs / 4) process.stderr.write(`[scaler] ${at()} gc ${kinds[e.detail?.kind] ?? e.detail?.kind} ${e.duration.toFixed(0)} ms\n`);
    }
  }).observe({ entryTypes: ['gc'] });
}

/**
 * `control`: the scaler's gRPC server over a constant source (the layout's documents of the
 * workloads' nodes, never changing), with no view, no pulls and no worker. The bench times the
 * same GetMetrics calls against it, alternating with the scaler's: what a Node gRPC server of ours
 * answers in this harness on this machine, under the same load, when nothing scales with the cluster.
 */
async function control({ docs }) {
  const server = createScalerServer({
    source: { documents: () => docs, onChange: () => () => {}, version: () => [docs] },
    logger: silentLogger,
    fieldName,
  });
  const grpcPort = await server.listen({ kind: 'tcp', host: '127.0.0.1', port: 0, text: '127.0.0.1:0' });
  process.on('message', (m) => {
    if (m.kind === 'exit') process.exit(0);
  });
  process.send({ kind: 'ready', grpcPort });
}

// a child ends with its parent
process.on('disconnect', () => process.exit(0));
if (process.argv[2] === 'control') {
  process.once('message', (m) => void control(m));
} else {
  const n = Number(process.argv[2]);
  process.once('message', (m) => void run(n, m));
}
process.send({ kind: 'hello' });
