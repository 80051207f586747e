import t from 'tap';
import {
  DCGM_FIELDS, DCGM_RENAMES, DCGM_LEGACY_NAMES, DCGM_NON_FIELD_NAMES, DCGM_EXPORTER_FIELDS, DCGM_EXPORTER_CSV_ROWS,
  DCGM_UNNAMED_IDS, acceptedNames, type DcgmFieldFact,
} from '../../lib/fields/dcgm-field-table.js';

const byId = new Map(DCGM_FIELDS.map((f) => [f.id, f]));
/** The fact a name resolves to under 4.8.2 rules: a P entry's name or alias, else a lower-case legacy name. */
const resolve = (name: string): DcgmFieldFact | undefined => {
  const legacy = DCGM_LEGACY_NAMES.get(name);
  if (legacy !== undefined) return resolve(legacy);
  return DCGM_FIELDS.find((f) => f.basis === 'P' && (f.name === name || (f.aliases ?? []).includes(name)));
};

t.test('accepted-name count of dcgm-exporter 4.8.2', async (t) => {
  const names = acceptedNames();
  // dcgm-exporter tag 4.5.3-4.8.2 pins go-dcgm ec245c0 (v0.0.0-20260422145128-ec245c09fe3e). Its GetFieldID
  // consults dcgmFields (626 names) and then legacyDCGMFields (99 names: 58 DCGM_DEPRECATED aliases and
  // 41 lower-case 1.x names): 725 distinct names. The 724 is one fewer; no go-dcgm commit gives 724
  // (see docs/dcgm-field-sources.md). dcgm-exporter's own map adds the 4 DCGM_EXP_* names of 4.8.2.
  t.equal(names.length, 729, 'go-dcgm names plus DCGM_EXP_* names');
  t.equal(names.filter((n) => !n.startsWith('DCGM_EXP_')).length, 725, 'go-dcgm ec245c0 names');
  t.equal(new Set(names).size, names.length, 'no duplicates');
  t.same(names, [...names].sort(), 'sorted');
  t.equal(names.filter((n) => n === n.toLowerCase()).length, 41, 'lower-case legacy names');
  t.ok(names.includes('DCGM_FI_UNKNOWN') && names.includes('DCGM_FI_FIRST_VGPU_FIELD_ID'), 'non-field names are accepted too');
  for (const n of ['DCGM_FI_DEV_GPU_TEMP_CELSIUS', 'DCGM_FI_SYSTEM_DRIVER_VERSION', 'DCGM_FI_DEV_SM_CLOCK_HERTZ',
    'DCGM_EXP_XID_ERRORS_TOTAL', 'DCGM_FI_PROF_PCIE_TX_BYTES_PER_SECOND', 'DCGM_FI_DEV_FB_USED_BYTES']) {
    t.notOk(names.includes(n), `${n} is a later name, not accepted by 4.8.2`);
  }
  for (const n of names.filter((x) => !x.startsWith('DCGM_EXP_'))) {
    t.ok(resolve(n) !== undefined || DCGM_NON_FIELD_NAMES.has(n), `${n} resolves`);
  }
});

t.test('ids and names are unique', async (t) => {
  const ids = DCGM_FIELDS.map((f) => f.id);
  t.equal(new Set(ids).size, ids.length, 'one entry per id');
  t.same(ids, [...ids].sort((a, b) => a - b), 'ascending id');
  // A name may belong to two ids only where a later release moves it (4.7.0: the _RATIO name goes from 203 to 1613).
  const moved = new Set(DCGM_RENAMES.filter((r) => r.release === '4.7.0').map((r) => r.from));
  const owner = new Map<string, number>();
  for (const f of DCGM_FIELDS) {
    for (const n of [f.name, ...(f.aliases ?? [])]) {
      const prev = owner.get(n);
      if (prev !== undefined && prev !== f.id) t.ok(moved.has(n), `${n} names ${prev} and ${f.id}`);
      owner.set(n, f.id);
    }
    t.equal(new Set(f.aliases ?? []).size, (f.aliases ?? []).length, `${f.id} aliases unique`);
    t.notOk((f.aliases ?? []).includes(f.name), `${f.id} name is not its own alias`);
  }
  t.same([...moved], ['DCGM_FI_DEV_GPU_UTIL_RATIO']);
  for (const n of DCGM_NON_FIELD_NAMES.keys()) t.notOk(owner.has(n), `${n} is not a field name`);
  for (const n of DCGM_LEGACY_NAMES.keys()) t.notOk(owner.has(n), `${n} is only a legacy name`);
  t.equal(DCGM_FIELDS.filter((f) => f.basis === 'P').length, 652, 'P entries: go-dcgm v1.4611.0 canonical names less 9 non-field names');
});

