// Per-pod GPU usage through the real `nvml-exporter` command: processes of the simulated NVML,
// a fake host /proc (--host-proc) with the cgroup layouts of real nodes, and the simulated kubelet,
// without the Kubernetes API (pods are named through PodResources where that is unambiguous).
// Asserts the nvml_exporter_pod_gpu_* series served on /metrics: per-pod values, the no-pod,
// not-allocated and ambiguous cases, MIG, counters that only grow, and a process restart in a pod.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimKubelet, type SimPod } from '../../lib/kubernetes/sim-kubelet.js';
import { writeProcTree, type SimProcEntry } from '../../lib/kubernetes/sim-proc.js';
import { scrape, startExporter, samplesOf, valueOf, waitUntil, type Sample } from '../helpers/exporter.js';
import type { Scenario, SimProcess } from '../../lib/nvml/scenario.js';
import { socketDir } from '../fixtures/kubelet/node.js';

const GIB = 1073741824;
const G = [
  'GPU-a0000000-1111-4222-8333-444444444401',
  'GPU-a0000000-1111-4222-8333-444444444402',
  'GPU-a0000000-1111-4222-8333-444444444403',
  'GPU-a0000000-1111-4222-8333-444444444404',
];
const MIG0 = 'MIG-b0000000-1111-5222-8333-444444444401';
const MIG1 = 'MIG-b0000000-1111-5222-8333-444444444402';
const uid = (n: number): string => `0000000${n}-aaaa-4bbb-8ccc-dddddddddddd`;
const cid = (n: number): string => String(n).repeat(64).slice(0, 64);

// GPU 0: pod x (its own), a process of pod z (which holds GPU 1, not GPU 0), a host process
// GPU 1: pod z; GPU 2: pods p and q time-sharing (ambiguous without the API)
// GPU 3: MIG, instance 0 → pod m0, instance 1 → pod m1 (two processes)
function nvml(xPid: number, zOnGpu0: boolean): Scenario {
  const p = (pid: number, sm: number, memGiB: number): SimProcess => ({ pid, sm, mem: memGiB * GIB, memUtil: sm / 2 });
  return {
    gpus: [
      { uuid: G[0], processes: [p(xPid, 30, 6), ...(zOnGpu0 ? [p(5301, 10, 2)] : []), p(5401, 5, 1)] },
      { uuid: G[1], processes: [p(5302, 60, 20)] },
      { uuid: G[2], processes: [p(5501, 20, 4), p(5601, 25, 5)] },
      {
        uuid: G[3],
        mig: [
          { profile: '3g.40gb', uuid: MIG0, processes: [p(5701, 0, 3)] },
          { profile: '3g.40gb', uuid: MIG1, processes: [p(5801, 0, 1), p(5802, 0, 2)] },
        ],
      },
    ],
  };
}
function procs(xPid: number): SimProcEntry[] {
  return [
    { pid: xPid, layout: 'systemd-v2-containerd', podUid: uid(1), containerId: cid(1) },
    { pid: 5301, layout: 'cgroupfs-v1', podUid: uid(2), containerId: cid(2) },
    { pid: 5302, layout: 'cgroupfs-v2', podUid: uid(2), containerId: cid(2) },
    { pid: 5401, layout: 'host' },
    { pid: 5501, layout: 'systemd-v2-crio', podUid: uid(3), containerId: cid(3) },
    { pid: 5601, layout: 'cgroupfs-v1-crio', podUid: uid(4), containerId: cid(4) },
    { pid: 5701, layout: 'systemd-v1-containerd', podUid: uid(5), containerId: cid(5), qos: 'guaranteed' },
    { pid: 5801, layout: 'nested-v2', podUid: uid(6), containerId: cid(6) },
    { pid: 5802, layout: 'nested-v2', podUid: uid(6), containerId: cid(6) },
  ];
}
const pod = (name: string, ...ids: string[]): SimPod => ({ namespace: 'ml', name, containers: [{ name: 'main', devices: [{ resource: 'nvidia.com/gpu', ids }] }] });
const PODS = [pod('x', G[0]!), pod('z', G[1]!), pod('p', `${G[2]}::0`), pod('q', `${G[2]}::1`), pod('m0', MIG0), pod('m1', MIG1)];

