// Test harness for the simulated NVML: builds the C driver (test/fixtures/scenarios/sim-driver.c)
// into os.tmpdir() and runs command scripts through it against the library.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot, simulatedLibraryPath } from '../../lib/nvml/simulation.js';

export type Line = Record<string, unknown> & { cmd: string; ret?: number; ms?: number; value?: unknown };

const root = packageRoot();
export const work = mkdtempSync(join(tmpdir(), 'nvml-sim-'));

function gcc(args: string[]): string | null {
  const r = spawnSync('gcc', args, { encoding: 'utf8' });
  if (r.error) return `gcc is not available (${r.error.message})`;
  if (r.status !== 0) throw new Error(`gcc ${args.join(' ')} failed:\n${r.stderr}`);
  return null;
}

const SIM_SOURCES = ['nvml_sim.c', 'sim_state.c', 'sim_parse.c', 'sim_readings.c', 'sim_fields.c', 'sim_mig_events.c'];

/** The built library, or (when `npm run build` has not produced it) one compiled here from source. */
function library(legacy: boolean): { path: string; note: string | null; skip: string | null } {
  const built = simulatedLibraryPath(legacy);
  const newest = Math.max(...SIM_SOURCES.map((f) => statSync(join(root, 'native/fake', f)).mtimeMs));
  if (existsSync(built) && statSync(built).mtimeMs >= newest) return { path: built, note: null, skip: null };
  const out = join(work, legacy ? 'nvml_sim_legacy.so' : 'nvml_sim.so');
  const skip = gcc(['-std=c11', '-O2', '-fPIC', '-shared', ...(legacy ? ['-DNVML_SIM_LEGACY=1'] : []),
    `-I${join(root, 'native')}`, ...SIM_SOURCES.map((f) => join(root, 'native/fake', f)), '-o', out, '-lpthread', '-lm']);
  return { path: out, note: `${built} is missing or older than its sources; compiled ${out} from native/fake/`, skip };
}

export interface Sim {
  skip: string | null;
  note: string | null;
  run(cmds: string[], env?: Record<string, string | undefined>): { lines: Line[]; stderr: string };
}

export function simHarness(legacy = false): Sim {
  const driver = join(work, 'sim-driver');
  let skip = existsSync(driver) ? null : gcc(['-std=c11', '-O1', `-I${join(root, 'native')}`,
    join(root, 'test/fixtures/scenarios/sim-driver.c'), '-o', driver, '-ldl', '-lpthread']);
  let lib = { path: '', note: null as string | null, skip: null as string | null };
  if (!skip) {
    lib = library(legacy);
    skip = lib.skip;
  }
  return {
    skip,
    note: lib.note,
    run(cmds, env = {}) {
      const r = spawnSync(driver, [lib.path], {
        input: cmds.join('\n') + '\n',
        encoding: 'utf8',
        env: { ...process.env, NVML_SIM_SCENARIO: undefined, ...env },
        timeout: 60_000,
      });
      if (r.status !== 0) throw new Error(`sim-driver exited ${r.status}: ${r.stderr}`);
      const lines = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
      return { lines, stderr: r.stderr };
    },
  };
}
