// What the collector hands to the renderers: the last good sweep plus the state derived across
// sweeps (last XID per GPU, NVLink bandwidth rate). Immutable once published.
import type { SweepResult, XidEvent } from '../nvml/types.js';

export interface Snapshot {
  /** the last good sweep */
  sweep: SweepResult;
  /** increasing number of this snapshot */
  seq: number;
  /** last XID seen per GPU UUID (absent: none since start → value 0 / "No Error") */
  lastXid: ReadonlyMap<string, XidEvent>;
  /** XID events counted per GPU UUID since start */
  xidCount: ReadonlyMap<string, number>;
  /**
   * NVLink bandwidth per GPU UUID as dcgm-exporter reports DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL:
   * the difference of (TX+RX KiB counters) between the last two sweeps, per second, ÷ 1000,
   * truncated (0 on the first)
   */
  nvlinkBandwidth: ReadonlyMap<string, number>;
  /** the same difference in bytes per second (ΔKiB × 1024 / Δt; 0 on the first): DCGM 4.7's base-unit field */
  nvlinkBytesPerSecond: ReadonlyMap<string, number>;
  /** XID events per GPU UUID within the XID count window, by XID number (DCGM_EXP_XID_ERRORS_COUNT) */
  xidWindowCounts: ReadonlyMap<string, ReadonlyMap<number, number>>;
  /** the XID count window, ms */
  xidWindowMs: number;
  /** XID events per GPU UUID by XID number since start, XID 0 left out (DCGM_EXP_XID_ERRORS_TOTAL) */
  xidTotals: ReadonlyMap<string, ReadonlyMap<number, number>>;
  /** per GPU UUID, clock-event reason label → sweeps within the window with that reason set (DCGM_EXP_CLOCK_EVENTS_COUNT) */
  clockEventWindowCounts: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** the clock-event count window, ms */
  clockEventsWindowMs: number;
  /** per GPU UUID, clock-event reason label → times it became active since start (DCGM_EXP_CLOCK_EVENTS_TOTAL) */
  clockEventTotals: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

/** What the collector reports about itself; read by the self-metrics and /ready at scrape time. */
export interface CollectorStatus {
  /** NVML opened successfully */
  nvmlOpen: boolean;
  /** duration of the last finished sweep in seconds (null before the first) */
  lastSweepSeconds: number | null;
  /** ms since epoch of the last successful sweep (null before the first) */
  lastSuccessMs: number | null;
  sweepsTotal: number;
  sweepsFailed: number;
  /** sweeps that hit the deadline (a hung driver call) */
  sweepsStalled: number;
  /** failed readings since start, keyed `${field}\u0000${nvmlCodeName}` → count (NOT_SUPPORTED is not an error) */
  readErrors: ReadonlyMap<string, number>;
  /** GPUs currently marked lost */
  gpusLost: number;
  /** GPUs in the last sweep */
  gpuCount: number;
  /**
   * MIG-enabled GPUs whose own (aggregate) memory NVML refused with NO_PERMISSION in the last sweep:
   * the container lacks NVIDIA_MIG_MONITOR_DEVICES=all, and their parent DCGM_FI_DEV_FB_* are missing
   */
  migParentMemoryDenied?: number; // always set by the Collector; optional for statuses built elsewhere
}
