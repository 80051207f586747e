// A bound on what a kubelet answer decodes into, checked before it is decoded (issue 14 item 8).
// Bytes are already capped (16 MiB), but protobuf amplifies: an empty repeated entry is 2 bytes
// on the wire and a whole object once decoded, so 15 MB of them became 7.8 million objects and a
// heap abort. This walks the wire format with protobufjs's Reader, counting every entry (pods,
// containers, devices, device IDs, CPU IDs, memory blocks, NUMA nodes, claims) without building
// anything, and stops at the first entry past the bound: the scan of a hostile answer ends after
// `maxEntries` fields, a real one costs a fraction of its decode.
//
// The message shapes are ours (proto/podresources_v1.proto); a field not listed here is skipped
// and counted as one entry.
import protobuf from 'protobufjs/minimal.js';

const { Reader } = protobuf;

/** A real node: a few hundred pods with a few containers each and their devices and CPUs. */
export const POD_RESOURCES_MAX_ENTRIES = 200_000;

export class AmplificationError extends Error {
  constructor(readonly entries: number, readonly max: number) {
    super(`the answer holds more than ${max} entries (pods, containers, devices, IDs); it is not decoded`);
    this.name = 'AmplificationError';
  }
}

/** Bytes that are not a well-formed message (a length past the end, an illegal tag, groups too deep). */
export class MalformedAnswerError extends Error {
  constructor(why: string) {
    super(`the answer is not a well-formed message: ${why}`);
    this.name = 'MalformedAnswerError';
  }
}

/** field number → the nested message it holds ('packed' = a packed repeated scalar) */
interface Shape {
  [field: number]: Shape | 'packed' | undefined;
}

const NUMA: Shape = {};
const TOPOLOGY: Shape = { 1: NUMA };
const DEVICES: Shape = { 3: TOPOLOGY };
const MEMORY: Shape = { 3: TOPOLOGY };
const CDI: Shape = {};
const CLAIM_RESOURCE: Shape = { 1: CDI };
const DYNAMIC: Shape = { 4: CLAIM_RESOURCE };
const CONTAINER: Shape = { 2: DEVICES, 3: 'packed', 4: MEMORY, 5: DYNAMIC };
const POD: Shape = { 3: CONTAINER, 4: 'packed', 5: MEMORY };
export const LIST_RESPONSE: Shape = { 1: POD };
export const ALLOCATABLE_RESPONSE: Shape = { 1: DEVICES, 2: 'packed', 3: MEMORY };

/**
 * Throws AmplificationError when `bytes` would decode into more than `maxEntries` entries, and
 * MalformedAnswerError when they are not a well-formed message. Returns the number of entries.
 */
export function checkEntries(bytes: Uint8Array, shape: Shape, maxEntries = POD_RESOURCES_MAX_ENTRIES): number {
  let count = 0;
  const walk = (r: protobuf.Reader, end: number, s: Shape): void => {
    while (r.pos < end) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (++count > maxEntries) throw new AmplificationError(count, maxEntries);
      const nested = s[field];
      if (wire === 2) {
        const len = r.uint32();
        const stop = r.pos + len;
        if (stop > end) throw new MalformedAnswerError('a length runs past the end of the message');
        if (nested === 'packed') {
          // each varint of a packed list is one element: count them without decoding
          for (let i = r.pos; i < stop; i++) if ((r.buf[i]! & 0x80) === 0 && ++count > maxEntries) throw new AmplificationError(count, maxEntries);
          r.pos = stop;
        } else if (nested) {
          walk(r, stop, nested);
          r.pos = stop;
        } else {
          r.pos = stop;
        }
      } else {
        r.skipType(wire);
      }
    }
  };
  const reader = Reader.create(bytes);
  try {
    walk(reader, bytes.length, shape);
  } catch (err) {
    if (err instanceof AmplificationError || err instanceof MalformedAnswerError) throw err;
    throw new MalformedAnswerError((err as Error).message); // the Reader's own errors
  }
  return count;
}
