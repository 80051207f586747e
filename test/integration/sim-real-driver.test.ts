// The simulated NVML behaving like the real driver, through its C ABI (the C driver of
// sim-harness.ts): GPU instances and their profile table, the MIG privilege and remapped-rows
// rules, MIG on without instances, compute instances sharing a GPU instance, every quirk option,
// the licensable-features strides, the new configuration calls and the latency model
// (native/fake/README.md: "MIG as the real driver does it", "Real-driver quirks", "Latency model").
import { join } from 'node:path';
import t from 'tap';
import { writeScenario } from '../../lib/nvml/simulation.js';
import type { Scenario } from '../../lib/nvml/scenario.js';
import { simHarness, work, type Line } from './sim-harness.js';

const sim = simHarness();
if (sim.missingGcc) {
  t.fail(sim.missingGcc); // gcc is required to build the project at all: not a skip
} else {
  let n = 0;
  const file = (s: Scenario): string => {
    const p = join(work, `real-${n++}.scenario`);
    writeScenario(p, s);
    return p;
  };
  const run = (s: Scenario, cmds: string[], env: Record<string, string | undefined> = {}) =>
    sim.run(['nvmlInit_v2', ...cmds], { NVML_SIM_SCENARIO: file(s), NVIDIA_MIG_MONITOR_DEVICES: undefined, NVML_SIM_LATENCY: undefined, ...env });
  const handles = (k: number) => Array.from({ length: k }, (_, i) => `nvmlDeviceGetHandleByIndex_v2 ${i}`);
  const V2 = '0x02000098';
  const V3 = '0x03000098';

  const mig: Scenario = {
    gpus: [
      {
        mig: [
          { profile: '1c.2g.20gb', gpuInstanceId: 3, values: { memTotal: 21e9, memUsed: 5e9 } },
          { profile: '1c.2g.20gb', gpuInstanceId: 3, values: { memUsed: 1 } },
          { profile: '1g.10gb+me', gpuInstanceId: 9 },
          { profile: '3g.40gb', gpuInstanceId: 1, profileMemoryMB: 41472 },
        ],
      },
      { migCapable: false },
      { gpuInstanceAccess: 'denied', mig: [{ profile: '1g.10gb' }] },
    ],
  };

  t.test('GPU instances: by id, info (profile id), the profile table by index and by id, v1/v2/v3 layouts', async (t) => {
    const { lines, stderr } = run(mig, [...handles(3),
      'nvmlDeviceGetGpuInstanceById g0 3', 'nvmlDeviceGetGpuInstanceById g0 4', 'nvmlDeviceGetGpuInstanceById g0 16',
      'nvmlDeviceGetGpuInstanceById g1 0', 'nvmlDeviceGetGpuInstanceById g2 7', 'nvmlGpuInstanceGetInfo g0 3',
      'nvmlDeviceGetGpuInstanceById g0 9', 'nvmlGpuInstanceGetInfo g0 9', 'nvmlDeviceGetGpuInstanceProfileInfo g0 0',
      'nvmlDeviceGetGpuInstanceProfileInfo g0 7', 'nvmlDeviceGetGpuInstanceProfileInfo g0 5', 'nvmlDeviceGetGpuInstanceProfileInfo g0 18',
      `nvmlDeviceGetGpuInstanceProfileInfoV g0 2 ${V3}`, `nvmlDeviceGetGpuInstanceProfileInfoV g0 2 ${V2}`,
      'nvmlDeviceGetGpuInstanceProfileInfoV g0 2 0x01000098', `nvmlDeviceGetGpuInstanceProfileInfoByIdV g0 14 ${V3}`,
      `nvmlDeviceGetGpuInstanceProfileInfoByIdV g0 99 ${V3}`, `nvmlDeviceGetGpuInstanceProfileInfoV g1 0 ${V3}`,
      `nvmlDeviceGetGpuInstanceProfileInfoByIdV g2 19 ${V3}`]);
    t.equal(stderr, '');
    const l = (i: number): Line => lines[i]!;
    t.same([4, 5, 6, 7, 8].map((i) => l(i).ret), [0, 6, 2, 3, 4], 'found; no such instance; id out of range; no MIG; not permitted');
    t.match(l(9), { ret: 0, parent: 0, id: 3, profileId: 14, size: 2 }, 'GI 3 is a 2g.20gb: profile id 14');
    t.match(l(11), { ret: 0, id: 9, profileId: 20 }, 'GI 9 is a 1g.10gb+me: profile id 20');
    t.match(l(12), { ret: 0, id: 19, slices: 1, instances: 7, memMB: 10 * 1024 - 256 }, 'index 0 (1_SLICE) is profile id 19');
    t.match(l(13), { ret: 0, id: 20, slices: 1, instances: 1 }, 'index 7 (1_SLICE_REV1) is 1g.10gb+me');
    t.same([l(14).ret, l(15).ret], [3, 2], 'an index the GPU has no profile for: NOT_SUPPORTED; past the last: INVALID_ARGUMENT');
    t.match(l(16), { ret: 0, id: 9, slices: 3, memMB: 41472, name: '3g.40gb' }, 'v3 layout; gimem sets the profile\'s memory');
    t.match(l(17), { ret: 0, id: 9, slices: 3, memMB: 41472, name: '3g.40gb' }, 'v2 layout (isP2pSupported before sliceCount)');
    t.equal(l(18).ret, 25, 'an unknown struct version: ARGUMENT_VERSION_MISMATCH');
    t.match(l(19), { ret: 0, id: 14, slices: 2, memMB: 20 * 1024 - 256, name: '2g.20gb' }, 'by profile id');
    t.same([l(20).ret, l(21).ret, l(22).ret], [2, 3, 4], 'unknown id; MIG not enabled; not permitted');
  });

  t.test('compute instances: names with the Nc. prefix and +me, CI ids within a GPU instance, shared memory', async (t) => {
    const { lines } = run(mig, [...handles(1), 'nvmlDeviceGetMigDeviceHandleByIndex g0 0', 'nvmlDeviceGetMigDeviceHandleByIndex g0 1',
      'nvmlDeviceGetMigDeviceHandleByIndex g0 2', 'nvmlDeviceGetName m0.0 96', 'nvmlDeviceGetName m0.2 96', 'nvmlDeviceGetComputeInstanceId m0.0',
      'nvmlDeviceGetComputeInstanceId m0.1', 'nvmlDeviceGetGpuInstanceId m0.1', 'nvmlDeviceGetMemoryInfo_v2 m0.0', 'nvmlDeviceGetMemoryInfo_v2 m0.1']);
    t.same([lines[5]!.value, lines[6]!.value], ['NVIDIA H100 80GB HBM3 MIG 1c.2g.20gb', 'NVIDIA H100 80GB HBM3 MIG 1g.10gb+me']);
    t.same([lines[7]!.value, lines[8]!.value, lines[9]!.value], [0, 1, 3]);
    t.match(lines[10], { ret: 0, total: 21e9, used: 5e9 });
    t.match(lines[11], { ret: 0, total: 21e9, used: 5e9 }, 'the second CI answers its GPU instance\'s memory, not its own lines');
  });

  t.test('MIG privilege, remapped rows, MIG on without instances', async (t) => {
    const s: Scenario = { gpus: [{ mig: [{ profile: '3g.40gb' }] }, {}, { migCapable: true, migMode: true }] };
    const cmds = [...handles(3), 'nvmlDeviceGetMemoryInfo_v2 g0', 'nvmlDeviceGetMemoryInfo g0', 'nvmlDeviceGetMemoryInfo_v2 g1',
      'nvmlDeviceGetMemoryInfo_v2 g2', 'nvmlDeviceGetRemappedRows g0', 'nvmlDeviceGetFieldValues g0 142 145', 'nvmlDeviceGetRemappedRows g1',
      'nvmlDeviceGetRemappedRows g2', 'nvmlDeviceGetMigMode g2', 'nvmlDeviceGetMaxMigDeviceCount g2', 'nvmlDeviceGetMigDeviceHandleByIndex g2 0',
      'nvmlDeviceGetUtilizationRates g2'];
    const without = run(s, cmds).lines;
    t.same([4, 5, 6, 7].map((i) => without[i]!.ret), [4, 4, 0, 4], 'MIG-enabled parents (with or without instances): NO_PERMISSION, v2 and v1');
    t.equal(without[8]!.ret, 3, 'remapped rows with instances: NOT_SUPPORTED');
    t.same((without[9]!.values as { ret: number }[]).map((v) => v.ret), [3, 3], 'fields 142-145 too');
    t.same([without[10]!.ret, without[11]!.ret], [0, 0], 'a whole GPU, and MIG on without instances: answered');
    t.match(without[12], { ret: 0, current: 1, pending: 1 });
    t.same([without[13]!.value, without[14]!.ret, without[15]!.ret], [7, 6, 3], '7 empty slots; utilization not supported');
    const withVar = run(s, cmds, { NVIDIA_MIG_MONITOR_DEVICES: 'all' }).lines;
    t.same([4, 5, 7].map((i) => withVar[i]!.ret), [0, 0, 0], 'NVIDIA_MIG_MONITOR_DEVICES=all: the aggregate memory');
    t.equal(run(s, cmds, { NVIDIA_MIG_MONITOR_DEVICES: '0,1' }).lines[4]!.ret, 4, 'only `all` grants it');
  });

  t.test('quirks in field values: DOUBLE labels, untouched ECC entries, NVLink scopes and link ids, no perf-policy fields', async (t) => {
    const s: Scenario = {
      gpus: [
        { quirks: ['field-types-double'] },
        { quirks: ['ecc-fields-untouched'], values: { eccModeCurrent: 0, retiredPending: 1 } },
        { quirks: ['no-nvlink-all-scope', 'no-perf-policy-fields'], nvlinkIds: [0, 2, 5, 7], values: { nvlinkTx: 1001 } },
        { values: { violationThermal: 77 } },
      ],
    };
    const { lines } = run(s, [...handles(4), 'nvmlDeviceGetFieldValues g0 82 91 138:4294967295 31',
      'nvmlDeviceGetFieldValues g1 1 2 31 82', 'nvmlDeviceGetFieldValues g2 91 138:4294967295 138:0 138:1 138:2 138:5 138:7 138:18 74 79',
      'nvmlDeviceGetFieldValues g3 74 75 79 1 2']);
    type F = { id: number; ret: number; type: number; ts: number; ui: number; ull: number };
    const f = (i: number) => lines[i] as unknown as { values: F[] };
    t.same(f(5).values.map((v) => [v.ret, v.type]), [[0, 0], [0, 0], [0, 0], [3, 1]], 'every answered entry labelled DOUBLE (0); field 31 is not supported on an H100');
    t.same([f(5).values[0]!.ui, f(5).values[1]!.ui], [52, 18], 'the values stay integers in uiVal');
    t.same(f(6).values.map((v) => [v.ret, v.ts]), [[-1, 0], [-1, 0], [-1, 0], [0, f(6).values[3]!.ts]], 'ECC off: fields 1-31 untouched');
    t.ok(f(6).values[3]!.ts > 0, 'field 82 answered');
    const g2 = f(7).values;
    t.same([g2[0]!.ui, g2[1]!.ret], [4, 2], '4 active links; no all-links scope');
    t.same(g2.slice(2, 8).map((v) => v.ret), [0, 3, 0, 0, 0, 2], 'links 0, 2, 5, 7 answer; 1 is not active; 18 is past the maximum');
    t.equal(g2[2]!.ull + g2[4]!.ull + g2[5]!.ull + g2[6]!.ull, 1001, 'the active links sum to the reading');
    t.same([g2[8]!.ret, g2[9]!.ret], [3, 3], 'no fields 74-79');
    t.same(f(8).values.map((v) => [v.ret, v.type, v.ull]), [[0, 3, 0], [0, 3, 77], [0, 3, 0], [0, 1, 1], [0, 1, 1]],
      'violations (ns, unsigned long long) and ECC mode by default');
  });

  t.test('licensable features: bare metal, licensed and unlicensed vGPU, _v3 and _v4 strides', async (t) => {
    const s: Scenario = { gpus: [{}, { values: { vgpuLicenseStatus: 1 } }, { values: { vgpuLicenseStatus: 0 } }, { values: { vgpuLicenseStatus: 'unsupported' } }] };
    const { lines } = run(s, [...handles(4), 'nvmlDeviceGetGridLicensableFeatures_v4 g0', 'nvmlDeviceGetGridLicensableFeatures_v4 g1',
      'nvmlDeviceGetGridLicensableFeatures_v3 g1', 'nvmlDeviceGetGridLicensableFeatures_v4 g2', 'nvmlDeviceGetGridLicensableFeatures_v4 g3']);
    t.match(lines[5], { ret: 0, supported: 0, count: 0, features: [] }, 'bare metal: licensing not supported');
    t.match(lines[6], { ret: 0, supported: 1, count: 2, features: [[4, 0], [1, 1]] }, 'the vGPU feature (code 1) second, licensed');
    t.match(lines[7], { ret: 0, supported: 1, count: 2, features: [[4, 0], [1, 1]] }, '_v3: the same, at 268-byte entries');
    t.match(lines[8], { features: [[4, 0], [1, 0]] }, 'unlicensed');
    t.equal(lines[9]!.ret, 3);
  });

  t.test('configuration and identity calls with the simulated H100\'s defaults', async (t) => {
    const { lines } = run({ gpus: [{ values: { bar1Used: 5 * 2 ** 20, pstate: 8 } }] }, [...handles(1),
      'nvmlDeviceGetPowerManagementLimitConstraints g0', 'nvmlDeviceGetPowerManagementDefaultLimit g0', 'nvmlDeviceGetPowerManagementLimit g0',
      'nvmlDeviceGetPerformanceState g0', 'nvmlDeviceGetTemperatureThreshold g0 0', 'nvmlDeviceGetTemperatureThreshold g0 3',
      'nvmlDeviceGetTemperatureThreshold g0 4', 'nvmlDeviceGetBAR1MemoryInfo g0', 'nvmlDeviceGetEccMode g0', 'nvmlDeviceGetApplicationsClock g0 1',
      'nvmlDeviceGetApplicationsClock g0 3', 'nvmlDeviceGetMaxClockInfo g0 3', 'nvmlDeviceGetVbiosVersion g0 32', 'nvmlDeviceGetInforomVersion g0 1 16',
      'nvmlDeviceGetInforomVersion g0 2 16', 'nvmlDeviceGetInforomImageVersion g0 16', 'nvmlDeviceGetBrand g0', 'nvmlDeviceGetCurrPcieLinkGeneration g0',
      'nvmlDeviceGetMaxPcieLinkWidth g0', 'nvmlDeviceGetComputeMode g0', 'nvmlDeviceGetPersistenceMode g0']);
    const l = (i: number) => lines[i]!;
    t.same(l(2).value, [200000, 700000]);
    t.same([l(3).value, l(4).value, l(5).value], [700000, 700000, 8]);
    t.same([l(6).value, l(7).value, l(8).ret], [92, 87, 3], 'shutdown, GPU max; an acoustic threshold: NOT_SUPPORTED');
    t.match(l(9), { ret: 0, total: 128 * 2 ** 30, used: 5 * 2 ** 20, free: 128 * 2 ** 30 - 5 * 2 ** 20 }, 'free derived');
    t.same(l(10).value, [1, 1]);
    t.same([l(11).value, l(12).ret, l(13).value], [1980, 3, 1980]);
    t.same([l(14).value, l(15).value, l(16).ret, l(17).value], ['96.00.99.00.01', '7.16', 3, 'G520.0200.00.05']);
    t.same([l(18).value, l(19).value, l(20).value, l(21).value, l(22).value], [14, 5, 16, 0, 1]);
  });

  t.test('global quirks: no libcuda, a v2 event wait refused at run time; XIDs with instance ids', async (t) => {
    let { lines } = run({ cudaDriverVersion: 12080, quirks: ['no-libcuda'], gpus: [{}] }, ['nvmlSystemGetCudaDriverVersion_v2', 'nvmlSystemGetCudaDriverVersion']);
    t.same([lines[1]!.ret, lines[2]!.ret, lines[2]!.value], [12, 0, 12080]);
    for (const [quirk, code] of [['event-wait-v2-not-supported', 3], ['event-wait-v2-not-found', 13]] as const) {
      ({ lines } = run({ quirks: [quirk], gpus: [{}], xids: [{ gpu: 0, xid: 79, id: 1 }] }, [...handles(1), 'nvmlEventSetCreate',
        'nvmlDeviceRegisterEvents g0 8', 'nvmlEventSetWait_v2 100', 'nvmlEventSetWait 100']));
      t.equal(lines[4]!.ret, code, `${quirk}: the v2 wait answers ${code}`);
      t.match(lines[5], { ret: 0, xid: 79 }, 'the v1 wait delivers');
    }
    ({ lines } = run({ gpus: [{ mig: [{ profile: '1g.10gb' }] }], xids: [{ gpu: 0, xid: 43, id: 1, gpuInstanceId: 7, computeInstanceId: 0 }] },
      [...handles(1), 'nvmlEventSetCreate', 'nvmlDeviceRegisterEvents g0 8', 'nvmlEventSetWait_v2 500']));
    t.match(lines[4], { ret: 0, xid: 43, gi: 7, ci: 0 }, 'the v2 wait reports the scenario\'s instance ids');
  });

  t.test('the latency model: off by default, per call while on (scenario or NVML_SIM_LATENCY), overrides', async (t) => {
    const cmds = [...handles(1), 'nvmlDeviceGetPowerUsage g0', 'nvmlDeviceGetFanSpeed g0'];
    const off = run({ gpus: [{}], latencyUs: { nvmlDeviceGetPowerUsage: 40_000 } }, cmds).lines;
    t.ok((off[2]!.ms as number) < 20, `off by default, overrides too: ${off[2]!.ms} ms`);
    const on = run({ gpus: [{}], latency: 'published', latencyUs: { nvmlDeviceGetPowerUsage: 40_000 } }, cmds).lines;
    t.ok((on[2]!.ms as number) >= 40, `an override: ${on[2]!.ms} ms`);
    t.ok((on[3]!.ms as number) >= 0.1, `fan speed costs its published 137 µs: ${on[3]!.ms} ms`);
    const env = run({ gpus: [{}], latencyUs: { nvmlDeviceGetPowerUsage: 40_000 } }, cmds, { NVML_SIM_LATENCY: 'published' }).lines;
    t.ok((env[2]!.ms as number) >= 40, 'NVML_SIM_LATENCY=published turns it on');
    const offWins = run({ gpus: [{}], latency: 'off', latencyUs: { nvmlDeviceGetPowerUsage: 40_000 } }, cmds, { NVML_SIM_LATENCY: 'published' }).lines;
    t.ok((offWins[2]!.ms as number) < 20, '`latency off` in the scenario wins over the variable');
  });

  t.test('every serialized form of the real-driver options parses in C', async (t) => {
    const s: Scenario = {
      quirks: ['no-libcuda', 'event-wait-v2-not-found', 'event-wait-v2-not-supported'], latency: 'off',
      latencyUs: { nvmlDeviceGetFanSpeed: 137, nvmlDeviceGetMemoryInfo: 11.6 },
      xids: [{ gpu: 0, xid: 43, id: 7, gpuInstanceId: 3, computeInstanceId: 1 }, { gpu: 1, xid: 31, gpuInstanceId: 5 }, { gpu: 1, xid: 13, computeInstanceId: 2 }],
      gpus: [
        { migCapable: true, migMode: true, gpuInstanceAccess: 'denied', quirks: ['field-types-double', 'ecc-fields-untouched'], nvlinkIds: [0, 2, 5, 7],
          vbios: '96.00.74.00.0D', inforom: { oem: '2.1', ecc: 'unsupported', power: '3.0', image: 'G520.0200.00.05' }, brand: 2,
          mig: [{ profile: '1c.2g.20gb', gpuInstanceId: 3, computeInstanceId: 0, profileMemoryMB: 20224 }, { profile: '1c.2g.20gb', gpuInstanceId: 3 },
            { profile: '1g.10gb+me' }] },
        { quirks: ['no-nvlink-all-scope', 'no-perf-policy-fields'], brand: 'unsupported', vbios: 'unsupported', migMode: false, gpuInstanceAccess: 'allowed' },
      ],
    };
    const { lines, stderr } = run(s, [...handles(2), 'nvmlDeviceGetVbiosVersion g0 32', 'nvmlDeviceGetInforomVersion g0 2 16', 'nvmlDeviceGetBrand g1']);
    t.equal(stderr, '');
    t.same(lines.map((l) => l.ret), [0, 0, 0, 0, 0, 3]);
    t.same([lines[3]!.value, lines[4]!.value], ['96.00.74.00.0D', '3.0']);
  });

  t.test('scenario errors for compute instances and quirks name the line', async (t) => {
    const bad = [
      ['gpu 0\nmig 1c.2g.20gb\ngi 3\nmig 1g.10gb\ngi 3\n', /share GPU instance 3 but name different profiles \(2g\.20gb, 1g\.10gb\)/],
      ['gpu 0\nmig 1c.2g.20gb\ngi 3\nci 0\nmig 1c.2g.20gb\ngi 3\nci 0\n', /are both compute instance 0 of GPU instance 3/],
      ['gpu 0\nmig 2c.2g.20gb\ngi 3\nmig 1c.2g.20gb\ngi 3\n', /use 3 slices of its 2/],
      ['gpu 0\nmig 3c.2g.20gb\n', /mig takes a profile like/],
      ['gpu 0\nquirk no-libcuda\n', /quirk no-libcuda belongs to the global scope/],
      ['quirk field-types-double\n', /quirk field-types-double belongs in a gpu block/],
      ['quirk nonsense\n', /unknown quirk 'nonsense'/],
      ['latency sometimes\n', /latency takes published, off, or <nvmlFunction> <microseconds>/],
    ] as const;
    for (const [text, message] of bad) {
      const p = join(work, `bad-${n++}.scenario`);
      (await import('node:fs')).writeFileSync(p, text);
      const { lines, stderr } = sim.run(['nvmlInit_v2'], { NVML_SIM_SCENARIO: p });
      t.equal(lines[0]!.ret, 9, `refused: ${text.trim().replace(/\n/g, ' | ')}`);
      t.match(stderr, message);
    }
  });
}
