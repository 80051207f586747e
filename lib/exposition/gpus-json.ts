// The /api/v1/gpus document: every GPU and MIG instance of a snapshot with its readings keyed by
// DCGM field name in /metrics units, for every catalogue field the device provides (not only the
// counters-file selection), and the pods holding it. Pure: the caller passes the clock.
import type { Snapshot } from '../collect/types.js';
import type { PodMap } from '../contract/pods.js';
import type { DeviceSample } from '../nvml/types.js';
import { VALUE_FIELDS } from '../fields/index.js';
import type { GpuApiEntry, GpusDocument, MigApiEntry, PodAttribution } from '../contract/gpus-document.js';

export interface GpusDocumentInput {
  snapshot: Snapshot;
  pods: PodMap | null;
  hostname: string;
  /** ms since epoch */
  now: number;
  /** a sweep older than this is reported as stale */
  staleAfterMs: number;
  podResources: { enabled: boolean; up: boolean; ageSeconds: number | null };
  replaceBlanksInModelName?: boolean;
}

function podsOf(pods: PodMap | null, uuid: string): PodAttribution[] {
  return (pods?.byUuid.get(uuid) ?? []).map((a) => ({ ...a }));
}

function deviceReadings(d: DeviceSample, snap: Snapshot): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of VALUE_FIELDS) {
    const v = f.device(d, snap);
    if (v !== undefined && Number.isFinite(v)) out[f.name] = v;
  }
  return out;
}

export function buildGpusDocument(input: GpusDocumentInput): GpusDocument {
  const { snapshot: snap, pods } = input;
  const sweep = snap.sweep;
  const ageMs = Math.max(0, input.now - sweep.timestamp);
  const gpus: GpuApiEntry[] = [...sweep.devices]
    .sort((a, b) => a.index - b.index)
    .map((d) => {
      const lost = d.lostCode !== null;
      const mig: MigApiEntry[] = lost
        ? []
        : d.mig.map((m) => {
            const readings: Record<string, number> = {};
            for (const f of VALUE_FIELDS) {
              const v = f.mig?.(m, d, snap);
              if (v !== undefined && Number.isFinite(v)) readings[f.name] = v;
            }
            return {
              uuid: m.uuid, gpuInstanceId: m.gpuInstanceId, computeInstanceId: m.computeInstanceId,
              profile: m.profile, readings, pods: podsOf(pods, m.uuid),
            };
          });
      return {
        gpu: d.index,
        uuid: d.uuid,
        pciBusId: d.pciBusId,
        device: `nvidia${d.index}`,
        modelName: input.replaceBlanksInModelName ? d.name.replace(/ /g, '-') : d.name,
        serial: d.serial,
        migEnabled: d.migEnabled,
        lost,
        readings: lost ? {} : deviceReadings(d, snap),
        pods: podsOf(pods, d.uuid),
        mig,
      };
    });
  return {
    apiVersion: 1,
    hostname: input.hostname,
    timestamp: new Date(sweep.timestamp).toISOString(),
    ageSeconds: ageMs / 1000,
    stale: ageMs > input.staleAfterMs,
    driverVersion: sweep.driverVersion,
    podResources: { ...input.podResources },
    gpus,
  };
}
