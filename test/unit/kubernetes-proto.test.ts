import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot, podResourcesApi, protoPath } from '../../lib/kubernetes/proto.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

t.test('the package root is found from the module and from deeper folders', async (t) => {
  t.equal(packageRoot(), repo);
  t.equal(packageRoot(join(repo, 'dist', 'lib', 'kubernetes')), repo, 'works from the compiled tree too');
  t.equal(protoPath(), join(repo, 'proto', 'podresources_v1.proto'));
  t.ok(existsSync(protoPath()));
});

t.test('outside the package the error names what is missing', async (t) => {
  t.throws(() => packageRoot('/'), /no package\.json named "nvml-exporter"/);
});

t.test('the API has the v1 service with the kubelet method paths', async (t) => {
  const { service } = podResourcesApi();
  t.equal(service.List?.path, '/v1.PodResourcesLister/List');
  t.equal(service.GetAllocatableResources?.path, '/v1.PodResourcesLister/GetAllocatableResources');
  t.equal(service.Get?.path, '/v1.PodResourcesLister/Get');
  // field numbers decide the wire format: a hand-encoded List answer must decode
  // pod_resources(1){ name(1)="p" namespace(2)="n" containers(3){ name(1)="c" devices(2){ resource_name(1)="r" device_ids(2)="d" } } }
  const dev = Buffer.from([0x0a, 1, 0x72, 0x12, 1, 0x64]);
  const ctr = Buffer.concat([Buffer.from([0x0a, 1, 0x63, 0x12, dev.length]), dev]);
  const pod = Buffer.concat([Buffer.from([0x0a, 1, 0x70, 0x12, 1, 0x6e, 0x1a, ctr.length]), ctr]);
  const msg = Buffer.concat([Buffer.from([0x0a, pod.length]), pod]);
  const decoded = service.List!.responseDeserialize(msg) as {
    pod_resources: { name: string; namespace: string; containers: { name: string; devices: { resource_name: string; device_ids: string[] }[] }[] }[];
  };
  t.equal(decoded.pod_resources[0]?.name, 'p');
  t.equal(decoded.pod_resources[0]?.namespace, 'n');
  t.equal(decoded.pod_resources[0]?.containers[0]?.name, 'c');
  t.same(decoded.pod_resources[0]?.containers[0]?.devices[0], { resource_name: 'r', device_ids: ['d'], topology: null });
  t.match(readFileSync(protoPath(), 'utf8'), /^package v1;$/m);
});
