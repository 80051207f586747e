// The main thread's side of the pull worker (pull-worker.ts): a view of every exporter's state as
// the worker last sent it, read by the gRPC service, the result cache, the streams and the HTTP
// routes exactly as they read an in-process ClusterView (documents(), conflicts(), exporters(),
// refresh(), version, 'change' and 'pull' events). Freshness is judged here, from each
// exporter's last success and the clock, with the same rule as the worker's.
//
// The demand (the pod view's nodes and scopes) is sent to the worker whenever its version moves.
// A refresh() whose nodes are all fresh and hold the workload's pods answers at once, from here;
// otherwise the worker pulls them and answers after the batch that holds what they brought.
//
// A worker that dies (an uncaught error, an exit not asked for) is not replaced: every exporter
// is dropped from the view (nothing fresh: /ready fails, RPCs answer UNAVAILABLE), the view emits
// 'failed', and the command exits non-zero so that the pod is restarted, instead of serving a
// view that no longer moves.
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import {
  checkViewOptions, claimConflicts, claimedDocuments, conflictLogger, covers, pickClaim,
  type ClusterViewOptions, type EntryState, type ExporterState, type HostnameConflict, type PullDemand, type PullEvent, type PullSecurity,
} from './cluster-view.js';
import type { GpusDocument } from '../contract/gpus-document.js';
import type { GpusScope } from '../contract/gpus-scope.js';
import { silentLogger, type Logger } from '../logger.js';
import type { FromWorker, LogLine, PullWorkerInit, ToWorker } from './pull-protocol.js';

export interface RemoteViewOptions extends Omit<ClusterViewOptions, 'lookup' | 'onEntry'> {
  /** forward the worker's debug lines */
  debug?: boolean;
  /** the longest a change waits in the worker before it is sent, ms (default 20) */
  batchMs?: number;
}

/** What a scaler reads: an in-process ClusterView or the pull worker's RemoteClusterView. */
export interface ScalerView extends EventEmitter {
  readonly version: number;
  readonly staleAfterMs: number;
  start(): Promise<void>;
  stop(): void;
  documents(now?: number, nodes?: ReadonlyMap<string, unknown> | ReadonlySet<string>): GpusDocument[];
  conflicts(now?: number): HostnameConflict[];
  exporters(now?: number): ExporterState[];
  refresh(namespace: string, nodes: ReadonlyMap<string, ReadonlySet<string>>, maxWaitMs?: number): Promise<number>;
  /** new credentials for the pulls from now on (their files changed) */
  setSecurity(sec: PullSecurity): void;
}

/** The worker thread, on the module next to this one. */
function startWorker(init: PullWorkerInit): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./pull-worker.js', import.meta.url), { workerData: init });
  // run from source (tests, development): a thread does not inherit the TypeScript loader that
  // --import tsx registered, so the thread registers it before it loads the worker's module
  const api = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./pull-worker.ts', import.meta.url).href;
  return new Worker(`import(${JSON.stringify(api)}).then((m) => m.register()).then(() => import(${JSON.stringify(entry)}))`, { eval: true, workerData: init });
}

const NO_ENTRIES: readonly EntryState[] = [];

