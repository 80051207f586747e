// One view of every GPU in the cluster: discovers the exporters (a static list or all A/AAAA
// records of a headless Service, re-resolved periodically), pulls each one's /api/v1/gpus on its own
// Poller with a deadline, at most one pull in flight per exporter, and keeps the last good document
// with its time. Every pulled document is bounded in size while it is read and validated against
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
// serve, and neither counted stale nor logged as such.
import { EventEmitter } from 'node:events';
import { promises as dnsp } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { joinHostPort, type PeerAddress } from '../contract/address.js';
import { validateGpusDocument, type GpusDocument } from '../contract/gpus-document.js';
import { gpusScopeQuery, type GpusScope } from '../contract/gpus-scope.js';
import { Poller } from '../collect/poller.js';
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
}

/** What the pulls need, per node (WorkloadDemand implements it). */
export interface PullDemand {
  /** the scope to pull `node` with, or null when nothing needs it */
  scopeFor(node: string): GpusScope | null;
}

/** Whether a document pulled with `scope` holds every GPU of these pods of `namespace`. */
function covers(scope: GpusScope | null, namespace: string, pods: ReadonlySet<string>): boolean {
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
  doc: GpusDocument | null;
  signature: string;
  lastSuccessMs: number | null;
  lastError: string | null;
  wasFresh: boolean;
  poller: Poller;
  abort: AbortController | null;
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
  });
}

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
  private staleTimer: NodeJS.Timeout | null = null;
  private running = false;
  private readonly security: PullSecurity;
  private readonly conflictsLogged = new Set<string>();
  private readonly demand: PullDemand | null;
  readonly idleProbeIntervalMs: number;
  private readonly agent: HttpAgent;
  /** pulls answered 304 Not Modified */
  notModified = 0;
  private probing = 0;

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
    // one kept-alive connection per exporter: no TCP (or TLS) handshake per pull
    const agentOpts = { keepAlive: true, maxSockets: 1, maxFreeSockets: 1, scheduling: 'lifo' as const };
    const sec = this.security;
    this.agent = sec.scheme === 'https'
      ? new HttpsAgent({ ...agentOpts, ca: sec.ca, cert: sec.cert, key: sec.key, servername: sec.serverName, checkServerIdentity: sec.serverName ? checkAgainst(sec.serverName) : undefined })
      : new HttpAgent(agentOpts);
    if (this.staticList.length === 0 && !this.dns) {
      throw new Error('no exporters to pull: give --exporters host:port,… or --exporters-dns <headless-service>:9400');
    }
    const bounds = {
      pullIntervalMs: this.pullIntervalMs, pullTimeoutMs: this.pullTimeoutMs, staleAfterMs: this.staleAfterMs,
      dnsRefreshMs: this.dnsRefreshMs, maxDocumentBytes: this.maxDocumentBytes, idleProbeIntervalMs: this.idleProbeIntervalMs,
    };
    for (const [name, v] of Object.entries(bounds)) {
      if (!(Number.isFinite(v) && v > 0)) throw new Error(`${name} must be a number > 0, got ${v}`);
    }
  }

  /** Adds the exporters (resolving DNS once) and starts pulling; resolves after the first round. */
  async start(): Promise<void> {
    this.running = true;
    this.setExporters(this.staticList);
    if (this.dns) {
      this.dnsPoller = new Poller({ intervalMs: this.dnsRefreshMs, task: () => this.resolve() });
      await this.dnsPoller.start();
    }
    // a node that stops answering turns stale even while its pull is still hanging
    this.staleTimer = setInterval(() => this.checkFreshness(), Math.max(50, Math.min(this.pullIntervalMs, this.staleAfterMs / 4)));
    this.staleTimer.unref();
    await this.firstRound(Math.min(this.pullTimeoutMs, 2000) + 50);
  }

  /** Waits until every exporter has been tried once (answered, failed or timed out), at most maxMs. */
  private firstRound(maxMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        if (![...this.entries.values()].every((e) => e.attempted)) return;
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
    if (this.staleTimer) clearInterval(this.staleTimer);
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
    // current: fresh, and its last document was pulled with a scope that holds these pods
    const current = (e: Entry) => this.isFresh(e, Date.now()) && covers(e.scope, namespace, nodes.get(e.doc!.hostname)!);
    // a pull in flight may have started before this workload was wanted (an older scope): then pull again
    const ensure = async (e: Entry) => {
      for (let i = 0; i < 3 && !e.removed; i++) {
        if (e.inflight) await e.inflight;
        if (current(e)) return;
        if (!e.inflight) await this.pullOnce(e, true);
      }
    };
    const waits: Promise<void>[] = [];
    const mine: Entry[] = [];
    for (const e of this.entries.values()) {
      if (!e.doc || !nodes.has(e.doc.hostname)) continue;
      mine.push(e);
      if (this.isFresh(e, now) && covers(e.scope, namespace, nodes.get(e.doc.hostname)!)) continue;
      waits.push(ensure(e));
    }
    if (waits.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled(waits), new Promise<void>((r) => (timer = setTimeout(r, maxWaitMs)))]);
      clearTimeout(timer);
    }
    // answering nodes whose document does not hold the workload's pods yet (a down node is not counted: it is stale)
    return mine.filter((e) => this.isFresh(e, Date.now()) && !covers(e.scope, namespace, nodes.get(e.doc!.hostname)!)).length;
  }

  /** The query an entry is pulled with now: '' (whole document) without demand or before its node is known. */
  private scopeOf(e: Entry): { query: string; scope: GpusScope | null } {
    if (!this.demand || !e.doc) return { query: '', scope: null };
    let scope = this.demand.scopeFor(e.doc.hostname);
    if (!scope) return { query: '', scope: null };
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

  /**
   * Fresh documents, one per node. When several endpoints claim the same hostname, the one that
   * claimed it first is used and the others are left out (conflicts() names them).
   */
  documents(now = Date.now(), nodes?: { has(node: string): boolean }): GpusDocument[] {
    return [...this.claims(now, nodes).values()].map((c) => c.entry.doc!);
  }

  /** Nodes claimed by more than one fresh endpoint right now. */
  conflicts(now = Date.now()): HostnameConflict[] {
    const out: HostnameConflict[] = [];
    for (const [hostname, c] of this.claims(now)) if (c.others.length > 0) out.push({ hostname, kept: c.entry.address, ignored: c.others });
    return out;
  }

  private claims(now: number, nodes?: { has(node: string): boolean }): Map<string, { entry: Entry; others: string[] }> {
    const byHost = new Map<string, { entry: Entry; others: string[] }>();
    for (const e of this.entries.values()) {
      if (!e.doc || (nodes && !nodes.has(e.doc.hostname)) || !this.isFresh(e, now)) continue;
      const prev = byHost.get(e.doc.hostname);
      if (!prev) {
        byHost.set(e.doc.hostname, { entry: e, others: [] });
        continue;
      }
      // the earlier claim keeps the node (ties: the lower address, so the answer is stable)
      const earlier = (e.claimedAt ?? Infinity) < (prev.entry.claimedAt ?? Infinity)
        || ((e.claimedAt ?? Infinity) === (prev.entry.claimedAt ?? Infinity) && e.address < prev.entry.address);
      if (earlier) byHost.set(e.doc.hostname, { entry: e, others: [...prev.others, prev.entry.address] });
      else prev.others.push(e.address);
    }
    for (const [hostname, c] of byHost) {
      if (c.others.length === 0) continue;
      const key = `${hostname}|${c.entry.address}|${c.others.join(',')}`;
      if (this.conflictsLogged.has(key)) continue;
      if (this.conflictsLogged.size > 1000) this.conflictsLogged.clear();
      this.conflictsLogged.add(key);
      this.log.warn('two exporters claim the same node: the first claim is kept, the others are left out', { hostname, kept: c.entry.address, ignored: c.others.join(',') });
    }
    return byHost;
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

  private isFresh(e: Entry, now: number): boolean {
    return e.lastSuccessMs !== null && now - e.lastSuccessMs <= this.staleAfterMs && !!e.doc && !e.doc.stale;
  }

  private checkFreshness(): void {
    const now = Date.now();
    let changed = false;
    for (const e of this.entries.values()) {
      const fresh = this.isFresh(e, now);
      if (fresh !== e.wasFresh) {
        e.wasFresh = fresh;
        // an idle exporter ages out by design: no query reads it, nothing to re-evaluate or report
        if (e.idle) continue;
        changed = true;
        this.log[fresh ? 'info' : 'warn'](fresh ? 'exporter is fresh' : 'exporter is stale: its GPUs are excluded', {
          exporter: e.address,
          lastError: e.lastError,
        });
      }
    }
    if (changed) this.emit('change');
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
    for (const addr of want) {
      if (this.entries.has(addr)) continue;
      const e: Entry = {
        address: addr, doc: null, signature: '', lastSuccessMs: null, lastError: null,
        wasFresh: false, abort: null, removed: false, attempted: false, claimedAt: null,
        query: '', scope: null, etag: null, idle: false, lastAttemptMs: 0, inflight: null,
        poller: new Poller({ intervalMs: this.pullIntervalMs, task: () => this.pullOnce(e) }),
      };
      this.entries.set(addr, e);
      if (this.running) void e.poller.start();
    }
    if (changed) this.emit('change');
  }

  private dropEntry(e: Entry): void {
    e.removed = true;
    e.poller.stop();
    e.abort?.abort();
  }

  /** GET /api/v1/gpus from one endpoint: no redirect is followed, the body is capped as it streams in. */
  private get(e: Entry, query: string, signal: AbortSignal, keepAlive = true): Promise<IncomingMessage> {
    const sec = this.security;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (sec.basicAuth) headers.authorization = `Basic ${Buffer.from(sec.basicAuth).toString('base64')}`;
    if (e.etag && e.query === query && e.doc) headers['if-none-match'] = e.etag;
    const url = `${sec.scheme}://${e.address}/api/v1/gpus${query ? `?${query}` : ''}`;
    return new Promise((resolve, reject) => {
      // probes of idle exporters do not keep a connection (thousands of idle sockets cost memory)
      const opts = keepAlive ? { signal, headers, agent: this.agent } : { signal, headers, agent: false as const, ...this.tlsOptions() };
      const req = sec.scheme === 'https' ? httpsRequest(url, opts, resolve) : httpRequest(url, opts, resolve);
      req.on('error', reject);
      req.end();
    });
  }

  private tlsOptions(): object {
    const sec = this.security;
    return sec.scheme === 'https'
      ? { ca: sec.ca, cert: sec.cert, key: sec.key, servername: sec.serverName, checkServerIdentity: sec.serverName ? checkAgainst(sec.serverName) : undefined }
      : {};
  }

  /** The exporter's document, or null for 304 Not Modified (the one held is still current). */
  private async fetchDoc(e: Entry, query: string): Promise<{ doc: GpusDocument; etag: string | null } | null> {
    const ctl = new AbortController();
    e.abort = ctl;
    const timer = setTimeout(() => ctl.abort(new PullError('timeout', `no answer within ${this.pullTimeoutMs} ms`)), this.pullTimeoutMs);
    const timedOut = () => ctl.signal.aborted && ctl.signal.reason instanceof PullError;
    try {
      let res: IncomingMessage;
      try {
        res = await this.get(e, query, ctl.signal, !(this.demand && (e.idle || !e.doc)));
      } catch (err) {
        if (timedOut()) throw ctl.signal.reason;
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
        if (timedOut()) throw ctl.signal.reason;
        if (err instanceof PullError) throw err;
        throw new PullError('invalid_json', `body is not JSON: ${(err as Error).message}`);
      }
      const v = validateGpusDocument(body);
      if (!v.ok) throw new PullError('invalid_document', `not a GPUs document: ${v.error}`);
      const tag = res.headers.etag;
      return { doc: v.doc, etag: typeof tag === 'string' && tag.length <= 128 ? tag : null };
    } finally {
      clearTimeout(timer);
      e.abort = null;
    }
  }

  /** One pull of one exporter (the poller's task; `now` = asked for by refresh, not by the timer). */
  private pullOnce(e: Entry, now = false): Promise<void> {
    if (e.removed || e.inflight) return e.inflight ?? Promise.resolve();
    e.idle = this.isIdle(e);
    // an idle exporter is only probed, to learn which node it serves
    if (!now && e.idle && Date.now() - e.lastAttemptMs < this.idleProbeIntervalMs) return Promise.resolve();
    // probes and first pulls (node not known yet) share a few slots: thousands of exporters
    // appearing at once must not become thousands of connections every interval
    const probe = !!this.demand && (!e.doc || e.idle);
    if (probe && !now) {
      if (this.probing >= MAX_CONCURRENT_PROBES) return Promise.resolve();
      this.probing++;
    }
    const p = this.pullNow(e).finally(() => {
      e.inflight = null;
      if (probe && !now) this.probing--;
    });
    e.inflight = p;
    return p;
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
        e.idle = this.isIdle(e);
        if (e.idle) {
          // an idle exporter is kept only for its node's name: its GPUs are not held (memory at
          // thousands of nodes), and a workload that needs it pulls it again
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
      e.attempted = true;
      this.emit('pull', ev);
      if ((changed || flipped) && !e.idle) this.emit('change');
    } catch (err) {
      if (e.removed) return;
      const pe = err instanceof PullError ? err : new PullError('connect', (err as Error).message);
      e.lastError = `${pe.reason}: ${pe.message}`;
      this.log.debug('pull failed', { exporter: e.address, reason: pe.reason, error: pe.message });
      e.attempted = true;
      this.emit('pull', { exporter: e.address, ok: false, durationMs: performance.now() - t0, reason: pe.reason, message: pe.message } satisfies PullEvent);
      this.checkFreshness();
    }
  }
}
