// dcgm-exporter's naming generations (../shared/reference/dcgm-naming-generations.md):
//   4.8.2        legacy DCGM names, `Hostname`, DCGM_FI_DRIVER_VERSION
//   4.8.3        the same names, `hostname` (4.8.3–4.8.4: what the GPU Operator deploys today)
//   4.9          23 default fields renamed to DCGM 4.7's unit-suffixed names, 11 of them in SI
//                units (Hz, J, bytes, 0–1 ratios); DCGM_FI_SYSTEM_DRIVER_VERSION; FB capacity
//   4.10         4.9 plus DCGM_FI_PROF_{PCIE,NVLINK}_{TX,RX}_BYTES_PER_SECOND
// A profile picks the generation whose defaults to follow (host label, driver label, default
// counters file); a transition generation adds, for every selected field that generation names
// differently, a second family under its name and unit. Every name of every generation is in the
// catalogue with its own unit, so any generation's CSV works under any profile.

export const GENERATIONS = ['4.8.2', '4.8.3', '4.9', '4.10'] as const;
export type Generation = (typeof GENERATIONS)[number];

/** The generation the current GPU Operator release deploys (dcgm-exporter 4.8.3). */
export const DEFAULT_GENERATION: Generation = '4.8.3';

export interface GenerationDefaults {
  hostLabel: 'Hostname' | 'hostname';
  /** the name of the driver-version label row in this generation's default counters */
  driverLabel: string;
  /** the default counters file, under etc/ (and /etc/dcgm-exporter/ in the image) */
  countersFile: string;
}

export const GENERATION_DEFAULTS: Record<Generation, GenerationDefaults> = {
  '4.8.2': { hostLabel: 'Hostname', driverLabel: 'DCGM_FI_DRIVER_VERSION', countersFile: 'default-counters.csv' },
  '4.8.3': { hostLabel: 'hostname', driverLabel: 'DCGM_FI_DRIVER_VERSION', countersFile: 'default-counters.csv' },
  '4.9': { hostLabel: 'hostname', driverLabel: 'DCGM_FI_SYSTEM_DRIVER_VERSION', countersFile: 'default-counters-4.9.csv' },
  '4.10': { hostLabel: 'hostname', driverLabel: 'DCGM_FI_SYSTEM_DRIVER_VERSION', countersFile: 'default-counters-4.10.csv' },
};

/**
 * The renamed fields: one row per field, its name in each generation (4.8.2 and 4.8.3 share the
 * legacy names). Rows 1–24 of dcgm-naming-generations.md §1 (23 renames + the driver label), the
 * FB capacity that 4.9 adds, and the PROF bytes renamed in 4.10.
 */
