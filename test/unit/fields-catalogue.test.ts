import t from 'tap';
import { lookupField, VALUE_FIELDS, LABEL_FIELDS, UNAVAILABLE_FIELDS, xidMessage, type ValueField } from '../../lib/fields/index.js';
import { acceptedNames } from '../../lib/fields/dcgm-field-table.js';
import type { Snapshot } from '../../lib/collect/types.js';
import type { DeviceSample, MigDeviceSample } from '../../lib/nvml/types.js';

const dev = (readings: DeviceSample['readings']): DeviceSample => ({
  index: 0, minor: 0, uuid: 'GPU-a', name: 'Tesla T4', pciBusId: '00000000:3B:00.0', serial: null, migEnabled: null,
  lostCode: null, readings, status: {}, mig: [],
});
const snap = (over: Partial<Snapshot> = {}): Snapshot => ({
  sweep: { timestamp: 0, durationUs: 0, driverVersion: '550.1', nvmlVersion: '12.550', cudaDriverVersion: null, devices: [] },
  seq: 1, lastXid: new Map(), xidCount: new Map(), nvlinkBandwidth: new Map(), nvlinkBytesPerSecond: new Map(), xidWindowCounts: new Map(), xidWindowMs: 300000,
  xidTotals: new Map(), clockEventWindowCounts: new Map(), clockEventsWindowMs: 300000, clockEventTotals: new Map(), ...over,
});
const field = (name: string): ValueField => {
  const f = lookupField(name);
  if (!f || f.kind !== 'value') throw new Error(`${name} is not a value field`);
  return f;
};

t.test('names, IDs and types are unique and as dcgm-exporter ships them', async (t) => {
  const ids = VALUE_FIELDS.map((f) => f.id);
  t.equal(new Set(ids).size, ids.length, 'unique IDs');
  t.same(ids, [...ids].sort((a, b) => a - b), 'ascending');
  const expect: [string, number, string][] = [
    ['DCGM_FI_DEV_SM_CLOCK', 100, 'gauge'], ['DCGM_FI_DEV_MEM_CLOCK', 101, 'gauge'], ['DCGM_FI_DEV_MEMORY_TEMP', 140, 'gauge'],
    ['DCGM_FI_DEV_GPU_TEMP', 150, 'gauge'], ['DCGM_FI_DEV_POWER_USAGE', 155, 'gauge'], ['DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', 156, 'counter'],
    ['DCGM_FI_DEV_PCIE_TX_THROUGHPUT', 200, 'gauge'], ['DCGM_FI_DEV_PCIE_REPLAY_COUNTER', 202, 'counter'], ['DCGM_FI_DEV_GPU_UTIL', 203, 'gauge'],
    ['DCGM_FI_DEV_XID_ERRORS', 230, 'gauge'], ['DCGM_FI_DEV_POWER_VIOLATION', 240, 'counter'], ['DCGM_FI_DEV_FB_TOTAL', 250, 'gauge'],
    ['DCGM_FI_DEV_FB_RESERVED', 253, 'gauge'], ['DCGM_FI_DEV_ECC_SBE_VOL_TOTAL', 310, 'counter'], ['DCGM_FI_DEV_RETIRED_PENDING', 392, 'counter'],
    ['DCGM_FI_DEV_ROW_REMAP_FAILURE', 395, 'gauge'], ['DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL', 449, 'counter'],
    ['DCGM_FI_DEV_CLOCKS_EVENT_REASONS', 112, 'gauge'],
  ];
  for (const [name, id, type] of expect) {
    const f = field(name);
    t.equal(f.id, id, `${name} id`);
    t.equal(f.type, type, `${name} type`);
  }
  t.equal(field('DCGM_FI_DEV_POWER_USAGE').format, 'double');
  t.equal(field('DCGM_FI_DEV_GPU_UTIL').format, 'int');
  t.equal(lookupField('DCGM_FI_DRIVER_VERSION')?.kind, 'label');
  t.ok(LABEL_FIELDS.length >= 5);
});

