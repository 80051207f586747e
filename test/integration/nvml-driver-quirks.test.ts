// What real drivers do that a regular simulator would not, read through the addon's SweepResult:
// field values labelled with the wrong type, ECC field entries left untouched, NVLink links that
// are not numbered 0…n-1 and drivers without the all-links scope, violation times from fields
// 74-79 (and drivers without them), the CUDA version without libcuda, and the vGPU licence.
// The simulated library's quirk options are documented in native/fake/README.md.
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Nvml, type DeviceSample } from '../../lib/nvml/index.js';
import { simulatedLibraryPath, writeScenario } from '../../lib/nvml/simulation.js';
import type { Scenario, SimGpu } from '../../lib/nvml/scenario.js';
import { simWithout } from './sim-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'nvml-quirks-'));
const file = join(dir, 'scenario.txt');
process.env.NVML_SIM_SCENARIO = file;

async function sweepOf(s: Scenario, library = simulatedLibraryPath()): Promise<{ devices: DeviceSample[]; cuda: number | null }> {
  writeScenario(file, s);
  const nvml = await Nvml.open({ library });
  try {
    const r = await nvml.sweep();
    return { devices: r.devices, cuda: r.cudaDriverVersion };
  } finally {
    await nvml.close();
  }
}

const gpus = (...g: SimGpu[]): Scenario => ({ gpus: g });

t.test('item 1: field values labelled DOUBLE are read by their documented type', async (t) => {
  const values = { memTemp: 52, nvlinkTx: 1_000_000, nvlinkRx: 500_000 };
  const { devices } = await sweepOf(gpus({ values, quirks: ['field-types-double'] }, { values }));
  const [mislabelled, plain] = devices;
  // read as a double, the 52 in uiVal is 2.57e-322; the link count (91) would read < 1 and hide NVLink
  t.equal(mislabelled!.readings.memTemp, 52, 'memory temperature (field 82) as unsigned int');
  t.equal(mislabelled!.readings.nvlinkTx, 1_000_000, 'link count (field 91) as unsigned int: NVLink is read');
  t.equal(mislabelled!.readings.nvlinkRx, 500_000);
  t.equal(mislabelled!.readings.violationPower, 0, 'fields 74-79 (unsigned long long) too');
  t.same(mislabelled!.status, plain!.status, 'no reading fails because of the label');
  t.equal(plain!.readings.memTemp, 52, 'a correctly labelled GPU reads the same');
});

t.test('item 2: ECC field entries left untouched with ECC off read as not supported', async (t) => {
  const { devices } = await sweepOf(gpus(
    { values: { eccModeCurrent: 0, eccModePending: 0, retiredPending: 1 }, quirks: ['ecc-fields-untouched'] },
    { values: { eccModeCurrent: 1, retiredPending: 1 }, quirks: ['ecc-fields-untouched'] },
  ));
  const [off, on] = devices;
  t.equal(off!.status.retiredPending, 3, 'untouched entry (no timestamp, no latency, type DOUBLE): NOT_SUPPORTED');
  t.notOk('retiredPending' in off!.readings, 'never the 0 of a zeroed entry');
  t.equal(off!.readings.eccModeCurrent, 0, 'ECC mode itself comes from nvmlDeviceGetEccMode');
  t.equal(off!.readings.memTemp, 52, 'the other entries of the same call are read');
  t.equal(on!.readings.retiredPending, 1, 'with ECC on the driver answers the field');
});

t.test('item 3: NVLink counters from the all-links scope; per link (any link ids) where it is missing', async (t) => {
  // 4 active links with ids 0, 2, 5, 7: the total is split over them (link 0 takes the remainder)
  const links = { nvlinkIds: [0, 2, 5, 7], values: { nvlinkTx: 1_000_003, nvlinkRx: 400_001 } };
  const { devices } = await sweepOf(gpus(
    links,
    { ...links, quirks: ['no-nvlink-all-scope'] },
    { values: { nvlinkTx: 'unsupported', nvlinkRx: 'unsupported' } },
    { values: { nvlinkTx: 360_000, nvlinkRx: 180_000 } },
  ));
  const [aggregate, perLink, none, h100] = devices;
  t.equal(aggregate!.readings.nvlinkTx, 1_000_003, 'all links at once (scope 0xFFFFFFFF): every link counted');
  t.equal(aggregate!.readings.nvlinkRx, 400_001);
  t.equal(perLink!.readings.nvlinkTx, 1_000_003, 'without the all-links scope: links 0, 2, 5, 7 summed, not 0..3');
  t.equal(perLink!.readings.nvlinkRx, 400_001);
  t.equal(none!.status.nvlinkTx, 3, 'no NVLink: NOT_SUPPORTED');
  t.equal(none!.status.nvlinkRx, 3);
  t.equal(h100!.readings.nvlinkTx, 360_000, '18 links 0..17');
});

