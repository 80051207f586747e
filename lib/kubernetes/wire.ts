// The protobuf wire format (proto3) of the kubelet PodResources v1 messages, by hand, so that the
// exporter needs no general protobuf runtime. Each message is a small table (field number, name,
// kind) read by one decoder and one encoder. Decoded objects have the shape @grpc/proto-loader
// gives with { keepCase, longs: String, defaults, arrays, oneofs }: names as in the .proto, every
// repeated field an array, absent strings '', 64-bit integers as exact decimal strings ('0' when
// absent), absent sub-messages null, and the proto3 `optional` field (share_id) present only when
// sent, together with its synthetic oneof (`_share_id: 'share_id'`). Malformed input throws a
// WireError naming the message type and the byte offset.

export type FieldKind = 'string' | 'int64' | 'uint64' | 'message';

export interface FieldSpec {
  readonly no: number;
  readonly name: string;
  readonly kind: FieldKind;
  readonly repeated: boolean;
  /** proto3 `optional`: has presence, decoded with its synthetic oneof `_<name>` */
  readonly optional: boolean;
  /** the field's message type, for kind 'message' */
  readonly type: MessageType | null;
}

export interface MessageType {
  /** full name, e.g. `v1.PodResources` */
  readonly name: string;
  /** in field-number order */
  readonly fields: readonly FieldSpec[];
  /** the fields by number */
  readonly byNo: readonly (FieldSpec | undefined)[];
}

type FieldDecl = [no: number, name: string, kind: Exclude<FieldKind, 'message'> | MessageType, mode?: 'repeated' | 'optional'];

function message(name: string, decls: FieldDecl[]): MessageType {
  const fields: FieldSpec[] = decls
    .map(([no, fname, kind, mode]) => ({
      no,
      name: fname,
      kind: typeof kind === 'string' ? kind : ('message' as const),
      repeated: mode === 'repeated',
      optional: mode === 'optional',
      type: typeof kind === 'string' ? null : kind,
    }))
    .sort((a, b) => a.no - b.no);
  const byNo: (FieldSpec | undefined)[] = [];
  for (const f of fields) byNo[f.no] = f;
  return { name: `v1.${name}`, fields, byNo };
}

// proto/podresources_v1.proto, innermost messages first
const CDIDevice = message('CDIDevice', [[1, 'name', 'string']]);
const ClaimResource = message('ClaimResource', [
  [1, 'cdi_devices', CDIDevice, 'repeated'],
  [2, 'driver_name', 'string'],
  [3, 'pool_name', 'string'],
  [4, 'device_name', 'string'],
  [5, 'share_id', 'string', 'optional'],
]);
const DynamicResource = message('DynamicResource', [
  [2, 'claim_name', 'string'],
  [3, 'claim_namespace', 'string'],
  [4, 'claim_resources', ClaimResource, 'repeated'],
]);
const NUMANode = message('NUMANode', [[1, 'ID', 'int64']]);
const TopologyInfo = message('TopologyInfo', [[1, 'nodes', NUMANode, 'repeated']]);
const ContainerMemory = message('ContainerMemory', [
  [1, 'memory_type', 'string'],
  [2, 'size', 'uint64'],
  [3, 'topology', TopologyInfo],
]);
const ContainerDevices = message('ContainerDevices', [
  [1, 'resource_name', 'string'],
  [2, 'device_ids', 'string', 'repeated'],
  [3, 'topology', TopologyInfo],
]);
const ContainerResources = message('ContainerResources', [
  [1, 'name', 'string'],
  [2, 'devices', ContainerDevices, 'repeated'],
  [3, 'cpu_ids', 'int64', 'repeated'],
  [4, 'memory', ContainerMemory, 'repeated'],
  [5, 'dynamic_resources', DynamicResource, 'repeated'],
]);
const PodResources = message('PodResources', [
  [1, 'name', 'string'],
  [2, 'namespace', 'string'],
  [3, 'containers', ContainerResources, 'repeated'],
  [4, 'cpu_ids', 'int64', 'repeated'],
  [5, 'memory', ContainerMemory, 'repeated'],
]);

