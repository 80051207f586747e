// Issue 14 items 2 and 3 against the real `nvml-exporter` command: connections held by an
// attacker (1,000 silent ones and 300 that dribble header bytes, all reconnecting when dropped)
// must not lock probes and scrapers out, and clients that pipeline requests and never read the
// answers must not grow the exporter's memory without bound.
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { startExporter } from '../helpers/exporter.js';
import { probeLiveness } from '../helpers/probe.js';

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Opens `n` connections that never send anything and reopens each one the server closes. */
function holdSilent(port: number, n: number) {
  let stopped = false;
  let reconnects = 0;
  const socks = new Set<Socket>();
  const one = () => {
    if (stopped) return;
    const s = connect(port, '127.0.0.1');
    socks.add(s);
    s.on('error', () => {});
    s.on('close', () => {
      socks.delete(s);
      if (!stopped) {
        reconnects++;
        setTimeout(one, 20);
      }
    });
  };
  for (let i = 0; i < n; i++) one();
  return { stop: () => { stopped = true; for (const s of socks) s.destroy(); }, reconnects: () => reconnects, open: () => socks.size };
}

/** `n` slow-loris connections: a request line, then one header line every 400 ms, never the end. */
function dribble(port: number, n: number) {
  let stopped = false;
  const socks = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const one = () => {
    if (stopped) return;
    const s = connect(port, '127.0.0.1', () => {
      s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
      const iv = setInterval(() => s.write(`X-Slow-${Math.random().toString(36).slice(2, 6)}: y\r\n`), 400);
      timers.add(iv);
      s.once('close', () => { clearInterval(iv); timers.delete(iv); });
    });
    socks.add(s);
    s.on('error', () => {});
    s.on('close', () => {
      socks.delete(s);
      if (!stopped) setTimeout(one, 20);
    });
  };
  for (let i = 0; i < n; i++) one();
  return { stop: () => { stopped = true; for (const iv of timers) clearInterval(iv); for (const s of socks) s.destroy(); } };
}


t.test('1,000 silent and 300 dribbling connections: /health and /metrics answer within 1 s throughout', async (t) => {
  const exp = await startExporter({ scenario: { gpus: [{ values: { gpuUtil: 10 } }, { values: { gpuUtil: 20 } }] }, args: ['-c', '500'] });
  t.teardown(() => exp.stop());
  const silent = holdSilent(exp.port, 1000);
  const slow = dribble(exp.port, 300);
  t.teardown(() => { silent.stop(); slow.stop(); });
  await new Promise((r) => setTimeout(r, 1000)); // the attack is in place
  const res = await probeLiveness(exp.url, ['/health', '/metrics'], 8000);
  silent.stop();
  slow.stop();
  t.equal(res.failed, 0, `${res.n} probes during the attack, ${res.failed} failed`);
  t.ok(res.slowest < 1000, `slowest probe ${res.slowest.toFixed(0)} ms`);
  t.ok(silent.reconnects() >= 500, `the server closed silent connections (${silent.reconnects()} reconnects in 9 s)`);
  t.equal(exp.proc.exitCode, null, 'the exporter is still running');
});

t.test('30 connections pipelining 1,900 GET /metrics each and never reading: memory stays bounded, scrapes go on', async (t) => {
  // a heap limit like the container's: an unbounded queue would end in an out-of-memory abort
  const exp = await startExporter({
    scenario: { gpus: Array.from({ length: 8 }, (_, i) => ({ values: { gpuUtil: i * 10 } })) },
    args: ['-c', '500'],
    env: { NODE_OPTIONS: '--max-old-space-size=96' },
  });
  t.teardown(() => exp.stop());
  await (await fetch(exp.url + '/metrics')).text();
  const before = rssMiB(exp.proc.pid!);
  const flood = Buffer.from('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(1900));
  const socks: Socket[] = [];
  let peak = before;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 30; i++) {
      const s = connect(exp.port, '127.0.0.1', () => s.write(flood));
      s.pause(); // never read an answer
      s.on('error', () => {});
      socks.push(s);
    }
    for (let k = 0; k < 10; k++) {
      await new Promise((r) => setTimeout(r, 100));
      peak = Math.max(peak, rssMiB(exp.proc.pid!));
    }
  }
  // (one CI run under heavy load saw this scrape reset, not reproduced since: on a failure, say
  // whether the exporter was still running, and how it ended and what it logged if not)
  const scrape = await fetch(exp.url + '/metrics', { signal: AbortSignal.timeout(3000) }).catch(async (err: Error) => {
    await new Promise((r) => setTimeout(r, 500)); // a process that just died has not reported its exit yet
    const state = exp.proc.exitCode !== null || exp.proc.signalCode !== null
      ? `the exporter ended (code ${exp.proc.exitCode}, signal ${exp.proc.signalCode}); its last output: ${exp.stderr().slice(-600)}`
      : 'the exporter is still running';
    throw new Error(`the scrape during the flood failed: ${err.message} (${(err.cause as Error | undefined)?.message ?? 'no cause'}); ${state}`, { cause: err });
  });
  t.equal(scrape.status, 200, 'a scraper is served during the flood');
  await scrape.text();
  for (const s of socks) s.destroy();
  t.equal(exp.proc.exitCode, null, 'the exporter is still running');
  t.ok(peak < 192 && peak - before < 96, `RSS ${before.toFixed(0)} → peak ${peak.toFixed(0)} MiB (+${(peak - before).toFixed(0)} MiB for 90 × 1,900 pipelined requests)`);
  // (Node stops parsing a connection's pipelined requests once 16 KiB of answers wait for the
  // client; the connection guard closes one with more than 1 MiB queued or 8 requests in progress,
  // and keeps all queues together under 32 MiB: test/unit/server-routes.test.ts)
});