t.test('item 9: violation times from fields 74-79; nvmlDeviceGetViolationStatus only where the fields are missing', async (t) => {
  const values = {
    violationPower: 1_000_000, violationThermal: 2_000_000, violationSyncBoost: 3_000_000,
    violationBoardLimit: 4_000_000, violationLowUtil: 5_000_000, violationReliability: 6_000_000,
  };
  const keys = Object.keys(values) as (keyof typeof values)[];
  // the deprecated call fails on every GPU here: whatever reads succeed came from the fields
  const broken = { nvmlDeviceGetViolationStatus: 999 };
  const { devices } = await sweepOf(gpus(
    { values, errors: broken },
    { values, errors: broken, quirks: ['no-perf-policy-fields'] },
    { values, quirks: ['no-perf-policy-fields'] },
  ));
  const [fields, neither, legacy] = devices;
  for (const k of keys) {
    t.equal(fields!.readings[k], values[k], `${k} from its field (the old call is broken on this GPU)`);
    t.equal(neither!.status[k], 999, `${k}: no field, and the old call fails: its code`);
    t.equal(legacy!.readings[k], values[k], `${k} through nvmlDeviceGetViolationStatus on a driver without the fields`);
  }
  const hidden = simWithout('nvml_sim_no_violation_status', ['nvmlDeviceGetViolationStatus']);
  if (hidden.missingGcc) return void t.fail(hidden.missingGcc);
  const { devices: after } = await sweepOf(gpus({ values }), hidden.path);
  t.equal(after[0]!.readings.violationThermal, 2_000_000, 'a library without the deprecated symbol (CUDA 14) still reads them');
});

t.test('item 10: the CUDA version without libcuda comes from the plain call', async (t) => {
  const noLibcuda = await sweepOf({ ...gpus({}), cudaDriverVersion: 12080, quirks: ['no-libcuda'] });
  t.equal(noLibcuda.cuda, 12080, '_v2 answers LIBRARY_NOT_FOUND; nvmlSystemGetCudaDriverVersion answers');
  const normal = await sweepOf({ ...gpus({}), cudaDriverVersion: 13000 });
  t.equal(normal.cuda, 13000);
  const none = await sweepOf({ ...gpus({}), cudaDriverVersion: 0 });
  t.equal(none.cuda, null, 'neither call knows: null');
});

t.test('item 11: vGPU licence status as DCGM derives it; _v3 entries read with their own stride', async (t) => {
  const { devices } = await sweepOf(gpus(
    {},
    { values: { vgpuLicenseStatus: 1 } },
    { values: { vgpuLicenseStatus: 0 } },
    { values: { vgpuLicenseStatus: 'unsupported' } },
  ));
  t.same(devices.map((d) => d.readings.vgpuLicenseStatus), [0, 1, 0, undefined],
    'bare metal (licensing not supported) 0, licensed vGPU 1, unlicensed vGPU 0, no answer: none');
  t.equal(devices[3]!.status.vgpuLicenseStatus, 3);
  // the simulated vGPU lists a compute licence first and the vGPU feature second, so the second
  // entry is only found with the stride of the symbol that filled it (268 bytes for _v3, 284 for _v4)
  const v3only = simWithout('nvml_sim_licence_v3', ['nvmlDeviceGetGridLicensableFeatures_v4']);
  if (v3only.missingGcc) return void t.fail(v3only.missingGcc);
  const { devices: v3 } = await sweepOf(gpus({ values: { vgpuLicenseStatus: 1 } }, {}), v3only.path);
  t.same(v3.map((d) => d.readings.vgpuLicenseStatus), [1, 0], 'through _v3');
  const none = simWithout('nvml_sim_no_licence', ['nvmlDeviceGetGridLicensableFeatures_v4', 'nvmlDeviceGetGridLicensableFeatures_v3']);
  if (none.missingGcc) return void t.fail(none.missingGcc);
  const { devices: old } = await sweepOf(gpus({ values: { vgpuLicenseStatus: 1 } }), none.path);
  t.equal(old[0]!.status.vgpuLicenseStatus, 13, 'only forms with a known stride are used: FUNCTION_NOT_FOUND');
});
