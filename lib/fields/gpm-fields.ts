// DCGM's profiling fields (DCGM_FI_PROF_*) that NVML's GPU Performance Monitoring (GPM) provides on
// Hopper and newer GPUs, with DCGM's conversions (../shared/reference/nvml-audit.md §5.4): percent
// metrics ÷ 100 to a 0–1 ratio (DCGM doubles), MiB/s metrics × 1,048,576 to bytes per second and
// truncated (DCGM int64s), the cache and cumulative counters as they are; a NaN, a failed metric or
// an entity without a pair of samples yet (the first sweep) is no sample. Levels as DCGM serves
// them: the engine and pipe ratios and DRAM for the whole GPU and for each MIG GPU instance (from
// that instance's own GPM sample); PCIe, NVLink, C2C, decoders, caches and counters for the whole
// GPU only (on a MIG GPU the renderer repeats the GPU's value on each GPU instance, as for every
// device-wide field). A GPU without GPM (pre-Hopper, or a library without the GPM symbols) has none
// of these series; lib/collect/gpm-notes.ts says why once.
import type { DeviceSample, GpmEntity, MigDeviceSample } from '../nvml/types.js';
import type { ValueField } from './types.js';

const MIB = 1048576;

function metric(e: GpmEntity | null | undefined, id: number): number | undefined {
  if (!e || e.code !== 0) return undefined;
  const v = e.values.get(id);
  return v === undefined || Number.isNaN(v) ? undefined : v;
}

const gpuEntity = (d: DeviceSample) => (d.gpm?.support === 0 ? d.gpm.gpu : null);

function instanceEntity(m: MigDeviceSample, d: DeviceSample): GpmEntity | null {
  if (d.gpm?.support !== 0 || m.gpuInstanceId === null) return null;
  return d.gpm.instances.find((e) => e.gpuInstanceId === m.gpuInstanceId) ?? null;
}

/** A percent metric as DCGM's 0–1 ratio, for the GPU and (perInstance) each GPU instance. */
function ratio(name: string, id: number, gpmId: number, help: string, entity: string, perInstance: boolean): ValueField {
  const f: ValueField = {
    kind: 'value', name, id, type: 'gauge', help, unit: 'ratio', format: 'double', entity,
    device: (d) => {
      const v = metric(gpuEntity(d), gpmId);
      return v === undefined ? undefined : v / 100;
    },
  };
  if (perInstance) {
    f.mig = (m, d) => {
      const v = metric(instanceEntity(m, d), gpmId);
      return v === undefined ? undefined : v / 100;
    };
  }
  return f;
}

/** A MiB/s metric as DCGM's bytes per second (× 1,048,576, truncated), whole GPU only. */
function bytes(name: string, id: number, gpmId: number, help: string): ValueField {
  return {
    kind: 'value', name, id, type: 'gauge', help, unit: 'B/s', format: 'int', entity: 'gpu',
    device: (d) => {
      const v = metric(gpuEntity(d), gpmId);
      return v === undefined ? undefined : Math.trunc(v * MIB);
    },
  };
}

/** A metric DCGM stores as it comes (an int64), whole GPU only. */
function asIs(name: string, id: number, gpmId: number, help: string, unit: string, type: ValueField['type'] = 'gauge'): ValueField {
  return {
    kind: 'value', name, id, type, help, unit, format: 'int', entity: 'gpu',
    device: (d) => {
      const v = metric(gpuEntity(d), gpmId);
      return v === undefined ? undefined : Math.trunc(v);
    },
  };
}

const ci = (name: string, id: number, gpmId: number, help: string) => ratio(`DCGM_FI_PROF_${name}`, id, gpmId, help, 'gpu_ci', true);

const engines: ValueField[] = [];
for (let k = 0; k < 8; k++) {
  engines.push(ratio(`DCGM_FI_PROF_NVDEC${k}_ACTIVE`, 1017 + k, 30 + k, `Ratio of time the NVDEC engine ${k} is active.`, 'gpu', false));
}
for (let k = 0; k < 8; k++) {
  engines.push(ratio(`DCGM_FI_PROF_NVJPG${k}_ACTIVE`, 1025 + k, 40 + k, `Ratio of time the NVJPG engine ${k} is active.`, 'gpu', false));
}
for (let k = 0; k < 2; k++) {
  engines.push(ratio(`DCGM_FI_PROF_NVOFA${k}_ACTIVE`, 1033 + k, 50 + k, `Ratio of time the NVOFA engine ${k} is active.`, 'gpu', false));
}

const links: ValueField[] = [];
for (let k = 0; k < 18; k++) {
  links.push(bytes(`DCGM_FI_PROF_NVLINK_L${k}_TX_BYTES`, 1040 + 2 * k, 63 + 2 * k, `The rate of data transmitted over NVLink link ${k}, in bytes per second.`));
  links.push(bytes(`DCGM_FI_PROF_NVLINK_L${k}_RX_BYTES`, 1041 + 2 * k, 62 + 2 * k, `The rate of data received over NVLink link ${k}, in bytes per second.`));
}

