// Pure: from the kubelet's List answer and the GPU identities of the last sweep, which pods hold
// which GPU or MIG instance. Every device-ID form a device plugin hands the kubelet is understood:
//   GPU-<uuid>                      a whole GPU
//   MIG-<uuid>                      a MIG instance (single strategy under nvidia.com/gpu, mixed
//                                   strategy under nvidia.com/mig-<profile>, `.me` variants too)
//   MIG-GPU-<uuid>/<gi>/<ci>        the old (R450/R460) MIG form: parent GPU + GPU-instance id
//   <any of the above>::<n>         replica n of a shared GPU (time-slicing, MPS)
//   nvidia<N>, nvidia<N>/gi<G>, nvidia<N>/vgpu<V>, nvidia<N>/gi<G>/vgpu<V>
//                                   GKE's device plugin: GPU by index, MIG by GPU-instance id,
//                                   shared replica V.
// --kubernetes-gpu-id-type says how whole GPUs are named, as in dcgm-exporter: `uid` (default)
// matches `GPU-<uuid>[::n]` only, `device-name` matches `nvidia<N>[/vgpu<V>|::n]` only; a whole-GPU
// ID of the other form matches nothing (idTypeHint says which flag value would match it). MIG
// instance IDs (`MIG-…`, `nvidia<N>/gi<G>…`) match under both values: dcgm-exporter keys MIG series
// by GPU index and GPU-instance id whatever the flag says.
import type { DeviceSample, MigDeviceSample, SweepResult } from '../nvml/types.js';
import type { ContainerResourcesMsg, ListPodResourcesResponse } from './podresources-api.js';
import type { PodAttribution, PodMap } from '../contract/pods.js';

export type ParsedDeviceId =
  | { kind: 'uuid'; uuid: string; replica?: string }
  | { kind: 'mig-legacy'; parentUuid: string; gi: number; ci: number; replica?: string }
  | { kind: 'index'; index: number; gi?: number; replica?: string }
  | { kind: 'unknown' };

const LEGACY_MIG = /^MIG-(GPU-[0-9a-fA-F-]+)\/(\d+)\/(\d+)$/;
const GKE = /^nvidia(\d+)(?:\/gi(\d+))?(?:\/vgpu(\d+))?$/;

/** Reads one device ID as the kubelet reports it. */
export function parseDeviceId(raw: string): ParsedDeviceId {
  const id = raw.trim();
  const cut = id.indexOf('::');
  const base = cut >= 0 ? id.slice(0, cut) : id;
  const replica = cut >= 0 ? id.slice(cut + 2) : undefined;
  if (replica !== undefined && !/^\d+$/.test(replica)) return { kind: 'unknown' };
  const withReplica = <T extends object>(v: T): T & { replica?: string } =>
    replica === undefined ? v : { ...v, replica };
  const legacy = LEGACY_MIG.exec(base);
  if (legacy) return withReplica({ kind: 'mig-legacy', parentUuid: legacy[1]!, gi: +legacy[2]!, ci: +legacy[3]! });
  if (/^(GPU|MIG)-[0-9a-fA-F-]+$/.test(base)) return withReplica({ kind: 'uuid', uuid: base });
  const gke = GKE.exec(base);
  if (gke) {
    const r: { kind: 'index'; index: number; gi?: number; replica?: string } = { kind: 'index', index: +gke[1]! };
    if (gke[2] !== undefined) r.gi = +gke[2];
    // a `/vgpu<n>` suffix and a `::<n>` suffix mean the same thing; `::` wins when both are there
    const rep = replica ?? gke[3];
    if (rep !== undefined) r.replica = rep;
    return r;
  }
  return { kind: 'unknown' };
}

export const GPU_RESOURCE = 'nvidia.com/gpu';
export const SHARED_GPU_RESOURCE = 'nvidia.com/gpu.shared';
export const MIG_RESOURCE_PREFIX = 'nvidia.com/mig-';

/** Whether devices of this kubelet resource are GPUs we attribute. */
export function isGpuResource(name: string, extra: readonly string[] = []): boolean {
  return (
    name === GPU_RESOURCE ||
    name === SHARED_GPU_RESOURCE ||
    name.startsWith(MIG_RESOURCE_PREFIX) ||
    extra.includes(name)
  );
}

/** How the kubelet names whole GPUs (`--kubernetes-gpu-id-type`). */
export type GpuIdType = 'uid' | 'device-name';

/** Whether a parsed ID names a whole GPU in the form the other id type uses. */
function wrongIdType(p: ParsedDeviceId, idType: GpuIdType): boolean {
  if (idType === 'uid') return p.kind === 'index' && p.gi === undefined;
  return p.kind === 'uuid' && p.uuid.startsWith('GPU-');
}

/**
 * For a device ID that names a whole GPU in the other id type's form, what to tell the operator;
 * null for any other ID.
 */
export function idTypeHint(raw: string, idType: GpuIdType): string | null {
  if (!wrongIdType(parseDeviceId(raw), idType)) return null;
  return idType === 'uid'
    ? `device ID ${raw} looks like a device name; run with --kubernetes-gpu-id-type device-name`
    : `device ID ${raw} looks like a GPU UUID; run with --kubernetes-gpu-id-type uid`;
}

