// One view of every GPU in the cluster: discovers the exporters (a static list or all A/AAAA
// records of a headless Service, re-resolved periodically), pulls each one's /api/v1/gpus on its own
// Poller with a deadline, at most one pull in flight per exporter, and keeps the last good document
// with its time. Every pulled document is bounded in size while it is read and validated against
// the contract's JSON Schema before it is used: a bad document excludes only its own node, counted
// by reason. Nothing here blocks a reader: RPCs read documents() from memory.
import { EventEmitter } from 'node:events';
import { promises as dnsp } from 'node:dns';
import { joinHostPort, type PeerAddress } from '../contract/address.js';
import { validateGpusDocument, type GpusDocument } from '../contract/gpus-document.js';
import { Poller } from '../collect/poller.js';
import { silentLogger, type Logger } from '../logger.js';

export type PullErrorReason = 'timeout' | 'connect' | 'http_status' | 'too_large' | 'invalid_json' | 'invalid_document' | 'stale_snapshot';

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
  logger?: Logger;
}

export interface ExporterState {
  address: string;
  doc: GpusDocument | null;
  lastSuccessMs: number | null;
  lastError: string | null;
  fresh: boolean;
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

/** Reads a response body up to `max` bytes; more is a PullError('too_large') and the rest is not read. */
async function readCapped(res: Response, max: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel().catch(() => {});
    throw new PullError('too_large', `the document is ${declared} bytes, more than the ${max} accepted`);
  }
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw new PullError('too_large', `the document is more than the ${max} bytes accepted`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total).toString('utf8');
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

  constructor(opts: ClusterViewOptions) {
    super();
    this.pullIntervalMs = opts.pullIntervalMs ?? 500;
    this.pullTimeoutMs = opts.pullTimeoutMs ?? 400;
    this.staleAfterMs = opts.staleAfterMs ?? 3000;
    this.dnsRefreshMs = opts.dnsRefreshMs ?? 10_000;
    this.maxDocumentBytes = opts.maxDocumentBytes ?? 4 * 1024 * 1024;
    this.lookup = opts.lookup ?? defaultLookup;
    this.log = opts.logger ?? silentLogger;
    this.staticList = (opts.exporters ?? []).map((p) => p.text);
    this.dns = opts.exportersDns ?? null;
    if (this.staticList.length === 0 && !this.dns) {
      throw new Error('no exporters to pull: give --exporters host:port,… or --exporters-dns <headless-service>:9400');
    }
    const bounds = {
      pullIntervalMs: this.pullIntervalMs, pullTimeoutMs: this.pullTimeoutMs, staleAfterMs: this.staleAfterMs,
      dnsRefreshMs: this.dnsRefreshMs, maxDocumentBytes: this.maxDocumentBytes,
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
  }

  /** Fresh documents, one per hostname (the most recent when two exporters report the same node). */
  documents(now = Date.now()): GpusDocument[] {
    const byHost = new Map<string, { doc: GpusDocument; at: number }>();
    for (const e of this.entries.values()) {
      if (!this.isFresh(e, now) || !e.doc) continue;
      const prev = byHost.get(e.doc.hostname);
      if (!prev || prev.at < (e.lastSuccessMs ?? 0)) byHost.set(e.doc.hostname, { doc: e.doc, at: e.lastSuccessMs ?? 0 });
    }
    return [...byHost.values()].map((v) => v.doc);
  }

  exporters(now = Date.now()): ExporterState[] {
    return [...this.entries.values()].map((e) => ({
      address: e.address,
      doc: e.doc,
      lastSuccessMs: e.lastSuccessMs,
      lastError: e.lastError,
      fresh: this.isFresh(e, now),
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
        wasFresh: false, abort: null, removed: false, attempted: false,
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

  private async fetchDoc(e: Entry): Promise<GpusDocument> {
    const ctl = new AbortController();
    e.abort = ctl;
    const timer = setTimeout(() => ctl.abort(new PullError('timeout', `no answer within ${this.pullTimeoutMs} ms`)), this.pullTimeoutMs);
    const timedOut = () => ctl.signal.aborted && ctl.signal.reason instanceof PullError;
    try {
      let res: Response;
      try {
        // redirects are not followed: a document counts only for the endpoint that served it
        res = await fetch(`http://${e.address}/api/v1/gpus`, { signal: ctl.signal, redirect: 'manual', headers: { accept: 'application/json' } });
      } catch (err) {
        if (timedOut()) throw ctl.signal.reason;
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw new PullError('connect', cause?.code ?? cause?.message ?? (err as Error).message);
      }
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => {});
        throw new PullError('http_status', `HTTP ${res.status} from /api/v1/gpus${res.status >= 300 && res.status < 400 ? ' (redirects are not followed)' : ''}`);
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
      return v.doc;
    } finally {
      clearTimeout(timer);
      e.abort = null;
    }
  }

  private async pullOnce(e: Entry): Promise<void> {
    if (e.removed) return;
    const t0 = performance.now();
    try {
      const doc = await this.fetchDoc(e);
      if (e.removed) return;
      const signature = JSON.stringify(doc.gpus) + (doc.stale ? '#stale' : '');
      const changed = signature !== e.signature;
      e.doc = doc;
      e.signature = signature;
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
      if (changed || flipped) this.emit('change');
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