const series = (s: Sample[], name: string, labels: Record<string, string>) => samplesOf(s, `nvml_exporter_pod_gpu_${name}`, labels);
const one = (s: Sample[], name: string, labels: Record<string, string>): number | undefined => {
  const m = series(s, name, labels);
  if (m.length > 1) throw new Error(`${m.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return m[0]?.value;
};

t.test('processes to pods through cgroups and PodResources, without the Kubernetes API', async (t) => {
  const { socket, cleanup } = socketDir();
  const proc = mkdtempSync(join(tmpdir(), 'nvx-proc-'));
  writeProcTree(proc, procs(5101));
  const kubelet = await startSimKubelet(socket, { pods: PODS });
  const exp = await startExporter({
    scenario: nvml(5101, true),
    args: ['-c', '200', '-k', '--pod-resources-kubelet-socket', socket, '--pod-resources-refresh-interval', '200', '--pod-usage', '--host-proc', proc],
  });
  t.teardown(async () => {
    await exp.stop();
    await kubelet.stop();
    cleanup();
    rmSync(proc, { recursive: true, force: true });
  });

  const s = await waitUntil(async () => {
    const r = await scrape(exp.url);
    return one(r.samples, 'processes', { UUID: G[0]!, pod: 'x' }) === 1 && one(r.samples, 'processes', { UUID: G[0]!, pod: 'z' }) === 1 && (one(r.samples, 'busy_seconds_total', { UUID: G[0]!, pod: 'x' }) ?? 0) > 0 ? r.samples : undefined;
  }, 'pod x and z attributed on GPU 0');

  // GPU 0: pod x is its own (learned: one unknown UID, one pod on the GPU once z is known from GPU 1)
  t.equal(one(s, 'sm_utilization_ratio', { UUID: G[0]!, pod: 'x', namespace: 'ml', container: 'main', allocated: 'true', pod_uid: uid(1) }), 0.3, 'pod x: its own SM share (30 %)');
  t.equal(one(s, 'memory_utilization_ratio', { UUID: G[0]!, pod: 'x' }), 0.15);
  t.equal(one(s, 'memory_used_bytes', { UUID: G[0]!, pod: 'x' }), 6 * GIB, 'pod x: its process memory, bytes');
  // pod z runs a process on GPU 0, which it did not request
  t.equal(one(s, 'memory_used_bytes', { UUID: G[0]!, pod: 'z', allocated: 'false', pod_uid: uid(2) }), 2 * GIB, 'pod z on GPU 0: visible, allocated="false"');
  t.equal(one(s, 'memory_used_bytes', { UUID: G[1]!, pod: 'z', allocated: 'true' }), 20 * GIB, 'pod z on its own GPU 1');
  // a host process: pod=""
  t.equal(one(s, 'memory_used_bytes', { UUID: G[0]!, pod: '', pod_uid: '', allocated: 'false' }), 1 * GIB, 'a host process: pod=""');
  t.equal(valueOf(s, 'nvml_exporter_gpu_unattributed_processes', { UUID: G[0]!, reason: 'no_pod' }), 1, 'one host process: no_pod');
  t.equal(valueOf(s, 'nvml_exporter_gpu_unattributed_processes', { UUID: G[0]!, reason: 'not_allocated' }), 1);
  // GPU 2: two pods time-share it and nothing tells their UIDs apart without the API
  t.equal(valueOf(s, 'nvml_exporter_gpu_unattributed_processes', { UUID: G[2]!, reason: 'ambiguous' }), 2, 'time-sharing without the API: ambiguous');
  t.equal(one(s, 'memory_used_bytes', { UUID: G[2]!, pod_uid: uid(3) }), 4 * GIB, 'the ambiguous pod keeps its UID and its own values');
  t.equal(samplesOf(s, 'nvml_exporter_pod_gpu_memory_used_bytes', { UUID: G[2]!, pod: '' }).length, 2, 'pod="" for both, told apart by pod_uid');
  // the rows of a GPU add up to the GPU's own readings (the simulator's GPU values follow its processes)
  const util0 = valueOf(s, 'DCGM_FI_DEV_GPU_UTIL', { gpu: '0' })!;
  const sm0 = series(s, 'sm_utilization_ratio', { UUID: G[0]! }).reduce((a, x) => a + x.value, 0);
  t.ok(Math.abs(sm0 * 100 - util0) <= 1, `GPU 0: pods' SM ${sm0 * 100} % vs DCGM_FI_DEV_GPU_UTIL ${util0} %`);
  const fb0 = valueOf(s, 'DCGM_FI_DEV_FB_USED', { gpu: '0' })!;
  const mem0 = series(s, 'memory_used_bytes', { UUID: G[0]! }).reduce((a, x) => a + x.value, 0);
  t.equal(Math.floor(mem0 / 1048576), fb0, 'GPU 0: the rows\' memory adds up to DCGM_FI_DEV_FB_USED (MiB)');

  // MIG: per instance, with GPU_I_ID, memory only (no per-process utilisation on MIG)
  t.equal(one(s, 'memory_used_bytes', { UUID: G[3]!, pod: 'm0', allocated: 'true' }), 3 * GIB, 'MIG instance 0 → m0');
  t.equal(one(s, 'memory_used_bytes', { UUID: G[3]!, pod: 'm1', allocated: 'true' }), 3 * GIB, 'MIG instance 1 → m1, two processes');
  t.equal(one(s, 'processes', { UUID: G[3]!, pod: 'm1' }), 2);
  t.equal(series(s, 'sm_utilization_ratio', { UUID: G[3]! }).length, 0, 'no SM series on MIG: NVML has no per-process utilisation there');
  const mig1 = series(s, 'memory_used_bytes', { pod: 'm1' })[0]!;
  t.ok(mig1.labels.GPU_I_ID !== undefined && mig1.labels.GPU_I_PROFILE === '3g.40gb', 'MIG rows carry GPU_I_PROFILE and GPU_I_ID');
  const fbMig = samplesOf(s, 'DCGM_FI_DEV_FB_USED', { gpu: '3', GPU_I_ID: mig1.labels.GPU_I_ID! })[0]!.value;
  t.equal(Math.floor(mig1.value / 1048576), fbMig, 'the MIG pod\'s memory is its instance\'s DCGM_FI_DEV_FB_USED');

  // counters grow; a restart of pod x's process (a new PID, same pod) continues them; pod z's
  // process on GPU 0 exits: its counters stay, flat
  const busy1 = one(s, 'busy_seconds_total', { UUID: G[0]!, pod: 'x' })!;
  const bytes1 = one(s, 'memory_byte_seconds_total', { UUID: G[0]!, pod: 'x' })!;
  const joules1 = one(s, 'energy_joules_total', { UUID: G[0]!, pod: 'x' })!;
  writeProcTree(proc, procs(5102));
  exp.setScenario(nvml(5102, false));
  const s2 = await waitUntil(async () => {
    const r = await scrape(exp.url);
    return one(r.samples, 'processes', { UUID: G[0]!, pod: 'z' }) === 0 && (one(r.samples, 'busy_seconds_total', { UUID: G[0]!, pod: 'x' }) ?? 0) > busy1 + 0.3 ? r.samples : undefined;
  }, 'pod x restarted, pod z gone from GPU 0');
  t.equal(one(s2, 'processes', { UUID: G[0]!, pod: 'x' }), 1, 'pod x: one process again (the new PID)');
  t.ok(one(s2, 'memory_byte_seconds_total', { UUID: G[0]!, pod: 'x' })! > bytes1, 'byte-seconds continued across the restart');
  t.ok(one(s2, 'energy_joules_total', { UUID: G[0]!, pod: 'x' })! > joules1, 'joules continued across the restart');
  const zBusy = one(s2, 'busy_seconds_total', { UUID: G[0]!, pod: 'z' })!;
  t.ok(zBusy > 0, 'pod z keeps its counters after its process exited');
  await new Promise((r) => setTimeout(r, 600));
  const s3 = (await scrape(exp.url)).samples;
  t.equal(one(s3, 'busy_seconds_total', { UUID: G[0]!, pod: 'z' }), zBusy, 'and they stay flat');
  t.ok(one(s3, 'busy_seconds_total', { UUID: G[0]!, pod: 'x' })! >= one(s2, 'busy_seconds_total', { UUID: G[0]!, pod: 'x' })!, 'never backwards');
});

