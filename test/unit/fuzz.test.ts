// Property-based fuzzing (fast-check) of every parser that reads untrusted or user input: the
// counters CSV, the web config, the flags, the kubelet's PodResources answers, and the scaler's
// trigger metadata. The property everywhere: the parser answers (a value, or its own typed error
// naming the problem) — never another exception, never a hang. Fixed seeds keep CI repeatable;
// FUZZ_RUNS raises the number of runs for a longer local session.
import t from 'tap';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseCounters, CountersError } from '../../lib/fields/counters.js';
import { parseCsvLine } from '../../lib/fields/csv.js';
import { parseWebConfig } from '../../lib/server/web-config.js';
import { parseCli } from '../../lib/config/cli.js';
import { ConfigError } from '../../lib/contract/errors.js';
import { checkEntries, LIST_RESPONSE, ALLOCATABLE_RESPONSE, AmplificationError, MalformedAnswerError } from '../../lib/kubernetes/podresources-bounds.js';
import { MESSAGES } from '../../lib/kubernetes/podresources-api.js';
import { decodeMessage, encodeMessage, type GeneratedMessage } from '../../lib/grpc-method.js';
import { parseQuery, ScalerParamError, KNOWN_KEYS } from '../../lib/scaler/query.js';
import { knownFieldNames } from '../../lib/fields/index.js';
import { EXPORTER_FLAGS } from '../../lib/config/flags.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const opts = (seed: number) => ({ numRuns: RUNS, seed });

t.test('counters CSV: any text parses or fails with a CountersError naming the file', async (t) => {
  const names = knownFieldNames();
  const cell = fc.oneof(fc.constantFrom(...names.slice(0, 40), 'gauge', 'counter', 'label', '"quoted, help"', '""', '"', ''), fc.string({ maxLength: 30 }));
  const line = fc.oneof(fc.array(cell, { maxLength: 5 }).map((c) => c.join(',')), fc.string({ maxLength: 60 }), fc.constant('# comment'));
  fc.assert(fc.property(fc.array(line, { maxLength: 20 }), fc.constantFrom('\n', '\r\n'), (lines, nl) => {
    try {
      const sel = parseCounters(lines.join(nl), 'fuzz.csv');
      return sel.fields.length > 0;
    } catch (err) {
      return err instanceof CountersError && err.message.startsWith('counters file fuzz.csv');
    }
  }), opts(14));
  fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => {
    const r = parseCsvLine(s);
    return r.ok ? Array.isArray(r.fields) : typeof r.error === 'string';
  }), opts(15));
  t.pass(`${RUNS} counters files and ${RUNS} CSV lines`);
});

t.test('web config: any YAML, and any mapping of the known keys, parses or fails with a ConfigError naming the file', async (t) => {
  const scalar = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null),
    fc.constantFrom('TLS12', 'TLS13', 'RequireAndVerifyClientCert', 'CurveP256', 'TLS_AES_128_GCM_SHA256', '1s', '$2b$10$' + 'a'.repeat(53)));
  const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 12 }), scalar, { maxKeys: 3 }));
  const section = (keys: string[]) => fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 5 });
  const config = fc.record({
    tls_server_config: section(['cert_file', 'key_file', 'cert', 'key', 'client_auth_type', 'client_ca_file', 'min_version', 'max_version', 'cipher_suites', 'curve_preferences', 'client_allowed_sans', 'bogus']),
    http_server_config: section(['headers', 'http2', 'bogus']),
    basic_auth_users: fc.dictionary(fc.string({ maxLength: 10 }), scalar, { maxKeys: 3 }),
    rate_limit: section(['interval', 'burst']),
  }, { requiredKeys: [] });
  const check = (text: string) => {
    try {
      parseWebConfig(text, 'fuzz.yml');
      return true;
    } catch (err) {
      return err instanceof ConfigError && err.message.startsWith('web config fuzz.yml: ');
    }
  };
  fc.assert(fc.property(config, (c) => check(stringify(c))), opts(16));
  fc.assert(fc.property(fc.string({ maxLength: 200 }), check), opts(17));
  // found by this fuzzing: an unresolved alias made the YAML library throw a ReferenceError
  t.throws(() => parseWebConfig('*!', 'fuzz.yml'), { name: 'ConfigError', message: /web config fuzz\.yml: \(file\): not valid YAML/ });
  t.ok(check('a: &x [*x, *x]\n'), 'a self-referencing alias is an error, not a hang');
  t.throws(() => parseWebConfig(`a: &a [1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n`, 'fuzz.yml'),
    { name: 'ConfigError' }, 'alias amplification is refused');
});

