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
   * the difference of (TX+RX KiB counters) between the last two sweeps, per second (0 on the first)
   */
  nvlinkBandwidth: ReadonlyMap<string, number>;
}