/** Where a device ID points: the UUID of a GPU or MIG instance on this node. */
export interface ResolvedDevice {
  uuid: string;
  replica?: string;
}

/** Lookups over the GPUs of one sweep. */
export class GpuIndex {
  private readonly byUuid = new Map<string, string>();
  private readonly byIndex = new Map<number, DeviceSample>();

  constructor(
    sweep: SweepResult | null,
    /** how whole GPUs are named; an ID of the other form resolves to nothing */
    private readonly idType: GpuIdType = 'uid',
  ) {
    for (const d of sweep?.devices ?? []) {
      this.byUuid.set(d.uuid.toLowerCase(), d.uuid);
      this.byIndex.set(d.index, d);
      for (const m of d.mig) this.byUuid.set(m.uuid.toLowerCase(), m.uuid);
    }
  }

  get empty(): boolean {
    return this.byIndex.size === 0;
  }

  private migOf(parent: DeviceSample | undefined, gi: number, ci?: number): MigDeviceSample | undefined {
    if (!parent) return undefined;
    const same = parent.mig.filter((m) => m.gpuInstanceId === gi);
    return same.find((m) => m.computeInstanceId === ci) ?? same[0];
  }

  /**
   * A DRA device name of NVIDIA's driver: `gpu-<minor>` is the GPU with that minor number;
   * `gpu-<minor>-mig-<profile>-<profileId>-<placementStart>` the GPU instance with that profile id
   * and placement start on it (the MIG devices a claim creates on demand appear in the sweep after).
   */
  resolveDra(name: string): DraDevice | null {
    const g = DRA_GPU.exec(name);
    if (g) {
      const d = this.byMinor(Number(g[1]));
      return d ? { uuid: d.uuid } : null;
    }
    const m = DRA_MIG.exec(name);
    if (!m) return null;
    const d = this.byMinor(Number(m[1]));
    const profileId = Number(m[3]);
    const start = Number(m[4]);
    const mig = d?.mig.filter((x) => x.gpuInstanceProfileId === profileId && x.placementStart === start).sort((a, b) => a.slot - b.slot)[0];
    return mig ? { uuid: mig.uuid, mig: { profile: mig.profile || m[2]!, uuid: mig.uuid } } : null;
  }

  /** a GPU or MIG UUID of this node (the ResourceSlice fallback names them) */
  knownUuid(uuid: string): DraDevice | null {
    const u = this.byUuid.get(uuid.toLowerCase());
    if (!u) return null;
    if (u.startsWith('MIG-')) {
      for (const d of this.byIndex.values()) {
        const m = d.mig.find((x) => x.uuid === u);
        if (m) return { uuid: u, mig: { profile: m.profile, uuid: u } };
      }
    }
    return { uuid: u };
  }

  private byMinor(minor: number): DeviceSample | undefined {
    for (const d of this.byIndex.values()) if (d.minor === minor) return d;
    return undefined;
  }

  resolve(raw: string): ResolvedDevice | null {
    const p = parseDeviceId(raw);
    if (wrongIdType(p, this.idType)) return null;
    let uuid: string | undefined;
    if (p.kind === 'uuid') uuid = this.byUuid.get(p.uuid.toLowerCase());
    else if (p.kind === 'mig-legacy') {
      const parentUuid = this.byUuid.get(p.parentUuid.toLowerCase());
      const parent = [...this.byIndex.values()].find((d) => d.uuid === parentUuid);
      uuid = this.migOf(parent, p.gi, p.ci)?.uuid;
    } else if (p.kind === 'index') {
      const dev = this.byIndex.get(p.index);
      uuid = p.gi === undefined ? dev?.uuid : this.migOf(dev, p.gi)?.uuid;
    }
    if (uuid === undefined || p.kind === 'unknown') return null;
    return p.replica === undefined ? { uuid } : { uuid, replica: p.replica };
  }
}

/** NVIDIA's DRA driver, whose device names resolve through NVML (`gpu-<minor>`, `gpu-<minor>-mig-…`). */
export const NVIDIA_DRA_DRIVER = 'gpu.nvidia.com';

const DRA_GPU = /^gpu-(\d{1,6})$/;
const DRA_MIG = /^gpu-(\d{1,6})-mig-(.+)-(\d{1,6})-(\d{1,6})$/;

/** What a DRA device name resolves to on this node. */
export interface DraDevice {
  uuid: string;
  /** the MIG device, when the name is a MIG device's */
  mig?: { profile: string; uuid: string };
}

export interface DraOptions {
  /** drivers whose devices are GPUs (default: gpu.nvidia.com) */
  drivers?: readonly string[];
  /** the ResourceSlice fallback: (driver, pool, device) → a GPU or MIG UUID, for names of another shape */
  resolveSlice?: (driver: string, pool: string, device: string) => string | undefined;
}

