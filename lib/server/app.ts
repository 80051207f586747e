// The HTTP surface, built by a function (only bin/ listens): /metrics, /health, /ready, /, and
// /api/v1/gpus. Every answer comes from memory: the last snapshot and the last pod map.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { gzipSync } from 'node:zlib';
import type { GpusDocument } from '../exposition/gpus-json-types.js';

export interface MetricsPage {
  /** the GPU families; the same string while nothing changed */
  gpuText: string;
  /** the exporter's own metrics; the same string while nothing changed */
  selfText: string;
}

export interface ServerSources {
  renderMetrics(): Promise<MetricsPage> | MetricsPage;
  ready(): { ok: boolean; reason: string };
  gpusDocument(): GpusDocument | null;
}

export interface ServerOptions {
  /** cap on open connections (default 256) */
  maxConnections?: number;
  /** ms a request may take to arrive whole (default 10000) */
  requestTimeoutMs?: number;
  /** ms an idle keep-alive connection is kept (default 65000, above Prometheus' idle timeout) */
  keepAliveTimeoutMs?: number;
  /** ms a connection may stay silent in the middle of a request before it is closed (default 30000) */
  socketIdleTimeoutMs?: number;
}

export const CONTENT_TYPE_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Whether an Accept-Encoding header allows gzip (RFC 9110 §12.5.3): `gzip` (or `x-gzip`) with a
 * q-value above 0, or else `*` with a q-value above 0. `gzip;q=0` refuses it.
 */
export function acceptsGzip(header: string): boolean {
  let star: boolean | null = null;
  for (const part of header.split(',')) {
    const [coding = '', ...params] = part.split(';');
    const name = coding.trim().toLowerCase();
    if (name !== 'gzip' && name !== 'x-gzip' && name !== '*') continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    const ok = Number.isFinite(q) && q > 0;
    if (name === '*') star = ok;
    else return ok;
  }
  return star === true;
}

const PATHS = new Set(['/', '/metrics', '/health', '/ready', '/api/v1/gpus']);

function landingPage(): string {
  return (
    '<!doctype html><html><head><title>nvml-exporter</title></head><body>' +
    '<h1>nvml-exporter</h1><p>GPU metrics over NVML, compatible with dcgm-exporter.</p><ul>' +
    '<li><a href="metrics">/metrics</a> — Prometheus exposition</li>' +
    '<li><a href="health">/health</a> — the process is alive</li>' +
    '<li><a href="ready">/ready</a> — NVML is open and the last sweep is fresh</li>' +
    '<li><a href="api/v1/gpus">/api/v1/gpus</a> — the current snapshot as JSON</li>' +
    '</ul></body></html>\n'
  );
}

export function buildApp(src: ServerSources, opts: ServerOptions = {}): FastifyInstance {
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

  // The page changes about once per sweep: keep its bytes, plain and gzipped, until either part
  // changes, so that a scrape in between only sends a buffer it already has. One buffer per page
  // (the GPU part is a view of it): each one outlives the young generation, so fewer is better.
  // The GPU part, the bigger one, keeps its own gzip member across changes of the self-metrics
  // (two gzip members back to back are one valid gzip stream).
  let gpuFor: string | null = null;
  let selfFor: string | null = null;
  let page: Buffer = Buffer.alloc(0);
  let gpuLength = 0;
  let gpuGz: Buffer | null = null;
  let pageGz: Buffer | null = null;
  const bodyFor = (p: MetricsPage, gzip: boolean): Buffer => {
    if (gpuFor !== p.gpuText || selfFor !== p.selfText) {
      gpuLength = Buffer.byteLength(p.gpuText, 'utf8');
      page = Buffer.allocUnsafe(gpuLength + Buffer.byteLength(p.selfText, 'utf8'));
      page.write(p.gpuText, 0, 'utf8');
      page.write(p.selfText, gpuLength, 'utf8');
      if (gpuFor !== p.gpuText) gpuGz = null;
      pageGz = null;
      gpuFor = p.gpuText;
      selfFor = p.selfText;
    }
    if (!gzip) return page;
    if (!pageGz) {
      gpuGz ??= gzipSync(page.subarray(0, gpuLength), { level: 1 });
      pageGz = Buffer.concat([gpuGz, gzipSync(page.subarray(gpuLength), { level: 1 })]);
    }
    return pageGz;
  };

  // A scraper sends the same Accept-Encoding every time: remember the last answer.
  let lastAccept: string | undefined;
  let lastGzip = false;
  const wantsGzip = (h: string | string[] | undefined): boolean => {
    if (h === undefined) return false;
    const v = Array.isArray(h) ? h.join(',') : h;
    if (v !== lastAccept) {
      lastAccept = v;
      lastGzip = acceptsGzip(v);
    }
    return lastGzip;
  };

  const metrics = async (req: FastifyRequest, reply: FastifyReply) => {
    const p = await src.renderMetrics();
    reply.header('content-type', CONTENT_TYPE_TEXT).header('x-content-type-options', 'nosniff').header('vary', 'accept-encoding');
    if (wantsGzip(req.headers['accept-encoding'])) {
      return reply.header('content-encoding', 'gzip').send(bodyFor(p, true));
    }
    return reply.send(bodyFor(p, false));
  };

  app.route({ method: ['GET', 'HEAD'], url: '/metrics', handler: metrics });
  app.route({
    method: ['GET', 'HEAD'],
    url: '/health',
    handler: async (_req, reply) => reply.header('content-type', 'text/plain; charset=utf-8').send('OK\n'),
  });
  app.route({
    method: ['GET', 'HEAD'],
    url: '/ready',
    handler: async (_req, reply) => {
      const r = src.ready();
      return reply
        .code(r.ok ? 200 : 503)
        .header('content-type', 'text/plain; charset=utf-8')
        .send(r.ok ? 'OK\n' : `not ready: ${r.reason}\n`);
    },
  });
  app.route({
    method: ['GET', 'HEAD'],
    url: '/api/v1/gpus',
    handler: async (_req, reply) => {
      const doc = src.gpusDocument();
      if (!doc) return reply.code(503).send({ error: 'no sweep has completed yet' });
      return reply.header('cache-control', 'no-store').send(doc);
    },
  });
  app.route({
    method: ['GET', 'HEAD'],
    url: '/',
    handler: async (_req, reply) => reply.header('content-type', 'text/html; charset=utf-8').send(landingPage()),
  });

  // Unknown path → 404; a known path with the wrong method → 405 with Allow.
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    if (PATHS.has(path)) {
      return reply.code(405).header('allow', 'GET, HEAD').send({ error: `method ${req.method} not allowed on ${path}` });
    }
    return reply.code(404).send({ error: `no such path: ${path}` });
  });
  return app;
}
