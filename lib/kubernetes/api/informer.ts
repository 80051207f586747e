// One list+watch of a kind of Kubernetes object, kept in memory: @kubernetes/client-node's
// ListWatch (the cache keyed by namespace and name, resource versions, a re-list after 410 Gone)
// over our bounded connection (connection.ts), plus what ListWatch leaves to its user: a restart
// with backoff after any other failure, the status the self-metrics read, and objects trimmed to
// what we read before they are stored (a pod is kept as a few strings, not its whole spec).
//
// Events: 'change' after any object was added, changed or removed (and after a re-list), 'status'
// after the health changed.
import { EventEmitter } from 'node:events';
import type { ListWatch } from '@kubernetes/client-node';
import type { Logger } from '../../logger.js';
import { silentLogger } from '../../logger.js';
import { ApiError, type ApiConnection, type ApiErrorReason } from './connection.js';

/** The part of an object every informer keeps. */
export interface KubeObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
}

/** What an informer reports about its health; the self-metrics read it. */
export interface ApiWatchStatus {
  /** the last list succeeded and the watch has not failed since */
  up: boolean;
  /** failures since start, by reason */
  errorsByReason: Readonly<Record<string, number>>;
  /** ms since epoch of the last successful list or watch event; null before the first list */
  lastContactMs: number | null;
  lastError: { reason: string; message: string; atMs: number } | null;
}

export interface InformerOptions<T extends KubeObject> {
  connection: ApiConnection;
  /** e.g. `/api/v1/pods`, `/api/v1/namespaces/gpu/configmaps` */
  path: string;
  fieldSelector?: string;
  /** what to keep of one object; null drops it (counted as malformed) */
  trim: (raw: unknown) => T | null;
  /** for logs: `pods on node-1` */
  what: string;
  /** the most objects one list may hold (default 100000) */
  maxItems?: number;
  /** objects per list page (default 500) */
  pageSize?: number;
  /** first and longest wait before a restart after a failure (default 500 ms, 30000 ms) */
  backoffMs?: { first: number; max: number };
  logger?: Logger;
  now?: () => number;
}

interface ListAnswer {
  metadata?: { resourceVersion?: unknown; continue?: unknown };
  items?: unknown;
}

