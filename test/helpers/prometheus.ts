// A real Prometheus (Debian's package) started as a plain process on 127.0.0.1 for end-to-end
// tests. Without a `prometheus` binary the tests skip with a loud message; with
// NVML_EXPORTER_REQUIRE_PROMETHEUS=1 (CI) a missing binary is a failure instead.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { freePort } from './ports.js';

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export function findPrometheus(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : null;
}

/** Returns the skip reason, or throws when CI requires Prometheus and it is missing. */
export function prometheusSkipReason(): string | false {
  if (findPrometheus()) return false;
  const msg =
    'SKIPPED: no `prometheus` binary on PATH — the end-to-end Prometheus tests did not run. ' +
    'Install Debian\'s package (apt-get install --no-install-recommends prometheus) to run them.';
  if (process.env.NVML_EXPORTER_REQUIRE_PROMETHEUS === '1') {
    throw new Error(msg.replace('SKIPPED', 'FAILED') + ' (NVML_EXPORTER_REQUIRE_PROMETHEUS=1 is set)');
  }
  process.stderr.write(`\n*** ${msg} ***\n\n`);
  return msg;
}

/**
 * Whether promtool (Debian's "prometheus" package) can run: true, or false after recording why in
 * `t` (a skip; a failure with NVML_EXPORTER_REQUIRE_PROMETHEUS=1, as CI sets). `what` says what
 * did not run.
 */
export function promtoolAvailable(t: Test, what: string): boolean {
  if (!spawnSync('promtool', ['--version'], { encoding: 'utf8' }).error) return true;
  if (process.env.NVML_EXPORTER_REQUIRE_PROMETHEUS === '1') {
    t.fail('promtool is not on PATH but NVML_EXPORTER_REQUIRE_PROMETHEUS=1: install Debian\'s "prometheus" package, which provides it');
  } else {
    t.comment(`SKIP: promtool is not on PATH (Debian package "prometheus" provides it); ${what} did not run`);
    t.skip('promtool not installed', async () => {});
  }
  return false;
}

export interface Target {
  address: string; // host:port
  /** target labels as a Kubernetes service discovery would attach them */
  labels?: Record<string, string>;
}

export class Prometheus {
  private constructor(
    private readonly proc: ChildProcess,
    private readonly dir: string,
    readonly url: string,
    private readonly log: string[],
  ) {}

  static async start(targets: Target[], opts: { honorLabels?: boolean } = {}): Promise<Prometheus> {
    const bin = findPrometheus();
    if (!bin) throw new Error('prometheus binary not found');
    const dir = mkdtempSync(join(tmpdir(), 'nvx-prom-'));
    const port = await freePort();
    const staticConfigs = targets
      .map((t) => {
        const labels = Object.entries(t.labels ?? {})
          .map(([k, v]) => `          ${k}: ${JSON.stringify(v)}`)
          .join('\n');
        return `      - targets: [${JSON.stringify(t.address)}]\n` + (labels ? `        labels:\n${labels}\n` : '');
      })
      .join('');
    const config =
      'global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\n' +
      'scrape_configs:\n  - job_name: nvml-exporter\n' +
      `    honor_labels: ${opts.honorLabels ?? true}\n` +
      '    static_configs:\n' +
      staticConfigs;
    writeFileSync(join(dir, 'prometheus.yml'), config);
    const log: string[] = [];
    const proc = spawn(
      bin,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    proc.stderr?.on('data', (b: Buffer) => log.push(b.toString()));
    const prom = new Prometheus(proc, dir, `http://127.0.0.1:${port}`, log);
    const deadline = Date.now() + 15000;
    for (;;) {
      try {
        const r = await fetch(`${prom.url}/-/ready`);
        if (r.ok) break;
      } catch {
        /* not listening yet */
      }
      if (proc.exitCode !== null || Date.now() > deadline) {
        await prom.stop();
        throw new Error(`prometheus did not become ready: ${log.join('')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return prom;
  }

  async query(expr: string): Promise<PromSample[]> {
    const r = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await r.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
    if (body.status !== 'success') throw new Error(`query ${expr} failed: ${body.error}`);
    if (body.data?.resultType !== 'vector') throw new Error(`query ${expr}: expected a vector, got ${body.data?.resultType}`);
    return body.data.result as PromSample[];
  }

  /** Polls until `ok(result)` holds (Prometheus 2.x needs ~5 s before the first scrape lands). */
  async waitFor(expr: string, ok: (r: PromSample[]) => boolean, timeoutMs = 25000): Promise<PromSample[]> {
    const deadline = Date.now() + timeoutMs;
    let last: PromSample[] = [];
    let lastErr: unknown = null;
    while (Date.now() < deadline) {
      try {
        last = await this.query(expr);
        lastErr = null;
        if (ok(last)) return last;
      } catch (e) {
        lastErr = e;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(
      `timed out waiting for ${expr}; last result ${JSON.stringify(last)}` + (lastErr ? `; last error ${String(lastErr)}` : '') +
        (this.log.length ? `; prometheus said: ${this.log.join('').slice(-2000)}` : ''),
    );
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
