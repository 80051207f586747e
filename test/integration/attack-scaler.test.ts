// Issue 14 items 5-7 (and the scaler's side of item 4): bad documents exclude only their node,
// counted by reason; requests, bodies, GPUs per node, gRPC connections and the query cache are
// bounded; redirects are not followed; two endpoints claiming one node are reported instead of the
// later silently winning; pulls reach exporters that serve TLS, mTLS and basic auth.
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { createServer, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { gpu, gpusDoc, pod, scalerClient, startExporter, startTestScaler, until, type Ref } from './scaler-harness.js';
import { spawn } from 'node:child_process';
import { cliPath } from '../helpers/exporter.js';
import { freePort } from '../helpers/ports.js';
import { simulatedLibraryPath, writeScenario } from '../../lib/nvml/simulation.js';
import { makeCerts, opensslAvailable } from '../helpers/certs.js';
import { ByteLru, createScalerServer } from '../../lib/scaler/grpc-server.js';
import { parseListenTarget } from '../../lib/contract/address.js';

const util = (v: number) => ({ DCGM_FI_DEV_GPU_UTIL: v });

/** An "exporter" that answers with whatever `answer` writes. */
async function rawExporter(answer: (res: ServerResponse) => void) {
  const srv = createServer((req, res) => (req.url === '/api/v1/gpus' ? answer(res) : res.writeHead(404).end()));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  return { address: `127.0.0.1:${port}`, close: () => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }) };
}

const metricsOf = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

t.test('9 ScaledObjects, one node sending bad documents of every kind: only that node is left out, counted by reason', async (t) => {
  const docA = gpusDoc('node-a', [0, 1, 2].map((i) => gpu(i, util(10 * (i + 1)), [pod('ai', `wl${i}-5d8-aaaaa`)])));
  const docC = gpusDoc('node-c', [0, 1, 2].map((i) => gpu(i, util(50 + i), [pod('ai', `wl${6 + i}-5d8-ccccc`)])));
  const a = await startExporter(docA);
  const c = await startExporter(docC);
  let kind = 0;
  const bigGpus = gpusDoc('node-b', Array.from({ length: 65 }, (_, i) => gpu(i % 64, util(1), [pod('ai', 'wl3-x')])));
  const bad = await rawExporter((res) => {
    const k = kind++ % 4;
    if (k === 0) res.writeHead(200, { 'content-type': 'application/json' }).end('{"apiVersion": 1, "hostname": "node-b", "gpus": [');
    else if (k === 1) res.writeHead(200).end(JSON.stringify({ ...gpusDoc('node-b', []), gpus: [{ gpu: 'zero' }] }));
    else if (k === 2) res.writeHead(200).end(JSON.stringify(bigGpus)); // 65 GPUs: more than NVML has
    else { res.writeHead(200); res.end('x'.repeat(5 * 1024 * 1024)); } // over the 4 MiB cap
  });
  const scaler = await startTestScaler({ exporters: [a.address, bad.address, c.address], pullIntervalMs: 50, pullTimeoutMs: 2000, staleAfterMs: 60000 });
  const client = scalerClient(`127.0.0.1:${scaler.grpcPort}`);
  t.teardown(async () => { client.close(); await scaler.close(); await Promise.all([a.close(), c.close(), bad.close()]); });
  await until(() => kind >= 8, 'every kind of bad document pulled twice');
  const refs: Ref[] = Array.from({ length: 9 }, (_, i) => ({ name: `wl${i}`, namespace: 'ai', scalerMetadata: { deployment: `wl${i}` } }));
  const values = await Promise.all(refs.map(async (r) => (await client.getMetrics(r))[0]!.metricValueFloat));
  t.same(values, [10, 20, 30, 0, 0, 0, 50, 51, 52], 'the six ScaledObjects on good nodes are right; the three on the bad node see no GPU (no error)');
  const page = await metricsOf(scaler.httpPort);
  for (const reason of ['invalid_json', 'invalid_document', 'too_large']) {
    t.match(page, new RegExp(`nvml_scaler_pull_errors_total\\{exporter="${bad.address.replace(/\./g, '\\.')}",reason="${reason}"\\} [1-9]`), `counted: ${reason}`);
  }
  t.match(page, /nvml_scaler_rpcs_total\{method="GetMetrics",code="OK"\} 9/, 'nine OK answers, no INTERNAL');
  t.notMatch(page, /code="INTERNAL"/);
});

t.test('bodies are capped as they stream in: a 500 MB answer is cut after the cap', async (t) => {
  let sent = 0;
  let closed = false;
  const endless = await rawExporter((res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = () => {
      while (sent < 500 * 1024 * 1024 && !closed) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('close', () => (closed = true));
    pump();
  });
  const scaler = await startTestScaler({ exporters: [endless.address], pullIntervalMs: 60_000, pullTimeoutMs: 60_000, staleAfterMs: 60_000 });
  t.teardown(async () => { await scaler.close(); await endless.close(); });
  await until(() => closed, 'the scaler to hang up');
  t.ok(sent < 16 * 1024 * 1024, `the exporter could send ${(sent / 1048576).toFixed(1)} MiB before the scaler hung up (cap 4 MiB)`);
  await until(async () => /reason="too_large"\} 1/.test(await metricsOf(scaler.httpPort)), 'the pull error counted');
});

