// The cluster view on its own: DNS discovery, slow exporters, bad answers, stale snapshots.
import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClusterView, type PullEvent } from '../../lib/scaler/cluster-view.js';
import { parsePeerAddress } from '../../lib/contract/address.js';

const peer = (s: string) => parsePeerAddress(s, '--exporters');

import { gpu, gpusDoc, pod, scalerClient, startExporter, startTestScaler, until } from './scaler-harness.js';

const busy = (v: number) => ({ DCGM_FI_DEV_GPU_UTIL: v });

t.test('a slow exporter never delays RPCs: they answer while its pull is still hanging', async (t) => {
  const fast = await startExporter(gpusDoc('fast', [gpu(0, busy(30), [pod('ai', 'web-1')])]));
  const slow = await startExporter(gpusDoc('slow', [gpu(0, busy(50), [pod('ai', 'web-2')])]));
  const scaler = await startTestScaler({
    grpcAddress: '127.0.0.1:0',
    address: '127.0.0.1:0',
    exporters: [fast.address, slow.address],
    pullIntervalMs: 50,
    pullTimeoutMs: 600_000, // the slow exporter's pull stays in flight for the whole test
    staleAfterMs: 600_000,
  });
  const client = scalerClient(`127.0.0.1:${scaler.grpcPort}`);
  t.teardown(async () => {
    client.close();
    await scaler.close();
    await Promise.all([fast.close(), slow.close()]);
  });
  const ref = { name: 'web', namespace: 'ai', scalerMetadata: {} };
  t.equal((await client.getMetrics(ref))[0].metricValueFloat, 80, 'both nodes in view');
  slow.hang = true;
  await until(() => slow.held.size > 0, 'a pull hanging on the slow exporter');
  const before = slow.requests;
  fast.doc = gpusDoc('fast', [gpu(0, busy(40), [pod('ai', 'web-1')])]);
  await until(async () => (await client.getMetrics(ref))[0].metricValueFloat === 90, 'the fast exporter still updates');
  t.equal(await client.isActive(ref), true);
  t.equal(slow.held.size, 1, 'the slow pull is still unanswered when the RPCs have completed');
  t.equal(slow.requests, before, 'and no second pull was started to the same exporter');
});

t.test('DNS discovery: every record is an exporter, re-resolved, a failed lookup keeps the list', async (t) => {
  const ex = await startExporter(gpusDoc('n1', [gpu(0, busy(10), [pod('ai', 'web-1')])]));
  // a second "address" on which nothing listens: the same port on another loopback address
  let records: string[] | Error = ['127.0.0.1', '127.0.0.2'];
  const asked: string[] = [];
  const view = new ClusterView({
    exportersDns: peer(`exporters.gpu.svc:${ex.port}`),
    pullIntervalMs: 50,
    pullTimeoutMs: 200,
    staleAfterMs: 300,
    dnsRefreshMs: 50,
    lookup: async (name) => {
      asked.push(name);
      if (records instanceof Error) throw records;
      return records;
    },
  });
  t.teardown(async () => {
    view.stop();
    await ex.close();
  });
  await view.start();
  t.equal(asked[0], 'exporters.gpu.svc');
  t.same(view.exporters().map((e) => e.address).sort(), [`127.0.0.1:${ex.port}`, `127.0.0.2:${ex.port}`]);
  await until(() => view.exporters().some((e) => e.fresh), 'the live one is fresh');
  t.same(view.documents().map((d) => d.hostname), ['n1']);
  records = new Error('SERVFAIL');
  const n = asked.length;
  await until(() => asked.length > n + 1, 'lookups continue after a failure');
  t.equal(view.exporters().length, 2, 'a failed lookup keeps the previous exporters');
  records = ['127.0.0.1'];
  await until(() => view.exporters().length === 1, 'the removed record is dropped');
  t.equal(view.exporters()[0].address, `127.0.0.1:${ex.port}`);
});

t.test('bad answers are pull errors by reason; a stale snapshot excludes the node', async (t) => {
  let mode: 'notfound' | 'garbage' | 'wrongshape' | 'stale' | 'ok' = 'notfound';
  const srv = createServer((_req, res) => {
    if (mode === 'notfound') res.writeHead(500).end('boom');
    else if (mode === 'garbage') res.writeHead(200).end('{not json');
    else if (mode === 'wrongshape') res.writeHead(200).end('{"hello":1}');
    else res.writeHead(200).end(JSON.stringify({ ...gpusDoc('n', [gpu(0, busy(1), [pod('ai', 'web-1')])]), stale: mode === 'stale' }));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const addr = `127.0.0.1:${(srv.address() as AddressInfo).port}`;
  const view = new ClusterView({ exporters: [peer(addr)], pullIntervalMs: 30, pullTimeoutMs: 200, staleAfterMs: 10_000 });
  const reasons = new Set<string>();
  view.on('pull', (ev: PullEvent) => {
    if (!ev.ok && ev.reason) reasons.add(ev.reason);
  });
  t.teardown(async () => {
    view.stop();
    srv.closeAllConnections();
    await new Promise<void>((r) => srv.close(() => r()));
  });
  await view.start();
  for (const [m, reason] of [['notfound', 'http_status'], ['garbage', 'invalid_json'], ['wrongshape', 'invalid_document'], ['stale', 'stale_snapshot']] as const) {
    mode = m;
    await until(() => reasons.has(reason), `reason ${reason}`);
    t.ok(reasons.has(reason), `${m} → ${reason}`);
  }
  t.equal(view.documents().length, 0, 'a node whose exporter reports a stale snapshot is excluded');
  mode = 'ok';
  await until(() => view.documents().length === 1, 'fresh again');
  t.equal(view.exporters()[0].fresh, true);
});

t.test('configuration errors name the input', async (t) => {
  t.throws(() => new ClusterView({}), /--exporters host:port/);
  t.throws(() => new ClusterView({ exporters: [peer('a:1')], pullIntervalMs: 0 }), /pullIntervalMs/);
  t.throws(() => new ClusterView({ exporters: [peer('a:1')], maxDocumentBytes: -1 }), /maxDocumentBytes/);
  await t.rejects(startTestScaler({ exporters: ['a:1'], grpcAddress: 'nonsense' }), /--grpc-address: "nonsense" is not a listen address/);
});
