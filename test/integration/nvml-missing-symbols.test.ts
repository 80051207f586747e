// A missing NVML symbol means "that reading is not supported", never a call through a null
// pointer. Two ways to get one from the simulated NVML:
//  - truly absent: a copy of the library linked here with a version script that leaves the chosen
//    symbols out of its dynamic symbol table, so the addon's dlsym() finds nothing (what an older
//    libnvidia-ml that predates a function looks like). The readings chosen have no fallback symbol.
//  - answered FUNCTION_NOT_FOUND (13): `error FUNCTION 13` in a scenario, as a newer library over
//    an older kernel driver answers for a function the driver lacks.
import t, { type Test } from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Nvml, READING_KEYS, type ReadingKey, type SweepResult, type XidEvent } from '../../lib/nvml/index.js';
import { simulatedLibraryPath, writeScenario } from '../../lib/nvml/simulation.js';
import type { Scenario } from '../../lib/nvml/scenario.js';
import { dynamicNvmlSymbols, simWithout } from './sim-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'nvml-missing-'));
const file = join(dir, 'scenario.txt');
process.env.NVML_SIM_SCENARIO = file;

const FUNCTION_NOT_FOUND = 13;

// A distinct value per reading and GPU (NVML units), so that a reading read from the wrong place shows.
function values(g: number): Record<ReadingKey, number> {
  return {
    gpuUtil: 61 + g, memUtil: 27 + g, memTotal: 85520809984, memReserved: 555745280, memFree: 7_000_000_000 - g,
    memUsed: 77965064704 + g, powerUsage: 312_345 + g, powerLimit: 700_000 - g, energy: 2_500_000_123 + g,
    gpuTemp: 57 + g, memTemp: 66 + g, smClock: 1755 - g, memClock: 2619, graphicsClock: 1740 - g, videoClock: 1605 - g,
    maxSmClock: 1980, maxMemClock: 2620, encUtil: 7 + g, decUtil: 9 + g, pcieReplay: 4 + g, clockEventReasons: 0x44,
    violationPower: 1_000_000 + g, violationThermal: 2_000_000 + g, violationSyncBoost: 3_000_000 + g,
    violationBoardLimit: 4_000_000 + g, violationLowUtil: 5_000_000 + g, violationReliability: 6_000_000 + g,
    eccSbeVolatile: 11 + g, eccDbeVolatile: 2 + g, eccSbeAggregate: 123 + g, eccDbeAggregate: 5 + g, retiredSbe: 3 + g,
    retiredDbe: 1 + g, retiredPending: 1, remappedCorrectable: 8 + g, remappedUncorrectable: 1 + g, remappedPending: 1,
    remappedFailure: 0, fanSpeed: 42 + g, nvlinkTx: 1_234_560 + g, nvlinkRx: 654_320 + g, pcieTx: 81_000 + g, pcieRx: 250_000 + g,
    powerLimitMin: 200_000 + g, powerLimitMax: 700_000 - g, powerLimitDefault: 690_000 + g, powerMgmtLimit: 650_000 + g, pstate: g,
    pcieLinkGen: 3 + g, pcieLinkGenMax: 5, pcieLinkWidth: 8 + g, pcieLinkWidthMax: 16, tempShutdown: 92 + g, tempSlowdown: 89 + g,
    tempGpuMax: 87 + g, tempMemMax: 95 + g, bar1Total: 137_438_953_472, bar1Used: 5_242_880 + g, bar1Free: 137_433_710_592 - g,
    computeMode: g, persistenceMode: 1, eccModeCurrent: 1, eccModePending: 1, appSmClock: 1710 + g, appMemClock: 2619,
    maxVideoClock: 1965 - g, vgpuLicenseStatus: g % 2,
  };
}

const GPUS = 3;
const UUID = (g: number) => `GPU-0000000${g}-1111-2222-3333-444444444444`;
const scenario = (extra: Partial<Scenario> = {}): Scenario => ({
  gpus: Array.from({ length: GPUS }, (_, g) => ({ uuid: UUID(g), values: values(g) })),
  xids: [{ gpu: 1, xid: 79, id: 1 }],
  ...extra,
});