/** The PodResources v1 message types. */
export const V1 = {
  ListPodResourcesRequest: message('ListPodResourcesRequest', []),
  ListPodResourcesResponse: message('ListPodResourcesResponse', [[1, 'pod_resources', PodResources, 'repeated']]),
  AllocatableResourcesRequest: message('AllocatableResourcesRequest', []),
  AllocatableResourcesResponse: message('AllocatableResourcesResponse', [
    [1, 'devices', ContainerDevices, 'repeated'],
    [2, 'cpu_ids', 'int64', 'repeated'],
    [3, 'memory', ContainerMemory, 'repeated'],
  ]),
  GetPodResourcesRequest: message('GetPodResourcesRequest', [
    [1, 'pod_name', 'string'],
    [2, 'pod_namespace', 'string'],
  ]),
  GetPodResourcesResponse: message('GetPodResourcesResponse', [[1, 'pod_resources', PodResources]]),
  PodResources,
  ContainerResources,
  ContainerDevices,
  ContainerMemory,
  TopologyInfo,
  NUMANode,
  DynamicResource,
  ClaimResource,
  CDIDevice,
} as const;

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;
const MAX_FIELD_NUMBER = 2 ** 29 - 1;

// ---------------------------------------------------------------------------------------------
// decoding

/** Bytes that are not a valid message of the type being decoded. */
export class WireError extends Error {
  override readonly name = 'WireError';
  constructor(
    /** the message being read when the problem was found (may be nested in `rootType`) */
    readonly messageType: string,
    /** offset of the offending varint, tag, length or value from the start of the input */
    readonly offset: number,
    readonly rootType: string,
    what: string,
  ) {
    super(
      rootType === messageType
        ? `cannot decode ${rootType}: at byte ${offset}: ${what}`
        : `cannot decode ${rootType}: ${messageType} at byte ${offset}: ${what}`,
    );
  }
}

interface Reader {
  readonly buf: Buffer;
  pos: number;
  readonly root: string;
}

function fail(r: Reader, type: MessageType, offset: number, what: string): never {
  throw new WireError(type.name, offset, r.root, what);
}

/** A varint as a Number: exact below 2^53, which is all tags and lengths need. */
function readVarint(r: Reader, end: number, type: MessageType): number {
  const start = r.pos;
  const buf = r.buf;
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (r.pos >= end) fail(r, type, start, 'varint runs past the end of the message');
    const b = buf[r.pos++]!;
    value += (b & 0x7f) * mul;
    if (b < 0x80) return value;
    mul *= 128;
  }
  fail(r, type, start, 'varint is longer than 10 bytes');
}

/** A 64-bit varint as a decimal string; bits above the 64th (a 10th byte over 1) are dropped. */
function readInt64(r: Reader, end: number, type: MessageType, signed: boolean): string {
  const start = r.pos;
  const buf = r.buf;
  // the first 7 bytes hold 49 bits, exact as a Number; a longer varint goes on as a BigInt
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 7; i++) {
    if (r.pos >= end) fail(r, type, start, 'varint runs past the end of the message');
    const b = buf[r.pos++]!;
    value += (b & 0x7f) * mul;
    if (b < 0x80) return String(value);
    mul *= 128;
  }
  let big = BigInt(value);
  let shift = 49n;
  for (let i = 7; i < 10; i++) {
    if (r.pos >= end) fail(r, type, start, 'varint runs past the end of the message');
    const b = buf[r.pos++]!;
    big |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return (signed ? BigInt.asIntN(64, big) : BigInt.asUintN(64, big)).toString();
    shift += 7n;
  }
  fail(r, type, start, 'varint is longer than 10 bytes');
}