const COUNTERS: readonly [string, string][] = [
  ['SM_CYCLES_ELAPSED_TOTAL', 'SM cycles elapsed since boot.'],
  ['SM_CYCLES_ACTIVE_TOTAL', 'SM cycles with at least one warp assigned, since boot.'],
  ['MMA_CYCLES_ACTIVE_TOTAL', 'Cycles any tensor (MMA) pipe was active, since boot.'],
  ['DMMA_CYCLES_ACTIVE_TOTAL', 'Cycles the DMMA tensor pipe was active, since boot.'],
  ['HMMA_CYCLES_ACTIVE_TOTAL', 'Cycles the HMMA tensor pipe was active, since boot.'],
  ['IMMA_CYCLES_ACTIVE_TOTAL', 'Cycles the IMMA tensor pipe was active, since boot.'],
  ['DFMA_CYCLES_ACTIVE_TOTAL', 'Cycles the DFMA tensor pipe was active, since boot.'],
  ['PCIE_TX_BYTES_TOTAL', 'Bytes transmitted over PCIe since boot (headers and payload).'],
  ['PCIE_RX_BYTES_TOTAL', 'Bytes received over PCIe since boot (headers and payload).'],
  ['INT_CYCLES_ACTIVE_TOTAL', 'Cycles the integer pipe was active, since boot.'],
  ['FP64_CYCLES_ACTIVE_TOTAL', 'Cycles the FP64 pipe was active, since boot.'],
  ['FP32_CYCLES_ACTIVE_TOTAL', 'Cycles the FP32 pipe was active, since boot.'],
  ['FP16_CYCLES_ACTIVE_TOTAL', 'Cycles the FP16 pipe was active, since boot.'],
];

/** Every DCGM_FI_PROF_* field with a GPM metric (DCGM's field id → NVML GPM metric id). */
export const GPM_FIELDS: readonly ValueField[] = [
  ci('GR_ENGINE_ACTIVE', 1001, 1, 'Ratio of time the graphics engine is active.'),
  ci('SM_ACTIVE', 1002, 2, 'The ratio of cycles an SM has at least 1 warp assigned.'),
  ci('SM_OCCUPANCY', 1003, 3, 'The ratio of number of warps resident on an SM.'),
  // DCGM maps the tensor field to ANY_TENSOR_UTIL (5), not HMMA (7), whatever the CSV help says
  ci('PIPE_TENSOR_ACTIVE', 1004, 5, 'Ratio of cycles the tensor (HMMA) pipe is active.'),
  ratio('DCGM_FI_PROF_DRAM_ACTIVE', 1005, 10, 'Ratio of cycles the device memory interface is active sending or receiving data.', 'gpu_i', true),
  ci('PIPE_FP64_ACTIVE', 1006, 11, 'Ratio of cycles the fp64 pipes are active.'),
  ci('PIPE_FP32_ACTIVE', 1007, 12, 'Ratio of cycles the fp32 pipes are active.'),
  ci('PIPE_FP16_ACTIVE', 1008, 13, 'Ratio of cycles the fp16 pipes are active.'),
  bytes('DCGM_FI_PROF_PCIE_TX_BYTES', 1009, 20, 'The rate of data transmitted over the PCIe bus - including both protocol headers and data payloads - in bytes per second.'),
  bytes('DCGM_FI_PROF_PCIE_RX_BYTES', 1010, 21, 'The rate of data received over the PCIe bus - including both protocol headers and data payloads - in bytes per second.'),
  bytes('DCGM_FI_PROF_NVLINK_TX_BYTES', 1011, 61, 'The rate of data transmitted over NVLink, in bytes per second.'),
  bytes('DCGM_FI_PROF_NVLINK_RX_BYTES', 1012, 60, 'The rate of data received over NVLink, in bytes per second.'),
  ci('PIPE_TENSOR_IMMA_ACTIVE', 1013, 9, 'Ratio of cycles the integer tensor (IMMA) pipe is active.'),
  ci('PIPE_TENSOR_HMMA_ACTIVE', 1014, 7, 'Ratio of cycles the half-precision tensor (HMMA) pipe is active.'),
  ci('PIPE_TENSOR_DFMA_ACTIVE', 1015, 6, 'Ratio of cycles the double-precision tensor (DFMA) pipe is active.'),
  ci('PIPE_INT_ACTIVE', 1016, 4, 'Ratio of cycles the integer pipe is active.'),
  ...engines,
  ...links,
  bytes('DCGM_FI_PROF_C2C_TX_ALL_BYTES', 1076, 100, 'The rate of data transmitted over C2C (headers and payload), in bytes per second.'),
  bytes('DCGM_FI_PROF_C2C_TX_DATA_BYTES', 1077, 102, 'The rate of payload data transmitted over C2C, in bytes per second.'),
  bytes('DCGM_FI_PROF_C2C_RX_ALL_BYTES', 1078, 101, 'The rate of data received over C2C (headers and payload), in bytes per second.'),
  bytes('DCGM_FI_PROF_C2C_RX_DATA_BYTES', 1079, 103, 'The rate of payload data received over C2C, in bytes per second.'),
  asIs('DCGM_FI_PROF_HOSTMEM_CACHE_HIT', 1080, 160, 'Host memory cache hit rate (in %).', '%'),
  asIs('DCGM_FI_PROF_HOSTMEM_CACHE_MISS', 1081, 161, 'Host memory cache miss rate (in %).', '%'),
  asIs('DCGM_FI_PROF_PEERMEM_CACHE_HIT', 1082, 162, 'Peer memory cache hit rate (in %).', '%'),
  asIs('DCGM_FI_PROF_PEERMEM_CACHE_MISS', 1083, 163, 'Peer memory cache miss rate (in %).', '%'),
  ...COUNTERS.map(([n, help], i) => asIs(`DCGM_FI_PROF_${n}`, 1084 + i, 248 + i, help, n.startsWith('PCIE') ? 'bytes' : 'cycles', 'counter')),
];

const GPM_IDS: ReadonlySet<number> = new Set(GPM_FIELDS.map((f) => f.id));

/** Whether a field is one of GPM's (the sweep asks NVML for GPM only when one is selected). */
export function isGpmField(id: number): boolean {
  return GPM_IDS.has(id);
}
