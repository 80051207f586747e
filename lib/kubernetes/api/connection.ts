// The connection to the Kubernetes API server: @kubernetes/client-node's KubeConfig (in-cluster
// configuration — the ServiceAccount token, re-read as it rotates, and the cluster CA — or a
// kubeconfig file given with --kubernetes-api-kubeconfig), and bounded requests over it.
//
// Why the requests are ours and not the client's generated API or its Watch: an API answer is
// untrusted input that must be bounded before it is processed. The client's list calls read and
// parse a whole answer of any size, and its Watch reads lines of any length with no deadline; here a
// list is read page by page (`limit` + `continue`) with a byte cap per page and a deadline, and a
// watch line longer than the cap ends the watch. The client still does what it does well: the
// configuration, the credentials, and the informer's cache (ListWatch, lib/kubernetes/api/informer.ts).
//
// This module is loaded only when an option needs the API (a dynamic import from lib/app/), so the
// default footprint does not grow: loading @kubernetes/client-node costs ~70 MB of RSS and ~1 s.
import * as http from 'node:http';
import * as https from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';

/** Why an API call failed, as the self-metrics count it. */
export type ApiErrorReason = 'unreachable' | 'timeout' | 'unauthorized' | 'forbidden' | 'not_found' | 'gone' | 'too_large' | 'malformed' | 'server_error' | 'other';

export class ApiError extends Error {
  constructor(
    readonly reason: ApiErrorReason,
    message: string,
    /** the HTTP status, when the server answered */
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiBounds {
  /** deadline of a list page or a get, in ms (default 30000) */
  requestTimeoutMs?: number;
  /** the most bytes of one answer (a list page, a get) or one watch line (default 8 MiB) */
  maxBytes?: number;
  /** a watch that sends nothing (not even a bookmark) for this long is ended and re-opened (default 120000 ms) */
  watchIdleMs?: number;
  /** the server ends a watch after this many seconds (the `timeoutSeconds` parameter; default 300) */
  watchTimeoutSeconds?: number;
}

export interface ApiConnection {
  /** the API server's URL, for logs */
  readonly server: string;
  readonly bounds: Required<ApiBounds>;
  /** GET a JSON document (bounded in size and time) */
  getJson(path: string, query?: Record<string, string>): Promise<unknown>;
  /**
   * Opens a watch: `onEvent` for every line (type, object), `done` once when it ends (null: the
   * server closed it normally). Returns a handle whose abort() ends it without calling done.
   */
  watch(path: string, query: Record<string, string>, onEvent: (type: string, object: unknown) => void, done: (err: ApiError | null) => void): Promise<{ abort(): void }>;
}

const DEFAULT_BOUNDS: Required<ApiBounds> = { requestTimeoutMs: 30_000, maxBytes: 8 * 1024 * 1024, watchIdleMs: 120_000, watchTimeoutSeconds: 300 };

function reasonOf(status: number): ApiErrorReason {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 410) return 'gone';
  if (status >= 500) return 'server_error';
  return 'other';
}

function networkError(err: NodeJS.ErrnoException, server: string): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError('unreachable', `the Kubernetes API server ${server} cannot be reached: ${err.code ?? ''} ${err.message}`.replace(/\s+/g, ' '));
}

/**
 * The KubeConfig: from `kubeconfig` when given, else in-cluster (KUBERNETES_SERVICE_HOST/PORT, the
 * ServiceAccount token and CA). Throws with the fix when neither is available.
 */
export async function loadKubeConfig(kubeconfig: string | null): Promise<KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (kubeconfig) {
    try {
      kc.loadFromFile(kubeconfig);
    } catch (err) {
      throw new Error(`--kubernetes-api-kubeconfig ${kubeconfig}: ${(err as Error).message}`, { cause: err });
    }
    if (!kc.getCurrentCluster()) throw new Error(`--kubernetes-api-kubeconfig ${kubeconfig}: no current cluster (set current-context)`);
    return kc;
  }
  if (!process.env.KUBERNETES_SERVICE_HOST) {
    throw new Error(
      'the Kubernetes API options need the in-cluster configuration (KUBERNETES_SERVICE_HOST is unset: not running in a pod?) ' +
        'or --kubernetes-api-kubeconfig PATH',
    );
  }
  kc.loadFromCluster();
  return kc;
}

