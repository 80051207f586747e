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

export interface SimMigDevice {
  /** GPU-instance profile, e.g. `1g.10gb` */
  profile: string;
  uuid?: string;
  gpuInstanceId?: number;
  computeInstanceId?: number;
  /** per-instance memory total in bytes (default derived from the profile) */
  memTotal?: number;
  values?: Partial<Record<ReadingKey, SimValue>>;
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
}

export interface SimXid {
  /** NVML index of the GPU */
  gpu: number;
  xid: number;
  /** unique per event; an event is delivered once per id (default: its position in the list) */
  id?: number;
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
}
