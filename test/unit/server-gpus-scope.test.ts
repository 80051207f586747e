// /api/v1/gpus scoped (?namespace=&pod=) and conditional (ETag → 304), and /api/v1/workload read
// as KEDA's metrics-api scaler reads it across every exporter behind a Service.
import t from 'tap';
import type { AddressInfo } from 'node:net';
import type { GpusDocument } from '../../lib/contract/gpus-document.js';
import { buildServer } from '../../lib/server/server.js';
import type { RoutesOptions } from '../../lib/server/routes.js';
import { hpaDesiredReplicas } from '../../lib/scaler/compute.js';
import { metricsApiValue } from '../helpers/metrics-api-client.js';

const landing: RoutesOptions['landing'] = { title: 'nvml-exporter', description: 'test', links: [] };
const fb = (usedMib: number) => ({ DCGM_FI_DEV_FB_USED: usedMib, DCGM_FI_DEV_FB_FREE: 80000 - usedMib, DCGM_FI_DEV_FB_RESERVED: 0 });

function gpu(i: number, util: number, pods: [string, string][], extra: Partial<GpusDocument['gpus'][number]> = {}): GpusDocument['gpus'][number] {
  return {
    gpu: i, uuid: `GPU-${i}`, pciBusId: `00000000:${10 + i}:00.0`, device: `nvidia${i}`, modelName: 'H100', serial: null, migEnabled: false, lost: false,
    readings: { DCGM_FI_DEV_GPU_UTIL: util, ...fb(20000) }, pods: pods.map(([namespace, pod]) => ({ namespace, pod, container: 'main' })), mig: [], ...extra,
  };
}

function doc(hostname: string, gpus: GpusDocument['gpus'], stale = false): GpusDocument {
  return {
    apiVersion: 1, hostname, timestamp: new Date().toISOString(), ageSeconds: 0.1, stale, driverVersion: '580.65.06',
    podResources: { enabled: true, up: true, ageSeconds: 0.2 }, gpus,
  };
}

const node1 = doc('node-1', [
  gpu(0, 90, [['ai', 'web-7c9d-abcde']]),
  gpu(1, 30, [['ai', 'web-7c9d-fghij']]),
  gpu(2, 100, [['batch', 'train-0']]),
  gpu(3, 55, [['ai', 'webhook-1-x']]), // another workload whose name starts with "web"
  gpu(4, 99, [['ai', 'web-7c9d-lost']], { lost: true }),
]);
const node2 = doc('node-2', [gpu(0, 60, [['ai', 'web-7c9d-klmno']]), gpu(1, 0, [])]);

function serve(d: () => GpusDocument | null) {
  return buildServer({ metrics: () => ({ gpuText: '', selfText: '' }), ready: () => ({ ok: true, reason: '' }), gpusDocument: d, landing });
}

t.test('a scoped request carries only the GPUs that run the named pods', async (t) => {
  const a = serve(() => node1);
  const r = await a.inject('/api/v1/gpus?namespace=ai&pod=web-7c9d-abcde,web-7c9d-fghij');
  t.equal(r.statusCode, 200);
  t.same((r.json() as GpusDocument).gpus.map((g) => g.gpu), [0, 1]);
  t.equal((r.json() as GpusDocument).hostname, 'node-1', 'the node is named as in the whole document');
  const ns = await a.inject('/api/v1/gpus?namespace=batch');
  t.same((ns.json() as GpusDocument).gpus.map((g) => g.gpu), [2], 'a namespace alone keeps all its pods');
  const repeated = await a.inject('/api/v1/gpus?namespace=ai&pod=web-7c9d-abcde&pod=webhook-1-x');
  t.same((repeated.json() as GpusDocument).gpus.map((g) => g.gpu), [0, 3], 'pod may be repeated');
  const whole = await a.inject('/api/v1/gpus');
  t.equal((whole.json() as GpusDocument).gpus.length, 5);
});

t.test('gpus=none: the node\'s name and state without its GPUs, conditional like any scope', async (t) => {
  const a = serve(() => node1);
  const r = await a.inject('/api/v1/gpus?gpus=none');
  t.equal(r.statusCode, 200);
  const d = r.json() as GpusDocument;
  t.same([d.hostname, d.stale, d.gpus], ['node-1', false, []], 'the hostname and state, no GPU');
  const whole = await a.inject('/api/v1/gpus');
  t.ok(r.body.length < 400 && whole.body.length > 4 * r.body.length, `${r.body.length} bytes against ${whole.body.length} for the whole document`);
  const again = await a.inject({ url: '/api/v1/gpus?gpus=none', headers: { 'if-none-match': r.headers.etag as string } });
  t.equal(again.statusCode, 304, 'unchanged: Not Modified');
  t.not(r.headers.etag, whole.headers.etag, 'its own tag');
});

t.test('scope parameters are validated and bounded: 400 naming the parameter', async (t) => {
  const a = serve(() => node1);
  const cases: [string, RegExp][] = [
    ['/api/v1/gpus?namespace=AI', /namespace "AI" is not a Kubernetes namespace name/],
    ['/api/v1/gpus?pod=a%2Fb', /pod "a\/b" is not a Kubernetes pod name/],
    ['/api/v1/gpus?namespce=ai', /unknown parameter "namespce": \/api\/v1\/gpus takes namespace, pod and gpus=none/],
    ['/api/v1/gpus?gpus=all', /gpus takes one value, none/],
    ['/api/v1/gpus?gpus=none&namespace=ai', /gpus=none takes no namespace or pod/],
    [`/api/v1/gpus?pod=${Array.from({ length: 257 }, (_, i) => `p${i}`).join(',')}`, /too many pod values: at most 256/],
    [`/api/v1/gpus?${Array.from({ length: 17 }, (_, i) => `namespace=n${i}`).join('&')}`, /too many namespace parameters: at most 16/],
    [`/api/v1/gpus?namespace=${'a'.repeat(64)}`, /is not a Kubernetes namespace name/],
  ];
  for (const [url, msg] of cases) {
    const r = await a.inject(url);
    t.equal(r.statusCode, 400, url.slice(0, 60));
    t.match((r.json() as { error: string }).error, msg);
  }
});

