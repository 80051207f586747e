// The kubelet PodResources v1 API as this exporter uses it: the decoded messages as TypeScript and
// the gRPC service (client and server definition) over the codec protobufjs generates from
// proto/podresources_v1.proto at build time. Decoded messages have the full plain shape described
// in lib/grpc-method.ts.
import * as grpc from '@grpc/grpc-js';
import { v1 } from '../gen/podresources.js';
import { grpcMethod, type GeneratedMessage } from '../grpc-method.js';
import { ALLOCATABLE_RESPONSE, checkEntries, LIST_RESPONSE } from './podresources-bounds.js';

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
  /** proto3 `optional` (Kubernetes 1.35+): present only when the kubelet sent it */
  share_id?: string;
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

const SERVICE = 'v1.PodResourcesLister';

/** The generated message types, typed with the plain shapes above. */
export const MESSAGES = {
  ListPodResourcesRequest: v1.ListPodResourcesRequest as unknown as GeneratedMessage<EmptyRequest>,
  ListPodResourcesResponse: v1.ListPodResourcesResponse as unknown as GeneratedMessage<ListPodResourcesResponse>,
  AllocatableResourcesRequest: v1.AllocatableResourcesRequest as unknown as GeneratedMessage<EmptyRequest>,
  AllocatableResourcesResponse: v1.AllocatableResourcesResponse as unknown as GeneratedMessage<AllocatableResourcesResponse>,
  GetPodResourcesRequest: v1.GetPodResourcesRequest as unknown as GeneratedMessage<GetPodResourcesRequest>,
  GetPodResourcesResponse: v1.GetPodResourcesResponse as unknown as GeneratedMessage<GetPodResourcesResponse>,
};

export interface PodResourcesApi {
  /** client constructor for `v1.PodResourcesLister` */
  Client: grpc.ServiceClientConstructor;
  /** the service definition (method paths, codecs) for servers */
  service: grpc.ServiceDefinition;
}

let cached: PodResourcesApi | null = null;

/** The v1 API, built once per process. */
export function podResourcesApi(): PodResourcesApi {
  if (cached) return cached;
  const m = MESSAGES;
  const service: grpc.ServiceDefinition = {
    // answers are bounded in entries before they are decoded (podresources-bounds.ts)
    List: grpcMethod(SERVICE, 'List', m.ListPodResourcesRequest, m.ListPodResourcesResponse, { checkResponse: (b) => void checkEntries(b, LIST_RESPONSE) }),
    GetAllocatableResources: grpcMethod(SERVICE, 'GetAllocatableResources', m.AllocatableResourcesRequest, m.AllocatableResourcesResponse,
      { checkResponse: (b) => void checkEntries(b, ALLOCATABLE_RESPONSE) }),
    Get: grpcMethod(SERVICE, 'Get', m.GetPodResourcesRequest, m.GetPodResourcesResponse),
  };
  cached = { Client: grpc.makeGenericClientConstructor(service, 'PodResourcesLister'), service };
  return cached;
}
