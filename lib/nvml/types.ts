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
  'powerLimitMin', // mW (nvmlDeviceGetPowerManagementLimitConstraints: the lowest limit that can be set)
  'powerLimitMax', // mW (…Constraints: the highest)
  'powerLimitDefault', // mW (nvmlDeviceGetPowerManagementDefaultLimit: the limit after a driver reload)
  'powerMgmtLimit', // mW (nvmlDeviceGetPowerManagementLimit: the limit configured on this GPU; powerLimit is the one enforced)
  'pstate', // 0 (P0, highest performance) … 15; 32 = unknown (nvmlDeviceGetPerformanceState)
  'pcieLinkGen', // PCIe generation of the link now (nvmlDeviceGetCurrPcieLinkGeneration; drops at idle)
  'pcieLinkGenMax', // the highest generation GPU and system support together (nvmlDeviceGetMaxPcieLinkGeneration)
  'pcieLinkWidth', // lanes now (nvmlDeviceGetCurrPcieLinkWidth)
  'pcieLinkWidthMax', // lanes at most (nvmlDeviceGetMaxPcieLinkWidth)
  'tempShutdown', // °C at which the GPU shuts down (nvmlDeviceGetTemperatureThreshold, SHUTDOWN)
  'tempSlowdown', // °C at which the GPU slows down (SLOWDOWN)
  'tempGpuMax', // °C, the GPU's maximum operating temperature (GPU_MAX)
  'tempMemMax', // °C, the memory's maximum operating temperature (MEM_MAX)
  'bar1Total', // bytes (nvmlDeviceGetBAR1MemoryInfo)
  'bar1Used', // bytes
  'bar1Free', // bytes
  'computeMode', // 0 default, 1 exclusive thread (no longer used), 2 prohibited, 3 exclusive process (nvmlDeviceGetComputeMode)
  'persistenceMode', // 0/1 (nvmlDeviceGetPersistenceMode)
  'eccModeCurrent', // 0/1 (nvmlDeviceGetEccMode: in force now)
  'eccModePending', // 0/1 (nvmlDeviceGetEccMode: after the next reboot)
  'appSmClock', // MHz (nvmlDeviceGetApplicationsClock, SM)
  'appMemClock', // MHz (nvmlDeviceGetApplicationsClock, memory)
  'maxVideoClock', // MHz (nvmlDeviceGetMaxClockInfo, video)
  'vgpuLicenseStatus', // 0/1 as DCGM derives it from nvmlDeviceGetGridLicensableFeatures: 1 = the vGPU feature is licensed, 0 = not licensed or licensing not supported (bare metal)
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
  /**
   * The GPU instance's profile id and placement start (nvmlGpuInstanceGetInfo), what NVIDIA's DRA
   * driver names a MIG device by (`gpu-<minor>-mig-<profile>-<profileId>-<placementStart>`); null
   * when NVML could not read them (absent calls, or not permitted). Optional only for samples built by hand.
   */
  gpuInstanceProfileId?: number | null;
  placementStart?: number | null;
  /**
   * GPU-instance profile, e.g. `1g.10gb`, as DCGM names it: `<slices>g.<ceil(memoryMB / 1024)>gb` from
   * the GPU instance's profile info. Several compute instances of one GPU instance share it. Empty
   * when it could not be read.
   */
  profile: string;
  /**
   * Where `profile` came from: `gpuInstance` (the GPU instance's profile info), `name` (parsed from
   * the MIG device name, without a compute-instance prefix such as `1c.` or a suffix such as `+me`:
   * the GPU-instance calls are absent from the library or not permitted, as they can need a
   * privileged caller), or `''` (neither). Always set in a sweep's result.
   */
  profileSource?: 'gpuInstance' | 'name' | '';
  /** the MIG device name, e.g. `NVIDIA H100 80GB HBM3 MIG 1c.2g.20gb` */
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
  // The next three are always set in a sweep's result; optional only for samples built by hand.
  /** VBIOS version (nvmlDeviceGetVbiosVersion), null when not readable */
  vbiosVersion?: string | null;
  /** inforom versions (nvmlDeviceGetInforomImageVersion, nvmlDeviceGetInforomVersion OEM/ECC/power objects); null when not readable */
  inforom?: { image: string | null; oem: string | null; ecc: string | null; power: string | null };
  /**
   * The product brand as DCGM writes DCGM_FI_DEV_BRAND (nvmlDeviceGetBrand mapped to `Tesla`,
   * `NVIDIA`, `Quadro`, `GeForce`, `NVIDIA RTX`, … and `Unknown`); null when not readable
   */
  brand?: string | null;
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
  /** GPM (profiling metrics, Hopper and newer); absent when the sweep did not ask for it */
  gpm?: GpmSample;
}