t.test('legacy names and recognised-but-unavailable names', async (t) => {
  t.equal(lookupField('dcgm_sm_clock'), lookupField('DCGM_FI_DEV_SM_CLOCK'));
  t.equal(lookupField('dcgm_gpu_utilization'), lookupField('DCGM_FI_DEV_GPU_UTIL'));
  t.equal(lookupField('DCGM_FI_DEV_CLOCK_THROTTLE_REASONS'), lookupField('DCGM_FI_DEV_CLOCKS_EVENT_REASONS'));
  t.equal(lookupField('DCGM_FI_PROF_GR_ENGINE_ACTIVE')?.kind, 'value', 'served from NVML GPM');
  t.equal(lookupField('DCGM_FI_PROF_GR_ENGINE_UTIL_RATIO'), lookupField('DCGM_FI_PROF_GR_ENGINE_ACTIVE'), "DCGM 4.6's name of the same field");
  t.equal(lookupField('DCGM_FI_PROF_PCIE_TX_BYTES_PER_SECOND'), lookupField('DCGM_FI_PROF_PCIE_TX_BYTES'), "4.10's name of the same field");
  t.equal(lookupField('DCGM_FI_PROF_SOMETHING_NEW')?.kind, 'unavailable', 'any PROF name is recognised');
  t.equal(lookupField('DCGM_EXP_P2P_STATUS')?.kind, 'unavailable');
  t.equal(lookupField('DCGM_FI_DEV_VGPU_LICENSE_STATUS')?.kind, 'value', 'read from NVML\'s licensable features');
  t.equal(lookupField('DCGM_EXP_XID_ERRORS_COUNT')?.kind, 'value');
  t.equal(lookupField('DCGM_FI_DEV_FOO'), undefined);
  t.equal(lookupField('dcgm_fi_dev_gpu_util'), undefined, 'names match exactly');
  t.ok(UNAVAILABLE_FIELDS.every((f) => f.reason.length > 0));
});

t.test('reads: units, conversions, omissions', async (t) => {
  const s = snap();
  t.equal(field('DCGM_FI_DEV_POWER_USAGE').device(dev({ powerUsage: 302206 }), s), 302.206);
  t.equal(field('DCGM_FI_DEV_ENFORCED_POWER_LIMIT').device(dev({ powerLimit: 350000 }), s), 350);
  t.equal(field('DCGM_FI_DEV_FB_USED').device(dev({ memUsed: 3 * 1048576 - 1 }), s), 2, 'bytes → whole MiB');
  t.equal(field('DCGM_FI_DEV_FB_TOTAL').device(dev({ memTotal: 16 * 1073741824 }), s), 16384);
  t.equal(field('DCGM_FI_DEV_MEMORY_TEMP').device(dev({ memTemp: 61 }), s), 61);
  t.equal(field('DCGM_FI_DEV_MEMORY_TEMP').device(dev({ memTemp: 201 }), s), undefined, '> 200 °C is a read error');
  t.equal(field('DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION').device(dev({ energy: 123456789012 }), s), 123456789012);
  for (const f of VALUE_FIELDS) {
    if (['DCGM_FI_DEV_XID_ERRORS', 'DCGM_EXP_XID_ERRORS_COUNT', 'DCGM_EXP_CLOCK_EVENTS_COUNT', 'DCGM_FI_DEV_COUNT'].includes(f.name)) continue; // defined without a reading
    t.equal(f.device(dev({}), s), undefined, `${f.name}: no reading → no value`);
  }
});

