// The HTTP surface with app.inject: paths, methods, status codes, gzip, readiness.
import t from 'tap';
import { gunzipSync } from 'node:zlib';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { acceptsGzip, CONTENT_TYPE_TEXT, type RoutesOptions } from '../../lib/server/routes.js';
import { buildServer, type GuardedServer, type ServerOptions } from '../../lib/server/server.js';

const landing: RoutesOptions['landing'] = { title: 'nvml-exporter', description: 'test', links: [['/metrics', 'the page']] };
function buildApp(routes: Omit<RoutesOptions, 'landing' | 'metrics'> & { renderMetrics: RoutesOptions['metrics'] }, opts?: ServerOptions) {
  const { renderMetrics, ...rest } = routes;
  return buildServer({ ...rest, metrics: renderMetrics, landing }, opts);
}

const gpuText = '# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).\n# TYPE DCGM_FI_DEV_GPU_UTIL gauge\nDCGM_FI_DEV_GPU_UTIL{gpu="0"} 42\n';
const selfText = '# HELP nvml_exporter_gpus GPUs.\n# TYPE nvml_exporter_gpus gauge\nnvml_exporter_gpus 1\n';

function app(ready = { ok: true, reason: '' }) {
  return buildApp({
    renderMetrics: () => ({ gpuText, selfText }),
    ready: () => ready,
    gpusDocument: () => null,
  });
}

t.test('/metrics serves the page with the text-format content type', async (t) => {
  const a = app();
  const r = await a.inject({ method: 'GET', url: '/metrics' });
  t.equal(r.statusCode, 200);
  t.equal(r.headers['content-type'], CONTENT_TYPE_TEXT);
  t.equal(r.body, gpuText + selfText);
  const h = await a.inject({ method: 'HEAD', url: '/metrics' });
  t.equal(h.statusCode, 200, 'HEAD is answered');
});

t.test('/metrics is gzipped when the scraper asks, and the two members decode to the page', async (t) => {
  const a = app();
  const r = await a.inject({ method: 'GET', url: '/metrics', headers: { 'accept-encoding': 'gzip' } });
  t.equal(r.headers['content-encoding'], 'gzip');
  t.equal(gunzipSync(r.rawPayload).toString(), gpuText + selfText);
  const again = await a.inject({ method: 'GET', url: '/metrics', headers: { 'accept-encoding': 'gzip, deflate' } });
  t.equal(gunzipSync(again.rawPayload).toString(), gpuText + selfText, 'the cached GPU part decodes the same');
});

t.test('the cached page follows every change of either part, plain and gzipped, in any order', async (t) => {
  const page = { gpuText: 'gpu_a 1\n', selfText: 'self_a 1\n' };
  const a = buildApp({ renderMetrics: () => ({ ...page }), ready: () => ({ ok: true, reason: '' }), gpusDocument: () => null });
  const plain = async () => (await a.inject({ method: 'GET', url: '/metrics' })).body;
  const gz = async () => gunzipSync((await a.inject({ method: 'GET', url: '/metrics', headers: { 'accept-encoding': 'gzip' } })).rawPayload).toString();
  t.equal(await plain(), 'gpu_a 1\nself_a 1\n');
  t.equal(await gz(), 'gpu_a 1\nself_a 1\n');
  page.selfText = 'self_b 2\n'; // only the self-metrics changed
  t.equal(await gz(), 'gpu_a 1\nself_b 2\n', 'gzip first after the change');
  t.equal(await plain(), 'gpu_a 1\nself_b 2\n');
  page.gpuText = 'gpu_c 3\n'; // only the GPU part changed
  t.equal(await plain(), 'gpu_c 3\nself_b 2\n');
  t.equal(await gz(), 'gpu_c 3\nself_b 2\n');
  page.gpuText = 'gpu_a 1\n'; // back to an earlier GPU text, with the later self text
  t.equal(await gz(), 'gpu_a 1\nself_b 2\n');
  t.equal(await plain(), 'gpu_a 1\nself_b 2\n');
  page.selfText = '';
  t.equal(await plain(), 'gpu_a 1\n', 'an empty self part');
  t.equal(await gz(), 'gpu_a 1\n');
});

