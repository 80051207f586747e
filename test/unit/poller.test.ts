// The one scheduler behind the collector, the pod attribution and the scaler's pulls: fixed rate,
// runs on demand bounded by a gap, never two runs at once, and demands during a run coalesced.
import t from 'tap';
import { Poller } from '../../lib/collect/poller.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function counting(opts: { intervalMs: number; minGapMs?: number; runMs?: number }) {
  const starts: number[] = [];
  let running = 0;
  let overlap = false;
  const p = new Poller({
    intervalMs: opts.intervalMs,
    minGapMs: opts.minGapMs,
    task: async () => {
      starts.push(Date.now());
      if (++running > 1) overlap = true;
      await sleep(opts.runMs ?? 0);
      running--;
    },
  });
  return { p, starts, overlap: () => overlap };
}

t.test('start runs once at once and then at the fixed rate; stop stops', async (t) => {
  const { p, starts } = counting({ intervalMs: 60 });
  const t0 = Date.now();
  await p.start();
  t.equal(starts.length, 1, 'one run before start() resolves');
  await sleep(330);
  p.stop();
  const n = starts.length;
  // 1 + ~5 in 330 ms at 60 ms; timers only ever run late on a loaded machine
  t.ok(n >= 3 && n <= 7, `${n} runs in ${Date.now() - t0} ms at a 60 ms interval`);
  for (let i = 1; i < starts.length; i++) t.ok(starts[i]! - starts[i - 1]! >= 55, `run ${i} started ${starts[i]! - starts[i - 1]!} ms after the one before`);
  await sleep(150);
  t.equal(starts.length, n, 'no run after stop()');
});

t.test('the fixed rate counts from the start of a run: a run as long as the interval is followed at once', async (t) => {
  const { p, starts, overlap } = counting({ intervalMs: 50, runMs: 80 });
  await p.start();
  await sleep(400);
  p.stop();
  await p.current;
  t.notOk(overlap(), 'never two runs at once');
  for (let i = 1; i < starts.length; i++) t.ok(starts[i]! - starts[i - 1]! >= 78, 'the next run waits for the one in flight');
  t.ok(starts.length >= 3, `${starts.length} back-to-back runs`);
});

t.test('runSoon: at most one run per gap however often it is called; a call during a run adds one run after it', async (t) => {
  const { p, starts, overlap } = counting({ intervalMs: 60_000, minGapMs: 100, runMs: 20 });
  await p.start();
  const t0 = Date.now();
  while (Date.now() - t0 < 550) {
    for (let i = 0; i < 100; i++) p.runSoon();
    await sleep(5);
  }
  await sleep(150);
  p.stop();
  t.notOk(overlap());
  // the start's run, then one per 100 ms gap for 550 ms (+ one that the last calls arranged)
  t.ok(starts.length >= 4 && starts.length <= 8, `${starts.length} runs for ~11,000 calls in 550 ms`);
  for (let i = 1; i < starts.length; i++) t.ok(starts[i]! - starts[i - 1]! >= 95, `gap ${starts[i]! - starts[i - 1]!} ms >= 100 ms`);
});

t.test('request: resolves when a run that started after the call has finished; demands meanwhile share it', async (t) => {
  const done: string[] = [];
  let runs = 0;
  const p = new Poller({
    intervalMs: 60_000,
    minGapMs: 50,
    task: async () => {
      runs++;
      await sleep(30);
      done.push(`run ${runs}`);
    },
  });
  await p.start();
  t.equal(runs, 1);
  const a = p.request().then(() => done.push('a'));
  const b = p.request().then(() => done.push('b'));
  await Promise.all([a, b]);
  t.equal(runs, 2, 'two requests within the gap share one run');
  t.same(done, ['run 1', 'run 2', 'a', 'b']);
  p.stop();
  await p.request();
  t.equal(runs, 2, 'a stopped poller answers at once and does not run');
});

t.test('runNow joins the run in flight, or runs at once even when stopped', async (t) => {
  let runs = 0;
  let release!: () => void;
  const p = new Poller({ intervalMs: 60_000, task: () => (runs++, new Promise<void>((r) => (release = r))) });
  const a = p.runNow();
  const b = p.runNow();
  t.equal(a, b, 'the same run');
  release();
  await a;
  t.equal(runs, 1);
});

t.test('a task that throws or rejects does not stop the schedule', async (t) => {
  let runs = 0;
  const p = new Poller({
    intervalMs: 30,
    task: () => {
      runs++;
      if (runs % 2) throw new Error('sync failure');
      return Promise.reject(new Error('async failure'));
    },
  });
  await p.start();
  await sleep(150);
  p.stop();
  t.ok(runs >= 3, `${runs} runs despite every one failing`);
});

t.test('bad options name themselves', async (t) => {
  t.throws(() => new Poller({ intervalMs: 0, task: async () => {} }), /poller interval must be a positive number of ms, got 0/);
  t.throws(() => new Poller({ intervalMs: 10, minGapMs: -1, task: async () => {} }), /poller minGapMs must be >= 0/);
});
