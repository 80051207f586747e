// serializeScenario / parseScenario round trips, input checks, the ready-made scenarios, and the
// library path. (That the C parser accepts every serialized form: test/integration/sim-abi.test.ts.)
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import t from 'tap';
import {
  demoScenario, migScenario, processScenario, packageRoot, parseScenario, serializeScenario, simulatedLibraryPath, writeScenario,
} from '../../lib/nvml/simulation.js';
import type { Scenario, SimGpu } from '../../lib/nvml/scenario.js';
import { READING_KEYS } from '../../lib/nvml/types.js';

const full: Scenario = {
  driverVersion: '535.104.05',
  nvmlVersion: '12.535.104.05',
  cudaDriverVersion: 12020,
  errors: { nvmlInit_v2: 9, nvmlDeviceGetCount: 18 },
  delays: { nvmlDeviceGetName: 250 },
  xids: [{ gpu: 0, xid: 79 }, { gpu: 1, xid: 48, id: 77 }],
  gpus: [
    {
      uuid: 'GPU-11111111-2222-4333-8444-555555555555', name: 'NVIDIA A100-SXM4-80GB', pciBusId: '00000000:3B:00.0',
      serial: '1323120012345', minor: 3, lost: 18, migCapable: false,
      errors: { nvmlDeviceGetPowerUsage: 999 }, delays: { nvmlDeviceGetTemperature: 40 },
      values: {
        gpuUtil: 42, powerUsage: { wave: { min: 1.5e5, max: 6.5e5, periodS: 30, phase: 0.25 } },
        memUtil: { wave: { min: 0, max: 50, periodS: 0.5 } }, energy: { ramp: { start: 1e12, perS: -3.5 } },
        fanSpeed: 'unsupported', memTotal: 85520809984,
      },
    },
    {
      lost: true, migCapable: true,
      mig: [
        { profile: '3g.40gb', uuid: 'MIG-aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', gpuInstanceId: 2, computeInstanceId: 0, memTotal: 4e10, values: { memUsed: 1e9 } },
        { profile: '1g.20gb+me' },
      ],
    },
  ],
};

t.test('serialize → parse gives back the same scenario', async (t) => {
  const text = serializeScenario(full);
  const back = parseScenario(text);
  // memTotal on a MIG device is written as a reading line, so it comes back among its values
  const expected = structuredClone(full);
  const m0 = expected.gpus[1]!.mig![0]!;
  m0.values = { memTotal: m0.memTotal!, ...m0.values };
  delete m0.memTotal;
  t.same(back, expected);
  t.equal(serializeScenario(back), text, 'and serializing again is stable');
  t.match(text, /^gpu 1$/m);
  t.match(text, /^powerUsage wave 150000 650000 30 0\.25$/m);
  t.match(text, /^energy ramp 1000000000000 -3\.5$/m);
  t.match(text, /^xid 1 48 77$/m);
  t.match(text, /^lost$/m);
});

t.test('demoScenario: n whole H100-like GPUs moving at different phases', async (t) => {
  const s = demoScenario(4);
  t.equal(s.gpus.length, 4);
  t.ok(s.gpus.every((g) => g.mig === undefined), 'no MIG in the demo');
  const phases = s.gpus.map((g) => (g.values!.gpuUtil as { wave: { phase: number } }).wave.phase);
  t.equal(new Set(phases).size, 4, 'each GPU has its own phase');
  const mem = s.gpus[0]!.values!.memUsed as { wave: { min: number; max: number } };
  t.ok(mem.wave.min / 85520809984 > 0.85 && mem.wave.max / 85520809984 < 0.95, 'memory stays around 90 %');
  t.ok('ramp' in (s.gpus[0]!.values!.energy as object), 'energy counts up');
  for (const g of s.gpus) for (const k of Object.keys(g.values!)) t.ok((READING_KEYS as readonly string[]).includes(k), `${k} is a reading key`);
  t.same(parseScenario(serializeScenario(s)), s, 'round trip');
  t.throws(() => demoScenario(0), /1\.\.64, got 0/);
});

t.test('migScenario: gpus × perGpu 1g.10gb instances', async (t) => {
  const s = migScenario(8, 7);
  t.equal(s.gpus.length, 8);
  t.same(s.gpus.map((g) => g.mig!.length), [7, 7, 7, 7, 7, 7, 7, 7]);
  t.ok(s.gpus.every((g: SimGpu) => g.migCapable && g.mig!.every((m) => m.profile === '1g.10gb')));
  t.same(parseScenario(serializeScenario(s)), s, 'round trip');
  t.throws(() => migScenario(2, 8), /perGpu must be an integer in 1\.\.7/);
});

