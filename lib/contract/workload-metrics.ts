// The metric types a workload scales on, read from one GPU's (or MIG instance's) readings, and the
// per-workload values of one node's document. The KEDA external scaler (lib/scaler/) and the
// exporter's /api/v1/workload endpoint (read by KEDA's built-in metrics-api scaler) share these
// definitions, so both paths scale on the same numbers.
import type { GpusDocument, PodAttribution } from './gpus-document.js';

/** Metric type → the DCGM field it reads. */
export const NAMED_METRICS = {
  gpu_utilization: 'DCGM_FI_DEV_GPU_UTIL',
  memory_utilization: 'DCGM_FI_DEV_MEM_COPY_UTIL',
  memory_used_mib: 'DCGM_FI_DEV_FB_USED',
  memory_used_percent: 'DCGM_FI_DEV_FB_USED',
  power_draw: 'DCGM_FI_DEV_POWER_USAGE',
  temperature: 'DCGM_FI_DEV_GPU_TEMP',
} as const;
export type NamedMetric = keyof typeof NAMED_METRICS;

/**
 * One unit's value of a field; `percentOfFramebuffer` computes memory_used_percent as
 * FB_USED / (FB_USED + FB_FREE + FB_RESERVED) × 100. Undefined when the unit has no such reading.
 */
export function unitReading(readings: Record<string, number>, field: string, percentOfFramebuffer: boolean): number | undefined {
  if (percentOfFramebuffer) {
    const used = readings.DCGM_FI_DEV_FB_USED;
    const free = readings.DCGM_FI_DEV_FB_FREE;
    const reserved = readings.DCGM_FI_DEV_FB_RESERVED ?? 0;
    if (!Number.isFinite(used) || !Number.isFinite(free)) return undefined;
    const total = used + free + (Number.isFinite(reserved) ? reserved : 0);
    return total > 0 ? (used / total) * 100 : undefined;
  }
  const v = readings[field];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Pods of a workload: those of `namespace` whose name starts with `<workload>-` (a Deployment's or StatefulSet's pods). */
export function workloadPodTest(namespace: string, workload: string): (p: PodAttribution) => boolean {
  const prefix = `${workload}-`;
  return (p) => p.namespace === namespace && p.pod.startsWith(prefix);
}

export interface MetricValues {
  /** units (GPUs or MIG instances) of the workload with a reading of this metric */
  count: number;
  sum: number;
  /** sum / count, 0 with no units */
  average: number;
  /** 0 with no units */
  max: number;
}

export interface WorkloadValues {
  namespace: string;
  workload: string;
  hostname: string;
  /** units (GPUs or MIG instances) attributed to the workload on this node */
  units: number;
  metrics: Record<NamedMetric, MetricValues>;
}

/** The workload's GPUs on this node: per metric type, sum, count, average and max over its units. Lost GPUs are left out. */
export function workloadValues(doc: GpusDocument, namespace: string, workload: string): WorkloadValues {
  const mine = workloadPodTest(namespace, workload);
  const units: Record<string, number>[] = [];
  for (const g of doc.gpus) {
    if (g.lost) continue;
    if (g.pods.some(mine)) units.push(g.readings);
    for (const m of g.mig) if (m.pods.some(mine)) units.push(m.readings);
  }
  const metrics = {} as Record<NamedMetric, MetricValues>;
  for (const [type, field] of Object.entries(NAMED_METRICS) as [NamedMetric, string][]) {
    let count = 0;
    let sum = 0;
    let max = 0;
    for (const r of units) {
      const v = unitReading(r, field, type === 'memory_used_percent');
      if (v === undefined) continue;
      count++;
      sum += v;
      max = count === 1 ? v : Math.max(max, v);
    }
    metrics[type] = { count, sum, average: count > 0 ? sum / count : 0, max };
  }
  return { namespace, workload, hostname: doc.hostname, units: units.length, metrics };
}
