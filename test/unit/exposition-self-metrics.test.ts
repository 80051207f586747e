// The exporter's own metrics: counters count the events the collector, the attributor and reloads
// emit; gauges read their value at render time; a gauge with no value yet has no family at all;
// the page is rendered again exactly when an event happened or a gauge's value changed.
import t from 'tap';
import { EventEmitter } from 'node:events';
import { createSelfMetrics, type SelfMetricsSources } from '../../lib/exposition/self-metrics.js';
import type { CollectorStatus } from '../../lib/collect/types.js';
import type { PodResourcesStatus } from '../../lib/contract/pods.js';

const build = { version: '0.1.0', nodeVersion: 'v20.0.0', library: '/lib/libnvidia-ml.so.1', driver: () => '550.54.15' };

function sources(opts: { pods?: boolean; renderSeconds?: () => number | null; now?: () => number } = {}) {
  const state = {
    status: {
      nvmlOpen: true, lastSweepSeconds: 0.0025, lastSuccessMs: 1_700_000_000_000, sweepsTotal: 0, sweepsFailed: 0, sweepsStalled: 0,
      readErrors: new Map(), gpusLost: 1, gpuCount: 8,
    } as CollectorStatus,
    pr: { up: false, errorsByReason: {}, lastSuccessMs: 1_700_000_000_000, unmatchedDeviceIds: 0 } as PodResourcesStatus,
  };
  const collector = Object.assign(new EventEmitter(), { status: () => state.status });
  const podResources = Object.assign(new EventEmitter(), { status: () => state.pr });
  const reloads = new EventEmitter();
  const src: SelfMetricsSources = {
    collector, reloads, build,
    podResources: opts.pods === false ? undefined : podResources,
    renderSeconds: opts.renderSeconds,
    now: opts.now,
  };
  return { state, collector, podResources, reloads, src };
}

const samples = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#'));

t.test('counters count events; gauges read the sources', async (t) => {
  const s = sources({ now: () => 1_700_000_004_000 });
  const m = createSelfMetrics(s.src);
  s.collector.emit('sweep', { outcome: 'ok', readErrors: [['powerUsage', 'UNKNOWN']] });
  s.collector.emit('sweep', { outcome: 'failed', readErrors: [] });
  s.collector.emit('sweep', { outcome: 'stalled', readErrors: [] });
  s.collector.emit('sweep', { outcome: 'ok', readErrors: [['powerUsage', 'UNKNOWN'], ['gpuTemp', 'NO_PERMISSION']] });
  s.reloads.emit('reload', true);
  s.reloads.emit('reload', false);
  s.reloads.emit('reload', true);
  s.podResources.emit('refresh', { ok: false, reason: 'deadline', changed: false });
  s.podResources.emit('refresh', { ok: false, reason: 'deadline', changed: false });
  s.podResources.emit('refresh', { ok: true, changed: true });
  s.podResources.emit('malformed', 3);
  s.podResources.emit('unmatched', 1);
  s.podResources.emit('unmatched', 1);
  const text = await m.render();
  t.same(samples(text), [
    'nvml_exporter_build_info{version="0.1.0",node_version="v20.0.0",nvml_library="/lib/libnvidia-ml.so.1",driver="550.54.15"} 1',
    'nvml_exporter_nvml_up 1',
    'nvml_exporter_sweeps_total 4',
    'nvml_exporter_sweeps_failed_total 1',
    'nvml_exporter_sweeps_stalled_total 1',
    'nvml_exporter_read_errors_total{field="powerUsage",code="UNKNOWN"} 2',
    'nvml_exporter_read_errors_total{field="gpuTemp",code="NO_PERMISSION"} 1',
    'nvml_exporter_gpus 8',
    'nvml_exporter_gpus_lost 1',
    'nvml_exporter_mig_parent_memory_denied_gpus 0',
    'nvml_exporter_config_reloads_total 2',
    'nvml_exporter_config_reload_failures_total 1',
    'nvml_exporter_podresources_up 0',
    'nvml_exporter_podresources_refresh_errors_total{reason="deadline"} 2',
    'nvml_exporter_podresources_refresh_errors_total{reason="malformed"} 3',
    'nvml_exporter_podresources_unmatched_device_ids_total 2',
    'nvml_exporter_sweep_duration_seconds 0.0025',
    'nvml_exporter_last_sweep_success_timestamp_seconds 1700000000',
    'nvml_exporter_pod_map_age_seconds 4',
  ]);
  t.match(text, '# TYPE nvml_exporter_sweeps_total counter');
  t.match(text, '# TYPE nvml_exporter_pod_map_age_seconds gauge');
});