export interface MatchOptions {
  /** DRA claims (PodResources dynamic_resources) are attributed too; absent: they are ignored */
  dra?: DraOptions;
  /** more kubelet resource names to accept (dcgm-exporter's --nvidia-resource-names) */
  extraResourceNames?: readonly string[];
  /** how the kubelet names whole GPUs (`--kubernetes-gpu-id-type`); default `uid` */
  gpuIdType?: GpuIdType;
  /**
   * dcgm-exporter's default: one pod per device and no `vgpu` label. The pod kept is the first in
   * (namespace, pod, container, replica) order, so the choice is the same on every refresh.
   */
  singlePod?: boolean;
}

export interface MatchResult {
  map: PodMap;
  /** distinct device IDs of accepted resources that matched no GPU or MIG instance of the sweep */
  unmatched: string[];
}

function compareAttr(a: PodAttribution, b: PodAttribution): number {
  return (
    a.namespace.localeCompare(b.namespace) ||
    a.pod.localeCompare(b.pod) ||
    a.container.localeCompare(b.container) ||
    Number(a.vgpu ?? -1) - Number(b.vgpu ?? -1)
  );
}

/**
 * The DRA claims of one container: each device of a GPU driver resolved through NVML first, then
 * through the ResourceSlice fallback when there is one; attributed like a device-plugin GPU, with
 * dcgm-exporter's dra_* labels. Several pods on one device is a shared GPU, as with time-slicing.
 */
function matchDra(
  namespace: string,
  podName: string,
  c: ContainerResourcesMsg,
  gpus: GpuIndex,
  dra: DraOptions,
  grouped: Map<string, Map<string, PodAttribution>>,
  unmatched: Set<string>,
): void {
  const drivers = dra.drivers ?? [NVIDIA_DRA_DRIVER];
  for (const claim of c.dynamic_resources ?? []) {
    for (const r of claim.claim_resources) {
      if (!drivers.includes(r.driver_name)) continue;
      let hit = r.driver_name === NVIDIA_DRA_DRIVER ? gpus.resolveDra(r.device_name) : null;
      if (!hit && dra.resolveSlice) {
        const uuid = dra.resolveSlice(r.driver_name, r.pool_name, r.device_name);
        if (uuid) hit = gpus.knownUuid(uuid);
      }
      if (!hit) {
        unmatched.add(`${r.driver_name}/${r.pool_name}/${r.device_name}`);
        continue;
      }
      const labels: [string, string][] = [
        ['dra_claim_name', claim.claim_name],
        ['dra_claim_namespace', claim.claim_namespace],
        ['dra_device_name', r.device_name],
        ['dra_driver_name', r.driver_name],
      ];
      if (hit.mig) labels.push(['dra_mig_device_uuid', hit.mig.uuid], ['dra_mig_profile', hit.mig.profile]);
      labels.push(['dra_pool_name', r.pool_name]);
      const attr: PodAttribution = { namespace, pod: podName, container: c.name, resourceName: `dra:${r.driver_name}`, labels };
      let forGpu = grouped.get(hit.uuid);
      if (!forGpu) grouped.set(hit.uuid, (forGpu = new Map()));
      forGpu.set(`${namespace}\0${podName}\0${c.name}\0\0${claim.claim_namespace}/${claim.claim_name}`, attr);
    }
  }
}

/** Builds the pod map. `updatedAt` is the time of the List answer. */
export function matchPods(
  list: ListPodResourcesResponse,
  sweep: SweepResult | null,
  opts: MatchOptions = {},
  updatedAt: number = Date.now(),
): MatchResult {
  const gpus = new GpuIndex(sweep, opts.gpuIdType ?? 'uid');
  const extra = opts.extraResourceNames ?? [];
  const grouped = new Map<string, Map<string, PodAttribution>>();
  const unmatched = new Set<string>();
  for (const pod of list.pod_resources) {
    for (const c of pod.containers) {
      for (const dev of c.devices) {
        if (!isGpuResource(dev.resource_name, extra)) continue;
        for (const id of dev.device_ids) {
          const hit = gpus.resolve(id);
          if (!hit) {
            unmatched.add(id);
            continue;
          }
          const attr: PodAttribution = { namespace: pod.namespace, pod: pod.name, container: c.name };
          if (hit.replica !== undefined) attr.vgpu = hit.replica;
          attr.resourceName = dev.resource_name;
          let forGpu = grouped.get(hit.uuid);
          if (!forGpu) grouped.set(hit.uuid, (forGpu = new Map()));
          // the same device listed twice for one container is one attribution
          forGpu.set(`${attr.namespace}\0${attr.pod}\0${attr.container}\0${attr.vgpu ?? ''}`, attr);
        }
      }
      if (opts.dra) matchDra(pod.namespace, pod.name, c, gpus, opts.dra, grouped, unmatched);
    }
  }
  const byUuid = new Map<string, readonly PodAttribution[]>();
  for (const [uuid, attrs] of grouped) {
    const sorted = [...attrs.values()].sort(compareAttr);
    if (opts.singlePod) {
      const { vgpu: _dropped, ...first } = sorted[0]!;
      byUuid.set(uuid, [first]);
    } else {
      byUuid.set(uuid, sorted);
    }
  }
  return { map: { byUuid, updatedAt }, unmatched: [...unmatched] };
}
