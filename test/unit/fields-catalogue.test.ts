import t from 'tap';
import { lookupField, VALUE_FIELDS, LABEL_FIELDS, UNAVAILABLE_FIELDS, xidMessage, type ValueField } from '../../lib/fields/index.js';
import type { Snapshot } from '../../lib/collect/types.js';
import type { DeviceSample, MigDeviceSample } from '../../lib/nvml/types.js';

const dev = (readings: DeviceSample['readings']): DeviceSample => ({
  index: 0, minor: 0, uuid: 'GPU-a', name: 'Tesla T4', pciBusId: '00000000:3B:00.0', serial: null, migEnabled: null,
  lostCode: null, readings, status: {}, mig: [],
});
const snap = (over: Partial<Snapshot> = {}): Snapshot => ({
  sweep: { timestamp: 0, durationUs: 0, driverVersion: '550.1', nvmlVersion: '12.550', cudaDriverVersion: null, devices: [] },
  seq: 1, lastXid: new Map(), xidCount: new Map(), nvlinkBandwidth: new Map(), ...over,
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
  t.equal(lookupField('DCGM_FI_PROF_GR_ENGINE_ACTIVE')?.kind, 'unavailable');
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
    if (['DCGM_FI_DEV_XID_ERRORS', 'DCGM_EXP_XID_ERRORS_COUNT'].includes(f.name)) continue;
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
  });
  t.equal(xid.device(d, s), 48);
  t.same(xid.attributes!(d, s), [['err_code', '48'], ['err_msg', 'Double bit ECC error']]);
  t.equal(field('DCGM_EXP_XID_ERRORS_COUNT').device(d, s), 4);
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
  t.same(perInstance, ['DCGM_FI_DEV_FB_TOTAL', 'DCGM_FI_DEV_FB_FREE', 'DCGM_FI_DEV_FB_USED', 'DCGM_FI_DEV_FB_RESERVED']);
  t.equal(field('DCGM_FI_DEV_FB_USED').mig!(m, dev({}), snap()), 10);
  t.equal(field('DCGM_FI_DEV_GPU_UTIL').mig, undefined, 'no GPU_UTIL per instance');
  const uuid = lookupField('DCGM_FI_DEV_UUID');
  t.equal(uuid?.kind === 'label' && uuid.value(snap().sweep, dev({}), m), 'MIG-x');
});
