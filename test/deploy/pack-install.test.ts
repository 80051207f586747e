// What the container image relies on, without a Docker engine: the published package (npm pack)
// installed with production dependencies only and no install scripts (the image's runtime stage
// copies prebuilt binaries the same way) runs the exporter on a simulated GPU.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers/files.js';

t.setTimeout(600_000);

function run(cmd: string, args: string[], cwd: string, timeoutMs: number) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20, env: { ...process.env, npm_config_update_notifier: 'false' } });
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

const work = mkdtempSync(join(tmpdir(), 'nvml-exporter-pack-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

t.test('npm pack, production install, nvml-exporter --simulate 1 --once', async (t) => {
  if (!existsSync(join(ROOT, 'build/Release/nvml_addon.node')) || !existsSync(join(ROOT, 'dist/bin/nvml-exporter.js'))) {
    const b = run('npm', ['run', 'build'], ROOT, 300_000);
    t.equal(b.status, 0, `npm run build: ${b.stderr.slice(-2000)}`);
    if (b.status !== 0) return;
  }
  const packDir = join(work, 'pack');
  const appDir = join(work, 'app');
  for (const d of [packDir, appDir]) rmSync(d, { recursive: true, force: true });
  spawnSync('mkdir', ['-p', packDir, appDir]);

  const pack = run('npm', ['pack', '--pack-destination', packDir, '--json'], ROOT, 300_000);
  t.equal(pack.status, 0, `npm pack: ${pack.stderr.slice(-2000)}`);
  if (pack.status !== 0) return;
  const tarballs = readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
  t.equal(tarballs.length, 1, 'one tarball');
  const listed: string[] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')))[0].files.map((f: { path: string }) => f.path);
  for (const f of ['dist/bin/nvml-exporter.js', 'build/Release/nvml_addon.node', 'build/Release/nvml_sim.so', 'etc/default-counters.csv', 'package.json']) {
    t.ok(listed.includes(f), `the package contains ${f}`);
  }
  t.ok(listed.some((f) => f.startsWith('proto/') && f.endsWith('.proto')), 'the package contains the .proto files');
  t.notOk(listed.some((f) => f.startsWith('test/') || f.startsWith('node_modules/')), 'no tests or node_modules in the package');

  writeFileSync(join(appDir, 'package.json'), JSON.stringify({ name: 'pack-install-check', private: true }));
  const install = run('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', join(packDir, tarballs[0])], appDir, 400_000);
  t.equal(install.status, 0, `npm install: ${install.stderr.slice(-2000)}`);
  if (install.status !== 0) return;
  t.notOk(existsSync(join(appDir, 'node_modules/typescript')), 'no dev dependencies installed');

  const bin = join(appDir, 'node_modules/.bin/nvml-exporter');
  t.ok(existsSync(bin), 'the nvml-exporter bin is linked');
  const once = run(bin, ['--simulate', '1', '--once'], appDir, 60_000);
  t.equal(once.status, 0, `exit status (stderr: ${once.stderr.slice(-2000)})`);
  t.match(once.stdout, 'DCGM_FI_DEV_GPU_UTIL{gpu="0"', 'one exposition with GPU 0');
  t.match(once.stdout, /^# TYPE DCGM_FI_DEV_GPU_UTIL gauge$/m);
});
