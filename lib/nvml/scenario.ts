// The typed form of a simulated-NVML scenario. Tests and `--simulate` build a Scenario object and
// write it with `writeScenario()` (lib/nvml/simulation.ts); the simulated library
// (native/fake/) reads the file named by NVML_SIM_SCENARIO and re-reads it when it changes, so a
// test changes a reading by writing the file again. The text format is documented in
// native/fake/README.md.
import type { ReadingKey } from './types.js';

/** A reading's value: a constant in NVML's units, or a wave that moves with wall-clock time. */
export type SimValue =
  | number
  /** the GPU does not support this reading: its call (or field) returns NOT_SUPPORTED (3) */
  | 'unsupported'
  | {
      /** triangle-free smooth wave: min + (max-min) * (1 - cos(2π (t/period + phase))) / 2 */
      wave: { min: number; max: number; periodS: number; phase?: number };
    }
  | {
      /** a counter growing by `perS` per second from `start` (energy, ECC, violation ns, NVLink KiB) */
      ramp: { start: number; perS: number };
    };
// vgpuLicenseStatus: absent = bare metal (licensing not supported), a number = a vGPU whose vGPU
// feature is licensed (non-zero) or not (0), `unsupported` = the call answers NOT_SUPPORTED.

/** Real-driver quirks of one GPU (native/fake/README.md, "Real-driver quirks"). */
export type SimGpuQuirk =
  /** integer field values labelled NVML_VALUE_TYPE_DOUBLE (memory temperature on r545) */
  | 'field-types-double'
  /** with ECC disabled (eccModeCurrent 0), the entries of fields 1-31 are left untouched */
  | 'ecc-fields-untouched'
  /** the NVLink throughput fields do not answer the all-links scope (0xFFFFFFFF) */
  | 'no-nvlink-all-scope'
  /** fields 74-79 (violation times) are unknown: NOT_SUPPORTED */
  | 'no-perf-policy-fields';

/** Real-driver quirks of the whole library. */
export type SimGlobalQuirk =
  /** no libcuda (NVIDIA_DRIVER_CAPABILITIES=utility): nvmlSystemGetCudaDriverVersion_v2 → LIBRARY_NOT_FOUND */
  | 'no-libcuda'
  /** nvmlEventSetWait_v2 is exported but answers NOT_SUPPORTED when called */
  | 'event-wait-v2-not-supported'
  /** nvmlEventSetWait_v2 is exported but answers FUNCTION_NOT_FOUND when called */
  | 'event-wait-v2-not-found'
  /** the `_v3` process lists write 32-byte entries with no version bump (drivers 535.43-535.86) */
  | 'process-info-32';

/**
 * A process on a GPU or MIG device (native/fake/README.md, "Processes"). Utilisations are % of
 * each driver sample period; a wave makes them move with load. A GPU whose gpuUtil / memUsed the
 * scenario leaves unset reports the sum of its processes' SM utilisation / memory.
 */
export interface SimProcess {
  /** host PID (1 .. 4194304) */
  pid: number;
  /** which running-process lists name it (default ['compute']); `mps` = an MPS client */
  kinds?: ('compute' | 'graphics' | 'mps')[];
  /** bytes of GPU memory (default 1 GiB) */
  mem?: SimValue;
  sm?: SimValue;
  memUtil?: SimValue;
  enc?: SimValue;
  dec?: SimValue;
  /** seconds after the library was first initialised when it appears (default 0) */
  startS?: number;
  /** seconds after the library was first initialised when it exits (default never) */
  exitS?: number;
}

/** A version string, or `unsupported`: the call answers NOT_SUPPORTED. */
export type SimText = string;

/**
 * A GPM metric's value in a scenario (native/fake/README.md, "GPM"): a scenario value in the
 * metric's own unit (percent 0–100, MiB/s, or a rate per second for the cumulative counters),
 * `nan` (NVML computes NaN), or `{ error: code }` (that metric answers the NVML code).
 */
export type SimGpmValue = SimValue | 'nan' | { error: number };

/**
 * GPM metrics by NVML metric id (nvmlGpmMetricId_t) or by one of the simulator's names
 * (graphicsUtil, smUtil, smOccupancy, integerUtil, anyTensorUtil, dfmaTensorUtil, hmmaTensorUtil,
 * dmmaTensorUtil, immaTensorUtil, dramBwUtil, fp64Util, fp32Util, fp16Util, pcieTxPerSec,
 * pcieRxPerSec, nvlinkTotalRxPerSec, nvlinkTotalTxPerSec).
 */
export type SimGpmMetrics = Record<string | number, SimGpmValue>;

