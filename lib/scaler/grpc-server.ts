// KEDA's externalscaler.ExternalScaler over @grpc/grpc-js. Every RPC answers from the documents in
// memory (the cluster view, or one node's snapshot in node-local mode); nothing here waits on an
// exporter. Methods the service does not declare (StreamMetricSpec, …) get UNIMPLEMENTED from grpc-js.
//
// Requests are untrusted (any tenant's ScaledObject): the message size, the metadata, the parsed
// query cache (an LRU with a byte budget), the open streams, the connections (an idle timeout and
// a cap, on our own listening socket that hands connections to grpc-js) and the CPU of pattern
// matching (linear-time patterns, matched in fair slices: pod-pattern.ts) are all bounded.
import { rmSync } from 'node:fs';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { GpusDocument } from '../contract/gpus-document.js';
import { bindTcp, type ListenAddress } from '../contract/address.js';
import { silentLogger, type Logger } from '../logger.js';
import { compute, podNamesIn, toInt, type ScalerResult } from './compute.js';
import { externalScalerApi, type ScaledObjectRefMsg } from './keda-api.js';
import { FairMatcher } from './pod-pattern.js';
import { checkMetadataSize, parseQuery, ScalerParamError, type ParseOptions, type ScalerQuery } from './query.js';

export type { ScaledObjectRefMsg };

/** Where the scaler reads GPUs from. */
export interface ScalerSource {
  /** fresh documents, one per node (with a query: at least the nodes that query needs) */
  documents(q?: ScalerQuery): readonly GpusDocument[];
  /**
   * called after a pull that changed something, with the node it changed (null or absent: any may
   * have); returns the unsubscribe function
   */
  onChange(listener: (node?: string | null) => void): () => void;
  /** whether a change of `node` can change q's answer (absent: every change can) */
  affects?(q: ScalerQuery, node: string): boolean;
  /**
   * What q's answer depends on, compared item by item (===) with the last evaluation's: while it
   * is the same, the last result is the answer. Absent: every evaluation computes.
   */
  version?(q: ScalerQuery): readonly unknown[];
  /**
   * Called before each evaluation of a query: the cluster view with a pod view marks the workload
   * as wanted and, the first time, pulls its nodes (bounded by the pull deadline).
   */
  prepare?(q: ScalerQuery): Promise<void> | void;
}

export type RpcMethod = 'IsActive' | 'StreamIsActive' | 'GetMetricSpec' | 'GetMetrics';

export interface ScalerServerOptions extends ParseOptions {
  source: ScalerSource;
  logger?: Logger;
  /**
   * called once per finished RPC with its gRPC status code name (OK, INVALID_ARGUMENT, …) and, for
   * a unary RPC, the seconds from its handler's start to its answer (this process's own time for it)
   */
  onRpc?: (method: RpcMethod, code: string, seconds?: number) => void;
  /** bounds (defaults: SCALER_LIMITS) */
  limits?: Partial<ScalerLimits>;
  /** serve TLS (PEM); with clientCa, every client must present a certificate that CA signed */
  tls?: ScalerTls | null;
}

export interface ScalerTls {
  cert: Buffer;
  key: Buffer;
  clientCa?: Buffer | null;
}

export interface ScalerLimits {
  /** largest request message, bytes (a ScaledObjectRef with its metadata is well under 8 KiB) */
  maxMessageBytes: number;
  /** the parsed-query cache: at most this many entries and this many bytes (keys + an estimate per query) */
  queryCacheEntries: number;
  queryCacheBytes: number;
  /** open StreamIsActive streams, all connections together (KEDA opens one per ScaledObject) */
  maxStreams: number;
  /** concurrent TCP or unix-socket connections; more are closed at once */
  maxConnections: number;
  /** a connection with no RPC in flight for this long is closed (GOAWAY; KEDA reconnects) */
  idleConnectionMs: number;
  /** a connection that has sent no byte this long after connecting is closed */
  firstBytesMs: number;
  /** pods of one namespace matched per evaluation; more is RESOURCE_EXHAUSTED */
  maxPodsPerQuery: number;
}

