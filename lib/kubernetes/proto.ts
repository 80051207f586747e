// The kubelet PodResources v1 API as this exporter uses it: the gRPC service definition and
// client, built by hand over our own wire-format codec (wire.ts) instead of loading the .proto
// with @grpc/proto-loader, and the decoded messages as TypeScript. proto/podresources_v1.proto
// stays the declaration they follow. The decoded shape is proto-loader's with { keepCase,
// longs: String, defaults, arrays, oneofs }: field names as in the .proto, every repeated field an
// array, absent scalars as their defaults, 64-bit integers as decimal strings.
import { packageRoot } from '../package-root.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { V1, decode, encode, type MessageType } from './wire.js';

// Fields marked optional (?) are always present in decoded messages; they are optional here so
// that messages built by hand (the simulated kubelet, tests) may leave out what they do not use.

export interface NUMANodeMsg {
  ID: string;
}

export interface TopologyInfoMsg {
  nodes: NUMANodeMsg[];
}

export interface ContainerDevicesMsg {
  resource_name: string;
  device_ids: string[];
  topology?: TopologyInfoMsg | null;
}

export interface ContainerMemoryMsg {
  memory_type: string;
  /** uint64, in bytes */
  size: string;
  topology?: TopologyInfoMsg | null;
}

export interface CDIDeviceMsg {
  name: string;
}

export interface ClaimResourceMsg {
  cdi_devices: CDIDeviceMsg[];
  driver_name: string;
  pool_name: string;
  device_name: string;
  /** proto3 `optional`: present only when the kubelet sent it */
  share_id?: string;
  /** the synthetic oneof of share_id: 'share_id' when it is set */
  _share_id?: 'share_id';
}

export interface DynamicResourceMsg {
  claim_name: string;
  claim_namespace: string;
  claim_resources: ClaimResourceMsg[];
}

export interface ContainerResourcesMsg {
  name: string;
  devices: ContainerDevicesMsg[];
  cpu_ids?: string[];
  memory?: ContainerMemoryMsg[];
  dynamic_resources?: DynamicResourceMsg[];
}

export interface PodResourcesMsg {
  name: string;
  namespace: string;
  containers: ContainerResourcesMsg[];
  cpu_ids?: string[];
  memory?: ContainerMemoryMsg[];
}

export interface ListPodResourcesResponse {
  pod_resources: PodResourcesMsg[];
}

export interface AllocatableResourcesResponse {
  devices: ContainerDevicesMsg[];
  cpu_ids: string[];
  memory?: ContainerMemoryMsg[];
}

export interface GetPodResourcesRequest {
  pod_name: string;
  pod_namespace: string;
}

export interface GetPodResourcesResponse {
  pod_resources: PodResourcesMsg | null;
}

/** The empty request of List and GetAllocatableResources. */
export type EmptyRequest = Record<string, never>;

const PROTO_RELATIVE = join('proto', 'podresources_v1.proto');
const SERVICE_NAME = 'v1.PodResourcesLister';

export { packageRoot };

/** Absolute path of proto/podresources_v1.proto inside the package. */
export function protoPath(): string {
  const p = join(packageRoot(), PROTO_RELATIVE);
  if (!existsSync(p)) throw new Error(`the PodResources API declaration is missing: ${p}; reinstall the package`);
  return p;
}

export interface PodResourcesApi {
  /** client constructor for `v1.PodResourcesLister` */
  Client: grpc.ServiceClientConstructor;
  /** the service definition (method paths, serializers) for servers */
  service: grpc.ServiceDefinition;
}

function unary<Req extends object, Res extends object>(
  method: string,
  req: MessageType,
  res: MessageType,
): grpc.MethodDefinition<Req, Res> {
  return {
    path: `/${SERVICE_NAME}/${method}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (v: Req) => encode(req, v),
    requestDeserialize: (b: Buffer) => decode(req, b) as Req,
    responseSerialize: (v: Res) => encode(res, v),
    responseDeserialize: (b: Buffer) => decode(res, b) as Res,
    // the name in the .proto's lowerCamelCase, which grpc-js also puts on the client
    originalName: method[0]!.toLowerCase() + method.slice(1),
  };
}

let cached: PodResourcesApi | null = null;

/** The v1 API, built once per process. */
export function podResourcesApi(): PodResourcesApi {
  if (cached) return cached;
  const service: grpc.ServiceDefinition = {
    List: unary<EmptyRequest, ListPodResourcesResponse>('List', V1.ListPodResourcesRequest, V1.ListPodResourcesResponse),
    GetAllocatableResources: unary<EmptyRequest, AllocatableResourcesResponse>(
      'GetAllocatableResources',
      V1.AllocatableResourcesRequest,
      V1.AllocatableResourcesResponse,
    ),
    Get: unary<GetPodResourcesRequest, GetPodResourcesResponse>('Get', V1.GetPodResourcesRequest, V1.GetPodResourcesResponse),
  };
  const Client = grpc.makeGenericClientConstructor(service, 'PodResourcesLister');
  cached = { Client, service };
  return cached;
}
