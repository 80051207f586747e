// Opening and closing: a missing library, the default search (and LD_LIBRARY_PATH), nvmlInit
// failing, close / re-open, several instances, and what a closed instance answers.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Nvml, NvmlError, NvmlLibraryNotFoundError } from '../../lib/nvml/index.js';
import { demoScenario, packageRoot, simulatedLibraryPath, writeScenario } from '../../lib/nvml/simulation.js';

const dir = mkdtempSync(join(tmpdir(), 'nvml-lifecycle-'));
const file = join(dir, 'scenario.txt');
process.env.NVML_SIM_SCENARIO = file;
writeScenario(file, demoScenario(2));

t.test('a missing library names the path, the dlerror and the fixes', async (t) => {
  const missing = join(dir, 'no-such-libnvidia-ml.so.1');
  const err = await Nvml.open({ library: missing }).then(
    () => null,
    (e: unknown) => e,
  );
  t.type(err, NvmlLibraryNotFoundError);
  t.type(err, NvmlError);
  const e = err as NvmlLibraryNotFoundError;
  t.equal(e.code, 12);
  t.equal(e.nvmlName, 'NVML_ERROR_LIBRARY_NOT_FOUND');
  t.equal(e.library, missing);
  t.match(e.message, missing, 'names the path given');
  t.match(e.message, 'No such file or directory', 'carries dlerror()');
  t.match(e.message, 'install the NVIDIA driver');
  t.match(e.message, 'NVIDIA_DRIVER_CAPABILITIES=utility');
  t.match(e.message, '--nvml-library');
  t.match(e.message, 'NVML_EXPORTER_NVML_LIBRARY');
});

t.test('the default search: a real libnvidia-ml.so.1 where one is installed, else a described failure', async (t) => {
  const res = await Nvml.open().then(
    (n) => n,
    (e: unknown) => e,
  );
  if (res instanceof Nvml) {
    // An NVIDIA driver is installed here (a GPU node): the search found it and it answers.
    t.teardown(() => res.close());
    t.match(res.libraryPath, /\/libnvidia-ml\.so[.\d]*$/, 'libraryPath is the file the loader picked, with its directory');
    const r = await res.sweep();
    t.match(r.driverVersion, /^\d+\.\d+/, 'the driver reports its version');
    for (const d of r.devices) t.match(d.uuid, /^GPU-/, `GPU ${d.index} has a GPU UUID`);
    return;
  }
  if (res instanceof NvmlLibraryNotFoundError) {
    t.equal(res.library, null);
    t.match(res.message, 'libnvidia-ml.so.1 via the dynamic loader search: LD_LIBRARY_PATH, /etc/ld.so.cache, default dirs');
    return;
  }
  // The library is installed but nvmlInit fails (no GPU, kernel module not loaded): still described.
  t.type(res, NvmlError);
  t.match((res as NvmlError).message, /nvmlInit failed: NVML_ERROR_\w+ \(\d+\).*library \S*libnvidia-ml\.so/s);
});