export class Informer<T extends KubeObject> extends EventEmitter {
  private lw: ListWatch<T & object> | null = null;
  private running = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private backoff: number;
  private readonly errors: Record<string, number> = {};
  private up = false;
  private lastContactMs: number | null = null;
  private lastError: ApiWatchStatus['lastError'] = null;
  private lastReason: string | null = null;
  private lastWatchOpen = 0;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly opts: InformerOptions<T>) {
    super();
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.backoff = opts.backoffMs?.first ?? 500;
  }

  /** Starts listing and watching (the client module loads on the first call). Never rejects. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const { ListWatch } = await import('@kubernetes/client-node');
    if (!this.running) return;
    const conn = this.opts.connection;
    const watch = {
      watch: async (path: string, query: Record<string, string | undefined>, cb: (phase: string, obj: T, raw: unknown) => void, done: (err: unknown) => void) => {
        // a server that ends every watch at once would have us re-open in a loop: at most one per second
        const wait = this.lastWatchOpen + 1000 - this.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        this.lastWatchOpen = this.now();
        const q: Record<string, string> = {};
        for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q[k] = String(v);
        return conn.watch(path, q, (type, object) => this.onWatchEvent(type, object, cb), (err) => done(this.fromWatchEnd(err)));
      },
    };
    this.lw = new ListWatch<T & object>(this.opts.path, watch as never, () => this.listAll() as never, false, undefined, this.opts.fieldSelector);
    const changed = () => this.emit('change');
    this.lw.on('add', changed);
    this.lw.on('update', changed);
    this.lw.on('delete', changed);
    this.lw.on('error', (err: unknown) => this.failed(err));
    await this.lw.start();
  }

  stop(): void {
    this.running = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    void this.lw?.stop();
  }

  /** every object held, or those of one namespace (the cache is kept by namespace) */
  list(namespace?: string): T[] {
    return (this.lw?.list(namespace) ?? []) as T[];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.lw?.get(name, namespace) as T | undefined;
  }

  status(): ApiWatchStatus {
    return { up: this.up, errorsByReason: { ...this.errors }, lastContactMs: this.lastContactMs, lastError: this.lastError ? { ...this.lastError } : null };
  }

  private contact(): void {
    this.lastContactMs = this.now();
    if (!this.up) {
      this.up = true;
      if (this.lastReason !== null) this.log.info(`Kubernetes API answers again (${this.opts.what})`, { server: this.opts.connection.server });
      this.lastReason = null;
      this.backoff = this.opts.backoffMs?.first ?? 500;
      this.emit('status');
    }
  }

  /** The whole list, page by page; each page bounded by the connection, the sum by maxItems. */
  private async listAll(): Promise<{ metadata: { resourceVersion: string }; items: T[] }> {
    const items: T[] = [];
    const max = this.opts.maxItems ?? 100_000;
    let cont = '';
    let rv: string;
    let dropped = 0;
    for (;;) {
      const q: Record<string, string> = { limit: String(this.opts.pageSize ?? 500) };
      if (this.opts.fieldSelector) q.fieldSelector = this.opts.fieldSelector;
      if (cont) q.continue = cont;
      const page = (await this.opts.connection.getJson(this.opts.path, q)) as ListAnswer;
      if (typeof page !== 'object' || page === null || !Array.isArray(page.items)) {
        throw new ApiError('malformed', `the list of ${this.opts.what} has no items`);
      }
      for (const raw of page.items as unknown[]) {
        const o = this.opts.trim(raw);
        if (o) items.push(o);
        else dropped++;
      }
      if (items.length > max) throw new ApiError('too_large', `the list of ${this.opts.what} holds more than ${max} objects; refused`);
      rv = typeof page.metadata?.resourceVersion === 'string' ? page.metadata.resourceVersion : '';
      cont = typeof page.metadata?.continue === 'string' ? page.metadata.continue : '';
      if (!cont) break;
      await new Promise((r) => setImmediate(r)); // other work runs between pages
    }
    if (dropped > 0) this.count('malformed', `${dropped} object(s) of the list of ${this.opts.what} lacked a name; ignored`, dropped, false);
    this.contact();
    this.emit('change'); // a re-list may have changed objects without an event per object
    return { metadata: { resourceVersion: rv }, items };
  }

  private onWatchEvent(type: string, object: unknown, cb: (phase: string, obj: T, raw: unknown) => void): void {
    if (type === 'ERROR') {
      const code = (object as { code?: unknown }).code;
      if (code === 410) this.count('gone', `the watch of ${this.opts.what} expired (410 Gone); listing again`, 1, false);
      cb(type, object as T, object); // ListWatch forgets the resource version on 410
      return;
    }
    if (type === 'BOOKMARK') {
      const rv = (object as KubeObject).metadata?.resourceVersion;
      this.contact();
      if (typeof rv === 'string') cb(type, { metadata: { name: '', resourceVersion: rv } } as T, object);
      return;
    }
    const o = this.opts.trim(object);
    if (!o) {
      this.count('malformed', `a watch event of ${this.opts.what} lacked a name; ignored`, 1, false);
      return;
    }
    this.contact();
    cb(type, o, object);
  }

  /** A watch that ended: 410 goes to ListWatch (it lists again), anything else too, as an error. */
  private fromWatchEnd(err: ApiError | null): unknown {
    if (!err) return null;
    if (err.reason === 'gone') {
      this.count('gone', `the watch of ${this.opts.what} expired (410 Gone); listing again`, 1, false);
      return { statusCode: 410 };
    }
    return err;
  }

  private count(reason: ApiErrorReason | string, message: string, n: number, down: boolean): void {
    this.errors[reason] = (this.errors[reason] ?? 0) + n;
    this.lastError = { reason, message, atMs: this.now() };
    if (down) {
      const wasUp = this.up;
      this.up = false;
      if (reason !== this.lastReason) this.log.warn(`Kubernetes API: ${message}`, { server: this.opts.connection.server });
      this.lastReason = reason;
      if (wasUp) this.emit('status');
    } else {
      this.log.debug(`Kubernetes API: ${message}`);
    }
    this.emit('error-counted', reason, n);
  }

  /** ListWatch stopped on an error: count it, and start again after a backoff. */
  private failed(err: unknown): void {
    if (!this.running) return;
    const e = err instanceof ApiError ? err : new ApiError('other', String((err as Error)?.message ?? err));
    const wait = this.backoff;
    this.count(e.reason, `${this.opts.what}: ${e.message}; retrying in ${wait} ms`, 1, true);
    this.backoff = Math.min(this.backoff * 2, this.opts.backoffMs?.max ?? 30_000);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.running) void this.lw?.start();
    }, wait * (0.8 + 0.4 * Math.random()));
    this.restartTimer.unref();
  }
}