t.test('no redirects; two endpoints claiming one node: the first claim is kept and the conflict is a self-metric', async (t) => {
  const real = await startExporter(gpusDoc('node-a', [gpu(0, util(90), [pod('ai', 'web-1')])]));
  const target = await startExporter(gpusDoc('node-x', [gpu(0, util(5), [pod('ai', 'web-9')])]));
  const redirect = await rawExporter((res) => res.writeHead(302, { location: `http://${target.address}/api/v1/gpus` }).end());
  const scaler = await startTestScaler({ exporters: [real.address, redirect.address], pullIntervalMs: 50, pullTimeoutMs: 1000, staleAfterMs: 60000 });
  const client = scalerClient(`127.0.0.1:${scaler.grpcPort}`);
  t.teardown(async () => { client.close(); await scaler.close(); await Promise.all([real.close(), target.close(), redirect.close()]); });
  await new Promise((r) => setTimeout(r, 300));
  t.equal(target.requests, 0, 'the redirect target was never asked');
  t.match(await metricsOf(scaler.httpPort), /reason="http_status"\} [1-9]/);
  const ref = { name: 'web', namespace: 'ai', scalerMetadata: {} };
  t.equal((await client.getMetrics(ref))[0]!.metricValueFloat, 90);

  // a second endpoint starts claiming node-a with an idle GPU: it must not shadow the first
  const shadow = await startExporter(gpusDoc('node-a', [gpu(0, util(0), [pod('ai', 'web-1')])]));
  t.teardown(() => shadow.close());
  const scaler2 = await startTestScaler({ exporters: [real.address, shadow.address], pullIntervalMs: 50, pullTimeoutMs: 1000, staleAfterMs: 60000 });
  const client2 = scalerClient(`127.0.0.1:${scaler2.grpcPort}`);
  t.teardown(async () => { client2.close(); await scaler2.close(); });
  // both answered the first round: the tie goes to the lower address; make the real one first by order of claims
  await until(() => scaler2.view.conflicts().length === 1, 'the conflict is seen');
  const [conflict] = scaler2.view.conflicts();
  const kept = conflict!.kept;
  const keptValue = kept === real.address ? 90 : 0;
  for (let i = 0; i < 5; i++) {
    t.equal((await client2.getMetrics(ref))[0]!.metricValueFloat, keptValue, `the claim kept (${kept}) stays, pull after pull`);
    await new Promise((r) => setTimeout(r, 60));
  }
  const page = await metricsOf(scaler2.httpPort);
  t.match(page, new RegExp(`nvml_scaler_hostname_conflict\\{hostname="node-a",exporter="${conflict!.ignored[0]!.replace(/\./g, '\\.')}"\\} 1`));
  // with the real one in view first, a newcomer never takes the node
  const late = await startExporter(gpusDoc('node-a', [gpu(0, util(0), [pod('ai', 'web-1')])]));
  t.teardown(() => late.close());
  const scaler3 = await startTestScaler({ exporters: [real.address], pullIntervalMs: 50, pullTimeoutMs: 1000, staleAfterMs: 60000, pullMode: 'in-process' }); // changes the list by hand
  t.teardown(async () => { await scaler3.close(); });
  await until(() => scaler3.view.documents().length === 1, 'the real node in view');
  (scaler3.view as unknown as { setExporters(l: string[]): void }).setExporters([real.address, late.address]);
  await until(() => scaler3.view.conflicts().length === 1, 'the newcomer seen');
  t.equal(scaler3.view.conflicts()[0]!.kept, real.address, 'the earlier claim keeps the node');
  t.equal(scaler3.view.documents()[0]!.gpus[0]!.readings.DCGM_FI_DEV_GPU_UTIL, 90, 'GetMetrics keeps seeing 90, not 0');
});

