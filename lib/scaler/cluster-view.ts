// One view of every GPU in the cluster: discovers the exporters (a static list or all A/AAAA
// records of a headless Service, re-resolved periodically), pulls each one's /api/v1/gpus on its own
// timer with a deadline, at most one pull in flight per exporter, and keeps the last good document
// with its time. Nothing here blocks a reader: RPCs read documents() from memory.
import { EventEmitter } from 'node:events';
import { promises as dnsp } from 'node:dns';
import type { GpusDocument } from '../exposition/gpus-json-types.js';
import { silentLogger, type Logger } from '../logger.js';

export type PullErrorReason = 'timeout' | 'connect' | 'http_status' | 'invalid_json' | 'invalid_document' | 'stale_snapshot';

export interface PullEvent {
  exporter: string;
  ok: boolean;
  durationMs: number;
  reason?: PullErrorReason;
  message?: string;
}

export interface ClusterViewOptions {
  /** static exporters, `host:port` */
  exporters?: string[];
  /** `name:port`: every A/AAAA record of name is an exporter on port */
  exportersDns?: string;
  /** --pull-interval ms, default 500 */
  pullIntervalMs?: number;
  /** deadline of one pull, ms, default 400 (kept below the interval) */
  pullTimeoutMs?: number;
  /** --stale-after ms, default 3000: a node not answering for this long is excluded */
  staleAfterMs?: number;
  /** DNS re-resolution period, ms, default 10000 */
  dnsRefreshMs?: number;
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
  timer: NodeJS.Timeout | null;
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

/** Splits `host:port` / `[v6]:port`; throws naming the input when it is not one. */
export function splitHostPort(s: string, what: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:\s]+):(\d+)$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port > 0 && port < 65536)) {
    throw new Error(`${what}: "${s}" is not host:port (e.g. nvml-exporter-0.gpu:9400 or 10.0.0.7:9400)`);
  }
  return { host: m[1], port };
}

function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function isGpusDocument(v: unknown): v is GpusDocument {
  const d = v as GpusDocument;
  return !!d && typeof d === 'object' && typeof d.hostname === 'string' && Array.isArray(d.gpus);
}

class PullError extends Error {
  constructor(readonly reason: PullErrorReason, message: string) {
    super(message);
  }
}

export class ClusterView extends EventEmitter {
  readonly pullIntervalMs: number;
  readonly pullTimeoutMs: number;
  readonly staleAfterMs: number;
  readonly dnsRefreshMs: number;
  private readonly entries = new Map<string, Entry>();
  private readonly staticList: string[];
  private readonly dns: { host: string; port: number } | null;
  private readonly lookup: (name: string) => Promise<string[]>;
  private readonly log: Logger;
  private dnsTimer: NodeJS.Timeout | null = null;
  private staleTimer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(opts: ClusterViewOptions) {
    super();
    this.pullIntervalMs = opts.pullIntervalMs ?? 500;
    this.pullTimeoutMs = opts.pullTimeoutMs ?? 400;
    this.staleAfterMs = opts.staleAfterMs ?? 3000;
    this.dnsRefreshMs = opts.dnsRefreshMs ?? 10_000;
    this.lookup = opts.lookup ?? defaultLookup;
    this.log = opts.logger ?? silentLogger;
    this.staticList = (opts.exporters ?? []).map((s) => s.trim()).filter(Boolean);
    for (const s of this.staticList) splitHostPort(s, '--exporters');
    this.dns = opts.exportersDns ? splitHostPort(opts.exportersDns.trim(), '--exporters-dns') : null;
    if (this.staticList.length === 0 && !this.dns) {
      throw new Error('no exporters to pull: give --exporters host:port,… or --exporters-dns <headless-service>:9400');
    }
    for (const [name, v] of Object.entries({ pullIntervalMs: this.pullIntervalMs, pullTimeoutMs: this.pullTimeoutMs, staleAfterMs: this.staleAfterMs, dnsRefreshMs: this.dnsRefreshMs })) {
      if (!(Number.isFinite(v) && v > 0)) throw new Error(`${name} must be a number of milliseconds > 0, got ${v}`);
    }
  }