export const SCALER_LIMITS: ScalerLimits = {
  maxMessageBytes: 64 * 1024,
  queryCacheEntries: 4096,
  queryCacheBytes: 8 * 1024 * 1024,
  maxStreams: 10_000,
  maxConnections: 1024,
  idleConnectionMs: 60_000,
  firstBytesMs: 5000,
  maxPodsPerQuery: 200_000,
};

/** Too much work or too many streams: RESOURCE_EXHAUSTED with the message. */
class ScalerLimitError extends Error {}

/** The source cannot answer this query correctly right now (e.g. its nodes have not been pulled yet): UNAVAILABLE, KEDA retries. */
export class ScalerUnavailableError extends Error {}

/** A least-recently-used map with an entry and a byte budget. */
export class ByteLru<V> {
  private readonly map = new Map<string, { v: V; bytes: number }>();
  private total = 0;
  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}
  get(k: string): V | undefined {
    const e = this.map.get(k);
    if (!e) return undefined;
    this.map.delete(k);
    this.map.set(k, e); // most recent last
    return e.v;
  }
  set(k: string, v: V, bytes: number): void {
    const old = this.map.get(k);
    if (old) {
      this.total -= old.bytes;
      this.map.delete(k);
    }
    if (bytes > this.maxBytes) return;
    this.map.set(k, { v, bytes });
    this.total += bytes;
    for (const [key, e] of this.map) {
      if (this.map.size <= this.maxEntries && this.total <= this.maxBytes) break;
      this.map.delete(key);
      this.total -= e.bytes;
    }
  }
  get size(): number {
    return this.map.size;
  }
  get bytes(): number {
    return this.total;
  }
}

function statusName(code: grpc.status): string {
  return grpc.status[code] ?? String(code);
}

export interface ScalerGrpcServer {
  server: grpc.Server;
  /** binds and starts; resolves to the bound port (1 for a unix socket); `:port` binds dual stack where the host has IPv6 */
  listen(address: ListenAddress): Promise<number>;
  /** New connections get this certificate, key and client CA (the files changed); open ones keep theirs. TLS servers only. */
  setTls(tls: ScalerTls): void;
  close(): Promise<void>;
}

