// The GPM part of `npm run bench:nvml` (bench/nvml-sweep.ts calls it): the sweep with GPM next to
// without, on 8 simulated H100s and on 8 H100s × 7 MIG instances, with the simulated library as it
// is and under its latency model. GPM metrics need two samples ≥ 100 ms apart, so sweeps here are
// spaced 110 ms (back-to-back sweeps would only take samples and never compute a metric); the
// first sweep of each run (no pair yet) is left out. Figures: the time on the sweep thread
// (`durationUs`) and end to end (`await nvml.sweep()`), medians over the sweeps.
import { Nvml, type SweepOptions } from '../lib/nvml/index.js';
import { demoScenario, migScenario, writeScenario } from '../lib/nvml/simulation.js';
import type { Scenario } from '../lib/nvml/scenario.js';

export interface GpmRow {
  scenario: string;
  model: 'no latency' | 'latency model';
  gpm: string;
  threadUs: number;
  jsUs: number;
  /** GPM entities with metrics in the last sweep (GPUs + GPU instances [+ compute instances]) */
  entities: number;
  /** GPM calls per sweep: a sample get and a metrics get per entity (the support query is asked once per GPU) */
  gpmCalls: number;
}

const SPACING_MS = 110;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(library: string, file: string, scenario: Scenario, gpm: SweepOptions['gpm'], sweeps: number): Promise<{ threadUs: number; jsUs: number; entities: number }> {
  writeScenario(file, scenario);
  const nvml = await Nvml.open({ library });
  try {
    const thread: number[] = [];
    const js: number[] = [];
    let entities = 0;
    for (let i = 0; i <= sweeps; i++) {
      const t0 = process.hrtime.bigint();
      const r = await nvml.sweep({ gpm });
      const us = Number(process.hrtime.bigint() - t0) / 1e3;
      if (i > 0) {
        thread.push(r.durationUs);
        js.push(us);
      }
      entities = r.devices.reduce((n, d) => n + [d.gpm?.gpu ?? null, ...(d.gpm?.instances ?? []), ...(d.gpm?.computeInstances ?? [])].filter((e) => e?.code === 0).length, 0);
      await sleep(SPACING_MS);
    }
    return { threadUs: median(thread), jsUs: median(js), entities };
  } finally {
    await nvml.close();
  }
}

/** Measures every combination; `sweeps` paired sweeps each (≈ sweeps × 0.11 s per combination). */
export async function measureGpm(library: string, file: string, sweeps: number): Promise<GpmRow[]> {
  const rows: GpmRow[] = [];
  const cases: [string, Scenario][] = [['8 H100', demoScenario(8)], ['8 H100 × 7 MIG', migScenario(8, 7)]];
  for (const [name, base] of cases) {
    for (const model of ['no latency', 'latency model'] as const) {
      const scenario: Scenario = { ...base, latency: model === 'latency model' ? 'published' : 'off' };
      const modes: [string, SweepOptions['gpm']][] = [['off', false], ['on (GPU + GPU instances)', true]];
      if (name.includes('MIG')) modes.push(['on, with compute instances', 'with-compute-instances']);
      for (const [label, gpm] of modes) {
        const r = await run(library, file, scenario, gpm, sweeps);
        const gis = name.includes('MIG') ? 8 * 7 : 0;
        const entities = gpm === false ? 0 : 8 + gis + (gpm === 'with-compute-instances' ? gis : 0);
        rows.push({ scenario: name, model, gpm: label, threadUs: r.threadUs, jsUs: r.jsUs, entities: r.entities, gpmCalls: 2 * entities });
      }
    }
  }
  return rows;
}

export function gpmTable(rows: readonly GpmRow[]): string {
  const base = (r: GpmRow) => rows.find((x) => x.scenario === r.scenario && x.model === r.model && x.gpm === 'off')!;
  const lines = rows.map((r) => {
    const b = base(r);
    const extra = r === b ? '' : `+${(r.threadUs - b.threadUs).toFixed(0)} µs (×${(r.threadUs / b.threadUs).toFixed(2)})`;
    return `| ${r.scenario} | ${r.model} | ${r.gpm} | ${r.entities} | ${r.gpmCalls} | ${r.threadUs.toFixed(1)} | ${r.jsUs.toFixed(1)} | ${extra} |`;
  });
  return '| GPUs | simulated library | GPM | entities with metrics | GPM calls per sweep | sweep thread µs | end to end µs | GPM adds (sweep thread) |\n' +
    '|---|---|---|---|---|---|---|---|\n' + lines.join('\n');
}