t.test('flags: any argv and environment parse or fail with a ConfigError', async (t) => {
  const names = EXPORTER_FLAGS.flatMap((f) => f.names);
  const arg = fc.oneof(
    fc.constantFrom(...names).chain((n) => fc.constantFrom(`--${n}`, `-${n}`).chain((f) => fc.oneof(fc.constant(f), fc.string({ maxLength: 20 }).map((v) => `${f}=${v}`)))),
    fc.string({ maxLength: 20 }),
    fc.constantFrom('g:0-63', 'g:9007199254740992', 'i:1,3', ':9400', '[::1]:9400', 'scaler', '--', '-'),
  );
  const env = fc.dictionary(fc.constantFrom(...EXPORTER_FLAGS.flatMap((f) => (f.env ? [f.env] : []))), fc.string({ maxLength: 20 }), { maxKeys: 3 });
  fc.assert(fc.property(fc.array(arg, { maxLength: 8 }), env, (argv, e) => {
    try {
      const r = parseCli(argv, e, { hostname: () => 'fuzz' });
      return ['run', 'scaler', 'help', 'version'].includes(r.kind);
    } catch (err) {
      return err instanceof ConfigError;
    }
  }), opts(18));
  t.pass(`${RUNS} command lines`);
});

t.test('PodResources answers: any bytes are counted, then decoded or refused; the count bounds what decoding builds', async (t) => {
  const decodeOrRefuse = (bytes: Uint8Array, shape: typeof LIST_RESPONSE, msg: GeneratedMessage<unknown>) => {
    try {
      checkEntries(bytes, shape, 5000);
    } catch (err) {
      // the count refuses too many entries, or bytes that run past the end (protobufjs: RangeError)
      // found by this fuzzing: protobufjs's Reader throws plain Errors (an illegal tag, a stray
      // end-group, groups nested too deep): the count turns every one into MalformedAnswerError
      return err instanceof AmplificationError || err instanceof MalformedAnswerError;
    }
    try {
      decodeMessage(msg, bytes);
    } catch {
      // protobufjs refuses what it cannot read; the client reports it as malformed
    }
    return true;
  };
  t.throws(() => checkEntries(Uint8Array.from([123, 0]), LIST_RESPONSE), MalformedAnswerError, 'regression: a group tag with field number 0');
  t.throws(() => checkEntries(Uint8Array.from([131, 0, 123, 84]), LIST_RESPONSE), MalformedAnswerError, 'regression: an end-group that ends nothing');
  t.throws(() => checkEntries(Buffer.alloc(1024 * 1024, 0x0b), LIST_RESPONSE), MalformedAnswerError, 'a million nested groups: refused at once');
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => decodeOrRefuse(b, LIST_RESPONSE, MESSAGES.ListPodResourcesResponse)), opts(19));
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => decodeOrRefuse(b, ALLOCATABLE_RESPONSE, MESSAGES.AllocatableResourcesResponse)), opts(20));
  // real answers: every pod, container, device and ID is counted
  const pods = fc.array(fc.record({
    name: fc.string({ maxLength: 8 }), namespace: fc.string({ maxLength: 8 }),
    containers: fc.array(fc.record({
      name: fc.string({ maxLength: 8 }),
      devices: fc.array(fc.record({ resource_name: fc.string({ maxLength: 8 }), device_ids: fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }) }), { maxLength: 3 }),
      cpu_ids: fc.array(fc.integer({ min: 0, max: 1024 }), { maxLength: 4 }),
    }), { maxLength: 3 }),
  }), { maxLength: 10 });
  fc.assert(fc.property(pods, (ps) => {
    const bytes = encodeMessage(MESSAGES.ListPodResourcesResponse, { pod_resources: ps });
    const n = checkEntries(bytes, LIST_RESPONSE);
    const objects = ps.reduce((a, p) => a + 1 + p.containers.reduce((b, c) => b + 1 + c.cpu_ids.length + c.devices.reduce((d, dv) => d + 1 + dv.device_ids.length, 0), 0), 0);
    const decoded = decodeMessage(MESSAGES.ListPodResourcesResponse, bytes);
    return n >= objects && decoded.pod_resources.length === ps.length;
  }), opts(21));
  t.pass('bytes and answers');
});

t.test('scaler metadata: any ScaledObject parses or is INVALID_ARGUMENT (ScalerParamError)', async (t) => {
  const key = fc.oneof(fc.constantFrom(...KNOWN_KEYS, 'scalerAddress', 'podNamePatternFromEnv', 'x'), fc.string({ maxLength: 10 }));
  const val = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('^(.|.|.)*!$', '(?=a)', '[', 'a'.repeat(600), '-1', '1e309', 'NaN', 'vllm-inference', 'avg', 'DCGM_FI_DEV_GPU_UTIL'));
  fc.assert(fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), fc.dictionary(key, val, { maxKeys: 6 }), (name, namespace, meta) => {
    try {
      const q = parseQuery({ name, namespace, scalerMetadata: meta });
      return typeof q.podRule.matcher.test('web-1') === 'boolean' && Number.isFinite(q.targetValue);
    } catch (err) {
      return err instanceof ScalerParamError;
    }
  }), opts(22));
  t.pass(`${RUNS} ScaledObjects`);
});
