// `npm run test:gpu` (test/gpu/compare-nvidia-smi.ts) where there is no GPU: it skips, exit 0, with
// one line saying why (no nvidia-smi; nvidia-smi failing; no GPU listed), and fails loudly where
// nvidia-smi lists a GPU that NVML cannot open. Its comparison itself, run here against the
// simulated NVML (as libnvidia-ml.so.1 on LD_LIBRARY_PATH) and a stand-in nvidia-smi that answers
// what a real one would for the same GPU: every row matches, a wrong setting is a DIFF, a wrong
// identity makes it exit 1.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { packageRoot, simulatedLibraryPath, writeScenario } from '../../lib/nvml/simulation.js';

const root = packageRoot();
const script = join(root, 'test/gpu/compare-nvidia-smi.ts');
const dir = mkdtempSync(join(tmpdir(), 'test-gpu-'));
const nodeDir = dirname(process.execPath);

function run(binDir: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
    cwd: root,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, PATH: `${binDir}:${nodeDir}:/usr/bin:/bin`, NVML_EXPORTER_NVML_LIBRARY: undefined, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A directory holding an executable `nvidia-smi` with this body (a shell script). */
function fakeSmi(name: string, body: string): string {
  const bin = join(dir, name);
  mkdirSync(bin);
  writeFileSync(join(bin, 'nvidia-smi'), `#!/bin/sh\n${body}\n`);
  chmodSync(join(bin, 'nvidia-smi'), 0o755);
  return bin;
}

t.test('no nvidia-smi on PATH: skipped, exit 0, saying why', async (t) => {
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  const r = run(empty, { PATH: `${empty}:${nodeDir}` });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout.trim(), 'test:gpu SKIPPED: nvidia-smi is not installed (no NVIDIA driver on this machine); run this on a GPU node');
});

t.test('nvidia-smi that cannot reach a driver, or lists no GPU: skipped, exit 0', async (t) => {
  const broken = fakeSmi('broken', `echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver." >&2; exit 9`);
  let r = run(broken);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^test:gpu SKIPPED: nvidia-smi cannot list GPUs \(NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver\. \(exit 9\)\); no usable NVIDIA GPU here$/m);
  const none = fakeSmi('none', 'echo "No devices were found"; exit 0');
  r = run(none);
  t.equal(r.status, 0);
  t.equal(r.stdout.trim(), 'test:gpu SKIPPED: nvidia-smi lists no GPU (No devices were found)');
});

// ---- a stand-in nvidia-smi for the simulated H100 of the scenario below -------------------------

const UUID = 'GPU-5a1f0c3e-7d2b-4c8e-9f10-1a2b3c4d5e6f';
const scenario = join(dir, 'h100.scenario');
writeScenario(scenario, { driverVersion: '580.65.06', cudaDriverVersion: 13000, gpus: [{ uuid: UUID, pciBusId: '00000000:18:00.0', serial: '1654922000001' }] });
const libDir = join(dir, 'lib');
mkdirSync(libDir);
symlinkSync(simulatedLibraryPath(), join(libDir, 'libnvidia-ml.so.1'));

// what nvidia-smi prints for that GPU (units off, as --format=csv,noheader,nounits asks)
const properties: Record<string, string> = {
  index: '0', uuid: UUID, name: 'NVIDIA H100 80GB HBM3', 'pci.bus_id': '00000000:18:00.0', serial: '1654922000001',
  driver_version: '580.65.06', vbios_version: '96.00.99.00.01', 'inforom.img': 'G520.0200.00.05', 'inforom.oem': '2.1',
  'inforom.ecc': '7.16', 'inforom.pwr': '[N/A]', 'mig.mode.current': '[N/A]', 'memory.total': '81559', 'memory.used': '40960',
  'memory.free': '40069', 'memory.reserved': '530', 'temperature.gpu': '45', 'temperature.memory': '52', 'power.draw': '285.00',
  'enforced.power.limit': '700.00', 'power.limit': '700.00', 'power.default_limit': '700.00', 'power.min_limit': '200.00',
  'power.max_limit': '700.00', 'clocks.sm': '1755', 'clocks.mem': '2619', 'clocks.max.sm': '1980', 'clocks.max.memory': '2619',
  'clocks.applications.graphics': '1980', 'clocks.applications.memory': '2619', 'utilization.gpu': '35', 'utilization.memory': '20',
  'utilization.encoder': '0', 'utilization.decoder': '0', 'fan.speed': '[N/A]', pstate: 'P0', 'pcie.link.gen.current': '5',
  'pcie.link.gen.max': '5', 'pcie.link.width.current': '16', 'pcie.link.width.max': '16', compute_mode: 'Default',
  persistence_mode: 'Enabled', 'ecc.mode.current': 'Enabled', 'ecc.mode.pending': 'Enabled',
};
const dashQ = `
==============NVSMI LOG==============

Timestamp                                 : Tue Dec  1 12:00:00 2026
Driver Version                            : 580.65.06
CUDA Version                              : 13.0

Attached GPUs                             : 1
GPU 00000000:18:00.0
    Product Name                          : NVIDIA H100 80GB HBM3
    Product Brand                         : NVIDIA
    Persistence Mode                      : Enabled
    VBIOS Version                         : 96.00.99.00.01
    GPU Virtualization Mode
        Virtualization Mode               : None
        Host VGPU Mode                    : N/A
    PCI
        Bus                               : 0x18
        Replays Since Reset               : 0
        Replay Number Rollovers           : 0
    BAR1 Memory Usage
        Total                             : 131072 MiB
        Used                              : 4 MiB
        Free                              : 131068 MiB
    Compute Mode                          : Default
    Remapped Rows
        Correctable Error                 : 0
        Uncorrectable Error               : 0
        Pending                           : No
        Remapping Failure Occurred        : No
    Temperature
        GPU Current Temp                  : 45 C
        GPU Shutdown Temp                 : 92 C
        GPU Slowdown Temp                 : 89 C
        GPU Max Operating Temp            : 87 C
        Memory Current Temp               : 52 C
        Memory Max Operating Temp         : 95 C
    Max Clocks
        Graphics                          : 1980 MHz
        SM                                : 1980 MHz
        Memory                            : 2619 MHz
        Video                             : 1980 MHz
`;
const nvlinkS = `GPU 0: NVIDIA H100 80GB HBM3 (UUID: ${UUID})\n${Array.from({ length: 18 }, (_, i) => `\t Link ${i}: 26.562 GB/s`).join('\n')}\n`;