t.test('bad input is refused with the path of the value and the fix', async (t) => {
  const bad = (s: unknown) => () => serializeScenario(s as Scenario);
  t.throws(bad({ gpus: [{ values: { gpuUtil: Number.NaN } }] }), /scenario gpus\[0\]\.values\.gpuUtil: expected a finite number, got NaN/);
  t.throws(bad({ gpus: [{ values: { gpuUtilization: 3 } }] }), /gpus\[0\]\.values\.gpuUtilization: unknown reading \(known: gpuUtil/);
  t.throws(bad({ gpus: [{ name: 'two\nlines' }] }), /gpus\[0\]\.name: expected one line of text/);
  t.throws(bad({ gpus: [{ mig: [{ profile: '1g' }] }] }), /gpus\[0\]\.mig\[0\]\.profile: expected a profile like 1g\.10gb/);
  t.throws(bad({ gpus: [{ values: { powerUsage: { wave: { min: 1, max: 2, periodS: 0 } } } }] }), /periodS: must be > 0 seconds/);
  t.throws(bad({ gpus: [{ errors: { GetPowerUsage: 3 } }] }), /expected an NVML function name/);
  t.throws(bad({ gpus: [{}], xids: [{ gpu: 1, xid: 79 }] }), /xids\[0\]\.gpu: expected an integer in 0\.\.0, got 1/);
  t.throws(bad({ gpus: [{ pciBusId: '3b:00.0' }] }), /pciBusId: expected a bus id like 00000000:18:00\.0/);
  t.throws(bad({}), /scenario gpus: expected an array of GPUs/);
  t.throws(() => parseScenario('gpu 0\ngpuUtil lots\n', 'x.scenario'), /scenario x\.scenario:2: 'lots' is not a number/);
  t.throws(() => parseScenario('gpu 2\n', 'x.scenario'), /x\.scenario:1: cannot read 'gpu 2'/);
});

t.test('writeScenario replaces the file atomically and leaves no temp file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-write-'));
  const path = join(dir, 's.scenario');
  writeScenario(path, { gpus: [{}] });
  writeScenario(path, full);
  t.equal(readFileSync(path, 'utf8'), serializeScenario(full));
  t.same(readdirSync(dir), ['s.scenario']);
});

t.test('the fixture scenarios parse', async (t) => {
  const dir = join(packageRoot(), 'test/fixtures/scenarios');
  const files = readdirSync(dir).filter((f) => f.endsWith('.scenario'));
  t.ok(files.length >= 2);
  for (const f of files) t.ok(parseScenario(readFileSync(join(dir, f), 'utf8'), f).gpus.length > 0, f);
});

t.test('simulatedLibraryPath points into the package build', async (t) => {
  const root = packageRoot();
  t.equal(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).name, 'nvml-exporter');
  t.equal(simulatedLibraryPath(), join(root, 'build', 'Release', 'nvml_sim.so'));
  t.equal(simulatedLibraryPath(true), join(root, 'build', 'Release', 'nvml_sim_legacy.so'));
  t.throws(() => packageRoot(`${sep}nonexistent-dir${sep}x.js`), /cannot find the nvml-exporter package root/);
});

