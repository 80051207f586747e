// The Collector driven directly with a fake NVML (its constructor takes any SweepSource): the
// NVLink bandwidth rate, stalled and failed sweeps, read errors by field and code, lost GPUs,
// scheduling, XID publication.
import t from 'tap';
import { Collector } from '../../lib/collect/collector.js';
import { NvmlError, SweepStalledError } from '../../lib/nvml/errors.js';
import type { DeviceSample, MigDeviceSample, Readings, ReadingStatus, SweepOptions, SweepResult, XidEvent } from '../../lib/nvml/types.js';
import type { Logger } from '../../lib/logger.js';

const UUID_A = 'GPU-aaaaaaaa-0000-0000-0000-000000000000';
const UUID_B = 'GPU-bbbbbbbb-0000-0000-0000-000000000000';
const UUID_C = 'GPU-cccccccc-0000-0000-0000-000000000000';

function device(index: number, uuid: string, readings: Readings = {}, extra: Partial<DeviceSample> = {}): DeviceSample {
  return {
    index,
    minor: index,
    uuid,
    name: 'NVIDIA H100 80GB HBM3',
    pciBusId: `00000000:${(0x18 + index * 16).toString(16).toUpperCase()}:00.0`,
    serial: null,
    migEnabled: false,
    lostCode: null,
    readings,
    status: {},
    mig: [],
    ...extra,
  };
}

function sweepAt(timestamp: number, devices: DeviceSample[]): SweepResult {
  return { timestamp, durationUs: 1234, driverVersion: '580.65.06', nvmlVersion: '13.580.65.06', cudaDriverVersion: 13000, devices };
}

type Step = SweepResult | Error | Promise<SweepResult>;

/** A SweepSource answering each sweep() with the next queued step (the last one repeats). */
class FakeNvml {
  readonly steps: Step[] = [];
  readonly options: SweepOptions[] = [];
  calls = 0;
  private xid = new Set<(e: XidEvent) => void>();
  private last: Step | null = null;
  push(...s: Step[]): this {
    this.steps.push(...s);
    return this;
  }
  sweep(opts: SweepOptions = {}): Promise<SweepResult> {
    this.calls++;
    this.options.push(opts);
    const s = this.steps.shift() ?? this.last;
    this.last = s;
    if (s === null) return Promise.reject(new Error('FakeNvml: no step queued'));
    if (s instanceof Error) return Promise.reject(s);
    return Promise.resolve(s);
  }
  onXid(l: (e: XidEvent) => void): () => void {
    this.xid.add(l);
    return () => void this.xid.delete(l);
  }
  fireXid(e: XidEvent): void {
    for (const l of this.xid) l(e);
  }
  get xidListeners(): number {
    return this.xid.size;
  }
}

