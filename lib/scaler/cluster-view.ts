// One view of every GPU in the cluster: discovers the exporters (a static list or all A/AAAA
// records of a headless Service, re-resolved periodically), pulls each one's /api/v1/gpus with a
// deadline, at most one pull in flight per exporter, and keeps the last good document with its time.
// One scheduler (a DueQueue: one timer, a heap of due times) runs every exporter's pulls: each has
// one due time, so thousands of idle exporters cost heap slots, not timers that wake every interval. Every pulled document is bounded in size while it is read and validated against
// the contract's JSON Schema before it is used: a bad document excludes only its own node, counted
// by reason. Nothing here blocks a reader: RPCs read documents() from memory.
//
// Each document belongs to the endpoint it was pulled from: redirects are never followed, and
// when two endpoints claim the same node (hostname), the one that held it first keeps it, the
// other is left out, and the conflict is reported (conflicts(), a self-metric) instead of the
// later silently shadowing the earlier. Pulls speak HTTPS with a CA, a client certificate and
// basic auth when the exporters' web config asks for them (PullSecurity), over kept-alive
// connections, and conditionally (If-None-Match): an unchanged document costs a 304.
//
// With a demand (the Kubernetes API's pod view, demand.ts), an exporter is pulled only while a
// workload KEDA asks about runs pods on its node, and only for those pods' GPUs (a scoped
// request); the others are "idle": probed every idleProbeIntervalMs to learn which node they
// serve, and neither counted stale nor logged as such. Readers reach a node's document through an
// index by hostname, so an RPC costs the workload's nodes, not the cluster's; the freshness sweep
// looks only at the exporters in use. Pulls of a node that becomes needed, and idle probes, are
// spread over their interval so that they do not arrive in bursts.
import { EventEmitter } from 'node:events';
import { promises as dnsp } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { joinHostPort, parsePeerAddress, type PeerAddress } from '../contract/address.js';
import { validateGpusDocument, type GpusDocument } from '../contract/gpus-document.js';
import { gpusScopeQuery, NO_GPUS_QUERY, type GpusScope } from '../contract/gpus-scope.js';
import { Poller } from '../collect/poller.js';
import { DueQueue } from './due-queue.js';
import { silentLogger, type Logger } from '../logger.js';

export type PullErrorReason = 'timeout' | 'connect' | 'http_status' | 'too_large' | 'invalid_json' | 'invalid_document' | 'stale_snapshot';

/** How pulls reach exporters that serve a web config (TLS, mTLS, basic auth). */
export interface PullSecurity {
  scheme: 'http' | 'https';
  /** PEM of the CA that signs the exporters' certificates (default: the system's) */
  ca?: Buffer;
  /** client certificate and key for mTLS */
  cert?: Buffer;
  key?: Buffer;
  /** the name the exporters' certificate is checked against (default: the address's host) */
  serverName?: string;
  /** `user:password` for basic auth */
  basicAuth?: string;
}

/** A node claimed by more than one endpoint. */
export interface HostnameConflict {
  hostname: string;
  /** the endpoint whose document is used */
  kept: string;
  /** the endpoints whose documents for that node are left out */
  ignored: string[];
}

export interface PullEvent {
  exporter: string;
  ok: boolean;
  durationMs: number;
  reason?: PullErrorReason;
  message?: string;
}

export interface ClusterViewOptions {
  /** static exporters */
  exporters?: readonly PeerAddress[];
  /** every A/AAAA record of this name is an exporter on its port */
  exportersDns?: PeerAddress | null;
  /** --pull-interval ms, default 500 */
  pullIntervalMs?: number;
  /** deadline of one pull, ms, default 400 (kept below the interval) */
  pullTimeoutMs?: number;
  /** --stale-after ms, default 3000: a node not answering for this long is excluded */
  staleAfterMs?: number;
  /** DNS re-resolution period, ms, default 10000 */
  dnsRefreshMs?: number;
  /** the largest document accepted, bytes, default 4 MiB (a node of 8 GPUs sends ~20 KB) */
  maxDocumentBytes?: number;
  /** resolves a name to addresses (default: resolve4 + resolve6) */
  lookup?: (name: string) => Promise<string[]>;
  /** TLS and basic auth for the pulls (default: plain HTTP) */
  security?: PullSecurity;
  /** which nodes are needed and with which scope (absent: every exporter, whole documents) */
  demand?: PullDemand | null;
  /** with a demand: an exporter no workload needs is pulled this often, ms (default 30000) */
  idleProbeIntervalMs?: number;
  logger?: Logger;
  /** called whenever what readers see of an exporter may have changed (entryState() answers it): the pull worker's batches */
  onEntry?: (address: string) => void;
}

