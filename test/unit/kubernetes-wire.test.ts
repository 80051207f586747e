// Our PodResources wire codec (lib/kubernetes/wire.ts) against protobufjs, as @grpc/proto-loader
// drives it from proto/podresources_v1.proto with the options the exporter used to load it with:
// bytes either side encodes decode the same on both sides, into the same objects. Then what
// protobufjs is not asked about: unknown fields, unpacked lists, malformed input, encoder checks.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { podResourcesApi, protoPath, type ListPodResourcesResponse } from '../../lib/kubernetes/proto.js';
import { V1, WireError, decode, encode, type MessageType } from '../../lib/kubernetes/wire.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface PlMethod {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  originalName?: string;
  requestSerialize: (v: object) => Buffer;
  requestDeserialize: (b: Buffer) => Record<string, unknown>;
  responseSerialize: (v: object) => Buffer;
  responseDeserialize: (b: Buffer) => Record<string, unknown>;
}

const pl = protoLoader.loadSync(protoPath(), {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: true,
})['v1.PodResourcesLister'] as unknown as Record<'List' | 'GetAllocatableResources' | 'Get', PlMethod>;

/** protobufjs's encoder and decoder for one of our message types (those a method carries). */
interface Side {
  type: MessageType;
  ser: (v: object) => Buffer;
  de: (b: Buffer) => Record<string, unknown>;
}
const LIST: Side = { type: V1.ListPodResourcesResponse, ser: pl.List.responseSerialize, de: pl.List.responseDeserialize };
const ALLOC: Side = {
  type: V1.AllocatableResourcesResponse,
  ser: pl.GetAllocatableResources.responseSerialize,
  de: pl.GetAllocatableResources.responseDeserialize,
};
const GET_REQ: Side = { type: V1.GetPodResourcesRequest, ser: pl.Get.requestSerialize, de: pl.Get.requestDeserialize };
const GET_RES: Side = { type: V1.GetPodResourcesResponse, ser: pl.Get.responseSerialize, de: pl.Get.responseDeserialize };

// ---------------------------------------------------------------------------------------------
// messages to compare: a few written out, many more from a seeded generator

const INT64 = [
  '0', '1', '127', '128', '16383', '16384', '2147483647', '2147483648', '4294967295', '4294967296',
  '562949953421311', '562949953421312', '9007199254740991', '9007199254740992', '9007199254740993',
  '1234567890123456789', '9223372036854775807', '-1', '-5', '-2147483648', '-9007199254740993', '-9223372036854775808',
];
const UINT64 = ['0', '1', '4096', '1073741824', '9007199254740993', '9223372036854775808', '18446744073709551615'];
const STRINGS = [
  '', 'a', 'nvidia.com/gpu', 'GPU-8e1c5d6a-6f3d-4d1e-9b7a-2f0c4d3e5a10', 'MIG-5c2b8f1e-0d4a-4c9e-8e5f-1a2b3c4d5e6f::3',
  'ñandú', '日本語のポッド', 'rocket 🚀 launch', 'quote " backslash \\ newline \n tab \t', 'x'.repeat(200),
];

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