t.test('anchors', async (t) => {
  const anchors: [string, number, string, DcgmFieldFact['type'], DcgmFieldFact['entity'], string?][] = [
    ['DCGM_FI_DRIVER_VERSION', 1, 'DCGM_FI_SYSTEM_DRIVER_VERSION', 'string', 'none'],
    ['DCGM_FI_NVML_VERSION', 2, 'DCGM_FI_SYSTEM_NVML_VERSION', 'string', 'none'],
    ['DCGM_FI_DEV_SM_CLOCK', 100, 'DCGM_FI_DEV_SM_CLOCK', 'int64', 'gpu', 'MHz'],
    ['DCGM_FI_DEV_MEMORY_TEMP', 140, 'DCGM_FI_DEV_MEMORY_TEMP_CELSIUS', 'int64', 'gpu', 'degC'],
    ['DCGM_FI_DEV_GPU_TEMP', 150, 'DCGM_FI_DEV_GPU_TEMP_CELSIUS', 'int64', 'gpu', 'degC'],
    ['DCGM_FI_DEV_POWER_USAGE', 155, 'DCGM_FI_DEV_BOARD_POWER_WATTS', 'double', 'gpu', 'W'],
    ['DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', 156, 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', 'int64', 'gpu', 'mJ'],
    ['DCGM_FI_DEV_PCIE_REPLAY_COUNTER', 202, 'DCGM_FI_DEV_PCIE_REPLAY_TOTAL', 'int64', 'gpu'],
    ['DCGM_FI_DEV_GPU_UTIL', 203, 'DCGM_FI_DEV_GPU_UTIL_RATIO', 'int64', 'gpu', '%'],
    ['DCGM_FI_DEV_XID_ERRORS', 230, 'DCGM_FI_DEV_XID_ERROR', 'int64', 'gpu_ci'],
    ['DCGM_FI_DEV_POWER_VIOLATION', 240, 'DCGM_FI_DEV_POWER_VIOLATION', 'int64', 'gpu', 'ns'],
    ['DCGM_FI_DEV_FB_USED', 252, 'DCGM_FI_DEV_FB_USED', 'int64', 'gpu_ci', 'MiB'],
    ['DCGM_FI_DEV_RETIRED_PENDING', 392, 'DCGM_FI_DEV_PAGE_RETIRED_PENDING', 'int64', 'gpu'],
    ['DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL', 449, 'DCGM_FI_DEV_NVLINK_THROUGHPUT_TOTAL', 'int64', 'gpu', 'MB/s'],
    ['DCGM_FI_DEV_VGPU_LICENSE_STATUS', 526, 'DCGM_FI_DEV_VGPU_LICENSE_STATUS', 'int64', 'vgpu'],
    ['DCGM_FI_PROF_GR_ENGINE_ACTIVE', 1001, 'DCGM_FI_PROF_GR_ENGINE_UTIL_RATIO', 'double', 'gpu_ci', 'ratio'],
    ['DCGM_FI_PROF_DRAM_ACTIVE', 1005, 'DCGM_FI_PROF_DRAM_UTIL_RATIO', 'double', 'gpu_i', 'ratio'],
    ['DCGM_FI_PROF_PCIE_TX_BYTES', 1009, 'DCGM_FI_PROF_PCIE_TX_BYTES', 'int64', 'gpu', 'B/s'],
    ['dcgm_sm_clock', 100, 'DCGM_FI_DEV_SM_CLOCK', 'int64', 'gpu', 'MHz'],
    ['dcgm_gpu_temp', 150, 'DCGM_FI_DEV_GPU_TEMP_CELSIUS', 'int64', 'gpu', 'degC'],
  ];
  for (const [name, id, canonical, type, entity, unit] of anchors) {
    const f = resolve(name);
    t.ok(f, `${name} resolves`);
    t.equal(f?.id, id, `${name} id`);
    t.equal(f?.name, canonical, `${name} canonical name`);
    t.equal(f?.type, type, `${name} type`);
    t.equal(f?.entity, entity, `${name} entity`);
    if (unit !== undefined) t.equal(f?.unit, unit, `${name} unit`);
  }
  const hz = byId.get(1603);
  t.match(hz, { name: 'DCGM_FI_DEV_SM_CLOCK_HERTZ', unit: 'Hz', basis: 'P', since: '4.6.1' });
  t.match(byId.get(1613), { name: 'DCGM_FI_DEV_GPU_UTIL_RATIO', type: 'double', basis: 'S', since: '4.7.0' });
  t.equal(DCGM_LEGACY_NAMES.get('dcgm_sm_clock'), 'DCGM_FI_DEV_SM_CLOCK');
  t.equal(DCGM_NON_FIELD_NAMES.get('DCGM_FI_UNKNOWN'), 0);
});

t.test('legacy lower-case names', async (t) => {
  t.equal(DCGM_LEGACY_NAMES.size, 41);
  for (const [legacy, name] of DCGM_LEGACY_NAMES) {
    const f = DCGM_FIELDS.find((x) => x.name === name);
    t.ok(f && f.basis === 'P' && f.since === undefined, `${legacy} -> ${name} is a known 4.5.3 field`);
  }
});

t.test('renames agree with the table', async (t) => {
  const count = (r: string): number => DCGM_RENAMES.filter((x) => x.release === r).length;
  t.equal(count('4.5.3'), 58, 'aliases in the 4.5.3 header');
  t.equal(count('4.6.0'), 268, 'DCGM 4.6.0 renames in place');
  t.equal(count('4.6.1'), 36, 'DCGM 4.6.1 renames in place');
  t.equal(count('4.8.0'), 4, 'DCGM 4.8.0 _PER_SECOND names (release notes)');
  for (const r of DCGM_RENAMES) {
    if (r.basis !== 'P') continue;
    if (DCGM_NON_FIELD_NAMES.has(r.to)) {
      t.equal(DCGM_NON_FIELD_NAMES.get(r.from), r.id, `${r.from} non-field alias`);
      continue;
    }
    const f = byId.get(r.id);
    t.ok(f && (f.aliases ?? []).includes(r.from), `${r.from} is an alias of ${r.id}`);
    t.ok(f && (f.name === r.to || (f.aliases ?? []).includes(r.to)), `${r.to} names ${r.id}`);
  }
  t.same(DCGM_RENAMES.find((r) => r.from === 'DCGM_FI_DEV_GPU_TEMP'), {
    id: 150, from: 'DCGM_FI_DEV_GPU_TEMP', to: 'DCGM_FI_DEV_GPU_TEMP_CELSIUS', release: '4.6.0', basis: 'P',
  });
});

t.test('base-unit fields', async (t) => {
  const p = DCGM_FIELDS.filter((f) => f.id >= 1600 && f.id <= 1612);
  t.equal(p.length, 13);
  for (const f of p) t.match(f, { basis: 'P', metaBasis: 'I', since: '4.6.1' });
  const later = DCGM_FIELDS.filter((f) => f.id >= 1613);
  t.equal(later.length, 29, '1613-1617, 1625-1628, 1630-1649');
  for (const f of later) t.match(f, { basis: 'S', since: '4.7.0' });
  t.same(DCGM_UNNAMED_IDS.map((u) => u.id), [1618, 1619, 1620, 1621, 1622, 1623, 1624, 1629, 1650]);
  const covered = new Set([...later.map((f) => f.id), ...DCGM_UNNAMED_IDS.map((u) => u.id)]);
  for (let id = 1613; id <= 1650; id++) t.ok(covered.has(id), `${id} recorded`);
});

t.test('dcgm-exporter DCGM_EXP_* names', async (t) => {
  t.same(DCGM_EXPORTER_FIELDS.filter((e) => e.id !== undefined).map((e) => [e.name, e.id]), [
    ['DCGM_EXP_XID_ERRORS_COUNT', 9001], ['DCGM_EXP_CLOCK_EVENTS_COUNT', 9002],
    ['DCGM_EXP_GPU_HEALTH_STATUS', 9003], ['DCGM_EXP_P2P_STATUS', 9004],
  ]);
  t.same(DCGM_EXPORTER_FIELDS.filter((e) => e.id === undefined).map((e) => e.name),
    ['DCGM_EXP_XID_ERRORS_TOTAL', 'DCGM_EXP_CLOCK_EVENTS_TOTAL']);
});

t.test('dcgm-exporter CSV rows at 4.5.3-4.8.2', async (t) => {
  const { default: def, dcp, compat1x } = DCGM_EXPORTER_CSV_ROWS;
  const active = (rows: typeof def): typeof def => rows.filter((r) => r.active);
  t.equal(active(def).length, 26, 'default-counters.csv: 26 active rows');
  t.equal(active(def).filter((r) => r.type === 'label').length, 1, '25 families and 1 label');
  t.equal(def.length - active(def).length, 37, 'default-counters.csv: 37 commented rows');
  t.same(active(dcp), active(def), 'dcp-metrics-included.csv: the same active rows');
  t.equal(dcp.length - active(dcp).length, 33, 'dcp-metrics-included.csv: no DCGM_EXP_* rows among its commented ones');
  t.equal(active(compat1x).length, 22);
  t.equal(compat1x.length - active(compat1x).length, 19);
  t.same(active(def).map((r) => r.name).slice(0, 4),
    ['DCGM_FI_DEV_SM_CLOCK', 'DCGM_FI_DEV_MEM_CLOCK', 'DCGM_FI_DEV_MEMORY_TEMP', 'DCGM_FI_DEV_GPU_TEMP']);
  t.match(def.find((r) => r.name === 'DCGM_FI_DEV_DEC_UTIL'), { type: 'gauge', help: 'Decoder utilization (in %).', active: true });
  t.match(def.find((r) => r.name === 'DCGM_FI_DRIVER_VERSION'), { type: 'label', help: 'Driver Version', active: true });
  t.equal(compat1x.filter((r) => r.name === 'dcgm_fi_prof_pcie_tx_bytes' && r.active).length, 2, 'the file lists it twice');
  const accepted = new Set(acceptedNames());
  for (const r of [...def, ...dcp, ...compat1x].filter((x) => x.active)) t.ok(accepted.has(r.name), `${r.name} accepted`);
  const commentedUnknown = [...def, ...dcp, ...compat1x].filter((r) => !r.active && !accepted.has(r.name)).map((r) => r.name);
  t.same([...new Set(commentedUnknown)], [], 'every commented row names an accepted field too');
});
