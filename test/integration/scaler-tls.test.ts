// TLS on the scaler's gRPC API, as KEDA's external scaler connects with a TriggerAuthentication
// (caCert; tlsClientCert/tlsClientKey for client certificates): the server certificate, required
// client certificates, and startup errors for TLS settings that cannot be honoured.
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { makeCerts, opensslAvailable } from '../helpers/certs.js';
import { gpu, gpusDoc, pod, scalerClient, startExporter, startTestScaler, until } from './scaler-harness.js';
import { parseScalerArgs } from '../../lib/config/scaler.js';
import { runScaler } from '../../lib/app/scaler.js';
import { ConfigError } from '../../lib/contract/errors.js';
import { silentLogger } from '../../lib/logger.js';

if (!opensslAvailable()) {
  t.comment('SKIP: openssl is not installed, so no test certificates can be made (apt-get install openssl)');
  t.pass('skipped: no openssl');
} else {
  const certs = makeCerts();
  t.teardown(() => certs.cleanup());
  const ref = { name: 'web', namespace: 'ai', scalerMetadata: {} };
  const read = (p: string) => readFileSync(p);
  const creds = (cert?: string, key?: string) =>
    grpc.credentials.createSsl(read(certs.caCert), key ? read(key) : null, cert ? read(cert) : null);

  t.test('with a client CA: only clients with a certificate from that CA are served', async (t) => {
    const ex = await startExporter(gpusDoc('node-a', [gpu(0, { DCGM_FI_DEV_GPU_UTIL: 40 }, [pod('ai', 'web-5d8-aaaaa')])]));
    const scaler = await startTestScaler({
      exporters: [ex.address],
      grpcTls: { certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.caCert },
    });
    t.teardown(async () => {
      await scaler.close();
      await ex.close();
    });
    const target = `127.0.0.1:${scaler.grpcPort}`;
    const good = scalerClient(target, creds(certs.clientCert, certs.clientKey));
    t.teardown(() => good.close());
    const [v] = await good.getMetrics(ref);
    t.equal(v.metricValueFloat, 40, 'a client with the CA\'s client certificate gets the value');

    const failures: [string, grpc.ChannelCredentials][] = [
      ['no client certificate', creds()],
      ['a client certificate from another CA', creds(certs.strangerCert, certs.strangerKey)],
      ['plaintext', grpc.credentials.createInsecure()],
    ];
    for (const [what, c] of failures) {
      const cl = scalerClient(target, c, { 'grpc.initial_reconnect_backoff_ms': 100 });
      const err = await cl.getMetrics(ref).then(() => null, (e: grpc.ServiceError) => e);
      cl.close();
      t.ok(err, `${what}: refused`);
      t.equal(err?.code, grpc.status.UNAVAILABLE, `${what}: UNAVAILABLE (the handshake fails)`);
    }
  });

  t.test('server TLS alone: clients check the certificate with the CA, no client certificate needed', async (t) => {
    const ex = await startExporter(gpusDoc('node-a', [gpu(0, { DCGM_FI_DEV_GPU_UTIL: 40 }, [pod('ai', 'web-5d8-aaaaa')])]));
    const scaler = await startTestScaler({ exporters: [ex.address], grpcTls: { certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: null } });
    t.teardown(async () => {
      await scaler.close();
      await ex.close();
    });
    const cl = scalerClient(`127.0.0.1:${scaler.grpcPort}`, creds());
    t.teardown(() => cl.close());
    t.equal(await cl.isActive(ref), true);
    const wrongCa = scalerClient(`127.0.0.1:${scaler.grpcPort}`, grpc.credentials.createSsl(read(join(certs.dir, 'other-ca.crt'))));
    const err = await wrongCa.isActive(ref).then(() => null, (e: grpc.ServiceError) => e);
    wrongCa.close();
    t.equal(err?.code, grpc.status.UNAVAILABLE, 'a client that does not trust the issuer cannot connect');
  });

  t.test('TLS settings that cannot be honoured stop the start (exit 2) with the reason', async (t) => {
    const junk = join(certs.dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate\n');
    const base = ['--exporters', '127.0.0.1:1', '--grpc-address', '127.0.0.1:0', '--address', '127.0.0.1:0'];
    const cases: [string[], RegExp][] = [
      [['--grpc-tls-cert-file', certs.server2Cert, '--grpc-tls-key-file', certs.serverKey], /--grpc-tls-cert-file .*server2\.crt \/ --grpc-tls-key-file .*server\.key: not a usable PEM certificate and matching key/],
      [['--grpc-tls-cert-file', join(certs.dir, 'absent.crt'), '--grpc-tls-key-file', certs.serverKey], /--grpc-tls-cert-file .*absent\.crt: cannot read it/],
      [['--grpc-tls-cert-file', certs.serverCert, '--grpc-tls-key-file', certs.serverKey, '--grpc-tls-client-ca-file', junk], /--grpc-tls-client-ca-file .*junk\.pem: not a PEM CA certificate/],
    ];
    for (const [flags, msg] of cases) {
      const { config } = parseScalerArgs([...base, ...flags], {});
      const lines: string[] = [];
      const logger = { ...silentLogger, error: (m: string) => lines.push(m) };
      const code = await runScaler(config, { logger, signal: AbortSignal.abort() });
      t.equal(code, 2, flags.join(' ').slice(0, 80));
      t.match(lines.join('\n'), msg);
    }
    t.throws(() => parseScalerArgs([...base, '--grpc-tls-cert-file', certs.serverCert], {}), new ConfigError('--grpc-tls-cert-file and --grpc-tls-key-file go together; give both or neither'));
    t.throws(() => parseScalerArgs([...base, '--grpc-tls-client-ca-file', certs.caCert], {}),
      new ConfigError('--grpc-tls-client-ca-file needs TLS: give --grpc-tls-cert-file and --grpc-tls-key-file too'));
  });
  const fingerprint = (file: string) => new X509Certificate(read(file)).fingerprint256;
  /** A logger that keeps what it is told, for the reload messages. */
  const recorder = () => {
    const lines: string[] = [];
    const keep = (level: string) => (msg: string) => void lines.push(`${level} ${msg}`);
    return { lines, logger: { debug: () => {}, info: keep('info'), warn: keep('warn'), error: keep('error') } };
  };

  t.test('a grpc-js that cannot update a TLS server\'s certificate stops the start, not the first renewal', async (t) => {
    const proto = grpc.ServerCredentials.prototype as unknown as Record<string, unknown>;
    const method = proto.updateSecureContextOptions;
    t.type(method, 'function', 'this grpc-js has it');
    delete proto.updateSecureContextOptions;
    t.teardown(() => void (proto.updateSecureContextOptions = method));
    const err = await startTestScaler({ exporters: ['127.0.0.1:1'], grpcTls: { certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: null } }).then(
      async (s) => { await s.close(); return null; },
      (e: Error) => e,
    );
    t.match(err?.message, /cannot update a TLS server's certificate \(no updateSecureContextOptions\): install the version in package-lock\.json/);
  });

  t.test('renewed gRPC certificate files are served without a restart; a broken renewal keeps the last good ones', async (t) => {
    const cert = join(certs.dir, 'grpc-rot.crt');
    const key = join(certs.dir, 'grpc-rot.key');
    copyFileSync(certs.serverCert, cert);
    copyFileSync(certs.serverKey, key);
    const ex = await startExporter(gpusDoc('node-a', [gpu(0, { DCGM_FI_DEV_GPU_UTIL: 40 }, [pod('ai', 'web-5d8-aaaaa')])]));
    const log = recorder();
    const scaler = await startTestScaler({
      exporters: [ex.address], logger: log.logger, fileCheckMs: 50,
      grpcTls: { certFile: cert, keyFile: key, clientCaFile: certs.caCert },
    });
    t.teardown(async () => {
      await scaler.close();
      await ex.close();
    });
    // the certificate a new connection is shown (ALPN h2, as a gRPC client connects)
    const served = () => new Promise<string>((resolve, reject) => {
      const so: TLSSocket = tlsConnect({
        host: '127.0.0.1', port: scaler.grpcPort, servername: 'localhost', ALPNProtocols: ['h2'],
        ca: read(certs.caCert), cert: read(certs.clientCert), key: read(certs.clientKey),
      }, () => {
        resolve(so.getPeerCertificate().fingerprint256);
        so.destroy();
      });
      so.on('error', reject);
    });
    t.equal(await served(), fingerprint(certs.serverCert), 'the certificate of the files at start');
    const reloads = async () => {
      const text = await (await fetch(`http://127.0.0.1:${scaler.httpPort}/metrics`)).text();
      const n = (files: string, result: string) =>
        Number(new RegExp(`^nvml_scaler_file_reloads_total\\{files="${files}",result="${result}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
      return { ok: n('grpc_tls', 'ok'), error: n('grpc_tls', 'error'), pulls: n('pull_credentials', 'ok') };
    };
    t.same(await reloads(), { ok: 0, error: 0, pulls: NaN }, 'the watched set is counted from 0; no pull credentials are configured');
    // cert-manager renews: both files replaced
    copyFileSync(certs.server2Cert, cert);
    copyFileSync(certs.server2Key, key);
    await until(async () => (await served()) === fingerprint(certs.server2Cert), 'the renewed certificate served', 10_000);
    t.match(log.lines.join('\n'), /info gRPC TLS files \(--grpc-tls-cert-file.*\) changed: reloaded/);
    const cl = scalerClient(`127.0.0.1:${scaler.grpcPort}`, creds(certs.clientCert, certs.clientKey));
    t.teardown(() => cl.close());
    t.equal((await cl.getMetrics(ref))[0]!.metricValueFloat, 40, 'a KEDA connection made after the renewal is served');
    t.ok((await reloads()).ok >= 1, 'nvml_scaler_file_reloads_total{files="grpc_tls",result="ok"} counts it');
    // a key that does not match the certificate: logged once, the last good pair stays in use
    writeFileSync(key, readFileSync(certs.serverKey));
    await until(() => log.lines.some((l) => l.startsWith('error ')), 'the broken renewal reported', 10_000);
    t.match(log.lines.find((l) => l.startsWith('error ')), /^error gRPC TLS files .* changed but cannot be loaded; keeping the previous ones: --grpc-tls-cert-file .*grpc-rot\.crt \/ --grpc-tls-key-file .*grpc-rot\.key: not a usable PEM certificate and matching key/);
    t.equal(await served(), fingerprint(certs.server2Cert), 'new connections still get the last good certificate');
    t.ok((await reloads()).error >= 1, 'and result="error" counts the broken one');
    const cl2 = scalerClient(`127.0.0.1:${scaler.grpcPort}`, creds(certs.clientCert, certs.clientKey));
    t.teardown(() => cl2.close());
    t.equal(await cl2.isActive(ref), true, 'and are served');
  });

  t.test('renewed pull credentials (client certificate, key, basic auth) are used without a restart', async (t) => {
    const dir = certs.dir;
    const cert = join(dir, 'pull-rot.crt');
    const key = join(dir, 'pull-rot.key');
    const auth = join(dir, 'pull-auth');
    copyFileSync(certs.clientCert, cert);
    copyFileSync(certs.clientKey, key);
    writeFileSync(auth, 'scaler:first-password\n');
    // an exporter with TLS that requires a client certificate (from either CA here) and basic auth,
    // and remembers which client certificate each pull presented
    let password = 'first-password';
    const seen: string[] = [];
    const doc = gpusDoc('node-tls', [gpu(0, { DCGM_FI_DEV_GPU_UTIL: 70 }, [pod('ai', 'web-5d8-aaaaa')])]);
    const server = createHttpsServer({
      cert: read(certs.serverCert), key: read(certs.serverKey), ca: [read(certs.caCert), read(join(dir, 'other-ca.crt'))],
      requestCert: true, rejectUnauthorized: true,
    }, (req, res) => {
      seen.push((req.socket as TLSSocket).getPeerCertificate().fingerprint256);
      if (req.headers.authorization !== `Basic ${Buffer.from(`scaler:${password}`).toString('base64')}`) {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.teardown(() => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }));
    const log = recorder();
    const scaler = await startTestScaler({
      exporters: [`127.0.0.1:${(server.address() as AddressInfo).port}`], pullIntervalMs: 100, pullTimeoutMs: 1000, staleAfterMs: 60_000,
      logger: log.logger, fileCheckMs: 50,
      pulls: { scheme: 'https', caFile: certs.caCert, certFile: cert, keyFile: key, serverName: 'localhost', basicAuthFile: auth },
    });
    t.teardown(() => scaler.close());
    const lastError = () => scaler.view.exporters()[0]?.lastError ?? null;
    await until(() => scaler.view.documents().length === 1, 'the exporter in view', 15_000);
    t.equal(seen.at(-1), fingerprint(certs.clientCert), 'the pulls present the client certificate of the files at start');

    // the exporter's password changes: pulls fail with 401 until the file changes too
    password = 'second-password';
    await until(() => /HTTP 401/.test(lastError() ?? ''), 'pulls refused with the old password', 10_000);
    writeFileSync(auth, 'scaler:second-password\n');
    await until(() => lastError() === null && scaler.view.documents().length === 1, 'pulls with the new password', 10_000);
    t.pass('the new basic-auth password is used');

    // the client certificate is renewed (here: one from the other CA, so that it differs)
    copyFileSync(certs.strangerCert, cert);
    copyFileSync(certs.strangerKey, key);
    await until(() => seen.at(-1) === fingerprint(certs.strangerCert), 'the renewed client certificate presented', 10_000);
    t.equal(lastError(), null, 'and the pulls succeed');
    t.match(log.lines.join('\n'), /info exporter pull credentials \(--exporters-ca-file.*\) changed: reloaded/);

    // a key that does not match: logged, and the pulls go on with the last good pair
    writeFileSync(key, readFileSync(certs.clientKey));
    await until(() => log.lines.some((l) => l.startsWith('error ')), 'the broken renewal reported', 10_000);
    t.match(log.lines.find((l) => l.startsWith('error ')), /^error exporter pull credentials .* changed but cannot be loaded; keeping the previous ones: --exporters-cert-file .*pull-rot\.crt \/ --exporters-key-file .*pull-rot\.key: not a usable PEM certificate and matching key/);
    const before = seen.length;
    await until(() => seen.length >= before + 3, 'more pulls', 10_000);
    t.equal(seen.at(-1), fingerprint(certs.strangerCert), 'the last good client certificate is still presented');
    t.equal(lastError(), null, 'and the pulls still succeed');
  });
}
