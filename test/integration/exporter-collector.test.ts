// Collection as the user sees it through the real `nvml-exporter` command on the simulated NVML:
// a sweep stuck in the driver, a failing sweep, failing and unsupported readings, a GPU that
// falls off the bus, and the NVLink bandwidth rate. Timing bounds are generous on purpose: they
// separate "waited on NVML" (seconds) from "answered from memory", not fast from slow.
import t from 'tap';
import { scrape, startExporter, samplesOf, valueOf, waitUntil, type Sample } from '../helpers/exporter.js';
import type { Scenario, SimGpu } from '../../lib/nvml/scenario.js';

const UUIDS = [
  'GPU-10000000-aaaa-4bbb-8ccc-000000000000',
  'GPU-20000000-aaaa-4bbb-8ccc-000000000000',
  'GPU-30000000-aaaa-4bbb-8ccc-000000000000',
];

function gpus(...g: SimGpu[]): Scenario {
  return { gpus: g.map((x, i) => ({ uuid: UUIDS[i], ...x })) };
}

const util = (s: Sample[], gpu: string) => valueOf(s, 'DCGM_FI_DEV_GPU_UTIL', { gpu });
const self = (s: Sample[], name: string, labels: Record<string, string> = {}) => valueOf(s, name, labels);

async function ready(url: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url + '/ready');
  return { status: r.status, body: await r.text() };
}

t.test('a sweep stuck in NVML: last good values, stalled counter, /metrics prompt, /ready 503 then 200', async (t) => {
  // interval 200 ms, deadline 300 ms: /ready's bound is 3 × interval + 1 s = 1.6 s
  const exp = await startExporter({
    scenario: gpus({ values: { gpuUtil: 42 } }, { values: { gpuUtil: 63 } }),
    args: ['-c', '200', '--sweep-deadline', '300'],
    waitPath: '/ready',
  });
  t.teardown(() => exp.stop());
  const before = await scrape(exp.url);
  t.equal(util(before.samples, '0'), 42);
  t.equal(self(before.samples, 'nvml_exporter_sweeps_stalled_total'), 0);

  // GPU 0's utilization call now hangs 4 s (each sweep that reaches it sticks there), and would
  // read 99: a value only a stuck sweep can see, so it must never reach /metrics while stalled
  exp.setScenario(gpus({ values: { gpuUtil: 99 }, delays: { nvmlDeviceGetUtilizationRates: 4000 } }, { values: { gpuUtil: 63 } }));

  const during: { ms: number; util0?: number; util1?: number; ts?: number }[] = [];
  let notReady = { status: 0, body: '' };
  await waitUntil(async () => {
    const s = await scrape(exp.url);
    t.equal(s.status, 200, '/metrics answers while the sweep is stuck');
    during.push({
      ms: s.ms,
      util0: util(s.samples, '0'),
      util1: util(s.samples, '1'),
      ts: self(s.samples, 'nvml_exporter_last_sweep_success_timestamp_seconds'),
    });
    const r = await ready(exp.url);
    if (r.status === 503) notReady = r;
    return r.status === 503 && (self(s.samples, 'nvml_exporter_sweeps_stalled_total') ?? 0) >= 2;
  }, '/ready 503 and two stalled sweeps', 15000, 100);

  const stalled = await scrape(exp.url);
  t.equal(util(stalled.samples, '0'), 42, 'GPU 0 keeps its last good value');
  t.equal(util(stalled.samples, '1'), 63, 'GPU 1 keeps its last good value');
  t.ok(during.every((d) => d.util0 === 42), 'GPU 0: never a value from the stuck sweep, never a gap');
  t.ok(during.every((d) => d.util1 === 63), 'GPU 1 series present throughout');
  const ts = self(stalled.samples, 'nvml_exporter_last_sweep_success_timestamp_seconds')!;
  t.ok(ts > 0 && Date.now() / 1000 - ts > 1.6, `the last success is older than the bound: ${(Date.now() / 1000 - ts).toFixed(2)} s`);
  t.ok(self(stalled.samples, 'nvml_exporter_sweeps_stalled_total')! >= 2, 'the stall and the refused sweeps are counted');
  t.equal(self(stalled.samples, 'nvml_exporter_sweeps_failed_total'), 0, 'a stall is not counted as a failure');
  t.equal(notReady.status, 503);
  t.match(notReady.body, /^not ready: the last good sweep is \d+\.\d s old \(bound 1\.6 s\)/, `/ready names the reason: ${notReady.body.trim()}`);
  const slowest = Math.max(...during.map((d) => d.ms));
  t.ok(during.length >= 5, `${during.length} scrapes while stuck`);
  t.ok(slowest < 1000, `every /metrics answered from memory while the 4 s call hung: slowest ${slowest.toFixed(0)} ms`);
  t.match(exp.stderr(), /NVML sweep stalled/, 'the stall is logged');

  // the driver answers again: the hung call returns (≤ 4 s), then the next sweep is fresh
  exp.setScenario(gpus({ values: { gpuUtil: 99 } }, { values: { gpuUtil: 63 } }));
  await waitUntil(async () => util((await scrape(exp.url)).samples, '0') === 99, 'the new value after the stall', 15000, 100);
  const after = await scrape(exp.url);
  t.equal(util(after.samples, '0'), 99, 'fresh values again');
  t.ok(self(after.samples, 'nvml_exporter_last_sweep_success_timestamp_seconds')! > ts, 'the success time moves again');
  t.ok(self(after.samples, 'nvml_exporter_sweeps_stalled_total')! >= self(stalled.samples, 'nvml_exporter_sweeps_stalled_total')!, 'the counter never goes back');
  const back = await ready(exp.url);
  t.equal(back.status, 200, '/ready is 200 again');
  t.equal(back.body, 'OK\n');
});

