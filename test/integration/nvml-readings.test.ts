// Every reading the sweep takes, against the simulated NVML: values and units as the scenario
// sets them, NOT_SUPPORTED readings, an error on one reading, and the legacy (older driver) symbol set.
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Nvml, READING_KEYS, type ReadingKey } from '../../lib/nvml/index.js';
import { simulatedLibraryPath, writeScenario } from '../../lib/nvml/simulation.js';
import type { Scenario } from '../../lib/nvml/scenario.js';

const dir = mkdtempSync(join(tmpdir(), 'nvml-readings-'));
const file = join(dir, 'scenario.txt');
process.env.NVML_SIM_SCENARIO = file;

// A distinct value per reading, in NVML units (bytes, mW, mJ, °C, MHz, %, ns, KiB, KB/s).
const VALUES: Record<ReadingKey, number> = {
  gpuUtil: 61, memUtil: 27, memTotal: 85520809984, memReserved: 555745280, memFree: 7_000_000_000,
  memUsed: 77965064704, powerUsage: 312_345, powerLimit: 700_000, energy: 2_500_000_123,
  gpuTemp: 57, memTemp: 66, smClock: 1755, memClock: 2619, graphicsClock: 1740, videoClock: 1605,
  maxSmClock: 1980, maxMemClock: 2620, encUtil: 7, decUtil: 9, pcieReplay: 4, clockEventReasons: 0x44,
  violationPower: 1_000_000, violationThermal: 2_000_000, violationSyncBoost: 3_000_000,
  violationBoardLimit: 4_000_000, violationLowUtil: 5_000_000, violationReliability: 6_000_000,
  eccSbeVolatile: 11, eccDbeVolatile: 2, eccSbeAggregate: 123, eccDbeAggregate: 5, retiredSbe: 3,
  retiredDbe: 1, retiredPending: 1, remappedCorrectable: 8, remappedUncorrectable: 1, remappedPending: 1,
  remappedFailure: 0, fanSpeed: 42, nvlinkTx: 1_234_560, nvlinkRx: 654_320, pcieTx: 81_000, pcieRx: 250_000,
  powerLimitMin: 200_000, powerLimitMax: 700_000, powerLimitDefault: 690_000, powerMgmtLimit: 650_000, pstate: 2,
  pcieLinkGen: 4, pcieLinkGenMax: 5, pcieLinkWidth: 8, pcieLinkWidthMax: 16, tempShutdown: 92, tempSlowdown: 89,
  tempGpuMax: 87, tempMemMax: 95, bar1Total: 137_438_953_472, bar1Used: 5_242_880, bar1Free: 137_433_710_592,
  computeMode: 3, persistenceMode: 1, eccModeCurrent: 1, eccModePending: 0, appSmClock: 1710, appMemClock: 2619,
  maxVideoClock: 1965, vgpuLicenseStatus: 1,
};

function scenario(extra: Partial<Scenario['gpus'][number]> = {}): Scenario {
  return {
    driverVersion: '580.65.06',
    nvmlVersion: '13.580.65.06',
    cudaDriverVersion: 13000,
    gpus: [
      { uuid: 'GPU-11111111-2222-3333-4444-555555555555', name: 'NVIDIA H100 80GB HBM3', pciBusId: '00000000:18:00.0', serial: '1654922000001', minor: 3, values: { ...VALUES }, ...extra },
      { uuid: 'GPU-66666666-7777-8888-9999-000000000000', name: 'NVIDIA H100 80GB HBM3', pciBusId: '00000000:2A:00.0', values: { gpuUtil: 5 } },
    ],
  };
}