function generator(seed: number) {
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(a: readonly T[]): T => a[int(a.length)]!;
  const list = <T>(max: number, f: () => T): T[] => Array.from({ length: int(max + 1) }, f);
  // a field either left out of the object or set (possibly to its default)
  const o = (fields: Record<string, () => unknown>): Record<string, unknown> => {
    const m: Record<string, unknown> = {};
    for (const [k, f] of Object.entries(fields)) if (r() < 0.85) m[k] = f();
    return m;
  };
  const topology = () => (r() < 0.3 ? null : o({ nodes: () => list(3, () => o({ ID: () => pick(INT64) })) }));
  const devices = () => o({ resource_name: () => pick(STRINGS), device_ids: () => list(4, () => pick(STRINGS)), topology });
  const memory = () => o({ memory_type: () => pick(STRINGS), size: () => pick(UINT64), topology });
  const claim = () => {
    const c = o({
      cdi_devices: () => list(2, () => o({ name: () => pick(STRINGS) })),
      driver_name: () => pick(STRINGS),
      pool_name: () => pick(STRINGS),
      device_name: () => pick(STRINGS),
    });
    if (r() < 0.5) c.share_id = pick(STRINGS); // set, sometimes to ''
    return c;
  };
  const dynamic = () => o({ claim_name: () => pick(STRINGS), claim_namespace: () => pick(STRINGS), claim_resources: () => list(3, claim) });
  const container = () =>
    o({
      name: () => pick(STRINGS),
      devices: () => list(3, devices),
      cpu_ids: () => list(5, () => pick(INT64)),
      memory: () => list(2, memory),
      dynamic_resources: () => list(2, dynamic),
    });
  const pod = () =>
    o({
      name: () => pick(STRINGS),
      namespace: () => pick(STRINGS),
      containers: () => list(3, container),
      cpu_ids: () => list(4, () => pick(INT64)),
      memory: () => list(2, memory),
    });
  return {
    list: () => ({ pod_resources: list(4, pod) }),
    allocatable: () => o({ devices: () => list(4, devices), cpu_ids: () => list(8, () => pick(INT64)), memory: () => list(3, memory) }),
    getRequest: () => o({ pod_name: () => pick(STRINGS), pod_namespace: () => pick(STRINGS) }),
    getResponse: () => (r() < 0.2 ? {} : { pod_resources: pod() }),
  };
}

const topo = (...ids: string[]) => ({ nodes: ids.map((ID) => ({ ID })) });

/** A List answer with every field in use. */
const RICH_LIST = {
  pod_resources: [
    {
      name: 'trainer-0',
      namespace: 'ml',
      cpu_ids: ['0', '1', '9007199254740993', '-5'],
      memory: [{ memory_type: 'memory', size: '68719476736', topology: topo('0', '1') }],
      containers: [
        {
          name: 'main',
          devices: [
            { resource_name: 'nvidia.com/gpu', device_ids: ['GPU-a', 'GPU-b'], topology: topo('0') },
            { resource_name: 'nvidia.com/mig-1g.10gb', device_ids: ['MIG-c'], topology: null },
            { resource_name: 'example.com/empty', device_ids: [], topology: { nodes: [] } },
          ],
          cpu_ids: ['2', '3', '18014398509481984', '9223372036854775807', '-9223372036854775808'],
          memory: [
            { memory_type: 'hugepages-1Gi', size: '18446744073709551615', topology: topo('1') },
            { memory_type: '', size: '0', topology: null },
          ],
          dynamic_resources: [
            {
              claim_name: 'gpu-claim',
              claim_namespace: 'ml',
              claim_resources: [
                { cdi_devices: [{ name: 'nvidia.com/gpu=0' }, { name: '' }], driver_name: 'gpu.nvidia.com', pool_name: 'node-1', device_name: 'gpu-0', share_id: 'a1b2' },
                { cdi_devices: [], driver_name: 'gpu.nvidia.com', pool_name: 'node-1', device_name: 'gpu-1' },
                { cdi_devices: [], driver_name: '', pool_name: '', device_name: '', share_id: '' },
              ],
            },
            { claim_name: '', claim_namespace: '', claim_resources: [] },
          ],
        },
        { name: 'sidecar', devices: [], cpu_ids: [], memory: [], dynamic_resources: [] },
      ],
    },
    { name: 'idle', namespace: 'default', containers: [], cpu_ids: [], memory: [] },
    { name: '', namespace: '', containers: [{ name: '', devices: [] }] },
  ],
};

const RICH_ALLOCATABLE = {
  devices: [
    { resource_name: 'nvidia.com/gpu', device_ids: ['GPU-a', 'GPU-b', 'GPU-c'], topology: topo('0', '-1', '9007199254740993') },
    { resource_name: 'nvidia.com/gpu', device_ids: [] },
  ],
  cpu_ids: ['0', '1', '2', '63', '9007199254740993', '-5'],
  memory: [{ memory_type: 'memory', size: '274877906944', topology: topo('0') }],
};

const EMPTY_LIST = { pod_resources: [] };
const EMPTY_ALLOCATABLE = { devices: [], cpu_ids: [], memory: [] };

