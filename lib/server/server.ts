// The HTTP server: a Fastify instance with the connection limits every listener of this project
// gets, the 404/405 answers, and the given routes registered as a plugin. Only the composition
// root listens; tests use `inject`.
import Fastify, { type FastifyInstance } from 'fastify';
import { observabilityRoutes, routePaths, type RoutesOptions } from './routes.js';

export interface ServerOptions {
  /** cap on open connections (default 256) */
  maxConnections?: number;
  /** ms a request may take to arrive whole (default 10000) */
  requestTimeoutMs?: number;
  /** ms an idle keep-alive connection is kept (default 65000, above Prometheus' idle timeout) */
  keepAliveTimeoutMs?: number;
  /** ms a connection may stay silent in the middle of a request before it is closed (default 30000) */
  socketIdleTimeoutMs?: number;
  /** ms from a request's arrival until its response is written; past it the connection is closed (default: none) */
  writeTimeoutMs?: number;
}

export function buildServer(routes: RoutesOptions, opts: ServerOptions = {}): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: 1024,
    requestTimeout: opts.requestTimeoutMs ?? 10000,
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? 65000,
    connectionTimeout: opts.socketIdleTimeoutMs ?? 30000,
    return503OnClosing: true,
  });
  app.server.maxConnections = opts.maxConnections ?? 256;
  app.server.headersTimeout = Math.min(opts.requestTimeoutMs ?? 10000, 10000);
  const writeTimeoutMs = opts.writeTimeoutMs;
  if (writeTimeoutMs) {
    // a client that does not read its response does not hold the connection past the write timeout
    app.addHook('onRequest', (req, _reply, done) => {
      const timer = setTimeout(() => req.raw.socket?.destroy(), writeTimeoutMs);
      timer.unref();
      req.raw.once('close', () => clearTimeout(timer));
      (req as unknown as { writeTimer: NodeJS.Timeout }).writeTimer = timer;
      done();
    });
    app.addHook('onResponse', (req, _reply, done) => {
      clearTimeout((req as unknown as { writeTimer?: NodeJS.Timeout }).writeTimer);
      done();
    });
  }
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
