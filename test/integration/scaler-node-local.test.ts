// Node-local mode: the KEDA gRPC service over one node's document, fed by change events (a new
// snapshot, a changed pod map) instead of polling; on TCP, on a unix socket, and on IPv6 only.
import t from 'tap';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GpusDocument } from '../../lib/contract/gpus-document.js';
import { parseListenTarget } from '../../lib/contract/address.js';
import { createScalerServer } from '../../lib/scaler/grpc-server.js';
import { nodeLocalSource } from '../../lib/scaler/node-local.js';
import { gpu, gpusDoc, pod, scalerClient, until } from './scaler-harness.js';

const ref = { name: 'vllm', namespace: 'ai', scalerMetadata: { profile: 'vllm-inference' } };
const addr = (s: string) => parseListenTarget(s, '--keda-scaler-address');

t.test("serves its own node's GPUs and pushes StreamIsActive changes on events, not by polling", async (t) => {
  let doc: GpusDocument | null = null;
  let reads = 0;
  const snapshots = new EventEmitter();
  const refreshes = new EventEmitter();
  const source = nodeLocalSource(() => (reads++, doc), [
    { emitter: snapshots, event: 'snapshot' },
    { emitter: refreshes, event: 'refresh', changed: (e) => (e as { changed: boolean }).changed },
  ]);
  const scaler = createScalerServer({ source });
  const port = await scaler.listen(addr('127.0.0.1:0'));
  const client = scalerClient(`127.0.0.1:${port}`);
  t.teardown(async () => {
    client.close();
    await scaler.close();
  });
  t.equal((await client.getMetrics(ref))[0]!.metricValue, 0, 'before the first sweep: no GPUs, value 0');
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
  const readsBefore = reads;
  await new Promise((r) => setTimeout(r, 300));
  t.same(got, [false], 'no event: no push, however long (nothing polls)');
  t.equal(reads, readsBefore, 'and the document was not read meanwhile');
  refreshes.emit('refresh', { changed: false });
  await new Promise((r) => setTimeout(r, 50));
  t.same(got, [false], 'a refresh that changed nothing is not a change');
  snapshots.emit('snapshot');
  await until(() => got.includes(true), 'push after the snapshot event');
  t.same(got, [false, true]);
  const [v] = await client.getMetrics(ref);
  t.same([v!.metricValue, v!.metricValueFloat], [60, 60]);
  t.same((await client.getMetricSpec(ref))[0]!.targetSizeFloat, 75);
  doc = { ...doc, stale: true };
  refreshes.emit('refresh', { changed: true });
  await until(() => got.length === 3, 'a stale snapshot counts as no GPUs');
  t.same(got, [false, true, false]);
  stream.cancel();
});

t.test('listens on a unix socket, replacing a leftover socket file and removing it on close', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'scaler-uds-'));
  const sock = join(dir, 'scaler.sock');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(sock, 'left over by a previous process');
  const doc = gpusDoc('n', [gpu(0, { DCGM_FI_DEV_GPU_UTIL: 7 }, [pod('ai', 'vllm-1')])]);
  const scaler = createScalerServer({ source: nodeLocalSource(() => doc, []) });
  t.equal(await scaler.listen(addr(`unix://${sock}`)), 1);
  const client = scalerClient(`unix://${sock}`);
  t.equal((await client.getMetrics(ref))[0]!.metricValueFloat, 7);
  client.close();
  await scaler.close();
  t.notOk(existsSync(sock), 'the socket file is removed on close');
});

t.test('listens on IPv6 only ([::1]:port) and on :port (dual stack)', async (t) => {
  const doc = gpusDoc('n', [gpu(0, { DCGM_FI_DEV_GPU_UTIL: 9 }, [pod('ai', 'vllm-1')])]);
  for (const [text, target] of [['[::1]:0', (p: number) => `[::1]:${p}`], [':0', (p: number) => `127.0.0.1:${p}`], [':0', (p: number) => `[::1]:${p}`]] as const) {
    const scaler = createScalerServer({ source: nodeLocalSource(() => doc, []) });
    const port = await scaler.listen(addr(text));
    const client = scalerClient(target(port));
    t.equal((await client.getMetrics(ref))[0]!.metricValueFloat, 9, `${text} answers on ${target(port)}`);
    client.close();
    await scaler.close();
  }
});