/** A length prefix, checked against what is left of the enclosing message. */
function readLength(r: Reader, end: number, type: MessageType, fieldNo: number): number {
  const at = r.pos;
  const len = readVarint(r, end, type);
  const left = end - r.pos;
  if (len > left) fail(r, type, at, `field ${fieldNo} has length ${len} but ${left} byte${left === 1 ? ' is' : 's are'} left`);
  return len;
}

function skip(r: Reader, end: number, type: MessageType, wireType: number, fieldNo: number): void {
  switch (wireType) {
    case WIRE_VARINT:
      readVarint(r, end, type);
      return;
    case WIRE_LEN: {
      const len = readLength(r, end, type, fieldNo); // before reading r.pos, which it moves
      r.pos += len;
      return;
    }
    case WIRE_I64:
    case WIRE_I32: {
      const n = wireType === WIRE_I64 ? 8 : 4;
      if (end - r.pos < n) fail(r, type, r.pos, `field ${fieldNo} needs ${n} bytes but ${end - r.pos} are left`);
      r.pos += n;
      return;
    }
  }
}

function emptyMessage(type: MessageType): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  // proto-loader's order: the repeated fields, then the others
  for (const f of type.fields) if (f.repeated) o[f.name] = [];
  for (const f of type.fields) {
    if (f.repeated || f.optional) continue;
    o[f.name] = f.kind === 'string' ? '' : f.kind === 'message' ? null : '0';
  }
  return o;
}

function decodeFields(r: Reader, type: MessageType, end: number, o: Record<string, unknown>): void {
  const buf = r.buf;
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = readVarint(r, end, type);
    const no = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (no === 0) fail(r, type, tagAt, 'field number 0');
    if (no > MAX_FIELD_NUMBER) fail(r, type, tagAt, `field number ${no} is out of range`);
    if (wireType === 3 || wireType === 4) fail(r, type, tagAt, `field ${no} has wire type ${wireType} (groups are not accepted)`);
    if (wireType > 5) fail(r, type, tagAt, `field ${no} has invalid wire type ${wireType}`);
    const f = type.byNo[no];
    if (f === undefined) {
      skip(r, end, type, wireType, no);
      continue;
    }
    const wrong = (want: string): never =>
      fail(r, type, tagAt, `field ${no} (${f.name}) has wire type ${wireType}, expected ${want}`);
    switch (f.kind) {
      case 'string': {
        if (wireType !== WIRE_LEN) wrong(String(WIRE_LEN));
        const len = readLength(r, end, type, no);
        const s = buf.toString('utf8', r.pos, r.pos + len);
        r.pos += len;
        if (f.repeated) (o[f.name] as string[]).push(s);
        else {
          o[f.name] = s;
          if (f.optional) o[`_${f.name}`] = f.name;
        }
        break;
      }
      case 'int64':
      case 'uint64': {
        const signed = f.kind === 'int64';
        if (wireType === WIRE_VARINT) {
          const v = readInt64(r, end, type, signed);
          if (f.repeated) (o[f.name] as string[]).push(v);
          else {
            o[f.name] = v;
            if (f.optional) o[`_${f.name}`] = f.name;
          }
        } else if (wireType === WIRE_LEN && f.repeated) {
          // packed: varints back to back
          const len = readLength(r, end, type, no);
          const stop = r.pos + len;
          const list = o[f.name] as string[];
          while (r.pos < stop) list.push(readInt64(r, stop, type, signed));
        } else {
          wrong(f.repeated ? `${WIRE_VARINT} or ${WIRE_LEN} (packed)` : String(WIRE_VARINT));
        }
        break;
      }
      case 'message': {
        if (wireType !== WIRE_LEN) wrong(String(WIRE_LEN));
        const len = readLength(r, end, type, no);
        const stop = r.pos + len;
        const sub = f.type!;
        if (f.repeated) {
          const m = emptyMessage(sub);
          decodeFields(r, sub, stop, m);
          (o[f.name] as unknown[]).push(m);
        } else {
          // a singular message sent twice is merged, as the protobuf encoding rules say
          const m = (o[f.name] as Record<string, unknown> | null) ?? emptyMessage(sub);
          decodeFields(r, sub, stop, m);
          o[f.name] = m;
        }
        break;
      }
    }
  }
}

