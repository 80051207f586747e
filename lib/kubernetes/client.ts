// A client for the kubelet PodResources v1 API over its unix socket. Each call has a deadline.
// When the kubelet restarts it deletes and re-creates the socket; a channel bound to the old file
// would sit in reconnect back-off, so before every call we compare the socket file's identity
// (inode, creation and change time) with the one the channel was opened on, and after UNAVAILABLE
// we drop the channel: the next call opens a new one.
import { stat } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import {
  podResourcesApi,
  type AllocatableResourcesResponse,
  type ListPodResourcesResponse,
} from './proto.js';

import { DEFAULT_POD_RESOURCES_SOCKET } from './types.js';

export { DEFAULT_POD_RESOURCES_SOCKET };
export const DEFAULT_POD_RESOURCES_DEADLINE_MS = 10_000;
/** List on a dense node can exceed gRPC's 4 MiB default; every known client raises it to 16 MiB. */
export const POD_RESOURCES_MAX_RECEIVE_BYTES = 16 * 1024 * 1024;

export const POD_RESOURCES_REASONS = [
  'socket_missing',
  'unavailable',
  'deadline',
  'resource_exhausted',
  'malformed',
  'unimplemented',
  'other',
] as const;
export type PodResourcesReason = (typeof POD_RESOURCES_REASONS)[number];

/** A failed PodResources call, classified into one of the status reasons. */
export class PodResourcesError extends Error {
  override readonly name = 'PodResourcesError';
  constructor(
    readonly reason: PodResourcesReason,
    message: string,
    /** the gRPC status code, when the failure came from gRPC */
    readonly grpcCode: number | null = null,
  ) {
    super(message);
  }
}

export function reasonForGrpcCode(code: number, details: string): PodResourcesReason {
  switch (code) {
    case grpc.status.UNAVAILABLE:
      return 'unavailable';
    case grpc.status.DEADLINE_EXCEEDED:
      return 'deadline';
    case grpc.status.RESOURCE_EXHAUSTED:
      return 'resource_exhausted';
    case grpc.status.UNIMPLEMENTED:
      return 'unimplemented';
    case grpc.status.INTERNAL:
      // grpc-js reports a response it cannot decode as INTERNAL "Response message parsing error"
      return /pars/i.test(details) ? 'malformed' : 'other';
    default:
      return 'other';
  }
}

export interface PodResourcesClientOptions {
  /** the kubelet's socket; default /var/lib/kubelet/pod-resources/kubelet.sock */
  socketPath?: string;
  /** deadline of each call in ms; default 10000 */
  deadlineMs?: number;
}

type Unary = (
  req: object,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: unknown) => void,
) => grpc.ClientUnaryCall;

export class PodResourcesClient {
  readonly socketPath: string;
  readonly deadlineMs: number;
  /** how many channels have been opened; grows by one on every (re)connect */
  generation = 0;
  private client: grpc.Client | null = null;
  private identity: string | null = null;
  private readonly active = new Set<grpc.ClientUnaryCall>();

  constructor(opts: PodResourcesClientOptions = {}) {
    this.socketPath = opts.socketPath ?? DEFAULT_POD_RESOURCES_SOCKET;
    this.deadlineMs = opts.deadlineMs ?? DEFAULT_POD_RESOURCES_DEADLINE_MS;
    if (!(this.deadlineMs > 0) || !Number.isFinite(this.deadlineMs)) {
      throw new Error(`pod-resources deadline must be a positive number of ms, got ${opts.deadlineMs}`);
    }
    if (this.socketPath === '') throw new Error('pod-resources socket path is empty; give the kubelet socket path');
  }

  async list(): Promise<ListPodResourcesResponse> {
    const res = await this.call('List');
    return checkList(res);
  }

  async getAllocatableResources(): Promise<AllocatableResourcesResponse> {
    const res = await this.call('GetAllocatableResources');
    return checkAllocatable(res);
  }

  /** Closes the channel and cancels calls in flight. A later call opens a new channel. */
  close(): void {
    for (const c of this.active) c.cancel();
    this.active.clear();
    this.drop();
  }

  private drop(): void {
    this.client?.close();
    this.client = null;
    this.identity = null;
  }

