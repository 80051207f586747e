// The arguments the manifests pass are ones the real CLI accepts: the DaemonSet's (kustomize and
// Helm skeleton), run once on a simulated GPU with the ConfigMap's counters file.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT, readYamlDocs } from './helpers/files.js';
import { skeleton } from './helpers/helm-skeleton.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Any = any;

const CLI = join(ROOT, 'dist/bin/nvml-exporter.js');
const CSV = join(ROOT, 'deploy/manifests/base/default-counters.csv');
const skip = existsSync(CLI) ? undefined : 'SKIPPED: dist/bin/nvml-exporter.js not built (npm run build)';
if (skip) process.stderr.write(`${skip}\n`);

function runOnce(args: string[]) {
  // The counters file comes from the ConfigMap mount in the pod; here from the repository. The
  // kubelet socket does not exist here: the exporter must still print the GPU series.
  const local = args.map((a) => (a.startsWith('/etc/nvml-exporter/') ? CSV : a))
    .map((a) => (a.startsWith('--pod-resources-kubelet-socket=') ? '--pod-resources-kubelet-socket=/nonexistent/kubelet.sock' : a));
  return spawnSync(process.execPath, [CLI, ...local, '--simulate', '1', '--once'], { encoding: 'utf8', timeout: 60_000,
    env: { ...process.env, DCGM_POD_RESOURCES_KUBELET_SOCKET: '/nonexistent/kubelet.sock' } });
}

t.test('the kustomize DaemonSet arguments', skip ? { skip } : {}, async (t) => {
  const ds = readYamlDocs(join(ROOT, 'deploy/manifests/base/daemonset.yaml'))[0] as Any;
  const r = runOnce(ds.spec.template.spec.containers[0].args);
  t.equal(r.status, 0, `exit status (stderr: ${r.stderr.slice(-1500)})`);
  t.match(r.stdout, 'DCGM_FI_DEV_GPU_UTIL{gpu="0"');
});

t.test('the Helm DaemonSet arguments (default values)', skip ? { skip } : {}, async (t) => {
  const values = parse(readFileSync(join(ROOT, 'deploy/helm/nvml-exporter/values.yaml'), 'utf8'));
  const file = join(ROOT, 'deploy/helm/nvml-exporter/templates/daemonset.yaml');
  const ds = skeleton(readFileSync(file, 'utf8'), values, file)[0] as Any;
  const args: string[] = ds.spec.template.spec.containers[0].args;
  t.notOk(args.some((a) => a.includes('TEMPLATED')), 'every argument resolves from values.yaml');
  const r = runOnce(args);
  t.equal(r.status, 0, `exit status (stderr: ${r.stderr.slice(-1500)})`);
  t.match(r.stdout, 'DCGM_FI_DEV_GPU_UTIL{gpu="0"');
});