t.test('every reading with its unit, identity and system values', async (t) => {
  writeScenario(file, scenario());
  const nvml = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => nvml.close());
  t.equal(nvml.libraryPath, simulatedLibraryPath());
  const r = await nvml.sweep({ pcieThroughput: true });
  t.equal(r.driverVersion, '580.65.06');
  t.equal(r.nvmlVersion, '13.580.65.06');
  t.equal(r.cudaDriverVersion, 13000);
  t.equal(r.devices.length, 2);
  t.ok(r.durationUs > 0 && Number.isFinite(r.durationUs), 'durationUs is a positive number');
  t.ok(Math.abs(r.timestamp - Date.now()) < 60_000, 'timestamp is wall-clock ms');
  const d = r.devices[0]!;
  t.match(d, { index: 0, minor: 3, uuid: 'GPU-11111111-2222-3333-4444-555555555555', name: 'NVIDIA H100 80GB HBM3', pciBusId: '00000000:18:00.0', serial: '1654922000001', lostCode: null, mig: [] });
  for (const k of READING_KEYS) t.equal(d.readings[k], VALUES[k], `${k} = ${VALUES[k]}`);
  t.same(d.status, {}, 'no reading failed');
  t.equal(r.devices[1]!.readings.gpuUtil, 5);
  t.equal(r.devices[1]!.pciBusId, '00000000:2A:00.0');
});

t.test('PCIe throughput is read only when asked for', async (t) => {
  writeScenario(file, scenario());
  const nvml = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => nvml.close());
  const d = (await nvml.sweep()).devices[0]!;
  t.equal(d.readings.pcieTx, undefined);
  t.equal(d.readings.pcieRx, undefined);
  t.equal(d.status.pcieTx, undefined, 'not read is not a failure');
  t.equal(d.readings.gpuUtil, 61);
});

t.test('NOT_SUPPORTED readings carry status 3 and are absent from readings', async (t) => {
  writeScenario(file, scenario({ values: { ...VALUES, fanSpeed: 'unsupported', memTemp: 'unsupported', retiredSbe: 'unsupported', nvlinkTx: 'unsupported', nvlinkRx: 'unsupported' } }));
  const nvml = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => nvml.close());
  const d = (await nvml.sweep()).devices[0]!;
  for (const k of ['fanSpeed', 'memTemp', 'retiredSbe'] as const) {
    t.equal(d.status[k], 3, `${k} status 3`);
    t.notOk(k in d.readings, `${k} absent`);
  }
  // No NVLink: the simulated link count (field 91) is 0, which the addon reports as NOT_SUPPORTED.
  for (const k of ['nvlinkTx', 'nvlinkRx'] as const) {
    t.equal(d.status[k], 3, `${k} status 3 (no links)`);
    t.notOk(k in d.readings, `${k} absent`);
  }
  t.equal(d.readings.gpuTemp, 57, 'the others still read');
  t.equal(d.readings.retiredDbe, 1);
});

t.test('an NVML error on one reading leaves the others', async (t) => {
  writeScenario(file, scenario({ errors: { nvmlDeviceGetPowerUsage: 4, nvmlDeviceGetTotalEccErrors: 999 } }));
  const nvml = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => nvml.close());
  const r = await nvml.sweep();
  const d = r.devices[0]!;
  t.equal(d.status.powerUsage, 4);
  t.notOk('powerUsage' in d.readings);
  for (const k of ['eccSbeVolatile', 'eccDbeVolatile', 'eccSbeAggregate', 'eccDbeAggregate'] as const) t.equal(d.status[k], 999, `${k} 999`);
  t.equal(d.readings.powerLimit, 700_000);
  t.equal(d.readings.energy, VALUES.energy);
  t.equal(d.readings.fanSpeed, 42);
  t.equal(d.lostCode, null);
  t.equal(r.devices[1]!.status.powerUsage, undefined, 'the other GPU is not affected');
});

t.test('legacy symbol set: memory via v1 (no reserved), temperature via the old call', async (t) => {
  writeScenario(file, scenario());
  const nvml = await Nvml.open({ library: simulatedLibraryPath(true) });
  t.teardown(() => nvml.close());
  t.equal(nvml.libraryPath, simulatedLibraryPath(true));
  const d = (await nvml.sweep()).devices[0]!;
  t.equal(d.status.memReserved, 13, 'memReserved: FUNCTION_NOT_FOUND');
  t.notOk('memReserved' in d.readings);
  t.equal(d.readings.memTotal, VALUES.memTotal);
  t.equal(d.readings.memUsed, VALUES.memUsed + VALUES.memReserved, 'v1 used includes reserved memory');
  t.equal(d.readings.gpuTemp, 57, 'temperature through nvmlDeviceGetTemperature');
  t.equal(d.readings.clockEventReasons, 0x44, 'clock reasons through the throttle-reasons name');
});

