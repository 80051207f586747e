// `npm run test:gpu`: on a machine with an NVIDIA GPU, what we serve against what nvidia-smi says,
// and what a sweep costs under the real driver. One command, a report in well under 5 minutes:
//   1. skip (exit 0, one line saying why) where there is no nvidia-smi or it lists no GPU;
//   2. build the addon and the CLI if they are missing (`npm run build`);
//   3. the page of `nvml-exporter --once` (the default counters) and one sweep through the addon,
//      between two `nvidia-smi --query-gpu` reads (every property this nvidia-smi knows of the
//      ones below) and `nvidia-smi -q` for what the query cannot give;
//   4. every default field, the identity and the readings of issue 11 compared: identity exactly
//      (exit 1 on a difference), settings exactly, live values within the two reads plus a slack;
//   5. sweeps timed: the addon end to end and on its thread, and the plain C loop over the same
//      calls (bench/nvml-c-loop.c) against this driver where gcc can build it;
//   6. GPM (profiling fields, test/gpu/gpm-check.ts): support per GPU, every served ratio in [0, 1],
//      an idle GPU at GR_ENGINE_ACTIVE ≈ 0, and agreement with `nvidia-smi dmon --gpm-metrics`.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { at, noValue, num, parseQuery, parseTree, queryableProperties, runSmi } from './smi.js';
import { packageRoot } from '../../lib/package-root.js';
import { Nvml } from '../../lib/nvml/index.js';
import { parseExposition } from '../helpers/exporter.js';
import { gpmChecks } from './gpm-check.js';

const started = Date.now();
const root = packageRoot();

function skip(why: string): never {
  console.log(`test:gpu SKIPPED: ${why}`);
  process.exit(0);
}
function fail(why: string): never {
  console.error(`test:gpu FAILED: ${why}`);
  process.exit(1);
}

// ---- 1. a GPU? ----------------------------------------------------------------------------------
const list = runSmi(['-L'], 30_000);
if (list.missing) skip('nvidia-smi is not installed (no NVIDIA driver on this machine); run this on a GPU node');
if (!list.ok) skip(`nvidia-smi cannot list GPUs (${list.error.split('\n')[0]}); no usable NVIDIA GPU here`);
if (!/^GPU \d+:/m.test(list.stdout)) skip(`nvidia-smi lists no GPU (${list.stdout.trim().split('\n')[0] ?? 'empty output'})`);

// ---- 2. built? ----------------------------------------------------------------------------------
const addon = join(root, 'build', 'Release', 'nvml_addon.node');
const cli = join(root, 'dist', 'bin', 'nvml-exporter.js');
if (!existsSync(addon) || !existsSync(cli)) {
  console.log('test:gpu: building the addon and the CLI (npm run build) …');
  const b = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', timeout: 240_000 });
  if (b.status !== 0) fail(`npm run build failed (exit ${b.status ?? b.signal}); it needs gcc/g++ and make`);
}

// ---- 3. the readings ----------------------------------------------------------------------------
const WANT = [
  'index', 'uuid', 'name', 'pci.bus_id', 'serial', 'driver_version', 'vbios_version', 'inforom.img', 'inforom.oem', 'inforom.ecc',
  'inforom.pwr', 'mig.mode.current', 'memory.total', 'memory.used', 'memory.free', 'memory.reserved', 'temperature.gpu',
  'temperature.memory', 'power.draw', 'enforced.power.limit', 'power.limit', 'power.default_limit', 'power.min_limit',
  'power.max_limit', 'clocks.sm', 'clocks.mem', 'clocks.max.sm', 'clocks.max.memory', 'clocks.applications.graphics',
  'clocks.applications.memory', 'utilization.gpu', 'utilization.memory', 'utilization.encoder', 'utilization.decoder', 'fan.speed',
  'pstate', 'pcie.link.gen.current', 'pcie.link.gen.max', 'pcie.link.width.current', 'pcie.link.width.max', 'compute_mode',
  'persistence_mode', 'ecc.mode.current', 'ecc.mode.pending',
];
const known = queryableProperties(runSmi(['--help-query-gpu'], 30_000).stdout);
const cols = WANT.filter((p) => known.has(p));
function query(): Record<string, string>[] {
  const r = runSmi([`--query-gpu=${cols.join(',')}`, '--format=csv,noheader,nounits'], 60_000);
  if (!r.ok) fail(`nvidia-smi --query-gpu failed: ${r.error}`);
  return parseQuery(cols, r.stdout);
}

