// The process lists through the addon, for each entry layout a driver can write: the plain
// symbols (16-byte entries, an older library without _v2/_v3), _v2 (the legacy build, 24 bytes),
// _v3 (24), _v3 of drivers 535.43-535.86 (32 bytes, quirk process-info-32); MPS clients, a process
// in two lists, MIG devices, processes appearing and exiting, and a library with no process calls.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Nvml } from '../../lib/nvml/index.js';
import { simulatedLibraryPath, writeScenario } from '../../lib/nvml/simulation.js';
import { PROCESS_COMPUTE, PROCESS_GRAPHICS, PROCESS_MPS } from '../../lib/nvml/types.js';
import type { Scenario } from '../../lib/nvml/scenario.js';
import { simWithout } from './sim-harness.js';

const GIB = 1073741824;
const dir = mkdtempSync(join(tmpdir(), 'nvx-procs-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 's.txt');
process.env.NVML_SIM_SCENARIO = file;

const SCENARIO = (quirk: boolean): Scenario => ({
  quirks: quirk ? ['process-info-32'] : [],
  gpus: [
    { processes: [{ pid: 101, mem: 1 * GIB, sm: 30 }, { pid: 102, mem: 2 * GIB, kinds: ['compute', 'graphics'], sm: 20 }, { pid: 103, mem: 3 * GIB, kinds: ['mps'] }] },
    { mig: [{ profile: '3g.40gb', processes: [{ pid: 201, mem: 4 * GIB }] }, { profile: '3g.40gb', processes: [{ pid: 202, mem: 5 * GIB }] }] },
  ],
});

async function read(library: string, s: Scenario) {
  writeScenario(file, s);
  const nvml = await Nvml.open({ library });
  try {
    return (await nvml.sweep({ processes: true })).processes!;
  } finally {
    await nvml.close();
  }
}

// First in the file: `start`/`exit` count from the moment this process first initialised the
// simulated library, which this test does.
t.test('utilisation over the span since the previous read; processes that appear and exit', async (t) => {
  writeScenario(file, { gpus: [{ processes: [{ pid: 11, sm: 40, memUtil: 10, enc: 5, dec: 7, exitS: 1.2 }, { pid: 12, sm: 60, startS: 1.2 }] }] });
  const nvml = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => nvml.close());
  // the simulated driver keeps samples from its start on: let it take a few
  await new Promise((r) => setTimeout(r, 600));
  const first = (await nvml.sweep({ processes: true })).processes!.devices[0]!;
  t.same(first.processes.map((x) => [x.pid, x.smUtil, x.memUtil, x.encUtil, x.decUtil]), [[11, 40, 10, 5, 7]], 'the running process, its whole buffer averaged');
  await new Promise((r) => setTimeout(r, 1400));
  const second = (await nvml.sweep({ processes: true })).processes!.devices[0]!;
  t.same(second.processes.map((x) => x.pid), [12], 'pid 11 exited, pid 12 appeared');
  const sm = second.processes[0]!.smUtil!;
  t.ok(sm > 5 && sm < 55, `pid 12 ran part of the span at 60 %: ${sm.toFixed(1)} % averaged over it`);
  t.ok(second.intervalUs > 1e6, 'the span covers the time since the previous read');
});

const HIDE_V2_V3 = ['Compute', 'Graphics', 'MPSCompute'].flatMap((k) => [`nvmlDeviceGet${k}RunningProcesses_v2`, `nvmlDeviceGet${k}RunningProcesses_v3`]);
const variants: [string, () => string, boolean, number][] = [
  ['_v3, 24-byte entries', () => simulatedLibraryPath(), false, 24],
  ['_v3 writing 32-byte entries (535.43-535.86)', () => simulatedLibraryPath(), true, 32],
  ['_v2 (the legacy build)', () => simulatedLibraryPath(true), false, 24],
  ['the plain symbols only, 16-byte entries', () => simWithout('no_process_v2_v3', HIDE_V2_V3).path, false, 16],
];
for (const [name, lib, quirk, stride] of variants) {
  t.test(name, async (t) => {
    const path = lib();
    if (!path) return void t.fail('gcc is missing: the partial library cannot be linked (gcc builds the project: not a skip)');
    const p = await read(path, SCENARIO(quirk));
    t.equal(p.stride, stride, `stride ${stride}`);
    const g0 = p.devices.find((d) => d.gpu === 0)!;
    t.same(g0.processes.map((x) => [x.pid, x.usedMemory, x.kinds]), [
      [101, 1 * GIB, PROCESS_COMPUTE], [102, 2 * GIB, PROCESS_COMPUTE | PROCESS_GRAPHICS], [103, 3 * GIB, PROCESS_MPS],
    ], 'PIDs, memory and lists right for every entry');
    t.equal(g0.listStatus, 0);
    t.same(p.devices.filter((d) => d.gpu === 1).map((d) => [d.migSlot, d.processes.map((x) => x.pid), d.utilStatus]), [[0, [201], 3], [1, [202], 3]],
      'MIG: each MIG device its own processes; utilisation NOT_SUPPORTED there');
  });
}

t.test('a library without any process call: the lists report FUNCTION_NOT_FOUND, the sweep goes on', async (t) => {
  const hidden = [...HIDE_V2_V3, 'nvmlDeviceGetComputeRunningProcesses', 'nvmlDeviceGetGraphicsRunningProcesses', 'nvmlDeviceGetMPSComputeRunningProcesses', 'nvmlDeviceGetProcessUtilization'];
  const path = simWithout('no_processes', hidden).path;
  if (!path) return void t.fail('gcc is missing (gcc builds the project: not a skip)');
  writeScenario(file, SCENARIO(false));
  const nvml = await Nvml.open({ library: path });
  t.teardown(() => nvml.close());
  const r = await nvml.sweep({ processes: true });
  t.same(r.processes!.devices.map((d) => [d.listStatus, d.utilStatus, d.processes.length]).slice(0, 1), [[13, 13, 0]]);
  t.ok(r.devices[0]!.readings.gpuUtil !== undefined, 'the readings are there');
});
