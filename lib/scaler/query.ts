// Trigger metadata → a validated query (pure). The metadata is the `metadata` block of a KEDA
// `external` trigger, passed verbatim in ScaledObjectRef.scalerMetadata. Parameters follow the
// keda-gpu-scaler README so its ScaledObjects keep working; docs/keda-scaler.md lists them all.
// The metadata is untrusted (any tenant that can create a ScaledObject): its size is bounded
// (METADATA_LIMITS) and podNamePattern is compiled for linear-time matching (pod-pattern.ts).
import { NAMED_METRICS, type NamedMetric } from '../contract/workload-metrics.js';
import { compilePodPattern, deploymentMatcher, PodPatternError, type PodNameMatcher } from './pod-pattern.js';

export type Aggregation = 'avg' | 'max' | 'min' | 'sum';

// The metric names of the seed scaler (shared with the exporter's /api/v1/workload); anything else must be a DCGM field name.
export { NAMED_METRICS, type NamedMetric };

/** Default targets of the named metrics when neither targetValue nor a profile gives one. */
const DEFAULT_TARGET: Record<NamedMetric, number> = {
  gpu_utilization: 80,
  memory_utilization: 80,
  memory_used_mib: 80,
  memory_used_percent: 80,
  power_draw: 80,
  temperature: 80,
};

export interface Profile {
  metricType: NamedMetric;
  targetValue: number;
  activationThreshold: number;
}

/** Workload profiles; docs/keda-scaler.md explains each choice. */
export const PROFILES: Record<string, Profile> = {
  // vLLM reserves ~90 % of GPU memory at start-up whatever the load: memory % is flat, SM busy is not.
  'vllm-inference': { metricType: 'gpu_utilization', targetValue: 75, activationThreshold: 5 },
  'triton-inference': { metricType: 'gpu_utilization', targetValue: 75, activationThreshold: 10 },
  // training keeps GPUs saturated; activation 0 so any work keeps it active (no scale-to-zero by design)
  training: { metricType: 'gpu_utilization', targetValue: 90, activationThreshold: 0 },
  // caching allocators keep memory after a batch ends, so memory % would hold replicas up
  batch: { metricType: 'gpu_utilization', targetValue: 70, activationThreshold: 1 },
};

export interface ScalerQuery {
  namespace: string;
  /** the rule pods must match, and how it was given (for messages and docs) */
  podRule: { kind: 'deployment' | 'podNamePattern'; source: string; matcher: PodNameMatcher };
  metricType: string;
  /** the DCGM field read from each GPU / MIG instance */
  field: string;
  /** memory_used_percent: FB_USED / (FB_USED + FB_FREE + FB_RESERVED) × 100 */
  percentOfFramebuffer: boolean;
  targetValue: number;
  activationThreshold: number;
  aggregation: Aggregation;
  /** -1 = all GPUs; else only GPUs with that index on each node */
  gpuIndex: number;
  pollIntervalSeconds: number;
  metricName: string;
  profile: string | null;
}

/** A trigger parameter with a bad value; the gRPC layer answers INVALID_ARGUMENT with the message. */
export class ScalerParamError extends Error {
  readonly code = 'INVALID_PARAMETER';
  constructor(
    readonly param: string,
    readonly value: string,
    readonly expected: string,
  ) {
    super(`invalid trigger metadata ${param}=${JSON.stringify(value)}: expected ${expected}`);
    this.name = 'ScalerParamError';
  }
}

export const KNOWN_KEYS = [
  'namespace', 'deployment', 'podNamePattern', 'metricType', 'targetValue', 'activationThreshold',
  'aggregation', 'gpuIndex', 'pollIntervalSeconds', 'targetGpuUtilization', 'targetMemoryUtilization',
  'profile', 'metricName',
] as const;

/** Keys that KEDA or the seed scaler put in the metadata and that this scaler does not use. */
const IGNORED_KEYS = new Set(['scalerAddress', 'enableTLS', 'unsafeSsl', 'vllmEndpoint', 'tritonEndpoint']);

const DCGM_NAME = /^DCGM_FI_[A-Z0-9_]+$/;

export interface ParseOptions {
  /**
   * When given, a DCGM field name is resolved through the exporter's catalogue: the name the GPU
   * document keys that served field by (its first name: `DCGM_FI_DEV_GPU_UTIL_RATIO` and
   * `DCGM_FI_DEV_GPU_UTIL` name one field, and a reading is found under one of them), or undefined
   * for a name that is not a served value field.
   */
  fieldName?: (name: string) => string | undefined;
}

