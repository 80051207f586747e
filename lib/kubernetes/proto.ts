// Loads our declaration of the kubelet PodResources v1 API (proto/podresources_v1.proto) and
// describes, as TypeScript, the decoded messages this project reads or (in the simulated kubelet)
// writes. The decoded shape follows the loader options below: field names as in the .proto
// (keepCase), every repeated field present as an array, absent scalars as their defaults.
import { packageRoot } from '../package-root.js';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface ContainerDevicesMsg {
  resource_name: string;
  device_ids: string[];
  topology?: { nodes: { ID: string }[] } | null;
}

export interface ContainerResourcesMsg {
  name: string;
  devices: ContainerDevicesMsg[];
}

export interface PodResourcesMsg {
  name: string;
  namespace: string;
  containers: ContainerResourcesMsg[];
}

export interface ListPodResourcesResponse {
  pod_resources: PodResourcesMsg[];
}

export interface AllocatableResourcesResponse {
  devices: ContainerDevicesMsg[];
  cpu_ids: string[];
}

const PACKAGE_NAME = 'nvml-exporter';
const PROTO_RELATIVE = join('proto', 'podresources_v1.proto');

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

let cached: PodResourcesApi | null = null;

/** Loads the v1 API once per process. */
export function podResourcesApi(): PodResourcesApi {
  if (cached) return cached;
  const def = protoLoader.loadSync(protoPath(), {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    arrays: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    v1: { PodResourcesLister: grpc.ServiceClientConstructor };
  };
  const Client = pkg.v1.PodResourcesLister;
  cached = { Client, service: Client.service };
  return cached;
}
