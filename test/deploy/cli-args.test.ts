// The arguments and environment the manifests give the exporter are ones the real CLI accepts:
// the kustomize DaemonSet's, and the Helm DaemonSet's as rendered from the chart defaults, from a
// full copy of dcgm-exporter's values and from this chart's own keys. Each runs once on a
// simulated GPU with the counters file its ConfigMap holds. (The TLS renders are left out: their
// web config points at certificates that exist only in the cluster.)
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, readYamlDocs } from './helpers/files.js';
import { exporter, find, renderObjects } from './helpers/chart.js';
import type { K8sObject } from './helpers/schema.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Any = any;

const CLI = join(ROOT, 'dist/bin/nvml-exporter.js');
const skip = existsSync(CLI) ? undefined : 'SKIPPED: dist/bin/nvml-exporter.js not built (npm run build)';
if (skip) process.stderr.write(`${skip}\n`);

const EXPORTER_METRICS = '--enable-exporter-metrics';
const knowsExporterMetrics = !skip && spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' }).stdout.includes('enable-exporter-metrics');

const dir = mkdtempSync(join(tmpdir(), 'nvx-cli-args-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs the container's arguments and plain env values with --simulate 1 --once. In-pod paths are
 * mapped here: the mounted counters file to a copy of its ConfigMap's CSV, the image's
 * /etc/dcgm-exporter/ files to etc/, the kubelet socket to a path that does not exist (the
 * exporter must still print the GPU series). The listen address is not used with --once.
 */
function runOnce(t: Test, c: Any, mountedCsv: Map<string, string>) {
  const args: string[] = c.args ?? [];
  t.ok(knowsExporterMetrics, `${EXPORTER_METRICS} is a flag of the CLI`);
  const local = args.map((a) => mountedCsv.get(a) ?? (a.startsWith('/etc/dcgm-exporter/') && !existsSync('/etc/dcgm-exporter') ? join(ROOT, 'etc', a.slice('/etc/dcgm-exporter/'.length)) : a));
  const env: NodeJS.ProcessEnv = { ...process.env, DCGM_POD_RESOURCES_KUBELET_SOCKET: '/nonexistent/kubelet.sock' };
  for (const e of c.env ?? []) if (typeof e.value === 'string' && e.name !== 'DCGM_EXPORTER_LISTEN') env[e.name] = e.value;
  env.NODE_NAME = 'cli-args-node';
  return spawnSync(process.execPath, [CLI, ...local, '--simulate', '1', '--once'], { encoding: 'utf8', timeout: 60_000, env });
}

function helmCase(name: string, docs: K8sObject[]) {
  t.test(`the Helm DaemonSet (${name})`, skip ? { skip } : {}, async (t) => {
    const { c, pod } = exporter(docs);
    const cm = find(docs, 'ConfigMap');
    const mount = c.volumeMounts.find((m: Any) => m.mountPath === '/etc/dcgm-exporter/default-counters.csv');
    const vol = pod.volumes.find((v: Any) => v.name === mount.name);
    const csv = join(dir, `${name}.csv`);
    writeFileSync(csv, cm.data[vol.configMap.items[0].key]);
    const r = runOnce(t, c, new Map([[mount.mountPath, csv]]));
    t.equal(r.status, 0, `exit status (stderr: ${r.stderr.slice(-1500)})`);
    t.match(r.stdout, /DCGM_FI_DEV_GPU_UTIL\{gpu="0"/);
  });
}

t.test('the kustomize DaemonSet arguments', skip ? { skip } : {}, async (t) => {
  const ds = readYamlDocs(join(ROOT, 'deploy/manifests/base/daemonset.yaml'))[0] as Any;
  const c = ds.spec.template.spec.containers[0];
  t.ok(c.args.includes(EXPORTER_METRICS), 'the base turns the self-metrics on (its alerts use them)');
  const r = runOnce(t, c, new Map([['/etc/nvml-exporter/counters.csv', join(ROOT, 'deploy/manifests/base/default-counters.csv')]]));
  t.equal(r.status, 0, `exit status (stderr: ${r.stderr.slice(-1500)})`);
  t.match(r.stdout, /DCGM_FI_DEV_GPU_UTIL\{gpu="0"/);
  t.match(r.stdout, /hostname="cli-args-node"/, 'the default naming profile (4.8.3) spells the host label hostname');
});

helmCase('defaults', renderObjects());
helmCase("a full copy of dcgm-exporter's values", renderObjects(['dcgm-exporter-full-copy.yaml']));
helmCase('our own keys', renderObjects(['ours.yaml']));
