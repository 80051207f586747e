// KEDA's externalscaler.ExternalScaler over @grpc/grpc-js. Every RPC answers from the documents in
// memory (the cluster view, or one node's snapshot in node-local mode); nothing here waits on an
// exporter. Methods the service does not declare (StreamMetricSpec, …) get UNIMPLEMENTED from grpc-js.
import { rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { GpusDocument } from '../contract/gpus-document.js';
import { bindTcp, type ListenAddress } from '../contract/address.js';
import { silentLogger, type Logger } from '../logger.js';
import { compute, toInt, type ScalerResult } from './compute.js';
import { externalScalerApi, type ScaledObjectRefMsg } from './keda-api.js';
import { parseQuery, ScalerParamError, type ParseOptions, type ScalerQuery } from './query.js';

export type { ScaledObjectRefMsg };

/** Where the scaler reads GPUs from. */
export interface ScalerSource {
  /** fresh documents, one per node */
  documents(): readonly GpusDocument[];
  /** called after a pull that changed something; returns the unsubscribe function */
  onChange(listener: () => void): () => void;
}

export type RpcMethod = 'IsActive' | 'StreamIsActive' | 'GetMetricSpec' | 'GetMetrics';

export interface ScalerServerOptions extends ParseOptions {
  source: ScalerSource;
  logger?: Logger;
  /** called once per finished RPC with its gRPC status code name (OK, INVALID_ARGUMENT, …) */
  onRpc?: (method: RpcMethod, code: string) => void;
}

function statusName(code: grpc.status): string {
  return grpc.status[code] ?? String(code);
}

export interface ScalerGrpcServer {
  server: grpc.Server;
  /** binds and starts; resolves to the bound port (1 for a unix socket); `:port` binds dual stack where the host has IPv6 */
  listen(address: ListenAddress): Promise<number>;
  close(): Promise<void>;
}

export function createScalerServer(opts: ScalerServerOptions): ScalerGrpcServer {
  const log = opts.logger ?? silentLogger;
  const onRpc = opts.onRpc ?? (() => {});
  const source = opts.source;
  const queries = new Map<string, ScalerQuery>();
  const streams = new Set<() => void>();

  // a query per distinct (name, namespace, metadata); bounded so odd clients cannot grow it forever
  const queryFor = (ref: ScaledObjectRefMsg | null | undefined): ScalerQuery => {
    const r: ScaledObjectRefMsg = { name: ref?.name ?? '', namespace: ref?.namespace ?? '', scalerMetadata: ref?.scalerMetadata ?? {} };
    const key = JSON.stringify([r.name, r.namespace, Object.entries(r.scalerMetadata).sort()]);
    let q = queries.get(key);
    if (!q) {
      q = parseQuery(r, opts);
      if (queries.size >= 1000) queries.clear();
      queries.set(key, q);
    }
    return q;
  };
  const evaluate = (q: ScalerQuery): ScalerResult => compute(source.documents(), q);

  const fail = (method: RpcMethod, err: unknown): grpc.ServiceError => {
    const code = err instanceof ScalerParamError ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL;
    if (code === grpc.status.INTERNAL) log.error('scaler RPC failed', { method, error: err as Error });
    onRpc(method, statusName(code));
    const e = new Error((err as Error).message) as grpc.ServiceError;
    e.code = code;
    e.details = (err as Error).message;
    return e;
  };

  function unary<Req, Res>(method: RpcMethod, handle: (req: Req) => Res): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      let res: Res;
      try {
        res = handle(call.request);
      } catch (err) {
        callback(fail(method, err));
        return;
      }
      onRpc(method, 'OK');
      callback(null, res);
    };
  }

  const handlers: grpc.UntypedServiceImplementation = {
    IsActive: unary<ScaledObjectRefMsg, { result: boolean }>('IsActive', (ref) => ({ result: evaluate(queryFor(ref)).active })),
    GetMetricSpec: unary<ScaledObjectRefMsg, unknown>('GetMetricSpec', (ref) => {
      const q = queryFor(ref);
      return { metricSpecs: [{ metricName: q.metricName, targetSize: Math.max(1, Math.round(q.targetValue)), targetSizeFloat: q.targetValue }] };
    }),
    GetMetrics: unary<{ scaledObjectRef: ScaledObjectRefMsg; metricName: string }, unknown>('GetMetrics', (req) => {
      const q = queryFor(req.scaledObjectRef);
      const v = evaluate(q).metricValue;
      return { metricValues: [{ metricName: req.metricName || q.metricName, metricValue: toInt(v), metricValueFloat: v }] };
    }),
    StreamIsActive: (call: grpc.ServerWritableStream<ScaledObjectRefMsg, { result: boolean }>) => {
      let q: ScalerQuery;
      try {
        q = queryFor(call.request);
      } catch (err) {
        call.emit('error', fail('StreamIsActive', err));
        return;
      }
      let last: boolean | null = null;
      let closed = false;
      const send = (force: boolean) => {
        if (closed) return;
        let active: boolean;
        try {
          active = evaluate(q).active;
        } catch (err) {
          log.error('StreamIsActive evaluation failed', { error: err as Error });
          return;
        }
        if (!force && active === last) return;
        last = active;
        call.write({ result: active });
      };
      const unsubscribe = source.onChange(() => send(false));
      const keepalive = setInterval(() => send(true), q.pollIntervalSeconds * 1000);
      keepalive.unref();
      const cleanup = () => {
        if (closed) return;
        closed = true;
        unsubscribe();
        clearInterval(keepalive);
        streams.delete(end);
        onRpc('StreamIsActive', call.cancelled ? 'CANCELLED' : 'OK');
      };
      const end = () => {
        cleanup();
        call.end();
      };
      streams.add(end);
      call.on('cancelled', cleanup);
      call.on('close', cleanup);
      call.on('error', cleanup);
      send(true);
    },
  };

  const server = new grpc.Server();
  server.addService(externalScalerApi().service, handlers);
  let socketPath: string | null = null; // removed on close

  return {
    server,
    async listen(address) {
      const bind = (target: string) =>
        new Promise<number>((resolve, reject) => {
          server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
        });
      try {
        if (address.kind === 'unix') {
          socketPath = address.path;
          rmSync(socketPath, { force: true });
          return await bind(`unix://${address.path}`);
        }
        return (await bindTcp(address, (host, port) => bind(`${host.includes(':') ? `[${host}]` : host}:${port}`))).result;
      } catch (err) {
        throw new Error(`cannot listen for gRPC on ${address.text}: ${(err as Error).message}`, { cause: err });
      }
    },
    close() {
      for (const end of [...streams]) end();
      return new Promise((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          if (socketPath) rmSync(socketPath, { force: true });
          resolve();
        });
      });
    },
  };
}
