// `npm run test:gpu`: our readings from the real NVML against nvidia-smi on this machine. Identity
// must match exactly (exit 1 otherwise); dynamic values must be sane, self-consistent and close to
// what nvidia-smi read at about the same time. Skips (exit 0) where there is no nvidia-smi or GPU.
import { execFileSync } from 'node:child_process';
import { Nvml, type DeviceSample } from '../../lib/nvml/index.js';

const QUERY = [
  'index', 'uuid', 'name', 'pci.bus_id', 'driver_version', 'memory.total', 'memory.used', 'memory.free',
  'memory.reserved', 'temperature.gpu', 'power.draw', 'clocks.sm', 'clocks.mem', 'utilization.gpu',
  'utilization.memory', 'fan.speed', 'enforced.power.limit',
] as const;
type Col = (typeof QUERY)[number];
const MiB = 1024 * 1024;

function skip(why: string): never {
  console.log(`test:gpu SKIPPED: ${why}`);
  process.exit(0);
}

function smi(): Record<Col, string>[] {
  let out: string;
  try {
    out = execFileSync('nvidia-smi', [`--query-gpu=${QUERY.join(',')}`, '--format=csv,noheader,nounits'], { encoding: 'utf8', timeout: 30_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') skip('nvidia-smi is not installed (no NVIDIA driver on this machine)');
    skip(`nvidia-smi failed (no usable GPU?): ${(e.stderr ?? e.message).trim().split('\n')[0]}`);
  }
  const rows = out.trim().split('\n').filter((l) => l.trim() !== '');
  if (rows.length === 0) skip('nvidia-smi lists no GPU');
  return rows.map((l) => {
    const cells = l.split(',').map((c) => c.trim());
    return Object.fromEntries(QUERY.map((q, i) => [q, cells[i] ?? ''])) as Record<Col, string>;
  });
}

/** `00000000:3B:00.0` whatever the domain width nvidia-smi prints. */
function normBus(id: string): string {
  const m = /^([0-9a-f]+):([0-9a-f]{2}):([0-9a-f]{2})\.([0-9a-f])$/i.exec(id.trim());
  return m ? `${m[1]!.padStart(8, '0').slice(-8)}:${m[2]}:${m[3]}.${m[4]}`.toUpperCase() : id.trim().toUpperCase();
}

const num = (s: string): number | null => (/^-?\d+(\.\d+)?$/.test(s) ? Number(s) : null);

interface Row { gpu: number; reading: string; ours: string; smi: string; verdict: 'MATCH' | 'DIFF' | 'n/a'; identity: boolean }
const rows: Row[] = [];
function add(gpu: number, reading: string, ours: unknown, theirs: unknown, ok: boolean | null, identity = false): void {
  rows.push({ gpu, reading, ours: String(ours ?? '—'), smi: String(theirs ?? '—'), verdict: ok === null ? 'n/a' : ok ? 'MATCH' : 'DIFF', identity });
}

const ref = smi();
let nvml: Nvml;
try {
  nvml = await Nvml.open();
} catch (err) {
  console.error(`test:gpu FAILED: nvidia-smi works but NVML could not be opened: ${(err as Error).message}`);
  process.exit(1);
}
const sweep = await nvml.sweep();
const after = smi(); // read again right after, to bound the dynamic values
await nvml.close();

console.log(`GPU model: ${ref.map((r) => r.name).join(', ')}; driver ${sweep.driverVersion}; NVML ${sweep.nvmlVersion}; CUDA ${sweep.cudaDriverVersion ?? 'n/a'}; library ${nvml.libraryPath}`);
add(-1, 'GPU count', sweep.devices.length, ref.length, sweep.devices.length === ref.length, true);

for (const s of ref) {
  const i = Number(s.index);
  const d: DeviceSample | undefined = sweep.devices.find((x) => x.uuid === s.uuid) ?? sweep.devices[i];
  const a = after[i] ?? s;
  if (!d) {
    add(i, 'present', 'missing', s.uuid, false, true);
    continue;
  }
  const r = d.readings;
  add(i, 'uuid', d.uuid, s.uuid, d.uuid === s.uuid, true);
  add(i, 'name', d.name, s.name, d.name === s.name, true);
  add(i, 'pci bus id', d.pciBusId, normBus(s['pci.bus_id']), normBus(d.pciBusId) === normBus(s['pci.bus_id']), true);
  add(i, 'driver', sweep.driverVersion, s.driver_version, sweep.driverVersion === s.driver_version, true);
  const totalMiB = r.memTotal !== undefined ? Math.round(r.memTotal / MiB) : null;
  add(i, 'memory.total MiB', totalMiB, s['memory.total'], totalMiB !== null && Math.abs(totalMiB - Number(s['memory.total'])) <= 1, true);

  // Dynamic: bounds and consistency.
  if (r.memTotal !== undefined && r.memUsed !== undefined && r.memFree !== undefined) {
    const sum = (r.memUsed + r.memFree + (r.memReserved ?? 0)) / MiB;
    add(i, 'used+free+reserved = total (MiB)', sum.toFixed(1), (r.memTotal / MiB).toFixed(1), Math.abs(sum - r.memTotal / MiB) <= 1);
    const lo = Math.min(Number(s['memory.used']), Number(a['memory.used'])) - 64;
    const hi = Math.max(Number(s['memory.used']), Number(a['memory.used'])) + 64;
    add(i, 'memory.used MiB', (r.memUsed / MiB).toFixed(0), s['memory.used'], r.memUsed / MiB >= lo && r.memUsed / MiB <= hi);
    if (r.memReserved !== undefined && num(s['memory.reserved']) !== null) {
      add(i, 'memory.reserved MiB', (r.memReserved / MiB).toFixed(0), s['memory.reserved'], Math.abs(r.memReserved / MiB - Number(s['memory.reserved'])) <= 1);
    }
  }
  add(i, 'temperature.gpu °C', r.gpuTemp, s['temperature.gpu'], r.gpuTemp !== undefined && r.gpuTemp >= 0 && r.gpuTemp <= 120 && Math.abs(r.gpuTemp - Number(s['temperature.gpu'])) <= 5);
  const limitW = r.powerLimit !== undefined ? r.powerLimit / 1000 : null;
  add(i, 'enforced.power.limit W', limitW, s['enforced.power.limit'], limitW !== null && Math.abs(limitW - Number(s['enforced.power.limit'])) <= 1);
  const powerW = r.powerUsage !== undefined ? r.powerUsage / 1000 : null;
  add(i, 'power.draw W', powerW?.toFixed(1), s['power.draw'], powerW !== null && powerW >= 0 && limitW !== null && powerW <= limitW * 1.2);
  for (const [key, col] of [['gpuUtil', 'utilization.gpu'], ['memUtil', 'utilization.memory']] as const) {
    const v = r[key];
    add(i, col, v ?? `status ${d.status[key] ?? '?'}`, s[col], num(s[col]) === null ? null : v !== undefined && v >= 0 && v <= 100);
  }
  for (const [key, col] of [['smClock', 'clocks.sm'], ['memClock', 'clocks.mem']] as const) {
    const v = r[key];
    const lo = Math.min(Number(s[col]), Number(a[col]));
    const hi = Math.max(Number(s[col]), Number(a[col]));
    const slack = Math.max(100, hi * 0.1); // clocks move with load between the reads
    add(i, `${col} MHz`, v, s[col], v !== undefined && v >= lo - slack && v <= hi + slack);
  }
  const fan = num(s['fan.speed']);
  add(i, 'fan.speed %', r.fanSpeed ?? `status ${d.status.fanSpeed ?? '?'}`, s['fan.speed'], fan === null ? d.status.fanSpeed !== undefined : r.fanSpeed !== undefined && Math.abs(r.fanSpeed - fan) <= 5);
}

const w = { gpu: 4, reading: 34, ours: 44, smi: 44 };
console.log(['gpu'.padEnd(w.gpu), 'reading'.padEnd(w.reading), 'ours'.padEnd(w.ours), 'nvidia-smi'.padEnd(w.smi), 'verdict'].join(' '));
for (const r of rows) {
  console.log([String(r.gpu < 0 ? '*' : r.gpu).padEnd(w.gpu), r.reading.padEnd(w.reading), r.ours.padEnd(w.ours), r.smi.padEnd(w.smi), r.verdict + (r.identity ? ' (identity)' : '')].join(' '));
}
const identityDiffs = rows.filter((r) => r.identity && r.verdict === 'DIFF').length;
const otherDiffs = rows.filter((r) => !r.identity && r.verdict === 'DIFF').length;
console.log(`identity: ${identityDiffs === 0 ? 'all match' : `${identityDiffs} mismatch(es)`}; dynamic readings out of bounds: ${otherDiffs}`);
process.exit(identityDiffs > 0 ? 1 : 0);
