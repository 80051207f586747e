// Issue 14 item 8: a kubelet answer that amplifies. 15 MB of empty repeated entries (under the
// 16 MiB byte cap) used to decode into 7.8 million objects and end in a heap abort. The answer is
// now counted before it is decoded: refused as `malformed`, the last good pod map kept, scrapes
// answered throughout, memory flat.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { checkEntries, LIST_RESPONSE, AmplificationError, MalformedAnswerError, POD_RESOURCES_MAX_ENTRIES } from '../../lib/kubernetes/podresources-bounds.js';
import { MESSAGES } from '../../lib/kubernetes/podresources-api.js';
import { encodeMessage } from '../../lib/grpc-method.js';
import { startSimKubelet, type SimPod } from '../../lib/kubernetes/sim-kubelet.js';
import { scrape, startExporter, samplesOf, valueOf, waitUntil } from '../helpers/exporter.js';
import { socketDir } from '../fixtures/kubelet/node.js';

const UUID = 'GPU-a0000000-1111-4222-8333-444444444444';
const pod = (name: string): SimPod => ({ namespace: 'ml', name, containers: [{ name: 'main', devices: [{ resource: 'nvidia.com/gpu', ids: [UUID] }] }] });
/** 15 MB of `pod_resources {}`: field 1, length 0, 7.8 million times. */
const AMPLIFIER = Buffer.alloc(15 * 1024 * 1024, Buffer.from([0x0a, 0x00]));

function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

t.test('the entry count is checked before decoding, fast, and lets real answers through', async (t) => {
  const t0 = performance.now();
  t.throws(() => checkEntries(AMPLIFIER, LIST_RESPONSE), AmplificationError);
  const ms = performance.now() - t0;
  t.ok(ms < 200, `15 MB of empty entries refused after ${ms.toFixed(1)} ms`);
  // a dense real node: 500 pods × 4 containers × 2 devices with 8 IDs and 64 CPU IDs each
  const real = encodeMessage(MESSAGES.ListPodResourcesResponse, {
    pod_resources: Array.from({ length: 500 }, (_, p) => ({
      name: `pod-${p}`, namespace: 'ns',
      containers: Array.from({ length: 4 }, (_, c) => ({
        name: `c${c}`, cpu_ids: Array.from({ length: 64 }, (_, i) => i),
        devices: Array.from({ length: 2 }, () => ({ resource_name: 'nvidia.com/gpu', device_ids: Array.from({ length: 8 }, (_, i) => `GPU-${p}-${c}-${i}`) })),
      })),
    })),
  });
  const t1 = performance.now();
  const n = checkEntries(real, LIST_RESPONSE);
  t.ok(n < POD_RESOURCES_MAX_ENTRIES, `a 500-pod answer (${(real.length / 1024).toFixed(0)} KiB) has ${n} entries, under the bound of ${POD_RESOURCES_MAX_ENTRIES}`);
  t.ok(performance.now() - t1 < 100, `counted in ${(performance.now() - t1).toFixed(1)} ms`);
  t.throws(() => checkEntries(Buffer.from([0x0a, 0x10, 0x0a]), LIST_RESPONSE), MalformedAnswerError, 'a length past the end is malformed too');
});

t.test('an amplifying kubelet answer: malformed, the last good map kept, scrapes answered, memory flat', async (t) => {
  const { socket, cleanup } = socketDir();
  const sim = await startSimKubelet(socket, { pods: [pod('trainer-0')] });
  const exp = await startExporter({
    scenario: { gpus: [{ uuid: UUID, values: { gpuUtil: 30 } }] },
    args: ['-c', '200', '-k', '--pod-resources-kubelet-socket', socket, '--pod-resources-refresh-interval', '300'],
    env: { NODE_OPTIONS: '--max-old-space-size=128' },
  });
  t.teardown(async () => {
    await exp.stop();
    await sim.stop();
    cleanup();
  });
  const labelled = (s: ReturnType<typeof samplesOf>) => samplesOf(s, 'DCGM_FI_DEV_GPU_UTIL', { pod: 'trainer-0' }).length === 1;
  await waitUntil(async () => labelled((await scrape(exp.url)).samples), 'the pod map');
  const before = rssMiB(exp.proc.pid!);
  sim.setScenario({ pods: [pod('trainer-0')], list: { raw: AMPLIFIER } });
  let slowest = 0;
  let bad = 0;
  let peak = before;
  const page = await waitUntil(async () => {
    const r = await scrape(exp.url);
    slowest = Math.max(slowest, r.ms);
    peak = Math.max(peak, rssMiB(exp.proc.pid!));
    if (r.status !== 200 || !labelled(r.samples)) bad++;
    return (valueOf(r.samples, 'nvml_exporter_podresources_refresh_errors_total', { reason: 'malformed' }) ?? 0) >= 3 ? r.samples : undefined;
  }, 'three refused answers', 20000, 100);
  t.equal(bad, 0, 'every scrape was a 200 with the pod labels of the last good map');
  t.equal(valueOf(page, 'nvml_exporter_podresources_up'), 0);
  t.ok(slowest < 1000, `slowest scrape ${slowest.toFixed(0)} ms while 15 MB answers arrived`);
  t.ok(peak - before < 100, `RSS ${before.toFixed(0)} → peak ${peak.toFixed(0)} MiB`);
  t.equal(exp.proc.exitCode, null, 'no heap abort');
  t.match(exp.stderr(), /more than 200000 entries/);
  sim.setScenario({ pods: [pod('trainer-0')] });
  await waitUntil(async () => valueOf((await scrape(exp.url)).samples, 'nvml_exporter_podresources_up') === 1, 'up 1 again');
});
