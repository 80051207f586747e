// The GPM part of `npm run test:gpu` (compare-nvidia-smi.ts calls it): on the real driver, two GPM
// sweeps a second apart through the addon, the profiling fields computed from them exactly as they
// are served, and
//   - per GPU: GPM present on Hopper and newer, absent (with NOT_SUPPORTED) on older GPUs;
//   - every served ratio in [0, 1], every byte rate ≥ 0;
//   - an idle GPU (0 % utilization and no compute process in nvidia-smi) reads GR_ENGINE_ACTIVE ≈ 0;
//   - where this nvidia-smi has `dmon --gpm-metrics` (R525+), the same GPM metrics read by nvidia-smi
//     over the same kind of window agree within a slack (the two windows are not the same second).
import { Nvml, type DeviceSample } from '../../lib/nvml/index.js';
import { GPM_FIELDS } from '../../lib/fields/gpm-fields.js';
import type { Snapshot } from '../../lib/collect/types.js';
import { runSmi } from './smi.js';

export interface GpmRow {
  gpu: string;
  what: string;
  ours: unknown;
  smi: unknown;
  ok: boolean | null;
  note?: string;
}

const HOPPER_OR_NEWER = /\b(H100|H200|H800|H20|GH200|B100|B200|B300|GB200|GB300)\b/;
const NO_PERMISSION = 4;
const snap = {} as Snapshot;
/** dmon metric ids (nvmlGpmMetricId_t) compared, with the served field that reads them */
const DMON: readonly [number, string][] = [[1, 'DCGM_FI_PROF_GR_ENGINE_ACTIVE'], [2, 'DCGM_FI_PROF_SM_ACTIVE'], [5, 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE'], [10, 'DCGM_FI_PROF_DRAM_ACTIVE']];

/** `nvidia-smi dmon --gpm-metrics 1,2,5,10 -c 2`: per GPU index, the last row's values (percent), or why not. */
function dmonGpm(): Map<number, number[]> | string {
  const help = runSmi(['dmon', '-h'], 30_000);
  if (!help.ok || !/gpm-metrics/.test(help.stdout)) return 'this nvidia-smi has no `dmon --gpm-metrics` (R525 or newer)';
  const r = runSmi(['dmon', '--gpm-metrics', DMON.map(([id]) => id).join(','), '-c', '2', '-d', '1'], 60_000);
  if (!r.ok) return `nvidia-smi dmon --gpm-metrics failed: ${r.error.split('\n')[0]}`;
  const out = new Map<number, number[]>();
  for (const line of r.stdout.split('\n')) {
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    const cells = line.trim().split(/\s+/);
    const idx = Number(cells[0]);
    const vals = cells.slice(-DMON.length).map((c) => Number(c));
    if (Number.isInteger(idx) && vals.every((v) => Number.isFinite(v))) out.set(idx, vals); // the later row wins
  }
  return out.size > 0 ? out : `could not read nvidia-smi dmon's output: ${r.stdout.split('\n').slice(0, 3).join(' | ')}`;
}

function idle(index: number): boolean | null {
  const u = runSmi([`--id=${index}`, '--query-gpu=utilization.gpu', '--format=csv,noheader,nounits'], 30_000);
  const apps = runSmi([`--id=${index}`, '--query-compute-apps=pid', '--format=csv,noheader'], 30_000);
  if (!u.ok || !apps.ok) return null;
  return Number(u.stdout.trim()) === 0 && apps.stdout.trim() === '';
}

export async function gpmChecks(): Promise<GpmRow[]> {
  const rows: GpmRow[] = [];
  const nvml = await Nvml.open();
  let devices: DeviceSample[];
  try {
    await nvml.sweep({ gpm: true });
    await new Promise((r) => setTimeout(r, 1000));
    devices = (await nvml.sweep({ gpm: true })).devices;
  } finally {
    await nvml.close();
  }
  const dmon = dmonGpm();
  for (const d of devices) {
    const g = String(d.index);
    const gpm = d.gpm;
    const newer = HOPPER_OR_NEWER.test(d.name);
    if (!gpm || gpm.support !== 0) {
      const code = gpm?.support;
      rows.push({ gpu: g, what: 'GPM support', ours: code === undefined ? 'not asked' : `code ${code}`, smi: d.name,
        ok: code === NO_PERMISSION ? null : !newer && code === 3,
        note: code === NO_PERMISSION ? 'NO_PERMISSION: profiling restricted to administrators (NVreg_RestrictProfilingToAdminUsers=0 or CAP_SYS_ADMIN)' : newer ? 'a Hopper-or-newer GPU must have GPM' : 'pre-Hopper: no GPM, the DCGM_FI_PROF_* series are skipped' });
      continue;
    }
    rows.push({ gpu: g, what: 'GPM support', ours: 'supported', smi: d.name, ok: true, note: newer ? undefined : 'GPM on a GPU this check does not know as Hopper or newer' });
    rows.push({ gpu: g, what: 'GPM GPU metrics (code)', ours: gpm.gpu?.code, smi: '0', ok: gpm.gpu?.code === 0,
      note: `${gpm.gpu?.values.size ?? 0} metrics, ${gpm.gpu?.status.size ?? 0} not answered` });
    // every served value, as the page would serve it (whole GPU, and each GPU instance)
    const bad: string[] = [];
    let served = 0;
    for (const f of GPM_FIELDS) {
      const check = (v: number | undefined, where: string) => {
        if (v === undefined) return;
        served++;
        if (f.unit === 'ratio' ? !(v >= 0 && v <= 1) : !(v >= 0)) bad.push(`${f.name}${where}=${v}`);
      };
      check(f.device(d, snap), '');
      for (const m of d.mig) if (f.mig) check(f.mig(m, d, snap), `{GPU_I_ID=${m.gpuInstanceId}}`);
    }
    rows.push({ gpu: g, what: 'served ratios in [0, 1], rates ≥ 0', ours: `${served} values`, smi: '—', ok: bad.length === 0 && served > 0, note: bad.slice(0, 3).join(', ') || undefined });
    const gr = GPM_FIELDS.find((f) => f.name === 'DCGM_FI_PROF_GR_ENGINE_ACTIVE')!.device(d, snap);
    const isIdle = idle(d.index);
    rows.push({ gpu: g, what: 'idle GPU: GR_ENGINE_ACTIVE ≈ 0', ours: gr, smi: isIdle === null ? '?' : isIdle ? 'idle' : 'busy',
      ok: isIdle ? gr !== undefined && gr < 0.05 : null, note: isIdle ? undefined : 'not idle (or unknown): no idle check' });
    if (typeof dmon === 'string') {
      rows.push({ gpu: g, what: 'nvidia-smi dmon --gpm-metrics', ours: '—', smi: dmon, ok: null });
      continue;
    }
    const smi = dmon.get(d.index);
    for (const [k, [id, name]] of DMON.entries()) {
      const ours = GPM_FIELDS.find((f) => f.name === name)!.device(d, snap);
      const theirs = smi?.[k];
      // a second apart, not the same second: within 10 points, 25 under a load that moves
      const slack = isIdle ? 0.05 : 0.25;
      rows.push({ gpu: g, what: `${name} vs dmon metric ${id}`, ours, smi: theirs === undefined ? '—' : theirs / 100,
        ok: theirs === undefined || ours === undefined ? null : Math.abs(ours - theirs / 100) <= slack, note: `slack ${slack}` });
    }
  }
  return rows;
}
