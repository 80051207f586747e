// The simulated NVML from TypeScript: where the library is, and the scenario file it reads
// (NVML_SIM_SCENARIO). The text format is documented in native/fake/README.md; serializeScenario
// writes it and parseScenario reads it back (tests, and anyone who keeps scenarios as files).
import { packageRoot } from '../package-root.js';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Scenario, SimGlobalQuirk, SimGpmMetrics, SimGpmValue, SimGpu, SimGpuQuirk, SimMigDevice, SimProcess, SimValue, SimXid } from './scenario.js';
import { READING_KEYS, type ReadingKey } from './types.js';

export { packageRoot };

/** `<root>/build/Release/nvml_sim.so` (or `nvml_sim_legacy.so`: the older driver's symbol set). */
export function simulatedLibraryPath(legacy = false): string {
  return join(packageRoot(), 'build', 'Release', legacy ? 'nvml_sim_legacy.so' : 'nvml_sim.so');
}

// ---- writing ------------------------------------------------------------------------------------

const KEYS: ReadonlySet<string> = new Set(READING_KEYS);

function fail(where: string, what: string): never {
  throw new Error(`scenario ${where}: ${what}`);
}

function num(where: string, n: unknown): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) fail(where, `expected a finite number, got ${String(n)}`);
  return String(n);
}

function int(where: string, n: unknown, min: number, max: number): string {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
    fail(where, `expected an integer in ${min}..${max}, got ${String(n)}`);
  return String(n);
}

function word(where: string, s: unknown): string {
  if (typeof s !== 'string' || !/^\S+$/.test(s)) fail(where, `expected one word without spaces, got ${JSON.stringify(s)}`);
  return s;
}

function text(where: string, s: unknown): string {
  if (typeof s !== 'string' || s.trim() === '' || /[\r\n]/.test(s) || s !== s.trim())
    fail(where, `expected one line of text without surrounding spaces, got ${JSON.stringify(s)}`);
  return s;
}

function valueText(where: string, v: SimValue): string {
  if (v === 'unsupported') return 'unsupported';
  if (typeof v === 'number') return num(where, v);
  if (v && typeof v === 'object' && 'wave' in v) {
    const w = v.wave;
    if (!(typeof w.periodS === 'number' && w.periodS > 0)) fail(`${where}.wave.periodS`, 'must be > 0 seconds');
    const parts = ['wave', num(`${where}.wave.min`, w.min), num(`${where}.wave.max`, w.max), num(`${where}.wave.periodS`, w.periodS)];
    if (w.phase !== undefined) parts.push(num(`${where}.wave.phase`, w.phase));
    return parts.join(' ');
  }
  if (v && typeof v === 'object' && 'ramp' in v)
    return `ramp ${num(`${where}.ramp.start`, v.ramp.start)} ${num(`${where}.ramp.perS`, v.ramp.perS)}`;
  return fail(where, `expected a number, 'unsupported', {wave} or {ramp}, got ${JSON.stringify(v)}`);
}

function values(where: string, vals: Partial<Record<ReadingKey, SimValue>> | undefined, out: string[]): void {
  for (const [k, v] of Object.entries(vals ?? {})) {
    if (!KEYS.has(k)) fail(`${where}.${k}`, `unknown reading (known: ${READING_KEYS.join(', ')})`);
    if (v !== undefined) out.push(`${k} ${valueText(`${where}.${k}`, v)}`);
  }
}

function calls(where: string, kind: 'error' | 'delay', m: Record<string, number> | undefined, out: string[]): void {
  for (const [fn, v] of Object.entries(m ?? {})) {
    if (!/^nvml\w+$/.test(fn) || fn.length >= 64) fail(`${where}.${fn}`, 'expected an NVML function name like nvmlDeviceGetPowerUsage');
    out.push(`${kind} ${fn} ${int(`${where}.${fn}`, v, 0, kind === 'error' ? 1_000_000 : 3_600_000)}`);
  }
}

const GPU_QUIRKS: readonly SimGpuQuirk[] = ['field-types-double', 'ecc-fields-untouched', 'no-nvlink-all-scope', 'no-perf-policy-fields'];
const GLOBAL_QUIRKS: readonly SimGlobalQuirk[] = ['no-libcuda', 'event-wait-v2-not-supported', 'event-wait-v2-not-found', 'process-info-32'];

