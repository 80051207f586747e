// The per-pod usage flags: what switches it on, the process cadence and its defaults, refusals.
import t from 'tap';
import { parseCli } from '../../lib/config/cli.js';
import type { Config } from '../../lib/config/types.js';

const run = (argv: string[], env: NodeJS.ProcessEnv = {}): Config => {
  const r = parseCli(argv, env, { hostname: () => 'h' });
  if (r.kind !== 'run') throw new Error('expected a run config');
  return r.config;
};

t.test('switches and defaults', async (t) => {
  t.equal(run([]).podUsage, false, 'off by default');
  t.equal(run(['--pod-usage']).podUsage, true);
  t.equal(run([], { NVML_EXPORTER_POD_USAGE: 'true' }).podUsage, true, 'env var');
  t.equal(run(['-k', '--kubernetes-virtual-gpus']).podUsage, true, '-k --kubernetes-virtual-gpus reads processes');
  t.equal(run(['--kubernetes-virtual-gpus']).podUsage, false, 'not without -k');
  const c = run(['--pod-usage', '--host-proc', '/host/proc', '-c', '500']);
  t.same([c.hostProc, c.processIntervalMs, c.processSlowIntervalMs, c.processBudgetMs], ['/host/proc', 500, 10000, 250], 'the interval follows -c');
  t.equal(run(['-c', '60000']).processSlowIntervalMs, 60000, 'a long collect interval: the slow cadence is at least as long');
  const e = run([], { NVML_EXPORTER_PROCESS_INTERVAL: '2000', NVML_EXPORTER_PROCESS_SLOW_INTERVAL: '30000', NVML_EXPORTER_PROCESS_BUDGET: '100', NVML_EXPORTER_HOST_PROC: '/hp' });
  t.same([e.processIntervalMs, e.processSlowIntervalMs, e.processBudgetMs, e.hostProc], [2000, 30000, 100, '/hp'], 'env vars');
});

t.test('refusals name the flag and the fix', async (t) => {
  t.throws(() => run(['--process-interval', '5000', '--process-slow-interval', '1000']), /--process-slow-interval 1000 is shorter than the process interval 5000.*raise it or lower --process-interval/);
  t.throws(() => run(['--process-budget', '0']), /--process-budget: "0" is not a positive integer/);
  t.throws(() => run(['--host-proc', '']), /--host-proc: empty value/);
});
