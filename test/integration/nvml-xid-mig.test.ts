// XID events through the event thread, and MIG enumeration on a MIG-enabled GPU.
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Nvml, type XidEvent } from '../../lib/nvml/index.js';
import { demoScenario, simulatedLibraryPath, writeScenario } from '../../lib/nvml/simulation.js';
import type { Scenario } from '../../lib/nvml/scenario.js';

const dir = mkdtempSync(join(tmpdir(), 'nvml-xid-mig-'));
const file = join(dir, 'scenario.txt');
process.env.NVML_SIM_SCENARIO = file;

async function update(s: Scenario): Promise<void> {
  writeScenario(file, s); // the simulated library notices a change within 10 ms
  await new Promise((r) => setTimeout(r, 30));
}

function waitFor(events: XidEvent[], n: number, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const tick = (): void => {
      if (events.length >= n) return resolve();
      if (Date.now() > deadline) return reject(new Error(`only ${events.length} of ${n} XID events arrived`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

t.test('XID events reach every listener with GPU index and UUID; unsubscribe stops delivery', async (t) => {
  const s = demoScenario(2);
  s.gpus[0]!.uuid = 'GPU-aaaaaaaa-0000-0000-0000-000000000000';
  s.gpus[1]!.uuid = 'GPU-bbbbbbbb-0000-0000-0000-000000000000';
  await update(s);
  const nvml = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => nvml.close());
  const a: XidEvent[] = [];
  const b: XidEvent[] = [];
  nvml.onXid((e) => a.push(e));
  const offB = nvml.onXid((e) => b.push(e));
  await new Promise((r) => setTimeout(r, 100)); // the event thread registers its set
  const before = Date.now();
  await update({ ...s, xids: [{ gpu: 1, xid: 79, id: 1 }, { gpu: 0, xid: 48, id: 2 }] });
  await waitFor(a, 2);
  const byXid = new Map(a.map((e) => [e.xid, e]));
  t.match(byXid.get(79), { gpu: 1, uuid: 'GPU-bbbbbbbb-0000-0000-0000-000000000000', xid: 79 });
  t.match(byXid.get(48), { gpu: 0, uuid: 'GPU-aaaaaaaa-0000-0000-0000-000000000000', xid: 48 });
  for (const e of a) {
    t.ok(e.time >= before - 1000 && e.time <= Date.now() + 1000, 'time is wall-clock ms');
    t.equal(e.gpuInstanceId, null, 'not MIG-attributable');
    t.equal(e.computeInstanceId, null);
  }
  await waitFor(b, 2);
  t.equal(b.length, 2, 'the second listener got both');
  offB();
  await update({ ...s, xids: [{ gpu: 1, xid: 79, id: 1 }, { gpu: 0, xid: 48, id: 2 }, { gpu: 1, xid: 94, id: 3 }] });
  await waitFor(a, 3);
  t.equal(a.length, 3, 'each event once');
  t.equal(a[2]!.xid, 94);
  t.equal(b.length, 2, 'unsubscribed listener got nothing more');
});

t.test('close stops the event thread (the test process exits) and re-open delivers again', async (t) => {
  const s = demoScenario(1);
  await update(s);
  const first = await Nvml.open({ library: simulatedLibraryPath() });
  first.onXid(() => {});
  await first.close();
  const nvml = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => nvml.close());
  const got: XidEvent[] = [];
  nvml.onXid((e) => got.push(e));
  await new Promise((r) => setTimeout(r, 100));
  await update({ ...s, xids: [{ gpu: 0, xid: 13, id: 100 }] });
  await waitFor(got, 1);
  t.equal(got[0]!.xid, 13);
});

t.test('MIG: instances with UUIDs, GI/CI ids, profiles, per-instance memory; utilization not supported', async (t) => {
  const s = demoScenario(2);
  s.gpus[0]!.migCapable = true;
  s.gpus[0]!.mig = [
    { profile: '1g.10gb', uuid: 'MIG-11111111-aaaa-bbbb-cccc-000000000001', gpuInstanceId: 9, computeInstanceId: 0, memTotal: 10_200_547_328, values: { memUsed: 1_000_000_000 } },
    { profile: '3g.40gb', uuid: 'MIG-11111111-aaaa-bbbb-cccc-000000000002', gpuInstanceId: 2, computeInstanceId: 0, memTotal: 40_802_189_312, values: { memUsed: 5_000_000_000 } },
  ];
  s.gpus[1]!.migCapable = false;
  await update(s);
  const nvml = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => nvml.close());
  const r = await nvml.sweep();
  const g = r.devices[0]!;
  t.equal(g.migEnabled, true);
  t.equal(g.mig.length, 2);
  const [m0, m1] = g.mig;
  t.match(m0, { uuid: 'MIG-11111111-aaaa-bbbb-cccc-000000000001', slot: 0, gpuInstanceId: 9, computeInstanceId: 0, profile: '1g.10gb' });
  t.match(m0!.name, /MIG 1g\.10gb$/);
  t.equal(m0!.readings.memTotal, 10_200_547_328);
  t.equal(m0!.readings.memUsed, 1_000_000_000);
  t.equal(m0!.status.gpuUtil, 3, 'utilization: NOT_SUPPORTED on a MIG device');
  t.notOk('gpuUtil' in m0!.readings);
  t.match(m1, { uuid: 'MIG-11111111-aaaa-bbbb-cccc-000000000002', slot: 1, gpuInstanceId: 2, profile: '3g.40gb' });
  t.equal(m1!.readings.memTotal, 40_802_189_312);
  t.equal(m1!.readings.memUsed, 5_000_000_000);
  t.equal(r.devices[1]!.migEnabled, null, 'a GPU without MIG support');
  t.same(r.devices[1]!.mig, []);

  await update({ ...s, gpus: [{ ...s.gpus[0]!, mig: [], migCapable: true }, s.gpus[1]!] });
  const off = (await nvml.sweep()).devices[0]!;
  t.equal(off.migEnabled, false, 'MIG-capable with no instances: disabled');
  t.same(off.mig, []);
});
