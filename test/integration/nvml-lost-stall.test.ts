// A GPU that falls off the bus and comes back, and a driver call that hangs past the sweep deadline.
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Nvml, SweepStalledError } from '../../lib/nvml/index.js';
import { demoScenario, simulatedLibraryPath, writeScenario } from '../../lib/nvml/simulation.js';
import type { Scenario } from '../../lib/nvml/scenario.js';

const dir = mkdtempSync(join(tmpdir(), 'nvml-lost-'));
const file = join(dir, 'scenario.txt');
process.env.NVML_SIM_SCENARIO = file;

// The simulated library looks at the file at most every 10 ms: give it time to notice a change.
async function update(s: Scenario): Promise<void> {
  writeScenario(file, s);
  await new Promise((r) => setTimeout(r, 30));
}

function three(mod: (s: Scenario) => void = () => {}): Scenario {
  const s = demoScenario(3);
  s.gpus.forEach((g, i) => (g.uuid = `GPU-0000000${i}-aaaa-bbbb-cccc-dddddddddddd`));
  mod(s);
  return s;
}

t.test('a lost GPU keeps its identity, the others keep reporting, and it comes back', async (t) => {
  await update(three());
  const nvml = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => nvml.close());
  const before = await nvml.sweep();
  const id1 = before.devices[1]!;
  t.equal(id1.lostCode, null);

  await update(three((s) => (s.gpus[1]!.lost = true)));
  const lost = await nvml.sweep();
  const d = lost.devices[1]!;
  t.equal(d.lostCode, 15, 'GPU_IS_LOST');
  t.same(d.readings, {}, 'no readings');
  t.equal(d.uuid, id1.uuid, 'identity last seen');
  t.equal(d.name, id1.name);
  t.equal(d.pciBusId, id1.pciBusId);
  t.equal(lost.devices[0]!.lostCode, null);
  t.ok(lost.devices[0]!.readings.gpuUtil !== undefined, 'GPU 0 still reports');
  t.ok(lost.devices[2]!.readings.powerUsage !== undefined, 'GPU 2 still reports');

  await update(three((s) => (s.gpus[1]!.lost = 28)));
  t.equal((await nvml.sweep()).devices[1]!.lostCode, 28, 'GPU_NOT_FOUND');

  await update(three());
  const back = await nvml.sweep();
  t.equal(back.devices[1]!.lostCode, null, 'back after the handle is looked up again');
  t.equal(back.devices[1]!.uuid, id1.uuid);
  t.ok(back.devices[1]!.readings.gpuUtil !== undefined);
});

t.test('GPU_IS_LOST from one reading marks the GPU lost and skips the rest', async (t) => {
  await update(three((s) => (s.gpus[2]!.errors = { nvmlDeviceGetPowerUsage: 15 })));
  const nvml = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => nvml.close());
  const r = await nvml.sweep();
  t.equal(r.devices[2]!.lostCode, 15);
  t.same(r.devices[2]!.readings, {});
  t.equal(r.devices[2]!.uuid, 'GPU-00000002-aaaa-bbbb-cccc-dddddddddddd');
  t.equal(r.devices[1]!.lostCode, null);
  await update(three());
  const back = await nvml.sweep();
  t.equal(back.devices[2]!.lostCode, null);
  t.ok(back.devices[2]!.readings.powerUsage !== undefined);
});

t.test('a hung call hits the deadline; later calls are refused at once until it returns', async (t) => {
  await update(three((s) => (s.gpus[0]!.delays = { nvmlDeviceGetPowerUsage: 1500 })));
  const nvml = await Nvml.open({ library: simulatedLibraryPath(), sweepDeadlineMs: 200 });
  t.teardown(() => nvml.close());

  const first = (await nvml.sweep().catch((e: unknown) => e)) as SweepStalledError;
  t.type(first, SweepStalledError);
  t.equal(first.name, 'SweepStalledError');
  t.equal(first.stillRunning, false);
  t.equal(first.deadlineMs, 200);
  t.match(first.message, /did not finish within 200 ms/);

  await update(three()); // the driver recovers; the stuck call is still sleeping
  const refused = (await nvml.sweep().catch((e: unknown) => e)) as SweepStalledError;
  t.type(refused, SweepStalledError);
  t.equal(refused.stillRunning, true, 'refused while the stuck sweep is still in the driver');
  t.match(refused.message, /no new sweep starts until it returns/);

  // Poll until the stuck call returns: every refusal is immediate and flagged stillRunning.
  let result = null;
  let refusals = 0;
  for (let i = 0; i < 200 && result === null; i++) {
    try {
      result = await nvml.sweep();
    } catch (e) {
      t.equal((e as SweepStalledError).stillRunning, true);
      refusals++;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  t.ok(result, 'sweeps resume once the stuck call returned');
  t.ok(refusals > 0, 'there were refusals while it was stuck');
  t.equal(result!.devices.length, 3);
  t.ok(result!.devices[0]!.readings.powerUsage !== undefined, 'GPU 0 reads normally again');
});

t.test('close while a sweep is stuck does not hang, and a new instance works', async (t) => {
  await update(three((s) => (s.gpus[1]!.delays = { nvmlDeviceGetTemperatureV: 800 })));
  const nvml = await Nvml.open({ library: simulatedLibraryPath(), sweepDeadlineMs: 100 });
  await t.rejects(nvml.sweep(), SweepStalledError);
  await nvml.close();
  t.equal(nvml.closed, true);
  await update(three());
  const again = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => again.close());
  t.equal((await again.sweep()).devices.length, 3);
});