const before = query();
const once = spawnSync(process.execPath, [cli, '--once'], { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NVML_EXPORTER_NVML_LIBRARY: undefined } });
if (once.status !== 0) fail(`nvml-exporter --once exited ${once.status ?? once.signal}: ${(once.stderr || '').trim().split('\n').slice(-3).join(' | ')}`);
const page = parseExposition(once.stdout);

let nvml: Nvml;
try {
  nvml = await Nvml.open();
} catch (err) {
  fail(`nvidia-smi lists GPUs but NVML could not be opened: ${(err as Error).message}`);
}
const sweep = await nvml.sweep({ gpm: true });
const after = query();
const tree = parseTree(runSmi(['-q'], 120_000).stdout);
const nvlink = runSmi(['nvlink', '-s'], 60_000);

// sweeps timed under the real driver
const WARM = 3;
const TIMED = 20;
for (let i = 0; i < WARM; i++) await nvml.sweep();
const thread: number[] = [];
const e2e: number[] = [];
let energy0: { t: number; mJ: Map<string, number> } | null = null;
for (let i = 0; i < TIMED; i++) {
  const t0 = performance.now();
  const r = await nvml.sweep();
  e2e.push((performance.now() - t0) * 1000);
  thread.push(r.durationUs);
  if (i === 0) energy0 = { t: r.timestamp, mJ: new Map(r.devices.map((d) => [d.uuid, d.readings.energy ?? NaN])) };
}
await new Promise((r) => setTimeout(r, 1000)); // a second of energy for the ΔmJ/Δt check
const last = await nvml.sweep();
const pcieT0 = performance.now();
await nvml.sweep({ pcieThroughput: true });
const pcieSweepMs = performance.now() - pcieT0;
await nvml.close();

// ---- 4. the comparison --------------------------------------------------------------------------
type Kind = 'identity' | 'setting' | 'live' | 'info';
interface Row { gpu: string; what: string; ours: string; smi: string; verdict: 'MATCH' | 'DIFF' | 'n/a'; kind: Kind; note?: string }
const rows: Row[] = [];
const show = (v: unknown): string => (v === undefined || v === null || (typeof v === 'number' && Number.isNaN(v)) ? '—' : String(v));
function add(gpu: string, what: string, ours: unknown, smi: unknown, ok: boolean | null, kind: Kind, note?: string): void {
  rows.push({ gpu, what, ours: show(ours), smi: show(smi), verdict: ok === null ? 'n/a' : ok ? 'MATCH' : 'DIFF', kind, note });
}
const normBus = (id: string): string => {
  const m = /^([0-9a-f]+):([0-9a-f]{2}):([0-9a-f]{2})\.([0-9a-f])$/i.exec(id.trim());
  return m ? `${m[1]!.padStart(8, '0').slice(-8)}:${m[2]}:${m[3]}.${m[4]}`.toUpperCase() : id.trim().toUpperCase();
};
/** A live value: within what nvidia-smi read before and after, widened by `slack`. */
const live = (ours: number | undefined, a: number | null, b: number | null, slack: number): boolean | null => {
  if (a === null && b === null) return ours === undefined ? true : null;
  if (ours === undefined) return false;
  const lo = Math.min(a ?? b!, b ?? a!) - slack;
  const hi = Math.max(a ?? b!, b ?? a!) + slack;
  return ours >= lo && ours <= hi;
};
/** A setting: equal (within `tol`), or both absent. */
const same = (ours: number | undefined, smi: number | null, tol = 0): boolean | null => {
  if (smi === null) return ours === undefined ? true : null; // nvidia-smi has none; ours may know more
  return ours !== undefined && Math.abs(ours - smi) <= tol;
};
const enumOf = (cell: string | undefined, table: Record<string, number>): number | null => (noValue(cell) ? null : table[cell!.trim()] ?? null);
const ENABLED = { Enabled: 1, Disabled: 0 };
const COMPUTE = { Default: 0, Exclusive_Thread: 1, Prohibited: 2, Exclusive_Process: 3 };