  /** Adds the exporters (resolving DNS once) and starts pulling; resolves after the first round. */
  async start(): Promise<void> {
    this.running = true;
    this.setExporters(this.staticList);
    if (this.dns) {
      await this.resolve();
      const tick = () => {
        this.dnsTimer = setTimeout(() => void this.resolve().finally(() => this.running && tick()), this.dnsRefreshMs);
        this.dnsTimer.unref();
      };
      tick();
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
    if (this.dnsTimer) clearTimeout(this.dnsTimer);
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
    if (!this.dns) return;
    try {
      const addrs = await this.lookup(this.dns.host);
      const list = [...new Set(addrs)].map((a) => joinHostPort(a, this.dns!.port));
      this.setExporters([...this.staticList, ...list]);
    } catch (err) {
      // keep the previous list: a DNS hiccup must not drop every node
      this.log.warn('cannot resolve exporters; keeping the previous list', { name: this.dns.host, error: err as Error });
      this.emit('dnsError', err);
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
        wasFresh: false, timer: null, abort: null, removed: false, attempted: false,
      };
      this.entries.set(addr, e);
      this.schedule(e, 0);
    }
    if (changed) this.emit('change');
  }

  private dropEntry(e: Entry): void {
    e.removed = true;
    if (e.timer) clearTimeout(e.timer);
    e.abort?.abort();
  }

  private schedule(e: Entry, delayMs: number): void {
    if (e.removed || !this.running || e.timer) return;
    e.timer = setTimeout(() => {
      e.timer = null;
      const started = Date.now();
      void this.pullOnce(e).finally(() => this.schedule(e, Math.max(0, this.pullIntervalMs - (Date.now() - started))));
    }, delayMs);
  }

  private async fetchDoc(e: Entry): Promise<GpusDocument> {
    const ctl = new AbortController();
    e.abort = ctl;
    const timer = setTimeout(() => ctl.abort(new PullError('timeout', `no answer within ${this.pullTimeoutMs} ms`)), this.pullTimeoutMs);
    try {
      let res: Response;
      try {
        res = await fetch(`http://${e.address}/api/v1/gpus`, { signal: ctl.signal, headers: { accept: 'application/json' } });
      } catch (err) {
        if (ctl.signal.aborted && ctl.signal.reason instanceof PullError) throw ctl.signal.reason;
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw new PullError('connect', cause?.code ?? cause?.message ?? (err as Error).message);
      }
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => {});
        throw new PullError('http_status', `HTTP ${res.status} from /api/v1/gpus`);
      }
      let body: unknown;
      try {
        body = JSON.parse(await res.text());
      } catch (err) {
        if (ctl.signal.aborted && ctl.signal.reason instanceof PullError) throw ctl.signal.reason;
        throw new PullError('invalid_json', `body is not JSON: ${(err as Error).message}`);
      }
      if (!isGpusDocument(body)) throw new PullError('invalid_document', 'body is not a GPUs document (no hostname / gpus[])');
      return body;
    } finally {
      clearTimeout(timer);
      e.abort = null;
    }
  }

  private async pullOnce(e: Entry): Promise<void> {
    if (e.removed) return;
    const t0 = performance.now();
    let ev: PullEvent;
    try {
      const doc = await this.fetchDoc(e);
      if (e.removed) return;
      const signature = JSON.stringify(doc.gpus) + (doc.stale ? '#stale' : '');
      const changed = signature !== e.signature;
      e.doc = doc;
      e.signature = signature;
      e.lastSuccessMs = Date.now();
      e.lastError = doc.stale ? 'the exporter reports its own snapshot as stale' : null;
      ev = doc.stale
        ? { exporter: e.address, ok: false, durationMs: performance.now() - t0, reason: 'stale_snapshot', message: e.lastError! }
        : { exporter: e.address, ok: true, durationMs: performance.now() - t0 };
      const fresh = this.isFresh(e, Date.now());
      const flipped = fresh !== e.wasFresh;
      e.wasFresh = fresh;
      e.attempted = true;
      this.emit('pull', ev);
      if (changed || flipped) this.emit('change');
      return;
    } catch (err) {
      if (e.removed) return;
      const pe = err instanceof PullError ? err : new PullError('connect', (err as Error).message);
      e.lastError = `${pe.reason}: ${pe.message}`;
      ev = { exporter: e.address, ok: false, durationMs: performance.now() - t0, reason: pe.reason, message: pe.message };
      this.log.debug('pull failed', { exporter: e.address, reason: pe.reason, error: pe.message });
      e.attempted = true;
      this.emit('pull', ev);
      this.checkFreshness();
    }
  }
}
