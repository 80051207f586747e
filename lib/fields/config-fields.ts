// Device configuration fields: power limits, P-state, PCIe link, temperature thresholds, BAR1,
// compute/persistence/ECC modes and application clocks, each from its own NVML call (the readings'
// units are in lib/nvml/types.ts), in the unit DCGM gives the field; the base-unit variants of
// DCGM 4.6.1 (bytes, Hz) next to their legacy fields.
import type { DeviceSample, ReadingKey } from '../nvml/types.js';
import type { ValueField } from './types.js';

const MIB = 1048576;
type Reader = (d: DeviceSample) => number | undefined;
const read = (key: ReadingKey, f: (v: number) => number | undefined = (v) => v): Reader => (d) => {
  const v = d.readings[key];
  return v === undefined ? undefined : f(v);
};
const field = (name: string, id: number, help: string, unit: string, device: Reader, format: 'int' | 'double' = 'int'): ValueField =>
  ({ kind: 'value', name, id, type: 'gauge', help, unit, format, device });
const watts = (mw: number) => mw / 1000;
const mib = (b: number) => Math.floor(b / MIB);
const hz = (mhz: number) => mhz * 1e6;

export const CONFIG_FIELDS: readonly ValueField[] = [
  field('DCGM_FI_DEV_COMPUTE_MODE', 65, 'Compute mode (0 default, 2 prohibited, 3 exclusive process).', 'mode', read('computeMode')),
  field('DCGM_FI_DEV_PERSISTENCE_MODE', 66, 'Persistence mode (1 enabled, 0 disabled).', '0/1', read('persistenceMode')),
  field('DCGM_FI_DEV_BAR1_TOTAL', 90, 'Total BAR1 memory (in MiB).', 'MiB', read('bar1Total', mib)),
  field('DCGM_FI_DEV_BAR1_USED', 92, 'Used BAR1 memory (in MiB).', 'MiB', read('bar1Used', mib)),
  field('DCGM_FI_DEV_BAR1_FREE', 93, 'Free BAR1 memory (in MiB).', 'MiB', read('bar1Free', mib)),
  field('DCGM_FI_DEV_APP_SM_CLOCK', 110, 'SM application clock (in MHz).', 'MHz', read('appSmClock')),
  field('DCGM_FI_DEV_APP_MEM_CLOCK', 111, 'Memory application clock (in MHz).', 'MHz', read('appMemClock')),
  field('DCGM_FI_DEV_MAX_VIDEO_CLOCK', 115, 'Maximum video encoder/decoder clock frequency (in MHz).', 'MHz', read('maxVideoClock')),
  field('DCGM_FI_DEV_MEM_MAX_OP_TEMP', 151, 'Maximum operating temperature of the memory (in C).', 'C', read('tempMemMax')),
  field('DCGM_FI_DEV_GPU_MAX_OP_TEMP', 152, 'Maximum operating temperature of the GPU (in C).', 'C', read('tempGpuMax')),
  field('DCGM_FI_DEV_SLOWDOWN_TEMP', 158, 'Temperature at which the GPU slows down (in C).', 'C', read('tempSlowdown')),
  field('DCGM_FI_DEV_SHUTDOWN_TEMP', 159, 'Temperature at which the GPU shuts down (in C).', 'C', read('tempShutdown')),
  field('DCGM_FI_DEV_POWER_MGMT_LIMIT', 160, 'Power management limit (in W).', 'W', read('powerMgmtLimit', watts), 'double'),
  field('DCGM_FI_DEV_POWER_MGMT_LIMIT_MIN', 161, 'Minimum power management limit (in W).', 'W', read('powerLimitMin', watts), 'double'),
  field('DCGM_FI_DEV_POWER_MGMT_LIMIT_MAX', 162, 'Maximum power management limit (in W).', 'W', read('powerLimitMax', watts), 'double'),
  field('DCGM_FI_DEV_POWER_MGMT_LIMIT_DEF', 163, 'Default power management limit (in W).', 'W', read('powerLimitDefault', watts), 'double'),
  field('DCGM_FI_DEV_PSTATE', 190, 'Performance state (P-state) 0-15; 0 is the highest.', 'P-state', read('pstate', (p) => (p > 15 ? undefined : p))),
  field('DCGM_FI_DEV_PCIE_MAX_LINK_GEN', 235, 'Maximum PCIe link generation.', 'generation', read('pcieLinkGenMax')),
  field('DCGM_FI_DEV_PCIE_MAX_LINK_WIDTH', 236, 'Maximum PCIe link width (lanes).', 'lanes', read('pcieLinkWidthMax')),
  field('DCGM_FI_DEV_PCIE_LINK_GEN', 237, 'Current PCIe link generation.', 'generation', read('pcieLinkGen')),
  field('DCGM_FI_DEV_PCIE_LINK_WIDTH', 238, 'Current PCIe link width (lanes).', 'lanes', read('pcieLinkWidth')),
  field('DCGM_FI_DEV_ECC_CURRENT', 300, 'ECC mode in force (1 enabled, 0 disabled).', '0/1', read('eccModeCurrent')),
  field('DCGM_FI_DEV_ECC_PENDING', 301, 'ECC mode after the next reboot (1 enabled, 0 disabled).', '0/1', read('eccModePending')),
  // base-unit variants (DCGM 4.6.1)
  field('DCGM_FI_DEV_BAR1_CAPACITY_BYTES', 1600, 'Total BAR1 memory (in bytes).', 'bytes', read('bar1Total')),
  field('DCGM_FI_DEV_BAR1_USED_BYTES', 1601, 'Used BAR1 memory (in bytes).', 'bytes', read('bar1Used')),
  field('DCGM_FI_DEV_BAR1_FREE_BYTES', 1602, 'Free BAR1 memory (in bytes).', 'bytes', read('bar1Free')),
  field('DCGM_FI_DEV_SM_APP_CLOCK_HERTZ', 1606, 'SM application clock (in Hz).', 'Hz', read('appSmClock', hz)),
  field('DCGM_FI_DEV_MEMORY_APP_CLOCK_HERTZ', 1607, 'Memory application clock (in Hz).', 'Hz', read('appMemClock', hz)),
  field('DCGM_FI_DEV_VIDEO_MAX_CLOCK_HERTZ', 1610, 'Maximum video clock frequency (in Hz).', 'Hz', read('maxVideoClock', hz)),
];