// Symbols without a fallback in the addon's loader, and the readings each one feeds.
const HIDDEN_READINGS: Record<string, ReadingKey[]> = {
  nvmlDeviceGetFanSpeed: ['fanSpeed'],
  nvmlDeviceGetPowerUsage: ['powerUsage'],
  nvmlDeviceGetTotalEnergyConsumption: ['energy'],
  nvmlDeviceGetEncoderUtilization: ['encUtil'],
  nvmlDeviceGetRemappedRows: ['remappedCorrectable', 'remappedUncorrectable', 'remappedPending', 'remappedFailure'],
  nvmlDeviceGetFieldValues: ['memTemp', 'retiredPending', 'nvlinkTx', 'nvlinkRx'],
};
const EVENT_SYMBOLS = ['nvmlEventSetCreate', 'nvmlEventSetWait', 'nvmlEventSetWait_v2', 'nvmlEventSetFree'];
const MISSING_KEYS = new Set(Object.values(HIDDEN_READINGS).flat());

/** Every GPU: the missing readings carry `code` and are absent; every other reading has its scenario value. */
function checkSweep(t: Test, r: SweepResult, code: number, missing: ReadonlySet<ReadingKey>): void {
  t.equal(r.devices.length, GPUS, 'every GPU is enumerated');
  for (const d of r.devices) {
    const want = values(d.index);
    t.equal(d.uuid, UUID(d.index), `GPU ${d.index} identity`);
    t.equal(d.lostCode, null, `GPU ${d.index} is not lost`);
    const status: Partial<Record<ReadingKey, number>> = {};
    const readings: Partial<Record<ReadingKey, number>> = {};
    for (const k of READING_KEYS) {
      if (missing.has(k)) status[k] = code;
      else readings[k] = want[k];
    }
    t.same(d.status, status, `GPU ${d.index}: exactly the missing readings have status ${code}`);
    t.same(d.readings, readings, `GPU ${d.index}: every other reading has its scenario value`);
  }
}

function waitForXids(events: XidEvent[], n: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const deadline = Date.now() + ms;
    const tick = (): void => {
      if (events.length >= n) return resolve(true);
      if (Date.now() > deadline) return resolve(false);
      setTimeout(tick, 20);
    };
    tick();
  });
}

/** Opens `library`, subscribes to XIDs, waits `ms`; returns what arrived, after a sweep and close. */
async function xidsWithin(library: string, ms: number, expect: number): Promise<{ events: XidEvent[]; sweep: SweepResult }> {
  const nvml = await Nvml.open({ library });
  const events: XidEvent[] = [];
  nvml.onXid((e) => events.push(e));
  await waitForXids(events, expect, ms);
  const sweep = await nvml.sweep({ pcieThroughput: true });
  await nvml.close();
  return { events, sweep };
}

const hiddenAll = simWithout('nvml_sim_no_readings_no_events', [...Object.keys(HIDDEN_READINGS), ...EVENT_SYMBOLS]);
if (hiddenAll.missingGcc) {
  t.fail(hiddenAll.missingGcc); // gcc is required to build the project at all: not a skip
} else {
  t.test('the test-built library really lacks the hidden symbols and keeps the rest', async (t) => {
    const full = dynamicNvmlSymbols(simulatedLibraryPath());
    const got = dynamicNvmlSymbols(hiddenAll.path);
    for (const s of [...Object.keys(HIDDEN_READINGS), ...EVENT_SYMBOLS]) {
      t.ok(full.includes(s), `${s} is in the normal build`);
      t.notOk(got.includes(s), `${s} is absent from the test build`);
    }
    t.same(got, hiddenAll.exported, 'the test build exports exactly the version script\'s list');
    t.same(got, full.filter((s) => !(s in HIDDEN_READINGS) && !EVENT_SYMBOLS.includes(s)),
      'and otherwise the same symbols as build/Release/nvml_sim.so');
  });

  t.test('absent symbols: those readings report FUNCTION_NOT_FOUND (13) on every GPU, the others read normally', async (t) => {
    writeScenario(file, scenario());
    const full = await Nvml.open({ library: simulatedLibraryPath() });
    t.teardown(() => full.close());
    checkSweep(t, await full.sweep({ pcieThroughput: true }), FUNCTION_NOT_FOUND, new Set());

    const nvml = await Nvml.open({ library: hiddenAll.path });
    t.teardown(() => nvml.close());
    t.equal(nvml.libraryPath, hiddenAll.path);
    const r = await nvml.sweep({ pcieThroughput: true });
    checkSweep(t, r, FUNCTION_NOT_FOUND, MISSING_KEYS);
    t.equal(r.driverVersion, '580.65.06', 'system values still read');
    const again = await nvml.sweep({ pcieThroughput: true });
    checkSweep(t, again, FUNCTION_NOT_FOUND, MISSING_KEYS);
  });

  t.test('absent nvmlEventSet*: XID events are not delivered, sweeps and close still work', async (t) => {
    writeScenario(file, scenario());
    const control = await xidsWithin(simulatedLibraryPath(), 10_000, 1);
    t.match(control.events, [{ gpu: 1, uuid: UUID(1), xid: 79 }], 'the normal build delivers the scenario\'s XID');

    const started = Date.now();
    const r = await xidsWithin(hiddenAll.path, 1000, 1);
    t.same(r.events, [], 'no XID from a library without nvmlEventSet*');
    checkSweep(t, r.sweep, FUNCTION_NOT_FOUND, MISSING_KEYS);
    t.ok(Date.now() - started < 5000, 'close() stops the idle event thread promptly');
  });

  t.test('only nvmlEventSetWait[_v2] absent (create/free present): no XID, no crash', async (t) => {
    const noWait = simWithout('nvml_sim_no_wait', ['nvmlEventSetWait', 'nvmlEventSetWait_v2']);
    if (noWait.missingGcc) return void t.fail(noWait.missingGcc);
    writeScenario(file, scenario());
    const r = await xidsWithin(noWait.path, 1000, 1);
    t.same(r.events, []);
    checkSweep(t, r.sweep, FUNCTION_NOT_FOUND, new Set());
  });

  t.test('nvmlEventSetWait_v2 absent: XIDs arrive through the v1 wait, without GI/CI ids', async (t) => {
    const v1 = simWithout('nvml_sim_wait_v1', ['nvmlEventSetWait_v2']);
    if (v1.missingGcc) return void t.fail(v1.missingGcc);
    writeScenario(file, scenario());
    const r = await xidsWithin(v1.path, 10_000, 1);
    t.match(r.events, [{ gpu: 1, uuid: UUID(1), xid: 79, gpuInstanceId: null, computeInstanceId: null }]);
  });
}

