import t from 'tap';
import { aggregate, compute, hpaDesiredReplicas, metricValueFor, selectUnits, toInt } from '../../lib/scaler/compute.js';
import { parseQuery } from '../../lib/scaler/query.js';
import { gpu, gpusDoc, migInstance, pod } from '../integration/scaler-harness.js';

const q = (meta: Record<string, string>, name = 'web', namespace = 'ai') => parseQuery({ name, namespace, scalerMetadata: meta });
const util = (v: number) => ({ DCGM_FI_DEV_GPU_UTIL: v, DCGM_FI_DEV_FB_USED: 1000, DCGM_FI_DEV_FB_FREE: 3000 });

t.test('selection: namespace, deployment prefix, shared GPU once, MIG instances as units', async (t) => {
  const docs = [
    gpusDoc('node-a', [
      gpu(0, util(50), [pod('ai', 'web-1-a'), pod('ai', 'web-1-b', { vgpu: '1' })]), // shared by two pods: once
      gpu(1, util(70), [pod('other', 'web-1-c')]), // other namespace
      gpu(2, util(90), [pod('ai', 'webhook-1')]), // not web-…
      gpu(3, util(99), []), // idle, unattributed
    ]),
    gpusDoc('node-b', [
      gpu(0, { ...util(0) }, [], [
        migInstance(1, { DCGM_FI_DEV_FB_USED: 100, DCGM_FI_DEV_FB_FREE: 900, DCGM_FI_DEV_GPU_UTIL: 30 }, [pod('ai', 'web-2-x')]),
        migInstance(2, { DCGM_FI_DEV_FB_USED: 500, DCGM_FI_DEV_FB_FREE: 500, DCGM_FI_DEV_GPU_UTIL: 10 }, [pod('ai', 'batch-1')]),
      ]),
      { ...gpu(1, util(40), [pod('ai', 'web-3-y')]), lost: true }, // lost GPU: no current reading
    ]),
  ];
  const units = selectUnits(docs, q({}));
  t.same(
    units.map((u) => [u.hostname, u.gpu, u.gpuInstanceId, u.value]),
    [
      ['node-a', 0, null, 50],
      ['node-b', 0, 1, 30],
    ],
  );
  const byPattern = selectUnits(docs, q({ podNamePattern: '^web(hook)?-' }));
  t.same(byPattern.map((u) => u.value), [50, 90, 30]);
  t.same(selectUnits(docs, q({ namespace: 'other' })).map((u) => u.value), [70]);
  t.same(selectUnits(docs, q({ gpuIndex: '0', podNamePattern: '.' })).map((u) => u.value), [50, 30, 10]);
  const mem = selectUnits(docs, q({ metricType: 'memory_used_percent' }));
  t.same(mem.map((u) => u.value), [25, 10], 'used / (used + free + reserved) × 100');
});

t.test('memory percent includes reserved memory; units without a reading are skipped', async (t) => {
  const docs = [
    gpusDoc('n', [
      gpu(0, { DCGM_FI_DEV_FB_USED: 600, DCGM_FI_DEV_FB_FREE: 200, DCGM_FI_DEV_FB_RESERVED: 200 }, [pod('ai', 'web-1')]),
      gpu(1, { DCGM_FI_DEV_FB_USED: 600 }, [pod('ai', 'web-2')]),
    ]),
  ];
  t.same(selectUnits(docs, q({ metricType: 'memory_used_percent' })).map((u) => u.value), [60]);
  t.same(selectUnits(docs, q({ metricType: 'gpu_utilization' })).map((u) => u.value), [], 'no GPU_UTIL reading → no unit');
});

