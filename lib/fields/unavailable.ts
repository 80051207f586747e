// DCGM fields that dcgm-exporter's counters files name but that this exporter does not provide
// from NVML. A CSV row naming one is skipped with a log line, not rejected: a user's existing file
// keeps working. (Any other DCGM_FI_PROF_* or DCGM_EXP_* name is treated the same way.)
import type { CsvType, UnavailableField } from './types.js';

const PROF_REASON = "a DCGM profiling (DCP) metric: NVML GPU Performance Monitoring (GPM) is not read by this release, and older GPUs need DCGM's profiling module";

function un(name: string, id: number, type: CsvType, help: string, reason: string, aliases?: string[]): UnavailableField {
  return { kind: 'unavailable', name, id, type, help, unit: '', reason, aliases };
}

const prof = (name: string, id: number, help: string) => un(`DCGM_FI_PROF_${name}`, id, 'gauge', help, PROF_REASON);

export const UNAVAILABLE_FIELDS: readonly UnavailableField[] = [
  prof('GR_ENGINE_ACTIVE', 1001, 'Ratio of time the graphics engine is active.'),
  prof('SM_ACTIVE', 1002, 'The ratio of cycles an SM has at least 1 warp assigned.'),
  prof('SM_OCCUPANCY', 1003, 'The ratio of number of warps resident on an SM.'),
  prof('PIPE_TENSOR_ACTIVE', 1004, 'Ratio of cycles the tensor (HMMA) pipe is active.'),
  prof('DRAM_ACTIVE', 1005, 'Ratio of cycles the device memory interface is active sending or receiving data.'),
  prof('PIPE_FP64_ACTIVE', 1006, 'Ratio of cycles the fp64 pipes are active.'),
  prof('PIPE_FP32_ACTIVE', 1007, 'Ratio of cycles the fp32 pipes are active.'),
  prof('PIPE_FP16_ACTIVE', 1008, 'Ratio of cycles the fp16 pipes are active.'),
  prof('PCIE_TX_BYTES', 1009, 'The rate of data transmitted over the PCIe bus - including both protocol headers and data payloads - in bytes per second.'),
  prof('PCIE_RX_BYTES', 1010, 'The rate of data received over the PCIe bus - including both protocol headers and data payloads - in bytes per second.'),
  prof('NVLINK_TX_BYTES', 1011, 'The rate of data transmitted over NVLink, in bytes per second.'),
  prof('NVLINK_RX_BYTES', 1012, 'The rate of data received over NVLink, in bytes per second.'),
  un('DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL', 409, 'counter', 'Total number of NVLink flow-control CRC errors.',
    'NVLink error counters are not read from NVML', ['dcgm_nvlink_flit_crc_error_count_total']),
  un('DCGM_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL', 419, 'counter', 'Total number of NVLink data CRC errors.',
    'NVLink error counters are not read from NVML', ['dcgm_nvlink_data_crc_error_count_total']),
  un('DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL', 429, 'counter', 'Total number of NVLink retries.',
    'NVLink error counters are not read from NVML', ['dcgm_nvlink_replay_error_count_total']),
  un('DCGM_FI_DEV_NVLINK_RECOVERY_ERROR_COUNT_TOTAL', 439, 'counter', 'Total number of NVLink recovery errors.',
    'NVLink error counters are not read from NVML', ['dcgm_nvlink_recovery_error_count_total']),
  un('DCGM_FI_DEV_NVLINK_BANDWIDTH_L0', 440, 'counter', 'NVLink link 0 bandwidth.', 'per-link NVLink counters are not read from NVML'),
  un('DCGM_EXP_GPU_HEALTH_STATUS', 9003, 'gauge', 'GPU health status.', 'DCGM health checks have no NVML equivalent'),
  un('DCGM_EXP_P2P_STATUS', 9004, 'gauge', 'Peer-to-peer status.', 'P2P status is not read from NVML'),
];