function captureLogger(): Logger & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (msg: string) => void lines.push({ level, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function collector(nvml: FakeNvml, intervalMs = 3_600_000, extra: { pcieThroughput?: boolean | (() => boolean) } = {}) {
  const logger = captureLogger();
  const c = new Collector({ nvml, intervalMs, logger, ...extra });
  return { c, logger };
}

const nv = (tx: number | undefined, rx: number | undefined): Readings => {
  const r: Readings = { gpuUtil: 50 };
  if (tx !== undefined) r.nvlinkTx = tx;
  if (rx !== undefined) r.nvlinkRx = rx;
  return r;
};

t.test('NVLink bandwidth: Δ(TX+RX) KiB between sweeps ÷ s ÷ 1000 (DCGM); the first sample is 0', async (t) => {
  const T0 = 1_700_000_000_000;
  const fake = new FakeNvml();
  const { c } = collector(fake);
  t.teardown(() => c.stop());

  // sweep 1: first sample of A (TX+RX) and B (TX only); C has no NVLink counters at all
  fake.push(sweepAt(T0, [device(0, UUID_A, nv(1_000, 2_000)), device(1, UUID_B, nv(5_000, undefined)), device(2, UUID_C, { gpuUtil: 1 })]));
  await c.start();
  let bw = c.current()!.nvlinkBandwidth;
  t.equal(bw.get(UUID_A), 0, 'first sample: 0, not the counter value');
  t.equal(bw.get(UUID_B), 0);
  t.notOk(bw.has(UUID_C), 'a GPU without NVLink counters has no bandwidth (so no series)');

  // sweep 2, 1 s later: A moved 500,000 KiB each way = 1,000,000 KiB/s → ÷ 1000 = 1000 (DCGM's unit)
  // B moved 250,000 KiB TX in 1 s → 250
  fake.push(sweepAt(T0 + 1000, [device(0, UUID_A, nv(501_000, 502_000)), device(1, UUID_B, nv(255_000, undefined)), device(2, UUID_C, { gpuUtil: 1 })]));
  await c.sweepOnce();
  bw = c.current()!.nvlinkBandwidth;
  t.equal(bw.get(UUID_A), 1000, 'TX and RX are summed, KiB per second ÷ 1000, as DCGM computes it');
  t.equal(bw.get(UUID_B), 250, 'TX alone counts when RX is missing');

  // sweep 3, 250 ms later: A moved 100,000 KiB in 0.25 s = 400,000 KiB/s → 400
  fake.push(sweepAt(T0 + 1250, [device(0, UUID_A, nv(551_000, 552_000)), device(1, UUID_B, nv(255_000, undefined))]));
  await c.sweepOnce();
  bw = c.current()!.nvlinkBandwidth;
  t.equal(bw.get(UUID_A), 400, 'divided by the real time between the sweeps');
  t.equal(bw.get(UUID_B), 0, 'no traffic: 0');

  // a failed sweep in between: the next rate spans the whole gap since the last good sweep
  fake.push(new NvmlError(999, 'nvmlDeviceGetCount failed'));
  await c.sweepOnce();
  t.equal(c.current()!.nvlinkBandwidth.get(UUID_A), 400, 'a failed sweep changes nothing');
  fake.push(sweepAt(T0 + 3250, [device(0, UUID_A, nv(551_000 + 1_000_000, 552_000 + 1_000_000)), device(1, UUID_B, nv(255_000, undefined))]));
  await c.sweepOnce();
  t.equal(c.current()!.nvlinkBandwidth.get(UUID_A), 1000, '2,000,000 KiB over the 2 s since the last good sweep');

  // the counters go backwards (driver reload, reset): 0, not a negative or huge rate
  fake.push(sweepAt(T0 + 4250, [device(0, UUID_A, nv(10, 10)), device(1, UUID_B, nv(255_000, undefined))]));
  await c.sweepOnce();
  t.equal(c.current()!.nvlinkBandwidth.get(UUID_A), 0, 'a counter reset gives 0');
  // …and the next sample is measured from the new, lower value
  fake.push(sweepAt(T0 + 5250, [device(0, UUID_A, nv(10 + 250_000, 10 + 250_000)), device(1, UUID_B, nv(255_000, undefined))]));
  await c.sweepOnce();
  t.equal(c.current()!.nvlinkBandwidth.get(UUID_A), 500, 'measured from the value after the reset');

  // the same timestamp twice (no time passed): 0 rather than a division by zero
  fake.push(sweepAt(T0 + 5250, [device(0, UUID_A, nv(10 + 260_000, 10 + 260_000)), device(1, UUID_B, nv(255_000, undefined))]));
  await c.sweepOnce();
  t.equal(c.current()!.nvlinkBandwidth.get(UUID_A), 0, 'dt = 0 gives 0');
  t.ok(Number.isFinite(c.current()!.nvlinkBandwidth.get(UUID_A)!));

  // A is lost for a sweep: no bandwidth then, and the first sample after it comes back is 0 again
  fake.push(sweepAt(T0 + 6250, [device(0, UUID_A, {}, { lostCode: 15 }), device(1, UUID_B, nv(255_000, undefined))]));
  await c.sweepOnce();
  t.notOk(c.current()!.nvlinkBandwidth.has(UUID_A), 'a lost GPU has no bandwidth');
  fake.push(sweepAt(T0 + 7250, [device(0, UUID_A, nv(9_000_000, 9_000_000)), device(1, UUID_B, nv(255_000, undefined))]));
  await c.sweepOnce();
  t.equal(c.current()!.nvlinkBandwidth.get(UUID_A), 0, 'back from lost: first sample again, not Δ since before it was lost');
  fake.push(sweepAt(T0 + 8250, [device(0, UUID_A, nv(9_000_000 + 500_000, 9_000_000 + 500_000)), device(1, UUID_B, nv(255_000, undefined))]));
  await c.sweepOnce();
  t.equal(c.current()!.nvlinkBandwidth.get(UUID_A), 1000);
});

t.test('the bandwidth map of a published snapshot does not change afterwards', async (t) => {
  const fake = new FakeNvml().push(sweepAt(1000, [device(0, UUID_A, nv(0, 0))]), sweepAt(2000, [device(0, UUID_A, nv(1_000_000, 0))]));
  const { c } = collector(fake);
  t.teardown(() => c.stop());
  await c.start();
  const first = c.current()!;
  await c.sweepOnce();
  t.equal(first.nvlinkBandwidth.get(UUID_A), 0, 'the old snapshot still says 0');
  t.equal(c.current()!.nvlinkBandwidth.get(UUID_A), 1000);
  t.ok(c.current()!.seq > first.seq, 'a new snapshot with a higher seq');
});

t.test('a stalled sweep keeps the last good snapshot and is counted; a refused one is counted without another warning', async (t) => {
  const good = sweepAt(Date.now(), [device(0, UUID_A, { gpuUtil: 42 })]);
  const fake = new FakeNvml().push(good, new SweepStalledError(500, 500, false), new SweepStalledError(500, 900, true), new SweepStalledError(500, 1300, true));
  const { c, logger } = collector(fake);
  t.teardown(() => c.stop());
  t.equal(c.ageMs(), Infinity, 'no good sweep yet: age Infinity');
  t.equal(c.current(), null);
  await c.start();
  const snap = c.current();
  const okAt = c.status().lastSuccessMs;
  t.type(okAt, 'number');
  t.equal(c.status().lastSweepSeconds, 0.001234, 'duration from the native µs');
  await c.sweepOnce();
  await c.sweepOnce();
  await c.sweepOnce();
  const st = c.status();
  t.equal(st.sweepsTotal, 4);
  t.equal(st.sweepsStalled, 3, 'the stall and the two refused sweeps');
  t.equal(st.sweepsFailed, 0, 'a stall is not a failure');
  t.equal(c.current(), snap, 'the very same snapshot is kept');
  t.equal(c.current()!.sweep.devices[0]!.readings.gpuUtil, 42);
  t.equal(st.lastSuccessMs, okAt, 'the last success time does not move');
  t.equal(logger.lines.filter((l) => l.level === 'warn' && /stalled/.test(l.msg)).length, 1, 'one warning for the stall, none per refused sweep');
  await new Promise((r) => setTimeout(r, 30));
  t.ok(c.ageMs() >= 30, 'the age grows while stalled');
});

t.test('a failed sweep keeps the last good snapshot, is counted and logged; the next good one replaces it', async (t) => {
  const fake = new FakeNvml().push(
    sweepAt(Date.now(), [device(0, UUID_A, { gpuUtil: 10 })]),
    new NvmlError(9, 'nvmlDeviceGetCount failed: NVML_ERROR_DRIVER_NOT_LOADED (9)'),
    sweepAt(Date.now() + 1, [device(0, UUID_A, { gpuUtil: 20 })]),
  );
  const { c, logger } = collector(fake);
  t.teardown(() => c.stop());
  const outcomes: string[] = [];
  c.on('sweep', (o: { outcome: string }) => outcomes.push(o.outcome));
  await c.start();
  const snap = c.current();
  await c.sweepOnce();
  t.equal(c.status().sweepsFailed, 1);
  t.equal(c.status().sweepsStalled, 0);
  t.equal(c.current(), snap);
  t.same(outcomes, ['ok', 'failed'], "a 'sweep' event for each sweep, with its outcome");
  t.match(logger.lines.find((l) => l.level === 'warn')?.msg, /failed: keeping the last good values/);
  await c.sweepOnce();
  t.equal(c.current()!.sweep.devices[0]!.readings.gpuUtil, 20, 'the next good sweep is published');
  t.equal(c.status().sweepsTotal, 3);
});

t.test('read errors are counted by field and NVML code; NOT_SUPPORTED, missing symbols and lost GPUs are not', async (t) => {
  const mig: MigDeviceSample = {
    uuid: 'MIG-11111111-0000-0000-0000-000000000000', slot: 0, gpuInstanceId: 7, computeInstanceId: 0, profile: '1g.10gb',
    name: 'NVIDIA H100 80GB HBM3 MIG 1g.10gb', readings: {}, status: { memUsed: 999, gpuUtil: 3 },
  };
  const status: ReadingStatus = { powerUsage: 999, gpuTemp: 2, fanSpeed: 3, memTemp: 13 };
  const devs = [
    device(0, UUID_A, { gpuUtil: 1 }, { status }),
    device(1, UUID_B, { gpuUtil: 1 }, { status: { powerUsage: 999 }, mig: [mig], migEnabled: true }),
    device(2, UUID_C, {}, { lostCode: 15, status: { gpuUtil: 15, powerUsage: 15 } }),
  ];
  const fake = new FakeNvml().push(sweepAt(1, devs), sweepAt(2, devs));
  const { c } = collector(fake);
  t.teardown(() => c.stop());
  await c.start();
  const asObject = () => Object.fromEntries([...c.status().readErrors].map(([k, v]) => [k.replace('\u0000', ' '), v]));
  t.same(asObject(), {
    'powerUsage NVML_ERROR_UNKNOWN': 2, // GPU 0 and GPU 1
    'gpuTemp NVML_ERROR_INVALID_ARGUMENT': 1,
    'memUsed NVML_ERROR_UNKNOWN': 1, // the MIG instance
  });
  await c.sweepOnce();
  t.same(asObject(), {
    'powerUsage NVML_ERROR_UNKNOWN': 4,
    'gpuTemp NVML_ERROR_INVALID_ARGUMENT': 2,
    'memUsed NVML_ERROR_UNKNOWN': 2,
  }, 'counted again on every sweep that fails them');
  t.equal(c.status().gpusLost, 1, 'GPU 2 is lost');
  t.equal(c.status().gpuCount, 3);
});

t.test('lost GPUs: counted while lost, logged once when lost and once when back', async (t) => {
  const fake = new FakeNvml().push(
    sweepAt(1, [device(0, UUID_A), device(1, UUID_B)]),
    sweepAt(2, [device(0, UUID_A), device(1, UUID_B, {}, { lostCode: 15 })]),
    sweepAt(3, [device(0, UUID_A), device(1, UUID_B, {}, { lostCode: 15 })]),
    sweepAt(4, [device(0, UUID_A), device(1, UUID_B)]),
  );
  const { c, logger } = collector(fake);
  t.teardown(() => c.stop());
  await c.start();
  t.equal(c.status().gpusLost, 0);
  await c.sweepOnce();
  t.equal(c.status().gpusLost, 1);
  await c.sweepOnce();
  t.equal(c.status().gpusLost, 1);
  t.equal(logger.lines.filter((l) => l.level === 'error' && /GPU lost/.test(l.msg)).length, 1, 'logged once, not per sweep');
  await c.sweepOnce();
  t.equal(c.status().gpusLost, 0);
  t.equal(logger.lines.filter((l) => /answers again/.test(l.msg)).length, 1);
});

t.test('concurrent sweepOnce calls share one sweep', async (t) => {
  let release!: (r: SweepResult) => void;
  const fake = new FakeNvml().push(new Promise<SweepResult>((r) => (release = r)));
  const { c } = collector(fake);
  t.teardown(() => c.stop());
  const a = c.sweepOnce();
  const b = c.sweepOnce();
  t.equal(a, b, 'the same promise');
  release(sweepAt(5, [device(0, UUID_A)]));
  await Promise.all([a, b]);
  t.equal(fake.calls, 1, 'NVML was asked once');
  t.equal(c.status().sweepsTotal, 1);
});

t.test('sweeps run every interval until stop(); stop() marks NVML closed and unsubscribes from XIDs', async (t) => {
  const fake = new FakeNvml().push(sweepAt(1, [device(0, UUID_A)]));
  const { c } = collector(fake, 50);
  await c.start();
  t.equal(fake.xidListeners, 1);
  await new Promise((r) => setTimeout(r, 520));
  // ~10 sweeps in 520 ms at 50 ms; timers on a loaded machine only ever run late, so bound generously
  t.ok(fake.calls >= 4 && fake.calls <= 12, `about one sweep per 50 ms: ${fake.calls} in 520 ms`);
  t.equal(c.status().nvmlOpen, true);
  await c.stop();
  const at = fake.calls;
  await new Promise((r) => setTimeout(r, 200));
  t.equal(fake.calls, at, 'no sweep after stop()');
  t.equal(c.status().nvmlOpen, false);
  t.equal(fake.xidListeners, 0);
});

t.test('stop() does not wait for a sweep stuck in the driver', async (t) => {
  const fake = new FakeNvml().push(sweepAt(1, [device(0, UUID_A)]), new Promise<SweepResult>(() => {}));
  const { c } = collector(fake);
  // stop() bounds its wait with an unref'd timer; in the exporter the server keeps the loop alive,
  // here this does (else the process would simply end with the promise pending)
  const keepAlive = setInterval(() => {}, 1000);
  t.teardown(() => clearInterval(keepAlive));
  await c.start();
  void c.sweepOnce(); // never settles
  const t0 = Date.now();
  await c.stop();
  t.ok(Date.now() - t0 < 2000, `stop() returned after ${Date.now() - t0} ms`);
  t.equal(c.status().nvmlOpen, false);
});

t.test('pcieThroughput is asked before every sweep', async (t) => {
  let want = false;
  const fake = new FakeNvml().push(sweepAt(1, [device(0, UUID_A)]));
  const { c } = collector(fake, 3_600_000, { pcieThroughput: () => want });
  t.teardown(() => c.stop());
  await c.start();
  want = true;
  await c.sweepOnce();
  want = false;
  await c.sweepOnce();
  t.same(fake.options.map((o) => o.pcieThroughput), [false, true, false]);
  const fixed = new FakeNvml().push(sweepAt(1, [device(0, UUID_A)]));
  const c2 = collector(fixed, 3_600_000, { pcieThroughput: true }).c;
  t.teardown(() => c2.stop());
  await c2.start();
  t.same(fixed.options.map((o) => o.pcieThroughput), [true]);
});

t.test('an XID is published at once in a new snapshot, and counted per GPU', async (t) => {
  const fake = new FakeNvml().push(sweepAt(1, [device(0, UUID_A), device(1, UUID_B)]));
  const { c } = collector(fake);
  t.teardown(() => c.stop());
  await c.start();
  const before = c.current()!;
  const seen: number[] = [];
  c.on('snapshot', (s: { seq: number }) => seen.push(s.seq));
  const xid = (n: number): XidEvent => ({ gpu: 1, uuid: UUID_B, xid: n, time: Date.now(), gpuInstanceId: null, computeInstanceId: null });
  fake.fireXid(xid(79));
  fake.fireXid(xid(48));
  const after = c.current()!;
  t.not(after, before, 'a new snapshot without waiting for a sweep');
  t.equal(after.sweep, before.sweep, 'the same sweep inside');
  t.equal(after.lastXid.get(UUID_B)?.xid, 48, 'the last XID');
  t.equal(after.xidCount.get(UUID_B), 2);
  t.notOk(after.lastXid.has(UUID_A));
  t.notOk(before.lastXid.has(UUID_B), 'the earlier snapshot is not changed');
  t.same(seen, [before.seq + 1, before.seq + 2]);
  t.equal(fake.calls, 1, 'no extra sweep');
});
