// The numeric fields NVML provides, one entry per DCGM field: dcgm-exporter's name, DCGM's ID,
// the CSV type and HELP text dcgm-exporter ships (§2 of the reference), and the read from a sweep
// in /metrics units. Only FB_* fields are read per MIG instance: a MIG instance measures its own
// memory, while temperature, power, clocks and the like are device-wide and are reported once on
// the parent GPU instead of being repeated per GPU_I_ID (dcgm-exporter #353).
import type { DeviceSample, MigDeviceSample, ReadingKey } from '../nvml/types.js';
import type { Snapshot } from '../collect/types.js';
import type { CsvType, ValueField } from './types.js';
import { xidMessage } from './xid.js';
import { CLOCK_EVENT_REASONS } from '../collect/clock-events.js';

const MIB = 1048576;

const raw = (key: ReadingKey) => (d: { readings: DeviceSample['readings'] }) => d.readings[key];

const mib = (key: ReadingKey) => (d: { readings: DeviceSample['readings'] }) => {
  const v = d.readings[key];
  return v === undefined ? undefined : Math.floor(v / MIB);
};

type Def = Omit<ValueField, 'kind' | 'format' | 'type'> & { type?: CsvType; format?: ValueField['format'] };

function field(def: Def): ValueField {
  return { kind: 'value', format: 'int', type: 'gauge', ...def };
}

function int(
  name: string,
  id: number,
  key: ReadingKey,
  help: string,
  unit: string,
  type: CsvType = 'gauge',
  aliases?: string[],
): ValueField {
  return field({ name, id, type, help, unit, aliases, device: raw(key) });
}

function memory(name: string, id: number, key: ReadingKey, help: string, aliases?: string[]): ValueField {
  const read = mib(key);
  return field({
    name, id, help, unit: 'MiB', aliases,
    device: read,
    mig: (m: MigDeviceSample) => read(m),
  });
}