function quirks(where: string, q: readonly string[] | undefined, known: readonly string[], out: string[]): void {
  for (const [i, x] of (q ?? []).entries()) {
    if (!known.includes(x)) fail(`${where}[${i}]`, `unknown quirk ${JSON.stringify(x)} (known: ${known.join(', ')})`);
    out.push(`quirk ${x}`);
  }
}

const GPM_NAMES = new Set(['graphicsUtil', 'smUtil', 'smOccupancy', 'integerUtil', 'anyTensorUtil', 'dfmaTensorUtil', 'hmmaTensorUtil',
  'dmmaTensorUtil', 'immaTensorUtil', 'dramBwUtil', 'fp64Util', 'fp32Util', 'fp16Util', 'pcieTxPerSec', 'pcieRxPerSec',
  'nvlinkTotalRxPerSec', 'nvlinkTotalTxPerSec']);

function gpmLines(where: string, metrics: SimGpmMetrics | undefined, out: string[]): void {
  const entries = Object.entries(metrics ?? {});
  if (entries.length > 24) fail(where, `at most 24 GPM metrics per GPU or MIG device, got ${entries.length}`);
  for (const [k, v] of entries) {
    const id = /^\d+$/.test(k) ? Number(k) : NaN;
    if (!GPM_NAMES.has(k) && !(id >= 0 && id <= 332)) fail(`${where}.${k}`, `expected a GPM metric id 0..332 or one of ${[...GPM_NAMES].join(', ')}`);
    if (v === 'nan') out.push(`gpm ${k} nan`);
    else if (typeof v === 'object' && v !== null && 'error' in v) out.push(`gpm ${k} error ${int(`${where}.${k}.error`, v.error, 1, 1_000_000)}`);
    else out.push(`gpm ${k} ${valueText(`${where}.${k}`, v)}`);
  }
}

const PROCESS_KINDS = ['compute', 'graphics', 'mps'] as const;

function processes(where: string, ps: readonly SimProcess[] | undefined, out: string[]): void {
  if (ps === undefined) return;
  if (!Array.isArray(ps) || ps.length > 64) fail(where, 'expected at most 64 processes per GPU');
  ps.forEach((p, i) => {
    const w = `${where}[${i}]`;
    out.push(`process ${int(`${w}.pid`, p.pid, 1, 4194304)}`);
    if (p.kinds !== undefined) {
      if (!Array.isArray(p.kinds) || p.kinds.length === 0 || !p.kinds.every((k: string) => (PROCESS_KINDS as readonly string[]).includes(k)))
        fail(`${w}.kinds`, 'expected a non-empty list of compute, graphics, mps');
      out.push(`kind ${p.kinds.join('+')}`);
    }
    const vals: [string, SimValue | undefined][] = [['mem', p.mem], ['sm', p.sm], ['memutil', p.memUtil], ['enc', p.enc], ['dec', p.dec]];
    for (const [k, v] of vals) {
      if (v === undefined) continue;
      if (v === 'unsupported') fail(`${w}.${k}`, 'a process value cannot be unsupported');
      out.push(`${k} ${valueText(`${w}.${k}`, v)}`);
    }
    if (p.startS !== undefined) out.push(`start ${num(`${w}.startS`, p.startS)}`);
    if (p.exitS !== undefined) out.push(`exit ${num(`${w}.exitS`, p.exitS)}`);
  });
}

function mig(where: string, m: SimMigDevice, out: string[]): void {
  if (typeof m.profile !== 'string' || !/^(\d+c\.)?\d+g\.\d+gb(\+\w+)?$/.test(m.profile)) fail(`${where}.profile`, `expected a profile like 1g.10gb, 1g.10gb+me or 1c.2g.20gb, got ${JSON.stringify(m.profile)}`);
  out.push(`mig ${m.profile}`);
  if (m.uuid !== undefined) out.push(`uuid ${word(`${where}.uuid`, m.uuid)}`);
  if (m.gpuInstanceId !== undefined) out.push(`gi ${int(`${where}.gpuInstanceId`, m.gpuInstanceId, 0, 15)}`);
  if (m.computeInstanceId !== undefined) out.push(`ci ${int(`${where}.computeInstanceId`, m.computeInstanceId, 0, 1000)}`);
  if (m.profileMemoryMB !== undefined) out.push(`gimem ${int(`${where}.profileMemoryMB`, m.profileMemoryMB, 1, 1 << 22)}`);
  if (m.memTotal !== undefined) out.push(`memTotal ${num(`${where}.memTotal`, m.memTotal)}`);
  values(`${where}.values`, m.values, out);
  gpmLines(`${where}.gpm`, m.gpm, out);
  processes(`${where}.processes`, m.processes, out);
}