export function createConnection(kc: KubeConfig, bounds: ApiBounds = {}): ApiConnection {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig names no current cluster');
  const server = cluster.server.replace(/\/+$/, '');
  const b: Required<ApiBounds> = { ...DEFAULT_BOUNDS, ...bounds };
  const base = new URL(server);
  const secure = base.protocol === 'https:';
  if (!secure && base.protocol !== 'http:') throw new Error(`the Kubernetes API server URL ${server} is neither https:// nor http://`);
  const agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 8 }) : new http.Agent({ keepAlive: true, maxSockets: 8 });

  const open = async (path: string, query: Record<string, string>, timeoutMs: number): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> => {
    const url = new URL(base.pathname.replace(/\/$/, '') + path, base);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const opts: https.RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
    // credentials and TLS material as the configuration says (the token file is read each time: it rotates)
    await kc.applyToHTTPSOptions(opts);
    opts.agent = agent;
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(url, opts, (res) => resolve({ req, res }));
      req.setTimeout(timeoutMs, () => req.destroy(new ApiError('timeout', `the Kubernetes API server did not answer ${path} within ${timeoutMs} ms`)));
      req.on('error', (err) => reject(networkError(err, server)));
      req.end();
    });
  };

  const readBody = (res: http.IncomingMessage, what: string): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (n > b.maxBytes) {
          res.destroy();
          reject(new ApiError('too_large', `${what}: the answer is larger than ${b.maxBytes} bytes; refused`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', (err) => reject(networkError(err, server)));
    });

  const statusError = async (res: http.IncomingMessage, path: string): Promise<ApiError> => {
    let detail = '';
    try {
      const body = await readBody(res, path);
      const status = JSON.parse(body.subarray(0, 4096).toString('utf8')) as { message?: unknown };
      if (typeof status?.message === 'string') detail = `: ${status.message.slice(0, 300)}`;
    } catch {
      // the status line says enough
    }
    const code = res.statusCode ?? 0;
    return new ApiError(reasonOf(code), `GET ${path}: HTTP ${code}${detail}`, code);
  };

  return {
    server,
    bounds: b,
    async getJson(path, query = {}) {
      const { req, res } = await open(path, query, b.requestTimeoutMs);
      try {
        if (res.statusCode !== 200) throw await statusError(res, path);
        const body = await readBody(res, `GET ${path}`);
        try {
          return JSON.parse(body.toString('utf8')) as unknown;
        } catch {
          throw new ApiError('malformed', `GET ${path}: the answer is not JSON`);
        }
      } catch (err) {
        req.destroy();
        throw err;
      }
    },
    async watch(path, query, onEvent, done) {
      let finished = false;
      let aborted = false;
      const finish = (err: ApiError | null) => {
        if (finished) return;
        finished = true;
        if (!aborted) done(err);
      };
      let opened: { req: http.ClientRequest; res: http.IncomingMessage };
      try {
        opened = await open(path, { ...query, watch: 'true', timeoutSeconds: String(b.watchTimeoutSeconds), allowWatchBookmarks: 'true' }, b.watchIdleMs);
      } catch (err) {
        finish(err instanceof ApiError ? err : networkError(err as Error, server));
        return { abort: () => {} };
      }
      const { req, res } = opened;
      const handle = {
        abort() {
          aborted = true;
          req.destroy();
        },
      };
      if (res.statusCode !== 200) {
        finish(await statusError(res, path));
        return handle;
      }
      // the socket deadline now bounds the silence between two lines (bookmarks arrive about once a minute)
      req.setTimeout(b.watchIdleMs, () => {
        req.destroy();
        finish(new ApiError('timeout', `the watch of ${path} sent nothing for ${b.watchIdleMs} ms`));
      });
      let pending = 0;
      res.on('data', (c: Buffer) => {
        const nl = c.lastIndexOf(0x0a);
        pending = nl < 0 ? pending + c.length : c.length - nl - 1;
        if (pending > b.maxBytes) {
          req.destroy();
          finish(new ApiError('too_large', `a watch event of ${path} is larger than ${b.maxBytes} bytes; refused`));
        }
      });
      const lines = createInterface({ input: res, crlfDelay: Infinity });
      lines.on('error', (err) => finish(networkError(err, server)));
      req.on('error', (err) => finish(networkError(err, server)));
      lines.on('line', (line) => {
        if (finished || line.trim() === '') return;
        let ev: { type?: unknown; object?: unknown };
        try {
          ev = JSON.parse(line) as typeof ev;
        } catch {
          req.destroy();
          finish(new ApiError('malformed', `a watch event of ${path} is not JSON`));
          return;
        }
        if (typeof ev?.type !== 'string' || typeof ev.object !== 'object' || ev.object === null) {
          req.destroy();
          finish(new ApiError('malformed', `a watch event of ${path} has no type or object`));
          return;
        }
        onEvent(ev.type, ev.object);
      });
      res.on('error', (err) => finish(networkError(err, server)));
      res.on('close', () => finish(null));
      return handle;
    },
  };
}
