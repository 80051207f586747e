// MIG and events as the real driver behaves, through the addon: the profile label from the GPU
// instance (compute-instance prefixes, `+me`, compute instances sharing a GPU instance, the
// fallback to the name), parent memory that needs NVIDIA_MIG_MONITOR_DEVICES=all, remapped rows
// not supported with instances, MIG enabled with no instances, XID instance ids only on MIG GPUs,
// and a v2 event wait that fails at run time.
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Nvml, type SweepResult, type XidEvent } from '../../lib/nvml/index.js';
import { simulatedLibraryPath, writeScenario } from '../../lib/nvml/simulation.js';
import type { Scenario, SimGpu } from '../../lib/nvml/scenario.js';
import { simWithout } from './sim-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'nvml-mig-'));
const file = join(dir, 'scenario.txt');
process.env.NVML_SIM_SCENARIO = file;
delete process.env.NVIDIA_MIG_MONITOR_DEVICES; // the simulated library reads this process's environment

async function sweepOf(s: Scenario, library = simulatedLibraryPath()): Promise<SweepResult> {
  writeScenario(file, s);
  const nvml = await Nvml.open({ library });
  try {
    return await nvml.sweep();
  } finally {
    await nvml.close();
  }
}

const GIB = 2 ** 30;
// GPU 0: GPU instance 3 (2g.20gb) split into two compute instances, a 1g.10gb+me, and a 3g.40gb
// whose profile info says 41472 MB (DCGM's label then reads 3g.41gb: the label is the profile's,
// not the name's)
const migGpu = (extra: Partial<SimGpu> = {}): SimGpu => ({
  uuid: 'GPU-a0000000-0000-4000-8000-000000000000',
  mig: [
    { profile: '1c.2g.20gb', uuid: 'MIG-a0000000-0000-4000-8000-000000000001', gpuInstanceId: 3, values: { memTotal: 20 * GIB, memUsed: 3 * GIB } },
    { profile: '1c.2g.20gb', uuid: 'MIG-a0000000-0000-4000-8000-000000000002', gpuInstanceId: 3 },
    { profile: '1g.10gb+me', uuid: 'MIG-a0000000-0000-4000-8000-000000000003' },
    { profile: '3g.40gb', uuid: 'MIG-a0000000-0000-4000-8000-000000000004', gpuInstanceId: 1, profileMemoryMB: 41472 },
  ],
  ...extra,
});

t.test('item 5: GPU_I profile from the GPU instance profile info, as DCGM builds it', async (t) => {
  const r = await sweepOf({ gpus: [migGpu()] });
  const m = r.devices[0]!.mig;
  t.same(m.map((x) => [x.name.replace(/^.* MIG /, ''), x.gpuInstanceId, x.computeInstanceId, x.profile, x.profileSource]), [
    ['1c.2g.20gb', 3, 0, '2g.20gb', 'gpuInstance'],
    ['1c.2g.20gb', 3, 1, '2g.20gb', 'gpuInstance'],
    ['1g.10gb+me', 7, 0, '1g.10gb', 'gpuInstance'],
    ['3g.40gb', 1, 0, '3g.41gb', 'gpuInstance'],
  ], 'no compute-instance prefix, no +me; <slices>g.<ceil(MB/1024)>gb');
  t.same([m[0]!.readings.memTotal, m[1]!.readings.memTotal], [20 * GIB, 20 * GIB], 'compute instances of one GPU instance share its memory');
  t.same([m[0]!.readings.memUsed, m[1]!.readings.memUsed], [3 * GIB, 3 * GIB]);
});

