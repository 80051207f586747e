// The JSON document served at /api/v1/gpus: the current snapshot for people and for the KEDA
// scaler, which pulls it from every exporter. Readings are keyed by DCGM field name, in the same
// units as /metrics. The types and the JSON Schema below describe the same document: the server
// serialises with the schema, the scaler validates every pulled document against it (Ajv), so a
// change to one without the other fails the contract test. Version the document when it changes
// shape in a way an older reader would misread.
import { Ajv, type ValidateFunction } from 'ajv';
import type { PodAttribution } from './pods.js';

export type { PodAttribution };

export interface MigApiEntry {
  uuid: string;
  gpuInstanceId: number | null;
  computeInstanceId: number | null;
  profile: string;
  readings: Record<string, number>;
  pods: PodAttribution[];
}

export interface GpuApiEntry {
  gpu: number;
  uuid: string;
  pciBusId: string;
  device: string;
  modelName: string;
  serial: string | null;
  migEnabled: boolean | null;
  /** true when the GPU did not answer the last sweep */
  lost: boolean;
  readings: Record<string, number>;
  pods: PodAttribution[];
  mig: MigApiEntry[];
}

export interface GpusDocument {
  apiVersion: 1;
  hostname: string;
  /** ISO time of the sweep the readings come from */
  timestamp: string;
  /** seconds since that sweep finished */
  ageSeconds: number;
  /** true when the last sweep is older than the freshness bound */
  stale: boolean;
  driverVersion: string;
  /** whether pod attribution is enabled and its last refresh succeeded */
  podResources: { enabled: boolean; up: boolean; ageSeconds: number | null };
  gpus: GpuApiEntry[];
}

/**
 * Bounds of a document. NVML indexes at most 64 GPUs and a GPU has at most 7 MIG devices today;
 * the pod bound leaves room for 48-slot MPS sharing. A document past them is not ours.
 */
export const GPUS_DOCUMENT_LIMITS = {
  gpus: 64,
  migPerGpu: 64,
  podsPerDevice: 256,
  readingsPerDevice: 1024,
} as const;

const str = (maxLength: number) => ({ type: 'string', maxLength }) as const;
const nullableInt = { anyOf: [{ type: 'integer', minimum: 0, maximum: 4294967295 }, { type: 'null' }] } as const;

const podAttributionSchema = {
  type: 'object',
  required: ['namespace', 'pod', 'container'],
  properties: {
    namespace: str(253),
    pod: str(253),
    container: str(253),
    vgpu: str(32),
    resourceName: str(253),
  },
} as const;

const readingsSchema = {
  type: 'object',
  maxProperties: GPUS_DOCUMENT_LIMITS.readingsPerDevice,
  propertyNames: { maxLength: 128 },
  additionalProperties: { type: 'number' },
} as const;

const podsSchema = { type: 'array', maxItems: GPUS_DOCUMENT_LIMITS.podsPerDevice, items: podAttributionSchema } as const;

const migSchema = {
  type: 'object',
  required: ['uuid', 'gpuInstanceId', 'computeInstanceId', 'profile', 'readings', 'pods'],
  properties: {
    uuid: str(96),
    gpuInstanceId: nullableInt,
    computeInstanceId: nullableInt,
    profile: str(96),
    readings: readingsSchema,
    pods: podsSchema,
  },
} as const;

const gpuSchema = {
  type: 'object',
  required: ['gpu', 'uuid', 'pciBusId', 'device', 'modelName', 'serial', 'migEnabled', 'lost', 'readings', 'pods', 'mig'],
  properties: {
    gpu: { type: 'integer', minimum: 0, maximum: 63 },
    uuid: str(96),
    pciBusId: str(32),
    device: str(32),
    modelName: str(96),
    serial: { anyOf: [str(96), { type: 'null' }] },
    migEnabled: { anyOf: [{ type: 'boolean' }, { type: 'null' }] },
    lost: { type: 'boolean' },
    readings: readingsSchema,
    pods: podsSchema,
    mig: { type: 'array', maxItems: GPUS_DOCUMENT_LIMITS.migPerGpu, items: migSchema },
  },
} as const;

/** JSON Schema (draft-07) of GpusDocument. Unknown properties are allowed (a newer exporter may add some). */
export const GPUS_DOCUMENT_SCHEMA = {
  $id: 'nvml-exporter/gpus-document/v1',
  type: 'object',
  required: ['apiVersion', 'hostname', 'timestamp', 'ageSeconds', 'stale', 'driverVersion', 'podResources', 'gpus'],
  properties: {
    apiVersion: { const: 1 },
    hostname: str(253),
    timestamp: str(64),
    ageSeconds: { type: 'number', minimum: 0 },
    stale: { type: 'boolean' },
    driverVersion: str(96),
    podResources: {
      type: 'object',
      required: ['enabled', 'up', 'ageSeconds'],
      properties: {
        enabled: { type: 'boolean' },
        up: { type: 'boolean' },
        ageSeconds: { anyOf: [{ type: 'number', minimum: 0 }, { type: 'null' }] },
      },
    },
    gpus: { type: 'array', maxItems: GPUS_DOCUMENT_LIMITS.gpus, items: gpuSchema },
  },
} as const;

let validator: ValidateFunction<GpusDocument> | null = null;

/** Validates a parsed document; the error names the first offending path. */
export function validateGpusDocument(v: unknown): { ok: true; doc: GpusDocument } | { ok: false; error: string } {
  validator ??= new Ajv({ allErrors: false, strict: true }).compile<GpusDocument>(GPUS_DOCUMENT_SCHEMA);
  if (validator(v)) return { ok: true, doc: v };
  const e = validator.errors?.[0];
  return { ok: false, error: e ? `${e.instancePath || '/'} ${e.message ?? 'is invalid'}` : 'is not a GPUs document' };
}
