// The packed crossing (native/result.h, lib/nvml/decode.ts): the GPUs' strings are sent only when
// they change, so every change of identity must still reach JS — including one carried by a sweep
// whose caller had already been told it stalled — and a failure inside the JS callback must never
// abort the process.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Nvml, SweepStalledError, READING_KEYS } from '../../lib/nvml/index.js';
import { checkReadingOrder, decodeIdentity, decodeSweep } from '../../lib/nvml/decode.js';
import { demoScenario, simulatedLibraryPath, writeScenario } from '../../lib/nvml/simulation.js';
import { packageRoot } from '../../lib/package-root.js';
import type { Scenario, SimMigDevice } from '../../lib/nvml/scenario.js';

const dir = mkdtempSync(join(tmpdir(), 'nvml-packed-'));
const file = join(dir, 'scenario.txt');
process.env.NVML_SIM_SCENARIO = file;

async function update(s: Scenario): Promise<void> {
  writeScenario(file, s); // the simulated library notices a change within 10 ms
  await new Promise((r) => setTimeout(r, 30));
}

const migDev = (n: number, profile: string): SimMigDevice => ({
  profile,
  uuid: `MIG-22222222-aaaa-bbbb-cccc-00000000000${n}`,
  gpuInstanceId: n + 1,
  computeInstanceId: 0,
  memTotal: 10_000_000_000,
  values: { memUsed: n * 1_000_000 },
});

function withMig(mig: SimMigDevice[], mod: (s: Scenario) => void = () => {}): Scenario {
  const s = demoScenario(2);
  s.gpus[0]!.uuid = 'GPU-00000000-aaaa-bbbb-cccc-dddddddddddd';
  s.gpus[1]!.uuid = 'GPU-00000001-aaaa-bbbb-cccc-dddddddddddd';
  s.gpus[0]!.migCapable = true;
  s.gpus[0]!.mig = mig;
  mod(s);
  return s;
}

t.test('every change of MIG layout reaches JS; unchanged sweeps keep the same strings', async (t) => {
  await update(withMig([migDev(1, '1g.10gb')]));
  const nvml = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => nvml.close());
  const a = await nvml.sweep();
  const b = await nvml.sweep();
  t.same(a.devices[0]!.mig.map((m) => m.uuid), ['MIG-22222222-aaaa-bbbb-cccc-000000000001']);
  t.same(b.devices.map((d) => [d.uuid, d.name, d.pciBusId, d.serial]), a.devices.map((d) => [d.uuid, d.name, d.pciBusId, d.serial]),
    'a sweep without identity change has the same identity');
  t.equal(b.driverVersion, a.driverVersion);
  t.not(b.devices[0], a.devices[0], 'each sweep has its own objects');

  await update(withMig([migDev(1, '1g.10gb'), migDev(2, '2g.20gb'), migDev(3, '3g.40gb')]));
  const c = await nvml.sweep();
  t.same(c.devices[0]!.mig.map((m) => [m.uuid, m.profile, m.gpuInstanceId, m.readings.memUsed]), [
    ['MIG-22222222-aaaa-bbbb-cccc-000000000001', '1g.10gb', 2, 1_000_000],
    ['MIG-22222222-aaaa-bbbb-cccc-000000000002', '2g.20gb', 3, 2_000_000],
    ['MIG-22222222-aaaa-bbbb-cccc-000000000003', '3g.40gb', 4, 3_000_000],
  ]);
  t.equal(c.devices[1]!.uuid, 'GPU-00000001-aaaa-bbbb-cccc-dddddddddddd', 'the GPU after the MIG devices keeps its own strings');

  // Same number of strings, different grouping: the MIG devices move from GPU 0 to GPU 1.
  await update(withMig([], (s) => {
    s.gpus[0]!.migCapable = true;
    s.gpus[1]!.migCapable = true;
    s.gpus[1]!.mig = [migDev(1, '1g.10gb'), migDev(2, '2g.20gb'), migDev(3, '3g.40gb')];
  }));
  const d = await nvml.sweep();
  t.same(d.devices[0]!.mig, [], 'GPU 0 has no MIG devices any more');
  t.equal(d.devices[0]!.migEnabled, false);
  t.same(d.devices[1]!.mig.map((m) => m.profile), ['1g.10gb', '2g.20gb', '3g.40gb']);
  t.equal(d.devices[1]!.uuid, 'GPU-00000001-aaaa-bbbb-cccc-dddddddddddd');
});

