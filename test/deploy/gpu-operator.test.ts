// The exporter as NVIDIA's GPU Operator runs it (deploy/gpu-operator.md): the real CLI with
// exactly the env and args the operator's DaemonSet gives dcgm-exporter (gpu-operator
// assets/state-dcgm-exporter/0800_daemonset.yaml and TransformDCGMExporter), on simulated GPUs.
// Added here only: --nvml-library (the simulated NVML) and -a on a free port (the operator's
// DCGM_EXPORTER_LISTEN=:9400 stays in the env; a flag wins over it). The counters path is mapped
// to this repository's etc/ where /etc/dcgm-exporter/ does not exist (outside the image).
import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCounters } from '../../lib/fields/counters.js';
import { parseExposition, startExporter, type RunningExporter } from '../helpers/exporter.js';
import { ROOT } from './helpers/files.js';

const NODE = 'gpu-node-7';
const SCENARIO = { gpus: [{ values: { gpuUtil: 37 } }, { values: { gpuUtil: 63 } }] };
const IMAGE_DIR = '/etc/dcgm-exporter';
const inImage = (file: string) => (existsSync(IMAGE_DIR) ? `${IMAGE_DIR}/${file}` : join(ROOT, 'etc', file));

/** The env of the operator's exporter container (what 0800_daemonset.yaml sets, NODE_NAME from spec.nodeName). */
function operatorEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    DCGM_EXPORTER_LISTEN: ':9400',
    DCGM_EXPORTER_KUBERNETES: 'true',
    DCGM_EXPORTER_COLLECTORS: inImage('dcp-metrics-included.csv'),
    NODE_NAME: NODE,
    ...extra,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'nvx-gpu-operator-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function get(url: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.text() };
}

/** DCGM families on the page (self-metrics aside). */
function families(page: string): string[] {
  return [...new Set(parseExposition(page).map((s) => s.name).filter((n) => n.startsWith('DCGM_')))].sort();
}

/** The families a counters file selects that NVML serves (its active numeric rows, less the skipped ones). */
function expectedFamilies(csvPath: string): string[] {
  return parseCounters(readFileSync(csvPath, 'utf8'), csvPath).fields.map((f) => f.name).sort();
}

async function checkServing(t: Test, ex: RunningExporter, csvPath: string) {
  t.equal(ex.proc.exitCode, null, 'still running after /health answered');
  const health = await get(`${ex.url}/health`);
  t.equal(health.status, 200, '/health 200');
  // the profiling (GPM) families need two sweeps ≥ 100 ms apart: the first page has none of them
  const want = expectedFamilies(csvPath);
  let page = await get(`${ex.url}/metrics`);
  const until = Date.now() + 15000;
  while (page.status === 200 && families(page.body).length < want.length && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    page = await get(`${ex.url}/metrics`);
  }
  t.equal(page.status, 200);
  t.same(families(page.body), want, "the counters file's fields NVML serves, all of them (the profiling ones from GPM on the simulated H100s)");
  const util = parseExposition(page.body).filter((s) => s.name === 'DCGM_FI_DEV_GPU_UTIL');
  t.same(util.map((s) => [s.labels.gpu, s.value]), [['0', 37], ['1', 63]]);
  const hosts = util.map((s) => s.labels.hostname ?? s.labels.Hostname);
  t.same(hosts, [NODE, NODE], 'the host label is NODE_NAME');
  t.ok(util.every((s) => s.labels.hostname === NODE && s.labels.Hostname === undefined),
    'the label is spelled hostname, as the dcgm-exporter the GPU Operator ships (4.8.3+) writes it');
  return page.body;
}


