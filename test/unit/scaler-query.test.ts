import t from 'tap';
import { parseQuery, PROFILES, ScalerParamError, sanitizeMetricName } from '../../lib/scaler/query.js';
import { servedFieldName } from '../../lib/fields/index.js';

const ref = (scalerMetadata: Record<string, string>, name = 'vllm', namespace = 'ai') => ({ name, namespace, scalerMetadata });

t.test('defaults: ScaledObject name as deployment, its namespace, gpu_utilization avg target 80', async (t) => {
  const q = parseQuery(ref({ scalerAddress: 'nvml-exporter-scaler.gpu.svc:6000' }));
  t.equal(q.namespace, 'ai');
  t.equal(q.podRule.kind, 'deployment');
  t.ok(q.podRule.matcher.test('vllm-7d9f8c-abcde'));
  t.notOk(q.podRule.matcher.test('vllm'), 'the deployment name alone is not a pod of it');
  t.notOk(q.podRule.matcher.test('other-vllm-1'));
  t.equal(q.field, 'DCGM_FI_DEV_GPU_UTIL');
  t.equal(q.targetValue, 80);
  t.equal(q.activationThreshold, 0);
  t.equal(q.aggregation, 'avg');
  t.equal(q.gpuIndex, -1);
  t.equal(q.pollIntervalSeconds, 10);
  t.equal(q.metricName, 'gpu-gpu-utilization-ai-vllm');
});

t.test('deployment name is escaped, podNamePattern is used as written', async (t) => {
  const q = parseQuery(ref({ deployment: 'a.b' }));
  t.ok(q.podRule.matcher.test('a.b-1'));
  t.notOk(q.podRule.matcher.test('axb-1'), 'the dot is literal');
  const p = parseQuery(ref({ podNamePattern: 'worker-[0-9]+$', namespace: 'batch' }));
  t.equal(p.namespace, 'batch');
  t.ok(p.podRule.matcher.test('my-worker-12'), 'not anchored unless the pattern says so');
  t.notOk(p.podRule.matcher.test('worker-1x'));
});

t.test('metric types map to DCGM fields', async (t) => {
  const cases: [string, string][] = [
    ['gpu_utilization', 'DCGM_FI_DEV_GPU_UTIL'],
    ['memory_utilization', 'DCGM_FI_DEV_MEM_COPY_UTIL'],
    ['memory_used_mib', 'DCGM_FI_DEV_FB_USED'],
    ['memory_used_percent', 'DCGM_FI_DEV_FB_USED'],
    ['power_draw', 'DCGM_FI_DEV_POWER_USAGE'],
    ['temperature', 'DCGM_FI_DEV_GPU_TEMP'],
    ['DCGM_FI_DEV_SM_CLOCK', 'DCGM_FI_DEV_SM_CLOCK'],
  ];
  for (const [type, field] of cases) {
    const q = parseQuery(ref({ metricType: type, targetValue: '100' }));
    t.equal(q.field, field, type);
    t.equal(q.percentOfFramebuffer, type === 'memory_used_percent', `${type} percent flag`);
  }
  t.throws(() => parseQuery(ref({ metricType: 'DCGM_FI_DEV_SM_CLOCK' })), /targetValue/, 'a DCGM field has no default target');
  t.throws(
    () => parseQuery(ref({ metricType: 'DCGM_FI_DEV_NOPE', targetValue: '1' }), { fieldName: (n) => (n === 'DCGM_FI_DEV_SM_CLOCK' ? n : undefined) }),
    /metricType="DCGM_FI_DEV_NOPE"/,
  );
});

t.test('a DCGM field name is resolved to the name the GPU document keys that field by', async (t) => {
  const q = (metricType: string) => parseQuery(ref({ metricType, targetValue: '1' }), { fieldName: servedFieldName });
  t.equal(q('DCGM_FI_DEV_GPU_TEMP_CELSIUS').field, 'DCGM_FI_DEV_GPU_TEMP', "DCGM 4.6.1's name");
  t.equal(q('DCGM_FI_DEV_BOARD_POWER_WATTS').field, 'DCGM_FI_DEV_POWER_USAGE');
  t.equal(q('DCGM_FI_DEV_GPU_TEMP').field, 'DCGM_FI_DEV_GPU_TEMP', 'the first name stays');
  t.throws(() => q('DCGM_FI_DEV_NVLINK_COUNT_FEC_HISTORY_3'), /metricType=/, 'a known but unserved field is refused');
});

