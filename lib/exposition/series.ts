// The label sets of one render: for every GPU or MIG instance, the identity labels
// (gpu, UUID, pci_bus_id, device, modelName, [GPU_I_PROFILE, GPU_I_ID], Hostname, label rows)
// built once, and one variant per attributed pod. Attributes (container, namespace, pod, vgpu and
// a family's own, e.g. err_code/err_msg) come last, sorted by name, as dcgm-exporter writes them.
import type { DeviceSample, MigDeviceSample, SweepResult } from '../nvml/types.js';
import type { PodAttribution, PodMap } from '../contract/pods.js';
import type { SelectedLabel } from '../fields/counters.js';
import { escapeLabelValue } from './text-format.js';

export type Pair = readonly [string, string];

export interface SeriesOptions {
  hostname: string;
  /** the host label's spellings: one, or both `Hostname` and `hostname` in a naming transition */
  hostnameLabels: readonly string[];
  replaceBlanksInModelName: boolean;
  useOldNamespace: boolean;
  sharedGpus: 'per-pod' | 'single-pod';
}

/** One GPU or MIG instance: its identity labels and one entry per pod series. */
export interface Target {
  device: DeviceSample;
  mig: MigDeviceSample | null;
  /** `{gpu="0",…,DCGM_FI_DRIVER_VERSION="…"` — no closing brace */
  head: string;
  variants: readonly Variant[];
}

export interface Variant {
  /** pod attributes, sorted by name */
  pairs: readonly Pair[];
  /** the complete label set `{…}` for a family without attributes of its own */
  labels: string;
}

function pairsText(pairs: readonly Pair[]): string {
  let s = '';
  for (const [k, v] of pairs) s += `,${k}="${escapeLabelValue(v)}"`;
  return s;
}

export function byName(a: Pair, b: Pair): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** The complete label set for head + attributes (sorted here). */
export function labelSet(head: string, pairs: readonly Pair[]): string {
  return `${head}${pairsText([...pairs].sort(byName))}}`;
}

function podPairs(a: PodAttribution, opts: SeriesOptions, withVgpu: boolean): Pair[] {
  const pairs: Pair[] = opts.useOldNamespace
    ? [['container_name', a.container], ['pod_name', a.pod], ['pod_namespace', a.namespace]]
    : [['container', a.container], ['namespace', a.namespace], ['pod', a.pod]];
  if (withVgpu && a.vgpu !== undefined) pairs.push(['vgpu', a.vgpu]);
  // DRA's and the Kubernetes API's labels (their names are valid and distinct from ours: the
  // kubernetes room checks that)
  if (a.labels) for (const l of a.labels) pairs.push(l);
  return pairs.sort(byName);
}

function variants(head: string, pods: readonly PodAttribution[] | undefined, opts: SeriesOptions): Variant[] {
  if (!pods || pods.length === 0) return [{ pairs: [], labels: `${head}}` }];
  const list = opts.sharedGpus === 'single-pod' ? [pods[0]!] : pods; // the first, as matching keeps
  const out: Variant[] = [];
  const seen = new Set<string>();
  for (const a of list) {
    const pairs = podPairs(a, opts, opts.sharedGpus === 'per-pod');
    const labels = `${head}${pairsText(pairs)}}`;
    if (seen.has(labels)) continue; // never two samples with one label set
    seen.add(labels);
    out.push({ pairs, labels });
  }
  return out;
}

export function buildTarget(
  sweep: SweepResult,
  d: DeviceSample,
  m: MigDeviceSample | null,
  labelRows: readonly SelectedLabel[],
  pods: PodMap | null,
  opts: SeriesOptions,
  /** the UUIDs whose pods this target carries (default: the MIG device's, else the GPU's) */
  podUuids?: readonly string[],
): Target {
  const model = opts.replaceBlanksInModelName ? d.name.replace(/ /g, '-') : d.name;
  let head =
    `{gpu="${d.index}",${opts.useOldNamespace ? 'uuid' : 'UUID'}="${escapeLabelValue(d.uuid)}"` +
    `,pci_bus_id="${escapeLabelValue(d.pciBusId)}",device="nvidia${d.index}",modelName="${escapeLabelValue(model)}"`;
  if (m) head += `,GPU_I_PROFILE="${escapeLabelValue(m.profile)}",GPU_I_ID="${m.gpuInstanceId ?? ''}"`;
  if (opts.hostname !== '') for (const l of opts.hostnameLabels) head += `,${l}="${escapeLabelValue(opts.hostname)}"`;
  for (const row of labelRows) {
    const v = row.field.value(sweep, d, m);
    if (v !== undefined) head += `,${row.name}="${escapeLabelValue(v)}"`;
  }
  const uuids = podUuids ?? [m ? m.uuid : d.uuid];
  const held = uuids.length === 1 ? pods?.byUuid.get(uuids[0]!) : uuids.flatMap((u) => pods?.byUuid.get(u) ?? []);
  return { device: d, mig: m, head, variants: variants(head, held, opts) };
}
