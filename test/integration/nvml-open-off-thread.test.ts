// nvmlInit runs off the JS thread: on a node without persistence mode it can take seconds, and
// the event loop (scrapes, signals, timers) must go on meanwhile. Closing does the same for
// nvmlShutdown and dlclose.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Nvml } from '../../lib/nvml/index.js';
import { simulatedLibraryPath, writeScenario } from '../../lib/nvml/simulation.js';

const dir = mkdtempSync(join(tmpdir(), 'nvx-open-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const scenario = join(dir, 'scenario.txt');
process.env.NVML_SIM_SCENARIO = scenario;

t.test('a slow nvmlInit does not block the event loop', async (t) => {
  writeScenario(scenario, { gpus: [{ values: { gpuUtil: 42 } }], delays: { nvmlInit_v2: 800 } });
  let ticks = 0;
  const tick = setInterval(() => ticks++, 20);
  const t0 = Date.now();
  const nvml = await Nvml.open({ library: simulatedLibraryPath() });
  const took = Date.now() - t0;
  clearInterval(tick);
  t.ok(took >= 700, `open waited for nvmlInit (${took} ms)`);
  // A blocked loop would give 0 or 1 ticks; a free one about took/20. Half of that is plenty of margin.
  t.ok(ticks >= Math.floor(took / 20 / 2), `the timer ran ${ticks} times during the ${took} ms open`);
  const r = await nvml.sweep();
  t.equal(r.devices[0]?.readings.gpuUtil, 42, 'the library opened this way sweeps');
  await nvml.close();
  t.ok(nvml.closed);
});

t.test('a failing nvmlInit still rejects with the NVML error, asynchronously', async (t) => {
  writeScenario(scenario, { gpus: [{}], errors: { nvmlInit_v2: 9 } });
  await t.rejects(Nvml.open({ library: simulatedLibraryPath() }), { code: 9, name: 'NvmlError' });
});

t.test('open and close many times: each close releases the library (nvmlShutdown on a pool thread)', async (t) => {
  writeScenario(scenario, { gpus: [{ values: { gpuUtil: 7 } }] });
  for (let i = 0; i < 20; i++) {
    const nvml = await Nvml.open({ library: simulatedLibraryPath() });
    t.equal((await nvml.sweep()).devices[0]?.readings.gpuUtil, 7);
    await nvml.close();
  }
  // Two at once share the library's init refcount; closing one leaves the other working.
  const a = await Nvml.open({ library: simulatedLibraryPath() });
  const b = await Nvml.open({ library: simulatedLibraryPath() });
  await a.close();
  t.equal((await b.sweep()).devices[0]?.readings.gpuUtil, 7, 'the other handle still sweeps');
  await b.close();
});
