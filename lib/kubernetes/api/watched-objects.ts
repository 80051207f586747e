// The two other things the exporter watches through the API, both over the generic Informer:
//   - one ConfigMap (-m namespace:name): its `data`, the counters in key `metrics`;
//   - this node's ResourceSlices (--kubernetes-dra-resourceslices): DRA device → GPU or MIG UUID,
//     for device names that do not resolve through NVML (another driver's naming).
import type { ApiConnection } from './connection.js';
import { Informer, type KubeObject } from './informer.js';
import type { Logger } from '../../logger.js';

export interface TrimmedConfigMap extends KubeObject {
  data: Readonly<Record<string, string>>;
}

/** The most keys of a ConfigMap kept (a ConfigMap holds at most 1 MiB anyway). */
const MAX_KEYS = 256;

function trimConfigMap(raw: unknown): TrimmedConfigMap | null {
  const o = raw as { metadata?: { name?: unknown; namespace?: unknown; resourceVersion?: unknown }; data?: unknown };
  if (typeof o?.metadata?.name !== 'string' || o.metadata.name === '') return null;
  const data: Record<string, string> = {};
  if (typeof o.data === 'object' && o.data !== null) {
    let n = 0;
    for (const [k, v] of Object.entries(o.data as Record<string, unknown>)) if (typeof v === 'string' && n++ < MAX_KEYS) data[k] = v;
  }
  const md: TrimmedConfigMap['metadata'] = { name: o.metadata.name, namespace: typeof o.metadata.namespace === 'string' ? o.metadata.namespace : '' };
  if (typeof o.metadata.resourceVersion === 'string') md.resourceVersion = o.metadata.resourceVersion;
  return { metadata: md, data };
}

/** A watch of one ConfigMap (list + watch with a field selector on its name: `get` and `watch` RBAC on it). */
export function configMapInformer(connection: ApiConnection, namespace: string, name: string, logger?: Logger): Informer<TrimmedConfigMap> {
  return new Informer<TrimmedConfigMap>({
    connection,
    path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`,
    fieldSelector: `metadata.name=${name}`,
    trim: trimConfigMap,
    what: `ConfigMap ${namespace}/${name}`,
    maxItems: 1,
    logger,
  });
}

export interface TrimmedSlice extends KubeObject {
  driver: string;
  pool: string;
  /** device name → the `uuid` attribute (a GPU's `GPU-…` or a MIG device's `MIG-…`) */
  uuids: ReadonlyMap<string, string>;
}

const MAX_DEVICES = 1024;

function trimSlice(raw: unknown): TrimmedSlice | null {
  const o = raw as { metadata?: { name?: unknown; resourceVersion?: unknown }; spec?: { driver?: unknown; pool?: { name?: unknown }; devices?: unknown } };
  if (typeof o?.metadata?.name !== 'string' || o.metadata.name === '') return null;
  const uuids = new Map<string, string>();
  const devices = Array.isArray(o.spec?.devices) ? (o.spec!.devices as unknown[]).slice(0, MAX_DEVICES) : [];
  for (const d of devices) {
    const dev = d as { name?: unknown; attributes?: Record<string, { string?: unknown }> };
    const uuid = dev?.attributes?.uuid?.string;
    if (typeof dev?.name === 'string' && typeof uuid === 'string' && /^(GPU|MIG)-[0-9a-fA-F-]{1,64}$/.test(uuid)) uuids.set(dev.name, uuid);
  }
  const md: TrimmedSlice['metadata'] = { name: o.metadata.name };
  if (typeof o.metadata.resourceVersion === 'string') md.resourceVersion = o.metadata.resourceVersion;
  return {
    metadata: md,
    driver: typeof o.spec?.driver === 'string' ? o.spec.driver : '',
    pool: typeof o.spec?.pool?.name === 'string' ? o.spec.pool.name : '',
    uuids,
  };
}

/** This node's ResourceSlices (resource.k8s.io/v1; `list` and `watch` RBAC on resourceslices). */
export function resourceSliceInformer(connection: ApiConnection, nodeName: string, logger?: Logger): Informer<TrimmedSlice> {
  return new Informer<TrimmedSlice>({
    connection,
    path: '/apis/resource.k8s.io/v1/resourceslices',
    fieldSelector: `spec.nodeName=${nodeName}`,
    trim: trimSlice,
    what: `ResourceSlices of node ${nodeName}`,
    maxItems: 10_000,
    logger,
  });
}

/** (driver, pool, device) → UUID over the slices held, rebuilt when they change. */
export function sliceResolver(inf: Informer<TrimmedSlice>): { resolve(driver: string, pool: string, device: string): string | undefined; generation(): number } {
  let gen = 0;
  let index: Map<string, string> | null = null;
  inf.on('change', () => {
    gen++;
    index = null;
  });
  return {
    resolve(driver, pool, device) {
      if (!index) {
        index = new Map();
        for (const s of inf.list()) for (const [name, uuid] of s.uuids) index.set(`${s.driver}\0${s.pool}\0${name}`, uuid);
      }
      return index.get(`${driver}\0${pool}\0${device}`);
    },
    generation: () => gen,
  };
}
