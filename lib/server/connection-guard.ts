// Connection limits that hold whatever a client does (issue 14 items 2 and 3). Every listener of
// this project (the exporter's and the scaler's HTTP) gets them:
//
//  - a connection that has not sent a complete request within `firstRequestMs` of connecting
//    (silent, dribbling headers, or stuck in the TLS handshake) is closed;
//  - a cap on open connections that keeps room for probes and scrapers: at the cap, a new
//    connection closes the oldest one with no request in progress (an idle or unfinished one)
//    instead of being refused, so an attacker holding connections cannot lock anyone out;
//  - a client that pipelines requests and does not read the answers: more than
//    `maxInFlightPerConnection` requests in progress on one connection, or more than
//    `maxQueuedBytesPerConnection` written but not yet taken by the client, closes it; the bytes
//    queued to all clients together are bounded as well (the biggest queues are closed first).
//
// Node's own headersTimeout closes a dribbling request on a reused connection; this guard covers
// the rest. Idle connections cost ~0.4 KB each, so the cap is set high.
import type { Server as NetServer, Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface GuardOptions {
  maxConnections: number;
  firstRequestMs: number;
  maxInFlightPerConnection: number;
  maxQueuedBytesPerConnection: number;
  maxQueuedBytesTotal: number;
  /** how often deadlines and queues are checked, ms */
  checkEveryMs: number;
  /**
   * ms a response may take to be written once its request has arrived (and the previous response on
   * the connection is done); past it the connection is closed. null: no limit. Checked every
   * checkEveryMs, so a connection is closed within writeTimeoutMs + checkEveryMs.
   */
  writeTimeoutMs: number | null;
}

export const GUARD_DEFAULTS: GuardOptions = {
  maxConnections: 4096,
  firstRequestMs: 5000,
  maxInFlightPerConnection: 8,
  maxQueuedBytesPerConnection: 1024 * 1024,
  maxQueuedBytesTotal: 32 * 1024 * 1024,
  checkEveryMs: 500,
  writeTimeoutMs: null,
};

export type CloseReason = 'no_request' | 'evicted' | 'over_capacity' | 'pipelined' | 'queued_bytes' | 'write_timeout';

interface ConnState {
  socket: Socket;
  /** the socket the HTTP layer reads (the TLS socket over `socket`, or `socket` itself) */
  http: Socket | null;
  /** requests in progress (headers in, response not finished) */
  inFlight: number;
  /** ms: a complete request must arrive by then; null once one did (until the next idle period) */
  deadline: number | null;
  /** ms since epoch: the oldest unfinished response has been due since then; null with none in flight */
  busySince: number | null;
  dropped: boolean;
}

const STATE = Symbol('nvx.connection');

function responseClosed(this: ServerResponse): void {
  const r = this as unknown as Record<symbol, ConnState | undefined>;
  const st = r[STATE];
  if (!st) return;
  r[STATE] = undefined;
  st.inFlight--;
  st.busySince = st.inFlight > 0 ? Date.now() : null;
}

export class ConnectionGuard {
  readonly opts: GuardOptions;
  private readonly conns = new Map<Socket, ConnState>();
  private timer: NodeJS.Timeout | null = null;
  /** connections closed by the guard, by reason */
  readonly closed: Record<CloseReason, number> = { no_request: 0, evicted: 0, over_capacity: 0, pipelined: 0, queued_bytes: 0, write_timeout: 0 };

  constructor(opts: Partial<GuardOptions> = {}) {
    this.opts = { ...GUARD_DEFAULTS, ...opts };
  }

  get open(): number {
    return this.conns.size;
  }

  /** Hooks into a (http or https) server: raw connections, TLS sockets and requests. */
  attach(server: NetServer): void {
    server.on('connection', (socket: Socket) => this.onConnection(socket));
    server.on('secureConnection', (tls: Socket & { _parent?: Socket }) => {
      const st = tls._parent ? this.conns.get(tls._parent) : undefined;
      if (st) {
        st.http = tls;
        (tls as unknown as Record<symbol, ConnState>)[STATE] = st;
      }
    });
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
    server.on('close', () => this.stop());
    this.timer = setInterval(() => this.check(), this.opts.checkEveryMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private onConnection(socket: Socket): void {
    if (this.conns.size >= this.opts.maxConnections && !this.evictOne()) {
      this.closed.over_capacity++;
      socket.destroy();
      return;
    }
    const st: ConnState = { socket, http: socket, inFlight: 0, deadline: Date.now() + this.opts.firstRequestMs, busySince: null, dropped: false };
    (socket as unknown as Record<symbol, ConnState>)[STATE] = st;
    this.conns.set(socket, st);
    socket.once('close', () => this.conns.delete(socket));
  }

  /** Closes the oldest connection with no request in progress; false when every one is busy. */
  private evictOne(): boolean {
    for (const st of this.conns.values()) {
      if (st.inFlight === 0) {
        this.closed.evicted++;
        this.drop(st);
        return true;
      }
    }
    return false;
  }

  private drop(st: ConnState): void {
    st.dropped = true;
    this.conns.delete(st.socket);
    st.http?.destroy();
    st.socket.destroy();
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const st = (req.socket as unknown as Record<symbol, ConnState | undefined>)[STATE];
    if (!st || st.dropped) return;
    st.deadline = null;
    if (st.inFlight === 0) st.busySince = Date.now();
    st.inFlight++;
    // no closure per request: the state rides on the response ('close' follows 'finish' and a lost connection alike)
    (res as unknown as Record<symbol, ConnState>)[STATE] = st;
    res.on('close', responseClosed);
    const queued = st.http?.writableLength ?? 0;
    if (st.inFlight > this.opts.maxInFlightPerConnection) {
      this.closed.pipelined++;
      this.drop(st);
    } else if (queued > this.opts.maxQueuedBytesPerConnection) {
      this.closed.queued_bytes++;
      this.drop(st);
    }
  }

  /** Deadlines of connections without a request, and the bytes queued to clients that do not read. */
  private check(): void {
    const now = Date.now();
    let total = 0;
    const queues: [ConnState, number][] = [];
    for (const st of this.conns.values()) {
      if (st.deadline !== null && now >= st.deadline) {
        this.closed.no_request++;
        this.drop(st);
        continue;
      }
      if (this.opts.writeTimeoutMs !== null && st.busySince !== null && now - st.busySince >= this.opts.writeTimeoutMs) {
        this.closed.write_timeout++;
        this.drop(st);
        continue;
      }
      const q = st.http?.writableLength ?? 0;
      if (q > this.opts.maxQueuedBytesPerConnection) {
        this.closed.queued_bytes++;
        this.drop(st);
        continue;
      }
      if (q > 0) {
        total += q;
        queues.push([st, q]);
      }
    }
    if (total > this.opts.maxQueuedBytesTotal) {
      queues.sort((a, b) => b[1] - a[1]);
      for (const [st, q] of queues) {
        if (total <= this.opts.maxQueuedBytesTotal) break;
        this.closed.queued_bytes++;
        this.drop(st);
        total -= q;
      }
    }
  }
}