t.test('the real-driver options round-trip: quirks, latency, MIG mode and access, compute instances, link ids, strings, XID instance ids', async (t) => {
  const s: Scenario = {
    quirks: ['no-libcuda', 'event-wait-v2-not-found'],
    latency: 'published',
    latencyUs: { nvmlDeviceGetFanSpeed: 137, nvmlDeviceGetMemoryInfo: 11.6 },
    xids: [{ gpu: 0, xid: 43, id: 7, gpuInstanceId: 3, computeInstanceId: 1 }, { gpu: 1, xid: 31, gpuInstanceId: 5 }],
    gpus: [
      {
        migCapable: true, migMode: true, gpuInstanceAccess: 'denied', quirks: ['field-types-double', 'ecc-fields-untouched'],
        nvlinkIds: [0, 2, 5, 7], vbios: '96.00.74.00.0D', inforom: { oem: '2.1', ecc: 'unsupported', image: 'G520.0200.00.05' }, brand: 2,
        mig: [
          { profile: '1c.2g.20gb', gpuInstanceId: 3, computeInstanceId: 0, profileMemoryMB: 20224 },
          { profile: '1c.2g.20gb', gpuInstanceId: 3, computeInstanceId: 1 },
          { profile: '1g.10gb+me' },
        ],
        values: { vgpuLicenseStatus: 1, eccModeCurrent: 0, bar1Used: 4194304 },
      },
      { quirks: ['no-nvlink-all-scope', 'no-perf-policy-fields'], brand: 'unsupported', vbios: 'unsupported' },
    ],
  };
  const text = serializeScenario(s);
  t.same(parseScenario(text), s);
  for (const line of ['quirk no-libcuda', 'latency published', 'latency nvmlDeviceGetMemoryInfo 11.6', 'xid 0 43 7 gi 3 ci 1', 'xid 1 31 gi 5',
    'migmode on', 'giaccess denied', 'quirk ecc-fields-untouched', 'nvlinks 0 2 5 7', 'inforom ecc unsupported', 'brand 2', 'mig 1c.2g.20gb',
    'gimem 20224', 'mig 1g.10gb+me', 'vgpuLicenseStatus 1']) {
    t.match(text, new RegExp(`^${line.replace(/[.+]/g, '\\$&')}$`, 'm'), line);
  }
  const bad = (x: unknown) => () => serializeScenario(x as Scenario);
  t.throws(bad({ gpus: [{ quirks: ['no-libcuda'] }] }), /gpus\[0\]\.quirks\[0\]: unknown quirk "no-libcuda" \(known: field-types-double/);
  t.throws(bad({ quirks: ['field-types-double'], gpus: [{}] }), /quirks\[0\]: unknown quirk "field-types-double" \(known: no-libcuda/);
  t.throws(bad({ gpus: [{ nvlinkIds: [1, 1] }] }), /nvlinkIds: expected at most 18 distinct link ids/);
  t.throws(bad({ gpus: [{ mig: [{ profile: '1g.10gb', gpuInstanceId: 16 }] }] }), /gpuInstanceId: expected an integer in 0\.\.15/);
  t.throws(bad({ latency: 'sometimes', gpus: [{}] }), /latency: expected published or off/);
  t.throws(bad({ latencyUs: { nvmlDeviceGetFanSpeed: -1 }, gpus: [{}] }), /latencyUs\.nvmlDeviceGetFanSpeed: expected 0\.\.1000000 µs/);
});

t.test('GPM lines round-trip: support, metrics by name and id, nan, per-metric errors, the header size; bad ones refused', async (t) => {
  const s: Scenario = {
    gpmMetricMax: 98,
    gpus: [
      { name: 'NVIDIA A100-SXM4-80GB', gpmSupported: true, gpm: { graphicsUtil: 40, 20: { wave: { min: 1, max: 9, periodS: 5 } }, smUtil: 'nan', fp64Util: { error: 4 }, dramBwUtil: 'unsupported' },
        mig: [{ profile: '1g.10gb', gpm: { graphicsUtil: 12.5 } }] },
      { gpmSupported: false },
    ],
  };
  const text = serializeScenario(s);
  t.match(text, /^gpm max 98$/m);
  t.match(text, /^gpm on$/m);
  t.match(text, /^gpm fp64Util error 4$/m);
  t.match(text, /^gpm smUtil nan$/m);
  t.same(parseScenario(text), s, 'round trip');
  t.throws(() => serializeScenario({ gpus: [{ gpm: { notAMetric: 1 } }] }), /gpus\[0\]\.gpm\.notAMetric: expected a GPM metric id 0\.\.332/);
  t.throws(() => serializeScenario({ gpus: [{ gpm: { 333: 1 } }] }), /expected a GPM metric id/);
});

t.test('processes round-trip, on GPUs and MIG devices; bad process values are refused with their path', async (t) => {
  const s: Scenario = {
    quirks: ['process-info-32'],
    gpus: [
      { processes: [{ pid: 4242, kinds: ['compute', 'graphics'], mem: 8e9, sm: { wave: { min: 10, max: 60, periodS: 30 } }, memUtil: 5, enc: 1, dec: 2, startS: 1, exitS: 30 }] },
      { mig: [{ profile: '3g.40gb', processes: [{ pid: 7, kinds: ['mps'], mem: 1e9 }] }] },
    ],
  };
  const text = serializeScenario(s);
  t.match(text, /process 4242\nkind compute\+graphics\nmem 8000000000\nsm wave 10 60 30\nmemutil 5\nenc 1\ndec 2\nstart 1\nexit 30/);
  t.same(parseScenario(text), s);
  const ps = processScenario(8, 16);
  t.equal(ps.gpus.length, 8);
  t.ok(ps.gpus.every((g) => g.processes?.length === 16 && g.values?.gpuUtil === undefined), '16 processes per GPU, GPU utilisation follows them');
  t.throws(() => serializeScenario({ gpus: [{ processes: [{ pid: 0 }] }] }), /gpus\[0\]\.processes\[0\]\.pid/);
  t.throws(() => serializeScenario({ gpus: [{ processes: [{ pid: 5, kinds: ['gpu' as 'compute'] }] }] }), /gpus\[0\]\.processes\[0\]\.kinds: expected a non-empty list of compute, graphics, mps/);
  t.throws(() => serializeScenario({ gpus: [{ processes: [{ pid: 5, sm: 'unsupported' }] }] }), /processes\[0\]\.sm: a process value cannot be unsupported/);
});
