// `npm run bench:nvml`: what the addon adds on top of the NVML calls themselves. The same 8-GPU
// simulated scenario is swept back to back by (a) a plain C loop making the same NVML calls
// (bench/nvml-c-loop.c, built here with gcc) and (b) Nvml.sweep() from JS, which also pays for
// the thread hop and for building the whole result object. Twice: with the simulated library's
// calls as cheap as they are (a mutex and a lookup), and under its latency model, where every call
// costs its published per-call latency (native/fake/README.md, "Latency model"). Prints µs per sweep
// and the ratio addon ÷ C for both, and writes the "NVML sweep" section of BENCHMARKS.md.
// Targets: addon ≤ 1.5 × the C loop; under the latency model ≤ 1.1 ×. Then the sweep with GPM next to
// without (bench/nvml-gpm.ts), written as the "NVML sweep with GPM" section.
// BENCH_CASES=processes: only the cost of reading the processes (8 GPUs × 16 processes), into the
// "NVML sweep with processes" section.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Nvml } from '../lib/nvml/index.js';
import { demoScenario, processScenario, simulatedLibraryPath, writeScenario } from '../lib/nvml/simulation.js';
import type { Scenario } from '../lib/nvml/scenario.js';
import { repoRoot, updateBenchmarks } from './report.js';
import { gpmTable, measureGpm } from './nvml-gpm.js';

const GPUS = 8;
const N = Number(process.env.BENCH_SWEEPS ?? process.argv[2] ?? 5000);
const N_LATENCY = Number(process.env.BENCH_SWEEPS_LATENCY ?? process.argv[3] ?? 700);
const WARMUP = 2000; // the JIT settles: fewer and the first thousands of sweeps pay for compiling the decoder
const TARGET = 1.5;
const TARGET_LATENCY = 1.1;

for (const [n, what] of [[N, 'the sweep count (argument 1 or BENCH_SWEEPS)'], [N_LATENCY, 'the latency-model sweep count (argument 2 or BENCH_SWEEPS_LATENCY)']] as const) {
  if (!Number.isInteger(n) || n < 10) {
    console.error(`bench:nvml: ${what} must be an integer ≥ 10, got ${String(n)}`);
    process.exit(2);
  }
}

const loadBefore = loadavg()[0]!;
const dir = mkdtempSync(join(tmpdir(), 'nvml-bench-'));
const scenarioFile = join(dir, 'scenario.txt');
process.env.NVML_SIM_SCENARIO = scenarioFile;
delete process.env.NVML_SIM_LATENCY; // the scenario says whether the model is on
const library = simulatedLibraryPath();

if (process.env.BENCH_CASES === 'processes') {
  await benchProcesses();
  process.exit(0);
}

/**
 * The cost of the process queries: 8 GPUs × 16 processes swept with and without processes in
 * alternating rounds, without latency and under the latency model (each process call 2.5 µs).
 */
async function benchProcesses(): Promise<void> {
  const PER_GPU = 16;
  const n = Number(process.env.BENCH_SWEEPS ?? 1000);
  const rounds = 7;
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const rows: string[] = [];
  for (const latency of ['off', 'published'] as const) {
    writeScenario(scenarioFile, { ...processScenario(GPUS, PER_GPU), latency });
    const nvml = await Nvml.open({ library });
    for (let i = 0; i < 200; i++) await nvml.sweep({ processes: i % 2 === 0 });
    const per = Math.max(10, Math.round(n / rounds));
    const without: number[] = [];
    const withP: number[] = [];
    const thread: number[] = [];
    const procUs: number[] = [];
    let seen = 0;
    for (let r = 0; r < rounds; r++) {
      for (const on of [false, true]) {
        const t0 = process.hrtime.bigint();
        let th = 0;
        let pu = 0;
        for (let i = 0; i < per; i++) {
          const res = await nvml.sweep({ processes: on });
          th += res.durationUs;
          if (on) {
            pu += res.processes!.durationUs;
            seen = res.processes!.devices.reduce((k, d) => k + d.processes.length, 0);
          }
        }
        const us = Number(process.hrtime.bigint() - t0) / 1e3 / per;
        if (on) {
          withP.push(us);
          thread.push(th / per);
          procUs.push(pu / per);
        } else without.push(us);
      }
    }
    await nvml.close();
    if (seen !== GPUS * PER_GPU) {
      console.error(`bench:nvml: expected ${GPUS * PER_GPU} processes per sweep, got ${seen}`);
      process.exit(1);
    }
    const line = `| ${latency === 'off' ? 'no latency' : 'latency model'} | ${med(without).toFixed(1)} | ${med(withP).toFixed(1)} | ${med(thread).toFixed(1)} | ${med(procUs).toFixed(1)} | ${(med(procUs) / GPUS).toFixed(1)} |`;
    console.log(line);
    rows.push(line);
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}; load average (1 min) ${loadBefore.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after`;
  if (process.env.BENCH_NO_WRITE === '1') return;
  updateBenchmarks(
    'NVML sweep with processes',
    `Command: \`BENCH_CASES=processes npm run bench:nvml\` (${n} sweeps each way in ${rounds} alternating rounds). Machine: ${machine}.
${GPUS} simulated GPUs × ${PER_GPU} processes each (\`processScenario(${GPUS}, ${PER_GPU})\`): per GPU the compute, graphics and MPS
lists (a sizing call and a fill call each) and the per-process utilisation samples (sizing + fill, ~60 samples per process
from the first read, then the samples since the previous read). Figures are medians of the rounds, µs per sweep.

| library | sweep without processes | sweep with processes | of which on the sweep thread | process queries (all GPUs) | per GPU |
|---|---|---|---|---|---|
${rows.join('\n')}

Under the latency model every process call costs 2.5 µs (no figure is published for them; the cheapest published call
is the model's floor), so the figures are a lower bound for a real driver, where a busy GPU can make the process
queries much slower: that is what \`--process-budget\` and \`--process-slow-interval\` are for.`,
  );
}

