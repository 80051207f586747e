// The data that one NVML sweep produces. These are plain, immutable values: the native layer
// fills them in one crossing, everything downstream only reads them.

/** Every per-device reading the sweep takes, in NVML's own units. */
export const READING_KEYS = [
  'gpuUtil', // % (nvmlDeviceGetUtilizationRates.gpu)
  'memUtil', // % (nvmlDeviceGetUtilizationRates.memory: memory-controller busy time)
  'memTotal', // bytes (memory info v2, v1 fallback)
  'memReserved', // bytes (v2 only)
  'memFree', // bytes
  'memUsed', // bytes (v2: excludes reserved)
  'powerUsage', // mW
  'powerLimit', // mW (enforced)
  'energy', // mJ since driver load
  'gpuTemp', // °C
  'memTemp', // °C (field value 82)
  'smClock', // MHz
  'memClock', // MHz
  'graphicsClock', // MHz
  'videoClock', // MHz
  'maxSmClock', // MHz
  'maxMemClock', // MHz
  'encUtil', // %
  'decUtil', // %
  'pcieReplay', // count
  'clockEventReasons', // bitmask
  'violationPower', // ns
  'violationThermal', // ns
  'violationSyncBoost', // ns
  'violationBoardLimit', // ns
  'violationLowUtil', // ns
  'violationReliability', // ns
  'eccSbeVolatile', // count
  'eccDbeVolatile', // count
  'eccSbeAggregate', // count
  'eccDbeAggregate', // count
  'retiredSbe', // pages
  'retiredDbe', // pages
  'retiredPending', // 0/1
  'remappedCorrectable', // rows
  'remappedUncorrectable', // rows
  'remappedPending', // 0/1
  'remappedFailure', // 0/1
  'fanSpeed', // %
  'nvlinkTx', // KiB, cumulative over all links
  'nvlinkRx', // KiB, cumulative over all links
  'pcieTx', // KB/s (opt-in: each call blocks ~20 ms)
  'pcieRx', // KB/s (opt-in)
] as const;

export type ReadingKey = (typeof READING_KEYS)[number];

/** Readings that succeeded, by key. A key that is absent was not read successfully. */
export type Readings = Partial<Record<ReadingKey, number>>;

/** For every reading that did not succeed, the NVML return code (3 = NOT_SUPPORTED, 13 = symbol missing). */
export type ReadingStatus = Partial<Record<ReadingKey, number>>;

export interface MigDeviceSample {
  /** `MIG-<uuid>` */
  uuid: string;
  /** index of the MIG slot on its parent (nvmlDeviceGetMigDeviceHandleByIndex) */
  slot: number;
  /** null when NVML could not read it */
  gpuInstanceId: number | null;
  computeInstanceId: number | null;
  /** GPU-instance profile name, e.g. `1g.10gb` (empty when it could not be read) */
  profile: string;
  name: string;
  readings: Readings;
  status: ReadingStatus;
}

export interface DeviceSample {
  index: number;
  /** /dev/nvidia<minor>, null when not readable */
  minor: number | null;
  uuid: string;
  name: string;
  /** `00000000:3B:00.0` */
  pciBusId: string;
  serial: string | null;
  /** MIG mode: true when enabled (current mode); null when the GPU has no MIG support */
  migEnabled: boolean | null;
  /**
   * Set when the GPU did not answer this sweep (GPU_IS_LOST, GPU_NOT_FOUND, …): the NVML code.
   * A lost GPU keeps the identity it had when last seen; its readings are empty.
   */
  lostCode: number | null;
  readings: Readings;
  status: ReadingStatus;
  mig: MigDeviceSample[];
}

export interface SweepResult {
  /** wall-clock time (ms since epoch) when the sweep finished */
  timestamp: number;
  /** how long the sweep took in the native layer, in microseconds */
  durationUs: number;
  driverVersion: string;
  nvmlVersion: string;
  /** e.g. 12020 for CUDA 12.2; null when not available */
  cudaDriverVersion: number | null;
  devices: DeviceSample[];
}

export interface XidEvent {
  /** NVML index of the GPU the event came from (-1 if unknown) */
  gpu: number;
  uuid: string;
  xid: number;
  /** ms since epoch when the event was received */
  time: number;
  gpuInstanceId: number | null;
  computeInstanceId: number | null;
}

export interface SweepOptions {
  /** also read PCIe TX/RX throughput (blocks ~20 ms per counter per GPU) */
  pcieThroughput?: boolean;
}

export interface OpenOptions {
  /** a path to the library; default: `libnvidia-ml.so.1` through the dynamic loader's search */
  library?: string;
  /** a sweep not finished within this many ms is reported as stalled (default 5000) */
  sweepDeadlineMs?: number;
}
