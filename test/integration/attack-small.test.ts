// Issue 14 item 9, the small breaks, each reproduced against the real `nvml-exporter` command:
// a device index that looped forever, counters paths that are a FIFO or /dev/zero, a huge HELP
// text, an empty counters file (at start and on SIGHUP), a thread that cannot be created, a
// kubelet that hangs at start (the listener must not wait), SIGTERM while nvmlInit hangs, and the
// temporary folder of a killed --simulate run.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, repoRoot, scrape, startExporter, waitUntil } from '../helpers/exporter.js';
import { freePort } from '../helpers/ports.js';
import { simulatedLibraryPath, writeScenario } from '../../lib/nvml/simulation.js';
import { startSimKubelet } from '../../lib/kubernetes/sim-kubelet.js';
import { socketDir } from '../fixtures/kubelet/node.js';

const dir = mkdtempSync(join(tmpdir(), 'nvx-small-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const scenarioPath = join(dir, 'scenario.txt');
writeScenario(scenarioPath, { gpus: [{ values: { gpuUtil: 37 } }, { values: { gpuUtil: 63 } }] });

function run(args: string[], env: NodeJS.ProcessEnv = {}, timeout = 20000) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [cliPath, '--nvml-library', simulatedLibraryPath(), ...args], {
    encoding: 'utf8',
    env: { ...process.env, NVML_SIM_SCENARIO: scenarioPath, ...env },
    timeout,
  });
  return { ...r, ms: Date.now() - t0 };
}

t.test('-d g:9007199254740992 exits 2 at once naming the index and the range', async (t) => {
  for (const v of ['g:9007199254740992', 'g:0-9007199254740992', 'i:64', 'g:1' + '0'.repeat(400)]) {
    const r = run(['--once', '-d', v], {}, 10000);
    t.equal(r.status, 2, `${v}: exit 2 (${r.stderr.trim()})`);
    t.match(r.stderr, /--devices: ".*" is not a device selection .*index \d+ is out of range \(indices are 0-63\)/);
    t.ok(r.ms < 5000, `${v}: answered in ${r.ms} ms`);
  }
  const ok = run(['--once', '-d', 'g:0-63']);
  t.equal(ok.status, 0, 'g:0-63 is fine');
});

t.test('a counters path that is a FIFO or /dev/zero is refused at once (exit 2), a directory too', async (t) => {
  const fifo = join(dir, 'counters.fifo');
  execFileSync('mkfifo', [fifo]);
  for (const [path, what] of [[fifo, 'a FIFO'], ['/dev/zero', 'a device']] as const) {
    const r = run(['--once', '-f', path], {}, 15000);
    t.equal(r.status, 2, `${path}: exit 2 (${r.stderr.trim()})`);
    t.match(r.stderr, `counters file ${path}: it is ${what}, not a regular file`);
    t.ok(r.ms < 5000, `${path}: refused in ${r.ms} ms, nothing read`);
  }
  const d = run(['--once', '-f', dir]);
  t.equal(d.status, 2);
  t.match(d.stderr, 'cannot read it (it is a directory)');
});

t.test('a huge HELP text or a huge file is a startup error naming the line or the size', async (t) => {
  const huge = join(dir, 'huge-help.csv');
  writeFileSync(huge, `DCGM_FI_DEV_GPU_TEMP, gauge, temperature\nDCGM_FI_DEV_GPU_UTIL, gauge, ${'x'.repeat(20 * 1024 * 1024)}\n`);
  const r = run(['--once', '-f', huge]);
  t.equal(r.status, 2, r.stderr);
  t.match(r.stderr, /counters file .*huge-help\.csv: it is 209715\d\d bytes, more than the 1048576 accepted/);
  const long = join(dir, 'long-line.csv');
  writeFileSync(long, `DCGM_FI_DEV_GPU_UTIL, gauge, ${'x'.repeat(5000)}\n`);
  const l = run(['--once', '-f', long]);
  t.equal(l.status, 2, l.stderr);
  t.match(l.stderr, /long-line\.csv line 1: the line is 5029 characters long, more than the 4096 accepted/);
});

t.test('an empty counters file is a startup error; on SIGHUP the previous selection is kept and the log says why', async (t) => {
  const empty = join(dir, 'empty.csv');
  writeFileSync(empty, '# nothing selected\n\n');
  const r = run(['--once', '-f', empty]);
  t.equal(r.status, 2, r.stderr);
  t.match(r.stderr, /counters file .*empty\.csv: it selects no numeric field \(it is empty or only comments\)/);

  const csv = join(dir, 'reload.csv');
  writeFileSync(csv, 'DCGM_FI_DEV_GPU_UTIL, gauge, util\n');
  const exp = await startExporter({ scenario: { gpus: [{ values: { gpuUtil: 5 } }] }, args: ['-f', csv, '-c', '100'] });
  t.teardown(() => exp.stop());
  writeFileSync(csv, '');
  exp.proc.kill('SIGHUP');
  await waitUntil(() => /counters reload failed: keeping the previous selection/.test(exp.stderr()), 'the reload failure');
  t.match(exp.stderr(), /it selects no numeric field/);
  const page = await scrape(exp.url);
  t.ok(page.samples.some((s) => s.name === 'DCGM_FI_DEV_GPU_UTIL'), 'the GPU family is still served');
});