t.test('--host-proc that is not a directory: exit 2 naming the flag', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const { cliPath } = await import('../helpers/exporter.js');
  const { simulatedLibraryPath } = await import('../../lib/nvml/simulation.js');
  const r = spawnSync(process.execPath, [cliPath, '--nvml-library', simulatedLibraryPath(), '--pod-usage', '--host-proc', '/nonexistent/proc', '--once'], { encoding: 'utf8', timeout: 20000 });
  t.equal(r.status, 2, 'exit code 2');
  t.match(r.stderr, /--host-proc \/nonexistent\/proc: not a directory/, 'the message names the flag and the fix');
});

t.test('slow process queries move to their own slower cadence, and the self-metrics say so', async (t) => {
  const proc = mkdtempSync(join(tmpdir(), 'nvx-proc-'));
  writeProcTree(proc, [{ pid: 7001, layout: 'host' }]);
  // each process-list call of this GPU takes 150 ms: a read takes > 300 ms, over the 100 ms budget
  const scenario: Scenario = { gpus: [{ processes: [{ pid: 7001, sm: 10 }], delays: { nvmlDeviceGetComputeRunningProcesses: 150 } }] };
  const exp = await startExporter({
    scenario,
    args: ['-c', '200', '--pod-usage', '--host-proc', proc, '--process-budget', '100', '--process-slow-interval', '3000'],
  });
  t.teardown(async () => {
    await exp.stop();
    rmSync(proc, { recursive: true, force: true });
  });
  const s = await waitUntil(async () => {
    const r = await scrape(exp.url);
    return valueOf(r.samples, 'nvml_exporter_process_query_slow') === 1 ? r.samples : undefined;
  }, 'the slow cadence');
  t.equal(valueOf(s, 'nvml_exporter_process_query_interval_seconds'), 3, 'reads every --process-slow-interval (3 s)');
  t.ok(valueOf(s, 'nvml_exporter_process_query_duration_seconds')! > 0.1, 'the last read took more than the budget');
  t.equal(valueOf(s, 'nvml_exporter_process_info_stride_bytes'), 24, 'the probed entry size of the _v3 lists');
  t.match(exp.stderr(), /process queries are slow: reading processes on the slower cadence/, 'one log line says so');
  // back to the normal cadence once the queries are fast again
  exp.setScenario({ gpus: [{ processes: [{ pid: 7001, sm: 10 }] }] });
  const s2 = await waitUntil(async () => {
    const r = await scrape(exp.url);
    return valueOf(r.samples, 'nvml_exporter_process_query_slow') === 0 ? r.samples : undefined;
  }, 'the normal cadence again', 20000);
  t.equal(valueOf(s2, 'nvml_exporter_process_query_interval_seconds'), 0.2, 'every sweep again (the collect interval)');
});