/** Decodes one message of `type`; throws a WireError when the bytes are not one. */
export function decode(type: MessageType, bytes: Uint8Array): Record<string, unknown> {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r: Reader = { buf, pos: 0, root: type.name };
  const o = emptyMessage(type);
  decodeFields(r, type, buf.length, o);
  return o;
}

// ---------------------------------------------------------------------------------------------
// encoding: a first pass checks the values and works out the size of every length-delimited
// part (in the order the second pass meets them), the second writes into one buffer

const MIN_INT64 = -(1n << 63n);
const MAX_INT64 = (1n << 63n) - 1n;
const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A 64-bit integer (number, bigint or decimal string) as the unsigned 64-bit value it is written
 * as: a Number when it is below 2^53, else a BigInt; null when it is not a 64-bit integer.
 */
function to64(v: unknown, signed: boolean): number | bigint | null {
  let big: bigint;
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0) return v;
    if (!Number.isInteger(v)) return null;
    big = BigInt(v);
  } else if (typeof v === 'string') {
    if (!/^-?[0-9]+$/.test(v)) return null;
    if (v.length < 16 && v[0] !== '-') return Number(v);
    big = BigInt(v);
  } else if (typeof v === 'bigint') {
    big = v;
  } else {
    return null;
  }
  if (signed ? big < MIN_INT64 || big > MAX_INT64 : big < 0n || big > MAX_UINT64) return null;
  const u = BigInt.asUintN(64, big);
  return u <= MAX_SAFE ? Number(u) : u;
}

function varintSize(v: number | bigint): number {
  let n = 1;
  if (typeof v === 'number') {
    while (v >= 128) {
      v = Math.floor(v / 128);
      n++;
    }
  } else {
    while (v >= 128n) {
      v >>= 7n;
      n++;
    }
  }
  return n;
}

interface Sizer {
  readonly root: string;
  /** sizes of the length-delimited parts, in the order the writer meets them */
  readonly sizes: number[];
  /** where we are, for error messages: field names and list indices */
  readonly path: (string | number)[];
}

function bad(s: Sizer, what: string): never {
  let where = '';
  for (const p of s.path) where += typeof p === 'number' ? `[${p}]` : where === '' ? p : `.${p}`;
  throw new Error(`cannot encode ${s.root}: ${where === '' ? 'the message' : where} ${what}`);
}

function stringValue(s: Sizer, v: unknown): string {
  if (typeof v !== 'string') bad(s, `is not a string (${typeof v})`);
  return v;
}

