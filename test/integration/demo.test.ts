// The demo as a newcomer runs it (`npm run demo` = `nvml-exporter --simulate 4 -k` with the
// workload label and pod labels), here with 2 GPUs on a free port: pod labels from the demo's
// simulated kubelet and simulated API server, and values that move.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, samplesOf, scrape, startCommand, valueOf, type Sample } from '../helpers/exporter.js';

const POD = /^hpa-test-7d468b4969-[a-z0-9]{5}$/;

t.test('npm run demo is this command', async (t) => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  t.match(pkg.scripts.demo, /^dist\/bin\/nvml-exporter\.js --simulate \d+ -k --kubernetes-enable-workload-label --kubernetes-enable-pod-labels --kubernetes-pod-label-allowlist-regex \S+$/);
});

t.test('the demo shows the pods\' own labels and their Deployment, from its simulated API server', async (t) => {
  const exp = await startCommand({
    args: ['--simulate', '2', '-k', '--kubernetes-enable-workload-label', '--kubernetes-enable-pod-labels', '--kubernetes-pod-label-allowlist-regex', '^app$,^team$'],
    waitPath: '/ready',
    startLimitMs: 60000,
  });
  t.teardown(() => exp.stop());
  let s: Sample[] = [];
  for (let i = 0; i < 100; i++) {
    s = (await scrape(exp.url)).samples;
    if (samplesOf(s, 'DCGM_FI_DEV_GPU_UTIL', { gpu: '0' })[0]?.labels.workload) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const l = samplesOf(s, 'DCGM_FI_DEV_GPU_UTIL', { gpu: '0' })[0]!.labels;
  t.match(l.pod, POD);
  t.same([l.workload, l.workload_kind, l.deployment, l.app, l.team, l.app_kubernetes_io_part_of], ['hpa-test', 'Deployment', 'hpa-test', 'hpa-test', 'ml-platform', undefined],
    'the Deployment, and the allowlisted labels only');
  t.equal(valueOf(s, 'nvml_exporter_kubernetes_api_up', { watch: 'pods' }), 1);
});

t.test('--simulate 2 -k --kubernetes-virtual-gpus: pod labels on the GPUs the simulated kubelet allocates, one series per sharing pod, and moving values', async (t) => {
  const exp = await startCommand({ args: ['--simulate', '2', '-k', '--kubernetes-virtual-gpus'], waitPath: '/ready' });
  t.teardown(() => exp.stop());

  // the first pod refresh runs before the server listens; wait for it to be reported anyway
  let first: Sample[] = [];
  for (let i = 0; i < 50; i++) {
    first = (await scrape(exp.url)).samples;
    if (valueOf(first, 'nvml_exporter_podresources_up') === 1) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(valueOf(first, 'nvml_exporter_podresources_up'), 1, 'the demo kubelet answers');
  t.equal(valueOf(first, 'nvml_exporter_gpus'), 2);

  // GPU 0 is held by one pod; GPU 1 is shared by two (time-slicing replicas ::0 and ::1)
  const util = samplesOf(first, 'DCGM_FI_DEV_GPU_UTIL');
  const gpu0 = util.filter((s) => s.labels.gpu === '0');
  const gpu1 = util.filter((s) => s.labels.gpu === '1');
  t.equal(gpu0.length, 1, 'one series for GPU 0');
  t.equal(gpu0[0]?.labels.namespace, 'ha-test-namespace');
  t.match(gpu0[0]?.labels.pod, POD);
  t.equal(gpu0[0]?.labels.container, 'custom-container');
  t.equal(gpu1.length, 2, 'one series per pod sharing GPU 1');
  t.ok(gpu1.every((s) => s.labels.namespace === 'ha-test-namespace' && POD.test(s.labels.pod ?? '') && s.labels.container === 'custom-container'));
  t.equal(new Set(gpu1.map((s) => s.labels.pod)).size, 2, 'two different pods');
  t.same(gpu1.map((s) => s.labels.vgpu).sort(), ['0', '1'], 'told apart by the replica index');
  t.not(gpu0[0]?.labels.pod, gpu1[0]?.labels.pod);
  t.equal(gpu1[0]?.value, gpu1[1]?.value, 'the same GPU reading on both pods’ series');
  // every GPU family carries the pod labels, not only utilization
  const fb = samplesOf(first, 'DCGM_FI_DEV_FB_USED', { gpu: '0' });
  t.equal(fb.length, 1);
  t.match(fb[0]?.labels.pod, POD);
  // the seed query's selector matches both GPUs
  const selected = util.filter((s) => s.labels.namespace === 'ha-test-namespace' && /^hpa-test-.*$/.test(s.labels.pod ?? ''));
  t.equal(new Set(selected.map((s) => s.labels.gpu)).size, 2);

  // values move: three scrapes ~2 s apart (two sweeps apart at the default 1 s interval)
  const pages: Sample[][] = [first];
  for (let i = 0; i < 2; i++) {
    await new Promise((r) => setTimeout(r, 2000));
    pages.push((await scrape(exp.url)).samples);
  }
  const sweeps = pages.map((p) => valueOf(p, 'nvml_exporter_sweeps_total')!);
  t.ok(sweeps[1]! > sweeps[0]! && sweeps[2]! > sweeps[1]!, `a new sweep behind each scrape: ${sweeps.join(', ')}`);
  for (const gpu of ['0', '1']) {
    // power is a 90 s cosine per GPU; a cosine takes any value at most twice per period, so three
    // samples 2 s apart cannot all be equal (the least change near a peak is still > 1 W)
    const power = pages.map((p) => samplesOf(p, 'DCGM_FI_DEV_POWER_USAGE', { gpu })[0]?.value);
    t.ok(power.every((w) => w !== undefined && w >= 160 && w <= 640), `GPU ${gpu} power within the demo's 160–640 W: ${power.join(', ')}`);
    t.ok(new Set(power).size >= 2, `GPU ${gpu} power moves: ${power.join(', ')}`);
    const u = pages.map((p) => samplesOf(p, 'DCGM_FI_DEV_GPU_UTIL', { gpu })[0]?.value);
    t.ok(u.every((x) => x !== undefined && x >= 20 && x <= 97), `GPU ${gpu} utilization within 20–97 %: ${u.join(', ')}`);
    // energy is a counter growing 400 J/s: compare with the sweeps' own timestamps
    const e = pages.map((p) => samplesOf(p, 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', { gpu })[0]?.value ?? NaN);
    const ts = pages.map((p) => valueOf(p, 'nvml_exporter_last_sweep_success_timestamp_seconds')!);
    const rate = (e[2]! - e[0]!) / (ts[2]! - ts[0]!);
    t.ok(e[1]! > e[0]! && e[2]! > e[1]!, `GPU ${gpu} energy counts up: ${e.join(', ')}`);
    t.ok(rate > 300_000 && rate < 500_000, `GPU ${gpu} energy rate about 400,000 mJ/s: ${rate.toFixed(0)}`);
  }
  const res = await exp.stop();
  t.equal(res.code, 0, 'SIGTERM: exit 0');
});
