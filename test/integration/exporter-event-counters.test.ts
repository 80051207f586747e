// dcgm-exporter's exporter-owned event families through the CLI on the simulated NVML:
// DCGM_EXP_CLOCK_EVENTS_COUNT (sweeps within --clock-events-count-window-size with each reason set),
// DCGM_EXP_CLOCK_EVENTS_TOTAL (a reason becoming active, the first sweep only a baseline) and
// DCGM_EXP_XID_ERRORS_TOTAL (XIDs since start, by number). The scenario file is rewritten while the
// exporter runs; the simulated library reads it again on its next call.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExporter, scrape, samplesOf, valueOf, waitUntil } from '../helpers/exporter.js';
import type { Scenario } from '../../lib/nvml/scenario.js';

const CSV = [
  'DCGM_FI_DEV_CLOCKS_EVENT_REASONS, gauge, Current clock event reasons.',
  'DCGM_EXP_CLOCK_EVENTS_COUNT, gauge, Clock events observed during the configured time window.',
  'DCGM_EXP_CLOCK_EVENTS_TOTAL, counter, Total clock events observed since exporter start.',
  'DCGM_EXP_XID_ERRORS_COUNT, gauge, XID errors in the window.',
  'DCGM_EXP_XID_ERRORS_TOTAL, counter, XID errors since exporter start.',
].join('\n');

const scenario = (mask0: number, xids: Scenario['xids'] = []): Scenario => ({
  gpus: [{ values: { clockEventReasons: mask0 } }, { values: { clockEventReasons: 0 } }],
  xids,
});

t.test('clock-event window counts, edge-counted totals and XID totals', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nvx-events-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const csvPath = join(dir, 'counters.csv');
  writeFileSync(csvPath, CSV);

  const run = await startExporter({
    scenario: scenario(0x1),
    args: ['-c', '200', '--clock-events-count-window-size', '1500', '-f', csvPath],
  });
  t.teardown(() => run.stop());
  const page = async () => (await scrape(run.url)).samples;

  // GPU 0 idles (gpu_idle set): its window fills with gpu_idle samples, at most 1500/200 + 2
  const idle = await waitUntil(async () => {
    const v = valueOf(await page(), 'DCGM_EXP_CLOCK_EVENTS_COUNT', { gpu: '0', clock_event: 'gpu_idle' });
    return v !== undefined && v >= 3 ? v : undefined;
  }, 'gpu_idle counted in the window');
  t.ok(idle >= 3 && idle <= 9, `gpu_idle samples in a 1.5 s window at 200 ms: ${idle}`);
  let s = await page();
  t.same(samplesOf(s, 'DCGM_EXP_CLOCK_EVENTS_COUNT', { gpu: '0' })[0]!.labels.window_size_in_ms, '1500', 'the window is the flag\'s');
  const quiet = samplesOf(s, 'DCGM_EXP_CLOCK_EVENTS_COUNT', { gpu: '1' });
  t.equal(quiet.length, 1, 'a GPU without events has one sample');
  t.equal(quiet[0]!.value, 0);
  t.equal(quiet[0]!.labels.clock_event, undefined, 'and no clock_event label');
  t.same(samplesOf(s, 'DCGM_EXP_CLOCK_EVENTS_TOTAL'), [], 'a reason active from the first sweep is a baseline, not an event');
  t.same(samplesOf(s, 'DCGM_EXP_XID_ERRORS_TOTAL'), [], 'no XID yet: no series');

  // power_cap comes on: one rising edge
  run.setScenario(scenario(0x5));
  await waitUntil(async () => valueOf(await page(), 'DCGM_EXP_CLOCK_EVENTS_TOTAL', { gpu: '0', clock_event: 'power_cap' }) === 1,
    'power_cap counted once');
  // stays on for a few sweeps: still 1
  await new Promise((r) => setTimeout(r, 700));
  s = await page();
  t.equal(valueOf(s, 'DCGM_EXP_CLOCK_EVENTS_TOTAL', { gpu: '0', clock_event: 'power_cap' }), 1, 'a reason that stays active counts once');
  t.equal(valueOf(s, 'DCGM_EXP_CLOCK_EVENTS_TOTAL', { gpu: '0', clock_event: 'gpu_idle' }), undefined, 'gpu_idle never rose');
  t.ok((valueOf(s, 'DCGM_EXP_CLOCK_EVENTS_COUNT', { gpu: '0', clock_event: 'power_cap' }) ?? 0) >= 2, 'power_cap in the window');

  // off, then on again: a second edge
  run.setScenario(scenario(0x1));
  await waitUntil(async () => valueOf(await page(), 'DCGM_FI_DEV_CLOCKS_EVENT_REASONS', { gpu: '0' }) === 1, 'power_cap cleared');
  run.setScenario(scenario(0x5));
  await waitUntil(async () => valueOf(await page(), 'DCGM_EXP_CLOCK_EVENTS_TOTAL', { gpu: '0', clock_event: 'power_cap' }) === 2,
    'power_cap counted again after it cleared');

  // everything clears: once the window has passed, the count is the single 0 sample again
  run.setScenario(scenario(0));
  const cleared = await waitUntil(async () => {
    const c = samplesOf(await page(), 'DCGM_EXP_CLOCK_EVENTS_COUNT', { gpu: '0' });
    return c.length === 1 && c[0]!.labels.clock_event === undefined ? c : undefined;
  }, 'the window empties');
  t.equal(cleared[0]!.value, 0);
  t.equal(valueOf(await page(), 'DCGM_EXP_CLOCK_EVENTS_TOTAL', { gpu: '0', clock_event: 'power_cap' }), 2, 'totals never go back');

  // XIDs: two 79s and a 31 on GPU 0; an XID 0 is not counted
  run.setScenario(scenario(0, [{ gpu: 0, xid: 79, id: 1 }, { gpu: 0, xid: 79, id: 2 }, { gpu: 0, xid: 31, id: 3 }, { gpu: 1, xid: 0, id: 4 }]));
  s = await waitUntil(async () => {
    const p = await page();
    return valueOf(p, 'DCGM_EXP_XID_ERRORS_TOTAL', { gpu: '0', xid: '79' }) === 2 && valueOf(p, 'DCGM_EXP_XID_ERRORS_TOTAL', { gpu: '0', xid: '31' }) === 1
      ? p : undefined;
  }, 'XID totals by number');
  t.same(samplesOf(s, 'DCGM_EXP_XID_ERRORS_TOTAL', { gpu: '1' }), [], 'XID 0 is not an error');
  t.equal(samplesOf(s, 'DCGM_EXP_XID_ERRORS_TOTAL', { gpu: '0' })[0]!.labels.window_size_in_ms, undefined, 'totals carry no window label');
  t.match((await scrape(run.url)).text, /# TYPE DCGM_EXP_XID_ERRORS_TOTAL counter\n/);
  t.match((await scrape(run.url)).text, /# TYPE DCGM_EXP_CLOCK_EVENTS_TOTAL counter\n/);
  t.notMatch(run.stderr(), /DCGM_EXP_CLOCK_EVENTS|not implement/, 'no row was skipped');
});
