// The HTTP routes, as a Fastify plugin (`app.register(observabilityRoutes, opts)`): /metrics,
// /health, /ready, /, and /api/v1/gpus where a document source is given. The exporter and the
// scaler both serve their pages through it. Every answer comes from memory; reading a page or the
// document has no side effect, except the one the caller hangs on `onMetricsRequest` (the
// exporter's early kubelet refresh, rate-bounded: docs/architecture.md).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { gzipSync } from 'node:zlib';
import { GPUS_DOCUMENT_SCHEMA, type GpusDocument } from '../contract/gpus-document.js';

export interface MetricsPage {
  /** the GPU families; the same string while nothing changed ('' for the scaler) */
  gpuText: string;
  /** the process's own metrics; the same string while nothing changed */
  selfText: string;
}

export interface RoutesOptions {
  /** the page /metrics serves */
  metrics(): Promise<MetricsPage> | MetricsPage;
  /** called when a /metrics request arrives, before the page is read: must not wait or throw */
  onMetricsRequest?(): void;
  /** /ready: 200 "OK" or 503 with the reason */
  ready(): { ok: boolean; reason: string };
  /** /health: default 200 "OK" (the process is alive); a JSON body is sent as JSON */
  health?(): { status?: number; body: string | object };
  /** /api/v1/gpus: the document, or null before there is one (503); absent: no such route */
  gpusDocument?(): GpusDocument | null;
  /** the landing page's heading and links */
  landing: { title: string; description: string; links: readonly (readonly [path: string, what: string])[] };
  /** /metrics requests served at once; more get 503 (0 or absent: no limit) */
  maxConcurrentScrapes?: number;
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

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

function landingPage(l: RoutesOptions['landing']): string {
  const items = l.links.map(([path, what]) => `<li><a href="${escapeHtml(path.slice(1))}">${escapeHtml(path)}</a> — ${escapeHtml(what)}</li>`);
  return (
    `<!doctype html><html><head><title>${escapeHtml(l.title)}</title></head><body>` +
    `<h1>${escapeHtml(l.title)}</h1><p>${escapeHtml(l.description)}</p><ul>${items.join('')}</ul></body></html>\n`
  );
}

/**
 * The page's bytes, plain and gzipped, kept until either part changes: a scrape in between only
 * sends a buffer that exists already. One buffer per page (the GPU part is a view of it): each
 * one outlives the young generation, so fewer is better. The GPU part, the bigger one, keeps its
 * own gzip member across changes of the self part (two gzip members back to back are one valid
 * gzip stream).
 */
class PageBytes {
  private gpuFor: string | null = null;
  private selfFor: string | null = null;
  private page: Buffer = Buffer.alloc(0);
  private gpuLength = 0;
  private gpuGz: Buffer | null = null;
  private pageGz: Buffer | null = null;

  body(p: MetricsPage, gzip: boolean): Buffer {
    if (this.gpuFor !== p.gpuText || this.selfFor !== p.selfText) {
      this.gpuLength = Buffer.byteLength(p.gpuText, 'utf8');
      this.page = Buffer.allocUnsafe(this.gpuLength + Buffer.byteLength(p.selfText, 'utf8'));
      this.page.write(p.gpuText, 0, 'utf8');
      this.page.write(p.selfText, this.gpuLength, 'utf8');
      if (this.gpuFor !== p.gpuText) this.gpuGz = null;
      this.pageGz = null;
      this.gpuFor = p.gpuText;
      this.selfFor = p.selfText;
    }
    if (!gzip) return this.page;
    if (!this.pageGz) {
      this.gpuGz ??= gzipSync(this.page.subarray(0, this.gpuLength), { level: 1 });
      this.pageGz = Buffer.concat([this.gpuGz, gzipSync(this.page.subarray(this.gpuLength), { level: 1 })]);
    }
    return this.pageGz;
  }
}

const { $id: _schemaId, ...documentSchema } = GPUS_DOCUMENT_SCHEMA;
const errorSchema = { type: 'object', properties: { error: { type: 'string' } } } as const;

export const observabilityRoutes: FastifyPluginAsync<RoutesOptions> = async (app, opts) => {
  const bytes = new PageBytes();
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

  const onMetricsRequest = opts.onMetricsRequest;
  const limit = opts.maxConcurrentScrapes ?? 0;
  let scraping = 0;
  app.route({
    method: ['GET', 'HEAD'],
    url: '/metrics',
    onRequest: onMetricsRequest
      ? (_req, _reply, done) => {
          onMetricsRequest();
          done();
        }
      : undefined,
    handler: async (req: FastifyRequest, reply: FastifyReply) => {
      if (limit > 0 && scraping >= limit) {
        return reply.code(503).header('retry-after', '1').header('content-type', 'text/plain; charset=utf-8')
          .send(`too many concurrent scrapes (the limit is ${limit}, --max-concurrent-scrapes)\n`);
      }
      scraping++;
      let p: MetricsPage;
      try {
        // overlapping scrapes share one render: the page is cached per snapshot, pod map and selection
        p = await opts.metrics();
      } finally {
        scraping--;
      }
      reply.header('content-type', CONTENT_TYPE_TEXT).header('x-content-type-options', 'nosniff').header('vary', 'accept-encoding');
      if (wantsGzip(req.headers['accept-encoding'])) return reply.header('content-encoding', 'gzip').send(bytes.body(p, true));
      return reply.send(bytes.body(p, false));
    },
  });
  app.route({
    method: ['GET', 'HEAD'],
    url: '/health',
    handler: async (_req, reply) => {
      const h = opts.health?.() ?? { body: 'OK\n' };
      reply.code(h.status ?? 200);
      if (typeof h.body === 'string') return reply.header('content-type', 'text/plain; charset=utf-8').send(h.body);
      return reply.send(h.body);
    },
  });
  app.route({
    method: ['GET', 'HEAD'],
    url: '/ready',
    handler: async (_req, reply) => {
      const r = opts.ready();
      return reply
        .code(r.ok ? 200 : 503)
        .header('content-type', 'text/plain; charset=utf-8')
        .send(r.ok ? 'OK\n' : `not ready: ${r.reason}\n`);
    },
  });
  const gpusDocument = opts.gpusDocument;
  if (gpusDocument) {
    app.route({
      method: ['GET', 'HEAD'],
      url: '/api/v1/gpus',
      schema: { response: { 200: documentSchema, 503: errorSchema } },
      handler: async (_req, reply) => {
        const doc = gpusDocument();
        if (!doc) return reply.code(503).send({ error: 'no sweep has completed yet' });
        return reply.header('cache-control', 'no-store').send(doc);
      },
    });
  }
  const landing = landingPage(opts.landing);
  app.route({
    method: ['GET', 'HEAD'],
    url: '/',
    handler: async (_req, reply) => reply.header('content-type', 'text/html; charset=utf-8').send(landing),
  });
};

/** The paths the routes serve (for the 405 answer of the server). */
export function routePaths(opts: Pick<RoutesOptions, 'gpusDocument'>): string[] {
  return ['/', '/metrics', '/health', '/ready', ...(opts.gpusDocument ? ['/api/v1/gpus'] : [])];
}