t.test('a result stays as it was after later sweeps (the addon reuses its buffer)', async (t) => {
  await update(withMig([migDev(1, '1g.10gb')], (s) => (s.gpus[1]!.values = { gpuUtil: 11, powerUsage: 100_000 })));
  const nvml = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => nvml.close());
  const a = await nvml.sweep();
  const before = JSON.stringify(a);
  await update(withMig([migDev(1, '1g.10gb'), migDev(2, '2g.20gb')], (s) => (s.gpus[1]!.values = { gpuUtil: 99, powerUsage: 250_000 })));
  const b = await nvml.sweep();
  const c = await nvml.sweep();
  t.equal(b.devices[1]!.readings.gpuUtil, 99);
  t.equal(c.devices[0]!.mig.length, 2, 'a bigger packed sweep than the first');
  t.equal(JSON.stringify(a), before, 'the first result is unchanged');
  t.equal(a.devices[1]!.readings.gpuUtil, 11);
  t.equal(a.devices[1]!.readings.powerUsage, 100_000);
});

t.test('an identity change carried by a stalled sweep is not lost', async (t) => {
  await update(withMig([migDev(1, '1g.10gb')]));
  const nvml = await Nvml.open({ library: simulatedLibraryPath(), sweepDeadlineMs: 200 });
  t.teardown(() => nvml.close());
  t.equal((await nvml.sweep()).devices[0]!.mig.length, 1);

  // GPU 0's MIG layout changes and GPU 1 hangs: the sweep that reads the new layout stalls.
  const grown = [migDev(1, '1g.10gb'), migDev(2, '2g.20gb')];
  await update(withMig(grown, (s) => (s.gpus[1]!.delays = { nvmlDeviceGetTemperatureV: 700 })));
  await t.rejects(nvml.sweep(), SweepStalledError);
  await update(withMig(grown)); // the driver recovers; the layout stays as it is now

  let result = null;
  for (let i = 0; i < 200 && result === null; i++) {
    result = await nvml.sweep().catch(async () => {
      await new Promise((r) => setTimeout(r, 25));
      return null;
    });
  }
  t.ok(result, 'sweeps resume');
  t.same(result!.devices[0]!.mig.map((m) => m.profile), ['1g.10gb', '2g.20gb'],
    'the layout sent with the stalled sweep is the one used afterwards');
});

