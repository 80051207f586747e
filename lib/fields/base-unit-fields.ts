// DCGM's base-unit fields (4.6.1: 1600–1612; 4.7: 1613–1649), which dcgm-exporter 4.9 and 4.10 serve
// by default in place of the legacy fields: the same readings in SI units (Hz, J, bytes, 0–1 ratios,
// bytes per second). Each reads the sweep like its legacy counterpart and converts; a CSV of any
// generation works under any naming profile.
import type { DeviceSample, MigDeviceSample, ReadingKey } from '../nvml/types.js';
import type { Snapshot } from '../collect/types.js';
import type { ValueField } from './types.js';

type Reader = (d: { readings: DeviceSample['readings'] }) => number | undefined;
const scaled = (key: ReadingKey, f: (v: number) => number): Reader => (d) => {
  const v = d.readings[key];
  return v === undefined ? undefined : f(v);
};

function base(name: string, id: number, help: string, unit: string, format: 'int' | 'double', read: Reader, perInstance = false, type: ValueField['type'] = 'gauge'): ValueField {
  const f: ValueField = { kind: 'value', name, id, type, help, unit, format, device: read };
  if (perInstance) f.mig = (m: MigDeviceSample) => read(m);
  return f;
}

const MHZ = (v: number) => v * 1e6;
const RATIO = (v: number) => v / 100;
const BYTES = (v: number) => Math.trunc(v);

export const BASE_UNIT_FIELDS: readonly ValueField[] = [
  base('DCGM_FI_DEV_SM_CLOCK_HERTZ', 1603, 'SM clock frequency (in Hz).', 'Hz', 'int', scaled('smClock', MHZ)),
  base('DCGM_FI_DEV_MEMORY_CLOCK_HERTZ', 1604, 'Memory clock frequency (in Hz).', 'Hz', 'int', scaled('memClock', MHZ)),
  base('DCGM_FI_DEV_VIDEO_CLOCK_HERTZ', 1605, 'Video encoder/decoder clock frequency (in Hz).', 'Hz', 'int', scaled('videoClock', MHZ)),
  base('DCGM_FI_DEV_SM_MAX_CLOCK_HERTZ', 1608, 'Maximum SM clock frequency (in Hz).', 'Hz', 'int', scaled('maxSmClock', MHZ)),
  base('DCGM_FI_DEV_MEMORY_MAX_CLOCK_HERTZ', 1609, 'Maximum memory clock frequency (in Hz).', 'Hz', 'int', scaled('maxMemClock', MHZ)),
  base('DCGM_FI_DEV_GPU_ENERGY_JOULES_TOTAL', 1611, 'Total energy consumption since the driver loaded (in J).', 'J', 'int',
    scaled('energy', (mj) => Math.trunc(mj / 1000)), false, 'counter'),
  base('DCGM_FI_DEV_FAN_SPEED_RATIO', 1612, 'Fan speed (ratio of the maximum).', 'ratio', 'double', scaled('fanSpeed', RATIO)),
  base('DCGM_FI_DEV_GPU_UTIL_RATIO', 1613, 'GPU utilization (ratio, 0 to 1).', 'ratio', 'double', scaled('gpuUtil', RATIO)),
  base('DCGM_FI_DEV_MEMORY_UTIL_RATIO', 1614, 'Memory utilization (ratio, 0 to 1).', 'ratio', 'double', scaled('memUtil', RATIO)),
  base('DCGM_FI_DEV_ENC_UTIL_RATIO', 1615, 'Encoder utilization (ratio, 0 to 1).', 'ratio', 'double', scaled('encUtil', RATIO)),
  base('DCGM_FI_DEV_DEC_UTIL_RATIO', 1616, 'Decoder utilization (ratio, 0 to 1).', 'ratio', 'double', scaled('decUtil', RATIO)),
  base('DCGM_FI_DEV_FB_CAPACITY_BYTES', 1625, 'Framebuffer memory capacity (in bytes).', 'bytes', 'int', scaled('memTotal', BYTES), true),
  base('DCGM_FI_DEV_FB_FREE_BYTES', 1626, 'Framebuffer memory free (in bytes).', 'bytes', 'int', scaled('memFree', BYTES), true),
  base('DCGM_FI_DEV_FB_USED_BYTES', 1627, 'Framebuffer memory used (in bytes).', 'bytes', 'int', scaled('memUsed', BYTES), true),
  base('DCGM_FI_DEV_FB_RESERVED_BYTES', 1628, 'Framebuffer memory reserved (in bytes).', 'bytes', 'int', scaled('memReserved', BYTES), true),
  {
    kind: 'value', name: 'DCGM_FI_DEV_NVLINK_THROUGHPUT_BYTES_PER_SECOND', id: 1648, type: 'gauge', format: 'int', unit: 'B/s',
    help: 'NVLink throughput over all links, transmitted and received (in bytes per second).',
    device: (d: DeviceSample, snap: Snapshot) => snap.nvlinkBytesPerSecond.get(d.uuid),
  },
];