const MiB = 1048576;
const host = sweep.devices;
add('*', 'GPU count', host.length, before.length, host.length === before.length, 'identity');
add('*', 'driver version', sweep.driverVersion, before[0]?.driver_version, sweep.driverVersion === before[0]?.driver_version, 'identity');
const smiCuda = at(tree.top, 'CUDA Version');
const cudaNum = smiCuda && /^\d+\.\d+$/.test(smiCuda) ? Number(smiCuda.split('.')[0]) * 1000 + Number(smiCuda.split('.')[1]) * 10 : null;
add('*', 'CUDA driver version', sweep.cudaDriverVersion, smiCuda, cudaNum === null ? null : sweep.cudaDriverVersion === cudaNum, 'identity',
  'nvmlSystemGetCudaDriverVersion[_v2]');

for (const s of before) {
  const g = s.index!;
  const a = after.find((x) => x.uuid === s.uuid) ?? s;
  const d = host.find((x) => x.uuid === s.uuid);
  if (!d) {
    add(g, 'present in our sweep', 'missing', s.uuid, false, 'identity');
    continue;
  }
  const q = tree.gpus.get(normBus(s['pci.bus_id'] ?? ''));
  const r = d.readings;
  const migOn = d.migEnabled === true;
  const p = (name: string) => page.filter((x) => x.name === name && x.labels.UUID === d.uuid && x.labels.GPU_I_ID === undefined);
  const pv = (name: string) => p(name)[0]?.value;
  const pn = (k: string) => num(s[k]);
  const pa = (k: string) => num(a[k]);

  // identity
  add(g, 'uuid', d.uuid, s.uuid, d.uuid === s.uuid, 'identity');
  add(g, 'name', d.name, s.name, d.name === s.name, 'identity');
  add(g, 'pci bus id', d.pciBusId, s['pci.bus_id'], normBus(d.pciBusId) === normBus(s['pci.bus_id'] ?? ''), 'identity');
  if (s.serial !== undefined) add(g, 'serial', d.serial, s.serial, noValue(s.serial) ? d.serial === null : d.serial === s.serial, 'identity');
  if (s.vbios_version !== undefined) add(g, 'VBIOS version', d.vbiosVersion, s.vbios_version, noValue(s.vbios_version) ? !d.vbiosVersion : d.vbiosVersion === s.vbios_version, 'identity');
  for (const [ours, col] of [[d.inforom?.image, 'inforom.img'], [d.inforom?.oem, 'inforom.oem'], [d.inforom?.ecc, 'inforom.ecc'], [d.inforom?.power, 'inforom.pwr']] as const) {
    if (s[col] !== undefined) add(g, col, ours, s[col], noValue(s[col]) ? !ours : ours === s[col], 'identity');
  }
  const brand = at(q, 'Product Brand');
  add(g, 'brand', d.brand, brand, brand === undefined ? null : d.brand === brand, 'identity', 'nvidia-smi -q: Product Brand');
  const totalMiB = r.memTotal === undefined ? undefined : Math.round(r.memTotal / MiB);
  add(g, 'memory.total MiB', totalMiB, s['memory.total'], migOn ? null : same(totalMiB, pn('memory.total'), 1), 'identity', migOn ? 'MIG on: see the instances' : undefined);

  // the default counters, as served
  add(g, 'DCGM_FI_DEV_SM_CLOCK', pv('DCGM_FI_DEV_SM_CLOCK'), s['clocks.sm'], live(pv('DCGM_FI_DEV_SM_CLOCK'), pn('clocks.sm'), pa('clocks.sm'), Math.max(100, (pn('clocks.sm') ?? 0) * 0.1)), 'live');
  add(g, 'DCGM_FI_DEV_MEM_CLOCK', pv('DCGM_FI_DEV_MEM_CLOCK'), s['clocks.mem'], live(pv('DCGM_FI_DEV_MEM_CLOCK'), pn('clocks.mem'), pa('clocks.mem'), Math.max(100, (pn('clocks.mem') ?? 0) * 0.1)), 'live');
  add(g, 'DCGM_FI_DEV_MEMORY_TEMP', pv('DCGM_FI_DEV_MEMORY_TEMP'), s['temperature.memory'], live(pv('DCGM_FI_DEV_MEMORY_TEMP'), pn('temperature.memory'), pa('temperature.memory'), 3), 'live');
  add(g, 'DCGM_FI_DEV_GPU_TEMP', pv('DCGM_FI_DEV_GPU_TEMP'), s['temperature.gpu'], live(pv('DCGM_FI_DEV_GPU_TEMP'), pn('temperature.gpu'), pa('temperature.gpu'), 3), 'live');
  const pw = pn('power.draw');
  add(g, 'DCGM_FI_DEV_POWER_USAGE (W)', pv('DCGM_FI_DEV_POWER_USAGE'), s['power.draw'], live(pv('DCGM_FI_DEV_POWER_USAGE'), pw, pa('power.draw'), Math.max(30, (pw ?? 0) * 0.25)), 'live');
  const e0 = energy0?.mJ.get(d.uuid);
  const e1 = last.devices.find((x) => x.uuid === d.uuid)?.readings.energy;
  const watts = e0 !== undefined && e1 !== undefined && energy0 ? (e1 - e0) / (last.timestamp - energy0.t) : undefined;
  add(g, 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION: ΔmJ/Δt (W)', watts?.toFixed(1), s['power.draw'],
    watts === undefined ? (pv('DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION') === undefined ? null : false) : live(watts, pw, pa('power.draw'), Math.max(40, (pw ?? 0) * 0.5)),
    'live', `served ${show(pv('DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION'))} mJ; nvidia-smi has no energy counter: its rate against power.draw`);
  const replays = num(at(q, 'PCI', 'Replays Since Reset'));
  add(g, 'DCGM_FI_DEV_PCIE_REPLAY_COUNTER', pv('DCGM_FI_DEV_PCIE_REPLAY_COUNTER'), at(q, 'PCI', 'Replays Since Reset'),
    replays === null ? null : pv('DCGM_FI_DEV_PCIE_REPLAY_COUNTER') !== undefined && pv('DCGM_FI_DEV_PCIE_REPLAY_COUNTER')! <= replays, 'live', 'nvidia-smi -q (read later: ours ≤ it)');
  for (const [f, col] of [['DCGM_FI_DEV_GPU_UTIL', 'utilization.gpu'], ['DCGM_FI_DEV_MEM_COPY_UTIL', 'utilization.memory'],
    ['DCGM_FI_DEV_ENC_UTIL', 'utilization.encoder'], ['DCGM_FI_DEV_DEC_UTIL', 'utilization.decoder']] as const) {
    add(g, f, pv(f), s[col], live(pv(f), pn(col), pa(col), 25), 'live');
  }
  const xid = p('DCGM_FI_DEV_XID_ERRORS')[0];
  add(g, 'DCGM_FI_DEV_XID_ERRORS', xid ? `${xid.value} (${xid.labels.err_msg})` : undefined, '(dmesg)', xid ? xid.value === 0 : false, 'info',
    'no XID since the exporter started: 0, "No Error"');
  for (const [f, col] of [['DCGM_FI_DEV_FB_FREE', 'memory.free'], ['DCGM_FI_DEV_FB_USED', 'memory.used']] as const) {
    add(g, f, pv(f), s[col], migOn ? null : live(pv(f), pn(col), pa(col), 64), 'live', migOn ? 'MIG on: per instance' : undefined);
  }
  add(g, 'DCGM_FI_DEV_FB_RESERVED', pv('DCGM_FI_DEV_FB_RESERVED'), s['memory.reserved'], migOn ? null : same(pv('DCGM_FI_DEV_FB_RESERVED'), pn('memory.reserved'), 1), 'setting');
  const links = nvlink.ok ? nvlink.stdout.split(/^GPU /m).find((b) => b.includes(d.uuid)) : undefined;
  const active = links ? (links.match(/Link \d+: [\d.]+ GB\/s/g) ?? []).length : null;
  const bw = pv('DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL');
  add(g, 'DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL', bw, active === null ? '(nvlink -s failed)' : `${active} active links`,
    active === null ? null : active > 0 ? bw !== undefined && bw >= 0 : bw === undefined, 'info',
    'a rate ≥ 0 where there is NVLink (--once takes a second sweep on a GPM GPU, so it may be measured; else the first sample is 0); no series without');
  const virt = at(q, 'GPU Virtualization Mode', 'Virtualization Mode');
  const lic = at(q, 'vGPU Software Licensed Product', 'License Status');
  const wantLic = lic !== undefined ? (/^Licensed/.test(lic) ? 1 : 0) : virt === 'None' ? 0 : null;
  add(g, 'DCGM_FI_DEV_VGPU_LICENSE_STATUS', pv('DCGM_FI_DEV_VGPU_LICENSE_STATUS'), lic ?? `virtualization ${show(virt)}`,
    wantLic === null ? null : pv('DCGM_FI_DEV_VGPU_LICENSE_STATUS') === wantLic, 'setting', 'bare metal: 0 (licensing not supported), as dcgm-exporter');
  const yes = (v: string | undefined) => (v === undefined ? null : /^Yes/i.test(v) ? 1 : /^No/i.test(v) ? 0 : num(v));
  for (const [f, key] of [['DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS', 'Uncorrectable Error'], ['DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS', 'Correctable Error'],
    ['DCGM_FI_DEV_ROW_REMAP_FAILURE', 'Remapping Failure Occurred']] as const) {
    const want = yes(at(q, 'Remapped Rows', key));
    add(g, f, pv(f), at(q, 'Remapped Rows', key), migOn ? pv(f) === undefined : same(pv(f), want), 'setting', migOn ? 'MIG on with instances: not supported, no series' : 'nvidia-smi -q: Remapped Rows');
  }
  const drv = p('DCGM_FI_DEV_GPU_TEMP')[0]?.labels.DCGM_FI_DRIVER_VERSION;
  add(g, 'DCGM_FI_DRIVER_VERSION label', drv, s.driver_version, drv === s.driver_version, 'identity');

  // the readings of issue 11 (in the sweep; not served yet)
  const mw = (v: number | undefined) => (v === undefined ? undefined : v / 1000);
  for (const [key, col] of [['powerLimit', 'enforced.power.limit'], ['powerMgmtLimit', 'power.limit'], ['powerLimitDefault', 'power.default_limit'],
    ['powerLimitMin', 'power.min_limit'], ['powerLimitMax', 'power.max_limit']] as const) {
    add(g, `${key} (W)`, mw(r[key]), s[col], same(mw(r[key]), pn(col), 1), 'setting');
  }
  add(g, 'pstate', r.pstate, s.pstate, live(r.pstate, num(s.pstate?.replace(/^P/, '')), num(a.pstate?.replace(/^P/, '')), 0), 'live');
  add(g, 'pcieLinkGen', r.pcieLinkGen, s['pcie.link.gen.current'], live(r.pcieLinkGen, pn('pcie.link.gen.current'), pa('pcie.link.gen.current'), 0), 'live');
  add(g, 'pcieLinkGenMax', r.pcieLinkGenMax, s['pcie.link.gen.max'], same(r.pcieLinkGenMax, pn('pcie.link.gen.max')), 'setting');
  add(g, 'pcieLinkWidth', r.pcieLinkWidth, s['pcie.link.width.current'], live(r.pcieLinkWidth, pn('pcie.link.width.current'), pa('pcie.link.width.current'), 0), 'live');
  add(g, 'pcieLinkWidthMax', r.pcieLinkWidthMax, s['pcie.link.width.max'], same(r.pcieLinkWidthMax, pn('pcie.link.width.max')), 'setting');
  for (const [key, label] of [['tempShutdown', 'GPU Shutdown Temp'], ['tempSlowdown', 'GPU Slowdown Temp'], ['tempGpuMax', 'GPU Max Operating Temp'],
    ['tempMemMax', 'Memory Max Operating Temp']] as const) {
    const v = at(q, 'Temperature', label);
    add(g, key, r[key], v, v === undefined ? null : same(r[key], num(v)), 'setting', 'nvidia-smi -q: Temperature');
  }
  for (const [key, label, tol] of [['bar1Total', 'Total', 1], ['bar1Used', 'Used', 16], ['bar1Free', 'Free', 16]] as const) {
    const v = at(q, 'BAR1 Memory Usage', label);
    const ours = r[key] === undefined ? undefined : Math.round(r[key]! / MiB);
    add(g, `${key} (MiB)`, ours, v, v === undefined ? null : same(ours, num(v), tol), key === 'bar1Total' ? 'setting' : 'live', 'nvidia-smi -q: BAR1 Memory Usage');
  }
  add(g, 'computeMode', r.computeMode, s.compute_mode, same(r.computeMode, enumOf(s.compute_mode, COMPUTE)), 'setting');
  add(g, 'persistenceMode', r.persistenceMode, s.persistence_mode, same(r.persistenceMode, enumOf(s.persistence_mode, ENABLED)), 'setting');
  add(g, 'eccModeCurrent', r.eccModeCurrent, s['ecc.mode.current'], same(r.eccModeCurrent, enumOf(s['ecc.mode.current'], ENABLED)), 'setting');
  add(g, 'eccModePending', r.eccModePending, s['ecc.mode.pending'], same(r.eccModePending, enumOf(s['ecc.mode.pending'], ENABLED)), 'setting');
  add(g, 'appSmClock', r.appSmClock, s['clocks.applications.graphics'], same(r.appSmClock, pn('clocks.applications.graphics')), 'setting', 'SM against graphics: NVML keeps them equal');
  add(g, 'appMemClock', r.appMemClock, s['clocks.applications.memory'], same(r.appMemClock, pn('clocks.applications.memory')), 'setting');
  add(g, 'maxSmClock', r.maxSmClock, s['clocks.max.sm'], same(r.maxSmClock, pn('clocks.max.sm')), 'setting');
  add(g, 'maxMemClock', r.maxMemClock, s['clocks.max.memory'], same(r.maxMemClock, pn('clocks.max.memory')), 'setting');
  const video = at(q, 'Max Clocks', 'Video');
  add(g, 'maxVideoClock', r.maxVideoClock, video, video === undefined ? null : same(r.maxVideoClock, num(video)), 'setting', 'nvidia-smi -q: Max Clocks');
  add(g, 'fanSpeed', r.fanSpeed ?? `status ${show(d.status.fanSpeed)}`, s['fan.speed'], noValue(s['fan.speed']) ? d.status.fanSpeed !== undefined : live(r.fanSpeed, pn('fan.speed'), pa('fan.speed'), 5), 'live');
  if (migOn) {
    for (const m of d.mig) {
      add(g, `MIG ${m.gpuInstanceId}/${m.computeInstanceId} profile`, `${m.profile} (${m.profileSource})`, m.name, m.profile !== '', 'info');
    }
  }
}