t.test('the operator default: DCGM_EXPORTER_COLLECTORS=/etc/dcgm-exporter/dcp-metrics-included.csv, -k, NODE_NAME, :9400', async (t) => {
  const csv = inImage('dcp-metrics-included.csv');
  t.ok(existsSync(csv), `${csv} exists (the image copies etc/dcp-metrics-included.csv there)`);
  const ex = await startExporter({ scenario: SCENARIO, env: operatorEnv() });
  try {
    await checkServing(t, ex, csv);
    const log = ex.stderr();
    // one line per dcp row NVML cannot give (none today), naming file and line; nothing fails
    const skipped = parseCounters(readFileSync(csv, 'utf8'), csv).skipped;
    t.same(skipped.map((s) => s.name), [], 'no dcp row is skipped: its profiling rows are served from GPM on Hopper');
    t.ok(expectedFamilies(csv).includes('DCGM_FI_PROF_GR_ENGINE_ACTIVE'), 'DCGM_FI_PROF_GR_ENGINE_ACTIVE among them');
    for (const s of skipped) {
      const lines = log.split('\n').filter((l) => l.includes(`line ${s.line}: skipping \\"${s.name}\\"`));
      t.equal(lines.length, 1, `one log line skips ${s.name} (line ${s.line})`);
    }
    t.match(log, /msg="first sweep" gpus=2/);
    t.notMatch(log, /level=error/, 'no error logged');
    t.notMatch(log, /DCGM_REMOTE_HOSTENGINE_INFO/, 'no host-engine warning without the standalone DCGM');
  } finally {
    const { code, signal } = await ex.stop();
    t.same([code, signal], [0, null], 'SIGTERM: exit 0');
  }
});

t.test('with the standalone DCGM pod: DCGM_REMOTE_HOSTENGINE_INFO=nvidia-dcgm:5555 is accepted and ignored', async (t) => {
  const ex = await startExporter({ scenario: SCENARIO, env: operatorEnv({ DCGM_REMOTE_HOSTENGINE_INFO: 'nvidia-dcgm:5555' }) });
  try {
    await checkServing(t, ex, inImage('dcp-metrics-included.csv'));
    const warnings = ex.stderr().split('\n').filter((l) => l.includes('DCGM_REMOTE_HOSTENGINE_INFO'));
    t.equal(warnings.length, 1, 'one line');
    t.match(warnings[0], /level=warn/);
    t.match(warnings[0], /ignored: this exporter reads NVML directly/);
  } finally {
    t.equal((await ex.stop()).code, 0);
  }
});

t.test('dcgmExporter.config.name: the user ConfigMap at /etc/dcgm-exporter/dcgm-metrics.csv', async (t) => {
  // the operator mounts the ConfigMap's dcgm-metrics.csv key there and points DCGM_EXPORTER_COLLECTORS at it
  const csv = join(dir, 'dcgm-metrics.csv');
  writeFileSync(csv, [
    '# a user ConfigMap, key dcgm-metrics.csv',
    'DCGM_FI_DEV_GPU_UTIL, gauge, GPU utilization (in %).',
    'DCGM_FI_DEV_FB_USED, gauge, Framebuffer memory used (in MiB).',
    'DCGM_FI_DEV_POWER_USAGE, gauge, Power draw (in W).',
    'DCGM_FI_PROF_GR_ENGINE_ACTIVE, gauge, Ratio of time the graphics engine is active.',
    '',
  ].join('\n'));
  const ex = await startExporter({ scenario: SCENARIO, env: operatorEnv({ DCGM_EXPORTER_COLLECTORS: csv }) });
  try {
    await checkServing(t, ex, csv);
    t.same(expectedFamilies(csv), ['DCGM_FI_DEV_FB_USED', 'DCGM_FI_DEV_GPU_UTIL', 'DCGM_FI_DEV_POWER_USAGE', 'DCGM_FI_PROF_GR_ENGINE_ACTIVE']);
  } finally {
    t.equal((await ex.stop()).code, 0);
  }
});

t.test('dcgmExporter.args: arguments replace the (empty) default and are passed as given', async (t) => {
  const ex = await startExporter({ scenario: SCENARIO, env: operatorEnv(), args: ['--collect-interval=5000'] });
  try {
    await checkServing(t, ex, inImage('dcp-metrics-included.csv'));
  } finally {
    t.equal((await ex.stop()).code, 0);
  }
});