t.test('aggregations', async (t) => {
  t.equal(aggregate([10, 20, 60], 'avg'), 30);
  t.equal(aggregate([10, 20, 60], 'max'), 60);
  t.equal(aggregate([10, 20, 60], 'min'), 10);
  t.equal(aggregate([10, 20, 60], 'sum'), 90);
  t.equal(aggregate([], 'max'), 0);
  t.equal(metricValueFor('avg', 30, 3), 90);
  t.equal(metricValueFor('max', 60, 3), 180);
  t.equal(metricValueFor('sum', 90, 3), 90);
  t.equal(metricValueFor('min', 5, 0), 0);
  t.equal(toInt(79.5), 80);
  t.equal(toInt(-3), 0);
  t.equal(toInt(NaN), 0);
});

// One GPU per replica: n pods each on its own GPU with the given loads.
function workload(loads: number[]) {
  return [gpusDoc('n1', loads.map((l, i) => gpu(i, util(l), [pod('ai', `web-abc-${i}`)])))];
}

t.test('AverageValue: the HPA rule on our value gives the replica count that brings the aggregate to target', async (t) => {
  const cases: { loads: number[]; agg: string; target: number; want: number }[] = [
    // avg 90 on 4 GPUs, target 60 → 4 × 90 / 60 = 6
    { loads: [90, 90, 90, 90], agg: 'avg', target: 60, want: 6 },
    // avg 20 on 4 GPUs, target 80 → ceil(80 / 80) = 1
    { loads: [10, 20, 30, 20], agg: 'avg', target: 80, want: 1 },
    // avg 84 on 2, target 80: ratio 1.05 within tolerance → keep 2
    { loads: [80, 88], agg: 'avg', target: 80, want: 2 },
    // avg 100 on 3, target 50 → 6
    { loads: [100, 100, 100], agg: 'avg', target: 50, want: 6 },
    // busiest 90 of 4, target 80 → ceil(4 × 90 / 80) = 5
    { loads: [90, 60, 50, 40], agg: 'max', target: 80, want: 5 },
    // least busy 20 of 4, target 40 → ceil(4 × 20 / 40) = 2
    { loads: [20, 60, 50, 40], agg: 'min', target: 40, want: 2 },
    // total 300 over 3, each replica should carry 50 → 6
    { loads: [100, 100, 100], agg: 'sum', target: 50, want: 6 },
  ];
  for (const c of cases) {
    const query = q({ aggregation: c.agg, targetValue: String(c.target) });
    const r = compute(workload(c.loads), query);
    const replicas = c.loads.length;
    const desired = hpaDesiredReplicas(r.metricValue, query.targetValue, replicas);
    t.equal(desired, c.want, `${c.agg} of ${c.loads.join(',')} target ${c.target}`);
    // the same outcome expressed in the HPA's own terms on the aggregate
    const perReplica = c.agg === 'sum' ? r.aggregate / replicas : r.aggregate;
    const ratio = perReplica / c.target;
    const expected = Math.abs(1 - ratio) <= 0.1 ? replicas : Math.ceil(replicas * ratio - 1e-9);
    t.equal(desired, expected, 'matches ceil(replicas × aggregate / target) with 10 % tolerance');
  }
});

t.test('a node-level value under AverageValue would under-scale: ours does not', async (t) => {
  // the seed's approach: return the max (90) for 4 replicas, target 80 → the HPA scales down to 2
  t.equal(hpaDesiredReplicas(90, 80, 4), 2);
  const r = compute(workload([90, 90, 90, 90]), q({ aggregation: 'max', targetValue: '80' }));
  t.equal(hpaDesiredReplicas(r.metricValue, 80, 4), 5);
});

t.test('activation is strict: aggregate > activationThreshold; no GPUs → 0 and inactive', async (t) => {
  const at = (loads: number[], thr: string) => compute(workload(loads), q({ activationThreshold: thr })).active;
  t.equal(at([5, 5], '5'), false, 'equal is not active');
  t.equal(at([5, 6], '5'), true);
  t.equal(at([0, 0], '0'), false);
  const none = compute([gpusDoc('n', [])], q({}));
  t.same([none.metricValue, none.aggregate, none.active, none.units.length], [0, 0, false, 0]);
});