t.test('a failing sweep keeps the last good values, is counted, and /ready says so until it recovers', async (t) => {
  const exp = await startExporter({
    scenario: gpus({ values: { gpuUtil: 42 } }, { values: { gpuUtil: 63 } }),
    args: ['-c', '200'],
    waitPath: '/ready',
  });
  t.teardown(() => exp.stop());
  t.equal(self((await scrape(exp.url)).samples, 'nvml_exporter_sweeps_failed_total'), 0);
  // nvmlDeviceGetCount fails: the whole sweep fails (no GPU can be enumerated)
  exp.setScenario({ ...gpus({ values: { gpuUtil: 1 } }, { values: { gpuUtil: 2 } }), errors: { nvmlDeviceGetCount: 999 } });
  const r = await waitUntil(async () => {
    const x = await ready(exp.url);
    return x.status === 503 ? x : undefined;
  }, '/ready 503 while sweeps fail');
  t.match(r.body, /not ready: the last good sweep is .* old/);
  const s = await scrape(exp.url);
  t.equal(s.status, 200);
  t.ok(self(s.samples, 'nvml_exporter_sweeps_failed_total')! >= 3, `failed sweeps counted: ${self(s.samples, 'nvml_exporter_sweeps_failed_total')}`);
  t.equal(self(s.samples, 'nvml_exporter_sweeps_stalled_total'), 0);
  t.equal(util(s.samples, '0'), 42, 'the last good values stay');
  t.equal(util(s.samples, '1'), 63);
  t.equal(self(s.samples, 'nvml_exporter_gpus'), 2, 'the GPUs of the last good sweep');
  t.match(exp.stderr(), /NVML sweep failed: keeping the last good values/);

  exp.setScenario(gpus({ values: { gpuUtil: 1 } }, { values: { gpuUtil: 2 } }));
  await waitUntil(async () => util((await scrape(exp.url)).samples, '0') === 1, 'fresh values after the failures');
  t.equal((await ready(exp.url)).status, 200);
  t.equal(util((await scrape(exp.url)).samples, '1'), 2);
});

