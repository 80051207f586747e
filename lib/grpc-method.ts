// gRPC method definitions over the protobuf codecs that protobufjs generates at build time from
// proto/*.proto (lib/gen/, scripts/gen-proto.mjs). The wire encoding and decoding are the
// generated code's; this file only tells @grpc/grpc-js which codec serves which method path.
// Decoded messages are plain objects of the full shape (field names as in the .proto, absent
// strings '', absent lists [], absent sub-messages null, 64-bit integers as decimal strings, a
// proto3 `optional` field only when sent), so the rest of the code reads
// them like any object, whichever peer built them.
import type { MethodDefinition } from '@grpc/grpc-js';
import type { IConversionOptions, Writer } from 'protobufjs';

/** What the generated code offers for one message type (static methods of its class). */
export interface GeneratedMessage<T> {
  encode(message: object, writer?: Writer): Writer;
  decode(reader: Uint8Array): unknown;
  fromObject(object: Record<string, unknown>): unknown;
  toObject(message: never, options?: IConversionOptions): Record<string, unknown>;
  /** phantom: the plain shape of a decoded message */
  readonly __plain?: T;
}

export const DECODE_OPTIONS: IConversionOptions = { longs: String, enums: String, defaults: true, arrays: true, oneofs: true };

/** Encodes a plain object (as built by a peer or a test) through the generated fromObject + encode. */
export function encodeMessage(type: GeneratedMessage<unknown>, value: object): Buffer {
  const w = type.encode(type.fromObject(value as Record<string, unknown>) as object);
  const bytes = w.finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes bytes into the plain shape. Throws (the generated decoder's error) on malformed input. */
export function decodeMessage<T>(type: GeneratedMessage<T>, bytes: Uint8Array, options: IConversionOptions = DECODE_OPTIONS): T {
  return type.toObject(type.decode(bytes) as never, options) as T;
}

/** A gRPC method definition for `/<service>/<method>` over the generated codecs. */
export function grpcMethod<Req, Res>(
  service: string,
  method: string,
  req: GeneratedMessage<Req>,
  res: GeneratedMessage<Res>,
  opts: {
    responseStream?: boolean;
    /** how 64-bit integers decode (default decimal strings) */
    longs?: typeof String | typeof Number;
    /** runs on a response's bytes before they are decoded; throws to refuse them (a bound) */
    checkResponse?: (bytes: Buffer) => void;
  } = {},
): MethodDefinition<Req, Res> {
  const decode = opts.longs ? { ...DECODE_OPTIONS, longs: opts.longs } : DECODE_OPTIONS;
  return {
    path: `/${service}/${method}`,
    requestStream: false,
    responseStream: opts.responseStream ?? false,
    requestSerialize: (v: Req) => encodeMessage(req, v as object),
    requestDeserialize: (b: Buffer) => decodeMessage(req, b, decode),
    responseSerialize: (v: Res) => encodeMessage(res, v as object),
    responseDeserialize: (b: Buffer) => {
      opts.checkResponse?.(b);
      return decodeMessage(res, b, decode);
    },
    // the method's name in lowerCamelCase, which grpc-js also puts on the client
    originalName: method[0]!.toLowerCase() + method.slice(1),
  };
}
