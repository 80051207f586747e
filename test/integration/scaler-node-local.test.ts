// Node-local mode: the same gRPC service over one node's snapshot, on TCP and on a unix socket.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GpusDocument } from '../../lib/exposition/gpus-json-types.js';
import { grpcBindAddress } from '../../lib/scaler/grpc-server.js';
import { createNodeLocalScaler } from '../../lib/scaler/main.js';
import { gpu, gpusDoc, pod, scalerClient, until } from './scaler-harness.js';

const ref = { name: 'vllm', namespace: 'ai', scalerMetadata: { profile: 'vllm-inference' } };

t.test('serves its own node\'s GPUs and pushes StreamIsActive changes', async (t) => {
  let doc: GpusDocument | null = null;
  const scaler = createNodeLocalScaler(() => doc, { checkIntervalMs: 20 });
  const port = await scaler.listen('127.0.0.1:0');
  const client = scalerClient(`127.0.0.1:${port}`);
  t.teardown(async () => {
    client.close();
    await scaler.close();
  });
  t.equal((await client.getMetrics(ref))[0].metricValue, 0, 'before the first sweep: no GPUs, value 0');
  t.equal(await client.isActive(ref), false);
  const got: boolean[] = [];
  const stream = client.streamIsActive(ref);
  stream.on('data', (m: { result: boolean }) => got.push(m.result));
  stream.on('error', () => {});
  await until(() => got.length === 1, 'first message');
  doc = gpusDoc('node-1', [
    gpu(0, { DCGM_FI_DEV_GPU_UTIL: 60, DCGM_FI_DEV_FB_USED: 72000, DCGM_FI_DEV_FB_FREE: 8000 }, [pod('ai', 'vllm-6f-abcde')]),
    gpu(1, { DCGM_FI_DEV_GPU_UTIL: 90 }, [pod('ai', 'other-1')]),
  ]);
  await until(() => got.includes(true), 'push after the snapshot changed');
  t.same(got, [false, true]);
  const [v] = await client.getMetrics(ref);
  t.same([v.metricValue, v.metricValueFloat], [60, 60]);
  t.same((await client.getMetricSpec(ref))[0].targetSizeFloat, 75);
  doc = { ...doc, stale: true };
  await until(() => got.length === 3, 'a stale snapshot counts as no GPUs');
  t.same(got, [false, true, false]);
  stream.cancel();
});

t.test('listens on a unix socket, replacing a leftover socket file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'scaler-uds-'));
  const sock = join(dir, 'scaler.sock');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(sock, 'left over by a previous process');
  const scaler = createNodeLocalScaler(() => gpusDoc('n', [gpu(0, { DCGM_FI_DEV_GPU_UTIL: 7 }, [pod('ai', 'vllm-1')])]));
  t.equal(await scaler.listen(`unix://${sock}`), 1);
  const client = scalerClient(`unix://${sock}`);
  t.teardown(async () => {
    client.close();
    await scaler.close();
  });
  t.equal((await client.getMetrics(ref))[0].metricValueFloat, 7);
});

t.test('listen addresses', async (t) => {
  t.same(grpcBindAddress(':6000'), { target: '0.0.0.0:6000', socketPath: null });
  t.same(grpcBindAddress('[::]:6000'), { target: '[::]:6000', socketPath: null });
  t.same(grpcBindAddress('/run/s.sock'), { target: 'unix:///run/s.sock', socketPath: '/run/s.sock' });
  t.throws(() => grpcBindAddress('6000'), /gRPC address "6000" is not :port, host:port or a unix socket path/);
});