t.test('XID value, labels and count; NVLink from the snapshot', async (t) => {
  const xid = field('DCGM_FI_DEV_XID_ERRORS');
  const d = dev({});
  t.equal(xid.device(d, snap()), 0);
  t.same(xid.attributes!(d, snap()), [['err_code', '0'], ['err_msg', 'No Error']]);
  const s = snap({
    lastXid: new Map([['GPU-a', { gpu: 0, uuid: 'GPU-a', xid: 48, time: 0, gpuInstanceId: null, computeInstanceId: null }]]),
    xidCount: new Map([['GPU-a', 4]]),
    nvlinkBandwidth: new Map([['GPU-a', 1200]]),
    xidWindowCounts: new Map([['GPU-a', new Map([[48, 3], [13, 1]])]]),
  });
  t.equal(xid.device(d, s), 48);
  t.same(xid.attributes!(d, s), [['err_code', '48'], ['err_msg', 'Double bit ECC error']]);
  const count = field('DCGM_EXP_XID_ERRORS_COUNT');
  t.equal(count.device(d, s), 4, 'XIDs within the window, all numbers');
  t.same(count.series!(d, s), [
    { attrs: [['window_size_in_ms', '300000'], ['xid', '13']], value: 1 },
    { attrs: [['window_size_in_ms', '300000'], ['xid', '48']], value: 3 },
  ], 'one series per XID number, with the window');
  t.same(count.series!(d, snap()), [{ attrs: [['window_size_in_ms', '300000']], value: 0 }], 'none: one 0 without an xid label');
  const clock = field('DCGM_EXP_CLOCK_EVENTS_COUNT');
  const cs = snap({ clockEventWindowCounts: new Map([['GPU-a', new Map([['power_cap', 2], ['gpu_idle', 5]])]]), clockEventsWindowMs: 60000 });
  t.equal(clock.device(d, cs), 7, 'clock-event samples within the window, all reasons');
  t.same(clock.series!(d, cs), [
    { attrs: [['window_size_in_ms', '60000'], ['clock_event', 'gpu_idle']], value: 5 },
    { attrs: [['window_size_in_ms', '60000'], ['clock_event', 'power_cap']], value: 2 },
  ], 'one series per reason, in bit order, with the window');
  t.same(clock.series!(d, snap()), [{ attrs: [['window_size_in_ms', '300000']], value: 0 }], 'none: one 0 without a clock_event label');
  const xidTotal = field('DCGM_EXP_XID_ERRORS_TOTAL');
  t.same(xidTotal.series!(d, snap({ xidTotals: new Map([['GPU-a', new Map([[79, 2], [13, 1]])]]) })), [
    { attrs: [['xid', '13']], value: 1 }, { attrs: [['xid', '79']], value: 2 },
  ], 'XID totals by number, no window');
  t.same(xidTotal.series!(d, snap()), [], 'no XID since start: no series');
  const clockTotal = field('DCGM_EXP_CLOCK_EVENTS_TOTAL');
  t.same(clockTotal.series!(d, snap({ clockEventTotals: new Map([['GPU-a', new Map([['hw_slowdown', 4]])]]) })),
    [{ attrs: [['clock_event', 'hw_slowdown']], value: 4 }]);
  t.same(clockTotal.series!(d, snap()), [], 'no clock event since start: no series');
  t.equal(field('DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL').device(d, s), 1200);
  t.equal(field('DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL').device(d, snap()), undefined);
  t.equal(xidMessage(0), 'No Error');
  t.equal(xidMessage(79), 'GPU has fallen off the bus');
  t.equal(xidMessage(12345), 'Unknown Error');
});

t.test('MIG: only what an instance measures itself', async (t) => {
  const m: MigDeviceSample = { uuid: 'MIG-x', slot: 0, gpuInstanceId: 1, computeInstanceId: 0, profile: '1g.10gb', name: 'MIG',
    readings: { memUsed: 10 * 1048576, memFree: 20 * 1048576, memTotal: 30 * 1048576, memReserved: 0, gpuUtil: 50 }, status: {} };
  const perInstance = VALUE_FIELDS.filter((f) => f.mig).map((f) => f.name);
  t.same(perInstance, ['DCGM_FI_DEV_FB_TOTAL', 'DCGM_FI_DEV_FB_FREE', 'DCGM_FI_DEV_FB_USED', 'DCGM_FI_DEV_FB_RESERVED',
    'DCGM_FI_PROF_GR_ENGINE_ACTIVE', 'DCGM_FI_PROF_SM_ACTIVE', 'DCGM_FI_PROF_SM_OCCUPANCY', 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE',
    'DCGM_FI_PROF_DRAM_ACTIVE', 'DCGM_FI_PROF_PIPE_FP64_ACTIVE', 'DCGM_FI_PROF_PIPE_FP32_ACTIVE', 'DCGM_FI_PROF_PIPE_FP16_ACTIVE',
    'DCGM_FI_PROF_PIPE_TENSOR_IMMA_ACTIVE', 'DCGM_FI_PROF_PIPE_TENSOR_HMMA_ACTIVE', 'DCGM_FI_PROF_PIPE_TENSOR_DFMA_ACTIVE',
    'DCGM_FI_PROF_PIPE_INT_ACTIVE',
    'DCGM_FI_DEV_FB_CAPACITY_BYTES', 'DCGM_FI_DEV_FB_FREE_BYTES', 'DCGM_FI_DEV_FB_USED_BYTES', 'DCGM_FI_DEV_FB_RESERVED_BYTES'],
  'framebuffer and the GPM engine, pipe and DRAM ratios (from each GPU instance\'s own GPM sample)');
  t.equal(field('DCGM_FI_DEV_FB_USED').mig!(m, dev({}), snap()), 10);
  t.equal(field('DCGM_FI_DEV_FB_USED_BYTES').mig!(m, dev({}), snap()), 10 * 1048576);
  t.equal(field('DCGM_FI_DEV_GPU_UTIL').mig, undefined, 'no GPU_UTIL per instance');
  const uuid = lookupField('DCGM_FI_DEV_UUID');
  t.equal(uuid?.kind === 'label' && uuid.value(snap().sweep, dev({}), m), 'MIG-x');
});