t.test('profiles, aliases and explicit overrides', async (t) => {
  const v = parseQuery(ref({ profile: 'vllm-inference' }));
  t.equal(v.metricType, 'gpu_utilization', 'vLLM scales on SM busy, not on its pre-allocated memory');
  t.equal(v.targetValue, PROFILES['vllm-inference'].targetValue);
  t.equal(v.activationThreshold, 5);
  const tr = parseQuery(ref({ profile: 'training' }));
  t.same([tr.metricType, tr.targetValue, tr.activationThreshold], ['gpu_utilization', 90, 0]);
  const tri = parseQuery(ref({ profile: 'triton-inference', targetValue: '60', activationThreshold: '2' }));
  t.same([tri.metricType, tri.targetValue, tri.activationThreshold], ['gpu_utilization', 60, 2], 'explicit wins');
  const b = parseQuery(ref({ profile: 'batch', metricType: 'memory_used_percent' }));
  t.same([b.metricType, b.targetValue, b.activationThreshold], ['memory_used_percent', 80, 1], 'other metric drops the profile target');
  const g = parseQuery(ref({ targetGpuUtilization: '85' }));
  t.same([g.metricType, g.targetValue], ['gpu_utilization', 85]);
  const m = parseQuery(ref({ targetMemoryUtilization: '70' }));
  t.same([m.metricType, m.targetValue, m.percentOfFramebuffer], ['memory_used_percent', 70, true]);
});

t.test('seed README parameters are accepted', async (t) => {
  const q = parseQuery(
    ref({
      scalerAddress: 'keda-gpu-scaler.keda.svc.cluster.local:6000',
      metricType: 'gpu_utilization',
      targetValue: '85',
      activationThreshold: '10',
      gpuIndex: '0',
      aggregation: 'max',
      pollIntervalSeconds: '5',
      vllmEndpoint: 'http://x:8000/metrics',
    }),
  );
  t.same([q.targetValue, q.activationThreshold, q.gpuIndex, q.aggregation, q.pollIntervalSeconds], [85, 10, 0, 'max', 5]);
});

t.test('FromEnv keys stand in for their base key', async (t) => {
  t.equal(parseQuery(ref({ targetValueFromEnv: '42' })).targetValue, 42);
  t.equal(parseQuery(ref({ targetValueFromEnv: '42', targetValue: '50' })).targetValue, 50);
  t.equal(parseQuery(ref({ somethingFromEnv: 'x' })).targetValue, 80, 'unknown FromEnv keys are ignored');
});

t.test('bad parameters name the parameter, the value and what is expected', async (t) => {
  const bad: [Record<string, string>, RegExp][] = [
    [{ targetValue: '0' }, /targetValue="0": expected a number > 0/],
    [{ targetValue: 'abc' }, /targetValue="abc"/],
    [{ activationThreshold: '-1' }, /activationThreshold="-1": expected a number >= 0/],
    [{ aggregation: 'p95' }, /aggregation="p95": expected one of avg, max, min, sum/],
    [{ gpuIndex: '1.5' }, /gpuIndex="1.5"/],
    [{ gpuIndex: '-2' }, /gpuIndex="-2"/],
    [{ pollIntervalSeconds: '0' }, /pollIntervalSeconds="0"/],
    [{ profile: 'ollama' }, /profile="ollama": expected one of vllm-inference, triton-inference, training, batch/],
    [{ metricType: 'vllm_queue_depth' }, /metricType="vllm_queue_depth"/],
    [{ podNamePattern: '([' }, /podNamePattern="\(\[": expected a valid regular expression/],
    [{ podNamePattern: 'a', deployment: 'b' }, /either deployment or podNamePattern/],
    [{ targetValu: '3' }, /targetValu="3": expected a known parameter/],
  ];
  for (const [meta, re] of bad) {
    const err = t.throws(() => parseQuery(ref(meta))) as unknown;
    t.ok(err instanceof ScalerParamError, `${JSON.stringify(meta)} → ScalerParamError`);
    t.match((err as Error).message, re);
  }
  t.throws(() => parseQuery({ name: 'x', namespace: '', scalerMetadata: {} }), /namespace/);
});

t.test('metric names are stable and sanitised', async (t) => {
  t.equal(sanitizeMetricName('gpu-DCGM_FI_DEV_GPU_TEMP-ns-My.App'), 'gpu-dcgm-fi-dev-gpu-temp-ns-my-app');
  t.equal(parseQuery(ref({ metricName: 'My Metric!' })).metricName, 'my-metric');
  t.equal(parseQuery(ref({})).metricName, parseQuery(ref({})).metricName);
});