// ---- 6. GPM -------------------------------------------------------------------------------------
for (const r of await gpmChecks()) add(r.gpu, r.what, r.ours, r.smi, r.ok, 'live', r.note);

// ---- 5. timing and the report -------------------------------------------------------------------
const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
const pct = (xs: number[], p: number) => sorted(xs)[Math.min(xs.length - 1, Math.floor((xs.length - 1) * p))]!;
let cLoop: string;
const gcc = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
if (!gcc.error && gcc.status === 0) {
  const dir = mkdtempSync(join(tmpdir(), 'test-gpu-'));
  const exe = join(dir, 'nvml-c-loop');
  try {
    execFileSync('gcc', ['-O2', '-I', join(root, 'native'), '-o', exe, join(root, 'bench', 'nvml-c-loop.c'), '-ldl', '-lpthread'], { stdio: 'pipe' });
    const out = execFileSync(exe, ['libnvidia-ml.so.1', String(TIMED)], { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
    const us = Number(/us_per_sweep (\S+)/.exec(out)?.[1]);
    const calls = /calls_per_sweep (\S+)/.exec(out)?.[1];
    cLoop = `${us.toFixed(0)} µs/sweep (${calls} calls); addon end to end ÷ C loop = ${(pct(e2e, 0.5) / us).toFixed(3)} (measured on this driver${host.some((x) => x.migEnabled) ? '; the C loop skips the MIG devices the addon also reads' : ''})`;
  } catch (err) {
    cLoop = `could not run against this driver: ${((err as { stderr?: string }).stderr ?? (err as Error).message).toString().trim().split('\n')[0]}`;
  }
} else {
  cLoop = 'gcc not found';
}

const w = { gpu: 3, what: 48, ours: 41, smi: 41 };
console.log(`test:gpu on ${host.length} GPU(s): ${[...new Set(before.map((x) => x.name))].join(', ')}; driver ${sweep.driverVersion}; NVML ${sweep.nvmlVersion}; CUDA ${show(sweep.cudaDriverVersion)}; library ${nvml.libraryPath}`);
console.log('');
console.log(['gpu'.padEnd(w.gpu), 'reading'.padEnd(w.what), 'ours'.padEnd(w.ours), 'nvidia-smi'.padEnd(w.smi), 'verdict'].join(' '));
for (const r of rows) {
  console.log([r.gpu.padEnd(w.gpu), r.what.padEnd(w.what), r.ours.slice(0, 41).padEnd(w.ours), r.smi.slice(0, 41).padEnd(w.smi),
    `${r.verdict}${r.kind === 'identity' ? ' (identity)' : ''}${r.note ? `  — ${r.note}` : ''}`].join(' '));
}
const count = (v: Row['verdict'], k?: Kind) => rows.filter((r) => r.verdict === v && (k === undefined || r.kind === k)).length;
console.log('');
console.log(`sweep under this driver (${TIMED} sweeps after ${WARM}): on the sweep thread median ${pct(thread, 0.5).toFixed(0)} µs, p90 ${pct(thread, 0.9).toFixed(0)} µs, max ${Math.max(...thread).toFixed(0)} µs; ` +
  `end to end median ${pct(e2e, 0.5).toFixed(0)} µs, max ${Math.max(...e2e).toFixed(0)} µs; with PCIe throughput ${pcieSweepMs.toFixed(0)} ms`);
console.log(`C loop over the same calls: ${cLoop}`);
console.log(`nvidia-smi --query-gpu properties used: ${cols.length} of ${WANT.length} (${WANT.filter((p) => !known.has(p)).join(', ') || 'all known'})`);
console.log(`summary: ${count('MATCH')} match, ${count('DIFF')} differ (identity ${count('DIFF', 'identity')}, settings ${count('DIFF', 'setting')}, live ${count('DIFF', 'live')}, info ${count('DIFF', 'info')}), ${count('n/a')} n/a; ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(count('DIFF', 'identity') > 0 ? 1 : 0);
