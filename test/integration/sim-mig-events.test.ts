// The simulated NVML's MIG layouts and XID events, through the C driver (see sim-harness.ts).
import { join } from 'node:path';
import t from 'tap';
import { packageRoot, writeScenario } from '../../lib/nvml/simulation.js';
import type { Scenario } from '../../lib/nvml/scenario.js';
import { simHarness, work } from './sim-harness.js';

const sim = simHarness();
if (sim.missingGcc) {
  t.fail(sim.missingGcc); // gcc is required to build the project at all: not a skip
} else {
  const fixture = (name: string) => join(packageRoot(), 'test/fixtures/scenarios', name);

  t.test('MIG layout from the fixture: slots, handles, names, ids, memory, unsupported utilization', async (t) => {
    const { lines, stderr } = sim.run(['nvmlInit_v2', 'nvmlDeviceGetHandleByIndex_v2 0', 'nvmlDeviceGetHandleByIndex_v2 1',
      'nvmlDeviceGetMigMode g0', 'nvmlDeviceGetMigMode g1', 'nvmlDeviceGetMaxMigDeviceCount g0', 'nvmlDeviceGetMaxMigDeviceCount g1',
      'nvmlDeviceGetMigDeviceHandleByIndex g1 0', 'nvmlDeviceGetMigDeviceHandleByIndex g1 1', 'nvmlDeviceGetMigDeviceHandleByIndex g1 2',
      'nvmlDeviceGetMigDeviceHandleByIndex g1 3', 'nvmlDeviceGetMigDeviceHandleByIndex g1 6', 'nvmlDeviceGetMigDeviceHandleByIndex g1 7',
      'nvmlDeviceGetMigDeviceHandleByIndex g1 0', 'nvmlDeviceGetName m1.0 96', 'nvmlDeviceGetUUID m1.0 96', 'nvmlDeviceGetUUID m1.1 96',
      'nvmlDeviceGetGpuInstanceId m1.0', 'nvmlDeviceGetGpuInstanceId m1.1', 'nvmlDeviceGetGpuInstanceId m1.2',
      'nvmlDeviceGetComputeInstanceId m1.2', 'nvmlDeviceGetGpuInstanceId g1', 'nvmlDeviceIsMigDeviceHandle m1.1',
      'nvmlDeviceIsMigDeviceHandle g1', 'nvmlDeviceGetDeviceHandleFromMigDeviceHandle m1.2', 'nvmlDeviceGetDeviceHandleFromMigDeviceHandle g1',
      'nvmlDeviceGetMemoryInfo_v2 m1.0', 'nvmlDeviceGetMemoryInfo m1.2', 'nvmlDeviceGetMemoryInfo_v2 m1.1',
      'nvmlDeviceGetUtilizationRates m1.0', 'nvmlDeviceGetUtilizationRates g1', 'nvmlDeviceGetEncoderUtilization m1.0',
      'nvmlDeviceGetDecoderUtilization g1', 'nvmlDeviceGetUtilizationRates g0', 'nvmlDeviceGetHandleByUUID MIG-1f0e2d3c-4b5a-4697-8877-66554433aa01',
      'nvmlDeviceGetHandleByUUID GPU-nope', 'nvmlDeviceGetPowerUsage m1.0'], { NVML_SIM_SCENARIO: fixture('mig-h100.scenario') });
    t.equal(stderr, '');
    const l = (i: number) => lines[i]!;
    t.same([l(3).ret, l(4).ret, l(4).current, l(4).pending], [3, 0, 1, 1], 'GPU 0 is not MIG-capable, GPU 1 has MIG on');
    t.same([l(5).value, l(6).value], [0, 7]);
    t.same([7, 8, 9, 10, 11, 12].map((i) => l(i).ret), [0, 0, 0, 6, 6, 2], 'slots 3..6 empty → NOT_FOUND; 7 is past the maximum');
    t.same([l(7).isGpuHandle, l(13).same], [false, true], 'MIG handles are distinct from GPU handles and stable');
    t.equal(l(14).value, 'NVIDIA H100 80GB HBM3 MIG 3g.40gb');
    t.equal(l(15).value, 'MIG-1f0e2d3c-4b5a-4697-8877-66554433aa01');
    t.match(l(16).value, /^MIG-[0-9a-f-]{36}$/);
    t.same([l(17).value, l(18).value, l(19).value, l(20).value], [1, 7, 9, 0], 'gi: explicit 9, derived 1 (3g) and 7 (1g)');
    t.same([l(21).ret, l(22).value, l(23).value], [3, 1, 0]);
    t.same([l(24).ret, l(24).parent, l(25).ret], [0, 1, 2]);
    t.match(l(26), { ret: 0, total: 40 * 2 ** 30, used: 21474836480, reserved: 0, free: 40 * 2 ** 30 - 21474836480 });
    t.match(l(27), { ret: 0, total: 10200547328, used: 4294967296 });
    t.match(l(28), { ret: 0, total: 10 * 2 ** 30, used: 10 * 2 ** 30 / 4 }, 'default instance memory from the profile');
    t.same([29, 30, 31, 32].map((i) => l(i).ret), [3, 3, 3, 3], 'utilization/enc/dec: NOT_SUPPORTED on MIG devices and MIG-enabled GPUs');
    t.match(l(33), { ret: 0, gpu: 61 });
    t.same(l(34).mig, [1, 0], 'GetHandleByUUID finds the MIG device handle');
    t.equal(l(35).ret, 6);
    t.equal(l(36).ret, 3, 'readings the scenario does not give a MIG device are NOT_SUPPORTED');
  });

  t.test('XID events: delivered once per set, TIMEOUT when none, new ones arrive after a rewrite', async (t) => {
    const path = join(work, 'xid.scenario');
    const base: Scenario = { gpus: [{}, {}], xids: [{ gpu: 0, xid: 79, id: 1 }, { gpu: 1, xid: 48, id: 2 }] };
    writeScenario(path, base);
    const more = join(work, 'xid-more.scenario');
    writeScenario(more, { ...base, xids: [...base.xids!, { gpu: 0, xid: 31, id: 3 }] });
    const { lines } = sim.run(['nvmlInit_v2', 'nvmlDeviceGetHandleByIndex_v2 0', 'nvmlDeviceGetHandleByIndex_v2 1',
      'nvmlEventSetWait_v2 10', 'nvmlEventSetCreate', 'nvmlDeviceGetSupportedEventTypes g0', 'nvmlDeviceRegisterEvents g0 0x8',
      'nvmlDeviceRegisterEvents g0 0x8000', 'nvmlEventSetWait_v2 1000', 'nvmlEventSetWait_v2 60', `rename ${more} ${path}`,
      'nvmlEventSetWait_v2 2000', 'nvmlEventSetWait_v2 30', 'nvmlEventSetFree', 'nvmlEventSetWait_v2 10'], { NVML_SIM_SCENARIO: path });
    const l = (i: number) => lines[i]!;
    t.equal(l(3).ret, 2, 'waiting on no set → INVALID_ARGUMENT');
    t.same([l(5).ret, l(5).value], [0, 0x1f]);
    t.same([l(6).ret, l(7).ret], [0, 3], 'registering an unsupported event type → NOT_SUPPORTED');
    t.match(l(8), { ret: 0, gpu: 0, type: 8, xid: 79, gi: 0xffffffff, ci: 0xffffffff });
    t.equal(l(9).ret, 10, 'the XID of an unregistered GPU is not delivered; TIMEOUT');
    t.ok((l(9).ms as number) >= 60, `TIMEOUT after the timeout (${l(9).ms} ms)`);
    t.match(l(11), { ret: 0, gpu: 0, xid: 31 }, 'an XID added by a rewrite wakes the waiter');
    t.equal(l(12).ret, 10, 'each event is delivered once');
    t.same([l(13).ret, l(14).ret], [0, 2]);
  });

  t.test('nvmlEventSetWait (v1) writes only the v1 struct; every registered set gets each event', async (t) => {
    const { lines } = sim.run(['nvmlInit_v2', 'nvmlDeviceGetHandleByIndex_v2 0', 'nvmlEventSetCreate',
      'nvmlDeviceRegisterEvents g0 8', 'nvmlEventSetWait 500', 'nvmlEventSetCreate', 'nvmlDeviceRegisterEvents g0 8',
      'nvmlEventSetWait_v2 500', 'nvmlEventSetWait_v2 20'], { NVML_SIM_SCENARIO: fixture('faults.scenario') });
    t.match(lines[4], { ret: 0, gpu: 0, xid: 79, gi: 0x7f7f7f7f, ci: 0x7f7f7f7f });
    t.match(lines[7], { ret: 0, gpu: 0, xid: 79 }, 'a second set receives the same event');
    t.equal(lines[8]!.ret, 10, 'the lost GPU 2 delivers nothing');
  });

  t.test('the faults fixture: NO_PERMISSION handle, lost GPU, injected errors and delays', async (t) => {
    const { lines } = sim.run(['nvmlInit_v2', 'nvmlDeviceGetCount_v2', 'nvmlDeviceGetHandleByIndex_v2 0', 'nvmlDeviceGetHandleByIndex_v2 1',
      'nvmlDeviceGetHandleByIndex_v2 2', 'nvmlDeviceGetPcieThroughput g0 1', 'nvmlDeviceGetTemperature g0 0'],
    { NVML_SIM_SCENARIO: fixture('faults.scenario') });
    t.same(lines.map((l) => l.ret), [0, 0, 0, 4, 15, 3, 0]);
    t.equal(lines[1]!.value, 3);
    t.ok((lines[6]!.ms as number) >= 30, `the delayed call returned after ≥ 30 ms (${lines[6]!.ms})`);
  });

  t.test('thread safety: four reader threads and an event waiter at once, while the file is rewritten', async (t) => {
    const path = join(work, 'hammer.scenario');
    writeScenario(path, { gpus: [{}, {}], xids: [{ gpu: 0, xid: 13 }] });
    const next = join(work, 'hammer-next.scenario');
    writeScenario(next, { gpus: [{ values: { powerUsage: 1 } }, {}], xids: [{ gpu: 0, xid: 13 }, { gpu: 1, xid: 94 }] });
    const { lines } = sim.run(['nvmlInit_v2', 'nvmlDeviceGetHandleByIndex_v2 0', 'nvmlDeviceGetHandleByIndex_v2 1', 'nvmlEventSetCreate',
      'nvmlDeviceRegisterEvents g0 8', 'nvmlDeviceRegisterEvents g1 8', 'hammer 3000', `rename ${next} ${path}`, 'sleep 20', 'hammer 3000',
      'nvmlDeviceGetPowerUsage g0'], { NVML_SIM_SCENARIO: path });
    t.match(lines[6], { fails: 0, events: 1 });
    t.match(lines[9], { fails: 0, events: 1 });
    t.equal(lines[10]!.value, 1);
  });
}