function gpu(i: number, g: SimGpu, out: string[]): void {
  const where = `gpus[${i}]`;
  out.push('', `gpu ${i}`);
  if (g.uuid !== undefined) out.push(`uuid ${word(`${where}.uuid`, g.uuid)}`);
  if (g.name !== undefined) out.push(`name ${text(`${where}.name`, g.name)}`);
  if (g.pciBusId !== undefined) {
    if (!/^[0-9a-fA-F]{1,8}:[0-9a-fA-F]{1,2}:[0-9a-fA-F]{1,2}\.0$/.test(g.pciBusId)) fail(`${where}.pciBusId`, `expected a bus id like 00000000:18:00.0, got ${JSON.stringify(g.pciBusId)}`);
    out.push(`pci ${g.pciBusId}`);
  }
  if (g.serial !== undefined) out.push(`serial ${word(`${where}.serial`, g.serial)}`);
  if (g.minor !== undefined) out.push(`minor ${int(`${where}.minor`, g.minor, 0, 1 << 20)}`);
  if (g.lost === true) out.push('lost');
  else if (typeof g.lost === 'number') out.push(`lost ${int(`${where}.lost`, g.lost, 1, 1_000_000)}`);
  if (g.migCapable !== undefined) out.push(`migcapable ${g.migCapable ? 'yes' : 'no'}`);
  if (g.migMode !== undefined) out.push(`migmode ${g.migMode ? 'on' : 'off'}`);
  if (g.gpuInstanceAccess !== undefined) {
    if (g.gpuInstanceAccess !== 'allowed' && g.gpuInstanceAccess !== 'denied') fail(`${where}.gpuInstanceAccess`, 'expected allowed or denied');
    out.push(`giaccess ${g.gpuInstanceAccess}`);
  }
  quirks(`${where}.quirks`, g.quirks, GPU_QUIRKS, out);
  if (g.nvlinkIds !== undefined) {
    if (!Array.isArray(g.nvlinkIds) || g.nvlinkIds.length > 18 || new Set(g.nvlinkIds).size !== g.nvlinkIds.length)
      fail(`${where}.nvlinkIds`, 'expected at most 18 distinct link ids');
    out.push(['nvlinks', ...g.nvlinkIds.map((l, i) => int(`${where}.nvlinkIds[${i}]`, l, 0, 17))].join(' '));
  }
  if (g.vbios !== undefined) out.push(`vbios ${text(`${where}.vbios`, g.vbios)}`);
  for (const o of ['oem', 'ecc', 'power', 'image'] as const) {
    const v = g.inforom?.[o];
    if (v !== undefined) out.push(`inforom ${o} ${text(`${where}.inforom.${o}`, v)}`);
  }
  if (g.brand !== undefined) out.push(`brand ${g.brand === 'unsupported' ? 'unsupported' : int(`${where}.brand`, g.brand, 0, 100)}`);
  calls(`${where}.errors`, 'error', g.errors, out);
  calls(`${where}.delays`, 'delay', g.delays, out);
  values(`${where}.values`, g.values, out);
  if (g.gpmSupported !== undefined) out.push(`gpm ${g.gpmSupported ? 'on' : 'off'}`);
  gpmLines(`${where}.gpm`, g.gpm, out);
  processes(`${where}.processes`, g.processes, out);
  if ((g.mig?.length ?? 0) > 8) fail(`${where}.mig`, 'at most 8 MIG devices per GPU');
  g.mig?.forEach((m, s) => mig(`${where}.mig[${s}]`, m, out));
}

