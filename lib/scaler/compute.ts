// The arithmetic (pure): which GPUs and MIG instances belong to the workload, their readings, the
// aggregate that decides activation, and the value that makes the HPA's AverageValue rule give the
// right replica count. docs/keda-scaler.md works through an example.
import type { GpusDocument, PodAttribution } from '../contract/gpus-document.js';
import { unitReading } from '../contract/workload-metrics.js';
import type { ScalerQuery } from './query.js';

export interface Unit {
  hostname: string;
  gpu: number;
  uuid: string;
  /** MIG GPU-instance id, or null for a whole GPU */
  gpuInstanceId: number | null;
  value: number;
}

export interface ScalerResult {
  /** units attributed to the workload that have a reading for the metric */
  units: Unit[];
  /** avg / max / min / sum of the units' values (0 with no units): compared with activationThreshold */
  aggregate: number;
  /** what GetMetrics returns (0 with no units) */
  metricValue: number;
  active: boolean;
}

/** Which pod names of the query's namespace belong to the workload (default: the query's matcher). */
export type PodFilter = (podName: string) => boolean;

function podMatches(p: PodAttribution, q: ScalerQuery, filter: PodFilter): boolean {
  return p.namespace === q.namespace && filter(p.pod);
}

/** The distinct pod names of the query's namespace in the documents (what a PodFilter is asked about). */
export function podNamesIn(docs: readonly GpusDocument[], namespace: string): string[] {
  const names = new Set<string>();
  const add = (pods: readonly PodAttribution[]) => {
    for (const p of pods) if (p.namespace === namespace) names.add(p.pod);
  };
  for (const doc of docs) {
    for (const g of doc.gpus) {
      add(g.pods);
      for (const mi of g.mig ?? []) add(mi.pods);
    }
  }
  return [...names];
}

function reading(readings: Record<string, number>, q: ScalerQuery): number | undefined {
  return unitReading(readings, q.field, q.percentOfFramebuffer);
}

/**
 * The units of the workload on the given nodes: every GPU (or MIG instance, which counts as its own
 * unit) attributed to at least one matching pod, once however many matching pods share it. Lost GPUs
 * and units without a reading for the metric are left out.
 */
export function selectUnits(docs: readonly GpusDocument[], q: ScalerQuery, filter: PodFilter = (n) => q.podRule.matcher.test(n)): Unit[] {
  const units: Unit[] = [];
  for (const doc of docs) {
    for (const g of doc.gpus) {
      if (g.lost) continue;
      if (q.gpuIndex >= 0 && g.gpu !== q.gpuIndex) continue;
      if (g.pods.some((p) => podMatches(p, q, filter))) {
        const v = reading(g.readings, q);
        if (v !== undefined) units.push({ hostname: doc.hostname, gpu: g.gpu, uuid: g.uuid, gpuInstanceId: null, value: v });
      }
      for (const mi of g.mig ?? []) {
        if (!mi.pods.some((p) => podMatches(p, q, filter))) continue;
        const v = reading(mi.readings, q);
        if (v !== undefined) {
          units.push({ hostname: doc.hostname, gpu: g.gpu, uuid: mi.uuid, gpuInstanceId: mi.gpuInstanceId, value: v });
        }
      }
    }
  }
  return units;
}

export function aggregate(values: readonly number[], agg: ScalerQuery['aggregation']): number {
  if (values.length === 0) return 0;
  switch (agg) {
    case 'max':
      return Math.max(...values);
    case 'min':
      return Math.min(...values);
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'avg':
      return values.reduce((a, b) => a + b, 0) / values.length;
  }
}

/**
 * The value for KEDA's default AverageValue target, where the HPA computes
 * desired = ceil(value / targetValue). With n units (one GPU per replica assumed):
 *  - avg: Σ values = n × avg  → desired = ceil(n × avg / target): the replicas that bring the
 *    average per GPU to target;
 *  - max: n × max → the replicas that bring the busiest GPU to target if load spreads evenly;
 *  - min: n × min → the replicas that bring the least busy GPU to target;
 *  - sum: Σ values → target is the share of the workload's total each replica should carry.
 */
export function metricValueFor(agg: ScalerQuery['aggregation'], aggregateValue: number, n: number): number {
  if (n === 0) return 0;
  return agg === 'sum' ? aggregateValue : aggregateValue * n;
}

export function compute(docs: readonly GpusDocument[], q: ScalerQuery, filter?: PodFilter): ScalerResult {
  const units = selectUnits(docs, q, filter);
  const agg = aggregate(
    units.map((u) => u.value),
    q.aggregation,
  );
  const metricValue = metricValueFor(q.aggregation, agg, units.length);
  return { units, aggregate: agg, metricValue, active: units.length > 0 && agg > q.activationThreshold };
}

/** The HPA's External/AverageValue rule (interfaces §B.4), for tests, benchmarks and docs. */
export function hpaDesiredReplicas(usage: number, target: number, currentReplicas: number, tolerance = 0.1): number {
  if (currentReplicas > 0) {
    const ratio = usage / (target * currentReplicas);
    if (Math.abs(1 - ratio) <= tolerance) return currentReplicas;
  }
  return Math.ceil(usage / target);
}

/** Integer form for KEDA < 2.17 (which reads only the int64 fields): rounded, never negative. */
export function toInt(v: number): number {
  return Number.isFinite(v) && v > 0 ? Math.round(v) : 0;
}
