// The scaler's pull worker: a worker thread that runs the cluster view (every exporter's pull:
// HTTP(S), the capped body read, JSON parse, schema validation, the scheduler, DNS re-resolution)
// so that none of it waits in line with the gRPC answers on the main thread. It sends the main
// thread batches of what changed (each exporter's state, its document only when it is a new one,
// the nodes whose answers may have changed, the pulls for the self-metrics), at most every
// batchMs; the demand (which nodes, with which scope) comes from the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { ClusterView, type PullDemand, type PullEvent, type PullSecurity } from './cluster-view.js';
import type { GpusScope } from '../contract/gpus-scope.js';
import { validateGpusDocument, type GpusDocument } from '../contract/gpus-document.js';
import type { Logger } from '../logger.js';
import type { EntryUpdate, FromWorker, PullRecord, PullWorkerInit, ToWorker } from './pull-protocol.js';

const port = parentPort!;
const init = workerData as PullWorkerInit;
const send = (m: FromWorker) => port.postMessage(m);

/** The demand as the main thread last sent it. */
class PostedDemand implements PullDemand {
  version = 0;
  private scopes = new Map<string, GpusScope>();
  set(version: number, scopes: Map<string, GpusScope>): void {
    this.version = version;
    this.scopes = scopes;
  }
  scopeFor(node: string): GpusScope | null {
    return this.scopes.get(node) ?? null;
  }
  neededNodes(): Iterable<string> {
    return this.scopes.keys();
  }
}

const plain = (fields?: Record<string, unknown>) => {
  if (!fields) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = v instanceof Error ? v.message : v;
  return out;
};
const logger: Logger = {
  debug: (msg, fields) => {
    if (init.debug) send({ t: 'log', level: 'debug', msg, fields: plain(fields) });
  },
  info: (msg, fields) => send({ t: 'log', level: 'info', msg, fields: plain(fields) }),
  warn: (msg, fields) => send({ t: 'log', level: 'warn', msg, fields: plain(fields) }),
  error: (msg, fields) => send({ t: 'log', level: 'error', msg, fields: plain(fields) }),
};

// Buffers arrive as Uint8Arrays
const buf = (u: Uint8Array | undefined) => (u ? Buffer.from(u.buffer, u.byteOffset, u.byteLength) : undefined);
const sec = init.view.security;
/** Buffers cross the thread as Uint8Arrays */
const withBuffers = (x: PullSecurity): PullSecurity => ({ ...x, ca: buf(x.ca), cert: buf(x.cert), key: buf(x.key) });
const demand = init.demand ? new PostedDemand() : null;

const dirty = new Set<string>();
const sentDocs = new Map<string, GpusDocument | null>();
let changes: (string | null)[] = [];
let pulls: PullRecord[] = [];
let timer: NodeJS.Timeout | null = null;

function schedule(): void {
  timer ??= setTimeout(flush, init.batchMs);
}

function flush(): void {
  if (timer) clearTimeout(timer);
  timer = null;
  if (dirty.size === 0 && changes.length === 0 && pulls.length === 0) return;
  const entries: EntryUpdate[] = [];
  const removed: string[] = [];
  for (const address of dirty) {
    const st = view.entryState(address);
    if (!st) {
      removed.push(address);
      sentDocs.delete(address);
      continue;
    }
    if (sentDocs.get(address) === st.doc) {
      const { doc: _doc, scope: _scope, ...rest } = st;
      entries.push(rest);
    } else {
      sentDocs.set(address, st.doc);
      entries.push(st);
    }
  }
  dirty.clear();
  send({ t: 'batch', version: view.version, entries, removed, changes, pulls });
  changes = [];
  pulls = [];
}

const view = new ClusterView({
  ...init.view,
  security: sec && withBuffers(sec),
  demand,
  logger,
  onEntry: (address) => {
    dirty.add(address);
    schedule();
  },
});
view.on('change', (node: string | null) => {
  changes.push(node);
  schedule();
});
view.on('pull', (ev: PullEvent) => {
  pulls.push([ev.exporter, ev.durationMs, ev.ok ? null : (ev.reason ?? 'connect')]);
  schedule();
});

port.on('message', (m: ToWorker) => {
  if (m.t === 'demand') {
    demand?.set(m.version, m.scopes);
  } else if (m.t === 'refresh') {
    void view.refresh(m.namespace, m.nodes, m.maxWaitMs).then((pending) => {
      // what the pulls brought comes before the answer
      flush();
      send({ t: 'refreshed', id: m.id, pending });
    });
  } else if (m.t === 'security') {
    view.setSecurity(withBuffers(m.security));
  } else if (m.t === 'stop') {
    view.stop();
    flush();
    port.close();
  }
});

// the schema is compiled on first use: here, not while the first round's pulls run against their deadline
validateGpusDocument({});
view.start().then(
  () => {
    flush();
    send({ t: 'started' });
  },
  (err: Error) => send({ t: 'failed', message: err.message }),
);