t.test('conditional GET: the same content answers 304 with the same ETag; a changed reading answers 200', async (t) => {
  let current = node1;
  const a = serve(() => current);
  const first = await a.inject('/api/v1/gpus?namespace=ai');
  const etag = first.headers.etag as string;
  t.match(etag, /^W\/"[A-Za-z0-9_-]{22}"$/);
  // a new document object with the same readings (a later sweep, new timestamp and age)
  current = { ...node1, timestamp: new Date(Date.now() + 1000).toISOString(), ageSeconds: 0.4 };
  const again = await a.inject({ url: '/api/v1/gpus?namespace=ai', headers: { 'if-none-match': etag } });
  t.equal(again.statusCode, 304, 'unchanged readings: Not Modified');
  t.equal(again.body, '', 'a 304 carries no body');
  t.equal(again.headers.etag, etag);
  const otherScope = await a.inject({ url: '/api/v1/gpus?namespace=batch', headers: { 'if-none-match': etag } });
  t.equal(otherScope.statusCode, 200, 'the tag of one scope does not match another');
  current = doc('node-1', [gpu(0, 91, [['ai', 'web-7c9d-abcde']])]);
  const changed = await a.inject({ url: '/api/v1/gpus?namespace=ai', headers: { 'if-none-match': etag } });
  t.equal(changed.statusCode, 200);
  t.not(changed.headers.etag, etag);
  t.equal((changed.json() as GpusDocument).gpus[0].readings.DCGM_FI_DEV_GPU_UTIL, 91);
});

t.test('/api/v1/workload: the workload\'s GPUs on this node, per metric type', async (t) => {
  const a = serve(() => node1);
  const r = await a.inject('/api/v1/workload?namespace=ai&workload=web');
  t.equal(r.statusCode, 200);
  const v = r.json() as { units: number; hostname: string; metrics: Record<string, { sum: number; count: number; average: number; max: number }> };
  t.equal(v.hostname, 'node-1');
  t.equal(v.units, 2, 'web-… pods on GPUs 0 and 1; webhook-… is another workload and the lost GPU is left out');
  t.same(v.metrics.gpu_utilization, { count: 2, sum: 120, average: 60, max: 90 });
  t.same(v.metrics.memory_used_percent, { count: 2, sum: 50, average: 25, max: 25 }, '20000 of 80000 MiB on each');
  t.same(v.metrics.power_draw, { count: 0, sum: 0, average: 0, max: 0 }, 'no reading: count 0, and 0 (never NaN)');
  const none = await a.inject('/api/v1/workload?namespace=ai&workload=absent');
  t.same((none.json() as typeof v).metrics.gpu_utilization, { count: 0, sum: 0, average: 0, max: 0 }, 'a workload at zero replicas has no GPUs: 0');
  const bad: [string, RegExp][] = [
    ['/api/v1/workload?namespace=ai', /workload is required/],
    ['/api/v1/workload?namespace=ai&workload=web&workload=x', /workload must be given once/],
    ['/api/v1/workload?namespace=ai&workload=Web', /workload "Web" is not a Kubernetes workload name/],
    ['/api/v1/workload?namespace=ai&workload=web&pod=x', /unknown parameter "pod"/],
  ];
  for (const [url, msg] of bad) {
    const b = await a.inject(url);
    t.equal(b.statusCode, 400, url);
    t.match((b.json() as { error: string }).error, msg);
  }
  const stale = serve(() => doc('node-9', node1.gpus, true));
  const s = await stale.inject('/api/v1/workload?namespace=ai&workload=web');
  t.equal(s.statusCode, 503, 'a stale snapshot is an error (KEDA falls back), not an idle workload');
  t.match((s.json() as { error: string }).error, /stale/);
});

t.test("KEDA's metrics-api aggregation over every exporter: sum of sums, AverageValue → the right replica count", async (t) => {
  const apps = [serve(() => node1), serve(() => node2)];
  const endpoints: string[] = [];
  for (const a of apps) {
    await a.listen({ host: '127.0.0.1', port: 0 });
    endpoints.push(`127.0.0.1:${(a.server.address() as AddressInfo).port}`);
    t.teardown(() => a.close());
  }
  const path = '/api/v1/workload?namespace=ai&workload=web';
  const sum = await metricsApiValue(endpoints, path, 'metrics.gpu_utilization.sum', 'sum');
  t.equal(sum, 180, '90 + 30 on node-1, 60 on node-2');
  const count = await metricsApiValue(endpoints, path, 'metrics.gpu_utilization.count', 'sum');
  t.equal(count, 3);
  // ScaledObject: metricType AverageValue, targetValue 75 (per GPU) → ceil(180 / 75) = 3 replicas
  t.equal(hpaDesiredReplicas(sum, 75, 1), 3);
  t.equal(hpaDesiredReplicas(sum, 50, 3), 4, 'average 60 % per GPU against a 50 % target: one more replica');
  // averaging the per-node averages would weigh node-2's single GPU like node-1's two
  const avgOfAvgs = await metricsApiValue(endpoints, path, 'metrics.gpu_utilization.average', 'average');
  t.equal(avgOfAvgs, 60, 'equal here by chance; docs explain why sum/sum is the one to use');
  const max = await metricsApiValue(endpoints, path, 'metrics.gpu_utilization.max', 'max');
  t.equal(max, 90);
});
