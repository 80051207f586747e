// The generated protobuf codecs (lib/gen/, from proto/*.proto at build time) behind our gRPC
// method definitions: the kubelet's method paths and field numbers, a round trip of every
// PodResources message shape (64-bit integers, the proto3 optional share_id, DRA claims), bytes
// written by hand from the field numbers, and malformed input.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../lib/package-root.js';
import { podResourcesApi, type ListPodResourcesResponse } from '../../lib/kubernetes/podresources-api.js';
import { externalScalerApi } from '../../lib/scaler/keda-api.js';

const repo = packageRoot();

t.test('PodResources: the v1 service with the kubelet method paths', async (t) => {
  const { service, Client } = podResourcesApi();
  t.equal(service.List?.path, '/v1.PodResourcesLister/List');
  t.equal(service.GetAllocatableResources?.path, '/v1.PodResourcesLister/GetAllocatableResources');
  t.equal(service.Get?.path, '/v1.PodResourcesLister/Get');
  t.equal(typeof (Client.prototype as Record<string, unknown>).list, 'function', 'the client has the lowerCamelCase method too');
  t.match(readFileSync(join(repo, 'proto', 'podresources_v1.proto'), 'utf8'), /^package v1;$/m);
});

t.test('PodResources: bytes written from the field numbers decode into the full plain shape', async (t) => {
  const { service } = podResourcesApi();
  // pod_resources(1){ name(1)="p" namespace(2)="n" containers(3){ name(1)="c" devices(2){ resource_name(1)="r" device_ids(2)="d" } } }
  const dev = Buffer.from([0x0a, 1, 0x72, 0x12, 1, 0x64]);
  const ctr = Buffer.concat([Buffer.from([0x0a, 1, 0x63, 0x12, dev.length]), dev]);
  const pod = Buffer.concat([Buffer.from([0x0a, 1, 0x70, 0x12, 1, 0x6e, 0x1a, ctr.length]), ctr]);
  const msg = Buffer.concat([Buffer.from([0x0a, pod.length]), pod]);
  const decoded = service.List!.responseDeserialize(msg) as ListPodResourcesResponse;
  t.same(decoded, {
    pod_resources: [{
      name: 'p', namespace: 'n', cpu_ids: [], memory: [],
      containers: [{ name: 'c', cpu_ids: [], memory: [], dynamic_resources: [], devices: [{ resource_name: 'r', device_ids: ['d'], topology: null }] }],
    }],
  });
});

t.test('PodResources: a List answer with every field survives encode → decode', async (t) => {
  const { service } = podResourcesApi();
  const answer: ListPodResourcesResponse = {
    pod_resources: [{
      name: 'vllm-0', namespace: 'serving', cpu_ids: ['2', '9223372036854775807'],
      memory: [{ memory_type: 'hugepages-1Gi', size: '18446744073709551615', topology: { nodes: [{ ID: '1' }] } }],
      containers: [{
        name: 'server', cpu_ids: ['-5'], memory: [],
        devices: [{ resource_name: 'nvidia.com/gpu', device_ids: ['GPU-0aa1', 'GPU-0aa2::3'], topology: { nodes: [{ ID: '0' }] } }],
        dynamic_resources: [{
          claim_name: 'gpu-claim', claim_namespace: 'serving',
          claim_resources: [
            { driver_name: 'gpu.nvidia.com', pool_name: 'node-1', device_name: 'gpu-0', cdi_devices: [{ name: 'k8s.gpu.nvidia.com/device=gpu-0' }], share_id: 'a1' },
            { driver_name: 'gpu.nvidia.com', pool_name: 'node-1', device_name: 'gpu-1-mig-1g.10gb-19-6', cdi_devices: [] },
          ],
        }],
      }],
    }],
  };
  const bytes = service.List!.responseSerialize(answer);
  const back = service.List!.responseDeserialize(bytes) as ListPodResourcesResponse;
  t.same(back, answer, 'decoded equals what was encoded, 64-bit values exact');
  const claim = back.pod_resources[0]!.containers[0]!.dynamic_resources![0]!;
  t.equal(claim.claim_resources[0]!.share_id, 'a1');
  t.notOk('share_id' in claim.claim_resources[1]!, 'an unset optional field stays absent');
});

t.test('PodResources: malformed bytes throw instead of decoding garbage', async (t) => {
  const { service } = podResourcesApi();
  // field 1, length 16, but only one byte follows
  t.throws(() => service.List!.responseDeserialize(Buffer.from([0x0a, 0x10, 0x01])));
  // a string field holding a varint-typed wire value where a message is expected
  t.throws(() => service.List!.responseDeserialize(Buffer.from([0x0a, 0x03, 0x1a, 0x01])));
});

t.test('KEDA external scaler: method paths, the metadata map and float fields round-trip', async (t) => {
  const { service } = externalScalerApi();
  t.equal(service.GetMetrics?.path, '/externalscaler.ExternalScaler/GetMetrics');
  t.equal(service.StreamIsActive?.responseStream, true);
  const req = { scaledObjectRef: { name: 'so', namespace: 'ns', scalerMetadata: { deployment: 'vllm', targetValue: '75' } }, metricName: 'm' };
  t.same(service.GetMetrics!.requestDeserialize(service.GetMetrics!.requestSerialize(req)), req);
  const res = { metricValues: [{ metricName: 'm', metricValue: 153, metricValueFloat: 152.5 }] };
  t.same(service.GetMetrics!.responseDeserialize(service.GetMetrics!.responseSerialize(res)), {
    metricValues: [{ metricName: 'm', metricValue: 153, metricValueFloat: 152.5 }],
  }, 'the int64 value and the double exactly');
});
