// The scaler child of bench/scaler.ts: the compiled scaler (dist/), started as the command starts
// it (its flags parsed by the command's parser, its modules loaded without a TypeScript loader,
// run by bench/scaler.ts with the #! line's environment and node flags), with an in-memory pod view
// in place of the Kubernetes API informer. Plain JavaScript, so that nothing but the product is in
// the process's memory.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { parseScalerArgs } from '../dist/lib/config/scaler.js';
import { startScaler } from '../dist/lib/app/scaler.js';
import { lookupField } from '../dist/lib/fields/index.js';
import { silentLogger } from '../dist/lib/logger.js';

const PROFILE_DIR = process.env.BENCH_SCALER_PROFILE ?? '';

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
    isKnownField: (f) => lookupField(f)?.kind === 'value',
    podMetadata: pods ? new PodList(pods) : undefined,
    // BENCH_SCALER_PULLS=in-process: the pulls on the main thread, for comparison (the command runs them in its worker)
    pulls: process.env.BENCH_SCALER_PULLS === 'in-process' ? 'in-process' : 'worker',
  });
  const httpPort = s.http.server.address().port;
  // how long callbacks wait for the main thread's event loop (what a request waits before its handler runs)
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  process.on('message', (m) => {
    if (m.kind === 'own-reset') {
      loop.reset();
      process.send({ kind: 'own-reset' });
    } else if (m.kind === 'own') {
      // the scaler's own time per GetMetrics (its self-metric) and the event loop's delay since the reset
      void fetch(`http://127.0.0.1:${httpPort}/metrics`).then((r) => r.text()).then((text) => {
        const buckets = [];
        for (const [, labels, count] of text.matchAll(/^nvml_scaler_rpc_duration_seconds_bucket\{([^}]*)\} (\d+)$/gm)) {
          if (!labels.includes('method="GetMetrics"')) continue;
          const le = /le="([^"]+)"/.exec(labels)[1];
          buckets.push([le === '+Inf' ? Infinity : Number(le), Number(count)]);
        }
        process.send({ kind: 'own', buckets, loopP50: loop.percentile(50) / 1e6, loopP99: loop.percentile(99) / 1e6, loopMax: loop.max / 1e6 });
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

// a child ends with its parent
process.on('disconnect', () => process.exit(0));
const n = Number(process.argv[2]);
process.once('message', (m) => void run(n, m));
process.send({ kind: 'hello' });
