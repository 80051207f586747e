// The default start loads only what it uses: no gRPC (kubelet client, KEDA scaler), no YAML (config
// file, web config), no bcrypt and no linear-time regex engine unless an option needs them. Each of
// those costs resident memory in every exporter pod (docs/architecture.md). A tracer preloaded with
// NODE_OPTIONS lists the packages the process loaded; the run with a config file is the control
// that shows the tracer sees a lazily loaded package.
import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, startExporter, scrape } from '../helpers/exporter.js';

const TRACER = join(repoRoot, 'test', 'fixtures', 'load-trace.cjs');
const OPTIONAL = ['@grpc/grpc-js', 'protobufjs', 'yaml', 'bcryptjs', 're2js'];

async function packagesLoaded(t: Test, args: string[]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'nvx-footprint-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const trace = join(dir, 'trace.txt');
  const exp = await startExporter({
    scenario: { gpus: [{}, {}] },
    args: ['-c', '200', ...args.map((a) => a.replace('$DIR', dir))],
    env: { NODE_OPTIONS: `--require ${TRACER}`, NVX_LOAD_TRACE: trace },
  });
  const page = await scrape(exp.url);
  t.equal(page.status, 200);
  await exp.stop();
  return existsSync(trace) ? readFileSync(trace, 'utf8').split('\n').filter(Boolean) : [];
}

t.test('a default start loads none of the optional packages', async (t) => {
  const loaded = await packagesLoaded(t, []);
  t.ok(loaded.includes('fastify'), `the tracer sees packages (${loaded.length} loaded)`);
  t.same(OPTIONAL.filter((p) => loaded.includes(p)), [], 'no gRPC, protobuf, YAML, bcrypt or re2js');
});

t.test('control: a config file loads the YAML parser, and only that', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nvx-footprint-cfg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = join(dir, 'c.yaml');
  writeFileSync(cfg, 'version: 1\ncollection:\n  interval: 300\n');
  const loaded = await packagesLoaded(t, ['--config-file', cfg]);
  t.same(OPTIONAL.filter((p) => loaded.includes(p)), ['yaml']);
});
