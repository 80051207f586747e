// The cluster-wide KEDA scaler end to end: three real exporters (simulated GPUs, each with its own
// simulated kubelet) and `nvml-exporter scaler` started as users run it, driven by a KEDA-like
// gRPC client.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExporter, cliPath, type RunningExporter } from '../helpers/exporter.js';
import { freePort } from '../helpers/ports.js';
import { startSimKubelet, type SimKubelet } from '../../lib/kubernetes/sim-kubelet.js';
import { scalerClient, until } from './scaler-harness.js';
import { hpaDesiredReplicas } from '../../lib/scaler/compute.js';
import type { Scenario } from '../../lib/nvml/scenario.js';

const uuid = (node: number, i: number) => `GPU-0000000${node}-0000-4000-8000-00000000000${i}`;
const gpus = (node: number, util: number[]): Scenario => ({ gpus: util.map((u, i) => ({ uuid: uuid(node, i), values: { gpuUtil: u } })) });
const pod = (ns: string, name: string, id: string) => ({ namespace: ns, name, containers: [{ name: 'server', devices: [{ resource: 'nvidia.com/gpu', ids: [id] }] }] });

t.test('GetMetrics and IsActive over three exporters scope to the workload and follow the load', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nvx-scaler-e2e-'));
  const kubelets: SimKubelet[] = [];
  const exporters: RunningExporter[] = [];
  const layout: [number[], ReturnType<typeof pod>[]][] = [
    [[60, 10], [pod('ai', 'web-7f9c-abcde', uuid(0, 0)), pod('ai', 'batch-0', uuid(0, 1))]],
    [[30], [pod('ai', 'web-7f9c-fghij', uuid(1, 0))]],
    [[50], [pod('ai', 'db-0', uuid(2, 0))]],
  ];
  for (const [n, [util, pods]] of layout.entries()) {
    const sock = join(dir, `kubelet-${n}.sock`);
    kubelets.push(await startSimKubelet(sock, { pods }));
    exporters.push(
      await startExporter({
        scenario: gpus(n, util),
        args: ['-c', '200', '-k', '--pod-resources-kubelet-socket', sock, '--pod-resources-refresh-interval', '500'],
        env: { NODE_NAME: `gpu-node-${n}` },
      }),
    );
  }
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const scaler = spawn(process.execPath, [
    cliPath, 'scaler', '--grpc-address', `127.0.0.1:${grpcPort}`, '-a', `127.0.0.1:${httpPort}`,
    '--exporters', exporters.map((e) => `127.0.0.1:${e.port}`).join(','), '--pull-interval', '200', '--stale-after', '1500',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let scalerErr = '';
  scaler.stderr!.on('data', (b: Buffer) => (scalerErr += b.toString()));
  const client = scalerClient(`127.0.0.1:${grpcPort}`);
  t.teardown(async () => {
    client.close();
    scaler.kill('SIGTERM');
    await Promise.all(exporters.map((e) => e.stop()));
    await Promise.all(kubelets.map((k) => k.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  const ref = { name: 'web', namespace: 'ai', scalerMetadata: { metricType: 'gpu_utilization', targetValue: '50' } };
  await until(async () => {
    try {
      return (await client.getMetrics(ref))[0]?.metricValueFloat === 90;
    } catch {
      return false;
    }
  }, `GetMetrics reaching 60+30 from the two web pods' GPUs on two nodes (scaler log: ${scalerErr})`, 20000);
  const [v] = await client.getMetrics(ref);
  t.same([v!.metricValue, v!.metricValueFloat], [90, 90], 'int and float: the sum over the workload\'s GPUs only (batch-0 and db-0 excluded)');
  const [spec] = await client.getMetricSpec(ref);
  t.same([spec!.targetSize, spec!.targetSizeFloat], [50, 50]);
  t.equal(hpaDesiredReplicas(v!.metricValueFloat, spec!.targetSizeFloat, 1), 2, 'the HPA formula gives ceil(90/50) = 2 replicas: 45 % average per GPU against a 50 % target');
  t.equal(await client.isActive({ ...ref, scalerMetadata: { ...ref.scalerMetadata, activationThreshold: '44' } }), true, 'avg 45 > 44');
  t.equal(await client.isActive({ ...ref, scalerMetadata: { ...ref.scalerMetadata, activationThreshold: '45' } }), false, 'strict: avg 45 is not > 45');

  // A load change on node 1 reaches GetMetrics.
  exporters[1]!.setScenario(gpus(1, [90]));
  await until(async () => (await client.getMetrics(ref))[0]?.metricValueFloat === 150, 'GetMetrics following node 1 to 90 %', 10000);
  t.pass('node 1 rising to 90 % is seen: 60 + 90');

  // An exporter going away: its GPUs are excluded once stale; the scaler keeps answering.
  await exporters[0]!.stop();
  await until(async () => (await client.getMetrics(ref))[0]?.metricValueFloat === 90, 'node 0 excluded after going stale', 10000);
  t.pass('node 0 stopped answering and its GPU is no longer counted');
  const m = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  t.match(m, /nvml_scaler_/, 'the scaler serves its own metrics');
});