t.test('`error FUNCTION 13` in a scenario (a newer library over an older driver)', async (t) => {
  // No fallback: the reading carries 13. Field values: all four readings carry 13. Versioned calls
  // with an older form (memory v2, temperature V) fall back to it, as for an absent symbol: memory
  // through v1 (no reserved; v1 used includes reserved), temperature through nvmlDeviceGetTemperature.
  writeScenario(file, scenario({
    errors: {
      nvmlDeviceGetFanSpeed: 13, nvmlDeviceGetPowerUsage: 13, nvmlDeviceGetFieldValues: 13,
      nvmlDeviceGetMemoryInfo_v2: 13, nvmlDeviceGetTemperatureV: 13,
    },
  }));
  const nvml = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => nvml.close());
  const r = await nvml.sweep();
  t.equal(r.devices.length, GPUS);
  for (const d of r.devices) {
    const want = values(d.index);
    t.same(d.status, {
      fanSpeed: 13, powerUsage: 13, memTemp: 13, retiredPending: 13, nvlinkTx: 13, nvlinkRx: 13, memReserved: 13,
    }, `GPU ${d.index}: the readings without a fallback (and reserved memory, only in v2) carry 13`);
    t.equal(d.readings.memTotal, want.memTotal, 'memory through v1');
    t.equal(d.readings.memUsed, want.memUsed + want.memReserved, 'v1 used includes reserved');
    t.equal(d.readings.memFree, want.memFree);
    t.equal(d.readings.gpuTemp, want.gpuTemp, 'temperature through nvmlDeviceGetTemperature');
    t.equal(d.readings.energy, want.energy, 'others unaffected');
    t.equal(d.readings.remappedCorrectable, want.remappedCorrectable);
    t.equal(d.lostCode, null);
  }
});

t.test('`error FUNCTION 13` on one GPU only leaves the other GPUs alone', async (t) => {
  const s = scenario();
  s.gpus[2]!.errors = { nvmlDeviceGetPowerUsage: 13 };
  writeScenario(file, s);
  const nvml = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => nvml.close());
  const r = await nvml.sweep();
  t.same(r.devices.map((d) => d.status), [{}, {}, { powerUsage: 13 }]);
  t.same(r.devices.map((d) => d.readings.powerUsage), [values(0).powerUsage, values(1).powerUsage, undefined]);
});

t.test('`error nvmlEventSetCreate 13`: no XID events, no crash', async (t) => {
  writeScenario(file, scenario({ errors: { nvmlEventSetCreate: 13 } }));
  const r = await xidsWithin(simulatedLibraryPath(), 1000, 1);
  t.same(r.events, []);
  t.equal(r.sweep.devices.length, GPUS);
  t.same(r.sweep.devices.map((d) => d.status), [{}, {}, {}]);
});