/** A Node stand-in that answers -L, --help-query-gpu, --query-gpu=…, -q and nvlink -s from `spec`. */
function standIn(name: string, props: Record<string, string>): string {
  const bin = join(dir, name);
  mkdirSync(bin);
  const spec = join(bin, 'spec.json');
  writeFileSync(spec, JSON.stringify({ props, dashQ, nvlinkS, uuid: UUID }));
  writeFileSync(join(bin, 'nvidia-smi'), `#!/usr/bin/env node
const s = JSON.parse(require('fs').readFileSync(${JSON.stringify(spec)}, 'utf8'));
const a = process.argv.slice(2);
const out = (x) => process.stdout.write(x);
if (a[0] === '-L') out('GPU 0: ' + s.props.name + ' (UUID: ' + s.uuid + ')\\n');
else if (a[0] === '--help-query-gpu') out('List of valid properties to query for the switch "--query-gpu=":\\n\\n' + Object.keys(s.props).map((k) => '"' + k + '"\\nWhat it is.\\n').join('\\n'));
else if (a[0] && a[0].startsWith('--query-gpu=')) {
  const want = a[0].slice(12).split(',');
  const bad = want.find((k) => !(k in s.props));
  if (bad) { process.stderr.write('Field "' + bad + '" is not a valid field to query.\\n'); process.exit(2); }
  out(want.map((k) => s.props[k]).join(', ') + '\\n');
} else if (a[0] === '-q') out(s.dashQ);
else if (a[0] === 'nvlink' && a[1] === '-s') out(s.nvlinkS);
else { process.stderr.write('unknown arguments ' + a.join(' ') + '\\n'); process.exit(2); }
`);
  chmodSync(join(bin, 'nvidia-smi'), 0o755);
  return bin;
}

const onSim = { LD_LIBRARY_PATH: libDir, NVML_SIM_SCENARIO: scenario };
const row = (out: string, what: string): string => out.split('\n').find((l) => l.slice(4).startsWith(what.padEnd(48))) ?? `(no row ${what})`;

t.test('the comparison on a GPU that nvidia-smi describes the same way: every row matches', async (t) => {
  const r = run(standIn('consistent', properties), onSim);
  t.equal(r.status, 0, r.stderr + r.stdout);
  t.match(r.stdout, /^test:gpu on 1 GPU\(s\): NVIDIA H100 80GB HBM3; driver 580\.65\.06; NVML 13\.580\.65\.06; CUDA 13000; library \S+libnvidia-ml\.so\.1$/m);
  t.match(r.stdout, /^summary: \d+ match, 0 differ \(identity 0, settings 0, live 0, info 0\), \d+ n\/a; [\d.]+ s$/m, 'nothing differs');
  for (const what of ['uuid', 'VBIOS version', 'brand', 'DCGM_FI_DEV_MEMORY_TEMP', 'DCGM_FI_DEV_POWER_USAGE (W)', 'DCGM_FI_DEV_FB_RESERVED',
    'DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL', 'DCGM_FI_DEV_VGPU_LICENSE_STATUS', 'DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS', 'powerLimitMin (W)',
    'tempShutdown', 'bar1Total (MiB)', 'computeMode', 'maxVideoClock', 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION: ΔmJ/Δt (W)']) {
    t.match(row(r.stdout, what), / MATCH/, `${what} compared and matching`);
  }
  t.match(r.stdout, /^sweep under this driver \(20 sweeps after 3\): on the sweep thread median \d+ µs/m, 'sweeps timed');
  t.match(r.stdout, /^C loop over the same calls: \d+ µs\/sweep \([\d.]+ calls\); addon end to end ÷ C loop = [\d.]+ \(measured on this driver\)$/m);
});

t.test('a setting nvidia-smi reports otherwise is a DIFF; a different identity fails the run', async (t) => {
  const r = run(standIn('wrong-limit', { ...properties, 'power.max_limit': '650.00' }), onSim);
  t.equal(r.status, 0, 'settings differing do not fail the run: they are reported');
  t.match(row(r.stdout, 'powerLimitMax (W)'), /700 +650\.00 +DIFF$/);
  t.match(r.stdout, /^summary: \d+ match, 1 differ \(identity 0, settings 1, live 0, info 0\)/m);
  const named = run(standIn('wrong-name', { ...properties, name: 'NVIDIA H200' }), onSim);
  t.equal(named.status, 1, 'an identity difference: exit 1');
  t.match(row(named.stdout, 'name'), /NVIDIA H100 80GB HBM3 +NVIDIA H200 +DIFF \(identity\)$/);
});

t.test('nvidia-smi lists a GPU but NVML cannot be opened: a failure, not a skip', async (t) => {
  const r = run(standIn('no-nvml', properties), { LD_LIBRARY_PATH: join(dir, 'nowhere') });
  t.equal(r.status, 1);
  t.match(r.stderr, /^test:gpu FAILED: nvml-exporter --once exited 1/m);
});