  /** The channel to use, reopened when the socket file was replaced since it was opened. */
  private async channel(): Promise<grpc.Client> {
    let st;
    try {
      st = await stat(this.socketPath);
    } catch (e) {
      this.drop();
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(e)})`;
      throw new PodResourcesError(
        'socket_missing',
        `kubelet pod-resources socket ${this.socketPath} ${why}; mount the host's /var/lib/kubelet/pod-resources directory (not the socket file) into the pod`,
      );
    }
    if (!st.isSocket()) {
      this.drop();
      throw new PodResourcesError(
        'socket_missing',
        `${this.socketPath} exists but is not a unix socket; point --pod-resources-kubelet-socket at the kubelet's pod-resources socket`,
      );
    }
    // inode numbers are reused at once on tmpfs, so the creation and change times are part of
    // the identity too (a chmod also counts: one needless reconnect is cheap)
    const identity = `${st.dev}:${st.ino}:${st.birthtimeMs}:${st.ctimeMs}`;
    if (this.client && this.identity !== identity) this.drop();
    if (!this.client) {
      const { Client } = podResourcesApi();
      this.client = new Client(`unix://${this.socketPath}`, grpc.credentials.createInsecure(), {
        'grpc.max_receive_message_length': POD_RESOURCES_MAX_RECEIVE_BYTES,
      });
      this.identity = identity;
      this.generation++;
    }
    return this.client;
  }

  private async call(method: 'List' | 'GetAllocatableResources'): Promise<unknown> {
    const client = await this.channel();
    const fn = (client as unknown as Record<string, Unary>)[method].bind(client);
    return new Promise((resolve, reject) => {
      const deadline = new Date(Date.now() + this.deadlineMs);
      const call = fn({}, new grpc.Metadata(), { deadline }, (err, res) => {
        this.active.delete(call);
        if (!err) return resolve(res);
        const reason = reasonForGrpcCode(err.code, err.details ?? '');
        // a dead channel is not worth keeping: the next call opens a fresh one at once
        if (reason === 'unavailable' && this.client === client) this.drop();
        const what = reason === 'deadline' ? `no answer within ${this.deadlineMs} ms` : err.details || err.message;
        reject(
          new PodResourcesError(
            reason,
            `PodResources ${method} on ${this.socketPath} failed: ${grpc.status[err.code] ?? err.code}: ${what}`,
            err.code,
          ),
        );
      });
      this.active.add(call);
    });
  }
}

function malformed(method: string, what: string): PodResourcesError {
  return new PodResourcesError('malformed', `PodResources ${method} answered a malformed message: ${what}`);
}

function checkDevices(method: string, devs: unknown, where: string): void {
  if (!Array.isArray(devs)) throw malformed(method, `${where}.devices is not a list`);
  for (const d of devs as { resource_name?: unknown; device_ids?: unknown }[]) {
    if (typeof d?.resource_name !== 'string') throw malformed(method, `${where} has a device without a resource name`);
    if (!Array.isArray(d.device_ids) || d.device_ids.some((x) => typeof x !== 'string')) {
      throw malformed(method, `${where} resource ${d.resource_name} has device IDs that are not strings`);
    }
  }
}

function checkList(res: unknown): ListPodResourcesResponse {
  const pods = (res as { pod_resources?: unknown } | null)?.pod_resources;
  if (!Array.isArray(pods)) throw malformed('List', 'pod_resources is not a list');
  for (const p of pods as { name?: unknown; namespace?: unknown; containers?: unknown }[]) {
    if (typeof p?.name !== 'string' || typeof p.namespace !== 'string') throw malformed('List', 'a pod has no name or namespace');
    if (!Array.isArray(p.containers)) throw malformed('List', `pod ${p.namespace}/${p.name} has no container list`);
    for (const c of p.containers as { name?: unknown; devices?: unknown }[]) {
      if (typeof c?.name !== 'string') throw malformed('List', `pod ${p.namespace}/${p.name} has a container without a name`);
      checkDevices('List', c.devices, `container ${p.namespace}/${p.name}/${c.name}`);
    }
  }
  return res as ListPodResourcesResponse;
}

function checkAllocatable(res: unknown): AllocatableResourcesResponse {
  checkDevices('GetAllocatableResources', (res as { devices?: unknown } | null)?.devices, 'the response');
  return res as AllocatableResourcesResponse;
}
