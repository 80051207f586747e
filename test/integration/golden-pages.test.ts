// Golden pages: for fixed scenarios the whole /metrics page of the real exporter (dist/, a child
// process on the simulated NVML and, with -k, a simulated kubelet) is compared with a checked-in
// file under test/fixtures/golden/. Every reading of the scenarios is a constant, so the GPU
// families are exact; the self-metrics whose values move with time (durations, timestamps, sweep
// counts, ages) and the build labels that depend on the machine are written as VOLATILE. A change
// to the output is then a visible diff in review.
//
// Regenerate after an intended change: `npm run golden:update` (then read the diff).
import t from 'tap';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Scenario, SimGpu } from '../../lib/nvml/scenario.js';
import { startSimKubelet, type SimPod } from '../../lib/kubernetes/sim-kubelet.js';
import { repoRoot, startExporter } from '../helpers/exporter.js';
import { socketDir } from '../fixtures/kubelet/node.js';

const GOLDEN = join(repoRoot, 'test', 'fixtures', 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

/** Self-metrics whose values depend on when the page was read. */
const VOLATILE = new Set([
  'nvml_exporter_sweep_duration_seconds',
  'nvml_exporter_last_sweep_success_timestamp_seconds',
  'nvml_exporter_render_duration_seconds',
  'nvml_exporter_sweeps_total',
  'nvml_exporter_pod_map_age_seconds',
]);

export function normalise(page: string): string {
  return page
    .split('\n')
    .map((line) => {
      if (line.startsWith('#') || line === '') return line;
      const name = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(line)?.[0] ?? '';
      if (name === 'nvml_exporter_build_info') {
        return line.replace(/node_version="[^"]*"/, 'node_version="VOLATILE"').replace(/nvml_library="[^"]*"/, 'nvml_library="VOLATILE"');
      }
      return VOLATILE.has(name) ? line.replace(/ [^ ]+$/, ' VOLATILE') : line;
    })
    .join('\n');
}

const uuid = (i: number) => `GPU-5d0c1a7e-${(0x1000 + i).toString(16)}-4b2a-9c3d-${(0xa00000000000 + i).toString(16)}`;

/** An H100 whose every reading is a constant (the counters that ramp by default are fixed). */
function steadyGpu(i: number, extra: Partial<SimGpu> = {}): SimGpu {
  return {
    uuid: uuid(i),
    serial: `1654922${String(10000 + i)}`,
    ...extra,
    values: {
      gpuUtil: 20 + 9 * i, memUtil: 10 + i, memUsed: (30 + i) * 2 ** 30, powerUsage: 250_000 + 11_111 * i, powerLimit: 700_000,
      energy: 2_500_000_000 + 370_000_000 * i, gpuTemp: 40 + i, memTemp: 50 + i, smClock: 1755, graphicsClock: 1755,
      nvlinkTx: 1_048_576 * (i + 1), nvlinkRx: 524_288 * (i + 1), ...extra.values,
    },
  };
}

function pod(ns: string, name: string, ids: string[], resource = 'nvidia.com/gpu'): SimPod {
  return { namespace: ns, name, containers: [{ name: 'main', devices: [{ resource, ids }] }] };
}

interface Case {
  name: string;
  what: string;
  scenario: Scenario;
  kubelet?: SimPod[];
  args?: string[];
}

const CASES: Case[] = [
  {
    name: '8-gpus',
    what: '8 whole H100s, one pod each (-k)',
    scenario: { gpus: Array.from({ length: 8 }, (_, i) => steadyGpu(i)) },
    kubelet: Array.from({ length: 8 }, (_, i) => pod('serving', `vllm-7d468b4969-${'bcdfghjk'[i]}x2p9`, [uuid(i)])),
  },
  {
    name: 'mig',
    what: 'a whole H100 and one split into MIG instances, pods on two instances (-k)',
    scenario: {
      gpus: [
        steadyGpu(0),
        steadyGpu(1, {
          migCapable: true,
          mig: [
            { profile: '3g.40gb', uuid: 'MIG-1f0e2d3c-4b5a-4697-8877-66554433aa01', values: { memUsed: 21_474_836_480 } },
            { profile: '1g.10gb', uuid: 'MIG-1f0e2d3c-4b5a-4697-8877-66554433aa02', values: { memUsed: 4_294_967_296 } },
            { profile: '1g.10gb', uuid: 'MIG-1f0e2d3c-4b5a-4697-8877-66554433aa03' },
          ],
        }),
      ],
    },
    kubelet: [
      pod('ml', 'trainer-0', ['MIG-1f0e2d3c-4b5a-4697-8877-66554433aa01'], 'nvidia.com/mig-3g.40gb'),
      pod('ml', 'notebook-0', ['MIG-1f0e2d3c-4b5a-4697-8877-66554433aa02'], 'nvidia.com/mig-1g.10gb'),
      pod('serving', 'vllm-0', [uuid(0)]),
    ],
  },
  {
    name: 'shared-gpus',
    what: 'a GPU time-sliced between two pods and one held whole (-k)',
    scenario: { gpus: [steadyGpu(0), steadyGpu(1)] },
    kubelet: [pod('serving', 'vllm-a', [`${uuid(0)}::0`]), pod('serving', 'vllm-b', [`${uuid(0)}::1`]), pod('batch', 'job-1', [uuid(1)])],
  },
  {
    name: 'profile-4.8.2',
    what: 'the 4.8.2 naming generation: the Hostname label',
    scenario: { gpus: [steadyGpu(0)] },
    args: ['--naming-profile', '4.8.2'],
  },
  {
    name: 'profile-4.9',
    what: "the 4.9 generation's defaults: unit-suffixed names in SI units, DCGM_FI_SYSTEM_DRIVER_VERSION",
    scenario: { gpus: [steadyGpu(0)] },
    args: ['--naming-profile', '4.9'],
  },
  {
    name: 'profile-4.10',
    what: "the 4.10 generation's defaults",
    scenario: { gpus: [steadyGpu(0)] },
    args: ['--naming-profile', '4.10'],
  },
  {
    name: 'transition-4.10',
    what: 'the default generation with 4.10 names served too (a dashboard migration)',
    scenario: { gpus: [steadyGpu(0)] },
    args: ['--naming-transition', '4.10'],
  },
  {
    name: 'no-kubernetes',
    what: 'two GPUs without -k, one of them fallen off the bus, an XID on the other',
    scenario: { gpus: [steadyGpu(0), steadyGpu(1, { lost: true })], xids: [{ gpu: 0, xid: 79 }] },
  },
];

for (const c of CASES) {
  t.test(`golden page ${c.name}: ${c.what}`, async (t) => {
    let args = ['-c', '300', ...(c.args ?? [])];
    let kubelet: Awaited<ReturnType<typeof startSimKubelet>> | null = null;
    const sock = c.kubelet ? socketDir() : null;
    if (c.kubelet && sock) {
      kubelet = await startSimKubelet(sock.socket, { pods: c.kubelet });
      args = [...args, '-k', '--pod-resources-kubelet-socket', sock.socket, '--pod-resources-refresh-interval', '60000'];
    }
    const exp = await startExporter({ scenario: c.scenario, args, env: { NODE_NAME: 'golden-node' } });
    t.teardown(async () => {
      await exp.stop();
      await kubelet?.stop();
      sock?.cleanup();
    });
    // settled: two sweeps after the start (NVLink rates need two), the pod map joined, the XID in
    let page: string;
    const deadline = Date.now() + 15_000;
    for (;;) {
      page = await (await fetch(`${exp.url}/metrics`)).text();
      const sweeps = Number(/^nvml_exporter_sweeps_total (\d+)$/m.exec(page)?.[1] ?? 0);
      const podsIn = !c.kubelet || /^nvml_exporter_podresources_up 1$/m.test(page) && /pod="/.test(page);
      const xidIn = !c.scenario.xids || /err_code="79"/.test(page);
      if (sweeps >= 3 && podsIn && xidIn) break;
      if (Date.now() > deadline) throw new Error(`the page did not settle: ${page.slice(0, 400)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const got = normalise(page);
    const file = join(GOLDEN, `${c.name}.prom`);
    if (UPDATE) {
      mkdirSync(GOLDEN, { recursive: true });
      writeFileSync(file, got);
      t.pass(`wrote ${file}`);
      return;
    }
    t.ok(existsSync(file), `${file} exists (npm run golden:update writes it)`);
    t.equal(got, readFileSync(file, 'utf8'), `the whole page equals ${c.name}.prom`);
  });
}

t.test('the normaliser keeps everything but time-dependent values', async (t) => {
  const page = [
    '# HELP nvml_exporter_sweeps_total NVML sweeps started.',
    'nvml_exporter_sweeps_total 17',
    'nvml_exporter_gpus 8',
    'nvml_exporter_build_info{version="0.1.0",node_version="v20.1.0",nvml_library="/x/nvml_sim.so",driver="580.65.06"} 1',
    'DCGM_FI_DEV_GPU_UTIL{gpu="0"} 20',
  ].join('\n');
  t.equal(normalise(page), [
    '# HELP nvml_exporter_sweeps_total NVML sweeps started.',
    'nvml_exporter_sweeps_total VOLATILE',
    'nvml_exporter_gpus 8',
    'nvml_exporter_build_info{version="0.1.0",node_version="VOLATILE",nvml_library="VOLATILE",driver="580.65.06"} 1',
    'DCGM_FI_DEV_GPU_UTIL{gpu="0"} 20',
  ].join('\n'));
});