t.test('the default search goes through LD_LIBRARY_PATH (a child process: the loader reads it at start)', async (t) => {
  // libnvidia-ml.so.1 in a directory of its own, a symlink to the simulated library; a scenario
  // with 3 GPUs and known UUIDs, so that what answers is recognisably the simulated one.
  const libDir = mkdtempSync(join(tmpdir(), 'nvml-ld-path-'));
  symlinkSync(simulatedLibraryPath(), join(libDir, 'libnvidia-ml.so.1'));
  const scenario = join(libDir, 'scenario.txt');
  const s = demoScenario(3);
  s.gpus.forEach((g, i) => (g.uuid = `GPU-ld0${i}0000-0000-0000-0000-000000000000`));
  writeScenario(scenario, s);
  const index = join(packageRoot(), 'lib/nvml/index.ts');
  const code = `
    import { Nvml } from ${JSON.stringify(index)};
    const n = await Nvml.open();
    const r = await n.sweep();
    console.log(JSON.stringify({ path: n.libraryPath, gpus: r.devices.length, uuids: r.devices.map((d) => d.uuid) }));
    await n.close();
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: packageRoot(),
    encoding: 'utf8',
    env: { ...process.env, LD_LIBRARY_PATH: libDir, NVML_SIM_SCENARIO: scenario, NVML_EXPORTER_NVML_LIBRARY: undefined },
    timeout: 60_000,
  });
  t.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { path?: string; gpus?: number; uuids?: string[] };
  t.equal(out.path, join(libDir, 'libnvidia-ml.so.1'), 'opened libnvidia-ml.so.1 from the LD_LIBRARY_PATH directory');
  t.equal(out.gpus, 3, 'the GPU count of the scenario');
  t.same(out.uuids, s.gpus.map((g) => g.uuid));
});

t.test('a file that is not a shared library is reported as not found too', async (t) => {
  const bogus = file; // the scenario text file
  const e = await Nvml.open({ library: bogus }).catch((x: unknown) => x);
  t.type(e, NvmlLibraryNotFoundError);
  t.match((e as Error).message, bogus);
});

t.test('nvmlInit failing becomes an NvmlError with the code and a hint', async (t) => {
  writeScenario(file, { ...demoScenario(1), errors: { nvmlInit_v2: 9 } });
  t.teardown(() => writeScenario(file, demoScenario(2)));
  const e = (await Nvml.open({ library: simulatedLibraryPath() }).catch((x: unknown) => x)) as NvmlError;
  t.type(e, NvmlError);
  t.notOk(e instanceof NvmlLibraryNotFoundError);
  t.equal(e.code, 9);
  t.equal(e.nvmlName, 'NVML_ERROR_DRIVER_NOT_LOADED');
  t.match(e.message, /nvmlInit failed: NVML_ERROR_DRIVER_NOT_LOADED \(9\)/);
  t.match(e.message, 'kernel module is not loaded');

  writeScenario(file, { ...demoScenario(1), errors: { nvmlInit_v2: 18 } });
  const m = (await Nvml.open({ library: simulatedLibraryPath() }).catch((x: unknown) => x)) as NvmlError;
  t.equal(m.code, 18);
  t.match(m.message, 'reboot the node');
});

t.test('bad options are rejected with the option named', async (t) => {
  await t.rejects(Nvml.open({ library: simulatedLibraryPath(), sweepDeadlineMs: 0 }), /sweepDeadlineMs must be a positive number/);
  await t.rejects(Nvml.open({ library: '' }), /library must be a non-empty path/);
});

t.test('close is idempotent, a sweep after close rejects clearly, re-open works', async (t) => {
  const a = await Nvml.open({ library: simulatedLibraryPath() });
  t.equal((await a.sweep()).devices.length, 2);
  await a.close();
  await a.close();
  t.equal(a.closed, true);
  const e = (await a.sweep().catch((x: unknown) => x)) as NvmlError;
  t.type(e, NvmlError);
  t.equal(e.code, 1);
  t.match(e.message, /closed; open a new one with Nvml.open\(\)/);
  t.throws(() => a.onXid(() => {}), /closed/);

  const b = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => b.close());
  const r = await b.sweep();
  t.equal(r.devices.length, 2, 're-opened instance sweeps');
  t.ok(r.devices[0]!.readings.gpuUtil !== undefined);
});

t.test('several instances in one process, each with its own init/shutdown', async (t) => {
  const a = await Nvml.open({ library: simulatedLibraryPath() });
  const b = await Nvml.open({ library: simulatedLibraryPath() });
  const [ra, rb] = await Promise.all([a.sweep(), b.sweep()]);
  t.equal(ra.devices[1]!.uuid, rb.devices[1]!.uuid);
  await a.close();
  const again = await b.sweep();
  t.equal(again.devices.length, 2, 'closing one leaves the other working');
  await b.close();
});

t.test('concurrent sweep() calls share the one sweep in flight', async (t) => {
  const n = await Nvml.open({ library: simulatedLibraryPath() });
  t.teardown(() => n.close());
  const p1 = n.sweep();
  const p2 = n.sweep();
  t.equal(p1, p2, 'the same promise');
  const [r1, r2] = await Promise.all([p1, p2]);
  t.equal(r1, r2);
  const r3 = await n.sweep();
  t.not(r3, r1, 'a later call runs a new sweep');
});
