// The Dockerfile, read statically (no Docker engine here, and hadolint cannot be installed):
// multi-stage, lockfile install, the runtime carries what the package carries, the env the
// NVIDIA runtime needs, port 9400, no HEALTHCHECK, and every COPY source exists.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COUNTERS_FILES, ROOT } from './helpers/files.js';

const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const lines = text.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n').replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter(Boolean);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

t.test('two stages on a pinned slim Debian Node 20 base', async (t) => {
  t.match(text, /^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
  const froms = lines.filter((l) => l.startsWith('FROM '));
  t.same(froms, ['FROM ${NODE_IMAGE} AS build', 'FROM ${NODE_IMAGE} AS runtime']);
  t.match(text, /sha256/, 'says how to pin the digest');
});

t.test('the build stage installs from the lockfile and builds addon and TypeScript', async (t) => {
  t.ok(lines.some((l) => /^RUN npm ci\b/.test(l)), 'npm ci');
  t.ok(lines.some((l) => /apt-get install .*python3.*make.*g\+\+/.test(l)), 'build tools');
  t.ok(lines.some((l) => /npm run build/.test(l) && /npm prune --omit=dev/.test(l)), 'build, then production dependencies only');
  t.ok(pkg.scripts.build, 'package.json has the build script the Dockerfile runs');
});

t.test('every COPY source from the build context exists', async (t) => {
  for (const l of lines.filter((l) => l.startsWith('COPY ') && !l.includes('--from'))) {
    const parts = l.split(/\s+/).slice(1, -1);
    for (const p of parts) t.ok(existsSync(join(ROOT, p)), `${p} exists`);
  }
});

t.test('the runtime stage has what the package ships, and the NVIDIA env', async (t) => {
  const runtime = lines.slice(lines.findIndex((l) => l.includes('AS runtime')));
  const copied = runtime.filter((l) => l.startsWith('COPY --from=build')).join(' ');
  for (const f of pkg.files.filter((f: string) => !['native/', 'binding.gyp'].includes(f))) {
    t.ok(copied.includes(`/src/${f}`), `runtime copies ${f}`);
  }
  t.ok(copied.includes('/src/node_modules/'), 'production node_modules');
  t.match(text, /NVIDIA_VISIBLE_DEVICES=all/);
  t.match(text, /NVIDIA_DRIVER_CAPABILITIES=utility/);
  t.ok(runtime.includes('EXPOSE 9400'));
  t.notOk(lines.some((l) => l.startsWith('HEALTHCHECK')), 'no HEALTHCHECK');
  const entry = runtime.find((l) => l.startsWith('ENTRYPOINT'))!;
  t.equal(entry, 'ENTRYPOINT ["/opt/nvml-exporter/dist/bin/nvml-exporter.js"]', 'runs the package bin itself, so its #! line (node flags) applies');
  t.equal(pkg.bin['nvml-exporter'], 'dist/bin/nvml-exporter.js');
});

t.test("the runtime stage puts every counters file at dcgm-exporter's path", async (t) => {
  const runtime = lines.slice(lines.findIndex((l) => l.includes('AS runtime')));
  const placed = new Map<string, string>(); // image path -> build-stage source
  for (const l of runtime.filter((x) => x.startsWith('COPY --from=build '))) {
    const parts = l.split(/\s+/).slice(2);
    const dest = parts.pop()!;
    for (const src of parts) placed.set(dest.endsWith('/') ? dest + src.split('/').pop() : dest, src);
  }
  for (const f of COUNTERS_FILES) {
    t.equal(placed.get(`/etc/dcgm-exporter/${f}`), `/src/etc/${f}`, `/etc/dcgm-exporter/${f} from etc/${f}`);
    t.ok(existsSync(join(ROOT, 'etc', f)), `etc/${f} exists`);
  }
  t.ok(lines.some((l) => l === 'COPY etc/ etc/'), 'the build stage has etc/');
});

t.test('the image runs as uid 0, as dcgm-exporter\'s do (the kubelet socket is root-only)', async (t) => {
  const runtime = lines.slice(lines.findIndex((l) => l.includes('AS runtime')));
  const users = runtime.filter((l) => l.startsWith('USER '));
  t.same(users, ['USER 0'], 'one USER line: uid 0');
  t.match(text, /NVIDIA_MIG_MONITOR_DEVICES=all/, 'MIG monitoring capability requested from the NVIDIA runtime');
});

t.test('.dockerignore keeps build output and tests out of the context', async (t) => {
  const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const p of ['node_modules', 'build', 'dist', '.git', 'test']) t.ok(ignore.includes(p), p);
});