export const RENAMES: readonly { legacy: string; v49: string; v410: string }[] = [
  { legacy: 'DCGM_FI_DEV_SM_CLOCK', v49: 'DCGM_FI_DEV_SM_CLOCK_HERTZ', v410: 'DCGM_FI_DEV_SM_CLOCK_HERTZ' },
  { legacy: 'DCGM_FI_DEV_MEM_CLOCK', v49: 'DCGM_FI_DEV_MEMORY_CLOCK_HERTZ', v410: 'DCGM_FI_DEV_MEMORY_CLOCK_HERTZ' },
  { legacy: 'DCGM_FI_DEV_MEMORY_TEMP', v49: 'DCGM_FI_DEV_MEMORY_TEMP_CELSIUS', v410: 'DCGM_FI_DEV_MEMORY_TEMP_CELSIUS' },
  { legacy: 'DCGM_FI_DEV_GPU_TEMP', v49: 'DCGM_FI_DEV_GPU_TEMP_CELSIUS', v410: 'DCGM_FI_DEV_GPU_TEMP_CELSIUS' },
  { legacy: 'DCGM_FI_DEV_POWER_USAGE', v49: 'DCGM_FI_DEV_BOARD_POWER_WATTS', v410: 'DCGM_FI_DEV_BOARD_POWER_WATTS' },
  { legacy: 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', v49: 'DCGM_FI_DEV_GPU_ENERGY_JOULES_TOTAL', v410: 'DCGM_FI_DEV_GPU_ENERGY_JOULES_TOTAL' },
  { legacy: 'DCGM_FI_DEV_PCIE_REPLAY_COUNTER', v49: 'DCGM_FI_DEV_PCIE_REPLAY_TOTAL', v410: 'DCGM_FI_DEV_PCIE_REPLAY_TOTAL' },
  { legacy: 'DCGM_FI_DEV_GPU_UTIL', v49: 'DCGM_FI_DEV_GPU_UTIL_RATIO', v410: 'DCGM_FI_DEV_GPU_UTIL_RATIO' },
  { legacy: 'DCGM_FI_DEV_MEM_COPY_UTIL', v49: 'DCGM_FI_DEV_MEMORY_UTIL_RATIO', v410: 'DCGM_FI_DEV_MEMORY_UTIL_RATIO' },
  { legacy: 'DCGM_FI_DEV_ENC_UTIL', v49: 'DCGM_FI_DEV_ENC_UTIL_RATIO', v410: 'DCGM_FI_DEV_ENC_UTIL_RATIO' },
  { legacy: 'DCGM_FI_DEV_DEC_UTIL', v49: 'DCGM_FI_DEV_DEC_UTIL_RATIO', v410: 'DCGM_FI_DEV_DEC_UTIL_RATIO' },
  { legacy: 'DCGM_FI_DEV_XID_ERRORS', v49: 'DCGM_FI_DEV_XID_ERROR', v410: 'DCGM_FI_DEV_XID_ERROR' },
  { legacy: 'DCGM_FI_DEV_FB_TOTAL', v49: 'DCGM_FI_DEV_FB_CAPACITY_BYTES', v410: 'DCGM_FI_DEV_FB_CAPACITY_BYTES' },
  { legacy: 'DCGM_FI_DEV_FB_FREE', v49: 'DCGM_FI_DEV_FB_FREE_BYTES', v410: 'DCGM_FI_DEV_FB_FREE_BYTES' },
  { legacy: 'DCGM_FI_DEV_FB_USED', v49: 'DCGM_FI_DEV_FB_USED_BYTES', v410: 'DCGM_FI_DEV_FB_USED_BYTES' },
  { legacy: 'DCGM_FI_DEV_FB_RESERVED', v49: 'DCGM_FI_DEV_FB_RESERVED_BYTES', v410: 'DCGM_FI_DEV_FB_RESERVED_BYTES' },
  { legacy: 'DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL', v49: 'DCGM_FI_DEV_NVLINK_THROUGHPUT_BYTES_PER_SECOND', v410: 'DCGM_FI_DEV_NVLINK_THROUGHPUT_BYTES_PER_SECOND' },
  { legacy: 'DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS', v49: 'DCGM_FI_DEV_ROW_REMAP_UNCORRECTABLE_TOTAL', v410: 'DCGM_FI_DEV_ROW_REMAP_UNCORRECTABLE_TOTAL' },
  { legacy: 'DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS', v49: 'DCGM_FI_DEV_ROW_REMAP_CORRECTABLE_TOTAL', v410: 'DCGM_FI_DEV_ROW_REMAP_CORRECTABLE_TOTAL' },
  { legacy: 'DCGM_FI_DEV_ROW_REMAP_FAILURE', v49: 'DCGM_FI_DEV_ROW_REMAP_FAILED', v410: 'DCGM_FI_DEV_ROW_REMAP_FAILED' },
  { legacy: 'DCGM_FI_DRIVER_VERSION', v49: 'DCGM_FI_SYSTEM_DRIVER_VERSION', v410: 'DCGM_FI_SYSTEM_DRIVER_VERSION' },
  { legacy: 'DCGM_FI_PROF_GR_ENGINE_ACTIVE', v49: 'DCGM_FI_PROF_GR_ENGINE_UTIL_RATIO', v410: 'DCGM_FI_PROF_GR_ENGINE_UTIL_RATIO' },
  { legacy: 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE', v49: 'DCGM_FI_PROF_TENSOR_UTIL_RATIO', v410: 'DCGM_FI_PROF_TENSOR_UTIL_RATIO' },
  { legacy: 'DCGM_FI_PROF_DRAM_ACTIVE', v49: 'DCGM_FI_PROF_DRAM_UTIL_RATIO', v410: 'DCGM_FI_PROF_DRAM_UTIL_RATIO' },
  { legacy: 'DCGM_FI_PROF_PCIE_TX_BYTES', v49: 'DCGM_FI_PROF_PCIE_TX_BYTES', v410: 'DCGM_FI_PROF_PCIE_TX_BYTES_PER_SECOND' },
  { legacy: 'DCGM_FI_PROF_PCIE_RX_BYTES', v49: 'DCGM_FI_PROF_PCIE_RX_BYTES', v410: 'DCGM_FI_PROF_PCIE_RX_BYTES_PER_SECOND' },
  { legacy: 'DCGM_FI_PROF_NVLINK_TX_BYTES', v49: 'DCGM_FI_PROF_NVLINK_TX_BYTES', v410: 'DCGM_FI_PROF_NVLINK_TX_BYTES_PER_SECOND' },
  { legacy: 'DCGM_FI_PROF_NVLINK_RX_BYTES', v49: 'DCGM_FI_PROF_NVLINK_RX_BYTES', v410: 'DCGM_FI_PROF_NVLINK_RX_BYTES_PER_SECOND' },
];

const nameIn = (row: (typeof RENAMES)[number], g: Generation): string => (g === '4.9' ? row.v49 : g === '4.10' ? row.v410 : row.legacy);

const BY_NAME = new Map<string, (typeof RENAMES)[number]>();
for (const r of RENAMES) for (const n of [r.legacy, r.v49, r.v410]) BY_NAME.set(n, r);

/** The name generation `g` gives the field named `name` (any generation's name); null when it names it the same. */
export function counterpartIn(name: string, g: Generation): string | null {
  const row = BY_NAME.get(name);
  if (!row) return null;
  const other = nameIn(row, g);
  return other === name ? null : other;
}

export function isGeneration(s: string): s is Generation {
  return (GENERATIONS as readonly string[]).includes(s);
}
