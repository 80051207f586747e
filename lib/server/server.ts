// The HTTP server: a Fastify instance with the connection limits every listener of this project
// gets (connection-guard.ts), the web config's TLS, basic auth, rate limit and headers when one is
// given (every path), the 404/405 answers, and the given routes registered as a plugin. Only the
// composition root listens; tests use `inject`.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { observabilityRoutes, routePaths, type RoutesOptions } from './routes.js';
import { ConnectionGuard, type GuardOptions } from './connection-guard.js';
import type { BasicAuth, WebRuntime } from './web-security.js';

export interface ServerOptions {
  /** cap on open connections (default 4096); at the cap the oldest idle connection makes room */
  maxConnections?: number;
  /** ms a new connection may take to send its first complete request (default 5000) */
  firstRequestMs?: number;
  /** ms a request may take to arrive whole (default 10000) */
  requestTimeoutMs?: number;
  /** ms an idle keep-alive connection is kept (default 65000, above Prometheus' idle timeout) */
  keepAliveTimeoutMs?: number;
  /** ms a connection may stay silent in the middle of a request before it is closed (default 30000) */
  socketIdleTimeoutMs?: number;
  /** ms from a request's arrival until its response is written; past it the connection is closed (default: none; the connection guard checks it) */
  writeTimeoutMs?: number;
  /** the rest of the connection guard's bounds (connection-guard.ts) */
  guard?: Partial<GuardOptions>;
  /** a loaded web config (TLS, basic auth, rate limit, headers): web-security.ts webRuntime() */
  web?: WebRuntime | null;
}

export type GuardedServer = FastifyInstance & { connectionGuard: ConnectionGuard; basicAuth: BasicAuth | null };

export function buildServer(routes: RoutesOptions, opts: ServerOptions = {}): GuardedServer {
  const web = opts.web ?? null;
  const cfg = web?.config ?? null;
  const guard = new ConnectionGuard({
    ...(opts.maxConnections !== undefined ? { maxConnections: opts.maxConnections } : {}),
    ...(opts.firstRequestMs !== undefined ? { firstRequestMs: opts.firstRequestMs } : {}),
    // a client that does not read its response does not hold the connection past the write timeout
    ...(opts.writeTimeoutMs ? { writeTimeoutMs: opts.writeTimeoutMs } : {}),
    ...opts.guard,
  });
  const requestTimeout = opts.requestTimeoutMs ?? 10000;
  const serverFactory = (handler: (req: IncomingMessage, res: ServerResponse) => void): Server => {
    const common = {
      requestTimeout,
      headersTimeout: Math.min(requestTimeout, 5000),
      keepAliveTimeout: opts.keepAliveTimeoutMs ?? 65000,
      connectionsCheckingInterval: 1000,
      maxHeaderSize: 16 * 1024,
    };
    const server = web?.createServer ? web.createServer(common, handler) : createHttpServer(common, handler);
    server.timeout = opts.socketIdleTimeoutMs ?? 30000;
    guard.attach(server);
    return server;
  };
  const app = Fastify({
    logger: false,
    bodyLimit: 1024,
    return503OnClosing: true,
    serverFactory,
  }) as unknown as GuardedServer;
  app.decorate('connectionGuard', guard);

  const basic: BasicAuth | null = web?.basicAuth ?? null;
  if (cfg) {
    const headers = Object.entries(cfg.headers);
    const limit = web?.rateLimit ?? null;
    const auth = basic;
    // every path, before routing: rate limit, then credentials, then the configured headers
    app.addHook('onRequest', async (req, reply) => {
      for (const [k, v] of headers) reply.header(k, v);
      if (limit && !limit.take()) return reply.code(429).header('retry-after', '1').send({ error: 'too many requests (web config rate_limit)' });
      if (auth) {
        const r = await auth.check(req.headers.authorization);
        if (r === 'busy') return reply.code(429).header('retry-after', '1').send({ error: 'too many password checks at once; retry' });
        if (r === 'denied') return reply.code(401).header('www-authenticate', 'Basic realm="nvml-exporter"').send({ error: 'unauthorized' });
      }
    });
  }
  app.decorate('basicAuth', basic);

  void app.register(observabilityRoutes, routes);

  // Unknown path → 404; a known path with the wrong method → 405 with Allow.
  const paths = new Set(routePaths(routes));
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    if (paths.has(path)) {
      return reply.code(405).header('allow', 'GET, HEAD').send({ error: `method ${req.method} not allowed on ${path}` });
    }
    return reply.code(404).send({ error: `no such path: ${path}` });
  });
  return app;
}