t.test('failing readings are counted by field and code; NOT_SUPPORTED ones are neither counted nor shown', async (t) => {
  const exp = await startExporter({
    scenario: gpus(
      // GPU 0: temperature not supported (value form) and power NOT_SUPPORTED (error form)
      { values: { gpuTemp: 'unsupported' }, errors: { nvmlDeviceGetPowerUsage: 3 } },
      // GPU 1: the power sensor fails with UNKNOWN, utilization with NO_PERMISSION
      { errors: { nvmlDeviceGetPowerUsage: 999, nvmlDeviceGetUtilizationRates: 4 } },
      {},
    ),
    args: ['-c', '200'],
  });
  t.teardown(() => exp.stop());
  const first = await scrape(exp.url);
  const errs = samplesOf(first.samples, 'nvml_exporter_read_errors_total');
  t.same(
    errs.map((s) => `${s.labels.field} ${s.labels.code}`).sort(),
    ['gpuUtil NVML_ERROR_NO_PERMISSION', 'memUtil NVML_ERROR_NO_PERMISSION', 'powerUsage NVML_ERROR_UNKNOWN'],
    'exactly the failed readings, by field and NVML code name; nothing for NOT_SUPPORTED',
  );
  t.ok(errs.every((s) => s.value >= 1));
  t.equal(self(first.samples, 'nvml_exporter_sweeps_failed_total'), 0, 'failed readings do not fail the sweep');

  const power = (gpu: string) => valueOf(first.samples, 'DCGM_FI_DEV_POWER_USAGE', { gpu });
  const temp = (gpu: string) => valueOf(first.samples, 'DCGM_FI_DEV_GPU_TEMP', { gpu });
  t.equal(power('0'), undefined, 'NOT_SUPPORTED power: no series');
  t.equal(power('1'), undefined, 'failed power: no series (never NaN or a sentinel)');
  t.equal(power('2'), 285, 'GPU 2 reports 285 W');
  t.equal(temp('0'), undefined, 'unsupported temperature: no series');
  t.equal(temp('1'), 45);
  t.equal(util(first.samples, '1'), undefined, 'failed utilization: no series');
  t.equal(util(first.samples, '0'), 35);
  t.notMatch(first.text, /NaN/);

  // counted per sweep: the counter keeps growing while the reading keeps failing
  const n0 = valueOf(first.samples, 'nvml_exporter_read_errors_total', { field: 'powerUsage', code: 'NVML_ERROR_UNKNOWN' })!;
  const grown = await waitUntil(async () => {
    const v = valueOf((await scrape(exp.url)).samples, 'nvml_exporter_read_errors_total', { field: 'powerUsage', code: 'NVML_ERROR_UNKNOWN' })!;
    return v >= n0 + 2 ? v : undefined;
  }, 'the read-error counter to grow with the sweeps');
  t.ok(grown >= n0 + 2);

  // the sensor recovers: the series is back, the counter stays where it was
  exp.setScenario(gpus({ values: { gpuTemp: 'unsupported' }, errors: { nvmlDeviceGetPowerUsage: 3 } }, { values: { powerUsage: 301000 } }, {}));
  const back = await waitUntil(async () => {
    const s = (await scrape(exp.url)).samples;
    return valueOf(s, 'DCGM_FI_DEV_POWER_USAGE', { gpu: '1' }) !== undefined ? s : undefined;
  }, 'GPU 1 power back');
  t.equal(valueOf(back, 'DCGM_FI_DEV_POWER_USAGE', { gpu: '1' }), 301);
  const frozen = valueOf(back, 'nvml_exporter_read_errors_total', { field: 'powerUsage', code: 'NVML_ERROR_UNKNOWN' })!;
  await new Promise((r) => setTimeout(r, 600));
  t.equal(valueOf((await scrape(exp.url)).samples, 'nvml_exporter_read_errors_total', { field: 'powerUsage', code: 'NVML_ERROR_UNKNOWN' }), frozen,
    'no new errors once the reading works');
});

