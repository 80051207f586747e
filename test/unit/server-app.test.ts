// The HTTP surface with app.inject: paths, methods, status codes, gzip, readiness.
import t from 'tap';
import { gunzipSync } from 'node:zlib';
import { buildApp, CONTENT_TYPE_TEXT } from '../../lib/server/app.js';

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