t.test('item 5: without the GPU-instance calls (absent or not permitted) the name is parsed without prefix and suffix', async (t) => {
  const denied = await sweepOf({ gpus: [migGpu({ gpuInstanceAccess: 'denied' })] });
  t.same(denied.devices[0]!.mig.map((x) => [x.profile, x.profileSource]),
    [['2g.20gb', 'name'], ['2g.20gb', 'name'], ['1g.10gb', 'name'], ['3g.40gb', 'name']], 'NO_PERMISSION: from the names');
  const lib = simWithout('nvml_sim_no_gpu_instances', ['nvmlDeviceGetGpuInstanceById', 'nvmlGpuInstanceGetInfo']);
  if (lib.missingGcc) return void t.fail(lib.missingGcc);
  const absent = await sweepOf({ gpus: [migGpu()] }, lib.path);
  t.same(absent.devices[0]!.mig.map((x) => [x.profile, x.profileSource]),
    [['2g.20gb', 'name'], ['2g.20gb', 'name'], ['1g.10gb', 'name'], ['3g.40gb', 'name']], 'absent symbols: from the names');
});

t.test('item 5: every way of reading the profile info gives the same label', async (t) => {
  const want = ['2g.20gb', '2g.20gb', '1g.10gb', '3g.41gb'];
  const byIndexV = simWithout('nvml_sim_no_byid', ['nvmlDeviceGetGpuInstanceProfileInfoByIdV']);
  if (byIndexV.missingGcc) return void t.fail(byIndexV.missingGcc);
  const v = await sweepOf({ gpus: [migGpu()] }, byIndexV.path);
  t.same(v.devices[0]!.mig.map((x) => x.profile), want, 'R510-R575: …ProfileInfoV by profile index (the id is not the index)');
  const legacy = await sweepOf({ gpus: [migGpu()] }, simulatedLibraryPath(true));
  t.same(legacy.devices[0]!.mig.map((x) => [x.profile, x.profileSource]), want.map((p) => [p, 'gpuInstance']), 'R470: the v1 …ProfileInfo');
});

t.test('item 7: a MIG-enabled parent\'s memory needs NVIDIA_MIG_MONITOR_DEVICES=all; its instances answer either way', async (t) => {
  const s: Scenario = { gpus: [migGpu(), { migCapable: true, migMode: true }, {}] };
  const without = await sweepOf(s);
  const [parent, empty, whole] = without.devices;
  for (const k of ['memTotal', 'memFree', 'memUsed', 'memReserved'] as const) {
    t.equal(parent!.status[k], 4, `parent ${k}: NO_PERMISSION`);
    t.equal(empty!.status[k], 4, `MIG on without instances: ${k} NO_PERMISSION too`);
  }
  t.equal(parent!.mig[0]!.readings.memTotal, 20 * GIB, 'a MIG device answers its own memory');
  t.equal(whole!.readings.memTotal, 85520809984, 'a GPU without MIG answers');
  process.env.NVIDIA_MIG_MONITOR_DEVICES = 'all';
  t.teardown(() => void delete process.env.NVIDIA_MIG_MONITOR_DEVICES);
  const withVar = await sweepOf(s);
  t.equal(withVar.devices[0]!.readings.memTotal, 85520809984, 'with the variable: the parent\'s memory');
  t.same(withVar.devices[0]!.status, { gpuUtil: 3, memUtil: 3, encUtil: 3, decUtil: 3, retiredSbe: 3, retiredDbe: 3, retiredPending: 3,
    remappedCorrectable: 3, remappedUncorrectable: 3, remappedPending: 3, remappedFailure: 3, fanSpeed: 3 });
  t.equal(withVar.devices[1]!.readings.memUsed, 40 * GIB);
});

t.test('MIG enabled with no instances: enabled, no MIG devices, the parent answers as MIG-enabled', async (t) => {
  const r = await sweepOf({ gpus: [{ migCapable: true, migMode: true }, { migCapable: true, mig: [{ profile: '1g.10gb' }], migMode: false }] });
  const [on, off] = r.devices;
  t.equal(on!.migEnabled, true);
  t.same(on!.mig, []);
  t.equal(on!.status.gpuUtil, 3, 'utilization NOT_SUPPORTED on a MIG-enabled GPU');
  t.equal(on!.readings.remappedCorrectable, 0, 'no instances: remapped rows still answer');
  t.equal(off!.migEnabled, false, 'MIG off: listed instances do not exist');
  t.same(off!.mig, []);
  t.equal(off!.readings.gpuUtil, 35);
});

