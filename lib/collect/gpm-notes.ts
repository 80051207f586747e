// The log lines about GPM (profiling metrics) a sweep calls for: once per GPU that has no GPM (with
// the reason), once when NVML refuses GPM for lack of privilege (with the fix), and once per GPU and
// code for any other GPM failure. Only sweeps that asked for GPM carry `gpm`, so nothing is said
// when no DCGM_FI_PROF_* field is selected.
import type { DeviceSample } from '../nvml/types.js';
import type { Logger } from '../logger.js';
import { nvmlErrorName } from '../nvml/errors.js';

const NO_PERMISSION = 4;
const NOT_SUPPORTED = 3;
const FUNCTION_NOT_FOUND = 13;

export const GPM_PERMISSION_FIX =
  'profiling counters are restricted to administrators on this node: load the NVIDIA kernel module with ' +
  'NVreg_RestrictProfilingToAdminUsers=0 (e.g. `options nvidia NVreg_RestrictProfilingToAdminUsers=0` in /etc/modprobe.d/), ' +
  'or run the exporter with CAP_SYS_ADMIN';

export class GpmNotes {
  private readonly said = new Set<string>();
  private permissionSaid = false;

  constructor(private readonly logger: Logger) {}

  check(devices: readonly DeviceSample[]): void {
    for (const d of devices) {
      const g = d.gpm;
      if (!g || d.lostCode !== null) continue;
      const who = { gpu: d.index, uuid: d.uuid, model: d.name };
      if (g.support === NOT_SUPPORTED) {
        this.once(`${d.uuid}:support`, () => this.logger.info(
          `GPU ${d.index} (${d.name}) has no GPM: NVML profiling metrics need a Hopper or newer GPU; its DCGM_FI_PROF_* series are skipped`, who));
        continue;
      }
      if (g.support === FUNCTION_NOT_FOUND) {
        this.once(`${d.uuid}:support`, () => this.logger.info(
          `GPU ${d.index} (${d.name}): the NVML library has no GPM functions (nvmlGpmQueryDeviceSupport and the rest come with driver R520 or newer); its DCGM_FI_PROF_* series are skipped`, who));
        continue;
      }
      const codes = new Set<number>();
      if (g.support !== 0) codes.add(g.support);
      for (const e of [g.gpu, ...g.instances]) if (e && e.code > 0) codes.add(e.code);
      for (const code of codes) {
        if (code === NO_PERMISSION) {
          if (this.permissionSaid) continue;
          this.permissionSaid = true;
          this.logger.warn(`NVML refuses GPM (NVML_ERROR_NO_PERMISSION) on GPU ${d.index}: DCGM_FI_PROF_* series are missing; ${GPM_PERMISSION_FIX}`, who);
        } else if (code === NOT_SUPPORTED) {
          // e.g. a whole-GPU sample of a MIG-enabled GPU, where a driver answers only per instance
          this.once(`${d.uuid}:${code}`, () => this.logger.info(
            `GPU ${d.index} (${d.name}): GPM answers NOT_SUPPORTED for ${g.gpu?.code === NOT_SUPPORTED ? 'the whole GPU' : 'a GPU instance'}${d.migEnabled ? ' (MIG is enabled)' : ''}: the DCGM_FI_PROF_* series of that level are skipped`, who));
        } else if (code === FUNCTION_NOT_FOUND) {
          this.once(`${d.uuid}:${code}`, () => this.logger.info(
            `GPU ${d.index} (${d.name}): the NVML library has GPM but not nvmlGpmMigSampleGet (driver R525 or newer): its GPU-instance DCGM_FI_PROF_* series are skipped`, who));
        } else {
          this.once(`${d.uuid}:${code}`, () => this.logger.warn(
            `GPM failed on GPU ${d.index} (${nvmlErrorName(code)}): the DCGM_FI_PROF_* series it affects are missing while it lasts`, { ...who, code: nvmlErrorName(code) }));
        }
      }
    }
  }

  private once(key: string, say: () => void): void {
    if (this.said.has(key) || this.said.size > 4096) return;
    this.said.add(key);
    say();
  }
}