/** The object without the fields that hold their default value (so protobufjs writes what we do). */
function stripDefaults(type: MessageType, o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of type.fields) {
    const v = o[f.name];
    if (v === undefined || v === null) continue;
    if (f.repeated) {
      const a = v as unknown[];
      if (a.length > 0) out[f.name] = f.type ? a.map((x) => stripDefaults(f.type!, x as Record<string, unknown>)) : a;
    } else if (f.type) out[f.name] = stripDefaults(f.type, v as Record<string, unknown>);
    else if (f.optional || (v !== '' && v !== '0')) out[f.name] = v;
  }
  return out;
}

/** Four checks on one message: both decoders on both encoders' bytes, and our bytes. */
function crossCheck(t: Test, side: Side, msg: object, name: string): void {
  const theirBytes = side.ser(msg);
  const theirs = side.de(theirBytes);
  const ourBytes = encode(side.type, msg);
  const checks: [string, unknown, unknown][] = [
    ['protobufjs bytes → ours', decode(side.type, theirBytes), theirs],
    ['our bytes → protobufjs', side.de(ourBytes), theirs],
    ['our bytes → ours', decode(side.type, ourBytes), theirs],
    ['same bytes as protobufjs without defaults', ourBytes.toString('hex'), side.ser(stripDefaults(side.type, msg as Record<string, unknown>)).toString('hex')],
  ];
  for (const [what, got, want] of checks) t.strictSame(got, want, `${name}: ${what}`);
}

t.test('written-out messages: both directions agree with protobufjs', async (t) => {
  crossCheck(t, LIST, RICH_LIST, 'rich List');
  crossCheck(t, LIST, EMPTY_LIST, 'empty List');
  crossCheck(t, LIST, {}, 'List with no keys');
  crossCheck(t, ALLOC, RICH_ALLOCATABLE, 'rich Allocatable');
  crossCheck(t, ALLOC, EMPTY_ALLOCATABLE, 'empty Allocatable');
  crossCheck(t, GET_REQ, { pod_name: 'trainer-0', pod_namespace: 'ml' }, 'Get request');
  crossCheck(t, GET_RES, { pod_resources: RICH_LIST.pod_resources[0] }, 'Get response');
  crossCheck(t, GET_RES, {}, 'empty Get response');
});

t.test('generated messages: both directions agree with protobufjs', async (t) => {
  const g = generator(0x5eed);
  for (let i = 0; i < 150; i++) crossCheck(t, LIST, g.list(), `List #${i}`);
  for (let i = 0; i < 100; i++) crossCheck(t, ALLOC, g.allocatable(), `Allocatable #${i}`);
  for (let i = 0; i < 30; i++) crossCheck(t, GET_REQ, g.getRequest(), `Get request #${i}`);
  for (let i = 0; i < 30; i++) crossCheck(t, GET_RES, g.getResponse(), `Get response #${i}`);
});

t.test("the decoded shape is proto-loader's", async (t) => {
  const d = decode(V1.ListPodResourcesResponse, encode(V1.ListPodResourcesResponse, RICH_LIST)) as unknown as ListPodResourcesResponse;
  const c = d.pod_resources[0]!.containers[0]!;
  t.strictSame(d.pod_resources[0]!.cpu_ids, ['0', '1', '9007199254740993', '-5'], 'int64 as exact decimal strings');
  t.equal(c.memory![0]!.size, '18446744073709551615', 'uint64 up to 2^64 - 1');
  t.strictSame(c.memory![1], { memory_type: '', size: '0', topology: null }, "absent: '' , '0' and null");
  t.strictSame(c.devices[2]!.topology, { nodes: [] }, 'an empty sub-message is not null');
  const claims = c.dynamic_resources![0]!.claim_resources as unknown as Record<string, unknown>[];
  t.equal(claims[0]!.share_id, 'a1b2');
  t.equal(claims[0]!._share_id, 'share_id', 'a set optional field brings its synthetic oneof');
  t.notOk('share_id' in claims[1]! || '_share_id' in claims[1]!, 'an unset optional field has neither key');
  t.strictSame([claims[2]!.share_id, claims[2]!._share_id], ['', 'share_id'], 'set to "" is still set');
  t.strictSame(d.pod_resources[2], { containers: [{ devices: [], cpu_ids: [], memory: [], dynamic_resources: [], name: '' }], cpu_ids: [], memory: [], name: '', namespace: '' });
  t.strictSame(decode(V1.AllocatableResourcesResponse, Buffer.alloc(0)), { devices: [], cpu_ids: [], memory: [] });
  t.strictSame(decode(V1.GetPodResourcesResponse, Buffer.alloc(0)), { pod_resources: null });
  t.strictSame(decode(V1.ListPodResourcesRequest, new Uint8Array(0)), {});
});