t.test('a thread that cannot be created: no XID events, a logged error, metrics served; no sweep thread: exit 1 with the reason', async (t) => {
  const so = join(dir, 'fail-threads.so');
  const cc = spawnSync('gcc', ['-shared', '-fPIC', '-O1', '-o', so, join(repoRoot, 'test/fixtures/native/fail-threads.c'), '-ldl'], { encoding: 'utf8' });
  if (cc.status !== 0) {
    t.comment(`SKIP: gcc cannot build the pthread_create shim here: ${cc.stderr || cc.error?.message}`);
    return;
  }
  // the first std::thread (the sweep thread) is let through, the second (XID events) fails
  const exp = await startExporter({
    scenario: { gpus: [{ values: { gpuUtil: 41 } }] },
    args: ['-c', '100'],
    env: { LD_PRELOAD: so, NVX_FAIL_THREADS_AFTER: '1' },
  });
  t.teardown(() => exp.stop());
  const page = await scrape(exp.url);
  t.equal(page.status, 200);
  t.ok(page.samples.some((s) => s.name === 'DCGM_FI_DEV_GPU_UTIL' && s.value === 41), 'sweeps go on');
  t.match(exp.stderr(), /level=error msg="XID events are off: running without them" error="cannot create the XID event thread: Resource temporarily unavailable"/);
  t.equal(exp.proc.exitCode, null, 'still running');

  const r = run(['--once'], { LD_PRELOAD: so, NVX_FAIL_THREADS_AFTER: '0' });
  t.equal(r.status, 1, 'no sweep thread: exit 1, not an abort');
  t.equal(r.signal, null);
  t.match(r.stderr, /cannot create the sweep thread: Resource temporarily unavailable/);
});

t.test('a kubelet that hangs at start does not delay the HTTP listener', async (t) => {
  const { socket, cleanup } = socketDir();
  const sim = await startSimKubelet(socket, { pods: [], list: { delayMs: Infinity }, getAllocatableResources: { delayMs: Infinity } });
  t.teardown(async () => {
    await sim.stop();
    cleanup();
  });
  const t0 = Date.now();
  const exp = await startExporter({ scenario: { gpus: [{ values: { gpuUtil: 3 } }] }, args: ['-k', '--pod-resources-kubelet-socket', socket] });
  t.teardown(() => exp.stop());
  const took = Date.now() - t0;
  t.ok(took < 5000, `/health answered ${took} ms after the start, well before the kubelet's 10 s deadline`);
  const page = await scrape(exp.url);
  t.equal(page.status, 200);
  t.ok(page.samples.some((s) => s.name === 'DCGM_FI_DEV_GPU_UTIL'), 'GPU series without pod labels meanwhile');
});

t.test('SIGTERM while nvmlInit hangs ends the process within the grace period', async (t) => {
  const hung = join(dir, 'hung-init.txt');
  writeScenario(hung, { gpus: [{ values: { gpuUtil: 5 } }], delays: { nvmlInit_v2: 60000 } });
  const port = await freePort();
  const proc = spawn(process.execPath, [cliPath, '--nvml-library', simulatedLibraryPath(), '-a', `127.0.0.1:${port}`], {
    env: { ...process.env, NVML_SIM_SCENARIO: hung },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  await waitUntil(() => /opening NVML/.test(err), 'the start to reach nvmlInit');
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  proc.kill('SIGTERM');
  const kill = setTimeout(() => proc.kill('SIGKILL'), 20000);
  const res = await exited;
  clearTimeout(kill);
  const took = Date.now() - t0;
  // process.exit would wait for the pool thread stuck in nvmlInit; the SIGTERM's default action does not
  t.same(res, { code: null, signal: 'SIGTERM' }, err);
  t.ok(took < 12000, `exited ${took} ms after SIGTERM (grace 10 s), not when nvmlInit returned (60 s)`);
  t.match(err, /the start did not finish within 10 s of the stop request/);
});

t.test("a killed --simulate run's temporary folder is removed by the next start", async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'nvx-stale-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  // a process that is gone: its pid names the folder it left
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const stale = join(tmp, `nvml-exporter-sim-${dead.stdout}-abc123`);
  mkdirSync(stale);
  writeFileSync(join(stale, 'scenario.txt'), 'gpus 1\n');
  const other = join(tmp, `nvml-exporter-sim-${process.pid}-live`); // a live process's folder stays
  mkdirSync(other);
  const r = spawnSync(process.execPath, [cliPath, '--simulate', '1', '--once'], { encoding: 'utf8', env: { ...process.env, TMPDIR: tmp }, timeout: 20000 });
  t.equal(r.status, 0, r.stderr);
  t.notOk(existsSync(stale), 'the stale folder is gone');
  t.ok(existsSync(other), "a running process's folder is kept");
  t.match(r.stderr, /simulation: removed the folders of earlier runs that were killed.*folders=1/);
  t.same(readdirSync(tmp), [`nvml-exporter-sim-${process.pid}-live`], 'and its own folder is removed at exit');
});
