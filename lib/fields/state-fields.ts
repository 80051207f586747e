// Device state fields read from the sweep's identity and mode readings: the GPU count and the MIG
// mode. (The readings of power limits, P-state, PCIe link, thresholds, BAR1 and modes join here as
// the native layer provides them.)
import type { DeviceSample } from '../nvml/types.js';
import type { Snapshot } from '../collect/types.js';
import type { ValueField } from './types.js';

export const STATE_FIELDS: readonly ValueField[] = [
  {
    kind: 'value', name: 'DCGM_FI_DEV_COUNT', id: 4, type: 'gauge', format: 'int', unit: 'GPUs',
    help: 'Number of devices on the node.',
    // DCGM's field is node-wide; like every field here it is written on each GPU's series
    device: (_d: DeviceSample, snap: Snapshot) => snap.sweep.devices.length,
  },
  {
    kind: 'value', name: 'DCGM_FI_DEV_MIG_MODE', id: 67, type: 'gauge', format: 'int', unit: '0/1',
    help: 'MIG mode of the device (1 enabled, 0 disabled).',
    device: (d: DeviceSample) => (d.migEnabled === null ? undefined : d.migEnabled ? 1 : 0),
  },
];