export class RemoteClusterView extends EventEmitter implements ScalerView {
  readonly staleAfterMs: number;
  readonly pullIntervalMs: number;
  version = 0;
  /** the worker's error once it has died; null while it runs */
  failure: Error | null = null;
  private readonly entries = new Map<string, EntryState>();
  private readonly byHost = new Map<string, EntryState[]>();
  private readonly log: Logger;
  private readonly logConflict: (hostname: string, kept: string, ignored: string[]) => void;
  private readonly demand: PullDemand | null;
  private readonly init: PullWorkerInit;
  private worker: Worker | null = null;
  private workerVersion = -1;
  private sentDemand = -1;
  private demandTimer: NodeJS.Timeout | null = null;
  private running = false;
  private stopping = false;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (n: number) => void; count: number }>();
  /** resolves once the worker thread has ended (after stop() or a failure) */
  readonly exited: Promise<void>;
  private markExited!: () => void;

  constructor(opts: RemoteViewOptions) {
    super();
    this.setMaxListeners(0); // one 'change' listener per open stream
    checkViewOptions(opts);
    this.staleAfterMs = opts.staleAfterMs ?? 3000;
    this.pullIntervalMs = opts.pullIntervalMs ?? 500;
    this.log = opts.logger ?? silentLogger;
    this.logConflict = conflictLogger(this.log);
    this.demand = opts.demand ?? null;
    const { logger: _l, demand: _d, debug, batchMs, ...view } = opts;
    this.init = { view, demand: !!this.demand, debug: debug ?? false, batchMs: batchMs ?? 20 };
    this.exited = new Promise((r) => (this.markExited = r));
  }

  /** Starts the worker; resolves after its first round of pulls (as ClusterView.start). */
  start(): Promise<void> {
    this.running = true;
    const w = startWorker(this.init);
    this.worker = w;
    this.syncDemand();
    if (this.demand) {
      this.demandTimer = setInterval(() => this.syncDemand(), Math.max(50, Math.min(this.pullIntervalMs, this.staleAfterMs / 4)));
      this.demandTimer.unref();
    }
    return new Promise<void>((resolve, reject) => {
      let started = false;
      w.on('message', (m: FromWorker) => {
        if (m.t === 'started') {
          started = true;
          resolve();
        } else if (m.t === 'failed') {
          this.fail(new Error(m.message));
        } else {
          this.onMessage(m);
        }
      });
      w.on('error', (err) => this.fail(err));
      w.on('exit', (code) => {
        this.markExited();
        if (!this.stopping) this.fail(new Error(`the pull worker exited with code ${code}`));
      });
      this.once('failed', (err: Error) => started || reject(err));
    });
  }

  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.running = false;
    if (this.demandTimer) clearInterval(this.demandTimer);
    if (this.worker) {
      this.post({ t: 'stop' });
      void this.worker.terminate();
    } else {
      this.markExited();
    }
    for (const p of this.pending.values()) p.resolve(p.count);
    this.pending.clear();
  }

  /** The worker died: nothing in the view is current any more. */
  private fail(err: Error): void {
    if (this.failure || this.stopping) return;
    this.failure = err;
    this.running = false;
    if (this.demandTimer) clearInterval(this.demandTimer);
    this.entries.clear();
    this.byHost.clear();
    this.version++;
    for (const p of this.pending.values()) p.resolve(p.count);
    this.pending.clear();
    this.emit('change', null);
    this.emit('failed', err);
    void this.worker?.terminate();
  }

  setSecurity(sec: PullSecurity): void {
    this.post({ t: 'security', security: sec });
  }

  private post(m: ToWorker): void {
    this.worker?.postMessage(m);
  }

  /** Sends the demand when it has moved. */
  private syncDemand(): void {
    if (!this.demand || !this.worker) return;
    const v = this.demand.version;
    if (v === this.sentDemand) return;
    this.sentDemand = v;
    const scopes = new Map<string, GpusScope>();
    for (const node of this.demand.neededNodes()) {
      const s = this.demand.scopeFor(node);
      if (s) scopes.set(node, s);
    }
    this.post({ t: 'demand', version: v, scopes });
  }

  private onMessage(m: FromWorker): void {
    if (m.t === 'log') {
      this.log[(m as LogLine).level](m.msg, m.fields);
    } else if (m.t === 'refreshed') {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      p?.resolve(m.pending);
    } else if (m.t === 'batch') {
      for (const address of m.removed) {
        const e = this.entries.get(address);
        if (e) {
          this.index(e, null);
          this.entries.delete(address);
        }
      }
      for (const u of m.entries) {
        let e = this.entries.get(u.address);
        if (!e) {
          e = { address: u.address, hostname: null, doc: null, scope: null, lastSuccessMs: null, lastError: null, idle: false, claimedAt: null };
          this.entries.set(u.address, e);
        }
        this.index(e, u.hostname);
        if (u.doc !== undefined) e.doc = u.doc;
        if (u.scope !== undefined) e.scope = u.scope;
        e.lastSuccessMs = u.lastSuccessMs;
        e.lastError = u.lastError;
        e.idle = u.idle;
        e.claimedAt = u.claimedAt;
      }
      if (m.version !== this.workerVersion) {
        this.workerVersion = m.version;
        this.version++;
      }
      for (const [exporter, durationMs, reason] of m.pulls) {
        this.emit('pull', (reason ? { exporter, ok: false, durationMs, reason } : { exporter, ok: true, durationMs }) satisfies PullEvent);
      }
      for (const node of m.changes) this.emit('change', node);
    }
  }

  private index(e: EntryState, host: string | null): void {
    if (e.hostname === host) return;
    if (e.hostname !== null) {
      const rest = (this.byHost.get(e.hostname) ?? []).filter((x) => x !== e);
      if (rest.length > 0) this.byHost.set(e.hostname, rest);
      else this.byHost.delete(e.hostname);
    }
    e.hostname = host;
    if (host !== null) {
      const list = this.byHost.get(host);
      if (list) list.push(e);
      else this.byHost.set(host, [e]);
    }
  }

  private isFresh(e: EntryState, now: number): boolean {
    return e.lastSuccessMs !== null && now - e.lastSuccessMs <= this.staleAfterMs && !!e.doc && !e.doc.stale;
  }

  private claimOf(host: string, now: number): { entry: EntryState; others: string[] } | null {
    const list = this.byHost.get(host);
    if (!list) return null;
    const c = pickClaim(list, (e) => this.isFresh(e, now));
    if (c && c.others.length > 0) this.logConflict(host, c.entry.address, c.others);
    return c;
  }

  documents(now = Date.now(), nodes?: ReadonlyMap<string, unknown> | ReadonlySet<string>): GpusDocument[] {
    return claimedDocuments(nodes ? nodes.keys() : this.byHost.keys(), (host) => this.claimOf(host, now));
  }

  conflicts(now = Date.now()): HostnameConflict[] {
    return claimConflicts(this.byHost.keys(), (host) => this.claimOf(host, now));
  }

  exporters(now = Date.now()): ExporterState[] {
    return [...this.entries.values()].map((e) => ({
      address: e.address, doc: e.doc, lastSuccessMs: e.lastSuccessMs, lastError: e.lastError, fresh: this.isFresh(e, now), idle: e.idle,
    }));
  }

  /**
   * As ClusterView.refresh: the number of these nodes' fresh exporters whose document does not
   * hold the workload's pods yet, after pulling those that are not current (at most maxWaitMs).
   */
  refresh(namespace: string, nodes: ReadonlyMap<string, ReadonlySet<string>>, maxWaitMs = 2000): Promise<number> {
    if (!this.running || nodes.size === 0) return Promise.resolve(0);
    const now = Date.now();
    let stale = 0;
    for (const [node, pods] of nodes) {
      for (const e of this.byHost.get(node) ?? NO_ENTRIES) if (!(this.isFresh(e, now) && covers(e.scope, namespace, pods))) stale++;
    }
    if (stale === 0) return Promise.resolve(0);
    // the worker pulls them with the scope of the demand as it is now
    this.syncDemand();
    return new Promise((resolve) => {
      const id = ++this.seq;
      this.pending.set(id, { resolve, count: stale });
      this.post({ t: 'refresh', id, namespace, nodes: nodes as Map<string, ReadonlySet<string>>, maxWaitMs });
    });
  }
}
