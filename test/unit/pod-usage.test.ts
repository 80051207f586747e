// The per-pod usage join and its counters, from hand-built sweeps: apportioning of energy (SM share,
// memory share where nothing was busy and on MIG), naming pods by elimination across GPUs without
// the API, counters that never go back and are kept flat for the retention time, then dropped.
import t from 'tap';
import { PodUsageTracker, type PidResolver } from '../../lib/kubernetes/pod-usage.js';
import type { PidLookup } from '../../lib/kubernetes/proc-cgroup.js';
import type { DeviceSample, ProcessSample, SweepResult } from '../../lib/nvml/types.js';
import type { PodAttribution, PodMap } from '../../lib/contract/pods.js';

const U = (n: number) => `2000000${n}-aaaa-4bbb-8ccc-dddddddddddd`;
const gpu = (index: number, energyMj: number, mig: string[] = []): DeviceSample => ({
  index, minor: index, uuid: `GPU-${index}`, name: 'H100', pciBusId: '', serial: null, migEnabled: mig.length > 0, lostCode: null,
  readings: { energy: energyMj }, status: {},
  mig: mig.map((uuid, slot) => ({ uuid, slot, gpuInstanceId: slot + 1, computeInstanceId: 0, profile: '3g.40gb', name: '', readings: {}, status: {} })),
});
const proc = (pid: number, sm: number | null, mem: number): ProcessSample => ({ pid, kinds: 1, usedMemory: mem, smUtil: sm, memUtil: sm === null ? null : 0, encUtil: sm === null ? null : 0, decUtil: sm === null ? null : 0 });
function sweep(ts: number, devices: DeviceSample[], procs: { gpu: number; slot?: number; ps: ProcessSample[] }[]): SweepResult {
  return {
    timestamp: ts, durationUs: 1, driverVersion: '', nvmlVersion: '', cudaDriverVersion: null, devices,
    processes: { durationUs: 1, stride: 24, devices: procs.map((p) => ({ gpu: p.gpu, migSlot: p.slot ?? null, listStatus: 0, utilStatus: 0, intervalUs: 1e6, processes: p.ps })) },
  };
}
const resolver = (m: Record<number, PidLookup>): PidResolver => ({ resolve: async (pids) => new Map(pids.map((p) => [p, p in m ? m[p]! : 'unreadable'])) });
const map = (entries: [string, PodAttribution[]][]): PodMap => ({ byUuid: new Map(entries), updatedAt: 0 });
const at = (ns: string, pod: string): PodAttribution => ({ namespace: ns, pod, container: 'main' });