t.test('the legacy build really lacks the new symbols: errors injected there do not matter', async (t) => {
  writeScenario(file, scenario({ errors: { nvmlDeviceGetTemperatureV: 999, nvmlDeviceGetMemoryInfo_v2: 999 } }));
  const nvml = await Nvml.open({ library: simulatedLibraryPath(true) });
  t.teardown(() => nvml.close());
  const d = (await nvml.sweep()).devices[0]!;
  t.equal(d.readings.gpuTemp, 57);
  t.equal(d.readings.memTotal, VALUES.memTotal);
  const cur = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => cur.close());
  const c = (await cur.sweep()).devices[0]!;
  t.equal(c.status.gpuTemp, 999, 'the current build calls nvmlDeviceGetTemperatureV');
  t.equal(c.status.memTotal, 999, 'the current build calls nvmlDeviceGetMemoryInfo_v2');
});

t.test('identity strings: VBIOS, inforom versions and brand, read once with the identity; unsupported ones are null', async (t) => {
  const s = scenario({ vbios: '96.00.74.00.0D', inforom: { oem: '2.1', ecc: '7.16', power: 'unsupported', image: 'G520.0200.00.05' }, brand: 2 });
  s.gpus[1] = { ...s.gpus[1]!, vbios: 'unsupported', inforom: { oem: 'unsupported', ecc: 'unsupported', image: 'unsupported' }, brand: 'unsupported' };
  s.gpus.push({ brand: 99 });
  writeScenario(file, s);
  const nvml = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => nvml.close());
  const [a, b, c] = (await nvml.sweep()).devices;
  t.equal(a!.vbiosVersion, '96.00.74.00.0D');
  t.same(a!.inforom, { image: 'G520.0200.00.05', oem: '2.1', ecc: '7.16', power: null });
  t.equal(a!.brand, 'Tesla', 'nvmlBrandType_t 2 as DCGM names it');
  t.equal(b!.vbiosVersion, null);
  t.same(b!.inforom, { image: null, oem: null, ecc: null, power: null });
  t.equal(b!.brand, null);
  t.equal(c!.brand, 'Unknown', 'a brand number DCGM does not know');
  t.equal(c!.vbiosVersion, '96.00.99.00.01', 'the simulated H100 defaults');
  t.same(c!.inforom, { image: 'G520.0200.00.05', oem: '2.1', ecc: '7.16', power: null });
  // the strings are identity: a change reaches JS only once the handle is looked up again (after a loss)
  const again = await nvml.sweep();
  t.equal(again.devices[0]!.vbiosVersion, '96.00.74.00.0D', 'kept from sweep to sweep');
});

t.test('the readings of issue 11 in NVML units; each call failing alone leaves the others', async (t) => {
  writeScenario(file, scenario({
    errors: { nvmlDeviceGetPowerManagementLimitConstraints: 3, nvmlDeviceGetBAR1MemoryInfo: 999, nvmlDeviceGetTemperatureThreshold: 3 },
  }));
  const nvml = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => nvml.close());
  const d = (await nvml.sweep()).devices[0]!;
  t.same([d.status.powerLimitMin, d.status.powerLimitMax], [3, 3], 'both limits come from one call');
  t.same([d.status.bar1Total, d.status.bar1Used, d.status.bar1Free], [999, 999, 999]);
  t.same([d.status.tempShutdown, d.status.tempSlowdown, d.status.tempGpuMax, d.status.tempMemMax], [3, 3, 3, 3]);
  t.equal(d.readings.powerLimitDefault, 690_000, 'mW');
  t.equal(d.readings.powerMgmtLimit, 650_000, 'mW, not the enforced limit');
  t.equal(d.readings.powerLimit, 700_000);
  t.same([d.readings.pcieLinkGen, d.readings.pcieLinkGenMax, d.readings.pcieLinkWidth, d.readings.pcieLinkWidthMax], [4, 5, 8, 16]);
  t.same([d.readings.computeMode, d.readings.persistenceMode, d.readings.eccModeCurrent, d.readings.eccModePending], [3, 1, 1, 0]);
  t.same([d.readings.appSmClock, d.readings.appMemClock, d.readings.maxVideoClock, d.readings.maxSmClock], [1710, 2619, 1965, 1980]);
  t.equal(d.readings.pstate, 2);
});