/** What readers see of one exporter: what the pull worker sends the main thread. */
export interface EntryState {
  address: string;
  /** the node its document claims (null before it answered) */
  hostname: string | null;
  doc: GpusDocument | null;
  /** the scope of the last successful pull (null: the whole document) */
  scope: GpusScope | null;
  lastSuccessMs: number | null;
  lastError: string | null;
  idle: boolean;
  claimedAt: number | null;
}

/** The options that must hold whether the view runs here or in the pull worker. */
export function checkViewOptions(o: Pick<ClusterViewOptions, 'exporters' | 'exportersDns' | 'pullIntervalMs' | 'pullTimeoutMs' | 'staleAfterMs' | 'dnsRefreshMs' | 'maxDocumentBytes' | 'idleProbeIntervalMs'>): void {
  if ((o.exporters ?? []).length === 0 && !o.exportersDns) {
    throw new Error('no exporters to pull: give --exporters host:port,… or --exporters-dns <headless-service>:9400');
  }
  const bounds = {
    pullIntervalMs: o.pullIntervalMs ?? 500, pullTimeoutMs: o.pullTimeoutMs ?? 400, staleAfterMs: o.staleAfterMs ?? 3000,
    dnsRefreshMs: o.dnsRefreshMs ?? 10_000, maxDocumentBytes: o.maxDocumentBytes ?? 4 * 1024 * 1024, idleProbeIntervalMs: o.idleProbeIntervalMs ?? 30_000,
  };
  for (const [name, v] of Object.entries(bounds)) {
    if (!(Number.isFinite(v) && v > 0)) throw new Error(`${name} must be a number > 0, got ${v}`);
  }
}

/**
 * Of the endpoints claiming one node, the fresh one whose document is used and the other fresh
 * ones: the earlier claim keeps the node (ties: the lower address, so the answer is stable).
 */
export function pickClaim<T extends { address: string; claimedAt: number | null }>(list: readonly T[], fresh: (e: T) => boolean): { entry: T; others: string[] } | null {
  let best: T | null = null;
  let others: string[] | null = null;
  for (const e of list) {
    if (!fresh(e)) continue;
    if (!best) {
      best = e;
      continue;
    }
    others ??= [];
    const earlier = (e.claimedAt ?? Infinity) < (best.claimedAt ?? Infinity)
      || ((e.claimedAt ?? Infinity) === (best.claimedAt ?? Infinity) && e.address < best.address);
    if (earlier) {
      others.push(best.address);
      best = e;
    } else {
      others.push(e.address);
    }
  }
  return best ? { entry: best, others: others ?? [] } : null;
}

type Claim = { entry: { address: string; doc?: GpusDocument | null }; others: string[] } | null;

/** The documents of the nodes `hosts` that some fresh endpoint claims, by a view's claim rule. */
export function claimedDocuments(hosts: Iterable<string>, claimOf: (host: string) => Claim): GpusDocument[] {
  const out: GpusDocument[] = [];
  for (const host of hosts) {
    const c = claimOf(host);
    if (c?.entry.doc) out.push(c.entry.doc);
  }
  return out;
}

/** The nodes of `hosts` claimed by more than one fresh endpoint, by a view's claim rule. */
export function claimConflicts(hosts: Iterable<string>, claimOf: (host: string) => Claim): HostnameConflict[] {
  const out: HostnameConflict[] = [];
  for (const host of hosts) {
    const c = claimOf(host);
    if (c && c.others.length > 0) out.push({ hostname: host, kept: c.entry.address, ignored: c.others });
  }
  return out;
}

/** Logs each conflict (node, kept, ignored) once. */
export function conflictLogger(log: Logger): (hostname: string, kept: string, ignored: string[]) => void {
  const logged = new Set<string>();
  return (hostname, kept, ignored) => {
    const key = `${hostname}|${kept}|${ignored.join(',')}`;
    if (logged.has(key)) return;
    if (logged.size > 1000) logged.clear();
    logged.add(key);
    log.warn('two exporters claim the same node: the first claim is kept, the others are left out', { hostname, kept, ignored: ignored.join(',') });
  };
}

/** What the pulls need, per node (WorkloadDemand implements it). */
export interface PullDemand {
  /** the scope to pull `node` with, or null when nothing needs it */
  scopeFor(node: string): GpusScope | null;
  /** the nodes some workload needs */
  neededNodes(): Iterable<string>;
  /** changes whenever neededNodes() or a scope may have changed */
  readonly version: number;
}

/** Whether a document pulled with `scope` holds every GPU of these pods of `namespace`. */
export function covers(scope: GpusScope | null, namespace: string, pods: ReadonlySet<string>): boolean {
  if (!scope) return true;
  if (scope.namespaces.size > 0 && !scope.namespaces.has(namespace)) return false;
  if (scope.pods.size === 0) return true;
  for (const p of pods) if (!scope.pods.has(p)) return false;
  return true;
}