/** NVML's GPM metric ids this exporter reads (nvmlGpmMetricId_t; native/gpm_abi.h). */
export const GPM_METRIC = {
  graphicsUtil: 1,
  smUtil: 2,
  smOccupancy: 3,
  integerUtil: 4,
  anyTensorUtil: 5,
  dfmaTensorUtil: 6,
  hmmaTensorUtil: 7,
  immaTensorUtil: 9,
  dramBwUtil: 10,
  fp64Util: 11,
  fp32Util: 12,
  fp16Util: 13,
  pcieTxPerSec: 20,
  pcieRxPerSec: 21,
  nvdec0Util: 30,
  nvjpg0Util: 40,
  nvofa0Util: 50,
  nvlinkTotalRxPerSec: 60,
  nvlinkTotalTxPerSec: 61,
  /** link k: RX 62 + 2k, TX 63 + 2k (k = 0…17) */
  nvlinkL0RxPerSec: 62,
  c2cTotalTxPerSec: 100,
  c2cTotalRxPerSec: 101,
  c2cDataTxPerSec: 102,
  c2cDataRxPerSec: 103,
  /** host hit, host miss, peer hit, peer miss: 160–163 */
  hostmemCacheHit: 160,
  /** the cumulative counters 248–260, in DCGM's field order 1084–1096 */
  smCyclesElapsed: 248,
} as const;

/** GPM metrics of one entity (the whole GPU, a GPU instance or a compute instance) for one sweep. */
export interface GpmEntity {
  /** null for the whole GPU */
  gpuInstanceId: number | null;
  /** set for a compute instance only */
  computeInstanceId: number | null;
  /**
   * 0: metrics computed between this sweep's sample and the previous one; -1: no earlier sample to
   * pair with yet (the first sweep, or the previous one is under 100 ms old); otherwise the NVML code
   * of the call that failed (sample get, metrics get)
   */
  code: number;
  /** metric id → the value NVML computed (percent 0–100, MiB/s, or a counter); NaN is kept as NaN */
  values: ReadonlyMap<number, number>;
  /** metric id → NVML code, for each metric that did not succeed */
  status: ReadonlyMap<number, number>;
}

export interface GpmSample {
  /**
   * 0: the GPU supports GPM; 3 (NOT_SUPPORTED): not Hopper or newer; 13 (FUNCTION_NOT_FOUND): the
   * library has no GPM; otherwise the NVML code of nvmlGpmQueryDeviceSupport (4 = NO_PERMISSION)
   */
  support: number;
  /** the whole GPU; null when not supported */
  gpu: GpmEntity | null;
  /** each MIG GPU instance that has a compute instance */
  instances: GpmEntity[];
  /** each MIG compute instance (only when the sweep asked for them) */
  computeInstances: GpmEntity[];
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
  /** the processes on each GPU / MIG device; null when this sweep did not read them (SweepOptions.processes) */
  processes?: ProcessesRead | null;
}

/** Bits of ProcessSample.kinds: which of NVML's running-process lists named the process. */
export const PROCESS_COMPUTE = 1;
export const PROCESS_GRAPHICS = 2;
export const PROCESS_MPS = 4;

export interface ProcessSample {
  /** host PID */
  pid: number;
  /** PROCESS_COMPUTE | PROCESS_GRAPHICS | PROCESS_MPS */
  kinds: number;
  /** bytes of GPU memory the process uses; null when the driver cannot tell */
  usedMemory: number | null;
  /**
   * % of the time since the previous process read that the process had kernels running (SM),
   * read or wrote memory, used the encoder, the decoder: its driver samples, each weighted by the
   * sample period, over that span. null when the device has no per-process utilisation (MIG).
   */
  smUtil: number | null;
  memUtil: number | null;
  encUtil: number | null;
  decUtil: number | null;
}

/** The processes of one GPU (migSlot null) or one MIG device. */
export interface ProcessDeviceSample {
  /** position of the GPU in SweepResult.devices */
  gpu: number;
  migSlot: number | null;
  /** NVML code of the process lists: 0 read, otherwise why not (then `processes` is empty) */
  listStatus: number;
  /** NVML code of the utilisation samples: 0 read (also when there were none), otherwise why not */
  utilStatus: number;
  /** µs the utilisation values average over (0 when no process was busy) */
  intervalUs: number;
  processes: ProcessSample[];
}

export interface ProcessesRead {
  /** µs the process queries took on the sweep thread */
  durationUs: number;
  /** entry size (bytes) the driver's process lists were found to use: 16, 24 or 32; 0 = no entry seen yet */
  stride: number;
  devices: ProcessDeviceSample[];
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
  /**
   * GPM samples and metrics: `true` for whole GPUs and MIG GPU instances, `with-compute-instances`
   * for MIG compute instances too (default off)
   */
  gpm?: boolean | 'with-compute-instances';
  /** also read the processes of every GPU and MIG device (native/processes.cc) */
  processes?: boolean;
}

export interface OpenOptions {
  /** a path to the library; default: `libnvidia-ml.so.1` through the dynamic loader's search */
  library?: string;
  /** a sweep not finished within this many ms is reported as stalled (default 5000) */
  sweepDeadlineMs?: number;
}