function int64Value(s: Sizer, v: unknown, signed: boolean): number | bigint {
  const x = to64(v, signed);
  if (x === null) bad(s, `is not ${signed ? 'a signed' : 'an unsigned'} 64-bit integer (${typeof v === 'string' ? JSON.stringify(v) : String(v)})`);
  return x;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Size of the message's fields; pushes the size of each length-delimited part it contains. */
function sizeFields(s: Sizer, type: MessageType, o: Record<string, unknown>): number {
  let n = 0;
  for (const f of type.fields) {
    const v = o[f.name];
    if (v === undefined || v === null) continue;
    const key = varintSize(f.no * 8);
    s.path.push(f.name);
    if (f.repeated) {
      if (!Array.isArray(v)) bad(s, 'is not a list');
      if (f.kind === 'int64' || f.kind === 'uint64') {
        if (v.length > 0) {
          // packed
          let payload = 0;
          for (let i = 0; i < v.length; i++) {
            s.path.push(i);
            payload += varintSize(int64Value(s, v[i], f.kind === 'int64'));
            s.path.pop();
          }
          s.sizes.push(payload);
          n += key + varintSize(payload) + payload;
        }
      } else {
        for (let i = 0; i < v.length; i++) {
          s.path.push(i);
          n += key + sizeLen(s, f, v[i]);
          s.path.pop();
        }
      }
    } else if (f.kind === 'int64' || f.kind === 'uint64') {
      const x = int64Value(s, v, f.kind === 'int64');
      if (x !== 0 || f.optional) n += key + varintSize(x);
    } else if (f.kind !== 'string' || v !== '' || f.optional) {
      n += key + sizeLen(s, f, v);
    }
    s.path.pop();
  }
  return n;
}

/** Size of a string or sub-message field's length prefix and payload. */
function sizeLen(s: Sizer, f: FieldSpec, v: unknown): number {
  let len: number;
  if (f.kind === 'string') {
    len = Buffer.byteLength(stringValue(s, v), 'utf8');
  } else {
    if (!isObject(v)) bad(s, 'is not an object');
    const slot = s.sizes.length;
    s.sizes.push(0);
    len = sizeFields(s, f.type!, v);
    s.sizes[slot] = len;
  }
  return varintSize(len) + len;
}

interface Writer {
  readonly buf: Buffer;
  pos: number;
  readonly sizes: readonly number[];
  /** the next entry of sizes */
  next: number;
}

function writeVarint(w: Writer, v: number | bigint): void {
  const buf = w.buf;
  if (typeof v === 'number') {
    while (v >= 128) {
      buf[w.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[w.pos++] = v;
  } else {
    while (v >= 128n) {
      buf[w.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    buf[w.pos++] = Number(v);
  }
}

/** Writes what sizeFields measured; the values were checked there. */
function writeFields(w: Writer, type: MessageType, o: Record<string, unknown>): void {
  for (const f of type.fields) {
    const v = o[f.name];
    if (v === undefined || v === null) continue;
    const is64 = f.kind === 'int64' || f.kind === 'uint64';
    if (f.repeated) {
      const list = v as unknown[];
      if (is64) {
        if (list.length === 0) continue;
        writeVarint(w, f.no * 8 + WIRE_LEN);
        writeVarint(w, w.sizes[w.next++]!);
        for (const x of list) writeVarint(w, to64(x, f.kind === 'int64')!);
      } else {
        for (const x of list) writeLen(w, f, x);
      }
    } else if (is64) {
      const x = to64(v, f.kind === 'int64')!;
      if (x === 0 && !f.optional) continue;
      writeVarint(w, f.no * 8 + WIRE_VARINT);
      writeVarint(w, x);
    } else if (f.kind !== 'string' || v !== '' || f.optional) {
      writeLen(w, f, v);
    }
  }
}

function writeLen(w: Writer, f: FieldSpec, v: unknown): void {
  writeVarint(w, f.no * 8 + WIRE_LEN);
  if (f.kind === 'string') {
    const str = v as string;
    writeVarint(w, Buffer.byteLength(str, 'utf8'));
    w.pos += w.buf.write(str, w.pos, 'utf8');
  } else {
    writeVarint(w, w.sizes[w.next++]!);
    writeFields(w, f.type!, v as Record<string, unknown>);
  }
}

/**
 * Encodes `value` as a message of `type`. Fields holding their default value ('' , 0, an empty
 * list, null) are left out, as proto3 does; an `optional` field is written whenever it is set;
 * repeated integers are packed. Keys that are not fields (such as `_share_id`) are ignored.
 */
export function encode(type: MessageType, value: object): Buffer {
  const s: Sizer = { root: type.name, sizes: [], path: [] };
  if (!isObject(value)) bad(s, 'is not an object');
  const n = sizeFields(s, type, value);
  const w: Writer = { buf: Buffer.allocUnsafe(n), pos: 0, sizes: s.sizes, next: 0 };
  writeFields(w, type, value);
  if (w.pos !== n) throw new Error(`cannot encode ${type.name}: wrote ${w.pos} bytes of ${n} (the message changed while being encoded)`);
  return w.buf;
}