/** The scope of an idle exporter's stub document: it holds no pod's GPUs. */
const HOLDS_NOTHING: GpusScope = { namespaces: new Set(), pods: new Set(['']) };

/** Probe and first pulls in flight at once, with a demand. */
const MAX_CONCURRENT_PROBES = 64;

/** The longest scoped query sent; a longer one falls back to the namespaces alone. */
const MAX_SCOPE_QUERY = 4096;

export interface ExporterState {
  address: string;
  doc: GpusDocument | null;
  lastSuccessMs: number | null;
  lastError: string | null;
  fresh: boolean;
  /** no workload needs this exporter now (demand mode): it is only probed */
  idle: boolean;
}

interface Entry {
  address: string;
  /** host and port of the requests */
  host: string;
  port: number;
  doc: GpusDocument | null;
  signature: string;
  lastSuccessMs: number | null;
  lastError: string | null;
  wasFresh: boolean;
  /** ends the request in flight */
  cancel: (() => void) | null;
  removed: boolean;
  /** one pull has finished (either way) */
  attempted: boolean;
  /** when this endpoint's document first claimed its current hostname (the earlier claim wins) */
  claimedAt: number | null;
  /** the query of the last successful pull and the entity tag it answered with */
  query: string;
  /** the scope of that pull (null: the whole document) */
  scope: GpusScope | null;
  etag: string | null;
  idle: boolean;
  lastAttemptMs: number;
  inflight: Promise<void> | null;
  /** the hostname this entry is indexed under (its document's), null before it answered */
  indexedAs: string | null;
  /** the next pull comes after a share of the interval (a new phase), not a whole interval */
  respread: boolean;
  /** that share, in [0, 1): fixed per entry, spread evenly over the entries */
  share: number;
  /** waiting for a probe slot */
  queued: boolean;
  /** the exporter answered 400 to `gpus=none` (an older version): its probes pull the whole document */
  wholeProbes: boolean;
}

/** Checks the exporters' certificate against one fixed name (pods are reached by IP, certificates name the Service). */
function checkAgainst(name: string) {
  return (_host: string, cert: PeerCertificate): Error | undefined => checkServerIdentity(name, cert);
}

export async function defaultLookup(name: string): Promise<string[]> {
  const [v4, v6] = await Promise.allSettled([dnsp.resolve4(name), dnsp.resolve6(name)]);
  const out = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
  if (out.length === 0 && v4.status === 'rejected') throw v4.reason;
  return out;
}

class PullError extends Error {
  constructor(
    readonly reason: PullErrorReason,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a response body up to `max` bytes as it streams in; more is a PullError('too_large') and the rest is not read. */
function readCapped(res: IncomingMessage, max: number): Promise<string> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    res.destroy();
    return Promise.reject(new PullError('too_large', `the document is ${declared} bytes, more than the ${max} accepted`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      reject(e);
      res.destroy();
    };
    res.on('data', (b: Buffer) => {
      total += b.byteLength;
      if (total > max) return fail(new PullError('too_large', `the document is more than the ${max} bytes accepted`));
      chunks.push(b);
    });
    res.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks, total).toString('utf8'));
    });
    res.on('error', fail);
    res.on('aborted', () => fail(new PullError('connect', 'the exporter closed the connection in the middle of the document')));
    res.on('close', () => settled || fail(new PullError('connect', 'the connection closed in the middle of the document')));
  });
}

/** The i-th of a sequence spread evenly over [0, 1) (golden-ratio steps): the share of an interval that sets a new phase. */
function spreadShare(i: number): number {
  return (i * 0.6180339887498949) % 1;
}

const NO_ENTRIES: readonly Entry[] = [];
const NO_PODS: ReadonlySet<string> = new Set();

export class ClusterView extends EventEmitter {
  readonly pullIntervalMs: number;
  readonly pullTimeoutMs: number;
  readonly staleAfterMs: number;
  readonly dnsRefreshMs: number;
  readonly maxDocumentBytes: number;
  private readonly entries = new Map<string, Entry>();
  private readonly staticList: string[];
  private readonly dns: PeerAddress | null;
  private readonly lookup: (name: string) => Promise<string[]>;
  private readonly log: Logger;
  private dnsPoller: Poller | null = null;
  private housekeeping: NodeJS.Timeout | null = null;
  private running = false;
  private security: PullSecurity;
  private readonly logConflict: (hostname: string, kept: string, ignored: string[]) => void;
  private readonly onEntry: ((address: string) => void) | null;
  private readonly demand: PullDemand | null;
  readonly idleProbeIntervalMs: number;
  private agent: HttpAgent;
  /** pulls answered 304 Not Modified */
  notModified = 0;
  /**
   * Changes whenever documents() may answer differently for a node in use: a changed document, a
   * node turning fresh or stale (seen by the sweep), an exporter added, removed or turned idle, the
   * demand. A reader may keep what it computed from the documents while this stays the same.
   */
  version = 0;
  private probing = 0;
  /** hostname → the entries whose document claims it (nearly always one) */
  private readonly byHost = new Map<string, Entry[]>();
  /** the entries that are not idle: what the freshness sweep looks at */
  private readonly inUse = new Set<Entry>();
  /** every entry's next pull */
  private readonly queue: DueQueue<Entry>;
  /** probes waiting for a slot, oldest first */
  private readonly waiting = new Set<Entry>();
  private demandVersion = -1;
  private entriesMade = 0;
  /** entries not tried once yet (the first round waits for none) */
  private unattempted = 0;
  private authHeader: string | undefined;
  /** TLS options of requests made without the agent */
  private tlsOpts: object = {};

