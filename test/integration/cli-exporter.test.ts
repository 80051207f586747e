// The `nvml-exporter` command as users run it: exit codes and messages for bad input, a port in
// use, a missing library; --once; SIGHUP reloads; SIGTERM shutdown.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, startExporter, parseExposition } from '../helpers/exporter.js';
import { simulatedLibraryPath, writeScenario } from '../../lib/nvml/simulation.js';

const dir = mkdtempSync(join(tmpdir(), 'nvx-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const scenarioPath = join(dir, 'scenario.txt');
writeScenario(scenarioPath, { gpus: [{ values: { gpuUtil: 37 } }, { values: { gpuUtil: 63 } }] });

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [cliPath, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NVML_SIM_SCENARIO: scenarioPath, ...env },
    timeout: 20000,
  });
}

t.test('--once prints one exposition and exits 0', async (t) => {
  const r = run(['--nvml-library', simulatedLibraryPath(), '--once']);
  t.equal(r.status, 0, r.stderr);
  const util = parseExposition(r.stdout).filter((s) => s.name === 'DCGM_FI_DEV_GPU_UTIL');
  t.same(util.map((s) => [s.labels.gpu, s.value]), [['0', 37], ['1', 63]]);
});

t.test('bad flags and values exit 2 naming the flag, the value and what was expected', async (t) => {
  const unknown = run(['--no-such-flag']);
  t.equal(unknown.status, 2);
  t.match(unknown.stderr, /--no-such-flag/);
  const bad = run(['-c', 'abc']);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /collect-interval/);
  t.match(bad.stderr, /abc/);
  const env = run([], { DCGM_EXPORTER_INTERVAL: '-5' });
  t.equal(env.status, 2);
  t.match(env.stderr, /DCGM_EXPORTER_INTERVAL/);
});

t.test('a bad counters file exits 2 naming file, line and field', async (t) => {
  const csv = join(dir, 'bad.csv');
  writeFileSync(csv, '# ok\nDCGM_FI_DEV_GPU_UTIL, gauge, GPU utilization (in %).\nDCGM_FI_DEV_NOPE, gauge, nope\n');
  const r = run(['--nvml-library', simulatedLibraryPath(), '--once', '-f', csv]);
  t.equal(r.status, 2);
  t.match(r.stderr, new RegExp(`${csv.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} line 3`));
  t.match(r.stderr, /DCGM_FI_DEV_NOPE/);
});

t.test('a missing NVML library exits 1 naming the library and the fixes', async (t) => {
  const r = run(['--nvml-library', join(dir, 'libnvidia-ml.so.1'), '--once']);
  t.equal(r.status, 1);
  t.match(r.stderr, /libnvidia-ml\.so\.1/);
  t.match(r.stderr, /NVIDIA_DRIVER_CAPABILITIES/);
});

t.test('an accepted dcgm-exporter flag without meaning here warns once and still runs', async (t) => {
  const r = run(['--nvml-library', simulatedLibraryPath(), '--once', '-r', 'localhost:5555']);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stderr.split('\n').filter((l) => /remote-hostengine-info/.test(l)).length, 1);
});

t.test('a port in use exits 1 naming the address', async (t) => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as { port: number }).port;
  const r = run(['--nvml-library', simulatedLibraryPath(), '-a', `127.0.0.1:${port}`]);
  blocker.close();
  t.equal(r.status, 1);
  t.match(r.stderr, new RegExp(`127\\.0\\.0\\.1:${port}.*already in use`));
});

