// DCGM fields that dcgm-exporter's counters files name but that this exporter does not provide
// from NVML. A CSV row naming one is skipped with a log line, not rejected: a user's existing file
// keeps working. (Any other DCGM_EXP_* name, and a DCGM_FI_PROF_* name without a GPM metric, is
// treated the same way; the DCGM_FI_PROF_* fields GPM provides are in gpm-fields.ts.)
import type { CsvType, UnavailableField } from './types.js';

function un(name: string, id: number, type: CsvType, help: string, reason: string, aliases?: string[]): UnavailableField {
  return { kind: 'unavailable', name, id, type, help, unit: '', reason, aliases };
}

export const UNAVAILABLE_FIELDS: readonly UnavailableField[] = [
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