  constructor(opts: ClusterViewOptions) {
    super();
    this.setMaxListeners(0); // one 'change' listener per open stream, bounded by the gRPC server's maxStreams
    this.security = opts.security ?? { scheme: 'http' };
    this.pullIntervalMs = opts.pullIntervalMs ?? 500;
    this.pullTimeoutMs = opts.pullTimeoutMs ?? 400;
    this.staleAfterMs = opts.staleAfterMs ?? 3000;
    this.dnsRefreshMs = opts.dnsRefreshMs ?? 10_000;
    this.maxDocumentBytes = opts.maxDocumentBytes ?? 4 * 1024 * 1024;
    this.lookup = opts.lookup ?? defaultLookup;
    this.log = opts.logger ?? silentLogger;
    this.staticList = (opts.exporters ?? []).map((p) => p.text);
    this.dns = opts.exportersDns ?? null;
    this.demand = opts.demand ?? null;
    this.idleProbeIntervalMs = opts.idleProbeIntervalMs ?? 30_000;
    this.agent = this.useSecurity(this.security);
    this.queue = new DueQueue({ run: (e) => this.due(e) });
    this.onEntry = opts.onEntry ?? null;
    this.logConflict = conflictLogger(this.log);
    checkViewOptions(opts);
  }

  /** The agent, TLS options and authorization header of these credentials; returns the agent. */
  private useSecurity(sec: PullSecurity): HttpAgent {
    this.security = sec;
    const tls = sec.scheme === 'https'
      ? { ca: sec.ca, cert: sec.cert, key: sec.key, servername: sec.serverName, checkServerIdentity: sec.serverName ? checkAgainst(sec.serverName) : undefined }
      : null;
    this.authHeader = sec.basicAuth ? `Basic ${Buffer.from(sec.basicAuth).toString('base64')}` : undefined;
    this.tlsOpts = tls ?? {};
    // one kept-alive connection per exporter: no TCP (or TLS) handshake per pull
    const agentOpts = { keepAlive: true, maxSockets: 1, maxFreeSockets: 1, scheduling: 'lifo' as const };
    return tls ? new HttpsAgent({ ...agentOpts, ...tls }) : new HttpAgent(agentOpts);
  }

  /**
   * New credentials for the pulls (the CA, client certificate and key or basic-auth files changed
   * on disk): every pull from now on uses them, over new connections. The old connections finish
   * the pulls in flight and are closed after the pull deadline. The scheme does not change.
   */
  setSecurity(sec: PullSecurity): void {
    const old = this.agent;
    this.agent = this.useSecurity({ ...sec, scheme: this.security.scheme });
    setTimeout(() => old.destroy(), this.pullTimeoutMs + 100).unref();
  }

  /** Adds the exporters (resolving DNS once) and starts pulling; resolves after the first round. */
  async start(): Promise<void> {
    this.running = true;
    this.setExporters(this.staticList);
    if (this.dns) {
      this.dnsPoller = new Poller({ intervalMs: this.dnsRefreshMs, task: () => this.resolve() });
      await this.dnsPoller.start();
    }
    // a node that stops answering turns stale even while its pull is still hanging; the nodes a
    // changed demand needs are pulled at once
    this.housekeeping = setInterval(() => this.housekeep(), Math.max(50, Math.min(this.pullIntervalMs, this.staleAfterMs / 4)));
    this.housekeeping.unref();
    await this.firstRound(Math.min(this.pullTimeoutMs, 2000) + 50);
  }

