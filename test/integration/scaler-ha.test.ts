// Two scaler replicas behind one "Service" (a TCP proxy that, like kube-proxy, sends each new
// connection to a live endpoint): each holds its own view and answers identically; when the replica
// serving a StreamIsActive stream dies, the KEDA-like client reopens the stream (as KEDA does, with
// backoff) and is served by the other; /ready of the survivor stays 200.
import t from 'tap';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { gpu, gpusDoc, pod, scalerClient, startExporter, startTestScaler, until, type TestScaler } from './scaler-harness.js';

/** A Service: each new connection goes to the next endpoint that accepts it; `kill` drops an endpoint and its connections. */
async function service(endpoints: number[]): Promise<{ port: number; used: number[]; kill(port: number): void; close(): Promise<void> }> {
  const live = new Set(endpoints);
  const conns = new Map<number, Set<Socket>>();
  const used: number[] = [];
  let next = 0;
  const server: Server = createServer((down) => {
    down.pause();
    const order = endpoints.filter((p) => live.has(p));
    const tryAt = (i: number) => {
      if (i >= order.length) return down.destroy();
      const port = order[(next + i) % order.length];
      const up = connect(port, '127.0.0.1');
      up.once('connect', () => {
        next = (next + i + 1) % Math.max(1, order.length);
        used.push(port);
        let set = conns.get(port);
        if (!set) conns.set(port, (set = new Set()));
        set.add(up).add(down);
        down.pipe(up).pipe(down);
        down.resume();
      });
      up.once('error', () => (up.remoteAddress ? down.destroy() : tryAt(i + 1)));
      down.on('error', () => up.destroy());
      up.on('close', () => down.destroy());
      down.on('close', () => up.destroy());
    };
    tryAt(0);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    used,
    kill(port) {
      live.delete(port);
      for (const s of conns.get(port) ?? []) s.destroy(); // the pod is gone: its connections reset
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

t.test('two replicas answer identically and a stream survives losing the one serving it', async (t) => {
  const a = await startExporter(gpusDoc('node-a', [gpu(0, { DCGM_FI_DEV_GPU_UTIL: 5 }, [pod('ai', 'web-5d8-aaaaa')])]));
  const b = await startExporter(gpusDoc('node-b', [gpu(0, { DCGM_FI_DEV_GPU_UTIL: 3 }, [pod('ai', 'web-5d8-bbbbb')]), gpu(1, { DCGM_FI_DEV_GPU_UTIL: 80 }, [pod('batch', 'x-0')])]));
  const replicas: TestScaler[] = [];
  for (let i = 0; i < 2; i++) replicas.push(await startTestScaler({ exporters: [a.address, b.address], pullIntervalMs: 100 }));
  const svc = await service(replicas.map((r) => r.grpcPort));
  const client = scalerClient(`127.0.0.1:${svc.port}`, undefined, { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 500 });
  t.teardown(async () => {
    client.close();
    await svc.close();
    for (const r of replicas) await r.close().catch(() => {});
    await a.close();
    await b.close();
  });

  const ref = { name: 'web', namespace: 'ai', scalerMetadata: { activationThreshold: '20', aggregation: 'max' } };
  // each replica directly: the same answers from separate views of the same exporters
  const direct = replicas.map((r) => scalerClient(`127.0.0.1:${r.grpcPort}`));
  const answers = await Promise.all(direct.map(async (c) => ({ metrics: await c.getMetrics(ref), spec: await c.getMetricSpec(ref), active: await c.isActive(ref) })));
  for (const c of direct) c.close();
  t.same(answers[0], answers[1], 'both replicas give the same metric, spec and activity');
  t.same(answers[0].metrics[0].metricValueFloat, 10, 'max 5 × 2 GPUs');

  // KEDA's external-push loop: open StreamIsActive, and reopen it with backoff whenever it ends
  const results: { result: boolean; at: number }[] = [];
  let opened = 0;
  let stopped = false;
  const open = () => {
    if (stopped) return;
    opened++;
    const s = client.streamIsActive(ref);
    s.on('data', (m: { result: boolean }) => results.push({ result: m.result, at: Date.now() }));
    let retried = false;
    const again = () => {
      if (retried) return;
      retried = true;
      setTimeout(open, 100);
    };
    s.on('error', again);
    s.on('end', again);
    t.teardown(() => {
      stopped = true;
      s.cancel();
    });
  };
  open();
  await until(() => results.length > 0, 'the first stream answers');
  t.equal(results[0].result, false, 'max 5 % is below the activation threshold');
  const serving = svc.used[svc.used.length - 1];
  const survivor = replicas.find((r) => r.grpcPort !== serving)!;
  const dead = replicas.find((r) => r.grpcPort === serving)!;

  // the replica serving the stream dies (its connections reset, its port closes)
  svc.kill(serving);
  await dead.close();
  await until(() => opened >= 2, 'the client reopens the stream');
  a.doc = gpusDoc('node-a', [gpu(0, { DCGM_FI_DEV_GPU_UTIL: 95 }, [pod('ai', 'web-5d8-aaaaa')])]);
  await until(() => results.some((r) => r.result), 'the surviving replica pushes the new activity on the reopened stream');
  t.equal(svc.used[svc.used.length - 1], survivor.grpcPort, 'the reopened stream is served by the other replica');
  const [v] = await client.getMetrics(ref);
  t.equal(v.metricValueFloat, 190, 'GetMetrics through the Service is answered by the survivor (max 95 × 2 GPUs)');
  const ready = await fetch(`http://127.0.0.1:${survivor.httpPort}/ready`);
  t.equal(ready.status, 200, 'the survivor is ready');
});

t.test('/ready turns 503 when too few of the exporters in use are fresh', async (t) => {
  const a = await startExporter(gpusDoc('node-a', [gpu(0, { DCGM_FI_DEV_GPU_UTIL: 5 }, [])]));
  const b = await startExporter(gpusDoc('node-b', [gpu(0, { DCGM_FI_DEV_GPU_UTIL: 5 }, [])]));
  const c = await startExporter(gpusDoc('node-c', [gpu(0, { DCGM_FI_DEV_GPU_UTIL: 5 }, [])]));
  const scaler = await startTestScaler({ exporters: [a.address, b.address, c.address], pullIntervalMs: 100, pullTimeoutMs: 200, staleAfterMs: 600, readyMinFreshPercent: 60 });
  t.teardown(async () => {
    await scaler.close();
    for (const e of [a, b, c]) await e.close().catch(() => {});
  });
  const ready = () => fetch(`http://127.0.0.1:${scaler.httpPort}/ready`).then(async (r) => ({ status: r.status, body: await r.text() }));
  t.equal((await ready()).status, 200);
  b.hang = true;
  await until(async () => !scaler.view.exporters().find((e) => e.address === b.address)!.fresh, 'node-b turns stale');
  t.equal((await ready()).status, 200, '2 of 3 fresh (67 %) meets 60 %');
  c.hang = true;
  await until(async () => (await ready()).status === 503, '1 of 3 fresh is below 60 %');
  t.match((await ready()).body, /not ready: 1 of the 3 exporters in use are fresh, fewer than 60% \(--ready-min-fresh-percent\)/);
});