t.test('SIGHUP re-reads the counters file; a bad file keeps the old selection and is counted', async (t) => {
  const csv = join(dir, 'reload.csv');
  writeFileSync(csv, 'DCGM_FI_DEV_GPU_UTIL, gauge, GPU utilization (in %).\n');
  const exp = await startExporter({ scenario: { gpus: [{ values: { gpuUtil: 11, gpuTemp: 55 } }] }, args: ['-f', csv, '-c', '200'] });
  t.teardown(() => exp.stop());
  const names = async () => new Set(parseExposition(await (await fetch(exp.url + '/metrics')).text()).map((s) => s.name));
  t.ok((await names()).has('DCGM_FI_DEV_GPU_UTIL'));
  t.notOk((await names()).has('DCGM_FI_DEV_GPU_TEMP'));
  writeFileSync(csv, 'DCGM_FI_DEV_GPU_UTIL, gauge, GPU utilization (in %).\nDCGM_FI_DEV_GPU_TEMP, gauge, GPU temperature (in C).\n');
  exp.proc.kill('SIGHUP');
  for (let i = 0; i < 50 && !(await names()).has('DCGM_FI_DEV_GPU_TEMP'); i++) await new Promise((r) => setTimeout(r, 100));
  t.ok((await names()).has('DCGM_FI_DEV_GPU_TEMP'), 'the new row is served after SIGHUP');
  writeFileSync(csv, 'this is, not a counters file\n');
  exp.proc.kill('SIGHUP');
  let failures = 0;
  for (let i = 0; i < 50 && failures === 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const page = parseExposition(await (await fetch(exp.url + '/metrics')).text());
    failures = page.find((s) => s.name === 'nvml_exporter_config_reload_failures_total')?.value ?? 0;
  }
  t.equal(failures, 1, 'the failed reload is counted');
  t.ok((await names()).has('DCGM_FI_DEV_GPU_TEMP'), 'the old selection stays');
  t.match(exp.stderr(), /reload failed/);
  const res = await exp.stop();
  t.equal(res.code, 0, 'SIGTERM exits 0');
});

t.test('a value that changes in NVML is visible within one interval (+ margin)', async (t) => {
  const exp = await startExporter({ scenario: { gpus: [{ values: { gpuUtil: 10 } }] }, args: ['-c', '200'] });
  t.teardown(() => exp.stop());
  exp.setScenario({ gpus: [{ values: { gpuUtil: 77 } }] });
  let seen = 0;
  for (let i = 0; i < 40 && seen !== 77; i++) {
    await new Promise((r) => setTimeout(r, 50));
    seen = parseExposition(await (await fetch(exp.url + '/metrics')).text()).find((s) => s.name === 'DCGM_FI_DEV_GPU_UTIL')?.value ?? 0;
  }
  t.equal(seen, 77);
  const ready = await fetch(exp.url + '/ready');
  t.equal(ready.status, 200);
  const doc = (await (await fetch(exp.url + '/api/v1/gpus')).json()) as { gpus: { readings: Record<string, number> }[] };
  t.equal(doc.gpus[0]?.readings.DCGM_FI_DEV_GPU_UTIL, 77, '/api/v1/gpus shows the same value');
});

t.test('self-metrics time the sweep and the render of each new page; the page between sweeps is the same', async (t) => {
  const exp = await startExporter({ scenario: { gpus: [{ values: { gpuUtil: 10 } }, { values: { gpuUtil: 20 } }] }, args: ['-c', '60000'] });
  t.teardown(() => exp.stop());
  const a = await (await fetch(exp.url + '/metrics')).text();
  const b = await (await fetch(exp.url + '/metrics')).text();
  t.equal(b, a, 'no sweep in between: the same bytes');
  const self = (name: string) => parseExposition(a).find((s) => s.name === name)?.value;
  const render = self('nvml_exporter_render_duration_seconds');
  t.ok(render !== undefined && render > 0 && render < 1, `render duration in seconds: ${render}`);
  const sweep = self('nvml_exporter_sweep_duration_seconds');
  t.ok(sweep !== undefined && sweep > 0 && sweep < 1, `sweep duration in seconds: ${sweep}`);
  t.equal(self('nvml_exporter_sweeps_total'), 1, 'one sweep so far (interval 60 s)');
});