t.test('requests are bounded: message size, metadata, the query cache; idle and surplus gRPC connections are closed', async (t) => {
  const scaler = createScalerServer({
    source: { documents: () => [gpusDoc('n', [gpu(0, util(7), [pod('ai', 'web-1')])])], onChange: () => () => {} },
    limits: { idleConnectionMs: 400, firstBytesMs: 400, maxConnections: 20 },
  });
  const port = await scaler.listen(parseListenTarget('127.0.0.1:0', 'test'));
  t.teardown(() => scaler.close());
  const client = scalerClient(`127.0.0.1:${port}`);
  t.teardown(() => client.close());
  const huge = await client.isActive({ name: 'x', namespace: 'ai', scalerMetadata: { podNamePattern: 'a'.repeat(4 * 1024 * 1024) } }).then(() => null, (e: grpc.ServiceError) => e);
  t.equal(huge?.code, grpc.status.RESOURCE_EXHAUSTED, `a 4 MB request is refused by size: ${huge?.details}`);
  const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'v']));
  const wide = await client.isActive({ name: 'x', namespace: 'ai', scalerMetadata: many }).then(() => null, (e: grpc.ServiceError) => e);
  t.equal(wide?.code, grpc.status.INVALID_ARGUMENT);
  t.match(wide?.details ?? '', /at most 32 metadata entries/);
  const long = await client.isActive({ name: 'x', namespace: 'ai', scalerMetadata: { metricName: 'm'.repeat(2000) } }).then(() => null, (e: grpc.ServiceError) => e);
  t.match(long?.details ?? '', /a value of at most 1024 characters/);
  t.equal(await client.isActive({ name: 'web', namespace: 'ai', scalerMetadata: {} }), true, 'a normal request is served');

  // idle connections are closed; past the cap a connection is closed at once
  const socks: Socket[] = [];
  let closed = 0;
  for (let i = 0; i < 30; i++) {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.on('close', () => closed++);
    s.resume(); // read what the server sends (its SETTINGS), so its close is seen
    socks.push(s);
  }
  await until(() => closed >= 10, 'the connections over the cap of 20 to be closed', 3000);
  await until(() => closed === 30, 'the idle ones to be closed too', 5000);
  t.equal(closed, 30, 'all 30 silent connections closed (10 over the cap at once, 20 after the idle timeout)');
  t.equal(await client.isActive({ name: 'web', namespace: 'ai', scalerMetadata: {} }), true, 'KEDA still gets in');

  const lru = new ByteLru<number>(100, 10_000);
  for (let i = 0; i < 1000; i++) lru.set(`key-${i}`, i, 1000);
  t.ok(lru.size <= 10 && lru.bytes <= 10_000, `the cache keeps within its byte budget (${lru.size} entries, ${lru.bytes} bytes)`);
  t.equal(lru.get('key-999'), 999, 'the most recent is kept');
  t.equal(lru.get('key-0'), undefined, 'the oldest is gone');
});

if (opensslAvailable()) {
  t.test('pulls reach an exporter with TLS, a required client certificate and basic auth', async (t) => {
    const certs = makeCerts();
    t.teardown(() => certs.cleanup());
    const cfg = join(certs.dir, 'web.yml');
    writeFileSync(cfg, [
      'tls_server_config:', `  cert_file: ${certs.serverCert}`, `  key_file: ${certs.serverKey}`,
      '  client_auth_type: RequireAndVerifyClientCert', `  client_ca_file: ${certs.caCert}`,
      'basic_auth_users:', `  scaler: "${bcrypt.hashSync('pull-pw', 4)}"`, '',
    ].join('\n'));
    const authFile = join(certs.dir, 'auth');
    writeFileSync(authFile, 'scaler:pull-pw\n');
    const scen = join(certs.dir, 'scenario.txt');
    writeScenario(scen, { gpus: [{ values: { gpuUtil: 66 } }] });
    const port = await freePort();
    const proc = spawn(process.execPath, [cliPath, '--nvml-library', simulatedLibraryPath(), '-a', `127.0.0.1:${port}`, '--web-config-file', cfg], {
      env: { ...process.env, NVML_SIM_SCENARIO: scen, NODE_NAME: 'tls-node' }, stdio: 'ignore',
    });
    t.teardown(() => { proc.kill('SIGKILL'); });
    const pulls = { scheme: 'https' as const, caFile: certs.caCert, certFile: certs.clientCert, keyFile: certs.clientKey, serverName: 'localhost', basicAuthFile: authFile };
    const scaler = await startTestScaler({ exporters: [`127.0.0.1:${port}`], pullIntervalMs: 100, pullTimeoutMs: 1000, staleAfterMs: 60000, pulls });
    t.teardown(() => scaler.close());
    await until(() => scaler.view.documents().length === 1, 'the TLS exporter in view', 15000);
    t.equal(scaler.view.documents()[0]!.hostname, 'tls-node');
    t.equal(scaler.view.documents()[0]!.gpus[0]!.readings.DCGM_FI_DEV_GPU_UTIL, 66);
    // without the credentials: 401, counted, never in view
    const noAuth = await startTestScaler({ exporters: [`127.0.0.1:${port}`], pullIntervalMs: 100, pullTimeoutMs: 1000, pulls: { ...pulls, basicAuthFile: null } });
    t.teardown(() => noAuth.close());
    await new Promise((r) => setTimeout(r, 500));
    t.equal(noAuth.view.documents().length, 0);
    t.match(noAuth.view.exporters()[0]!.lastError ?? '', /HTTP 401 .*--exporters-basic-auth-file/);
  });
}