  /** Waits until every exporter has been tried once (answered, failed or timed out), at most maxMs. */
  private firstRound(maxMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        if (this.unattempted > 0) return;
        cleanup();
      };
      const timer = setTimeout(() => cleanup(), maxMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('pull', done);
        resolve();
      };
      this.on('pull', done);
      done();
    });
  }

  stop(): void {
    this.running = false;
    this.dnsPoller?.stop();
    if (this.housekeeping) clearInterval(this.housekeeping);
    this.queue.stop();
    for (const e of this.entries.values()) this.dropEntry(e);
    this.agent.destroy();
  }

  /**
   * Pulls the exporters of these nodes now (with their current scope) unless a pull with that
   * scope is fresh, and resolves when they have answered or failed, at most pullTimeoutMs later.
   * A workload KEDA asks about for the first time is answered from its nodes, not from nothing.
   */
  async refresh(namespace: string, nodes: ReadonlyMap<string, ReadonlySet<string>>, maxWaitMs = 2000): Promise<number> {
    if (!this.running || nodes.size === 0) return 0;
    const now = Date.now();
    const podsOf = (e: Entry) => nodes.get(e.doc!.hostname) ?? NO_PODS;
    // current: fresh, and its last document was pulled with a scope that holds these pods
    const current = (e: Entry) => this.isFresh(e, Date.now()) && covers(e.scope, namespace, podsOf(e));
    // a pull in flight may have started before this workload was wanted (an older scope): then pull again
    const ensure = async (e: Entry) => {
      for (let i = 0; i < 3 && !e.removed; i++) {
        if (e.inflight) await e.inflight;
        if (current(e)) return;
        if (!e.inflight) await this.pullOnce(e);
      }
    };
    const waits: Promise<void>[] = [];
    const mine: Entry[] = [];
    for (const node of nodes.keys()) {
      for (const e of this.byHost.get(node) ?? NO_ENTRIES) {
        mine.push(e);
        if (this.isFresh(e, now) && covers(e.scope, namespace, podsOf(e))) continue;
        waits.push(ensure(e));
      }
    }
    if (waits.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled(waits), new Promise<void>((r) => (timer = setTimeout(r, maxWaitMs)))]);
      clearTimeout(timer);
    }
    // answering nodes whose document does not hold the workload's pods yet (a down node is not counted: it is stale)
    return mine.filter((e) => this.isFresh(e, Date.now()) && !covers(e.scope, namespace, podsOf(e))).length;
  }

  /** The query an entry is pulled with now: '' (whole document) without demand or before its node is known. */
  private scopeOf(e: Entry): { query: string; scope: GpusScope | null } {
    if (!this.demand || !e.doc) return { query: '', scope: null };
    let scope = this.demand.scopeFor(e.doc.hostname);
    // a node nothing needs is probed for its name and state only: a few hundred bytes, 304 while unchanged
    if (!scope) return e.wholeProbes ? { query: '', scope: null } : { query: NO_GPUS_QUERY, scope: HOLDS_NOTHING };
    let q = gpusScopeQuery(scope);
    if (q.length > MAX_SCOPE_QUERY) {
      scope = { namespaces: scope.namespaces, pods: new Set() };
      q = gpusScopeQuery(scope);
    }
    return q.length > MAX_SCOPE_QUERY ? { query: '', scope: null } : { query: q, scope };
  }

  /** Whether the demand leaves this entry idle (its node is known and nothing needs it). */
  private isIdle(e: Entry): boolean {
    return !!this.demand && !!e.doc && this.demand.scopeFor(e.doc.hostname) === null;
  }

  /** Marks an entry idle or in use; the next pull after a change starts a new phase. */
  private setIdle(e: Entry, idle: boolean): void {
    if (e.idle === idle) return;
    e.idle = idle;
    this.onEntry?.(e.address);
    e.respread = true;
    this.version++;
    if (idle) {
      this.inUse.delete(e);
    } else if (!e.removed) {
      this.inUse.add(e);
      // an idle exporter aged out silently; in use again, its freshness is taken as it is now
      e.wasFresh = this.isFresh(e, Date.now());
    }
  }

  /** Files the entry under the hostname its document claims. */
  private index(e: Entry, host: string | null): void {
    if (e.indexedAs === host) return;
    if (e.indexedAs !== null) {
      const list = this.byHost.get(e.indexedAs);
      const rest = list ? list.filter((x) => x !== e) : [];
      if (rest.length > 0) this.byHost.set(e.indexedAs, rest);
      else this.byHost.delete(e.indexedAs);
    }
    e.indexedAs = host;
    this.onEntry?.(e.address);
    if (host !== null) {
      const list = this.byHost.get(host);
      if (list) list.push(e);
      else this.byHost.set(host, [e]);
    }
    this.version++;
  }

  /**
   * Fresh documents, one per node (with `nodes`: only of those nodes, found through the index).
   * When several endpoints claim the same hostname, the one that claimed it first is used and the
   * others are left out (conflicts() names them).
   */
  documents(now = Date.now(), nodes?: ReadonlyMap<string, unknown> | ReadonlySet<string>): GpusDocument[] {
    return claimedDocuments(nodes ? nodes.keys() : this.byHost.keys(), (host) => this.claimOf(host, now));
  }

  /** Nodes claimed by more than one fresh endpoint right now. */
  conflicts(now = Date.now()): HostnameConflict[] {
    return claimConflicts(this.byHost.keys(), (host) => this.claimOf(host, now));
  }

  /** The fresh endpoint whose document is used for a node, and the other fresh endpoints claiming it. */
  private claimOf(host: string, now: number): { entry: Entry; others: string[] } | null {
    const list = this.byHost.get(host);
    if (!list) return null;
    const c = pickClaim(list, (e) => this.isFresh(e, now));
    if (c && c.others.length > 0) this.logConflict(host, c.entry.address, c.others);
    return c;
  }

  /** What readers see of one exporter now; null when it is not (or no longer) in the list. */
  entryState(address: string): EntryState | null {
    const e = this.entries.get(address);
    if (!e || e.removed) return null;
    return {
      address: e.address, hostname: e.indexedAs, doc: e.doc, scope: e.scope, lastSuccessMs: e.lastSuccessMs,
      lastError: e.lastError, idle: e.idle, claimedAt: e.claimedAt,
    };
  }

  exporters(now = Date.now()): ExporterState[] {
    return [...this.entries.values()].map((e) => ({
      address: e.address,
      doc: e.doc,
      lastSuccessMs: e.lastSuccessMs,
      lastError: e.lastError,
      fresh: this.isFresh(e, now),
      idle: e.idle,
    }));
  }

  /** When the next pull of this exporter is due (ms since epoch), undefined while one is in flight or it waits for a probe slot. */
  nextPullAt(address: string): number | undefined {
    const e = this.entries.get(address);
    return e ? this.queue.dueAt(e) : undefined;
  }

  private isFresh(e: Entry, now: number): boolean {
    return e.lastSuccessMs !== null && now - e.lastSuccessMs <= this.staleAfterMs && !!e.doc && !e.doc.stale;
  }

  private housekeep(): void {
    if (this.demand) this.reconcile();
    this.checkFreshness();
  }

  /** After the demand changed: the nodes it needs now are pulled at once, the others go back to probes. */
  private reconcile(): void {
    const v = this.demand!.version;
    if (v === this.demandVersion) return;
    this.demandVersion = v;
    this.version++;
    // a workload's nodes may have changed: every reader evaluates again
    this.emit('change', null);
    const now = Date.now();
    for (const node of this.demand!.neededNodes()) {
      for (const e of this.byHost.get(node) ?? NO_ENTRIES) {
        if (!e.idle || e.removed) continue;
        this.setIdle(e, false);
        if (e.queued) {
          this.waiting.delete(e);
          e.queued = false;
        }
        if (!e.inflight) this.queue.schedule(e, now);
      }
    }
    for (const e of [...this.inUse]) {
      if (e.inflight || !this.isIdle(e)) continue;
      this.setIdle(e, true);
      this.queue.schedule(e, this.nextDue(e));
    }
  }

  /** The freshness sweep, over the exporters in use only: an idle one ages out by design. */
  private checkFreshness(): void {
    const now = Date.now();
    for (const e of this.inUse) this.checkEntry(e, now);
  }

  private checkEntry(e: Entry, now: number): void {
    const fresh = this.isFresh(e, now);
    if (fresh === e.wasFresh) return;
    e.wasFresh = fresh;
    // an idle exporter ages out by design: no query reads it, nothing to re-evaluate or report
    if (e.idle) return;
    this.version++;
    this.log[fresh ? 'info' : 'warn'](fresh ? 'exporter is fresh' : 'exporter is stale: its GPUs are excluded', {
      exporter: e.address,
      lastError: e.lastError,
    });
    this.emit('change', e.indexedAs);
  }

  private async resolve(): Promise<void> {
    if (!this.dns || !this.running) return;
    try {
      const addrs = await this.lookup(this.dns.host);
      const list = [...new Set(addrs)].map((a) => joinHostPort(a, this.dns!.port));
      this.setExporters([...this.staticList, ...list]);
    } catch (err) {
      // keep the previous list: a DNS hiccup must not drop every node
      this.log.warn('cannot resolve exporters; keeping the previous list', { name: this.dns.host, error: err as Error });
    }
  }

  private setExporters(list: string[]): void {
    const want = new Set(list);
    let changed = false;
    for (const [addr, e] of this.entries) {
      if (!want.has(addr)) {
        this.dropEntry(e);
        this.entries.delete(addr);
        changed = true;
      }
    }
    const now = Date.now();
    for (const addr of want) {
      if (this.entries.has(addr)) continue;
      const peer = parsePeerAddress(addr, 'exporter');
      const e: Entry = {
        address: addr, host: peer.host, port: peer.port, doc: null, signature: '', lastSuccessMs: null, lastError: null,
        wasFresh: false, cancel: null, removed: false, attempted: false, claimedAt: null,
        query: '', scope: null, etag: null, idle: false, lastAttemptMs: 0, inflight: null,
        indexedAs: null, respread: true, share: spreadShare(this.entriesMade++), queued: false, wholeProbes: false,
      };
      this.entries.set(addr, e);
      this.inUse.add(e);
      this.unattempted++;
      if (this.running) this.queue.schedule(e, now);
    }
    if (changed) {
      this.version++;
      this.emit('change', null);
    }
  }

  private dropEntry(e: Entry): void {
    if (e.removed) return;
    e.removed = true;
    this.onEntry?.(e.address);
    this.queue.delete(e);
    this.waiting.delete(e);
    this.inUse.delete(e);
    this.index(e, null);
    if (!e.attempted) this.unattempted--;
    e.cancel?.();
  }

  private markAttempted(e: Entry): void {
    if (e.attempted) return;
    e.attempted = true;
    this.unattempted--;
  }

  /**
   * When the entry's next pull is due after its last: an interval, or for a new phase one and a
   * share more (never sooner than an interval; the phases of entries that started together end up
   * spread evenly over the whole interval).
   */
  private nextDue(e: Entry): number {
    const period = e.idle ? this.idleProbeIntervalMs : this.pullIntervalMs;
    return e.lastAttemptMs + period * (e.respread ? 1 + e.share : 1);
  }

  /** The scheduler's call: the entry's time has come. */
  private due(e: Entry): void {
    if (e.removed || !this.running || e.inflight) return; // a pull in flight schedules the next when it ends
    this.setIdle(e, this.isIdle(e));
    // an idle exporter is only probed, to learn which node it serves
    if (e.idle) {
      const at = this.nextDue(e);
      if (Date.now() < at) {
        this.queue.schedule(e, at);
        return;
      }
    }
    // probes and first pulls (node not known yet) share a few slots: thousands of exporters
    // appearing at once must not become thousands of connections at once
    const probe = !!this.demand && (!e.doc || e.idle);
    if (probe && this.probing >= MAX_CONCURRENT_PROBES) {
      if (!e.queued) {
        e.queued = true;
        this.waiting.add(e);
      }
      return;
    }
    void this.pull(e, probe);
  }

  /** Pulls now (asked for by refresh, whatever the schedule); the pull in flight when there is one. */
  private pullOnce(e: Entry): Promise<void> {
    if (e.removed) return Promise.resolve();
    return e.inflight ?? this.pull(e, false);
  }

  private pull(e: Entry, probe: boolean): Promise<void> {
    if (probe) this.probing++;
    if (e.queued) {
      this.waiting.delete(e);
      e.queued = false;
    }
    const p = this.pullNow(e).finally(() => {
      e.inflight = null;
      if (probe) {
        this.probing--;
        this.nextProbes();
      }
      if (e.removed || !this.running) return;
      const at = this.nextDue(e);
      e.respread = false;
      this.queue.schedule(e, at);
    });
    e.inflight = p;
    return p;
  }

  /** Starts the probes waiting for a slot, oldest first. */
  private nextProbes(): void {
    for (const e of this.waiting) {
      if (this.probing >= MAX_CONCURRENT_PROBES) return;
      this.waiting.delete(e);
      e.queued = false;
      this.due(e);
    }
  }

  /** GET /api/v1/gpus from one endpoint: no redirect is followed (the body is capped as it streams in, by the caller). */
  private send(e: Entry, query: string, keepAlive: boolean, onResponse: (res: IncomingMessage) => void): ClientRequest {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.authHeader) headers.authorization = this.authHeader;
    if (e.etag && e.query === query && e.doc) headers['if-none-match'] = e.etag;
    const path = query ? `/api/v1/gpus?${query}` : '/api/v1/gpus';
    // probes of idle exporters do not keep a connection (thousands of idle sockets cost memory)
    const opts: RequestOptions = keepAlive
      ? { host: e.host, port: e.port, path, headers, agent: this.agent }
      : { host: e.host, port: e.port, path, headers, agent: false, ...this.tlsOpts };
    const req = this.security.scheme === 'https' ? httpsRequest(opts, onResponse) : httpRequest(opts, onResponse);
    req.end();
    return req;
  }

  /** The exporter's document, or null for 304 Not Modified (the one held is still current). */
  private async fetchDoc(e: Entry, query: string): Promise<{ doc: GpusDocument; etag: string | null } | null> {
    const ctl: { req: ClientRequest | null; timedOut: boolean } = { req: null, timedOut: false };
    const timeout = () => new PullError('timeout', `no answer within ${this.pullTimeoutMs} ms`);
    const timer = setTimeout(() => {
      ctl.timedOut = true;
      ctl.req?.destroy(timeout());
    }, this.pullTimeoutMs);
    e.cancel = () => ctl.req?.destroy(new PullError('connect', 'the exporter was removed'));
    try {
      let res: IncomingMessage;
      try {
        res = await new Promise<IncomingMessage>((resolve, reject) => {
          ctl.req = this.send(e, query, !(this.demand && (e.idle || !e.doc)), resolve);
          ctl.req.on('error', reject);
        });
      } catch (err) {
        if (ctl.timedOut) throw timeout();
        if (err instanceof PullError) throw err;
        const er = err as NodeJS.ErrnoException;
        throw new PullError('connect', er.code ? `${er.code}: ${er.message}` : er.message);
      }
      if (res.statusCode === 304 && e.etag && e.query === query && e.doc) {
        res.resume();
        return null;
      }
      if (res.statusCode !== 200) {
        res.destroy();
        const st = res.statusCode ?? 0;
        throw new PullError('http_status', `HTTP ${st} from /api/v1/gpus${st >= 300 && st < 400 ? ' (redirects are not followed)' : st === 401 ? ' (the exporter wants credentials: --exporters-basic-auth-file)' : ''}`);
      }
      let body: unknown;
      try {
        body = JSON.parse(await readCapped(res, this.maxDocumentBytes));
      } catch (err) {
        if (ctl.timedOut) throw timeout();
        if (err instanceof PullError) throw err;
        throw new PullError('invalid_json', `body is not JSON: ${(err as Error).message}`);
      }
      const v = validateGpusDocument(body);
      if (!v.ok) throw new PullError('invalid_document', `not a GPUs document: ${v.error}`);
      const tag = res.headers.etag;
      return { doc: v.doc, etag: typeof tag === 'string' && tag.length <= 128 ? tag : null };
    } finally {
      clearTimeout(timer);
      e.cancel = null;
    }
  }

  private async pullNow(e: Entry): Promise<void> {
    const t0 = performance.now();
    e.lastAttemptMs = Date.now();
    const { query, scope } = this.scopeOf(e);
    try {
      const got = await this.fetchDoc(e, query);
      if (e.removed) return;
      let changed = false;
      if (got === null) {
        this.notModified++;
      } else {
        const doc = got.doc;
        const signature = JSON.stringify(doc.gpus) + (doc.stale ? '#stale' : '');
        changed = signature !== e.signature;
        if (e.doc?.hostname !== doc.hostname || e.claimedAt === null) e.claimedAt = Date.now();
        e.doc = doc;
        e.signature = signature;
        e.etag = got.etag;
        e.query = query;
        e.scope = scope;
        this.index(e, doc.hostname);
        this.setIdle(e, this.isIdle(e));
        if (e.idle && query !== NO_GPUS_QUERY) {
          // an idle exporter is kept only for its node's name: its GPUs are not held (memory at
          // thousands of nodes), and a workload that needs it pulls it again (a gpus=none probe
          // brought none, and keeps its tag for the next probe)
          e.doc = { ...doc, gpus: [] };
          e.signature = '';
          e.etag = null;
          e.scope = HOLDS_NOTHING;
        }
      }
      const doc = e.doc!;
      e.lastSuccessMs = Date.now();
      e.lastError = doc.stale ? 'the exporter reports its own snapshot as stale' : null;
      const ev: PullEvent = doc.stale
        ? { exporter: e.address, ok: false, durationMs: performance.now() - t0, reason: 'stale_snapshot', message: e.lastError! }
        : { exporter: e.address, ok: true, durationMs: performance.now() - t0 };
      const fresh = this.isFresh(e, Date.now());
      const flipped = fresh !== e.wasFresh;
      e.wasFresh = fresh;
      this.markAttempted(e);
      this.onEntry?.(e.address);
      this.emit('pull', ev);
      if ((changed || flipped) && !e.idle) {
        this.version++;
        this.emit('change', doc.hostname);
      }
    } catch (err) {
      if (e.removed) return;
      const pe = err instanceof PullError ? err : new PullError('connect', (err as Error).message);
      if (query === NO_GPUS_QUERY && pe.reason === 'http_status' && pe.message.startsWith('HTTP 400 ')) {
        // an exporter from before gpus=none: probe it whole from now on (its name is known, nothing is lost)
        e.wholeProbes = true;
        this.log.info('an exporter does not take /api/v1/gpus?gpus=none (an older version): its probes pull the whole document', { exporter: e.address });
      }
      e.lastError = `${pe.reason}: ${pe.message}`;
      this.log.debug('pull failed', { exporter: e.address, reason: pe.reason, error: pe.message });
      this.markAttempted(e);
      this.onEntry?.(e.address);
      this.emit('pull', { exporter: e.address, ok: false, durationMs: performance.now() - t0, reason: pe.reason, message: pe.message } satisfies PullEvent);
      if (this.inUse.has(e)) this.checkEntry(e, Date.now());
    }
  }
}
