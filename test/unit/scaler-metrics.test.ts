import t from 'tap';
import { EventEmitter } from 'node:events';
import { createScalerMetrics } from '../../lib/scaler/metrics.js';
import type { ExporterState } from '../../lib/scaler/cluster-view.js';
import type { ScalerView } from '../../lib/scaler/remote-view.js';

function fakeView(list: ExporterState[]) {
  let listings = 0;
  const view = Object.assign(new EventEmitter(), {
    exporters: () => {
      listings++;
      return list.map((e) => ({ ...e }));
    },
    documents: () => [],
    conflicts: () => [],
  }) as unknown as ScalerView;
  return { view, listings: () => listings };
}

const exporter = (address: string, fresh: boolean, lastSuccessMs: number | null): ExporterState =>
  ({ address, doc: null, lastSuccessMs, lastError: null, fresh, idle: false });

t.test('per-exporter series: up and last success for each exporter, label values escaped', async (t) => {
  const { view } = fakeView([
    exporter('10.0.0.1:9400', true, 1_700_000_000_250),
    exporter('10.0.0.2:9400', false, 1_700_000_000_000),
    exporter('[fd00::3]:9400', false, null),
    exporter('odd"\\name:1', true, 1_700_000_001_000),
  ]);
  const text = await createScalerMetrics(view).render();
  t.match(text, /^nvml_scaler_exporters\{state="fresh"\} 2$/m);
  t.match(text, /^nvml_scaler_exporters\{state="stale"\} 2$/m);
  t.match(text, /^# TYPE nvml_scaler_exporter_up gauge$/m);
  t.match(text, /^nvml_scaler_exporter_up\{exporter="10\.0\.0\.1:9400"\} 1$/m);
  t.match(text, /^nvml_scaler_exporter_up\{exporter="10\.0\.0\.2:9400"\} 0$/m);
  t.match(text, /^nvml_scaler_exporter_up\{exporter="\[fd00::3\]:9400"\} 0$/m);
  t.match(text, /^nvml_scaler_exporter_up\{exporter="odd\\"\\\\name:1"\} 1$/m);
  t.match(text, /^# TYPE nvml_scaler_exporter_last_success_timestamp_seconds gauge$/m);
  t.match(text, /^nvml_scaler_exporter_last_success_timestamp_seconds\{exporter="10\.0\.0\.1:9400"\} 1700000000\.25$/m);
  t.notMatch(text, /last_success_timestamp_seconds\{exporter="\[fd00::3\]:9400"\}/, 'never pulled: no last success');
  t.equal(text.match(/^nvml_scaler_exporter_up\{/gm)?.length, 4);
  t.notMatch(text, /\n\n\n/, 'one blank line between families');
});

t.test('a scrape lists the exporters once, and no per-exporter gauge sits in the prom-client registry', async (t) => {
  const list = Array.from({ length: 5000 }, (_, i) => exporter(`10.1.${i >> 8}.${i & 255}:9400`, i % 7 !== 0, 1_700_000_000_000 + i));
  const { view, listings } = fakeView(list);
  const m = createScalerMetrics(view);
  const text = await m.render();
  t.equal(listings(), 1, 'one listing of 5,000 exporters per scrape');
  t.equal(text.match(/^nvml_scaler_exporter_up\{/gm)?.length, 5000);
  t.equal(text.match(/^nvml_scaler_exporter_last_success_timestamp_seconds\{/gm)?.length, 5000);
  t.equal(m.registry.getSingleMetric('nvml_scaler_exporter_up'), undefined);
  t.equal(m.registry.getSingleMetric('nvml_scaler_exporter_last_success_timestamp_seconds'), undefined);
  // the list changes between scrapes: the next one shows the new list, nothing kept from the last
  list.length = 1;
  const again = await m.render();
  t.equal(listings(), 2);
  t.equal(again.match(/^nvml_scaler_exporter_up\{/gm)?.length, 1);
  t.match(again, /^nvml_scaler_exporters\{state="stale"\} 1$/m);
});