t.test('energy by SM share; by memory share where nothing was busy and on MIG; pods named by elimination', async (t) => {
  const pods = map([['GPU-0', [at('a', 'p0'), at('a', 'p1')]], ['GPU-1', [at('a', 'p1')]], ['MIG-x', [at('a', 'm')]]]);
  const tr = new PodUsageTracker({
    resolver: resolver({ 1: { podUid: U(0), containerId: null }, 2: { podUid: U(1), containerId: null }, 3: { podUid: U(1), containerId: null }, 4: { podUid: U(2), containerId: null }, 5: null }),
    pods: () => pods,
  });
  const devs = (e: number) => [gpu(0, e), gpu(1, e), gpu(2, e, ['MIG-x'])];
  const layout = (ps0: ProcessSample[]) => [{ gpu: 0, ps: ps0 }, { gpu: 1, ps: [proc(3, 50, 1e9)] }, { gpu: 2, slot: 0, ps: [proc(4, null, 3e9), proc(5, null, 1e9)] }];
  await tr.update(sweep(1000, devs(0), layout([proc(1, 30, 1e9), proc(2, 10, 1e9)])));
  await tr.update(sweep(3000, devs(100_000), layout([proc(1, 30, 1e9), proc(2, 10, 1e9)])));
  const u = tr.current()!;
  const row = (g: string, pod: string) => u.rows.find((r) => r.gpuUuid === g && r.pod === pod)!;
  // GPU 1 has one pod (p1) and one UID (U1): learned; then GPU 0 has one unknown UID left (U0) and one open pod (p0)
  t.equal(row('GPU-0', 'p0').podUid, U(0), 'p0 named by elimination: p1 was learned on GPU 1');
  t.equal(row('GPU-0', 'p1').podUid, U(1));
  t.equal(row('GPU-0', 'p0').busySecondsTotal, 0.3 * 2, '30 % for 2 s');
  t.equal(row('GPU-0', 'p0').memoryByteSecondsTotal, 1e9 * 2);
  t.equal(row('GPU-0', 'p0').energyJoulesTotal, 75, '100 J split 30:10');
  t.equal(row('GPU-0', 'p1').energyJoulesTotal, 25);
  t.equal(row('GPU-2', 'm').energyJoulesTotal, 75, 'MIG: by memory share, 3 GB of 4');
  t.equal(row('GPU-2', '').energyJoulesTotal, 25, 'the host process gets its memory share too (not charged to a pod)');
  t.equal(row('GPU-2', 'm').smUtil, null, 'no SM utilisation on MIG');
  t.same(u.unattributed.map((x) => [x.gpuUuid, x.reason, x.processes]), [['GPU-2', 'no_pod', 1]]);
  // nothing busy on GPU 0: its energy by memory share
  await tr.update(sweep(4000, devs(200_000), layout([proc(1, 0, 3e9), proc(2, 0, 1e9)])));
  t.equal(tr.current()!.rows.find((r) => r.pod === 'p0' && r.gpuUuid === 'GPU-0')!.energyJoulesTotal, 75 + 75, 'then 100 J by memory 3:1');
});

t.test('counters are kept flat after the last process exits, then dropped after the retention time', async (t) => {
  const tr = new PodUsageTracker({ resolver: resolver({ 1: { podUid: U(0), containerId: null } }), pods: () => map([['GPU-0', [at('a', 'p0')]]]), retentionMs: 10_000 });
  await tr.update(sweep(0, [gpu(0, 0)], [{ gpu: 0, ps: [proc(1, 50, 1e9)] }]));
  await tr.update(sweep(1000, [gpu(0, 1000)], [{ gpu: 0, ps: [proc(1, 50, 1e9)] }]));
  const busy = tr.current()!.rows[0]!.busySecondsTotal;
  t.equal(busy, 0.5);
  await tr.update(sweep(5000, [gpu(0, 2000)], [{ gpu: 0, ps: [] }]));
  const flat = tr.current()!.rows[0]!;
  t.equal(flat.busySecondsTotal, busy, 'flat after the process exited');
  t.equal(flat.processes, 0);
  t.equal(flat.smUtil, 0);
  await tr.update(sweep(12_000, [gpu(0, 3000)], [{ gpu: 0, ps: [] }]));
  t.equal(tr.current()!.rows.length, 0, 'dropped after the retention time');
});

t.test('a pod whose UID the API names but that did not request the GPU: named, allocated=false', async (t) => {
  const meta = {
    generation: 1, syncedAt: 0,
    byUid: (u: string) => (u === U(7) ? { uid: U(7), namespace: 'b', name: 'intruder', nodeName: '', labels: {}, workload: { kind: 'Pod', name: 'intruder' }, containers: [{ name: 'c', containerId: 'f'.repeat(64) }], phase: 'Running' } : undefined),
    byName: () => undefined,
    all: () => [],
  };
  const tr = new PodUsageTracker({ resolver: resolver({ 9: { podUid: U(7), containerId: 'f'.repeat(64) } }), pods: () => map([['GPU-0', [at('a', 'p0')]]]), metadata: meta });
  await tr.update(sweep(0, [gpu(0, 0)], [{ gpu: 0, ps: [proc(9, 20, 1e9)] }]));
  const r = tr.current()!.rows[0]!;
  t.same([r.namespace, r.pod, r.container, r.allocated, r.reason], ['b', 'intruder', 'c', false, 'not_allocated']);
});
