// A simulated kubelet: the PodResources v1 gRPC service on a unix socket, driven by a scenario.
// Tests use it to make the kubelet misbehave on purpose (errors, hangs, undecodable answers,
// restarts that replace the socket file); the demo uses it to show pod labels without Kubernetes.
import { rmSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { podResourcesApi, type ContainerDevicesMsg, type ListPodResourcesResponse } from './podresources-api.js';

export interface SimDevices {
  /** kubelet resource name, e.g. `nvidia.com/gpu`, `nvidia.com/mig-1g.10gb` */
  resource: string;
  /** device IDs in any form a device plugin uses (`GPU-…`, `MIG-…`, `GPU-…::1`, `nvidia0/gi3`) */
  ids: string[];
}

/** A DRA claim a container uses, as the kubelet reports it under dynamic_resources. */
export interface SimClaim {
  claim: string;
  /** default: the pod's namespace */
  namespace?: string;
  devices: { driver: string; pool: string; device: string; shareId?: string; cdi?: string[] }[];
}

export interface SimContainer {
  name: string;
  devices: SimDevices[];
  /** DRA claims (Kubernetes 1.34+: dynamic_resources) */
  dra?: SimClaim[];
}

export interface SimPod {
  namespace: string;
  name: string;
  containers: SimContainer[];
}

/** How one RPC misbehaves. Without it the RPC answers at once from the scenario. */
export interface SimRpcBehaviour {
  /** answer with this gRPC status instead (e.g. RESOURCE_EXHAUSTED "rejected by rate limit") */
  error?: { code: grpc.status; message?: string };
  /** wait this long before answering; Infinity never answers (a hang) */
  delayMs?: number;
  /** answer with bytes that are not a valid message of the response type */
  malformed?: boolean;
  /** answer with exactly these bytes (e.g. an amplifying answer: many empty repeated entries) */
  raw?: Buffer;
}

export interface SimKubeletScenario {
  pods: SimPod[];
  /** what GetAllocatableResources reports; default: every device the pods hold */
  allocatable?: SimDevices[];
  list?: SimRpcBehaviour;
  getAllocatableResources?: SimRpcBehaviour;
}

export interface SimKubeletCalls {
  List: number;
  GetAllocatableResources: number;
}

export interface SimKubelet {
  readonly socketPath: string;
  /** calls received per RPC, across restarts */
  readonly calls: SimKubeletCalls;
  /** replaces the scenario; the next call answers from it */
  setScenario(s: SimKubeletScenario): void;
  /**
   * Stops serving, deletes the socket and binds a new one (a new inode) at the same path, the way
   * a kubelet restart does. `downMs`: how long the socket is absent in between.
   */
  restart(opts?: { downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

/** Bytes that do not decode as any response: field 1, length 16, but only one byte follows. */
const UNDECODABLE = Buffer.from([0x0a, 0x10, 0x0a]);

function toWire(pods: SimPod[]): ListPodResourcesResponse {
  return {
    pod_resources: pods.map((p) => ({
      name: p.name,
      namespace: p.namespace,
      containers: p.containers.map((c) => ({
        name: c.name,
        devices: c.devices.map((d) => ({ resource_name: d.resource, device_ids: [...d.ids] })),
        dynamic_resources: (c.dra ?? []).map((cl) => ({
          claim_name: cl.claim,
          claim_namespace: cl.namespace ?? p.namespace,
          claim_resources: cl.devices.map((d) => ({
            cdi_devices: (d.cdi ?? [`k8s.gpu.nvidia.com/device=${d.device}`]).map((name) => ({ name })),
            driver_name: d.driver,
            pool_name: d.pool,
            device_name: d.device,
            ...(d.shareId !== undefined ? { share_id: d.shareId } : {}),
          })),
        })),
      })),
    })),
  };
}

function allocatableOf(s: SimKubeletScenario): ContainerDevicesMsg[] {
  if (s.allocatable) return s.allocatable.map((d) => ({ resource_name: d.resource, device_ids: [...d.ids] }));
  const byRes = new Map<string, Set<string>>();
  for (const p of s.pods)
    for (const c of p.containers)
      for (const d of c.devices) {
        let set = byRes.get(d.resource);
        if (!set) byRes.set(d.resource, (set = new Set()));
        for (const id of d.ids) set.add(id);
      }
  return [...byRes].map(([resource_name, ids]) => ({ resource_name, device_ids: [...ids] }));
}

export async function startSimKubelet(socketPath: string, scenario: SimKubeletScenario): Promise<SimKubelet> {
  const { service } = podResourcesApi();
  // A service definition whose serializers pass raw Buffers through untouched: that is how a
  // malformed answer reaches the wire.
  const rawService: grpc.ServiceDefinition = Object.fromEntries(
    Object.entries(service).map(([name, def]) => {
      const ser = def.responseSerialize as (v: unknown) => Buffer;
      return [name, { ...def, responseSerialize: (v: unknown) => (Buffer.isBuffer(v) ? v : ser(v)) }];
    }),
  );
  let current = scenario;
  const calls: SimKubeletCalls = { List: 0, GetAllocatableResources: 0 };
  const timers = new Set<NodeJS.Timeout>();
  let server: grpc.Server | null = null;

  const answer = (
    behaviour: SimRpcBehaviour | undefined,
    body: () => unknown,
    cb: grpc.sendUnaryData<unknown>,
  ): void => {
    const reply = () => {
      if (behaviour?.error) {
        cb({ code: behaviour.error.code, details: behaviour.error.message ?? grpc.status[behaviour.error.code] });
      } else if (behaviour?.malformed) {
        cb(null, UNDECODABLE);
      } else if (behaviour?.raw) {
        cb(null, behaviour.raw);
      } else {
        cb(null, body());
      }
    };
    const delay = behaviour?.delayMs ?? 0;
    if (delay <= 0) return reply();
    if (!Number.isFinite(delay)) return; // a hang: never answers; the client's deadline ends it
    const t = setTimeout(() => {
      timers.delete(t);
      reply();
    }, delay);
    timers.add(t);
  };

  const handlers: grpc.UntypedServiceImplementation = {
    List: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      calls.List++;
      answer(current.list, () => toWire(current.pods), cb);
    },
    GetAllocatableResources: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      calls.GetAllocatableResources++;
      answer(current.getAllocatableResources, () => ({ devices: allocatableOf(current), cpu_ids: [], memory: [] }), cb);
    },
    Get: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      cb({ code: grpc.status.UNIMPLEMENTED, details: 'Get is not simulated' });
    },
  };

  const bind = async (): Promise<void> => {
    mkdirSync(dirname(socketPath), { recursive: true });
    rmSync(socketPath, { force: true }); // a leftover socket file makes bind fail with EADDRINUSE
    const s = new grpc.Server({ 'grpc.max_send_message_length': 64 * 1024 * 1024 });
    s.addService(rawService, handlers);
    await new Promise<void>((resolve, reject) =>
      s.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) =>
        err ? reject(new Error(`simulated kubelet cannot bind ${socketPath}: ${err.message}`)) : resolve(),
      ),
    );
    server = s;
  };

  const shutdown = (): void => {
    for (const t of timers) clearTimeout(t);
    timers.clear();
    server?.forceShutdown();
    server = null;
    rmSync(socketPath, { force: true });
  };

  await bind();
  return {
    socketPath,
    calls,
    setScenario(s) {
      current = s;
    },
    async restart(opts = {}) {
      shutdown();
      if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
      await bind();
    },
    async stop() {
      shutdown();
    },
  };
}

