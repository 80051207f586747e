// The simulated NVML through its C ABI: a small C driver dlopens the library (like the addon) and
// prints what every call returned. Covers init refcounting, identity, readings, versioned structs,
// buffer sizing, error and delay injection, lost GPUs, reloads, and the legacy symbol set.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { demoScenario, migScenario, writeScenario } from '../../lib/nvml/simulation.js';
import type { Scenario } from '../../lib/nvml/scenario.js';
import { simHarness, work, type Line } from './sim-harness.js';

const sim = simHarness();
if (sim.missingGcc) {
  t.fail(sim.missingGcc); // gcc is required to build the project at all: not a skip
} else {
  if (sim.note) t.comment(sim.note);
  let n = 0;
  const scenarioFile = (s: Scenario): string => {
    const p = join(work, `abi-${n++}.scenario`);
    writeScenario(p, s);
    return p;
  };
  const run = (s: Scenario | null, cmds: string[]) => sim.run(cmds, s ? { NVML_SIM_SCENARIO: scenarioFile(s) } : {});
  const by = (lines: Line[], cmd: string): Line[] => lines.filter((l) => l.cmd === cmd);

  t.test('init is refcounted; calls before init and after the last shutdown are UNINITIALIZED', async (t) => {
    const { lines } = run(null, ['nvmlDeviceGetCount_v2', 'nvmlInit_v2', 'nvmlInit', 'nvmlDeviceGetCount_v2', 'nvmlShutdown',
      'nvmlDeviceGetCount_v2', 'nvmlShutdown', 'nvmlDeviceGetCount_v2', 'nvmlShutdown', 'nvmlSystemGetDriverVersion 80']);
    t.same(lines.map((l) => l.ret), [1, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
    t.equal(lines[3]!.value, 2, 'the built-in default has 2 GPUs');
    t.equal(lines[5]!.value, 2, 'still initialised after one of two shutdowns');
  });

  t.test('built-in default identity, stable handles, string sizing, bad arguments', async (t) => {
    const { lines } = run(null, ['nvmlInit_v2', 'nvmlDeviceGetHandleByIndex_v2 0', 'nvmlDeviceGetHandleByIndex_v2 1',
      'nvmlDeviceGetHandleByIndex_v2 0', 'nvmlDeviceGetHandleByIndex_v2 2', 'nvmlDeviceGetUUID g0 96', 'nvmlDeviceGetUUID g1 96',
      'nvmlDeviceGetUUID g0 10', 'nvmlDeviceGetUUID g0', 'nvmlDeviceGetName g0 96', 'nvmlDeviceGetPciInfo_v3 g1',
      'nvmlDeviceGetPciInfo g1', 'nvmlDeviceGetSerial g0 30', 'nvmlDeviceGetMinorNumber g1', 'nvmlDeviceGetIndex g1',
      'nvmlDeviceGetPowerUsage null', 'nvmlDeviceGetPowerUsage g0 null', 'nvmlSystemGetDriverVersion 9',
      'nvmlSystemGetDriverVersion 10', 'nvmlSystemGetNVMLVersion 80', 'nvmlSystemGetCudaDriverVersion_v2', 'nvmlErrorString 25',
      'nvmlErrorString 12345']);
    const [, h0, h1, h0again, h2, u0, u1, short, nul, name, pci3, pci1, serial, minor, index, nullDev, nullOut, drvShort, drv] = lines;
    t.same([h0!.ret, h1!.ret, h0again!.ret, h0again!.same, h2!.ret], [0, 0, 0, true, 2]);
    t.match(u0!.value, /^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    t.not(u0!.value, u1!.value, 'each GPU has its own UUID');
    t.same([short!.ret, nul!.ret], [7, 2], 'short buffer → INSUFFICIENT_SIZE, NULL buffer → INVALID_ARGUMENT');
    t.equal(name!.value, 'NVIDIA H100 80GB HBM3');
    t.match(pci3, { ret: 0, busId: '00000000:28:00.0', legacy: '0000:28:00.0', bus: 0x28, domain: 0 });
    t.match(pci1, { ret: 0, busId: 'untouched', legacy: '0000:28:00.0' }, 'v1 leaves the v3 busId alone');
    t.match(serial!.value, /^\d{13}$/);
    t.same([minor!.value, index!.value], [1, 1]);
    t.same([nullDev!.ret, nullOut!.ret], [2, 2]);
    t.same([drvShort!.ret, drv!.ret, drv!.value], [7, 0, '580.65.06'], '"580.65.06" needs 10 bytes');
    t.equal(lines[19]!.value, '13.580.65.06');
    t.equal(lines[20]!.value, 13000);
    t.equal(lines[21]!.str, 'Argument version mismatch');
    t.equal(lines[22]!.str, 'Unknown Error');
  });

  t.test('readings: constants, waves, ramps, unsupported, memory v1/v2, versioned structs', async (t) => {
    const s: Scenario = {
      driverVersion: '550.54.15',
      gpus: [{
        name: 'NVIDIA A100-SXM4-40GB',
        values: {
          gpuUtil: 73, memUtil: 41, memTotal: 42949672960, memReserved: 1000, memUsed: 5000, powerUsage: { wave: { min: 100000, max: 300000, periodS: 7, phase: 0.3 } },
          energy: { ramp: { start: 1000000, perS: 250000 } }, gpuTemp: 61, memTemp: 70, smClock: 1410, memClock: 1215,
          graphicsClock: 1400, videoClock: 1275, maxSmClock: 1410, maxMemClock: 1215, encUtil: 12, decUtil: 34, fanSpeed: 55,
          clockEventReasons: 4, violationThermal: 123456789, eccDbeAggregate: 3, retiredSbe: 2, retiredDbe: 0,
          remappedCorrectable: 5, remappedPending: 1, pcieTx: 1234, pcieReplay: 'unsupported', nvlinkTx: 1801, nvlinkRx: 'unsupported',
        },
      }],
    };
    const { lines } = run(s, ['nvmlInit_v2', 'nvmlDeviceGetHandleByIndex_v2 0', 'nvmlDeviceGetUtilizationRates g0',
      'nvmlDeviceGetMemoryInfo g0', 'nvmlDeviceGetMemoryInfo_v2 g0', 'nvmlDeviceGetMemoryInfo_v2 g0 0x01000028',
      'nvmlDeviceGetPowerUsage g0', 'nvmlDeviceGetTotalEnergyConsumption g0', 'sleep 40', 'nvmlDeviceGetTotalEnergyConsumption g0',
      'nvmlDeviceGetTemperature g0 0', 'nvmlDeviceGetTemperature g0 1', 'nvmlDeviceGetTemperatureV g0 0x0100000C 0',
      'nvmlDeviceGetTemperatureV g0 0x0200000C 0', 'nvmlDeviceGetClockInfo g0 1', 'nvmlDeviceGetClockInfo g0 2',
      'nvmlDeviceGetClockInfo g0 4', 'nvmlDeviceGetMaxClockInfo g0 2', 'nvmlDeviceGetEncoderUtilization g0',
      'nvmlDeviceGetDecoderUtilization g0', 'nvmlDeviceGetFanSpeed g0', 'nvmlDeviceGetCurrentClocksEventReasons g0',
      'nvmlDeviceGetCurrentClocksThrottleReasons g0', 'nvmlDeviceGetViolationStatus g0 1', 'nvmlDeviceGetTotalEccErrors g0 1 1',
      'nvmlDeviceGetRetiredPages g0 0 0', 'nvmlDeviceGetRetiredPages g0 0 2', 'nvmlDeviceGetRetiredPages g0 1 0',
      'nvmlDeviceGetRemappedRows g0', 'nvmlDeviceGetPcieReplayCounter g0', 'nvmlDeviceGetPcieThroughput g0 0',
      'nvmlDeviceGetFieldValues g0 82 91 138:0 138:17 138:18 138:4294967295 139:0 94 30 145 186 4 999',
      'nvmlDeviceGetName g0 96', 'nvmlSystemGetDriverVersion 80', 'nvmlDeviceGetEnforcedPowerLimit g0']);
    const l = (i: number) => lines[i]!;
    t.match(l(2), { ret: 0, gpu: 73, memory: 41 });
    t.match(l(3), { ret: 0, total: 42949672960, used: 6000, free: 42949672960 - 6000 }, 'v1 used includes reserved');
    t.match(l(4), { ret: 0, total: 42949672960, reserved: 1000, used: 5000, free: 42949672960 - 6000 }, 'v2 used excludes reserved');
    t.equal(l(5).ret, 25, 'a wrong memory struct version → ARGUMENT_VERSION_MISMATCH');
    t.ok((l(6).value as number) >= 100000 && (l(6).value as number) <= 300000, `wave within [min, max]: ${l(6).value}`);
    t.ok((l(7).value as number) >= 1000000, 'ramp starts at start');
    t.ok((l(9).value as number) > (l(7).value as number), 'ramp grows with time');
    t.same([l(10).value, l(11).ret, l(12).ret, l(12).value, l(13).ret], [61, 2, 0, 61, 25]);
    t.same([l(14).value, l(15).value, l(16).ret, l(17).value], [1410, 1215, 2, 1215]);
    t.match(l(18), { value: 12, periodUs: 167000 });
    t.same([l(19).value, l(20).value, l(21).value, l(22).value], [34, 55, 4, 4]);
    t.same([l(23).value, l(24).value], [123456789, 3]);
    t.same([l(25).ret, l(25).count], [7, 2], 'retired pages: count 0 → INSUFFICIENT_SIZE with the needed count');
    t.same([l(26).ret, l(26).count], [0, 2]);
    t.ok((l(26).first as number) > 0, 'addresses filled');
    t.same([l(27).ret, l(27).count], [0, 0], 'no pages → SUCCESS with count 0');
    t.same(l(28).value, [5, 0, 1, 0]);
    t.equal(l(29).ret, 3, 'unsupported reading → NOT_SUPPORTED');
    t.same([l(30).ret, l(30).value], [0, 1234]);
    t.ok((l(30).ms as number) >= 20, `PCIe throughput samples for 20 ms (${l(30).ms} ms)`);
    const fv = l(31).values as Array<{ id: number; scope: number; ret: number; value: number }>;
    t.same(fv.map((f) => [f.id, f.ret]), [[82, 0], [91, 0], [138, 0], [138, 0], [138, 2], [138, 0], [139, 3], [94, 3], [30, 0], [145, 0], [186, 0], [4, 0], [999, 2]]);
    t.same([fv[0]!.value, fv[1]!.value, fv[2]!.value, fv[3]!.value, fv[5]!.value], [70, 18, 100 + 1801 % 18, 100, 1801]);
    t.ok(fv[10]!.value >= 100000 && fv[10]!.value <= 300000, 'field 186 follows powerUsage');
    t.same([l(32).value, l(33).value, l(34).value], ['NVIDIA A100-SXM4-40GB', '550.54.15', 700000], 'powerLimit not given: the default');
  });

  t.test('error and delay injection: global, per GPU, versioned names', async (t) => {
    const s: Scenario = {
      errors: { nvmlInit_v2: 9 },
      gpus: [{}, {}],
    };
    let { lines } = run(s, ['nvmlInit_v2', 'nvmlDeviceGetCount_v2', 'nvmlInit', 'nvmlDeviceGetCount_v2']);
    t.same(lines.map((l) => l.ret), [9, 1, 0, 0], 'nvmlInit_v2 fails with DRIVER_NOT_LOADED, the unversioned name is untouched');
    const s2: Scenario = {
      errors: { nvmlDeviceGetCount: 18 },
      delays: { nvmlDeviceGetName: 60 },
      gpus: [{ errors: { nvmlDeviceGetPowerUsage: 999, nvmlDeviceGetHandleByIndex: 4 }, delays: { nvmlDeviceGetTemperature: 80 } }, {}],
    };
    ({ lines } = run(s2, ['nvmlInit_v2', 'nvmlDeviceGetCount', 'nvmlDeviceGetCount_v2', 'nvmlDeviceGetHandleByIndex_v2 0',
      'nvmlDeviceGetHandleByIndex_v2 1', 'nvmlDeviceGetPowerUsage g1', 'nvmlDeviceGetTemperature g1 0', 'nvmlDeviceGetName g1 96']));
    t.same(lines.map((l) => l.ret), [0, 18, 18, 4, 0, 0, 0, 0]);
    t.ok((lines[7]!.ms as number) >= 60, `a global delay makes the call return after ≥ 60 ms (${lines[7]!.ms})`);
    const s3: Scenario = { gpus: [{ delays: { nvmlDeviceGetTemperature: 80 }, errors: { nvmlDeviceGetPowerUsage: 999 } }] };
    ({ lines } = run(s3, ['nvmlInit_v2', 'nvmlDeviceGetHandleByIndex_v2 0', 'nvmlDeviceGetPowerUsage g0', 'nvmlDeviceGetTemperature g0 0']));
    t.same(lines.map((l) => l.ret), [0, 0, 999, 0]);
    t.ok((lines[3]!.ms as number) >= 80, `a per-GPU delay: ≥ 80 ms (${lines[3]!.ms})`);
  });

  t.test('a lost GPU answers 15 (or its code), still counts, and comes back on a rewrite', async (t) => {
    const path = scenarioFile({ gpus: [{}, { lost: true }] });
    const next = join(work, 'lost-next.scenario');
    writeScenario(next, { gpus: [{}, { lost: 18 }] });
    const back = join(work, 'lost-back.scenario');
    writeScenario(back, { gpus: [{}, {}] });
    const { lines } = sim.run(['nvmlInit_v2', 'nvmlDeviceGetCount_v2', 'nvmlDeviceGetHandleByIndex_v2 1', 'nvmlDeviceGetHandleByIndex_v2 0',
      `rename ${next} ${path}`, 'sleep 25', 'nvmlDeviceGetHandleByIndex_v2 1', `rename ${back} ${path}`, 'sleep 25',
      'nvmlDeviceGetHandleByIndex_v2 1', 'nvmlDeviceGetPowerUsage g1'], { NVML_SIM_SCENARIO: path });
    t.same(lines.map((l) => l.ret ?? l.ok), [0, 0, 15, 0, true, undefined, 18, true, undefined, 0, 0]);
    t.equal(lines[1]!.value, 2);
  });

  t.test('reload after a rewrite; a malformed file keeps the previous state and says where', async (t) => {
    const path = scenarioFile({ gpus: [{ values: { gpuUtil: 10 } }] });
    const good = join(work, 'reload-good.scenario');
    writeScenario(good, { gpus: [{ values: { gpuUtil: 90 } }, {}] });
    const bad = join(work, 'reload-bad.scenario');
    writeFileSync(bad, 'gpu 0\ngpuUtil 50\npowerUsage lots\n');
    const { lines, stderr } = sim.run(['nvmlInit_v2', 'nvmlDeviceGetHandleByIndex_v2 0', 'nvmlDeviceGetUtilizationRates g0',
      `rename ${good} ${path}`, 'sleep 25', 'nvmlDeviceGetUtilizationRates g0', 'nvmlDeviceGetCount_v2', 'nvmlDeviceGetHandleByIndex_v2 0',
      `rename ${bad} ${path}`, 'sleep 25', 'nvmlDeviceGetUtilizationRates g0', 'nvmlDeviceGetUtilizationRates g0'], { NVML_SIM_SCENARIO: path });
    t.same(by(lines, 'nvmlDeviceGetUtilizationRates').map((l) => l.gpu), [10, 90, 90, 90]);
    t.equal(lines[6]!.value, 2);
    t.equal(lines[7]!.same, true, 'the handle is the same pointer after a reload');
    t.match(stderr, `${path}:3: 'lots' is not a number; keeping the previous state`);
    t.equal(stderr.split('\n').filter((x) => x.includes(':3:')).length, 1, 'reported once');
  });

  t.test('a missing or malformed scenario at init fails with DRIVER_NOT_LOADED and names the file', async (t) => {
    const missing = join(work, 'nope.scenario');
    const { lines, stderr } = sim.run(['nvmlInit_v2', 'nvmlDeviceGetCount_v2'], { NVML_SIM_SCENARIO: missing });
    t.same(lines.map((l) => l.ret), [9, 1]);
    t.match(stderr, missing);
  });

  t.test('demo and MIG scenarios load (every serialized form parses in C)', async (t) => {
    let { lines, stderr } = run(demoScenario(4), ['nvmlInit_v2', 'nvmlDeviceGetCount_v2', 'nvmlDeviceGetHandleByIndex_v2 3',
      'nvmlDeviceGetUtilizationRates g3', 'nvmlDeviceGetMemoryInfo_v2 g3', 'nvmlDeviceGetMigMode g3']);
    t.equal(stderr, '');
    t.same(lines.map((l) => l.ret), [0, 0, 0, 0, 0, 3]);
    t.equal(lines[1]!.value, 4);
    t.ok((lines[4]!.used as number) / (lines[4]!.total as number) > 0.85, 'the demo model fills ~90 % of memory');
    ({ lines, stderr } = run(migScenario(8, 7), ['nvmlInit_v2', 'nvmlDeviceGetCount_v2', 'nvmlDeviceGetHandleByIndex_v2 7',
      'nvmlDeviceGetMaxMigDeviceCount g7', 'nvmlDeviceGetMigDeviceHandleByIndex g7 6', 'nvmlDeviceGetName m7.6 96']));
    t.equal(stderr, '');
    t.same(lines.map((l) => l.ret), [0, 0, 0, 0, 0, 0]);
    t.same([lines[1]!.value, lines[3]!.value, lines[5]!.value], [8, 7, 'NVIDIA H100 80GB HBM3 MIG 1g.10gb']);
  });

  const legacy = simHarness(true);
  t.test('the legacy build omits the newer symbols and reports an older driver', async (t) => {
    if (legacy.missingGcc) return void t.fail(legacy.missingGcc);
    const { lines } = legacy.run(['sym nvmlDeviceGetMemoryInfo_v2', 'sym nvmlDeviceGetTemperatureV', 'sym nvmlDeviceGetCurrentClocksEventReasons',
      'sym nvmlDeviceGetMemoryInfo', 'sym nvmlDeviceGetCurrentClocksThrottleReasons', 'sym nvmlInit_v2', 'nvmlInit_v2',
      'nvmlSystemGetDriverVersion 80', 'nvmlDeviceGetHandleByIndex_v2 0', 'nvmlDeviceGetMemoryInfo_v2 g0', 'nvmlDeviceGetMemoryInfo g0']);
    t.same(lines.slice(0, 6).map((l) => l.found), [false, false, false, true, true, true]);
    t.equal(lines[7]!.value, '470.256.02');
    t.equal(lines[9]!.missing, true);
    t.equal(lines[10]!.ret, 0);
  });
}