t.test('every name dcgm-exporter accepts is served or skipped with a reason; only other names are unknown', async (t) => {
  const names = acceptedNames();
  t.equal(names.length, 729, "go-dcgm's 725 field names (ec245c0, pinned by dcgm-exporter 4.8.2) and dcgm-exporter's 4 DCGM_EXP_* names");
  const kinds = { value: 0, label: 0, unavailable: 0 };
  const missing: string[] = [];
  const vague: string[] = [];
  for (const n of names) {
    const f = lookupField(n);
    if (!f) missing.push(n);
    else {
      kinds[f.kind]++;
      if (f.kind === 'unavailable' && f.reason.length < 20) vague.push(`${n}: ${f.reason}`);
    }
  }
  t.same(missing, [], 'no accepted name is unknown');
  t.same(vague, [], 'every skip has a reason');
  t.ok(kinds.value >= 45, `${kinds.value} names served as values, ${kinds.label} as labels, ${kinds.unavailable} skipped`);
  const reason = (n: string) => { const f = lookupField(n); return f?.kind === 'unavailable' ? f.reason : f?.kind; };
  t.match(reason('DCGM_FI_DEV_NVSWITCH_TEMPERATURE_CURRENT'), /NVSwitch module/);
  t.match(reason('DCGM_FI_DEV_CPU_UTIL_TOTAL'), /CPU module/);
  t.equal(reason('DCGM_FI_PROF_SM_ACTIVE'), 'value', 'served from NVML GPM');
  t.match(reason('DCGM_FI_PROF_NVLINK_TX_BYTES_PER_LINK'), /per-link entity field/);
  t.equal(reason('dcgm_gpu_temp'), 'value', 'a legacy lower-case name is served');
  t.equal(reason('DCGM_FI_DEV_GPU_TEMP_CELSIUS'), 'value', "DCGM 4.6's name of the same field is served");
  t.equal(lookupField('DCGM_FI_DEV_GPU_TEMP_CELSIUS'), lookupField('DCGM_FI_DEV_GPU_TEMP'), 'one field, two names');
  t.equal(lookupField('DCGM_FI_DEV_NOT_A_FIELD'), undefined);
});

t.test('base-unit fields: the same readings in SI units', async (t) => {
  const d = dev({ smClock: 1755, gpuUtil: 37, memUsed: 3 * 1048576 + 5, energy: 2_500_123, fanSpeed: 40 });
  const s = snap({ nvlinkBytesPerSecond: new Map([['GPU-a', 2_048_000]]) });
  t.equal(field('DCGM_FI_DEV_SM_CLOCK_HERTZ').device(d, s), 1_755_000_000);
  t.equal(field('DCGM_FI_DEV_GPU_UTIL_RATIO').device(d, s), 0.37);
  t.equal(field('DCGM_FI_DEV_GPU_UTIL_RATIO').format, 'double');
  t.equal(field('DCGM_FI_DEV_FB_USED_BYTES').device(d, s), 3 * 1048576 + 5, 'bytes, not MiB');
  t.equal(field('DCGM_FI_DEV_GPU_ENERGY_JOULES_TOTAL').device(d, s), 2500, 'J from mJ');
  t.equal(field('DCGM_FI_DEV_FAN_SPEED_RATIO').device(d, s), 0.4);
  t.equal(field('DCGM_FI_DEV_NVLINK_THROUGHPUT_BYTES_PER_SECOND').device(d, s), 2_048_000);
  t.equal(field('DCGM_FI_DEV_GPU_UTIL').device(d, s), 37, 'the legacy field keeps its percent');
});
