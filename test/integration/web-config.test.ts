// Issue 14 item 4: `--web-config-file` (exporter-toolkit format) on the real `nvml-exporter`
// command: TLS on every path with certificates made by openssl at test time, certificate files
// re-read when they change, mTLS (required and verified, allowed SANs), basic auth with bcrypt on
// every path, the configured headers, and startup errors (exit 2 naming the file, the key and the
// fix) for a missing file, unknown keys, unreadable certificates and unsupported values. The
// bcrypt cost under a flood is measured in process (test/unit would not see the HTTP layer).
import t, { type Test } from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import bcrypt from 'bcryptjs';
import { cliPath } from '../helpers/exporter.js';
import { freePort } from '../helpers/ports.js';
import { makeCerts, opensslAvailable, type TestCerts } from '../helpers/certs.js';
import { simulatedLibraryPath, writeScenario } from '../../lib/nvml/simulation.js';
import { buildServer, type GuardedServer } from '../../lib/server/server.js';
import { loadWebConfig, parseWebConfig } from '../../lib/server/web-config.js';
import { webRuntime } from '../../lib/server/web-security.js';
import { ConfigError } from '../../lib/contract/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'nvx-web-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const scenario = join(dir, 'scenario.txt');
writeScenario(scenario, { gpus: [{ values: { gpuUtil: 42 } }] });
const HASH = bcrypt.hashSync('s3cret', 10);

interface Got { status: number; headers: Record<string, string | string[] | undefined>; body: string; cert: PeerCertificate | null }

