// The validator itself: model errors, and unknown fields (which the models alone accept).
import t from 'tap';
import { schemaErrors, unknownFields, validateObject } from './helpers/schema.js';

function daemonSet(container: Record<string, unknown>, extraSpec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'x', labels: { 'any.example/label': 'y' } },
    spec: {
      selector: { matchLabels: { app: 'x' } },
      template: {
        metadata: { labels: { app: 'x' } },
        spec: { containers: [{ name: 'c', image: 'i', ...container }], ...extraSpec },
      },
    },
  };
}

t.test('a valid DaemonSet with maps (labels, resources, nodeSelector) has no errors', async (t) => {
  const doc = daemonSet({ resources: { limits: { cpu: '1', 'nvidia.com/gpu': '1' } } }, { nodeSelector: { 'nvidia.com/gpu.present': 'true' } });
  t.same(validateObject(doc), []);
});

t.test('a misspelled field is rejected with its path', async (t) => {
  const doc = daemonSet({ resourcez: { limits: { cpu: '1' } } });
  t.same(schemaErrors(doc), [], 'the model alone accepts it');
  t.same(unknownFields(doc), ['/spec/template/spec/containers/0/resourcez']);
  t.same(validateObject(doc), ['unknown field /spec/template/spec/containers/0/resourcez']);
});

t.test('unknown fields deeper down and at the top are found too', async (t) => {
  const doc = { ...daemonSet({ readinesProbe: { httpGet: { path: '/ready', port: 9400 } } }), metdata: {} };
  t.same(unknownFields(doc).sort(), ['/metdata', '/spec/template/spec/containers/0/readinesProbe']);
  const nested = daemonSet({ securityContext: { readOnlyRootFileSystem: true } });
  t.same(unknownFields(nested), ['/spec/template/spec/containers/0/securityContext/readOnlyRootFileSystem']);
});

t.test('type errors come from the model', async (t) => {
  const doc = daemonSet({ ports: [{ containerPort: '9400' }] });
  const errors = validateObject(doc);
  t.equal(errors.length, 1);
  t.match(errors[0], /containerPort must be integer/);
});

t.test('KEDA trigger metadata is a map: any key is fine; a misspelled trigger field is not', async (t) => {
  const so = {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: 's' },
    spec: {
      scaleTargetRef: { name: 'd' },
      triggers: [{ type: 'external', metadata: { scalerAddress: 'a:6000', anyKey: 'v' } }],
    },
  };
  t.same(validateObject(so), []);
  const bad = structuredClone(so);
  (bad.spec.triggers[0] as Record<string, unknown>).metdata = { x: 'y' };
  t.same(unknownFields(bad), ['/spec/triggers/0/metdata']);
});

t.test('a kind without a model is an error naming the fix', async (t) => {
  const errors = validateObject({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } });
  t.match(errors[0], /no schema for example\.com\/v1\/Widget: add its kubernetes-models class/);
});