t.test('/health, /ready, /, 404 and 405', async (t) => {
  const a = app();
  t.equal((await a.inject('/health')).body, 'OK\n');
  t.equal((await a.inject('/ready')).statusCode, 200);
  const notReady = app({ ok: false, reason: 'the last good sweep is 9.0 s old' });
  const nr = await notReady.inject('/ready');
  t.equal(nr.statusCode, 503);
  t.match(nr.body, /not ready: the last good sweep is 9\.0 s old/);
  const root = await a.inject('/');
  t.match(root.body, /href="metrics"/);
  const missing = await a.inject('/nope');
  t.equal(missing.statusCode, 404);
  t.match(missing.body, /no such path: \/nope/);
  const post = await a.inject({ method: 'POST', url: '/metrics', payload: 'x' });
  t.equal(post.statusCode, 405);
  t.equal(post.headers.allow, 'GET, HEAD');
  const api = await a.inject('/api/v1/gpus');
  t.equal(api.statusCode, 503, 'no snapshot yet → 503');
});

t.test('Accept-Encoding: gzip only where the header allows it', async (t) => {
  const cases: [string, boolean][] = [
    ['gzip', true],
    ['GZIP', true],
    ['gzip, deflate', true],
    ['deflate, gzip;q=0.5', true],
    ['x-gzip', true],
    ['gzip;q=0', false],
    ['gzip; q=0.0', false],
    ['deflate', false],
    ['identity', false],
    ['', false],
    ['*', true],
    ['*;q=0', false],
    ['gzip;q=0, *', false],
    ['br, *;q=0.1', true],
    ['gzipx', false],
    ['snappy,gzip', true],
  ];
  for (const [h, want] of cases) t.equal(acceptsGzip(h), want, JSON.stringify(h));
  const a = app();
  const refused = await a.inject({ method: 'GET', url: '/metrics', headers: { 'accept-encoding': 'gzip;q=0' } });
  t.equal(refused.headers['content-encoding'], undefined, 'gzip;q=0 → plain');
  t.equal(refused.body, gpuText + selfText);
  t.equal(refused.headers.vary, 'accept-encoding', 'Vary on plain answers too');
  const gz = await a.inject({ method: 'GET', url: '/metrics', headers: { 'accept-encoding': 'gzip' } });
  t.equal(gz.headers['content-encoding'], 'gzip', 'and the next scraper that takes gzip gets it (the remembered header changed)');
});

t.test('requests with bodies are not taken: POST/PUT → 405 whatever the body size', async (t) => {
  const a = app();
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
    const r = await a.inject({ method, url: '/metrics', payload: 'x'.repeat(4096), headers: { 'content-type': 'text/plain' } });
    t.ok(r.statusCode === 405 || r.statusCode === 413, `${method} with a body refused (${r.statusCode})`);
    t.not(r.statusCode, 200);
  }
});

// The bounds, on a real listening socket.
async function listening(opts: ServerOptions) {
  const a = buildApp({ renderMetrics: () => ({ gpuText, selfText }), ready: () => ({ ok: true, reason: '' }), gpusDocument: () => null }, opts);
  await a.listen({ host: '127.0.0.1', port: 0 });
  const port = (a.server.address() as AddressInfo).port;
  return { a, port };
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

/** ms until the server closes the socket, or null when it is still open after `limitMs` */
function closedWithin(s: Socket, limitMs: number): Promise<number | null> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), limitMs);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - t0);
    });
    s.resume();
  });
}

function get(s: Socket): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      const head = buf.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(buf);
      if (head >= 0 && len && buf.length >= head + 4 + Number(len[1])) {
        s.off('data', onData);
        resolve(buf);
      }
    };
    s.on('data', onData);
    s.write('GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
  });
}

t.test('an idle keep-alive connection is closed after keepAliveTimeoutMs', async (t) => {
  const { a, port } = await listening({ keepAliveTimeoutMs: 300 });
  t.teardown(() => a.close());
  const s = await open(port);
  t.match(await get(s), /^HTTP\/1\.1 200/, 'first request answered');
  const ms = await closedWithin(s, 5000);
  t.not(ms, null, 'the server closed the idle connection');
  t.ok(ms !== null && ms >= 200, `not before the timeout (${ms} ms)`);
});

t.test('a request that stops half way is cut off after socketIdleTimeoutMs', async (t) => {
  const { a, port } = await listening({ socketIdleTimeoutMs: 300 });
  t.teardown(() => a.close());
  const s = await open(port);
  s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n'); // the headers never end
  const ms = await closedWithin(s, 5000);
  t.not(ms, null, 'the server closed the stalled connection');
});

