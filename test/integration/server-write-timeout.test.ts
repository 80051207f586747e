// --web-write-timeout, enforced by the connection guard without a timer per request: a client that
// asks for a large response and never reads it loses the connection after the write timeout
// (plus at most one check interval); one that reads gets the whole response; and a kept-alive
// connection between requests is not "busy".
import t from 'tap';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { ConnectionGuard } from '../../lib/server/connection-guard.js';

const BIG = Buffer.alloc(8 * 1024 * 1024, 'x'); // far more than the socket buffers take

async function serve(guard: ConnectionGuard): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.url === '/big') res.end(BIG);
    else res.end('ok\n');
  });
  guard.attach(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as AddressInfo).port };
}

t.test('a client that does not read a large response is cut off after the write timeout', async (t) => {
  const guard = new ConnectionGuard({ writeTimeoutMs: 400, checkEveryMs: 100, maxQueuedBytesPerConnection: 64 * 1024 * 1024, maxQueuedBytesTotal: 64 * 1024 * 1024 });
  const { server, port } = await serve(guard);
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const sock = connect(port, '127.0.0.1');
  sock.pause(); // never reads
  sock.on('error', () => {});
  t.teardown(() => sock.destroy());
  const t0 = Date.now();
  sock.write('GET /big HTTP/1.1\r\nhost: x\r\n\r\n');
  // the paused client does not see the close until it reads; the guard's count is the witness
  while (guard.closed.write_timeout === 0 && Date.now() - t0 < 10000) await new Promise((r) => setTimeout(r, 20));
  const ms = Date.now() - t0;
  t.equal(guard.open, 0, 'the connection is gone from the server');
  t.equal(guard.closed.write_timeout, 1, 'closed for the write timeout');
  t.ok(ms >= 350 && ms < 5000, `closed after ${ms} ms (timeout 400 ms, checked every 100 ms)`);
  t.equal(guard.closed.queued_bytes, 0, 'not for its queue');
});

t.test('a reading client gets the whole response', async (t) => {
  const guard = new ConnectionGuard({ writeTimeoutMs: 5000, checkEveryMs: 50, maxQueuedBytesPerConnection: 64 * 1024 * 1024, maxQueuedBytesTotal: 64 * 1024 * 1024 });
  const { server, port } = await serve(guard);
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const res = await fetch(`http://127.0.0.1:${port}/big`, { headers: { connection: 'close' } });
  t.equal((await res.arrayBuffer()).byteLength, BIG.length, 'all 8 MiB');
  t.equal(guard.closed.write_timeout, 0);
});

t.test('a kept-alive connection idle between requests is not timed out', async (t) => {
  const guard = new ConnectionGuard({ writeTimeoutMs: 300, checkEveryMs: 50 });
  const { server, port } = await serve(guard);
  const sock = connect(port, '127.0.0.1');
  t.teardown(() => {
    sock.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  let got = '';
  sock.on('data', (b) => (got += b.toString()));
  sock.write('GET /small HTTP/1.1\r\nhost: x\r\n\r\n');
  await new Promise((r) => setTimeout(r, 1000)); // three write timeouts, idle
  t.match(got, /ok\n$/, 'answered');
  t.equal(sock.destroyed, false, 'still open');
  sock.write('GET /small HTTP/1.1\r\nhost: x\r\n\r\n');
  const t0 = Date.now();
  while ((got.match(/ok\n/g)?.length ?? 0) < 2 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
  t.equal(got.match(/ok\n/g)?.length, 2, 'the second request on it is answered too');
  t.equal(guard.closed.write_timeout, 0);
});