t.test('item 8: remapped rows are NOT_SUPPORTED on a MIG-enabled GPU with instances', async (t) => {
  const r = await sweepOf({ gpus: [migGpu(), { values: { remappedCorrectable: 2, remappedPending: 1 } }] });
  for (const k of ['remappedCorrectable', 'remappedUncorrectable', 'remappedPending', 'remappedFailure'] as const) {
    t.equal(r.devices[0]!.status[k], 3, `${k}: NOT_SUPPORTED`);
    t.notOk(k in r.devices[0]!.readings);
  }
  t.same([r.devices[1]!.readings.remappedCorrectable, r.devices[1]!.readings.remappedPending], [2, 1], 'a whole GPU answers');
});

function collect(nvml: Nvml, n: number, ms = 10_000): Promise<XidEvent[]> {
  const got: XidEvent[] = [];
  nvml.onXid((e) => got.push(e));
  return new Promise((resolve) => {
    const until = Date.now() + ms;
    const tick = (): void => (got.length >= n || Date.now() > until ? resolve(got) : void setTimeout(tick, 20));
    tick();
  });
}

t.test('item 4: XID GPU/compute-instance ids only from a GPU with MIG enabled', async (t) => {
  writeScenario(file, {
    gpus: [migGpu(), { uuid: 'GPU-b0000000-0000-4000-8000-000000000000' }],
    xids: [
      { gpu: 0, xid: 43, id: 1, gpuInstanceId: 3, computeInstanceId: 1 },
      { gpu: 1, xid: 31, id: 2, gpuInstanceId: 5, computeInstanceId: 2 }, // a non-MIG GPU: what it carries there is no instance
      { gpu: 0, xid: 79, id: 3 },
    ],
  });
  const nvml = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => nvml.close());
  const got = await collect(nvml, 3);
  const by = new Map(got.map((e) => [e.xid, e]));
  t.match(by.get(43), { gpu: 0, gpuInstanceId: 3, computeInstanceId: 1 }, 'MIG GPU: the instance ids');
  t.match(by.get(31), { gpu: 1, uuid: 'GPU-b0000000-0000-4000-8000-000000000000', gpuInstanceId: null, computeInstanceId: null },
    'GPU without MIG: GPU-level XID, ids ignored');
  t.match(by.get(79), { gpu: 0, gpuInstanceId: null, computeInstanceId: null }, 'MIG GPU, not attributable');
});

for (const quirk of ['event-wait-v2-not-supported', 'event-wait-v2-not-found'] as const) {
  t.test(`item 6: ${quirk}: XIDs arrive through the v1 wait`, async (t) => {
    writeScenario(file, { quirks: [quirk], gpus: [{}, {}], xids: [{ gpu: 1, xid: 48, id: 1, gpuInstanceId: 1, computeInstanceId: 0 }] });
    const nvml = await Nvml.open({ library: simulatedLibraryPath() });
    t.teardown(() => nvml.close());
    const got = await collect(nvml, 1, 5000);
    t.equal(got.length, 1, 'delivered (the v2 wait refuses; the addon switches to v1 for good)');
    t.match(got[0], { gpu: 1, xid: 48, gpuInstanceId: null, computeInstanceId: null }, 'v1 carries no instance ids');
    writeScenario(file, { quirks: [quirk], gpus: [{}, {}], xids: [{ gpu: 1, xid: 48, id: 1 }, { gpu: 0, xid: 13, id: 2 }] });
    const more = await collect(nvml, 1, 5000);
    t.match(more.at(-1), { gpu: 0, xid: 13 }, 'and keeps delivering');
  });
}
