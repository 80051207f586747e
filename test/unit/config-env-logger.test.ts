// Bad values given through environment variables exit 2 naming the variable, the value and what
// was expected (as flags do); and the logger's two formats and --debug.
import t from 'tap';
import { parseCli } from '../../lib/config/cli.js';
import { ConfigError } from '../../lib/config/errors.js';
import { createLogger } from '../../lib/logger.js';

function configError(env: Record<string, string>): ConfigError {
  try {
    parseCli([], env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`no error for ${JSON.stringify(env)}`);
}

t.test('each env var with a bad value: exit 2, the variable, the value, what was expected', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['DCGM_EXPORTER_LISTEN', 'localhost', /port/i],
    ['DCGM_EXPORTER_LISTEN', ':99999', /port/i],
    ['DCGM_EXPORTER_INTERVAL', 'soon', /milliseconds/],
    ['DCGM_EXPORTER_DEVICES_STR', 'g:x', /expected f, g, g:0,1-3/],
    ['DCGM_EXPORTER_LOG_FORMAT', 'xml', /text.*json|json.*text/],
    ['DCGM_EXPORTER_KUBERNETES_GPU_ID_TYPE', 'serial', /uid.*device-name/],
    ['DCGM_EXPORTER_KUBERNETES', 'maybe', /true|false/],
    ['DCGM_EXPORTER_DEBUG', 'yes please', /true|false/],
    ['NVML_EXPORTER_SIMULATE', '0', /simulated GPUs/],
    ['NVML_EXPORTER_SWEEP_DEADLINE', '-1', /milliseconds/],
    ['NVML_EXPORTER_PODRESOURCES_INTERVAL', '1.5', /milliseconds/],
  ];
  for (const [name, value, expected] of cases) {
    const e = configError({ [name]: value });
    t.equal(e.exitCode, 2, `${name}=${value}: exit code 2`);
    t.match(e.message, name, `${name}=${value}: names the variable (${e.message})`);
    t.match(e.message, value, `${name}=${value}: names the value`);
    t.match(e.message, expected, `${name}=${value}: says what was expected`);
  }
});

t.test('a flag beats its env var, and a good env value is used', async (t) => {
  const r = parseCli(['--log-format', 'json'], { DCGM_EXPORTER_LOG_FORMAT: 'text', DCGM_EXPORTER_DEBUG: 'true' });
  t.equal(r.kind, 'run');
  if (r.kind !== 'run') return;
  t.equal(r.config.logFormat, 'json');
  t.equal(r.config.debug, true);
});

t.test('text format: key=value pairs, quoted where needed; debug lines only with debug', async (t) => {
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l) });
  log.debug('hidden');
  log.info('first sweep', { gpus: 8, driver: '580.65.06', note: 'two words' });
  log.error('failed', { error: new Error('boom "x"') });
  t.equal(lines.length, 2, 'the debug line is dropped without --debug');
  t.match(lines[0], /^time=\d{4}-\d\d-\d\dT[\d:.]+Z level=info msg="first sweep" gpus=8 driver=580\.65\.06 note="two words"$/);
  t.match(lines[1], /level=error msg=failed error="boom \\"x\\""$/);
  const dbg: string[] = [];
  createLogger({ debug: true, write: (l) => dbg.push(l) }).debug('shown', { a: 1 });
  t.match(dbg[0], /level=debug msg=shown a=1$/);
});

t.test('json format: one JSON object per line with time, level, msg and the fields', async (t) => {
  const lines: string[] = [];
  const log = createLogger({ format: 'json', write: (l) => lines.push(l) });
  log.warn('kubelet refresh failed', { reason: 'deadline', error: new Error('timed out'), n: 3 });
  t.equal(lines.length, 1);
  const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
  t.same(Object.keys(rec), ['time', 'level', 'msg', 'reason', 'error', 'n']);
  t.equal(rec.level, 'warn');
  t.equal(rec.msg, 'kubelet refresh failed');
  t.equal(rec.error, 'timed out', 'errors as their message');
  t.equal(rec.n, 3);
  t.ok(!Number.isNaN(Date.parse(String(rec.time))));
});
