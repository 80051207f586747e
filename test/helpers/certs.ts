// Test certificates made at test time with openssl (Debian's), into a temporary folder: a CA, a
// server certificate for localhost / 127.0.0.1 (and a second one, for rotation), a client
// certificate signed by the CA and one signed by another CA. No key is committed.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** a second server certificate for the same names (rotation) */
  server2Cert: string;
  server2Key: string;
  clientCert: string;
  clientKey: string;
  /** a client certificate from a CA the server does not trust */
  strangerCert: string;
  strangerKey: string;
  cleanup(): void;
}

export function opensslAvailable(): boolean {
  return spawnSync('openssl', ['version']).status === 0;
}

export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'nvx-certs-'));
  const p = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ca = (name: string) => {
    ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p(`${name}.key`), '-out', p(`${name}.crt`),
      '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  };
  const leaf = (name: string, caName: string, san: string, usage: string) => {
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${name}`);
    writeFileSync(p(`${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=${usage}\n`);
    ssl('x509', '-req', '-in', p(`${name}.csr`), '-CA', p(`${caName}.crt`), '-CAkey', p(`${caName}.key`), '-CAcreateserial',
      '-out', p(`${name}.crt`), '-days', '2', '-extfile', p(`${name}.ext`));
  };
  ca('ca');
  ca('other-ca');
  leaf('server', 'ca', 'DNS:localhost,IP:127.0.0.1', 'serverAuth');
  leaf('server2', 'ca', 'DNS:localhost,IP:127.0.0.1', 'serverAuth');
  leaf('client', 'ca', 'DNS:scraper.monitoring', 'clientAuth');
  leaf('stranger', 'other-ca', 'DNS:scraper.monitoring', 'clientAuth');
  return {
    dir,
    caCert: p('ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    server2Cert: p('server2.crt'),
    server2Key: p('server2.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    strangerCert: p('stranger.crt'),
    strangerKey: p('stranger.key'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