/** The scenario as the simulated library's text format. Throws on a value it cannot express. */
export function serializeScenario(s: Scenario): string {
  if (!s || !Array.isArray(s.gpus)) fail('gpus', 'expected an array of GPUs');
  if (s.gpus.length > 64) fail('gpus', `at most 64 GPUs, got ${s.gpus.length}`);
  const out = ['# nvml-exporter simulated NVML scenario (format: native/fake/README.md)'];
  if (s.driverVersion !== undefined) out.push(`driver ${text('driverVersion', s.driverVersion)}`);
  if (s.nvmlVersion !== undefined) out.push(`nvml ${text('nvmlVersion', s.nvmlVersion)}`);
  if (s.cudaDriverVersion !== undefined) out.push(`cuda ${int('cudaDriverVersion', s.cudaDriverVersion, 0, 1_000_000)}`);
  calls('errors', 'error', s.errors, out);
  calls('delays', 'delay', s.delays, out);
  quirks('quirks', s.quirks, GLOBAL_QUIRKS, out);
  if (s.latency !== undefined) {
    if (s.latency !== 'published' && s.latency !== 'off') fail('latency', `expected published or off, got ${JSON.stringify(s.latency)}`);
    out.push(`latency ${s.latency}`);
  }
  for (const [fn, us] of Object.entries(s.latencyUs ?? {})) {
    if (!/^nvml\w+$/.test(fn) || fn.length >= 64) fail(`latencyUs.${fn}`, 'expected an NVML function name like nvmlDeviceGetPowerUsage');
    if (typeof us !== 'number' || !(us >= 0 && us <= 1e6)) fail(`latencyUs.${fn}`, `expected 0..1000000 µs, got ${String(us)}`);
    out.push(`latency ${fn} ${us}`);
  }
  s.xids?.forEach((x, i) => {
    const g = int(`xids[${i}].gpu`, x.gpu, 0, s.gpus.length - 1);
    const id = x.id === undefined ? '' : ` ${int(`xids[${i}].id`, x.id, 0, 2_000_000_000)}`;
    const gi = x.gpuInstanceId === undefined ? '' : ` gi ${int(`xids[${i}].gpuInstanceId`, x.gpuInstanceId, 0, 1_000_000)}`;
    const ci = x.computeInstanceId === undefined ? '' : ` ci ${int(`xids[${i}].computeInstanceId`, x.computeInstanceId, 0, 1_000_000)}`;
    out.push(`xid ${g} ${int(`xids[${i}].xid`, x.xid, 0, 1_000_000)}${id}${gi}${ci}`);
  });
  if (s.gpmMetricMax !== undefined) out.push(`gpm max ${int('gpmMetricMax', s.gpmMetricMax, 1, 333)}`);
  s.gpus.forEach((g, i) => gpu(i, g, out));
  return out.join('\n') + '\n';
}

/** Writes the scenario atomically (a temp file beside it, then rename), so a reader never sees half. */
export function writeScenario(path: string, s: Scenario): void {
  const body = serializeScenario(s);
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, body);
  renameSync(tmp, path);
}

// ---- reading (the TypeScript twin of native/fake/sim_parse.c, for round trips) -----------------

function parseValue(where: string, t: string[]): SimValue {
  const n = (s: string | undefined): number => {
    const v = Number(s);
    if (s === undefined || s === '' || !Number.isFinite(v)) fail(where, `'${s ?? ''}' is not a number`);
    return v;
  };
  if (t[0] === 'unsupported' && t.length === 1) return 'unsupported';
  if (t[0] === 'wave' && (t.length === 5 || t.length === 4)) {
    const wave = { min: n(t[1]), max: n(t[2]), periodS: n(t[3]) };
    return { wave: t.length === 5 ? { ...wave, phase: n(t[4]) } : wave };
  }
  if (t[0] === 'ramp' && t.length === 3) return { ramp: { start: n(t[1]), perS: n(t[2]) } };
  if (t.length === 1) return n(t[0]);
  return fail(where, `cannot read the value '${t.join(' ')}'`);
}

