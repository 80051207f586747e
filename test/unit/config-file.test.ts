// --config-file: YAML settings under flags and env vars; unknown keys and bad files are errors.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCli } from '../../lib/config/cli.js';
import type { Config } from '../../lib/config/types.js';

const dir = mkdtempSync(join(tmpdir(), 'nvx-config-file-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const run = (argv: string[], env: NodeJS.ProcessEnv = {}): Config => {
  const r = parseCli(argv, env, { hostname: () => 'h' });
  if (r.kind !== 'run') throw new Error(r.kind);
  return r.config;
};

t.test('settings from the file apply where no flag or env var gives one', async (t) => {
  const p = file('c.yaml', [
    'version: 1',
    'metrics:',
    '  file: /etc/dcgm-exporter/dcp-metrics-included.csv',
    'collection:',
    '  interval: 2500',
    'flags:',
    '  kubernetes: true',
    '  naming-profile: "4.10"',
    '  devices: "g:0,1"',
  ].join('\n'));
  const c = run(['--config-file', p]);
  t.equal(c.collectors, '/etc/dcgm-exporter/dcp-metrics-included.csv');
  t.equal(c.collectIntervalMs, 2500);
  t.equal(c.kubernetes, true);
  t.equal(c.namingProfile, '4.10');
  t.same(c.devices, { kind: 'gpu', ids: [0, 1] });
  t.equal(run(['--config-file', p, '-c', '700']).collectIntervalMs, 700, 'a flag beats the file');
  t.equal(run([], { DCGM_EXPORTER_CONFIG_FILE: p, DCGM_EXPORTER_INTERVAL: '900' }).collectIntervalMs, 900, 'an env var beats the file');
});

t.test('metrics.fields: inline counters rows', async (t) => {
  const p = file('f.yaml', 'metrics:\n  fields:\n    - { name: DCGM_FI_DEV_GPU_UTIL, type: gauge, help: "GPU utilization (in %)." }\n    - { name: DCGM_FI_DRIVER_VERSION, type: label, help: "Driver Version" }\n');
  const c = run(['--config-file', p]);
  t.equal(c.collectors, null);
  t.equal(c.countersInline, 'DCGM_FI_DEV_GPU_UTIL, gauge, GPU utilization (in %).\nDCGM_FI_DRIVER_VERSION, label, Driver Version\n');
  t.equal(run(['--config-file', p, '-f', '/x.csv']).countersInline, null, '-f wins over the inline rows');
});

t.test('bad files and keys are startup errors naming the file and the key', async (t) => {
  const err = (text: string, re: RegExp) => t.throws(() => run(['--config-file', file(`bad-${Math.random()}.yaml`, text)]), { message: re, exitCode: 2 });
  err('metrics:\n  file: a\n  fields: []\n', /metrics.file and metrics.fields are both set/);
  err('colection:\n  interval: 1\n', /unknown key colection \(known: version, metrics, collection, flags\)/);
  err('flags:\n  no-such-flag: 1\n', /unknown key flags.no-such-flag/);
  err('version: 7\n', /version 7 is not supported/);
  err('metrics: [1, 2]\n', /metrics must be a mapping/);
  err('key: [unclosed\n', /not valid YAML/);
  err('collection:\n  interval: -5\n', /collection.interval: "-5" is not a positive integer/);
  t.throws(() => run(['--config-file', join(dir, 'missing.yaml')]), /--config-file .*missing.yaml: no such file/);
  t.throws(() => run(['--config-file', dir]), /not a regular file/);
});
