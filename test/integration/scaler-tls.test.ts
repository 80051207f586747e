// TLS on the scaler's gRPC API, as KEDA's external scaler connects with a TriggerAuthentication
// (caCert; tlsClientCert/tlsClientKey for client certificates): the server certificate, required
// client certificates, and startup errors for TLS settings that cannot be honoured.
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCerts, opensslAvailable } from '../helpers/certs.js';
import { gpu, gpusDoc, pod, scalerClient, startExporter, startTestScaler } from './scaler-harness.js';
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
}