/** Parses the text format back into a Scenario (identity defaults stay absent, as in the text). */
export function parseScenario(body: string, name = 'scenario'): Scenario {
  const s: Scenario = { gpus: [] };
  let g: SimGpu | undefined;
  let m: SimMigDevice | undefined;
  let proc: SimProcess | undefined;
  body.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${name}:${i + 1}`;
    const [w = '', ...t] = line.split(/\s+/);
    const rest = line.slice(w.length).trim();
    const need = (ok: boolean): void => void (ok || fail(where, `cannot read '${line}'`));
    const calls = (scope: { errors?: Record<string, number>; delays?: Record<string, number> }): void => {
      need(t.length === 2);
      const key = w === 'error' ? 'errors' : 'delays';
      (scope[key] ??= {})[t[0]!] = Number(t[1]);
    };
    if (['global', 'gpus', 'gpu', 'mig', 'process'].includes(w)) proc = undefined;
    if (proc) {
      const key = ({ mem: 'mem', sm: 'sm', memutil: 'memUtil', enc: 'enc', dec: 'dec' } as const)[w as 'mem'];
      if (key) proc[key] = parseValue(where, t);
      else if (w === 'kind') proc.kinds = (t[0] ?? '').split('+') as SimProcess['kinds'];
      else if (w === 'start') proc.startS = Number(t[0]);
      else if (w === 'exit') proc.exitS = Number(t[0]);
      else fail(where, `'${w}' is not allowed in a process block`);
      return;
    }
    if (w === 'process' && g) {
      proc = { pid: Number(t[0]) };
      ((m ?? g).processes ??= []).push(proc);
      return;
    }
    if (w === 'global') [g, m] = [undefined, undefined];
    else if (w === 'gpus') for (need(t.length === 1), g = m = undefined; s.gpus.length < Number(t[0]); ) s.gpus.push({});
    else if (w === 'gpu') {
      const idx = Number(t[0]);
      need(t.length === 1 && Number.isInteger(idx) && idx <= s.gpus.length);
      if (idx === s.gpus.length) s.gpus.push({});
      [g, m] = [s.gpus[idx], undefined];
    } else if (w === 'xid') {
      need(t.length >= 2);
      const x: SimXid = { gpu: Number(t[0]), xid: Number(t[1]) };
      let at = 2;
      if (t[2] !== undefined && t[2] !== 'gi' && t[2] !== 'ci') x.id = Number(t[at++]);
      for (; at < t.length; at += 2) {
        need(t[at + 1] !== undefined && (t[at] === 'gi' || t[at] === 'ci'));
        if (t[at] === 'gi') x.gpuInstanceId = Number(t[at + 1]);
        else x.computeInstanceId = Number(t[at + 1]);
      }
      (s.xids ??= []).push(x);
    } else if (!g) {
      if (w === 'driver') s.driverVersion = rest;
      else if (w === 'nvml') s.nvmlVersion = rest;
      else if (w === 'cuda') s.cudaDriverVersion = Number(t[0]);
      else if (w === 'error' || w === 'delay') calls(s);
      else if (w === 'quirk') (s.quirks ??= []).push(t[0] as SimGlobalQuirk);
      else if (w === 'latency' && t.length === 1) s.latency = t[0] as 'published' | 'off';
      else if (w === 'latency' && t.length === 2) (s.latencyUs ??= {})[t[0]!] = Number(t[1]);
      else if (w === 'gpm' && t[0] === 'max' && t.length === 2) s.gpmMetricMax = Number(t[1]);
      else fail(where, `unknown word '${w}' outside a gpu block`);
    } else if (w === 'mig') {
      m = { profile: t[0] ?? '' };
      (g.mig ??= []).push(m);
    } else if (KEYS.has(w)) {
      const v = parseValue(where, t);
      if (m) (m.values ??= {})[w as ReadingKey] = v;
      else (g.values ??= {})[w as ReadingKey] = v;
    } else if (w === 'gpm' && (t[0] === 'on' || t[0] === 'off') && t.length === 1 && !m) g.gpmSupported = t[0] === 'on';
    else if (w === 'gpm' && t.length >= 2) {
      const v: SimGpmValue = t[1] === 'nan' ? 'nan' : t[1] === 'error' ? { error: Number(t[2]) } : parseValue(where, t.slice(1));
      ((m ?? g).gpm ??= {})[t[0]!] = v;
    } else if (w === 'uuid') (m ?? g).uuid = t[0];
    else if (m && w === 'gi') m.gpuInstanceId = Number(t[0]);
    else if (m && w === 'ci') m.computeInstanceId = Number(t[0]);
    else if (m && w === 'gimem') m.profileMemoryMB = Number(t[0]);
    else if (m) fail(where, `'${w}' is not allowed in a mig block`);
    else if (w === 'name') g.name = rest;
    else if (w === 'pci') g.pciBusId = t[0];
    else if (w === 'serial') g.serial = t[0];
    else if (w === 'minor') g.minor = Number(t[0]);
    else if (w === 'lost') g.lost = t.length ? Number(t[0]) : true;
    else if (w === 'migcapable') g.migCapable = t[0] === 'yes';
    else if (w === 'migmode') g.migMode = t[0] === 'on';
    else if (w === 'giaccess') g.gpuInstanceAccess = t[0] as 'allowed' | 'denied';
    else if (w === 'quirk') (g.quirks ??= []).push(t[0] as SimGpuQuirk);
    else if (w === 'nvlinks') g.nvlinkIds = t.map(Number);
    else if (w === 'vbios') g.vbios = rest;
    else if (w === 'inforom') (g.inforom ??= {})[t[0] as 'oem' | 'ecc' | 'power' | 'image'] = rest.slice(t[0]!.length).trim();
    else if (w === 'brand') g.brand = t[0] === 'unsupported' ? 'unsupported' : Number(t[0]);
    else if (w === 'error' || w === 'delay') calls(g);
    else fail(where, `unknown word '${w}' in a gpu block`);
  });
  return s;
}

// ---- ready-made scenarios -------------------------------------------------------------------------

const H100_MEM = 85520809984; // bytes (81559 MiB)

/**
 * n H100-like GPUs serving an inference load: utilization and power move together as slow waves
 * (each GPU at its own phase), the clocks and temperatures follow them, memory holds a loaded
 * model at ~90 %, energy and NVLink traffic count up. Whole GPUs only (no MIG).
 */
export function demoScenario(n: number): Scenario {
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`demoScenario: the GPU count must be an integer in 1..64, got ${n}`);
  const gpus: SimGpu[] = [];
  for (let i = 0; i < n; i++) {
    const phase = i / n;
    const lag = phase + 0.04; // temperatures trail power a little
    const wave = (min: number, max: number, periodS = 90, p = phase): SimValue => ({ wave: { min, max, periodS, phase: p } });
    gpus.push({
      values: {
        gpuUtil: wave(20, 97),
        memUtil: wave(8, 55),
        memUsed: wave(Math.round(H100_MEM * 0.885), Math.round(H100_MEM * 0.905), 600),
        powerUsage: wave(160_000, 640_000),
        powerLimit: 700_000,
        energy: { ramp: { start: 2.5e9 + i * 3.7e8, perS: 400_000 } },
        smClock: wave(1410, 1980),
        graphicsClock: wave(1410, 1980),
        videoClock: wave(1200, 1755),
        memClock: 2619,
        gpuTemp: wave(36, 71, 90, lag),
        memTemp: wave(44, 79, 90, lag),
        encUtil: 0,
        decUtil: 0,
        nvlinkTx: { ramp: { start: 0, perS: 2_097_152 + i * 65_536 } },
        nvlinkRx: { ramp: { start: 0, perS: 1_835_008 + i * 65_536 } },
        pcieTx: wave(80_000, 900_000),
        pcieRx: wave(200_000, 2_400_000),
      },
    });
  }
  return { gpus };
}

/** `gpus` MIG-enabled H100s with `perGpu` `1g.10gb` instances each (benchmarks: e.g. 8 × 7). */
/**
 * `gpus` whole GPUs, each running `perGpu` processes (PIDs 100000 + 100·gpu + k): SM utilisation
 * and memory per process moving as slow waves, so each GPU's gpuUtil / memUsed (left unset) is the
 * sum of its processes'. For benchmarks and the per-pod usage demo.
 */
export function processScenario(gpus: number, perGpu: number): Scenario {
  const base = demoScenario(gpus);
  return {
    ...base,
    gpus: base.gpus.map((g, i) => {
      const values = { ...g.values };
      delete values.gpuUtil;
      delete values.memUsed;
      return {
        ...g,
        values,
        processes: Array.from({ length: perGpu }, (_, k) => ({
          pid: 100000 + 100 * i + k,
          sm: { wave: { min: 1, max: Math.floor(90 / perGpu) + 1, periodS: 60 + k, phase: k / perGpu } },
          mem: { wave: { min: 1e9, max: 3e9, periodS: 120, phase: (i + k) / 16 } },
          memUtil: Math.floor(40 / perGpu),
        })),
      };
    }),
  };
}

export function migScenario(gpus: number, perGpu: number): Scenario {
  if (!Number.isInteger(perGpu) || perGpu < 1 || perGpu > 7) throw new Error(`migScenario: perGpu must be an integer in 1..7 (1g.10gb slots on an H100), got ${perGpu}`);
  const s = demoScenario(gpus);
  s.gpus.forEach((g, i) => {
    g.migCapable = true;
    g.mig = Array.from({ length: perGpu }, (_, k) => ({
      profile: '1g.10gb',
      values: { memUsed: { wave: { min: 2e9, max: 9e9, periodS: 120, phase: (i * perGpu + k) / (gpus * perGpu) } } },
    }));
  });
  return s;
}
