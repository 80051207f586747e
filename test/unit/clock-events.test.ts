// The clock-event tracker: the window count per reason, the bounded ring, and the edge-counted totals.
import t from 'tap';
import { ClockEventTracker, clockEventSamplesNeeded, MAX_CLOCK_EVENT_SAMPLES } from '../../lib/collect/clock-events.js';

t.test('window counts per reason; samples older than the window drop out', async (t) => {
  const c = new ClockEventTracker(1000, clockEventSamplesNeeded(1000, 100));
  for (let i = 0; i < 10; i++) c.observe('GPU-a', i * 100, i < 5 ? 0x5 : 0x1); // power_cap + gpu_idle, then gpu_idle
  t.same([...c.windowCounts(900).get('GPU-a')!], [['gpu_idle', 10], ['power_cap', 5]]);
  t.same([...c.windowCounts(1250).get('GPU-a')!], [['gpu_idle', 7], ['power_cap', 2]], 'the window (250..1250] keeps samples from 300 on');
  t.same([...c.windowCounts(5000).get('GPU-a')!], [], 'all expired: no reason left');
});

t.test('the ring keeps at most its capacity: the oldest samples are overwritten', async (t) => {
  const c = new ClockEventTracker(1e9, 4);
  for (let i = 0; i < 10; i++) c.observe('GPU-a', i, 0x8);
  t.same([...c.windowCounts(10).get('GPU-a')!], [['hw_slowdown', 4]]);
  t.equal(clockEventSamplesNeeded(300000, 1000), 302);
  t.equal(MAX_CLOCK_EVENT_SAMPLES, 65536);
});

t.test('totals count rising edges; the first sample is the baseline; unknown bits and bad values are ignored', async (t) => {
  const c = new ClockEventTracker(1000, 16);
  c.observe('GPU-a', 0, 0x1); // baseline: gpu_idle already on
  c.observe('GPU-a', 1, 0x1);
  c.observe('GPU-a', 2, 0x5); // power_cap rises
  c.observe('GPU-a', 3, 0x4); // gpu_idle falls
  c.observe('GPU-a', 4, 0x5); // gpu_idle rises
  c.observe('GPU-a', 5, 0x0);
  c.observe('GPU-a', 6, 0x204); // power_cap rises; 0x200 is no reason we know
  c.observe('GPU-a', 7, undefined); // no reading: nothing recorded, the previous mask stays
  c.observe('GPU-a', 8, Number.NaN);
  c.observe('GPU-a', 9, 0x4);
  t.same([...c.totals().get('GPU-a')!], [['power_cap', 2], ['gpu_idle', 1]]);
  t.equal(c.totals().get('GPU-b'), undefined);
});
