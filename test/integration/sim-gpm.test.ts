// The simulated NVML's GPM through its C ABI (the sim driver dlopens the library like the addon):
// the versioned support query, sample allocation, samples of a GPU, a compute instance and a GPU
// instance, the metrics between two samples (versions, counts, the 100 ms rule, mismatched
// entities), per-metric outcomes, and the legacy (R470) library without any GPM symbol.
import { join } from 'node:path';
import t from 'tap';
import { writeScenario } from '../../lib/nvml/simulation.js';
import type { Scenario } from '../../lib/nvml/scenario.js';
import { dynamicNvmlSymbols, simHarness, work, type Line } from './sim-harness.js';
import { simulatedLibraryPath } from '../../lib/nvml/simulation.js';

const sim = simHarness();
if (sim.missingGcc) {
  t.fail(sim.missingGcc);
} else {
  let n = 0;
  const run = (s: Scenario, cmds: string[]) => {
    const p = join(work, `gpm-${n++}.scenario`);
    writeScenario(p, s);
    return sim.run(['nvmlInit_v2', 'nvmlDeviceGetHandleByIndex_v2 0', 'nvmlDeviceGetHandleByIndex_v2 1', ...cmds], { NVML_SIM_SCENARIO: p }).lines.slice(3);
  };
  const metrics = (l: Line) => l.metrics as [number, number, number | 'NaN'][];
  const scenario: Scenario = {
    gpus: [
      { name: 'NVIDIA H100 80GB HBM3', gpm: { graphicsUtil: 50, pcieTxPerSec: 1000, smUtil: 'nan', fp64Util: { error: 4 } },
        mig: [{ profile: '3g.40gb', gpuInstanceId: 1, gpm: { graphicsUtil: 70, dramBwUtil: 22 } }] },
      { name: 'NVIDIA A100-SXM4-80GB' },
    ],
  };

  t.test('support query: versioned, per GPU, a MIG handle answers for its GPU', async (t) => {
    const l = run(scenario, ['nvmlGpmQueryDeviceSupport g0 1', 'nvmlGpmQueryDeviceSupport g1 1', 'nvmlGpmQueryDeviceSupport g0 2',
      'nvmlDeviceGetMigDeviceHandleByIndex g0 0', 'nvmlGpmQueryDeviceSupport m0.0 1', 'nvmlGpmQueryDeviceSupport null 1']);
    t.same([l[0]!.ret, l[0]!.supported], [0, 1], 'H100: supported');
    t.same([l[1]!.ret, l[1]!.supported], [0, 0], 'A100: not supported');
    t.equal(l[2]!.ret, 25, 'version 2: ARGUMENT_VERSION_MISMATCH');
    t.same([l[4]!.ret, l[4]!.supported], [0, 1]);
    t.equal(l[5]!.ret, 2, 'a NULL handle: INVALID_ARGUMENT');
  });

  t.test('two GPU samples ≥ 100 ms apart: the scenario values; NaN and errors per metric', async (t) => {
    const l = run(scenario, ['nvmlGpmSampleAlloc 0', 'nvmlGpmSampleAlloc 1', 'nvmlGpmSampleGet g0 0', 'sleep 150', 'nvmlGpmSampleGet g0 1',
      'nvmlGpmMetricsGet 0 1 1 1,20,2,11,100,7', 'nvmlGpmMetricsGet 1 0 1 1', 'nvmlGpmMetricsGet 0 1 2 1',
      'nvmlGpmSampleGet g1 0', 'nvmlGpmSampleFree 0', 'nvmlGpmSampleFree 0']);
    t.same(l.slice(0, 5).map((x) => x.ret), [0, 0, 0, undefined, 0]);
    t.equal(l[5]!.ret, 0);
    t.same(metrics(l[5]!), [[1, 0, 50], [20, 0, 1000], [2, 0, 'NaN'], [11, 4, 0], [100, 3, 0], [7, 0, 17.5]],
      'graphics 50 %, PCIe 1000 MiB/s, SM NaN, FP64 NO_PERMISSION, C2C NOT_SUPPORTED, HMMA the default share of the load (35 × 0.5)');
    t.equal(l[6]!.ret, 2, 'samples in the wrong order: INVALID_ARGUMENT');
    t.equal(l[7]!.ret, 25, 'metrics-get version 2: ARGUMENT_VERSION_MISMATCH');
    t.equal(l[8]!.ret, 3, 'a sample of the A100: NOT_SUPPORTED');
    t.same([l[9]!.ret, l[10]!.ret], [0, 2], 'a freed sample is no longer a sample');
  });

  t.test('the 100 ms rule, the header\'s metric count, samples of different entities', async (t) => {
    const many = Array.from({ length: 99 }, () => '1').join(',');
    const l = run({ ...scenario, gpmMetricMax: 98 }, ['nvmlGpmSampleAlloc 0', 'nvmlGpmSampleAlloc 1', 'nvmlGpmSampleAlloc 2',
      'nvmlGpmSampleGet g0 0', 'nvmlGpmSampleGet g0 1', 'nvmlGpmMetricsGet 0 1 1 1', 'sleep 150', 'nvmlGpmSampleGet g0 1',
      `nvmlGpmMetricsGet 0 1 1 ${many}`, 'nvmlGpmMigSampleGet g0 1 2', 'nvmlGpmMetricsGet 0 2 1 1']);
    t.equal(l[5]!.ret, 2, 'samples under 100 ms apart: INVALID_ARGUMENT (the simulator\'s answer)');
    t.equal(l[8]!.ret, 2, '99 metrics with a 98-entry header: INVALID_ARGUMENT');
    t.equal(l[9]!.ret, 0);
    t.equal(l[10]!.ret, 2, 'a GPU sample and a GPU-instance sample are not a pair');
  });

  t.test('MIG: a GPU instance through the parent, a compute instance through its handle', async (t) => {
    const l = run(scenario, ['nvmlDeviceGetMigDeviceHandleByIndex g0 0', 'nvmlGpmSampleAlloc 0', 'nvmlGpmSampleAlloc 1', 'nvmlGpmSampleAlloc 2',
      'nvmlGpmSampleAlloc 3', 'nvmlGpmMigSampleGet g0 1 0', 'nvmlGpmSampleGet m0.0 2', 'sleep 150', 'nvmlGpmMigSampleGet g0 1 1',
      'nvmlGpmSampleGet m0.0 3', 'nvmlGpmMetricsGet 0 1 1 1,10,20', 'nvmlGpmMetricsGet 2 3 1 1,10', 'nvmlGpmMigSampleGet g0 5 0',
      'nvmlGpmMigSampleGet m0.0 1 0', 'nvmlGpmMigSampleGet g1 0 0']);
    t.same(metrics(l[10]!), [[1, 0, 70], [10, 0, 22], [20, 3, 0]], 'GPU instance: its ratios and DRAM; no PCIe at that level');
    t.same(metrics(l[11]!), [[1, 0, 70], [10, 3, 0]], 'compute instance: its ratios; no DRAM at that level');
    t.equal(l[12]!.ret, 6, 'a GPU instance that does not exist (no compute instance): NOT_FOUND');
    t.equal(l[13]!.ret, 2, 'a MIG handle instead of the parent: INVALID_ARGUMENT');
    t.equal(l[14]!.ret, 3, 'the A100 (no GPM, no MIG): NOT_SUPPORTED');
  });

  t.test('the R470-era legacy library exports no GPM symbol', async (t) => {
    const legacy = dynamicNvmlSymbols(simulatedLibraryPath(true)).filter((s) => s.startsWith('nvmlGpm'));
    t.same(legacy, []);
    const current = dynamicNvmlSymbols(simulatedLibraryPath()).filter((s) => s.startsWith('nvmlGpm'));
    t.same(current, ['nvmlGpmMetricsGet', 'nvmlGpmMigSampleGet', 'nvmlGpmQueryDeviceSupport', 'nvmlGpmSampleAlloc', 'nvmlGpmSampleFree', 'nvmlGpmSampleGet']);
  });
}
