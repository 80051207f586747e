// etc/dcgm-field-catalogue.json is what the exporter reads at run time; dcgm-field-table.ts is
// where the facts are written. They must say the same, byte for byte as `npm run catalogue:update`
// writes it.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { catalogueFromFacts } from '../../lib/fields/dcgm-field-table.js';
import { CATALOGUE_FILE, catalogueText, readCatalogue } from '../../lib/fields/catalogue.js';
import { knownFieldNames, lookupField } from '../../lib/fields/index.js';
import { packageRoot } from '../../lib/package-root.js';

const file = join(packageRoot(), CATALOGUE_FILE);

t.test('the shipped catalogue file is the one the facts table writes', async (t) => {
  const facts = catalogueFromFacts();
  t.equal(readFileSync(file, 'utf8'), catalogueText(facts), `${CATALOGUE_FILE} is out of date: run npm run catalogue:update`);
  const read = readCatalogue();
  t.same(read, JSON.parse(JSON.stringify(facts)));
  t.equal(read.fields.length, 681);
  t.same(read.fields.find((f) => f[0] === 203), [203, 'DCGM_FI_DEV_GPU_UTIL_RATIO', 'int64', 'gpu', ['DCGM_FI_DEV_GPU_UTIL']]);
});

t.test('names outside the served fields are found through the file', async (t) => {
  // an unserved current name, a renamed name, a legacy lower-case name, a marker, an exporter name
  t.match(lookupField('DCGM_FI_DEV_CPU_UTIL_TOTAL'), { kind: 'unavailable', reason: /CPU module/ });
  t.match(lookupField('DCGM_FI_DEV_NVLINK_COUNT_FEC_HISTORY_3'), { kind: 'unavailable', id: 1407 });
  t.match(lookupField('DCGM_FI_FIRST_NVSWITCH_FIELD_ID'), { kind: 'unavailable', id: 700, reason: /marker/ });
  t.match(lookupField('DCGM_EXP_P2P_STATUS'), { kind: 'unavailable', id: 9004 });
  const known = new Set(knownFieldNames());
  for (const n of ['DCGM_FI_DEV_CPU_UTIL_TOTAL', 'dcgm_sm_clock', 'DCGM_FI_UNKNOWN', 'DCGM_EXP_CLOCK_EVENTS_TOTAL', 'DCGM_FI_DEV_GPU_UTIL']) t.ok(known.has(n), `${n} is a known name`);
  t.notOk(known.has('DCGM_FI_DEV_NO_SUCH_FIELD'));
  t.match(lookupField('dcgm_sm_clock'), { kind: 'value', name: 'DCGM_FI_DEV_SM_CLOCK' });
  t.equal(lookupField('DCGM_FI_DEV_NO_SUCH_FIELD'), undefined);
});

t.test('a missing or malformed catalogue file is an error naming the file and the fix', async (t) => {
  const dir = t.testdir({ 'bad.json': '{"fields": []}', 'broken.json': '{' });
  t.throws(() => readCatalogue(join(dir, 'absent.json')), { message: /cannot read the DCGM field catalogue .*absent\.json: .*reinstall the package/ });
  t.throws(() => readCatalogue(join(dir, 'broken.json')), { message: /cannot read the DCGM field catalogue .*broken\.json: .*JSON/ });
  t.throws(() => readCatalogue(join(dir, 'bad.json')), { message: /bad\.json lacks one of fields, renames, nonField, legacy, exporter/ });
  writeFileSync(join(dir, 'ok.json'), catalogueText({ fields: [], renames: [], nonField: [], legacy: [], exporter: [] }));
  t.same(readCatalogue(join(dir, 'ok.json')).fields, []);
});