t.test('a GPU lost from the bus: counted, its series vanish, the others keep reporting, and it comes back', async (t) => {
  const base = (): SimGpu[] => [{ values: { gpuUtil: 11 } }, { values: { gpuUtil: 22 } }, { values: { gpuUtil: 33 } }];
  const exp = await startExporter({ scenario: gpus(...base()), args: ['-c', '200'] });
  t.teardown(() => exp.stop());
  const gpuLabels = (s: Sample[]) => new Set(s.filter((x) => x.name.startsWith('DCGM_FI_')).map((x) => x.labels.gpu));
  const first = await scrape(exp.url);
  t.same([...gpuLabels(first.samples)].sort(), ['0', '1', '2']);
  t.equal(self(first.samples, 'nvml_exporter_gpus_lost'), 0);

  const lost = base();
  lost[1]!.lost = true;
  exp.setScenario(gpus(...lost));
  const s = await waitUntil(async () => {
    const x = (await scrape(exp.url)).samples;
    return self(x, 'nvml_exporter_gpus_lost') === 1 ? x : undefined;
  }, 'nvml_exporter_gpus_lost 1');
  t.same([...gpuLabels(s)].sort(), ['0', '2'], 'no DCGM series for GPU 1 while it is lost');
  t.equal(samplesOf(s, 'DCGM_FI_DEV_GPU_UTIL').length, 2);
  t.notOk(s.some((x) => x.labels.UUID === UUIDS[1]), 'not under its UUID either');
  t.equal(util(s, '0'), 11, 'GPU 0 keeps reporting');
  t.equal(util(s, '2'), 33, 'GPU 2 keeps reporting');
  t.equal(self(s, 'nvml_exporter_gpus'), 3, 'still counted as a GPU of the node');
  t.notOk(samplesOf(s, 'nvml_exporter_read_errors_total').some((x) => /GPU_IS_LOST/.test(x.labels.code ?? '')), 'a lost GPU is not a pile of read errors');
  t.equal(self(s, 'nvml_exporter_sweeps_failed_total'), 0);
  t.equal((await ready(exp.url)).status, 200, 'the exporter stays ready: the other GPUs are fresh');
  const doc = (await (await fetch(exp.url + '/api/v1/gpus')).json()) as { gpus: { uuid: string; lost: boolean }[] };
  t.same(doc.gpus.map((g) => [g.uuid, g.lost]), [[UUIDS[0], false], [UUIDS[1], true], [UUIDS[2], false]], '/api/v1/gpus marks it lost');
  t.match(exp.stderr(), /GPU lost/);

  exp.setScenario(gpus(...base()));
  const again = await waitUntil(async () => {
    const x = (await scrape(exp.url)).samples;
    return self(x, 'nvml_exporter_gpus_lost') === 0 ? x : undefined;
  }, 'nvml_exporter_gpus_lost 0');
  t.same([...gpuLabels(again)].sort(), ['0', '1', '2'], 'its series are back');
  t.equal(util(again, '1'), 22);
  t.equal(valueOf(again, 'DCGM_FI_DEV_GPU_UTIL', { gpu: '1' }), 22);
  t.equal(samplesOf(again, 'DCGM_FI_DEV_GPU_UTIL', { gpu: '1' })[0]?.labels.UUID, UUIDS[1], 'under the same UUID');
});

t.test('NVLink bandwidth through the exporter: 0 on the first sweep, then the rate of the counters', async (t) => {
  // TX 500,000 + RX 476,837 KiB/s = 976,837 KiB/s = 1,000,281,088 B/s ≈ 1000 MB/s; GPU 1 has no NVLink
  const scenario = gpus(
    { values: { nvlinkTx: { ramp: { start: 0, perS: 500_000 } }, nvlinkRx: { ramp: { start: 0, perS: 476_837 } } } },
    { values: { nvlinkTx: 'unsupported', nvlinkRx: 'unsupported' } },
  );
  const once = await startExporter({ scenario, args: ['-c', '600000'] });
  const firstOnly = await scrape(once.url);
  await once.stop();
  t.equal(self(firstOnly.samples, 'nvml_exporter_sweeps_total'), 1, 'one sweep so far');
  t.equal(valueOf(firstOnly.samples, 'DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL', { gpu: '0' }), 0, 'the first sample is 0 (dcgm-exporter)');
  t.equal(valueOf(firstOnly.samples, 'DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL', { gpu: '1' }), undefined, 'no NVLink: no series');

  const exp = await startExporter({ scenario, args: ['-c', '500'] });
  t.teardown(() => exp.stop());
  const s = await waitUntil(async () => {
    const x = (await scrape(exp.url)).samples;
    return (self(x, 'nvml_exporter_sweeps_total') ?? 0) >= 3 ? x : undefined;
  }, 'three sweeps');
  const bw = valueOf(s, 'DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL', { gpu: '0' })!;
  // sweeps land a few ms off their schedule on a busy machine; ±30 % still tells MB/s from KiB/s or MiB/s·8
  t.ok(bw >= 700 && bw <= 1300, `about 1000 MB/s: ${bw}`);
  t.equal(valueOf(s, 'DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL', { gpu: '1' }), undefined);
});