t.test('without attribution or a render-time provider, their families are absent', async (t) => {
  const s = sources({ pods: false });
  const text = await createSelfMetrics(s.src).render();
  t.notMatch(text, 'podresources');
  t.notMatch(text, 'pod_map_age');
  t.notMatch(text, 'nvml_exporter_render_duration_seconds');
});

t.test('a gauge with no value yet is not on the page at all, and appears with its first value', async (t) => {
  let renderS: number | null = null;
  const s = sources({ renderSeconds: () => renderS });
  s.state.status = { ...s.state.status, lastSweepSeconds: null, lastSuccessMs: null };
  s.state.pr = { ...s.state.pr, lastSuccessMs: null };
  const m = createSelfMetrics(s.src);
  const before = await m.render();
  for (const name of ['render_duration_seconds', 'sweep_duration_seconds', 'last_sweep_success_timestamp_seconds', 'pod_map_age_seconds']) {
    t.notMatch(before, `nvml_exporter_${name}`, `${name}: no HELP, TYPE or sample before a value (a 0 would read as fresh or as the epoch)`);
  }
  renderS = 0.0004;
  s.state.status = { ...s.state.status, lastSweepSeconds: 0.002, lastSuccessMs: 1_700_000_001_000 };
  const after = await m.render();
  t.match(after, /^nvml_exporter_render_duration_seconds 0\.0004$/m);
  t.match(after, /^nvml_exporter_sweep_duration_seconds 0\.002$/m);
  t.match(after, /^nvml_exporter_last_sweep_success_timestamp_seconds 1700000001$/m);
  t.notMatch(after, 'pod_map_age', 'still no pod map');
});

t.test('rendered again exactly when an event happened or a gauge changed, and then every change shows', async (t) => {
  let clock = 1_700_000_000_200;
  const s = sources({ now: () => clock });
  s.state.pr = { ...s.state.pr, up: true };
  const m = createSelfMetrics(s.src);
  let renders = 0;
  const real = m.registry.metrics.bind(m.registry);
  m.registry.metrics = () => {
    renders++;
    return real();
  };
  const first = await m.render();
  t.equal(await m.render(), first);
  clock += 500; // the pod map age stays 0 whole seconds
  t.equal(await m.render(), first);
  t.equal(renders, 1, 'nothing changed: no new render');
  const step = async (what: string, change: () => void, expect: RegExp) => {
    const n = renders;
    change();
    t.match(await m.render(), expect, what);
    t.equal(renders, n + 1, `${what}: one render`);
  };
  await step('a sweep', () => s.collector.emit('sweep', { outcome: 'ok', readErrors: [] }), /^nvml_exporter_sweeps_total 1$/m);
  await step('a read error', () => s.collector.emit('sweep', { outcome: 'ok', readErrors: [['gpuTemp', 'UNKNOWN']] }),
    /^nvml_exporter_read_errors_total\{field="gpuTemp",code="UNKNOWN"\} 1$/m);
  await step('a GPU lost', () => (s.state.status = { ...s.state.status, gpusLost: 2 }), /^nvml_exporter_gpus_lost 2$/m);
  await step('a reload', () => s.reloads.emit('reload', true), /^nvml_exporter_config_reloads_total 1$/m);
  await step('the kubelet fails', () => {
    s.state.pr = { ...s.state.pr, up: false };
    s.podResources.emit('refresh', { ok: false, reason: 'unavailable', changed: false });
  }, /^nvml_exporter_podresources_up 0$[^]*^nvml_exporter_podresources_refresh_errors_total\{reason="unavailable"\} 1$/m);
  await step('the pod map ages past a whole second', () => (clock = 1_700_000_003_100), /^nvml_exporter_pod_map_age_seconds 3$/m);
  const n = renders;
  await m.render();
  t.equal(renders, n, 'and no render while it stays the same');
});