function get(url: string, o: { ca?: string; cert?: string; key?: string; auth?: string; maxVersion?: 'TLSv1.2' | 'TLSv1.3' } = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, {
      ca: o.ca ? readFileSync(o.ca) : undefined,
      cert: o.cert ? readFileSync(o.cert) : undefined,
      key: o.key ? readFileSync(o.key) : undefined,
      maxVersion: o.maxVersion,
      headers: o.auth ? { authorization: `Basic ${Buffer.from(o.auth).toString('base64')}` } : {},
      agent: false,
      timeout: 5000,
    }, (res) => {
      const cert = (res.socket as TLSSocket).getPeerCertificate?.() ?? null;
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, cert }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function writeConfig(name: string, yaml: string): string {
  const p = join(dir, name);
  writeFileSync(p, yaml);
  return p;
}

async function start(t: Test, webConfig: string, ca: string | null, probe: Parameters<typeof get>[1] = {}) {
  const port = await freePort();
  const proc: ChildProcess = spawn(process.execPath, [cliPath, '--nvml-library', simulatedLibraryPath(), '-a', `127.0.0.1:${port}`, '-c', '200', '--web-config-file', webConfig], {
    env: { ...process.env, NVML_SIM_SCENARIO: scenario, NODE_NAME: 'tls-node' }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  t.teardown(() => { proc.kill('SIGKILL'); });
  const url = `https://localhost:${port}`;
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`exited ${proc.exitCode}: ${err}`);
    try {
      await get(url + '/health', { ca: ca ?? undefined, ...probe });
      break;
    } catch {
      if (i > 300) throw new Error(`no TLS answer: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { url, port, proc, stderr: () => err };
}

function runExit(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [cliPath, '--nvml-library', simulatedLibraryPath(), '--once', ...args], {
    encoding: 'utf8', env: { ...process.env, NVML_SIM_SCENARIO: scenario, ...env }, timeout: 20000,
  });
}

if (!opensslAvailable()) {
  t.comment('SKIP: openssl is not installed (apt-get install openssl): the TLS tests need it to make certificates');
} else {
  const certs: TestCerts = makeCerts();
  t.teardown(() => certs.cleanup());

  t.test('TLS on every path; plain HTTP is not served; the certificate files are re-read when they change', async (t) => {
    const cert = join(dir, 'rot.crt');
    const key = join(dir, 'rot.key');
    copyFileSync(certs.serverCert, cert);
    copyFileSync(certs.serverKey, key);
    const cfg = writeConfig('tls.yml', `tls_server_config:\n  cert_file: ${cert}\n  key_file: ${key}\n`);
    const exp = await start(t, cfg, certs.caCert);
    for (const p of ['/metrics', '/health', '/ready', '/api/v1/gpus', '/']) {
      const r = await get(exp.url + p, { ca: certs.caCert });
      t.equal(r.status, 200, `${p} over TLS`);
    }
    t.match((await get(exp.url + '/metrics', { ca: certs.caCert })).body, /DCGM_FI_DEV_GPU_UTIL\{.*\} 42/);
    const plain = await fetch(`http://127.0.0.1:${exp.port}/metrics`).then((r) => r.status, (e: Error) => e.message);
    t.not(plain, 200, `plain HTTP is not served (${plain})`);
    const first = (await get(exp.url + '/health', { ca: certs.caCert })).cert!.fingerprint256;
    // rotation: a Secret update replaces both files
    copyFileSync(certs.server2Cert, cert);
    copyFileSync(certs.server2Key, key);
    let now = first;
    for (let i = 0; i < 100 && now === first; i++) {
      await new Promise((r) => setTimeout(r, 100));
      now = (await get(exp.url + '/health', { ca: certs.caCert })).cert!.fingerprint256;
    }
    t.not(now, first, 'the new certificate is served without a restart');
    t.match(exp.stderr(), /TLS certificate files changed: reloaded/);
    // a broken pair keeps the previous certificate
    writeFileSync(key, 'not a key');
    await new Promise((r) => setTimeout(r, 2500));
    t.equal((await get(exp.url + '/health', { ca: certs.caCert })).status, 200, 'a broken update keeps serving the last good certificate');
    t.match(exp.stderr(), /cannot be loaded; keeping the previous ones/);
  });

  t.test('mTLS: RequireAndVerifyClientCert with client_allowed_sans; min_version TLS13', async (t) => {
    const cfg = writeConfig('mtls.yml', [
      'tls_server_config:', `  cert_file: ${certs.serverCert}`, `  key_file: ${certs.serverKey}`,
      '  client_auth_type: RequireAndVerifyClientCert', `  client_ca_file: ${certs.caCert}`,
      '  client_allowed_sans: [scraper.monitoring]', '  min_version: TLS13', '',
    ].join('\n'));
    const exp = await start(t, cfg, certs.caCert, { cert: certs.clientCert, key: certs.clientKey });
    const ok = await get(exp.url + '/metrics', { ca: certs.caCert, cert: certs.clientCert, key: certs.clientKey });
    t.equal(ok.status, 200, 'a client certificate from the CA is served');
    for (const [what, o] of [
      ['no client certificate', {}],
      ['a certificate from another CA', { cert: certs.strangerCert, key: certs.strangerKey }],
      ['TLS 1.2 against min_version TLS13', { cert: certs.clientCert, key: certs.clientKey, maxVersion: 'TLSv1.2' as const }],
    ] as const) {
      const r = await get(exp.url + '/metrics', { ca: certs.caCert, ...o }).then((x) => `HTTP ${x.status}`, (e: Error) => `refused: ${e.message}`);
      t.match(r, /^refused/, `${what}: ${r}`);
    }
    // a SAN outside the allowed list
    const cfg2 = writeConfig('mtls-sans.yml', [
      'tls_server_config:', `  cert_file: ${certs.serverCert}`, `  key_file: ${certs.serverKey}`,
      '  client_auth_type: RequireAndVerifyClientCert', `  client_ca_file: ${certs.caCert}`, '  client_allowed_sans: [prometheus.monitoring]', '',
    ].join('\n'));
    const port = await freePort();
    const p = spawn(process.execPath, [cliPath, '--nvml-library', simulatedLibraryPath(), '-a', `127.0.0.1:${port}`, '--web-config-file', cfg2], {
      env: { ...process.env, NVML_SIM_SCENARIO: scenario }, stdio: 'ignore',
    });
    t.teardown(() => { p.kill('SIGKILL'); });
    let r = '';
    for (let i = 0; i < 200; i++) {
      r = await get(`https://localhost:${port}/metrics`, { ca: certs.caCert, cert: certs.clientCert, key: certs.clientKey })
        .then((x) => `HTTP ${x.status}`, (e: Error) => `refused: ${e.message}`);
      if (!/ECONNREFUSED/.test(r)) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    t.match(r, /^refused: (socket hang up|.*ECONNRESET|Client network socket disconnected)/, `a verified certificate whose SAN is not allowed: ${r}`);
  });

  t.test('basic auth on every path, with the configured headers', async (t) => {
    const cfg = writeConfig('auth.yml', [
      'basic_auth_users:', `  prometheus: "${HASH}"`,
      'http_server_config:', '  headers:', '    X-Frame-Options: deny', '    Strict-Transport-Security: max-age=31536000', '',
    ].join('\n'));
    const port = await freePort();
    const proc = spawn(process.execPath, [cliPath, '--nvml-library', simulatedLibraryPath(), '-a', `127.0.0.1:${port}`, '--web-config-file', cfg], {
      env: { ...process.env, NVML_SIM_SCENARIO: scenario }, stdio: 'ignore',
    });
    t.teardown(() => { proc.kill('SIGKILL'); });
    const url = `http://127.0.0.1:${port}`;
    const auth = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
    for (let i = 0; i < 300; i++) {
      if (await fetch(url + '/health').then(() => true, () => false)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const p of ['/metrics', '/health', '/ready', '/api/v1/gpus', '/', '/nope']) {
      const none = await fetch(url + p);
      t.equal(none.status, 401, `${p} without credentials: 401`);
      t.equal(none.headers.get('www-authenticate'), 'Basic realm="nvml-exporter"');
      t.equal(none.headers.get('x-frame-options'), 'deny', `${p}: the configured header, even on a 401`);
      t.equal((await fetch(url + p, { headers: auth('prometheus', 'wrong') })).status, 401, `${p} with a wrong password: 401`);
    }
    const ok = await fetch(url + '/metrics', { headers: auth('prometheus', 's3cret') });
    t.equal(ok.status, 200);
    t.equal(ok.headers.get('strict-transport-security'), 'max-age=31536000');
    t.match(await ok.text(), /DCGM_FI_DEV_GPU_UTIL/);
  });

  t.test('startup errors: exit 2 naming the file, the key and the fix', async (t) => {
    const missing = join(dir, 'nope.yml');
    const cases: [string, string | null, RegExp][] = [
      ['missing file', null, new RegExp(`web config ${missing}: cannot read it \\(no such file\\); pass a readable exporter-toolkit web config`)],
      ['unknown key', 'tls_server_config:\n  cert_file: /x\n  key_file: /y\n  certfile: /z\n', /tls_server_config\.certfile: unknown key; remove it or use one of cert_file/],
      ['unreadable certificate', 'tls_server_config:\n  cert_file: /nonexistent/c.pem\n  key_file: /nonexistent/k.pem\n', /tls_server_config\.cert_file: cannot read \/nonexistent\/c\.pem \(no such file\)/],
      ['plain-text password', 'basic_auth_users:\n  alice: hunter2\n', /basic_auth_users\.alice: not a bcrypt hash; store the bcrypt hash/],
      ['unsupported curve', `tls_server_config:\n  cert_file: ${certs.serverCert}\n  key_file: ${certs.serverKey}\n  curve_preferences: [X25519MLKEM768]\n`, /curve_preferences: \\"X25519MLKEM768\\" is not a curve this Node supports/],
      ['unsupported cipher', `tls_server_config:\n  cert_file: ${certs.serverCert}\n  key_file: ${certs.serverKey}\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n`, /cipher_suites: \\"TLS_RSA_WITH_RC4_128_SHA\\" is not a cipher suite this Node/],
      ['header not allowed', 'http_server_config:\n  headers:\n    Set-Cookie: a=b\n', /http_server_config\.headers\.Set-Cookie: this header cannot be configured/],
      ['CA without verification', `tls_server_config:\n  cert_file: ${certs.serverCert}\n  key_file: ${certs.serverKey}\n  client_auth_type: RequestClientCert\n  client_ca_file: ${certs.caCert}\n`, /client_ca_file: set, but client_auth_type RequestClientCert does not verify/],
      ['not YAML', 'tls_server_config: [\n', /not valid YAML/],
    ];
    for (const [what, yaml, re] of cases) {
      const file = yaml === null ? missing : writeConfig(`bad-${what.replace(/ /g, '-')}.yml`, yaml);
      const r = runExit(['--web-config-file', file]);
      t.equal(r.status, 2, `${what}: exit 2 (${r.stderr.trim().split('\n').pop()})`);
      t.match(r.stderr, re, what);
      t.notMatch(r.stderr, /serving metrics/, `${what}: never serves`);
    }
    const viaEnv = spawnSync(process.execPath, [cliPath, '--nvml-library', simulatedLibraryPath(), '-a', '127.0.0.1:0'], {
      encoding: 'utf8', env: { ...process.env, NVML_SIM_SCENARIO: scenario, DCGM_EXPORTER_WEB_CONFIG_FILE: missing }, timeout: 20000,
    });
    t.equal(viaEnv.status, 2, 'DCGM_EXPORTER_WEB_CONFIG_FILE is read the same way');
  });
}

t.test('web config parser: every key honoured or an error; bcrypt is paid once per credential and bounded under a flood', async (t) => {
  const f = 'w.yml';
  t.throws(() => parseWebConfig('rate_limit:\n  interval: soon\n  burst: 1\n', f), { message: /rate_limit\.interval: "soon" is not a duration/ });
  t.throws(() => parseWebConfig('tls_server_config:\n  key_file: /k\n', f), { message: /tls_server_config\.cert_file: missing/ });
  t.throws(() => parseWebConfig('tls_server_config:\n  cert_file: /c\n  key_file: /k\n  min_version: TLS14\n', f), { message: /min_version: unknown value "TLS14"/ });
  t.throws(() => parseWebConfig('basic_auth_users: [a]\n', f), ConfigError);
  const cfg = parseWebConfig(`basic_auth_users:\n  u: "${bcrypt.hashSync('pw', 4)}"\nrate_limit:\n  interval: 1s\n  burst: 1000\n`, f);
  t.equal(cfg.users.size, 1);
  t.same(cfg.rateLimit, { intervalMs: 1000, burst: 1000 });
  await t.rejects(loadWebConfig('/dev/zero'), { message: /web config \/dev\/zero: cannot read it \(it is a device, not a regular file\)/ });

  const app = buildServer({ metrics: () => ({ gpuText: 'x 1\n', selfText: '' }), ready: () => ({ ok: true, reason: '' }), landing: { title: 't', description: 'd', links: [] } },
    { web: webRuntime(cfg, null) }) as GuardedServer;
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/metrics`;
  const h = (p: string) => ({ authorization: `Basic ${Buffer.from(`u:${p}`).toString('base64')}` });
  const good = await Promise.all(Array.from({ length: 200 }, () => fetch(url, { headers: h('pw') }).then((r) => r.status)));
  t.ok(good.filter((s) => s === 200).length >= 190, `200 scrapes with good credentials: ${good.filter((s) => s === 200).length} served`);
  t.ok(app.basicAuth!.checks <= 10, `bcrypt ran ${app.basicAuth!.checks} times for 200 scrapes (verified credentials are remembered)`);
  const before = app.basicAuth!.checks;
  const t0 = Date.now();
  const bad = await Promise.all(Array.from({ length: 300 }, (_, i) => fetch(url, { headers: h(`guess-${i}`) }).then((r) => r.status)));
  const secs = (Date.now() - t0) / 1000;
  const checks = app.basicAuth!.checks - before;
  t.ok(bad.every((s) => s === 401 || s === 429), 'every guess is refused (401, or 429 when checks are rationed)');
  t.ok(checks <= 8 + Math.ceil(secs * 4) + 1, `300 distinct wrong passwords cost ${checks} bcrypt checks in ${secs.toFixed(1)} s (burst 8 + 4/s)`);
  const again = await fetch(url, { headers: h('pw') });
  t.equal(again.status, 200, 'the scraper with good credentials is still served at once');
});