export const DEVICE_FIELDS: readonly ValueField[] = [
  // clocks (MHz)
  int('DCGM_FI_DEV_SM_CLOCK', 100, 'smClock', 'SM clock frequency (in MHz).', 'MHz', 'gauge', ['dcgm_sm_clock']),
  int('DCGM_FI_DEV_MEM_CLOCK', 101, 'memClock', 'Memory clock frequency (in MHz).', 'MHz', 'gauge', ['dcgm_memory_clock']),
  int('DCGM_FI_DEV_VIDEO_CLOCK', 102, 'videoClock', 'Video encoder/decoder clock frequency (in MHz).', 'MHz'),
  int('DCGM_FI_DEV_CLOCKS_EVENT_REASONS', 112, 'clockEventReasons',
    'Bitmask of the current reasons the clocks are held down.', 'bitmask', 'gauge', ['DCGM_FI_DEV_CLOCK_THROTTLE_REASONS']),
  int('DCGM_FI_DEV_MAX_SM_CLOCK', 113, 'maxSmClock', 'Maximum SM clock frequency (in MHz).', 'MHz'),
  int('DCGM_FI_DEV_MAX_MEM_CLOCK', 114, 'maxMemClock', 'Maximum memory clock frequency (in MHz).', 'MHz'),
  // temperatures (°C)
  field({
    name: 'DCGM_FI_DEV_MEMORY_TEMP', id: 140, help: 'Memory temperature (in C).', unit: 'C',
    aliases: ['dcgm_memory_temp'],
    // readings above 200 °C are read errors, as DCGM treats them
    device: (d) => {
      const v = d.readings.memTemp;
      return v === undefined || v > 200 ? undefined : v;
    },
  }),
  field({
    name: 'DCGM_FI_DEV_GPU_TEMP', id: 150, help: 'GPU temperature (in C).', unit: 'C', aliases: ['dcgm_gpu_temp'],
    // readings above 200 °C are read errors, as DCGM treats them
    device: (d) => {
      const v = d.readings.gpuTemp;
      return v === undefined || v > 200 ? undefined : v;
    },
  }),
  // power and energy
  field({
    name: 'DCGM_FI_DEV_POWER_USAGE', id: 155, help: 'Power draw (in W).', unit: 'W', format: 'double',
    aliases: ['dcgm_power_usage'],
    device: (d) => (d.readings.powerUsage === undefined ? undefined : d.readings.powerUsage / 1000),
  }),
  int('DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', 156, 'energy', 'Total energy consumption since boot (in mJ).', 'mJ',
    'counter', ['dcgm_total_energy_consumption']),
  field({
    name: 'DCGM_FI_DEV_ENFORCED_POWER_LIMIT', id: 164, help: 'Effective power limit the driver enforces (in W).',
    unit: 'W', format: 'double',
    // DCGM divides the mW as integers: whole watts, printed as a double (700.000000)
    device: (d) => (d.readings.powerLimit === undefined ? undefined : Math.trunc(d.readings.powerLimit / 1000)),
  }),
  int('DCGM_FI_DEV_FAN_SPEED', 191, 'fanSpeed', 'Fan speed (in %).', '%'),
  // PCIe
  int('DCGM_FI_DEV_PCIE_TX_THROUGHPUT', 200, 'pcieTx', 'PCIe transmit throughput (in KB/s).', 'KB/s', 'gauge',
    ['dcgm_pcie_tx_throughput']),
  int('DCGM_FI_DEV_PCIE_RX_THROUGHPUT', 201, 'pcieRx', 'PCIe receive throughput (in KB/s).', 'KB/s', 'gauge',
    ['dcgm_pcie_rx_throughput']),
  int('DCGM_FI_DEV_PCIE_REPLAY_COUNTER', 202, 'pcieReplay', 'Total number of PCIe retries.', 'count', 'counter',
    ['dcgm_pcie_replay_counter']),
  // utilisation (%)
  int('DCGM_FI_DEV_GPU_UTIL', 203, 'gpuUtil', 'GPU utilization (in %).', '%', 'gauge', ['dcgm_gpu_utilization']),
  int('DCGM_FI_DEV_MEM_COPY_UTIL', 204, 'memUtil', 'Memory utilization (in %).', '%', 'gauge', ['dcgm_mem_copy_utilization']),
  int('DCGM_FI_DEV_ENC_UTIL', 206, 'encUtil', 'Encoder utilization (in %).', '%', 'gauge', ['dcgm_enc_utilization']),
  int('DCGM_FI_DEV_DEC_UTIL', 207, 'decUtil', 'Decoder utilization (in %).', '%', 'gauge', ['dcgm_dec_utilization']),
  // XID: the number of the last XID seen on the GPU, 0 before any
  field({
    name: 'DCGM_FI_DEV_XID_ERRORS', id: 230, help: 'Value of the last XID error encountered.', unit: 'xid',
    aliases: ['dcgm_xid_errors'],
    device: (d: DeviceSample, snap: Snapshot) => snap.lastXid.get(d.uuid)?.xid ?? 0,
    attributes: (d: DeviceSample, snap: Snapshot) => {
      const xid = snap.lastXid.get(d.uuid)?.xid ?? 0;
      return [['err_code', String(xid)], ['err_msg', xidMessage(xid)]];
    },
  }),
  // clock-event (throttle) durations, cumulative ns
  int('DCGM_FI_DEV_POWER_VIOLATION', 240, 'violationPower', 'Throttling duration due to power constraints (in ns).', 'ns',
    'counter', ['dcgm_power_violation']),
  int('DCGM_FI_DEV_THERMAL_VIOLATION', 241, 'violationThermal', 'Throttling duration due to thermal constraints (in ns).', 'ns',
    'counter', ['dcgm_thermal_violation']),
  int('DCGM_FI_DEV_SYNC_BOOST_VIOLATION', 242, 'violationSyncBoost',
    'Throttling duration due to sync-boost constraints (in ns).', 'ns', 'counter', ['dcgm_sync_boost_violation']),
  int('DCGM_FI_DEV_BOARD_LIMIT_VIOLATION', 243, 'violationBoardLimit',
    'Throttling duration due to board limit constraints (in ns).', 'ns', 'counter', ['dcgm_board_limit_violation']),
  int('DCGM_FI_DEV_LOW_UTIL_VIOLATION', 244, 'violationLowUtil', 'Throttling duration due to low utilization (in ns).', 'ns',
    'counter', ['dcgm_low_util_violation']),
  int('DCGM_FI_DEV_RELIABILITY_VIOLATION', 245, 'violationReliability',
    'Throttling duration due to reliability constraints (in ns).', 'ns', 'counter', ['dcgm_reliability_violation']),
  // framebuffer (MiB, integer); also per MIG instance
  memory('DCGM_FI_DEV_FB_TOTAL', 250, 'memTotal', 'Framebuffer memory total (in MiB).', ['dcgm_fb_total']),
  memory('DCGM_FI_DEV_FB_FREE', 251, 'memFree', 'Framebuffer memory free (in MiB).', ['dcgm_fb_free']),
  memory('DCGM_FI_DEV_FB_USED', 252, 'memUsed', 'Framebuffer memory used (in MiB).', ['dcgm_fb_used']),
  memory('DCGM_FI_DEV_FB_RESERVED', 253, 'memReserved', 'Framebuffer memory reserved (in MiB).'),
  // ECC
  int('DCGM_FI_DEV_ECC_SBE_VOL_TOTAL', 310, 'eccSbeVolatile', 'Total number of single-bit volatile ECC errors.', 'count',
    'counter', ['dcgm_ecc_sbe_volatile_total']),
  int('DCGM_FI_DEV_ECC_DBE_VOL_TOTAL', 311, 'eccDbeVolatile', 'Total number of double-bit volatile ECC errors.', 'count',
    'counter', ['dcgm_ecc_dbe_volatile_total']),
  int('DCGM_FI_DEV_ECC_SBE_AGG_TOTAL', 312, 'eccSbeAggregate', 'Total number of single-bit persistent ECC errors.', 'count',
    'counter', ['dcgm_ecc_sbe_aggregate_total']),
  int('DCGM_FI_DEV_ECC_DBE_AGG_TOTAL', 313, 'eccDbeAggregate', 'Total number of double-bit persistent ECC errors.', 'count',
    'counter', ['dcgm_ecc_dbe_aggregate_total']),
  // retired pages and remapped rows
  int('DCGM_FI_DEV_RETIRED_SBE', 390, 'retiredSbe', 'Total number of retired pages due to single-bit errors.', 'pages',
    'counter', ['dcgm_retired_pages_sbe']),
  int('DCGM_FI_DEV_RETIRED_DBE', 391, 'retiredDbe', 'Total number of retired pages due to double-bit errors.', 'pages',
    'counter', ['dcgm_retired_pages_dbe']),
  int('DCGM_FI_DEV_RETIRED_PENDING', 392, 'retiredPending', 'Total number of pages pending retirement.', '0/1',
    'counter', ['dcgm_retired_pages_pending']),
  int('DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS', 393, 'remappedUncorrectable',
    'Number of remapped rows for uncorrectable errors', 'rows', 'counter'),
  int('DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS', 394, 'remappedCorrectable',
    'Number of remapped rows for correctable errors', 'rows', 'counter'),
  int('DCGM_FI_DEV_ROW_REMAP_FAILURE', 395, 'remappedFailure', 'Whether remapping of rows has failed', '0/1'),
  int('DCGM_FI_DEV_ROW_REMAP_PENDING', 396, 'remappedPending', 'Whether remapping of rows is pending a GPU reset', '0/1'),
  // NVLink: the rate the collector derives from the TX+RX counters (0 on the first sweep)
  field({
    name: 'DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL', id: 449, type: 'counter',
    help: 'Total number of NVLink bandwidth counters for all lanes.', unit: 'MB/s',
    aliases: ['dcgm_nvlink_bandwidth_total'],
    device: (d: DeviceSample, snap: Snapshot) => snap.nvlinkBandwidth.get(d.uuid),
  }),
  // vGPU licence, as DCGM derives it from the licensable features: 1 licensed, 0 not licensed or
  // licensing not supported (bare metal); no series when NVML does not answer
  int('DCGM_FI_DEV_VGPU_LICENSE_STATUS', 526, 'vgpuLicenseStatus', 'vGPU License status', '0/1'),
  // exporter-owned: XID events per XID number within the last --xid-count-window-size ms; one
  // sample of 0 without an xid label when there were none (dcgm-exporter's shape)
  field({
    name: 'DCGM_EXP_XID_ERRORS_COUNT', id: 9001, type: 'gauge',
    help: 'Count of XID Errors within user-specified time window (see xid-count-window-size param).', unit: 'count',
    device: (d: DeviceSample, snap: Snapshot) => {
      let n = 0;
      for (const c of snap.xidWindowCounts.get(d.uuid)?.values() ?? []) n += c;
      return n;
    },
    series: (d: DeviceSample, snap: Snapshot) => {
      const window = String(snap.xidWindowMs);
      const counts = snap.xidWindowCounts.get(d.uuid);
      if (!counts || counts.size === 0) return [{ attrs: [['window_size_in_ms', window]], value: 0 }];
      return [...counts].sort((a, b) => a[0] - b[0]).map(([xid, n]) => ({ attrs: [['window_size_in_ms', window], ['xid', String(xid)]], value: n }));
    },
  }),
  // exporter-owned: sweeps within the last --clock-events-count-window-size ms in which each
  // clock-event reason was set; the same shape as the XID count (one 0 sample without a
  // clock_event label when no reason was set in the window)
  field({
    name: 'DCGM_EXP_CLOCK_EVENTS_COUNT', id: 9002, type: 'gauge',
    help: 'Count of clock events within the user-specified time window (see clock-events-count-window-size param).', unit: 'samples',
    device: (d: DeviceSample, snap: Snapshot) => {
      let n = 0;
      for (const c of snap.clockEventWindowCounts.get(d.uuid)?.values() ?? []) n += c;
      return n;
    },
    series: (d: DeviceSample, snap: Snapshot) => {
      const window = String(snap.clockEventsWindowMs);
      const counts = snap.clockEventWindowCounts.get(d.uuid);
      if (!counts || counts.size === 0) return [{ attrs: [['window_size_in_ms', window]], value: 0 }];
      return CLOCK_EVENT_REASONS.filter(([, label]) => counts.has(label))
        .map(([, label]) => ({ attrs: [['window_size_in_ms', window], ['clock_event', label]], value: counts.get(label)! }));
    },
  }),
  // exporter-owned cumulative counters (dcgm-exporter 4.6.0-4.8.3 and later): a series appears with
  // the first event of its kind. XID 0 is not counted; a clock-event reason counts each time it
  // becomes active (the first sweep sets the baseline). The IDs are this exporter's, after 9004.
  field({
    name: 'DCGM_EXP_XID_ERRORS_TOTAL', id: 9005, type: 'counter',
    help: 'Total number of XID errors observed since the exporter started.', unit: 'events',
    device: () => undefined,
    series: (d: DeviceSample, snap: Snapshot) => [...(snap.xidTotals.get(d.uuid) ?? [])]
      .sort((a, b) => a[0] - b[0]).map(([xid, n]) => ({ attrs: [['xid', String(xid)]], value: n })),
  }),
  field({
    name: 'DCGM_EXP_CLOCK_EVENTS_TOTAL', id: 9006, type: 'counter',
    help: 'Total number of clock events (a reason becoming active) observed since the exporter started.', unit: 'events',
    device: () => undefined,
    series: (d: DeviceSample, snap: Snapshot) => {
      const totals = snap.clockEventTotals.get(d.uuid);
      if (!totals) return [];
      return CLOCK_EVENT_REASONS.filter(([, label]) => totals.has(label))
        .map(([, label]) => ({ attrs: [['clock_event', label]], value: totals.get(label)! }));
    },
  }),
];
