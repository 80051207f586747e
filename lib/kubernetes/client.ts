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
} from './podresources-api.js';

import { DEFAULT_POD_RESOURCES_SOCKET } from '../contract/pods.js';

/** The kubelet's PodResources socket (`--pod-resources-kubelet-socket` default). */
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

  /**
   * The kubelet's allocations. A pod without a name or namespace, or a container without a name,
   * cannot be labelled: it is left out of the answer (the other pods are kept) and `onDropped`
   * hears what was left out, naming the pod.
   */
  async list(onDropped?: (problem: string) => void): Promise<ListPodResourcesResponse> {
    const res = (await this.call('List')) as ListPodResourcesResponse;
    return dropUnnamed(res, onDropped);
  }

  async getAllocatableResources(): Promise<AllocatableResourcesResponse> {
    return (await this.call('GetAllocatableResources')) as AllocatableResourcesResponse;
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

// The generated decoder (lib/grpc-method.ts) gives every message its full shape (absent strings '', absent lists []),
// so what is left to check is meaning: a series cannot carry an empty pod, namespace or container.
function dropUnnamed(res: ListPodResourcesResponse, onDropped?: (problem: string) => void): ListPodResourcesResponse {
  const bad = (p: ListPodResourcesResponse['pod_resources'][number]) =>
    p.name === '' || p.namespace === '' || p.containers.some((c) => c.name === '');
  if (!res.pod_resources.some(bad)) return res; // the usual case: the answer as decoded
  const pods: ListPodResourcesResponse['pod_resources'] = [];
  for (const p of res.pod_resources) {
    const who = `pod ${JSON.stringify(p.namespace)}/${JSON.stringify(p.name)}`;
    if (p.name === '' || p.namespace === '') {
      onDropped?.(`${who} has an empty ${p.name === '' ? 'name' : 'namespace'}; the pod is left out`);
      continue;
    }
    const containers = p.containers.filter((c) => c.name !== '');
    const left = p.containers.length - containers.length;
    if (left > 0) {
      onDropped?.(`${who} has ${left === 1 ? 'a container' : `${left} containers`} with an empty name; ${left === 1 ? 'it is' : 'they are'} left out`);
    }
    pods.push(left > 0 ? { ...p, containers } : p);
  }
  return { ...res, pod_resources: pods };
}