const exe = join(dir, 'nvml-c-loop');
try {
  execFileSync('gcc', ['-O2', '-Wall', '-I', join(repoRoot, 'native'), '-o', exe, join(repoRoot, 'bench', 'nvml-c-loop.c'), '-ldl', '-lpthread'], { stdio: 'inherit' });
} catch (err) {
  console.error(`bench:nvml: cannot build bench/nvml-c-loop.c with gcc (${(err as Error).message}); install gcc (build-essential)`);
  process.exit(1);
}

interface Run {
  sweeps: number;
  cUs: number;
  callsPerSweep: number;
  jsUs: number;
  threadUs: number;
  cpuUs: number;
  /** addon ÷ C of each round, in the order measured */
  ratios: number[];
  /** the fastest round of each side: what the work costs when nothing else on the machine interferes */
  bestCUs: number;
  bestJsUs: number;
}

const ROUNDS = 7;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * `n` sweeps each way, in ROUNDS alternating rounds (C loop, then addon): this machine's load
 * changes over seconds, and a ratio of two runs minutes apart measures that. Each figure is the
 * median over the rounds; the ratio is the median of the rounds' ratios.
 */
async function measure(scenario: Scenario, n: number, warmup: number): Promise<Run> {
  writeScenario(scenarioFile, scenario);
  const per = Math.max(10, Math.round(n / ROUNDS));
  execFileSync(exe, [library, String(warmup)]);
  const nvml = await Nvml.open({ library });
  for (let i = 0; i < warmup; i++) await nvml.sweep();
  const rounds: { cUs: number; jsUs: number; threadUs: number; cpuUs: number }[] = [];
  let callsPerSweep = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const cOut = execFileSync(exe, [library, String(per)], { encoding: 'utf8' });
    const cUs = Number(/us_per_sweep (\S+)/.exec(cOut)?.[1]);
    const cGpus = Number(/gpus (\d+)/.exec(cOut)?.[1]);
    callsPerSweep = Number(/calls_per_sweep (\S+)/.exec(cOut)?.[1]);
    if (!Number.isFinite(cUs) || cGpus !== GPUS || !(callsPerSweep > 0)) {
      console.error(`bench:nvml: unexpected output from the C loop:\n${cOut}`);
      process.exit(1);
    }
    let nativeUs = 0;
    let devices = 0;
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < per; i++) {
      const res = await nvml.sweep();
      nativeUs += res.durationUs;
      devices += res.devices.length;
    }
    const jsUs = Number(process.hrtime.bigint() - t0) / 1e3 / per;
    const cpu = process.cpuUsage(cpu0);
    if (devices !== GPUS * per) {
      console.error(`bench:nvml: expected ${GPUS} GPUs per sweep, got ${devices / per}`);
      process.exit(1);
    }
    rounds.push({ cUs, jsUs, threadUs: nativeUs / per, cpuUs: (cpu.user + cpu.system) / per });
  }
  await nvml.close();
  const ratios = rounds.map((x) => x.jsUs / x.cUs);
  return {
    sweeps: per * ROUNDS,
    cUs: median(rounds.map((x) => x.cUs)),
    callsPerSweep,
    jsUs: median(rounds.map((x) => x.jsUs)),
    threadUs: median(rounds.map((x) => x.threadUs)),
    cpuUs: median(rounds.map((x) => x.cpuUs)),
    ratios,
    bestCUs: Math.min(...rounds.map((x) => x.cUs)),
    bestJsUs: Math.min(...rounds.map((x) => x.jsUs)),
  };
}