// ---------------------------------------------------------------------------------------------
// hand-made bytes

function varint(v: bigint | number): number[] {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  while (x >= 128n) {
    out.push(Number(x & 127n) | 128);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}
const key = (no: number, wt: number) => varint(no * 8 + wt);
const len = (no: number, bytes: number[]) => [...key(no, 2), ...varint(bytes.length), ...bytes];
const str = (no: number, s: string) => len(no, [...Buffer.from(s, 'utf8')]);
const int = (no: number, v: bigint | number) => [...key(no, 0), ...varint(v)];
const bytes = (a: number[]) => Buffer.from(a);

/** One unknown field of each valid wire type, numbered so that none is a known field. */
const UNKNOWN = [
  ...int(9, 150), // varint
  ...int(10, -1n), // a 10-byte varint
  ...key(11, 1), 1, 2, 3, 4, 5, 6, 7, 8, // 64-bit
  ...len(12, [0xff, 0x00, 0x80]), // length-delimited, bytes that are no valid message
  ...key(13, 5), 9, 9, 9, 9, // 32-bit
  ...key(2 ** 29 - 1, 0), 1, // the largest field number
];

t.test('unknown fields of every wire type are skipped, at the top and nested', async (t) => {
  const numa = [...UNKNOWN, ...int(1, 7n), ...UNKNOWN];
  const topology = [...UNKNOWN, ...len(1, numa)];
  const device = [...str(1, 'nvidia.com/gpu'), ...UNKNOWN, ...str(2, 'GPU-a'), ...len(3, topology), ...UNKNOWN];
  const claim = [...UNKNOWN, ...str(5, 's'), ...UNKNOWN];
  // DynamicResource field 1 is `reserved`: unknown to both sides
  const dynamic = [...str(1, 'reserved'), ...str(2, 'claim'), ...len(4, claim), ...int(1, 3)];
  const container = [...str(1, 'c'), ...UNKNOWN, ...len(2, device), ...len(5, dynamic)];
  const pod = [...str(1, 'p'), ...len(3, container), ...UNKNOWN, ...str(2, 'ns')];
  const msg = bytes([...UNKNOWN, ...len(1, pod), ...UNKNOWN]);
  const ours = decode(V1.ListPodResourcesResponse, msg) as Record<string, any>;
  t.strictSame(ours, LIST.de(msg), 'decodes as protobufjs decodes it');
  const c = ours.pod_resources[0].containers[0];
  t.strictSame([ours.pod_resources[0].name, ours.pod_resources[0].namespace, c.name], ['p', 'ns', 'c']);
  t.strictSame(c.devices, [{ device_ids: ['GPU-a'], resource_name: 'nvidia.com/gpu', topology: { nodes: [{ ID: '7' }] } }]);
  t.strictSame(c.dynamic_resources[0].claim_resources[0], { cdi_devices: [], driver_name: '', pool_name: '', device_name: '', share_id: 's', _share_id: 'share_id' });
  t.strictSame(decode(V1.ListPodResourcesRequest, bytes(UNKNOWN)), {}, 'an empty request skips them too');
  t.strictSame(decode(V1.AllocatableResourcesRequest, bytes(UNKNOWN)), {});
});

t.test('repeated int64 is accepted unpacked, packed, and both mixed', async (t) => {
  const unpacked = [...int(4, 1), ...int(4, 2n ** 53n + 1n), ...int(4, -5)];
  const packed = len(4, [...varint(4), ...varint(-9223372036854775808n), ...varint(0)]);
  const pod = bytes([...str(1, 'p'), ...unpacked, ...packed, ...int(4, 6)]);
  const want = ['1', '9007199254740993', '-5', '4', '-9223372036854775808', '0', '6'];
  t.strictSame(decode(V1.PodResources, pod).cpu_ids, want);
  const msg = bytes(len(1, [...pod]));
  t.strictSame(decode(V1.ListPodResourcesResponse, msg), LIST.de(msg), 'as protobufjs reads it');
  const alloc = bytes([...int(2, 3), ...len(2, []), ...int(2, 2n ** 64n - 1n)]);
  t.strictSame(decode(V1.AllocatableResourcesResponse, alloc).cpu_ids, ['3', '-1'], 'an empty packed run adds nothing');
  t.strictSame(decode(V1.AllocatableResourcesResponse, alloc), ALLOC.de(alloc));
});

t.test('non-minimal varints, over-long 10th bytes and repeated scalars read as protobufjs reads them', async (t) => {
  const cases: [string, number[]][] = [
    ['0 written in 5 bytes', [...key(2, 0), 0x80, 0x80, 0x80, 0x80, 0x00]],
    ['a 10th byte above 1 loses the bits past 64', [...key(2, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
    ['9 bytes', [...key(2, 0), 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  ];
  for (const [what, a] of cases) t.strictSame(decode(V1.AllocatableResourcesResponse, bytes(a)), ALLOC.de(bytes(a)), what);
  const twice = bytes([...str(1, 'first'), ...str(1, 'second'), ...int(2, 1), ...int(2, 2)]);
  t.strictSame(decode(V1.ContainerMemory, twice), { memory_type: 'second', size: '2', topology: null }, 'the last scalar wins');
  const pod = bytes(len(1, [...str(1, 'a'), ...str(1, 'b')]));
  t.strictSame(decode(V1.GetPodResourcesResponse, pod), GET_RES.de(pod));
});

t.test('a singular sub-message sent twice is merged (the protobuf rule; protobufjs keeps the last)', async (t) => {
  const dev = bytes([...len(3, len(1, int(1, 1))), ...str(1, 'r'), ...len(3, len(1, int(1, 2)))]);
  t.strictSame(decode(V1.ContainerDevices, dev), { device_ids: [], resource_name: 'r', topology: { nodes: [{ ID: '1' }, { ID: '2' }] } });
});

// ---------------------------------------------------------------------------------------------
// malformed input

const TEN_FF = Array(10).fill(0xff) as number[];

/** [what, message type decoded, bytes, the type the error names, offset] */
const MALFORMED: [string, MessageType, number[], string, number][] = [
  ['a tag cut off', V1.ListPodResourcesResponse, [0x80], 'v1.ListPodResourcesResponse', 0],
  ['an int64 cut off', V1.AllocatableResourcesResponse, [...int(2, 1), ...key(2, 0), 0xff, 0xff], 'v1.AllocatableResourcesResponse', 3],
  ['an int64 cut off by the end of its packed run', V1.AllocatableResourcesResponse, [...len(2, [0x01, 0x80]), ...int(2, 1)], 'v1.AllocatableResourcesResponse', 3],
  ['an int64 of 11 bytes', V1.AllocatableResourcesResponse, [...key(2, 0), ...TEN_FF, 0x01], 'v1.AllocatableResourcesResponse', 1],
  ['a tag of 11 bytes', V1.PodResources, [...str(1, 'p'), ...TEN_FF, 0x01], 'v1.PodResources', 3],
  ['an unknown varint of 11 bytes', V1.ListPodResourcesRequest, [...key(9, 0), ...TEN_FF, 0x00], 'v1.ListPodResourcesRequest', 1],
  ['the simulated kubelet\'s undecodable answer', V1.ListPodResourcesResponse, [0x0a, 0x10, 0x0a], 'v1.ListPodResourcesResponse', 1],
  ['a string running past its message', V1.ListPodResourcesResponse, [0x0a, 0x03, 0x0a, 0x05, 0x61], 'v1.PodResources', 3],
  ['a length cut off', V1.ContainerDevices, [...key(1, 2), 0x80], 'v1.ContainerDevices', 1],
  ['an unknown length-delimited field running past the end', V1.NUMANode, [...int(1, 1), ...key(7, 2), 0x05, 0x00], 'v1.NUMANode', 3],
  ['an unknown 64-bit field cut off', V1.TopologyInfo, [...key(3, 1), 1, 2, 3, 4, 5, 6, 7], 'v1.TopologyInfo', 1],
  ['an unknown 32-bit field cut off, nested', V1.ListPodResourcesResponse, len(1, [...key(9, 5), 1, 2]), 'v1.PodResources', 3],
  ['wire type 3 (group start)', V1.AllocatableResourcesResponse, [...int(2, 1), ...key(9, 3)], 'v1.AllocatableResourcesResponse', 2],
  ['wire type 4 (group end)', V1.AllocatableResourcesResponse, [...int(2, 1), ...key(1, 4)], 'v1.AllocatableResourcesResponse', 2],
  ['wire type 6', V1.AllocatableResourcesResponse, [...int(2, 1), ...key(9, 6)], 'v1.AllocatableResourcesResponse', 2],
  ['wire type 7 on a known field', V1.AllocatableResourcesResponse, [...int(2, 1), ...key(2, 7)], 'v1.AllocatableResourcesResponse', 2],
  ['field number 0', V1.AllocatableResourcesResponse, [...int(2, 1), ...key(0, 0), 0x01], 'v1.AllocatableResourcesResponse', 2],
  ['field number 0, length-delimited, nested', V1.GetPodResourcesResponse, len(1, [...str(1, 'p'), ...len(0, [])]), 'v1.PodResources', 5],
  ['a field number above 2^29 - 1', V1.GetPodResourcesRequest, [...key(2 ** 29, 0), 0x01], 'v1.GetPodResourcesRequest', 0],
  ['a sub-message list as a varint', V1.ListPodResourcesResponse, [...int(1, 1)], 'v1.ListPodResourcesResponse', 0],
  ['a string as a varint, nested', V1.AllocatableResourcesResponse, len(1, [...str(2, 'id'), ...int(1, 3)]), 'v1.ContainerDevices', 6],
  ['a string as 32-bit', V1.CDIDevice, [...key(1, 5), 0, 0, 0, 0], 'v1.CDIDevice', 0],
  ['a singular int64 as length-delimited', V1.NUMANode, len(1, [0x01]), 'v1.NUMANode', 0],
  ['a repeated int64 as 64-bit', V1.ContainerResources, [...str(1, 'c'), ...key(3, 1), 1, 0, 0, 0, 0, 0, 0, 0], 'v1.ContainerResources', 3],
  ['a uint64 as 64-bit', V1.ContainerMemory, [...key(2, 1), 1, 0, 0, 0, 0, 0, 0, 0], 'v1.ContainerMemory', 0],
  ['a sub-message as a varint, deep', V1.ListPodResourcesResponse, len(1, len(3, len(2, int(3, 1)))), 'v1.ContainerDevices', 6],
];

t.test('malformed input throws, naming the message type and the offset', async (t) => {
  for (const [what, type, a, names, offset] of MALFORMED) {
    let err: unknown = null;
    try {
      decode(type, bytes(a));
    } catch (e) {
      err = e;
    }
    if (!(err instanceof WireError)) {
      t.fail(`${what}: threw ${String(err)}`);
      continue;
    }
    t.ok(err instanceof Error, `${what}: an Error`);
    t.match(err.message, `cannot decode ${type.name}:`, `${what}: the decoded type leads the message`);
    t.match(err.message, `${names === type.name ? '' : `${names} `}at byte ${offset}:`, `${what}: ${err.message}`);
    t.strictSame([err.messageType, err.offset], [names, offset], `${what}: the error's fields`);
  }
});

t.test('the service hands malformed answers to grpc-js as exceptions', async (t) => {
  const { service } = podResourcesApi();
  t.throws(() => service.List!.responseDeserialize(Buffer.from([0x0a, 0x10, 0x0a])), /cannot decode v1\.ListPodResourcesResponse: at byte 1: field 1 has length 16 but 1 byte is left/);
  t.throws(() => service.GetAllocatableResources!.responseDeserialize(Buffer.from([0x0f])), /wire type 7/);
});

// ---------------------------------------------------------------------------------------------
// the encoder

t.test('the encoder leaves out defaults, writes set optionals and empty sub-messages, packs int64', async (t) => {
  t.equal(encode(V1.ListPodResourcesResponse, { pod_resources: [] }).length, 0);
  t.equal(encode(V1.ListPodResourcesRequest, {}).length, 0);
  t.equal(encode(V1.AllocatableResourcesRequest, {}).length, 0);
  t.strictSame([...encode(V1.ContainerMemory, { memory_type: '', size: '0', topology: null })], []);
  t.strictSame([...encode(V1.ContainerDevices, { resource_name: '', device_ids: [], topology: { nodes: [] } })], [0x1a, 0x00]);
  t.strictSame([...encode(V1.ClaimResource, { share_id: '' })], [0x2a, 0x00], 'share_id set to "" is written');
  t.strictSame([...encode(V1.ClaimResource, { share_id: null, _share_id: 'share_id' })], [], 'null is unset; the oneof key is ignored');
  t.strictSame([...encode(V1.PodResources, { cpu_ids: ['1', '300'] })], [0x22, 0x03, 0x01, 0xac, 0x02], 'one packed run');
  t.strictSame([...encode(V1.NUMANode, { ID: '-1' })], [0x08, ...TEN_FF.slice(0, 9), 0x01], 'negative int64 in 10 bytes');
  t.strictSame(
    [...encode(V1.GetPodResourcesRequest, { pod_name: 'p', pod_namespace: 'n' })],
    [0x0a, 0x01, 0x70, 0x12, 0x01, 0x6e],
  );
  const long = 'é'.repeat(100); // 200 bytes: a two-byte length prefix
  const b = encode(V1.CDIDevice, { name: long });
  t.strictSame([...b.subarray(0, 3)], [0x0a, 0xc8, 0x01]);
  t.equal(decode(V1.CDIDevice, b).name, long);
});

t.test('the encoder takes 64-bit integers as strings, numbers or bigints', async (t) => {
  const asStrings = encode(V1.AllocatableResourcesResponse, { cpu_ids: ['0', '5', '9007199254740993', '-5', '-9223372036854775808'] });
  const mixed = encode(V1.AllocatableResourcesResponse, { cpu_ids: [0, 5n, 9007199254740993n, -5, -(2n ** 63n)] });
  t.strictSame(mixed, asStrings);
  t.strictSame(encode(V1.ContainerMemory, { size: 2 ** 60 }), encode(V1.ContainerMemory, { size: '1152921504606846976' }), 'an unsafe but integral number');
});

t.test('the encoder rejects values that do not fit, naming where they are', async (t) => {
  const L = V1.ListPodResourcesResponse;
  const pod = (c: object) => ({ pod_resources: [{ name: 'p', containers: [c] }] });
  t.throws(() => encode(L, pod({ cpu_ids: ['1', '1.5'] })), /cannot encode v1\.ListPodResourcesResponse: pod_resources\[0\]\.containers\[0\]\.cpu_ids\[1\] is not a signed 64-bit integer \("1\.5"\)/);
  t.throws(() => encode(L, pod({ cpu_ids: ['9223372036854775808'] })), /cpu_ids\[0\] is not a signed 64-bit integer/);
  t.throws(() => encode(L, pod({ cpu_ids: [0.5] })), /cpu_ids\[0\] is not a signed/);
  t.throws(() => encode(L, pod({ memory: [{ size: '-1' }] })), /memory\[0\]\.size is not an unsigned 64-bit integer/);
  t.throws(() => encode(L, pod({ memory: [{ size: 2n ** 64n }] })), /size is not an unsigned 64-bit integer/);
  t.throws(() => encode(L, pod({ name: 5 })), /containers\[0\]\.name is not a string \(number\)/);
  t.throws(() => encode(L, pod({ devices: 'GPU-a' })), /containers\[0\]\.devices is not a list/);
  t.throws(() => encode(L, pod({ devices: [null] })), /containers\[0\]\.devices\[0\] is not an object/);
  t.throws(() => encode(L, { pod_resources: [{ containers: [{ devices: [{ topology: 'x' }] }] }] }), /devices\[0\]\.topology is not an object/);
  t.throws(() => encode(L, [] as object), /the message is not an object/);
});

// ---------------------------------------------------------------------------------------------
// the gRPC service

t.test('the service has the methods proto-loader described, and a client for them', async (t) => {
  const { service, Client } = podResourcesApi();
  t.strictSame(Object.keys(service).sort(), ['Get', 'GetAllocatableResources', 'List']);
  for (const name of ['List', 'GetAllocatableResources', 'Get'] as const) {
    const ours = service[name]!;
    const theirs = pl[name];
    t.strictSame(
      [ours.path, ours.requestStream, ours.responseStream, ours.originalName],
      [theirs.path, theirs.requestStream, theirs.responseStream, theirs.originalName],
      name,
    );
  }
  t.strictSame(service.List!.requestSerialize({}), Buffer.alloc(0));
  t.strictSame(service.Get!.requestDeserialize(pl.Get.requestSerialize({ pod_name: 'p', pod_namespace: 'n' })), { pod_name: 'p', pod_namespace: 'n' });
  t.equal(Client.service, service);
  const client = new Client('unix:///nonexistent/kubelet.sock', grpc.credentials.createInsecure()) as unknown as Record<string, unknown>;
  t.teardown(() => (client as unknown as grpc.Client).close());
  for (const m of ['List', 'GetAllocatableResources', 'Get', 'list', 'getAllocatableResources', 'get']) t.type(client[m], 'function', m);
});

// ---------------------------------------------------------------------------------------------
// no protobuf runtime under lib/kubernetes

t.test('lib/kubernetes has no runtime import of @grpc/proto-loader or protobufjs', async (t) => {
  const dir = join(repo, 'lib', 'kubernetes');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  t.ok(files.includes('proto.ts') && files.includes('wire.ts'));
  const spec = String.raw`['"](?:@grpc/proto-loader|protobufjs)(?:/[^'"]*)?['"]`;
  for (const f of files) {
    const src = readFileSync(join(dir, f), 'utf8');
    const runtime = [
      ...src.matchAll(new RegExp(String.raw`^\s*(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s*${spec}`, 'gm')),
      ...src.matchAll(new RegExp(String.raw`^\s*import\s*${spec}`, 'gm')),
      ...src.matchAll(new RegExp(String.raw`\b(?:import|require)\s*\(\s*${spec}`, 'g')),
    ];
    t.strictSame(runtime.map((m) => m[0].trim()), [], `${f} loads no protobuf runtime`);
  }
  // the detector finds what it should
  t.ok(new RegExp(String.raw`\b(?:import|require)\s*\(\s*${spec}`).test(`await import('@grpc/proto-loader')`));
  t.ok(new RegExp(String.raw`^\s*(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s*${spec}`, 'm').test(`import * as protoLoader from '@grpc/proto-loader';`));
});

t.test('using the client and the simulated kubelet loads neither module', async (t) => {
  // a fresh process: this one has loaded proto-loader for the comparisons above
  const code = `
    import { createRequire } from 'node:module';
    const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((p) => /[\\\\/](@grpc[\\\\/]proto-loader|protobufjs)[\\\\/]/.test(p)).length;
    const { podResourcesApi } = await import('./lib/kubernetes/proto.ts');
    await import('./lib/kubernetes/client.ts');
    await import('./lib/kubernetes/sim-kubelet.ts');
    await import('./lib/kubernetes/attribution.ts');
    podResourcesApi();
    const before = loaded();
    await import('@grpc/proto-loader');
    console.log(JSON.stringify({ before, after: loaded() }));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: repo, encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { before?: number; after?: number };
  t.equal(out.before, 0, 'none loaded by lib/kubernetes');
  t.ok((out.after ?? 0) > 0, 'the check sees proto-loader once it is loaded');
});