t.test('a driver whose _v3 process lists write 32-byte entries: PIDs and memory still right', async (t) => {
  const proc = mkdtempSync(join(tmpdir(), 'nvx-proc-'));
  writeProcTree(proc, [{ pid: 8001, layout: 'host' }, { pid: 8002, layout: 'host' }, { pid: 8003, layout: 'host' }]);
  const exp = await startExporter({
    scenario: { quirks: ['process-info-32'], driverVersion: '535.54.03', gpus: [{ processes: [{ pid: 8001, mem: 1 * GIB }, { pid: 8002, mem: 2 * GIB }, { pid: 8003, mem: 3 * GIB }] }] },
    args: ['-c', '200', '--pod-usage', '--host-proc', proc],
  });
  t.teardown(async () => {
    await exp.stop();
    rmSync(proc, { recursive: true, force: true });
  });
  const s = await waitUntil(async () => {
    const r = await scrape(exp.url);
    // the stride comes with the sweep, the rows once the PIDs are joined (off the loop, a moment later)
    return valueOf(r.samples, 'nvml_exporter_process_info_stride_bytes') !== undefined && one(r.samples, 'processes', { pod: '' }) !== undefined ? r.samples : undefined;
  }, 'a process read and its rows');
  t.equal(valueOf(s, 'nvml_exporter_process_info_stride_bytes'), 32, 'the 32-byte stride was detected');
  t.equal(one(s, 'processes', { pod: '' }), 3, 'three processes, none garbage');
  t.equal(one(s, 'memory_used_bytes', { pod: '' }), 6 * GIB, '1 + 2 + 3 GiB: every entry read at its own offset');
});

t.test('--once with --pod-usage prints the per-pod rows of the first sweep', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const { cliPath } = await import('../helpers/exporter.js');
  const { simulatedLibraryPath, writeScenario } = await import('../../lib/nvml/simulation.js');
  const dir = mkdtempSync(join(tmpdir(), 'nvx-once-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeScenario(join(dir, 's.txt'), { gpus: [{ processes: [{ pid: 9001, mem: 2 * GIB, sm: 40 }] }] });
  writeProcTree(join(dir, 'proc'), [{ pid: 9001, layout: 'systemd-v1-containerd', podUid: uid(9), containerId: cid(9) }]);
  const r = spawnSync(process.execPath, [cliPath, '--nvml-library', simulatedLibraryPath(), '--pod-usage', '--host-proc', join(dir, 'proc'), '--once'],
    { encoding: 'utf8', timeout: 30000, env: { ...process.env, NVML_SIM_SCENARIO: join(dir, 's.txt') } });
  t.equal(r.status, 0);
  t.match(r.stdout, new RegExp(`^nvml_exporter_pod_gpu_memory_used_bytes\\{[^}]*pod_uid="${uid(9)}"\\} ${2 * GIB}$`, 'm'), 'the row of the pod, with its memory');
  t.match(r.stdout, /^nvml_exporter_gpu_unattributed_processes\{[^}]*reason="not_allocated"\} 1$/m, 'without -k the pod holds no GPU: not_allocated');
});