function num(param: string, raw: string, expected: string, ok: (n: number) => boolean): number {
  const s = raw.trim();
  const n = s === '' ? NaN : Number(s);
  if (!Number.isFinite(n) || !ok(n)) throw new ScalerParamError(param, raw, expected);
  return n;
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Lower-case, [a-z0-9-] only, no leading/trailing/double dashes: usable as an HPA metric name. */
export function sanitizeMetricName(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 200);
}

/**
 * The metadata KEDA sends, with `<key>FromEnv` (already resolved by KEDA to the env var's value)
 * standing in for `<key>` when `<key>` itself is absent, and KEDA's own keys dropped.
 */
/**
 * Bounds of the trigger metadata: a real trigger has a dozen short parameters. Past these it is
 * refused before anything is parsed (and before it could be cached).
 */
export const METADATA_LIMITS = { entries: 32, keyChars: 64, valueChars: 1024, totalBytes: 8192 } as const;

/** Throws ScalerParamError when the ref's strings or metadata exceed METADATA_LIMITS. */
export function checkMetadataSize(ref: { name?: string; namespace?: string; scalerMetadata?: Record<string, string> }): void {
  const meta = ref.scalerMetadata ?? {};
  const entries = Object.entries(meta);
  const L = METADATA_LIMITS;
  if ((ref.name ?? '').length > 253) throw new ScalerParamError('name', (ref.name ?? '').slice(0, 64) + '…', 'a ScaledObject name of at most 253 characters');
  if ((ref.namespace ?? '').length > 253) throw new ScalerParamError('namespace', (ref.namespace ?? '').slice(0, 64) + '…', 'a namespace of at most 253 characters');
  if (entries.length > L.entries) throw new ScalerParamError('scalerMetadata', `${entries.length} entries`, `at most ${L.entries} metadata entries`);
  let total = 0;
  for (const [k, v] of entries) {
    if (k.length > L.keyChars) throw new ScalerParamError(k.slice(0, 64) + '…', '', `a metadata key of at most ${L.keyChars} characters`);
    if (v.length > L.valueChars) throw new ScalerParamError(k, v.slice(0, 64) + '…', `a value of at most ${L.valueChars} characters`);
    total += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (total > L.totalBytes) throw new ScalerParamError('scalerMetadata', `${total} bytes`, `at most ${L.totalBytes} bytes of metadata in all`);
}

function effectiveMetadata(meta: Record<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  const known = new Set<string>(KNOWN_KEYS);
  for (const [k, v] of Object.entries(meta)) {
    if (IGNORED_KEYS.has(k)) continue;
    if (k.endsWith('FromEnv')) {
      const base = k.slice(0, -'FromEnv'.length);
      if (known.has(base) && !(base in meta)) out.set(base, v);
      continue;
    }
    if (!known.has(k)) {
      throw new ScalerParamError(k, v, `a known parameter (${KNOWN_KEYS.join(', ')}); remove or rename "${k}"`);
    }
    out.set(k, v);
  }
  return out;
}

export function parseQuery(
  ref: { name: string; namespace: string; scalerMetadata: Record<string, string> },
  opts: ParseOptions = {},
): ScalerQuery {
  checkMetadataSize(ref);
  const m = effectiveMetadata(ref.scalerMetadata ?? {});
  const get = (k: string): string | undefined => m.get(k);

  const namespace = (get('namespace') ?? ref.namespace ?? '').trim();
  if (!namespace) {
    throw new ScalerParamError('namespace', get('namespace') ?? '', 'a namespace (the ScaledObject\'s namespace is empty too)');
  }

  // pods
  const deployment = get('deployment');
  const pattern = get('podNamePattern');
  let podRule: ScalerQuery['podRule'];
  if (deployment !== undefined && pattern !== undefined) {
    throw new ScalerParamError('podNamePattern', pattern, 'either deployment or podNamePattern, not both');
  }
  if (pattern !== undefined) {
    if (pattern === '') throw new ScalerParamError('podNamePattern', pattern, 'a non-empty regular expression');
    let matcher: PodNameMatcher;
    try {
      matcher = compilePodPattern(pattern);
    } catch (err) {
      if (err instanceof PodPatternError) throw new ScalerParamError('podNamePattern', pattern.length > 128 ? pattern.slice(0, 128) + '…' : pattern, err.why);
      throw err;
    }
    podRule = { kind: 'podNamePattern', source: pattern, matcher };
  } else {
    const name = (deployment ?? ref.name ?? '').trim();
    if (!name) throw new ScalerParamError('deployment', deployment ?? '', 'a deployment name (the ScaledObject name is empty too)');
    podRule = { kind: 'deployment', source: name, matcher: deploymentMatcher(name) };
  }

  // profile, then aliases, then explicit parameters (explicit wins)
  let profileName: string | null = null;
  let profile: Profile | undefined;
  const rawProfile = get('profile');
  if (rawProfile !== undefined) {
    profileName = rawProfile.trim();
    profile = PROFILES[profileName];
    if (!profile) throw new ScalerParamError('profile', rawProfile, `one of ${Object.keys(PROFILES).join(', ')}`);
  }
  let metricType: string = profile?.metricType ?? 'gpu_utilization';
  let target: number | undefined = profile?.targetValue;
  const tgu = get('targetGpuUtilization');
  const tmu = get('targetMemoryUtilization');
  if (tgu !== undefined && tmu !== undefined) {
    throw new ScalerParamError('targetMemoryUtilization', tmu, 'either targetGpuUtilization or targetMemoryUtilization, not both');
  }
  if (tgu !== undefined) {
    metricType = 'gpu_utilization';
    target = num('targetGpuUtilization', tgu, 'a number > 0 (percent)', (n) => n > 0);
  }
  if (tmu !== undefined) {
    metricType = 'memory_used_percent';
    target = num('targetMemoryUtilization', tmu, 'a number > 0 (percent)', (n) => n > 0);
  }
  const rawType = get('metricType');
  if (rawType !== undefined) {
    const t = rawType.trim();
    const field = DCGM_NAME.test(t) ? (opts.fieldName ? opts.fieldName(t) : t) : undefined;
    if (t.toLowerCase() in NAMED_METRICS) metricType = t.toLowerCase();
    else if (field !== undefined) metricType = field;
    else {
      throw new ScalerParamError(
        'metricType', rawType,
        `one of ${Object.keys(NAMED_METRICS).join(', ')}, or a DCGM field name of the catalogue (e.g. DCGM_FI_DEV_GPU_UTIL)`,
      );
    }
    // an explicit metricType different from the profile's drops the profile's target
    if (profile && metricType !== profile.metricType && tgu === undefined && tmu === undefined) target = undefined;
  }
  const rawTarget = get('targetValue');
  if (rawTarget !== undefined) target = num('targetValue', rawTarget, 'a number > 0', (n) => n > 0);
  if (target === undefined) {
    if (metricType in DEFAULT_TARGET) target = DEFAULT_TARGET[metricType as NamedMetric];
    else throw new ScalerParamError('targetValue', '', `a number > 0: metricType ${metricType} has no default target`);
  }

  const rawAct = get('activationThreshold');
  const activationThreshold =
    rawAct !== undefined ? num('activationThreshold', rawAct, 'a number >= 0', (n) => n >= 0) : (profile?.activationThreshold ?? 0);

  const rawAgg = get('aggregation');
  let aggregation: Aggregation = 'avg';
  if (rawAgg !== undefined) {
    const a = rawAgg.trim().toLowerCase();
    if (a !== 'avg' && a !== 'max' && a !== 'min' && a !== 'sum') {
      throw new ScalerParamError('aggregation', rawAgg, 'one of avg, max, min, sum');
    }
    aggregation = a;
  }

  const rawIdx = get('gpuIndex');
  const gpuIndex =
    rawIdx !== undefined ? num('gpuIndex', rawIdx, 'an integer >= -1 (-1 = all GPUs)', (n) => Number.isInteger(n) && n >= -1) : -1;
  const rawPoll = get('pollIntervalSeconds');
  const pollIntervalSeconds =
    rawPoll !== undefined ? num('pollIntervalSeconds', rawPoll, 'a number of seconds > 0', (n) => n > 0 && n <= 86400) : 10;

  const rawName = get('metricName');
  let metricName: string;
  if (rawName !== undefined) {
    metricName = sanitizeMetricName(rawName);
    if (!metricName) throw new ScalerParamError('metricName', rawName, 'a name with at least one letter or digit');
  } else {
    metricName = sanitizeMetricName(`gpu-${metricType}-${namespace}-${ref.name || podRule.source}`);
  }

  const field = NAMED_METRICS[metricType as NamedMetric] ?? metricType;
  return {
    namespace,
    podRule,
    metricType,
    field,
    percentOfFramebuffer: metricType === 'memory_used_percent',
    targetValue: target,
    activationThreshold,
    aggregation,
    gpuIndex,
    pollIntervalSeconds,
    metricName,
    profile: profileName,
  };
}