t.test('the addon and READING_KEYS agree on the order of the readings', async (t) => {
  const { loadBinding } = await import('../../lib/nvml/binding.js');
  t.same(loadBinding().readingKeys, [...READING_KEYS]);
  t.doesNotThrow(() => checkReadingOrder([...READING_KEYS]));
  const swapped = [...READING_KEYS];
  [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
  t.throws(() => checkReadingOrder(swapped), /reading order differs .* at position 3 \(addon: memFree, READING_KEYS: memReserved\); rebuild the addon with `npm run build`/);
  t.throws(() => checkReadingOrder(READING_KEYS.slice(0, -1)), /at position 66 \(addon: undefined, READING_KEYS: vgpuLicenseStatus\)/);
});

t.test('decodeSweep: values, codes and nulls from a hand-built packed sweep; a misfit is an error', async (t) => {
  const R = READING_KEYS.length;
  const set = (ok: Record<number, number>, failed: Record<number, number>): number[] => {
    const v = new Array<number>(R).fill(0);
    const c = new Array<number>(R).fill(-1);
    for (const [k, x] of Object.entries(ok)) {
      v[Number(k)] = x;
      c[Number(k)] = 0;
    }
    for (const [k, code] of Object.entries(failed)) c[Number(k)] = code;
    return [...v, ...c];
  };
  const nums = new Float64Array([
    1700000000000, 42.5, -1, 1,
    3, -1, 1, 0, 0, 1, ...set({ 0: 77, 6: 123456 }, { 1: 3, 40: 999 }),
    5, -1, 4, 19, 6, ...set({ 2: 1e10 }, { 0: 3 }),
    -1, 0, // GPM: this GPU was not sampled
    0, // no processes read in this sweep
  ]);
  const id = decodeIdentity(['550.54.15', '12.550.54.15', 'GPU-x', 'NVIDIA H100', '00000000:3B:00.0', 'ignored',
    '96.00.99.00.01', 'G520.0200.00.05', '2.1', '', '', 'NVIDIA', 'MIG-y', '1g.10gb', 'MIG 1g.10gb', 'name']);
  const r = decodeSweep(nums, id);
  t.same(r, {
    timestamp: 1700000000000,
    durationUs: 42.5,
    driverVersion: '550.54.15',
    nvmlVersion: '12.550.54.15',
    cudaDriverVersion: null,
    devices: [{
      index: 3, minor: null, uuid: 'GPU-x', name: 'NVIDIA H100', pciBusId: '00000000:3B:00.0', serial: null,
      vbiosVersion: '96.00.99.00.01', inforom: { image: 'G520.0200.00.05', oem: '2.1', ecc: null, power: null }, brand: 'NVIDIA',
      migEnabled: true, lostCode: null,
      readings: { gpuUtil: 77, powerUsage: 123456 },
      status: { memUtil: 3, nvlinkRx: 999 },
      mig: [{ uuid: 'MIG-y', slot: 5, gpuInstanceId: null, computeInstanceId: 4, gpuInstanceProfileId: 19, placementStart: 6, profile: '1g.10gb', profileSource: 'name', name: 'MIG 1g.10gb',
        readings: { memTotal: 1e10 }, status: { gpuUtil: 3 } }],
    }],
    processes: null,
  });
  // the processes section: one device (the MIG device in slot 5) with one process
  const withProcs = new Float64Array([...nums.subarray(0, nums.length - 1), 1, 88.5, 24, 1, 0, 5, 0, 3, 0, 1, 4242, 5, 1073741824, -1, -1, -1, -1]);
  t.same(decodeSweep(withProcs, id).processes, {
    durationUs: 88.5, stride: 24,
    devices: [{ gpu: 0, migSlot: 5, listStatus: 0, utilStatus: 3, intervalUs: 0,
      processes: [{ pid: 4242, kinds: 5, usedMemory: 1073741824, smUtil: null, memUtil: null, encUtil: null, decUtil: null }] }],
  }, 'the processes section: PID, kinds, memory, utilisation not read on MIG');
  t.throws(() => decodeSweep(new Float64Array([...withProcs.subarray(0, withProcs.length - 17), 1, 88.5, 24, 1, 7, -1, 0, 0, 0, 0]), id), /process GPU 7 of 1/, 'a process on a GPU the sweep does not have is an error');
  t.throws(() => decodeSweep(nums.subarray(0, nums.length - 1), id), /does not fit its identity/);
  t.throws(() => decodeSweep(nums, decodeIdentity(['d', 'n', 'GPU-x', 'a', 'b', 'c'])), /does not fit its identity \(\d+\/\d+ numbers, 14\/4 strings\)/);
});

// A child process, so that an abort would not take the test runner with it.
function runChild(t: Test, name: string, code: string): { status: number | null; stdout: string; stderr: string } {
  const script = join(dir, name);
  writeFileSync(script, code);
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
    cwd: packageRoot(),
    encoding: 'utf8',
    env: { ...process.env, NVML_SIM_SCENARIO: file },
    timeout: 30_000,
  });
  t.notMatch(r.stderr, /terminate called|Aborted|FATAL ERROR/, `${name}: no abort`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('a throwing sweep callback is an uncaught JS exception, not an abort', async (t) => {
  await update(withMig([]));
  const binding = join(packageRoot(), 'lib/nvml/binding.ts');
  const r = runChild(t, 'throwing-callback.ts', `
    import { loadBinding } from ${JSON.stringify(binding)};
    process.on('uncaughtException', (e) => { console.log('caught:' + e.message); process.exit(0); });
    const keep = setTimeout(() => { console.log('no exception arrived'); process.exit(3); }, 10000);
    const h = new (loadBinding().NvmlHandle)();
    void h.open(${JSON.stringify(simulatedLibraryPath())}, () => { throw new Error('listener failed'); }).then(() => h.sweep(false));
  `);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout.trim(), 'caught:listener failed');
});

t.test('a process that ends while a sweep result is on its way exits normally', async (t) => {
  // The sweep (tens of µs) finishes while Node tears the environment down; delivering it then used
  // to throw a C++ exception from the callback and abort. Several runs, as it is a race.
  await update(withMig([]));
  const binding = join(packageRoot(), 'lib/nvml/binding.ts');
  for (let i = 0; i < 5; i++) {
    const r = runChild(t, 'exit-mid-sweep.ts', `
      import { loadBinding } from ${JSON.stringify(binding)};
      const h = new (loadBinding().NvmlHandle)();
      void h.open(${JSON.stringify(simulatedLibraryPath())}, () => console.log('delivered')).then(() => {
        console.log('requested:' + h.sweep(false));
        // nothing keeps the event loop alive now: Node shuts down while the sweep runs
      });
    `);
    t.equal(r.status, 0, `run ${i}: exit status 0 (${r.stderr.trim()})`);
    t.match(r.stdout, /^requested:true\n(delivered\n)?$/, `run ${i}: output`);
  }
});
