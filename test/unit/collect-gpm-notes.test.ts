// The GPM log lines: once per GPU without GPM with the reason, once for NO_PERMISSION (with the
// fix) whatever the number of GPUs and sweeps, once per GPU and code for other failures.
import t from 'tap';
import { GpmNotes, GPM_PERMISSION_FIX } from '../../lib/collect/gpm-notes.js';
import type { DeviceSample, GpmEntity, GpmSample } from '../../lib/nvml/types.js';
import type { Logger } from '../../lib/logger.js';

function capture(): { logger: Logger; lines: [string, string][] } {
  const lines: [string, string][] = [];
  const at = (level: string) => (msg: string) => void lines.push([level, msg]);
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as Logger };
}
const entity = (code: number, gi: number | null = null): GpmEntity => ({ gpuInstanceId: gi, computeInstanceId: null, code, values: new Map(), status: new Map() });
const dev = (index: number, name: string, gpm: GpmSample | undefined, migEnabled = false): DeviceSample => ({
  index, minor: index, uuid: `GPU-${index}`, name, pciBusId: '', serial: null, migEnabled, lostCode: null, readings: {}, status: {}, mig: [], gpm,
});

t.test('no GPM: one line per GPU naming it and the reason, not one per sweep', async (t) => {
  const { logger, lines } = capture();
  const notes = new GpmNotes(logger);
  const sweep = [dev(0, 'NVIDIA A100-SXM4-80GB', { support: 3, gpu: null, instances: [], computeInstances: [] }),
    dev(1, 'NVIDIA H100 80GB HBM3', { support: 13, gpu: null, instances: [], computeInstances: [] }),
    dev(2, 'NVIDIA H100 80GB HBM3', { support: 0, gpu: entity(0), instances: [], computeInstances: [] })];
  notes.check(sweep);
  notes.check(sweep);
  t.same(lines, [
    ['info', 'GPU 0 (NVIDIA A100-SXM4-80GB) has no GPM: NVML profiling metrics need a Hopper or newer GPU; its DCGM_FI_PROF_* series are skipped'],
    ['info', 'GPU 1 (NVIDIA H100 80GB HBM3): the NVML library has no GPM functions (nvmlGpmQueryDeviceSupport and the rest come with driver R520 or newer); its DCGM_FI_PROF_* series are skipped'],
  ]);
});

t.test('NO_PERMISSION: once for the node, with the fix; other codes once per GPU and code', async (t) => {
  const { logger, lines } = capture();
  const notes = new GpmNotes(logger);
  const sweep = [dev(0, 'H100', { support: 0, gpu: entity(4), instances: [], computeInstances: [] }),
    dev(1, 'H100', { support: 4, gpu: null, instances: [], computeInstances: [] }),
    dev(2, 'H100', { support: 0, gpu: entity(999), instances: [entity(13, 1)], computeInstances: [] }),
    dev(3, 'H100', { support: 0, gpu: entity(3), instances: [entity(0, 1)], computeInstances: [] }, true)];
  notes.check(sweep);
  notes.check(sweep);
  t.equal(lines.length, 4);
  t.same(lines[0], ['warn', `NVML refuses GPM (NVML_ERROR_NO_PERMISSION) on GPU 0: DCGM_FI_PROF_* series are missing; ${GPM_PERMISSION_FIX}`]);
  t.match(lines[1]![1], /^GPM failed on GPU 2 \(NVML_ERROR_UNKNOWN\)/);
  t.match(lines[2]![1], /GPU 2 \(H100\): the NVML library has GPM but not nvmlGpmMigSampleGet/);
  t.same(lines[3], ['info', 'GPU 3 (H100): GPM answers NOT_SUPPORTED for the whole GPU (MIG is enabled): the DCGM_FI_PROF_* series of that level are skipped']);
  t.match(GPM_PERMISSION_FIX, /NVreg_RestrictProfilingToAdminUsers=0/);
});

t.test('a sweep without GPM (not asked) says nothing', async (t) => {
  const { logger, lines } = capture();
  new GpmNotes(logger).check([dev(0, 'A100', undefined)]);
  t.same(lines, []);
});
