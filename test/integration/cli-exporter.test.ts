// The `nvml-exporter` command as users run it: exit codes and messages for bad input, a port in
// use, a missing library; --once; SIGHUP reloads; SIGTERM shutdown.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, repoRoot, startExporter, parseExposition } from '../helpers/exporter.js';
import { freePort } from '../helpers/ports.js';
import { promtoolAvailable } from '../helpers/prometheus.js';
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

t.test('a value that changes in NVML is served from the first sweep after the change', async (t) => {
  const interval = 200;
  const exp = await startExporter({ scenario: { gpus: [{ values: { gpuUtil: 10 } }] }, args: ['-c', String(interval)] });
  t.teardown(() => exp.stop());
  type Doc = { timestamp: string; gpus: { readings: Record<string, number> }[] };
  const doc = async () => (await (await fetch(exp.url + '/api/v1/gpus')).json()) as Doc;
  // Poll the snapshot and keep one record per sweep (the sweep's own timestamp).
  const sweeps = new Map<number, number>();
  const record = async () => {
    const d = await doc();
    sweeps.set(Date.parse(d.timestamp), d.gpus[0]?.readings.DCGM_FI_DEV_GPU_UTIL ?? NaN);
  };
  for (let i = 0; i < 10; i++) {
    await record();
    await new Promise((r) => setTimeout(r, 25));
  }
  t.ok([...sweeps.values()].every((v) => v === 10), 'before: 10');
  const changedAt = Date.now();
  exp.setScenario({ gpus: [{ values: { gpuUtil: 77 } }] });
  let seenAt = 0;
  for (let i = 0; i < 300 && !seenAt; i++) {
    await new Promise((r) => setTimeout(r, 10));
    await record();
    const page = parseExposition(await (await fetch(exp.url + '/metrics')).text());
    if (page.find((s) => s.name === 'DCGM_FI_DEV_GPU_UTIL')?.value === 77) seenAt = Date.now();
  }
  t.ok(seenAt > 0, '/metrics shows the new value');
  // keep watching until a sweep that surely started after the change has landed
  for (let i = 0; i < 100 && ![...sweeps.keys()].some((ts) => ts >= changedAt + 30); i++) {
    await new Promise((r) => setTimeout(r, 20));
    await record();
  }
  // The simulated library notices a rewritten scenario within ~10 ms; every sweep that started
  // after that must carry the new value: the only wait is for the next sweep.
  const after = [...sweeps].filter(([ts]) => ts >= changedAt + 30);
  t.ok(after.length > 0, 'sweeps after the change were seen');
  t.same(after.filter(([, v]) => v !== 77), [], 'no sweep after the change serves the old value');
  const firstNew = Math.min(...[...sweeps].filter(([, v]) => v === 77).map(([ts]) => ts));
  t.ok(firstNew - changedAt <= interval + 50 + 250, `first sweep with the new value ${firstNew - changedAt} ms after the change (interval ${interval} ms; the 250 ms allow for a loaded CI machine)`);
  t.ok(seenAt - changedAt <= interval + 50 + 250, `/metrics served it ${seenAt - changedAt} ms after the change`);
  const ready = await fetch(exp.url + '/ready');
  t.equal(ready.status, 200);
  t.equal((await doc()).gpus[0]?.readings.DCGM_FI_DEV_GPU_UTIL, 77, '/api/v1/gpus shows the same value');
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

t.test('--help and --version print to stdout and exit 0', async (t) => {
  const help = run(['--help']);
  t.equal(help.status, 0, help.stderr);
  for (const flag of ['--address', '--collect-interval', '--collectors', '--kubernetes', '--kubernetes-gpu-id-type', '--pod-resources-kubelet-socket', '--devices', '--nvml-library', '--simulate', '--once']) {
    t.match(help.stdout, flag, `help names ${flag}`);
  }
  t.equal(help.stderr, '');
  const version = run(['--version']);
  t.equal(version.status, 0);
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  t.match(version.stdout, pkg.version, 'the package version');
});

t.test('a bad counters file exits 2 even where NVML cannot be opened (the file is read first)', async (t) => {
  const csv = join(dir, 'bad-first.csv');
  writeFileSync(csv, 'DCGM_FI_DEV_NOPE, gauge, nope\n');
  const r = run(['--nvml-library', join(dir, 'no-such-libnvidia-ml.so.1'), '--once', '-f', csv]);
  t.equal(r.status, 2, r.stderr);
  t.match(r.stderr, /line 1/);
  t.notMatch(r.stderr, /NVML opened/);
});

t.test('a failed start removes what it made: the simulation directory of --simulate', async (t) => {
  const csv = join(dir, 'bad-sim.csv');
  writeFileSync(csv, 'DCGM_FI_DEV_NOPE, gauge, nope\n');
  const tmp = mkdtempSync(join(tmpdir(), 'nvx-tmp-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const r = run(['--simulate', '2', '--once', '-f', csv], { TMPDIR: tmp });
  t.equal(r.status, 2, r.stderr);
  t.same(readdirSync(tmp), [], 'nothing left in TMPDIR');
});

t.test('SIGTERM while the exporter starts exits 0 once the start is done; SIGHUP then does not kill it', async (t) => {
  // nvmlInit takes 1.5 s in this scenario: the signals arrive in the middle of the start.
  const slow = join(dir, 'slow-init.txt');
  writeScenario(slow, { gpus: [{ values: { gpuUtil: 5 } }], delays: { nvmlInit_v2: 1500 } });
  const port = await freePort();
  const proc = spawn(process.execPath, [cliPath, '--nvml-library', simulatedLibraryPath(), '-a', `127.0.0.1:${port}`], {
    env: { ...process.env, NVML_SIM_SCENARIO: slow },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  for (let i = 0; i < 600 && !/opening NVML/.test(err); i++) await new Promise((r) => setTimeout(r, 25));
  t.match(err, /opening NVML/, 'the start has begun');
  proc.kill('SIGHUP');
  await new Promise((r) => setTimeout(r, 100));
  proc.kill('SIGTERM');
  const res = await exited;
  t.same(res, { code: 0, signal: null }, err);
  t.match(err, /SIGHUP while starting/);
  t.match(err, /stop requested while starting/);
});

t.test('scrapes are not logged', async (t) => {
  const exp = await startExporter({ scenario: { gpus: [{ values: { gpuUtil: 10 } }] }, args: ['-c', '60000', '--debug'] });
  t.teardown(() => exp.stop());
  await fetch(exp.url + '/metrics');
  const before = exp.stderr();
  for (let i = 0; i < 20; i++) await (await fetch(exp.url + '/metrics')).text();
  await new Promise((r) => setTimeout(r, 100));
  t.equal(exp.stderr(), before, 'nothing on stderr for 20 scrapes, even with --debug');
});

t.test('the whole /metrics page (GPU families and self-metrics, -k included) passes promtool check metrics', async (t) => {
  if (!promtoolAvailable(t, 'the full-page lint')) return;
  const exp = await startExporter({
    scenario: { gpus: [{ values: { gpuUtil: 10 } }, { values: { gpuUtil: 20 } }] },
    args: ['-k', '--pod-resources-kubelet-socket', join(dir, 'no-kubelet.sock'), '-c', '200'],
  });
  t.teardown(() => exp.stop());
  await new Promise((r) => setTimeout(r, 500)); // a few sweeps: counters and histograms have values
  const page = await (await fetch(exp.url + '/metrics')).text();
  t.match(page, /^nvml_exporter_podresources_up 0$/m, 'the page has the pod-resources self-metrics');
  t.match(page, /^nvml_exporter_build_info\{/m);
  const r = spawnSync('promtool', ['check', 'metrics'], { input: page, encoding: 'utf8' });
  const complaints = (r.stdout + r.stderr).split('\n').filter((l) => l.trim() && !/^Checking|SUCCESS/.test(l));
  // dcgm-exporter's names: counters without _total, camelCase labels (modelName, UUID, …), and
  // DCGM_FI_DEV_PCIE_REPLAY_COUNTER, whose name contains its type.
  const inherent = /^DCGM_FI_\w+ (counter metrics should have "_total" suffix|label names should be written in 'snake_case' not 'camelCase')|^DCGM_FI_DEV_PCIE_REPLAY_COUNTER metric name should not include type 'counter'/;
  t.ok(complaints.length > 0, 'promtool ran and reported the inherent complaints');
  t.same(complaints.filter((c) => !inherent.test(c)), [], 'no complaint but the dcgm-exporter-inherent ones (nvml_exporter_* are clean)');
  t.notMatch(r.stdout + r.stderr, /error while linting|parse error|text format parsing error/, 'the page parses');
});