// (1) the simulated library as it is; (2) under its latency model
const plain = await measure(demoScenario(GPUS), N, WARMUP);
const modelled = await measure({ ...demoScenario(GPUS), latency: 'published' }, N_LATENCY, Math.min(WARMUP, N_LATENCY));

// the fixed cost of one sweep: a node with no GPU, and this machine's thread round trip
const rtOut = execFileSync(exe, ['--round-trip', String(Math.max(N, 5000))], { encoding: 'utf8' });
const rtUs = Number(/us_per_round_trip (\S+)/.exec(rtOut)?.[1]);
if (!Number.isFinite(rtUs)) {
  console.error(`bench:nvml: unexpected output from the round-trip measurement:\n${rtOut}`);
  process.exit(1);
}
writeScenario(scenarioFile, { gpus: [] });
const nvml = await Nvml.open({ library });
for (let i = 0; i < WARMUP; i++) await nvml.sweep();
const t1 = process.hrtime.bigint();
for (let i = 0; i < N; i++) {
  if ((await nvml.sweep()).devices.length !== 0) {
    console.error('bench:nvml: the empty scenario still has GPUs');
    process.exit(1);
  }
}
const emptyUs = Number(process.hrtime.bigint() - t1) / 1e3 / N;
await nvml.close();

const ratio = median(plain.ratios);
const ratioModel = median(modelled.ratios);
const best = (r: Run) => r.bestJsUs / r.bestCUs;
const range = (r: Run) => `${Math.min(...r.ratios).toFixed(3)}–${Math.max(...r.ratios).toFixed(3)}`;
const met = (r: number, target: number) => (r <= target ? 'met' : 'NOT met');
const ownUs = plain.jsUs - plain.threadUs - rtUs;
// An estimate, not a measurement: the addon's added cost does not grow with what an NVML call costs,
// so against a driver whose every call costs at least the cheapest published latency (2.5 µs) the
// ratio is at most this. The latency model above measures the same idea against the published figures.
const CHEAPEST_REAL_CALL_US = 2.5;
const addedUs = plain.jsUs - plain.cUs;
const driverUs = plain.callsPerSweep * CHEAPEST_REAL_CALL_US;
const driverRatio = (driverUs + addedUs) / driverUs;
const load = `load average (1 min) ${loadBefore.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after`;
const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}; ${load}`;

console.log(`NVML sweep, ${GPUS} simulated GPUs (${machine})`);
for (const [name, r] of [['simulated library, no latency', plain], ['latency model (published per-call costs)', modelled]] as const) {
  console.log(` ${name}, ${r.sweeps} sweeps each way, ${r.callsPerSweep} NVML calls per sweep`);
  console.log(`  C loop (same NVML calls)          ${r.cUs.toFixed(1)} µs/sweep`);
  console.log(`  addon: Nvml.sweep() end to end    ${r.jsUs.toFixed(1)} µs/sweep`);
  console.log(`  addon: time on the sweep thread   ${r.threadUs.toFixed(1)} µs/sweep`);
  console.log(`  addon: CPU (all threads)          ${r.cpuUs.toFixed(1)} µs/sweep`);
}
console.log(`  addon: a sweep of no GPU          ${emptyUs.toFixed(1)} µs/sweep`);
console.log(`  thread round trip (C, condvars)   ${rtUs.toFixed(1)} µs`);
console.log(`  ratio addon / C, no latency       median of ${ROUNDS} rounds ${ratio.toFixed(2)} (${range(plain)}), fastest rounds ${best(plain).toFixed(2)}; target ≤ ${TARGET}: ${met(ratio, TARGET)}`);
console.log(`  ratio addon / C, latency model    median of ${ROUNDS} rounds ${ratioModel.toFixed(3)} (${range(modelled)}), fastest rounds ${best(modelled).toFixed(3)}; target ≤ ${TARGET_LATENCY}: ${met(ratioModel, TARGET_LATENCY)}`);
console.log(`  estimate against a real driver (${plain.callsPerSweep} calls × ≥ ${CHEAPEST_REAL_CALL_US} µs): ratio ≤ ${driverRatio.toFixed(2)}`);

const GPM_SWEEPS = Number(process.env.BENCH_GPM_SWEEPS ?? 30);
const gpmRows = await measureGpm(library, scenarioFile, GPM_SWEEPS);
console.log(`NVML sweep with GPM (${GPM_SWEEPS} paired sweeps per line, 110 ms apart)`);
console.log(gpmTable(gpmRows));

if (process.env.BENCH_NO_WRITE === '1') process.exit(0);
updateBenchmarks(
  'NVML sweep with GPM',
  `Command: \`npm run bench:nvml\` (bench/nvml-gpm.ts, called by bench/nvml-sweep.ts). Machine: ${machine}.
The sweep with GPM next to without, on 8 simulated H100s (\`demoScenario(8)\`) and 8 H100s × 7 \`1g.10gb\` MIG instances
(\`migScenario(8, 7)\`), with the simulated library as it is and under its latency model (every GPM call costs 2.5 µs, the
cheapest published per-call figure: no GPM latency is published). GPM metrics need two samples ≥ 100 ms apart, so the
sweeps are 110 ms apart (${GPM_SWEEPS} paired sweeps per line after one unpaired first sweep; medians). Each entity costs a
sample get and a metrics get per sweep (91 metrics for a GPU, 12 for a GPU instance, 11 for a compute instance, in one call).

${gpmTable(gpmRows)}

The simulated GPM calls integrate the scenario's values (native/fake/README.md, "GPM"); a real driver's GPM cost is not
known here (no GPU at hand): \`npm run test:gpu\` times a sweep under the real driver where one is.`,
);
updateBenchmarks(
  'NVML sweep',
  `Command: \`npm run bench:nvml\` (\`node --import tsx bench/nvml-sweep.ts ${N} ${N_LATENCY}\`). Machine: ${machine}.
${GPUS} simulated GPUs (\`demoScenario(${GPUS})\`, build/Release/nvml_sim.so), back to back after warm-up sweeps, in ${ROUNDS} alternating rounds
(C loop, then addon; each figure the median over the rounds): ${plain.sweeps} sweeps each way with the simulated library as it is,
${modelled.sweeps} each way under its latency model (\`latency published\`: every call costs its
published per-call latency — utilization 2.5 µs, memory info 11.6 µs, fan speed 137 µs, every other call 2.5 µs, the cheapest
published figure; native/fake/README.md "Latency model", ../shared/reference/interfaces.md C.8). Both sides make the same
${plain.callsPerSweep} NVML calls per sweep.

| figure | no latency | latency model | target |
|---|---|---|---|
| C loop, the same NVML calls per sweep (bench/nvml-c-loop.c, gcc -O2) | ${plain.cUs.toFixed(1)} µs/sweep | ${modelled.cUs.toFixed(1)} µs/sweep | |
| addon, \`await nvml.sweep()\` end to end (thread hop + building the result object) | ${plain.jsUs.toFixed(1)} µs/sweep | ${modelled.jsUs.toFixed(1)} µs/sweep | |
| addon, time spent on the sweep thread (\`durationUs\`) | ${plain.threadUs.toFixed(1)} µs/sweep | ${modelled.threadUs.toFixed(1)} µs/sweep | |
| addon, CPU time of the whole process (all threads; the model busy-waits) | ${plain.cpuUs.toFixed(1)} µs/sweep | ${modelled.cpuUs.toFixed(1)} µs/sweep | |
| **ratio addon / C loop** (median of the rounds' ratios) | **${ratio.toFixed(2)}** | **${ratioModel.toFixed(3)}** | ≤ ${TARGET} (${met(ratio, TARGET)}); under the model ≤ ${TARGET_LATENCY} (${met(ratioModel, TARGET_LATENCY)}) |
| the rounds' ratios, lowest–highest | ${range(plain)} | ${range(modelled)} | |
| ratio of each side's fastest round (${plain.bestJsUs.toFixed(1)} / ${plain.bestCUs.toFixed(1)} µs; ${modelled.bestJsUs.toFixed(0)} / ${modelled.bestCUs.toFixed(0)} µs) | ${best(plain).toFixed(2)} | ${best(modelled).toFixed(3)} | |
| addon, a sweep of a node with no GPU end to end: the fixed cost of one sweep | ${emptyUs.toFixed(1)} µs/sweep | | |
| this machine's thread round trip: request to a sleeping thread and answer back (C, condition variables) | ${rtUs.toFixed(1)} µs | | |
| addon's own work: end to end − sweep thread − round trip (packing, the crossing, decoding, the promise) | ${ownUs.toFixed(1)} µs/sweep | | |
| estimate, not a measurement: ratio against a real driver, each call ≥ ${CHEAPEST_REAL_CALL_US} µs | ≤ ${driverRatio.toFixed(2)} | | |

Without latency the simulated calls cost a mutex and a lookup, so the fixed per-sweep cost of keeping NVML
off the JS thread (the thread round trip alone is ${rtUs.toFixed(1)} µs here, against a ${(plain.cUs * (TARGET - 1)).toFixed(1)} µs budget
at ${TARGET} ×) dominates${ratio > TARGET ? ' and the 1.5 × target is not met' : ''}. Under the latency model the addon adds
${(modelled.jsUs - modelled.cUs).toFixed(1)} µs to ${modelled.cUs.toFixed(0)} µs of NVML calls. The model is the published figures, not a GPU:
real per-call costs vary by call, GPU and driver, and no GPU was at hand to measure them (\`npm run test:gpu\` times a
sweep under the real driver where one is).`,
);
