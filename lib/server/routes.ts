// The HTTP routes, as a Fastify plugin (`app.register(observabilityRoutes, opts)`): /metrics,
// /health, /ready, /, and /api/v1/gpus where a document source is given. The exporter and the
// scaler both serve their pages through it. Every answer comes from memory; reading a page or the
// document has no side effect, except the one the caller hangs on `onMetricsRequest` (the
// exporter's early kubelet refresh, rate-bounded: docs/architecture.md).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { GPUS_DOCUMENT_SCHEMA, type GpusDocument } from '../contract/gpus-document.js';
import { GpusScopeError, parseGpusScope, scopeDocument } from '../contract/gpus-scope.js';
import { workloadValues, type WorkloadValues } from '../contract/workload-metrics.js';

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
  /**
   * /api/v1/gpus: the document, or null before there is one (503); absent: no such route. With it,
   * /api/v1/workload serves one workload's values on this node (KEDA's metrics-api scaler).
   */
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
    const versions = new DocumentVersions();
    app.route({
      method: ['GET', 'HEAD'],
      url: '/api/v1/gpus',
      schema: { response: { 200: documentSchema, 304: { type: 'null' }, 400: errorSchema, 503: errorSchema } },
      handler: async (req, reply) => {
        let scope;
        try {
          scope = parseGpusScope(req.query as Record<string, unknown>);
        } catch (err) {
          if (err instanceof GpusScopeError) return reply.code(400).send({ error: err.message });
          throw err;
        }
        const full = gpusDocument();
        if (!full) return reply.code(503).send({ error: 'no sweep has completed yet' });
        const key = scope ? (req.url.split('?')[1] ?? '') : '';
        const { doc, etag } = versions.get(full, key, () => (scope ? scopeDocument(full, scope) : full));
        reply.header('cache-control', 'no-cache').header('etag', etag);
        if (ifNoneMatch(req.headers['if-none-match'], etag)) return reply.code(304).send();
        return reply.send(doc);
      },
    });
    app.route({
      method: ['GET', 'HEAD'],
      url: '/api/v1/workload',
      schema: { response: { 400: errorSchema, 503: errorSchema } },
      handler: async (req, reply) => {
        let w: { namespace: string; workload: string };
        try {
          w = parseWorkloadQuery(req.query as Record<string, unknown>);
        } catch (err) {
          if (err instanceof GpusScopeError) return reply.code(400).send({ error: err.message });
          throw err;
        }
        const doc = gpusDocument();
        if (!doc) return reply.code(503).send({ error: 'no sweep has completed yet' });
        // a stale snapshot must not look like an idle workload: KEDA's fallback takes over on the error
        if (doc.stale) return reply.code(503).send({ error: "this node's last sweep is stale: its readings are not current" });
        const v: WorkloadValues = workloadValues(doc, w.namespace, w.workload);
        return reply.header('cache-control', 'no-store').send(v);
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
  return ['/', '/metrics', '/health', '/ready', ...(opts.gpusDocument ? ['/api/v1/gpus', '/api/v1/workload'] : [])];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** `?namespace=…&workload=…` of /api/v1/workload: both required, single, Kubernetes names. */
export function parseWorkloadQuery(q: Record<string, unknown>): { namespace: string; workload: string } {
  for (const k of Object.keys(q)) {
    if (k !== 'namespace' && k !== 'workload') throw new GpusScopeError(`unknown parameter "${k.slice(0, 64)}": /api/v1/workload takes namespace and workload`);
  }
  const one = (k: 'namespace' | 'workload', re: RegExp, what: string): string => {
    const v = q[k];
    if (v === undefined || v === '') throw new GpusScopeError(`${k} is required: /api/v1/workload?namespace=<namespace>&workload=<deployment or statefulset name>`);
    if (typeof v !== 'string') throw new GpusScopeError(`${k} must be given once`);
    if (!re.test(v)) throw new GpusScopeError(`${k} "${v.slice(0, 64)}" is not ${what}`);
    return v;
  };
  return {
    namespace: one('namespace', DNS_LABEL, 'a Kubernetes namespace name (lower-case letters, digits and -, at most 63)'),
    workload: one('workload', DNS_SUBDOMAIN, 'a Kubernetes workload name (lower-case letters, digits, - and ., at most 253)'),
  };
}

/** Whether an If-None-Match header names this entity tag (weak comparison, RFC 9110 §13.1.2). */
export function ifNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
}

/**
 * The served document (whole or scoped) and its entity tag, per built document and query, so a
 * scaler that pulls every 500 ms costs one filter and one hash per document, not per request. The
 * tag is weak and covers what a reader acts on (node, staleness, GPUs with their readings and pods),
 * not the time fields that move with the clock: an unchanged node answers 304.
 */
class DocumentVersions {
  private forDoc: GpusDocument | null = null;
  private readonly byQuery = new Map<string, { doc: GpusDocument; etag: string }>();

  get(full: GpusDocument, key: string, build: () => GpusDocument): { doc: GpusDocument; etag: string } {
    if (this.forDoc !== full) {
      this.forDoc = full;
      this.byQuery.clear();
    }
    let v = this.byQuery.get(key);
    if (!v) {
      const doc = build();
      const h = createHash('sha1').update(JSON.stringify([doc.apiVersion, doc.hostname, doc.stale, doc.driverVersion, doc.podResources.enabled, doc.podResources.up, doc.gpus]));
      v = { doc, etag: `W/"${h.digest('base64url').slice(0, 22)}"` };
      if (this.byQuery.size >= 64) this.byQuery.clear(); // many distinct scopes: bounded, rebuilt on demand
      this.byQuery.set(key, v);
    }
    return v;
  }
}