t.test('at maxConnections a new connection closes the oldest idle one instead of being refused (room for probes)', async (t) => {
  const { a, port } = await listening({ maxConnections: 2 });
  t.teardown(() => a.close());
  const s1 = await open(port);
  const s2 = await open(port);
  t.match(await get(s1), /^HTTP\/1\.1 200/);
  t.match(await get(s2), /^HTTP\/1\.1 200/);
  const s1Closed = closedWithin(s1, 3000);
  const s3 = await open(port);
  t.match(await get(s3), /^HTTP\/1\.1 200/, 'the newcomer (a probe) is answered');
  const ms = await s1Closed;
  t.not(ms, null, 'the oldest idle connection made room');
  t.match(await get(s2), /^HTTP\/1\.1 200/, 'the other one still answers');
  s2.destroy();
  s3.destroy();
});

t.test('a connection that sends no complete request within firstRequestMs is closed', async (t) => {
  const { a, port } = await listening({ firstRequestMs: 300, guard: { checkEveryMs: 50 } });
  t.teardown(() => a.close());
  const silent = await open(port);
  const ms = await closedWithin(silent, 3000);
  t.ok(ms !== null && ms >= 250, `the silent connection is closed after ${ms} ms`);
  const served = await open(port);
  t.match(await get(served), /^HTTP\/1\.1 200/, 'a connection that asks in time is served');
  served.destroy();
});

t.test('a client that pipelines requests and never reads is closed once its queue passes the bound', async (t) => {
  const big = '# a large page\n' + 'x'.repeat(200 * 1024) + '\n';
  const a = buildApp({ renderMetrics: () => ({ gpuText: big, selfText }), ready: () => ({ ok: true, reason: '' }), gpusDocument: () => null },
    { guard: { maxQueuedBytesPerConnection: 256 * 1024, checkEveryMs: 50 } });
  await a.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => a.close());
  const port = (a.server.address() as AddressInfo).port;
  const s = await open(port);
  s.pause(); // never read
  s.on('error', () => {});
  const t0 = Date.now();
  const closed = new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => resolve(null), 5000);
    s.once('close', () => { clearTimeout(timer); resolve(Date.now() - t0); });
  });
  s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(200));
  const ms = await closed;
  t.not(ms, null, `the connection was closed after ${ms} ms`);
  const why = (a as unknown as GuardedServer).connectionGuard.closed;
  t.equal(why.queued_bytes + why.pipelined, 1, `by the guard: ${JSON.stringify(why)}`);
  const probe = await open(port);
  t.match(await get(probe), /^HTTP\/1\.1 200/, 'others are served');
  probe.destroy();
});

t.test('/api/v1/gpus is served with the contract schema; without a document source there is no such route', async (t) => {
  const doc = {
    apiVersion: 1 as const, hostname: 'n', timestamp: '2026-12-01T00:00:00.000Z', ageSeconds: 0.2, stale: false, driverVersion: '580.65.06',
    podResources: { enabled: true, up: true, ageSeconds: null },
    gpus: [{ gpu: 0, uuid: 'GPU-1', pciBusId: '00000000:18:00.0', device: 'nvidia0', modelName: 'H100', serial: null, migEnabled: false,
      lost: false, readings: { DCGM_FI_DEV_GPU_UTIL: 42 }, pods: [{ namespace: 'a', pod: 'b', container: 'c', vgpu: '1' }], mig: [] }],
  };
  const a = buildServer({ metrics: () => ({ gpuText, selfText }), ready: () => ({ ok: true, reason: '' }), gpusDocument: () => doc, landing });
  const r = await a.inject('/api/v1/gpus');
  t.equal(r.statusCode, 200);
  t.equal(r.headers['cache-control'], 'no-cache', 'revalidated with the ETag, never served from a cache unchecked');
  t.same(r.json(), doc, 'every field of the document survives the schema-driven serialiser');
  const none = buildServer({ metrics: () => ({ gpuText, selfText }), ready: () => ({ ok: true, reason: '' }), landing });
  t.equal((await none.inject('/api/v1/gpus')).statusCode, 404);
});

t.test('the /metrics request hook runs once per request, before the page is read', async (t) => {
  const order: string[] = [];
  const a = buildServer({
    metrics: () => (order.push('page'), { gpuText, selfText }),
    onMetricsRequest: () => order.push('hook'),
    ready: () => ({ ok: true, reason: '' }),
    landing,
  });
  await a.inject('/metrics');
  await a.inject('/health');
  await a.inject('/ready');
  await a.inject('/');
  t.same(order, ['hook', 'page'], 'only /metrics runs the hook');
});