export function createScalerServer(opts: ScalerServerOptions): ScalerGrpcServer {
  const log = opts.logger ?? silentLogger;
  const onRpc = opts.onRpc ?? (() => {});
  const source = opts.source;
  const limits: ScalerLimits = { ...SCALER_LIMITS, ...opts.limits };
  const queries = new ByteLru<ScalerQuery>(limits.queryCacheEntries, limits.queryCacheBytes);
  const streams = new Set<() => void>();
  const matcher = new FairMatcher();
  // the last result per query, kept while the source's version for it is unchanged
  const results = new WeakMap<ScalerQuery, { version: readonly unknown[]; result: ScalerResult }>();
  const same = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && a.every((x, i) => x === b[i]);

  // a query per distinct (name, namespace, metadata), parsed once: the metadata is bounded before
  // the key is built, and the cache is an LRU with a byte budget
  const queryFor = (ref: ScaledObjectRefMsg | null | undefined): ScalerQuery => {
    const r: ScaledObjectRefMsg = { name: ref?.name ?? '', namespace: ref?.namespace ?? '', scalerMetadata: ref?.scalerMetadata ?? {} };
    checkMetadataSize(r);
    const key = JSON.stringify([r.name, r.namespace, Object.entries(r.scalerMetadata).sort()]);
    let q = queries.get(key);
    if (!q) {
      q = parseQuery(r, opts);
      queries.set(key, q, 2 * key.length + 1024);
    }
    return q;
  };
  // Pattern matching runs in fair slices (never one long run on the loop); the rest is linear in the
  // query's documents. While nothing the answer depends on has changed, the last result is the answer.
  const evaluate = async (q: ScalerQuery): Promise<ScalerResult> => {
    const ready = source.prepare?.(q);
    if (ready) await ready;
    // read before the documents: a change while computing makes the next evaluation compute again
    const version = source.version?.(q);
    if (version) {
      const last = results.get(q);
      if (last && same(last.version, version)) return last.result;
    }
    const result = await computeFor(q);
    if (version) results.set(q, { version, result });
    return result;
  };
  const computeFor = async (q: ScalerQuery): Promise<ScalerResult> => {
    const docs = source.documents(q);
    if (q.podRule.matcher.trivial) return compute(docs, q);
    const names = podNamesIn(docs, q.namespace);
    if (names.length > limits.maxPodsPerQuery) {
      throw new ScalerLimitError(`namespace ${q.namespace} has ${names.length} pods in view, more than the ${limits.maxPodsPerQuery} a query may match`);
    }
    const matched = await matcher.match(q.podRule.matcher, names);
    return compute(docs, q, (n) => matched.has(n));
  };

  const fail = (method: RpcMethod, err: unknown, t0?: number): grpc.ServiceError => {
    const code =
      err instanceof ScalerParamError ? grpc.status.INVALID_ARGUMENT
        : err instanceof ScalerLimitError ? grpc.status.RESOURCE_EXHAUSTED
          : err instanceof ScalerUnavailableError ? grpc.status.UNAVAILABLE : grpc.status.INTERNAL;
    if (code === grpc.status.INTERNAL) log.error('scaler RPC failed', { method, error: err as Error });
    onRpc(method, statusName(code), t0 === undefined ? undefined : (performance.now() - t0) / 1000);
    const e = new Error((err as Error).message) as grpc.ServiceError;
    e.code = code;
    e.details = (err as Error).message;
    return e;
  };

  function unary<Req, Res>(method: RpcMethod, handle: (req: Req) => Res | Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const t0 = performance.now();
      let res: Promise<Res>;
      try {
        res = Promise.resolve(handle(call.request));
      } catch (err) {
        callback(fail(method, err, t0));
        return;
      }
      res.then(
        (v) => {
          onRpc(method, 'OK', (performance.now() - t0) / 1000);
          callback(null, v);
        },
        (err: unknown) => callback(fail(method, err, t0)),
      );
    };
  }

  const handlers: grpc.UntypedServiceImplementation = {
    IsActive: unary<ScaledObjectRefMsg, { result: boolean }>('IsActive', async (ref) => ({ result: (await evaluate(queryFor(ref))).active })),
    GetMetricSpec: unary<ScaledObjectRefMsg, unknown>('GetMetricSpec', (ref) => {
      const q = queryFor(ref);
      return { metricSpecs: [{ metricName: q.metricName, targetSize: Math.max(1, Math.round(q.targetValue)), targetSizeFloat: q.targetValue }] };
    }),
    GetMetrics: unary<{ scaledObjectRef: ScaledObjectRefMsg; metricName: string }, unknown>('GetMetrics', async (req) => {
      const q = queryFor(req.scaledObjectRef);
      // never negative, never NaN: the HPA would read a negative external metric as a scale-in order
      const r = (await evaluate(q)).metricValue;
      const v = Number.isFinite(r) && r > 0 ? r : 0;
      const name = (req.metricName ?? '').length <= 256 ? req.metricName : '';
      return { metricValues: [{ metricName: name || q.metricName, metricValue: toInt(v), metricValueFloat: v }] };
    }),
    StreamIsActive: (call: grpc.ServerWritableStream<ScaledObjectRefMsg, { result: boolean }>) => {
      let q: ScalerQuery;
      try {
        if (streams.size >= limits.maxStreams) throw new ScalerLimitError(`${streams.size} StreamIsActive streams are open, the most this scaler serves`);
        q = queryFor(call.request);
      } catch (err) {
        call.emit('error', fail('StreamIsActive', err));
        return;
      }
      let last: boolean | null = null;
      let closed = false;
      let running = false;
      let again: boolean | null = null; // a change arrived during an evaluation: run once more (force if any asked)
      const send = (force: boolean) => {
        if (closed) return;
        if (running) {
          again = (again ?? false) || force;
          return;
        }
        running = true;
        evaluate(q).then(
          (r) => {
            running = false;
            if (!closed && (force || r.active !== last)) {
              last = r.active;
              call.write({ result: r.active });
            }
          },
          (err: unknown) => {
            running = false;
            log.error('StreamIsActive evaluation failed', { error: err as Error });
          },
        ).finally(() => {
          if (again !== null && !closed) {
            const f = again;
            again = null;
            send(f);
          }
        });
      };
      // only changes of the workload's own nodes make it evaluate again
      const unsubscribe = source.onChange((node) => {
        if (node !== null && node !== undefined && source.affects && !source.affects(q, node)) return;
        send(false);
      });
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

  const server = new grpc.Server({
    'grpc.max_receive_message_length': limits.maxMessageBytes,
    'grpc.max_connection_idle_ms': limits.idleConnectionMs,
    'grpc.max_concurrent_streams': 1000,
    'grpc-node.max_session_memory': 32, // MB of HTTP/2 buffers per connection
  });
  server.addService(externalScalerApi().service, handlers);
  let socketPath: string | null = null; // removed on close
  // Connections arrive on our own listening socket (capped) and are handed to grpc-js.
  const credentials = opts.tls
    ? grpc.ServerCredentials.createSsl(opts.tls.clientCa ?? null, [{ private_key: opts.tls.key, cert_chain: opts.tls.cert }], !!opts.tls.clientCa)
    : grpc.ServerCredentials.createInsecure();
  // renewed certificates reach grpc-js's TLS servers through this method (see setTls); checked here
  // so that a grpc-js without it fails the start, not the first renewal
  const updatable = credentials as unknown as { updateSecureContextOptions?: (o: SecureContextOptions) => void };
  if (opts.tls && typeof updatable.updateSecureContextOptions !== 'function') {
    throw new Error('this @grpc/grpc-js cannot update a TLS server\'s certificate (no updateSecureContextOptions): install the version in package-lock.json');
  }
  const injector = server.createConnectionInjector(credentials);
  const listeners: NetServer[] = [];
  const sockets = new Set<Socket>();
  const listenOn = (bind: (srv: NetServer) => void) =>
    new Promise<NetServer>((resolve, reject) => {
      const srv = createNetServer((socket) => {
        sockets.add(socket);
        // silent connections (no HTTP/2 preface) are never idle to grpc-js: close them here
        const silent = setTimeout(() => socket.bytesRead === 0 && socket.destroy(), limits.firstBytesMs);
        silent.unref();
        socket.once('close', () => {
          clearTimeout(silent);
          sockets.delete(socket);
        });
        socket.on('error', () => {}); // a peer's reset is not ours to report
        injector.injectConnection(socket);
      });
      srv.maxConnections = limits.maxConnections;
      srv.once('error', reject);
      srv.once('listening', () => {
        srv.off('error', reject);
        listeners.push(srv);
        resolve(srv);
      });
      bind(srv);
    });

  return {
    server,
    setTls(t) {
      if (!opts.tls) throw new Error('this gRPC server was started without TLS');
      // grpc-js hands new context options to its TLS servers (their setSecureContext) through
      // updateSecureContextOptions, which its own certificate providers call; its typings declare
      // it protected. Covered by scaler-tls.test.ts (a rotated certificate is served).
      updatable.updateSecureContextOptions!({
        ...(t.clientCa ? { ca: t.clientCa } : {}),
        cert: [t.cert],
        key: [t.key],
      });
    },
    async listen(address) {
      try {
        if (address.kind === 'unix') {
          socketPath = address.path;
          rmSync(socketPath, { force: true });
          await listenOn((srv) => srv.listen(address.path));
          return 1;
        }
        const { result } = await bindTcp(address, (host, port) => listenOn((srv) => srv.listen({ host, port, ipv6Only: false })));
        const a = result.address();
        return typeof a === 'object' && a ? a.port : address.port;
      } catch (err) {
        throw new Error(`cannot listen for gRPC on ${address.text}: ${(err as Error).message}`, { cause: err });
      }
    },
    close() {
      for (const end of [...streams]) end();
      for (const l of listeners) l.close();
      return new Promise((resolve) => {
        injector.drain(1000);
        const timer = setTimeout(() => {
          injector.destroy();
          for (const so of sockets) so.destroy();
          server.forceShutdown();
          finish();
        }, 2000);
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          if (socketPath) rmSync(socketPath, { force: true });
          resolve();
        };
        server.tryShutdown(() => {
          injector.destroy();
          finish();
        });
      });
    },
  };
}
