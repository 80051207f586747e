// The built command runs as an executable (npm's bin link, the image's ENTRYPOINT, `npm run demo`)
// and its #! line hands Node the memory settings that BENCHMARKS.md's figures were measured with.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers/files.js';
import { freePort } from '../helpers/ports.js';

const CLI = join(ROOT, 'dist/bin/nvml-exporter.js');
const skip = existsSync(CLI) ? undefined : 'SKIPPED: dist/bin/nvml-exporter.js not built (npm run build)';
if (skip) process.stderr.write(`${skip}\n`);
const FLAG = '--max-semi-space-size=1';
const SHEBANG = `#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node ${FLAG}`;

t.test('dist/bin/nvml-exporter.js is executable and names its node flags on the #! line', skip ? { skip } : {}, async (t) => {
  t.ok((statSync(CLI).mode & 0o111) !== 0, 'has the executable bit (npm run build:ts sets it)');
  t.equal(readFileSync(CLI, 'utf8').split('\n')[0], SHEBANG);
  t.equal(readFileSync(join(ROOT, 'bin/nvml-exporter.ts'), 'utf8').split('\n')[0], SHEBANG, 'the source has the same line');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  t.match(pkg.scripts.demo!, /^dist\/bin\/nvml-exporter\.js /, 'npm run demo runs the file itself');
});

t.test('run directly, it works and Node runs with the flag', skip ? { skip } : {}, async (t) => {
  const once = spawnSync(CLI, ['--simulate', '1', '--once'], { encoding: 'utf8', timeout: 60_000 });
  t.equal(once.status, 0, once.stderr);
  t.match(once.stdout, /^DCGM_FI_DEV_GPU_UTIL\{gpu="0",/m);

  const port = await freePort();
  const p = spawn(CLI, ['--simulate', '1', '-a', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  t.teardown(() => void p.kill('SIGKILL'));
  const deadline = Date.now() + 20_000;
  let up = false;
  while (!up && Date.now() < deadline) {
    up = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
    if (!up) await new Promise((r) => setTimeout(r, 100));
  }
  t.ok(up, `the exporter answers /health (${stderr.trim()})`);
  const argv = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0');
  t.match(argv[0]!, /node$/, 'env replaced itself with node (node has the pid, and gets the signals)');
  t.ok(argv.includes(FLAG), `node's argv has ${FLAG}: ${argv.join(' ')}`);
  t.ok(readFileSync(`/proc/${p.pid}/environ`, 'utf8').split('\0').includes('MALLOC_ARENA_MAX=2'), 'and MALLOC_ARENA_MAX=2 in its environment');
  const exit = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  p.kill('SIGTERM');
  t.equal(await exit, 0, 'SIGTERM ends it with 0');
});