/**
 * The demo's pods for a node with these GPUs, in namespace `ha-test-namespace` (the seed
 * documents' queries select `pod=~"hpa-test-.*"` there): each GPU but the last two is held by one
 * `hpa-test-…` pod, the second-to-last is shared by two pods (replicas `::0` and `::1`), and the
 * last one is left unallocated. With one GPU, it is held by one pod; with two, the second is shared.
 */
export function demoPods(gpuUuids: string[]): SimKubeletScenario {
  const n = gpuUuids.length;
  const shared = n >= 2 ? gpuUuids[n >= 3 ? n - 2 : 1]! : null;
  const whole = gpuUuids.slice(0, n >= 3 ? n - 2 : Math.min(n, 1));
  const pod = (i: number, ids: string[]): SimPod => ({
    namespace: 'ha-test-namespace',
    name: `hpa-test-7d468b4969-${podSuffix(i)}`,
    containers: [{ name: 'custom-container', devices: [{ resource: 'nvidia.com/gpu', ids }] }],
  });
  const pods = whole.map((uuid, i) => pod(i, [uuid]));
  if (shared) pods.push(pod(pods.length, [`${shared}::0`]), pod(pods.length + 1, [`${shared}::1`]));
  const allocatable: SimDevices[] = [
    { resource: 'nvidia.com/gpu', ids: gpuUuids.flatMap((u) => (u === shared ? [`${u}::0`, `${u}::1`] : [u])) },
  ];
  return { pods, allocatable };
}

/** A fixed five-letter suffix per replica, shaped like a ReplicaSet pod's. */
function podSuffix(i: number): string {
  const letters = 'bcdfghjklmnpqrstvwxz2456789';
  let x = Math.imul(i + 1, 2654435761) >>> 0;
  let s = '';
  for (let k = 0; k < 5; k++) {
    s += letters[x % letters.length];
    x = Math.floor(x / letters.length);
  }
  return s;
}
