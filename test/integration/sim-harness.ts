// Test harness for the simulated NVML: builds the C driver (test/fixtures/scenarios/sim-driver.c)
// into os.tmpdir() and runs command scripts through it against the library; and builds copies of
// the library with chosen symbols truly absent (simWithout). gcc is required: the project does
// not build without it (node-gyp), so a missing gcc is reported for the tests to fail on.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot, simulatedLibraryPath } from '../../lib/nvml/simulation.js';

export type Line = Record<string, unknown> & { cmd: string; ret?: number; ms?: number; value?: unknown };

const root = packageRoot();
export const work = mkdtempSync(join(tmpdir(), 'nvml-sim-'));

/** The message for a machine without gcc: a test failure, never a skip. */
export function gccMissing(why: string): string {
  return `gcc is not available (${why}). gcc is required to build nvml-exporter at all (node-gyp builds the addon ` +
    'and the simulated NVML) and by these tests: install gcc (Debian/Ubuntu: apt-get install build-essential)';
}

/** Runs gcc; returns gccMissing(…) when gcc cannot be started, throws when it fails. */
function gcc(args: string[], cwd?: string): string | null {
  const r = spawnSync('gcc', args, { encoding: 'utf8', cwd });
  if (r.error) return gccMissing(r.error.message);
  if (r.status !== 0) throw new Error(`gcc ${args.join(' ')} failed:\n${r.stderr}`);
  return null;
}

const SIM_SOURCES = ['nvml_sim.c', 'sim_state.c', 'sim_parse.c', 'sim_readings.c', 'sim_fields.c', 'sim_mig_events.c',
  'sim_settings.c', 'sim_gpu_instances.c', 'sim_latency.c', 'sim_gpm.c', 'sim_gpm_parse.c', 'sim_processes.c'];

/** The built library, or (when `npm run build` has not produced it) one compiled here from source. */
function library(legacy: boolean): { path: string; note: string | null; missingGcc: string | null } {
  const built = simulatedLibraryPath(legacy);
  const newest = Math.max(...SIM_SOURCES.map((f) => statSync(join(root, 'native/fake', f)).mtimeMs));
  if (existsSync(built) && statSync(built).mtimeMs >= newest) return { path: built, note: null, missingGcc: null };
  const out = join(work, legacy ? 'nvml_sim_legacy.so' : 'nvml_sim.so');
  const missingGcc = gcc(['-std=c11', '-O2', '-fPIC', '-shared', ...(legacy ? ['-DNVML_SIM_LEGACY=1'] : []),
    `-I${join(root, 'native')}`, ...SIM_SOURCES.map((f) => join(root, 'native/fake', f)), '-o', out, '-lpthread', '-lm']);
  return { path: out, note: `${built} is missing or older than its sources; compiled ${out} from native/fake/`, missingGcc };
}

export interface Sim {
  /** set when gcc is missing: the caller fails with this message */
  missingGcc: string | null;
  note: string | null;
  run(cmds: string[], env?: Record<string, string | undefined>): { lines: Line[]; stderr: string };
}

export function simHarness(legacy = false): Sim {
  const driver = join(work, 'sim-driver');
  let missingGcc = existsSync(driver) ? null : gcc(['-std=c11', '-O1', `-I${join(root, 'native')}`,
    join(root, 'test/fixtures/scenarios/sim-driver.c'), '-o', driver, '-ldl', '-lpthread']);
  let lib = { path: '', note: null as string | null, missingGcc: null as string | null };
  if (!missingGcc) {
    lib = library(legacy);
    missingGcc = lib.missingGcc;
  }
  return {
    missingGcc,
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

// ---- a copy of the simulated library with symbols truly absent ---------------------------------

let objects: { dir: string; files: string[]; symbols: string[] } | null = null;

/** Compiles native/fake/ to objects once per process; lists the nvml* symbols they define. */
function simObjects(): { dir: string; files: string[]; symbols: string[] } | string {
  if (objects) return objects;
  const dir = join(work, 'obj');
  mkdirSync(dir, { recursive: true });
  const missing = gcc(['-std=c11', '-O1', '-fPIC', '-c', `-I${join(root, 'native')}`,
    ...SIM_SOURCES.map((f) => join(root, 'native/fake', f))], dir);
  if (missing) return missing;
  const files = SIM_SOURCES.map((f) => join(dir, f.replace(/\.c$/, '.o')));
  const nm = spawnSync('nm', ['-g', '--defined-only', ...files], { encoding: 'utf8' });
  if (nm.error || nm.status !== 0) throw new Error(`nm failed (binutils comes with gcc): ${nm.error?.message ?? nm.stderr}`);
  const symbols = [...new Set(nm.stdout.split('\n').map((l) => l.trim().split(/\s+/)[2] ?? '').filter((n) => /^nvml\w+$/.test(n)))].sort();
  objects = { dir, files, symbols };
  return objects;
}

export interface SimWithout {
  /** set when gcc is missing: the caller fails with this message */
  missingGcc: string | null;
  /** the built library (empty when gcc is missing) */
  path: string;
  /** the nvml* symbols it exports */
  exported: string[];
}

/**
 * The simulated NVML (current symbol set) linked with a version script that exports every nvml*
 * symbol except `hidden`: those are absent from the dynamic symbol table, so dlsym() returns NULL
 * for them exactly as it does for a function an older libnvidia-ml lacks. `name` names the file.
 */
export function simWithout(name: string, hidden: readonly string[]): SimWithout {
  const o = simObjects();
  if (typeof o === 'string') return { missingGcc: o, path: '', exported: [] };
  const unknown = hidden.filter((h) => !o.symbols.includes(h));
  if (unknown.length > 0) throw new Error(`simWithout: the simulated library does not define ${unknown.join(', ')}`);
  const exported = o.symbols.filter((n) => !hidden.includes(n));
  const script = join(work, `${name}.map`);
  writeFileSync(script, `{\n  global:\n${exported.map((n) => `    ${n};`).join('\n')}\n  local: *;\n};\n`);
  const out = join(work, `${name}.so`);
  const missing = gcc(['-shared', '-o', out, ...o.files, `-Wl,--version-script=${script}`, '-lpthread', '-lm']);
  if (missing) return { missingGcc: missing, path: '', exported: [] };
  return { missingGcc: null, path: out, exported };
}

/** The nvml* symbols in a shared library's dynamic symbol table (nm -D). */
export function dynamicNvmlSymbols(lib: string): string[] {
  const nm = spawnSync('nm', ['-D', '--defined-only', lib], { encoding: 'utf8' });
  if (nm.error || nm.status !== 0) throw new Error(`nm -D ${lib} failed: ${nm.error?.message ?? nm.stderr}`);
  return nm.stdout.split('\n').map((l) => l.trim().split(/\s+/)[2] ?? '').filter((n) => /^nvml\w+$/.test(n)).sort();
}