export interface SimMigDevice {
  /**
   * The profile as the MIG device's name ends: `<slices>g.<GB>gb` (`1g.10gb`), with a `+suffix`
   * (`1g.10gb+me`), or a compute instance using part of its GPU instance, `<n>c.<slices>g.<GB>gb`
   * (`1c.2g.20gb`). The GPU instance's profile is the part after `<n>c.`.
   */
  profile: string;
  uuid?: string;
  /** compute instances with the same gpuInstanceId share that GPU instance (and its memory) */
  gpuInstanceId?: number;
  computeInstanceId?: number;
  /** the GPU-instance profile's memorySizeMB (default GB × 1024 − 256) */
  profileMemoryMB?: number;
  /** per-instance memory total in bytes (default derived from the profile) */
  memTotal?: number;
  values?: Partial<Record<ReadingKey, SimValue>>;
  /** GPM metrics of this compute instance (and `dramBwUtil` of its GPU instance, on the first one listed) */
  gpm?: SimGpmMetrics;
  /** processes running on this MIG device */
  processes?: SimProcess[];
}

export interface SimGpu {
  uuid?: string;
  name?: string;
  pciBusId?: string;
  serial?: string;
  minor?: number;
  /** readings in NVML units: bytes, mW, mJ, °C, MHz, %, ns, KiB, KB/s */
  values?: Partial<Record<ReadingKey, SimValue>>;
  /** NVML function name (e.g. `nvmlDeviceGetPowerUsage`) → return code for this GPU */
  errors?: Record<string, number>;
  /** NVML function name → delay in ms before it returns, for this GPU (a hung call) */
  delays?: Record<string, number>;
  /** the GPU has fallen off the bus: every call for it returns this code (true = 15 GPU_IS_LOST) */
  lost?: boolean | number;
  /** MIG mode; when `mig` is non-empty MIG is enabled */
  mig?: SimMigDevice[];
  /** false = the GPU does not support MIG at all (nvmlDeviceGetMigMode → NOT_SUPPORTED); default false unless mig is given */
  migCapable?: boolean;
  /** MIG mode; default: on when `mig` lists instances. On with no instances is possible, as on a real GPU. */
  migMode?: boolean;
  /** `denied`: the GPU-instance calls answer NO_PERMISSION (they can need a privileged caller); default allowed */
  gpuInstanceAccess?: 'allowed' | 'denied';
  quirks?: SimGpuQuirk[];
  /** the active NVLink link ids (default 0..17, an H100 SXM's 18); field 91 counts them */
  nvlinkIds?: number[];
  /** nvmlDeviceGetVbiosVersion (default `96.00.99.00.01`), or `unsupported` */
  vbios?: SimText;
  /** nvmlDeviceGetInforomVersion / …ImageVersion (defaults: oem 2.1, ecc 7.16, power unsupported, image G520.0200.00.05) */
  inforom?: { oem?: SimText; ecc?: SimText; power?: SimText; image?: SimText };
  /** nvmlDeviceGetBrand: an nvmlBrandType_t number (default 14, NVIDIA) or `unsupported` */
  brand?: number | 'unsupported';
  /** GPM support (nvmlGpmQueryDeviceSupport); default: yes for Hopper and newer names (H100, H200, B200, …), no otherwise */
  gpmSupported?: boolean;
  /** GPM metrics of the whole GPU (defaults follow the readings: native/fake/README.md, "GPM") */
  gpm?: SimGpmMetrics;
  /** processes running on the GPU itself (processes on MIG devices go in `mig[i].processes`) */
  processes?: SimProcess[];
}

export interface SimXid {
  /** NVML index of the GPU */
  gpu: number;
  xid: number;
  /** unique per event; an event is delivered once per id (default: its position in the list) */
  id?: number;
  /** what the v2 wait reports as the GPU/compute instance (default none: 0xFFFFFFFF) */
  gpuInstanceId?: number;
  computeInstanceId?: number;
}

export interface Scenario {
  driverVersion?: string;
  nvmlVersion?: string;
  /** 1000*major + 10*minor */
  cudaDriverVersion?: number;
  gpus: SimGpu[];
  /** NVML function name → return code for every call (e.g. `nvmlInit_v2: 9` = driver not loaded) */
  errors?: Record<string, number>;
  /** NVML function name → delay in ms for every call */
  delays?: Record<string, number>;
  /** XID events; each is delivered once to an event set registered for XID events */
  xids?: SimXid[];
  quirks?: SimGlobalQuirk[];
  /**
   * The latency model: `published` gives every call its published per-call cost (native/fake/README.md,
   * "Latency model"), `off` none (default: the NVML_SIM_LATENCY variable decides; unset = off)
   */
  latency?: 'published' | 'off';
  /** per-function cost overrides in µs (apply while the model is on) */
  latencyUs?: Record<string, number>;
  /** the simulated driver header's NVML_GPM_METRIC_MAX (98, 210 or 333; default 333): the most metrics one nvmlGpmMetricsGet takes */
  gpmMetricMax?: number;
}
