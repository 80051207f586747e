// The one address parser: every listener (the exporter's HTTP, the node-local KEDA gRPC, the
// scaler's gRPC and HTTP) and every peer address (the exporters the scaler pulls) is parsed here,
// once, by the config room, and handed onward as an object that nobody parses again.
//
//   listen:  `:9400` (every interface), `host:9400`, `[::1]:9400`, and where a unix socket is
//            allowed `/run/x.sock`, `unix:/run/x.sock`, `unix:///run/x.sock`
//   peer:    `host:port`, `10.0.0.5:9400`, `[fd00::5]:9400`
//
// One rule for `:port`: bind `::` (dual stack: IPv6 and IPv4-mapped) where the host has IPv6, and
// `0.0.0.0` where it does not (the bind of `::` fails with EAFNOSUPPORT or EADDRNOTAVAIL there).
import { ConfigError } from './errors.js';

export interface TcpListenAddress {
  kind: 'tcp';
  /** null: every interface (`:port`), see bindTcp */
  host: string | null;
  port: number;
  /** as given, trimmed */
  text: string;
}

export interface UnixListenAddress {
  kind: 'unix';
  path: string;
  text: string;
}

/** Where a gRPC server listens: TCP or a unix socket. */
export type ListenAddress = TcpListenAddress | UnixListenAddress;

export interface PeerAddress {
  host: string;
  port: number;
  /** `host:port`, with brackets around an IPv6 host: usable in a URL */
  text: string;
}

function parsePort(text: string, allowZero: boolean): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const n = Number(text);
  return n <= 65535 && (allowZero || n > 0) ? n : null;
}

/** `[v6]:port` or `host:port` (host may be empty); null when the text is neither. */
function splitHostPort(text: string): { host: string; port: string } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+(?:%[\w.-]+)?)\]|([^:[\]\s/]*)):([^:]*)$/.exec(text);
  if (!m) return null;
  return { host: m[1] ?? m[2] ?? '', port: m[3]! };
}

/** `host:port` for a URL or a log line: IPv6 hosts in brackets. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A TCP listen address (`:port`, `host:port`, `[v6]:port`); throws a ConfigError naming `label`. */
export function parseListenAddress(raw: string, label: string): TcpListenAddress {
  return parseAny(raw, label, false) as TcpListenAddress;
}

/** A TCP listen address or a unix socket path (`/x.sock`, `unix:/x.sock`, `unix:///x.sock`). */
export function parseListenTarget(raw: string, label: string): ListenAddress {
  return parseAny(raw, label, true);
}

function parseAny(raw: string, label: string, unix: boolean): ListenAddress {
  const text = raw.trim();
  if (unix) {
    let path: string | null = null;
    if (text.startsWith('unix://')) path = text.slice('unix://'.length);
    else if (text.startsWith('unix:')) path = text.slice('unix:'.length);
    else if (text.startsWith('/')) path = text;
    if (path !== null) {
      if (!path.startsWith('/') || path.length > 107) {
        throw new ConfigError(`${label}: "${raw}" is not a unix socket path (expected an absolute path of at most 107 bytes, e.g. /run/nvml-exporter/keda.sock)`);
      }
      return { kind: 'unix', path, text };
    }
  }
  const hp = splitHostPort(text);
  const port = hp ? parsePort(hp.port, true) : null;
  if (!hp || port === null) {
    const hint = /^\d+$/.test(text) ? `; did you mean ":${text}"?` : '';
    const forms = unix ? 'host:port, :port, [::1]:port or a unix socket path' : 'host:port, :port or [::1]:port';
    throw new ConfigError(`${label}: "${raw}" is not a listen address (expected ${forms}, port 0-65535)${hint}`);
  }
  return { kind: 'tcp', host: hp.host === '' ? null : hp.host, port, text };
}

export function parsePeerAddress(raw: string, label: string): PeerAddress {
  const text = raw.trim();
  const hp = splitHostPort(text);
  const port = hp ? parsePort(hp.port, false) : null;
  if (!hp || hp.host === '' || port === null) {
    throw new ConfigError(`${label}: "${raw}" is not a host:port address (expected e.g. 10.0.0.5:9400, [fd00::5]:9400 or exporter.ns.svc:9400)`);
  }
  return { host: hp.host, port, text: joinHostPort(hp.host, port) };
}

/** A listen address as text for logs: `[::]:9400` for `:9400` bound dual stack, the path for a socket. */
export function describeListen(addr: ListenAddress, boundHost?: string): string {
  if (addr.kind === 'unix') return addr.path;
  return joinHostPort(boundHost ?? addr.host ?? '::', addr.port);
}

/**
 * Binds a TCP listen address with `bind(host, port)`. `:port` tries `::` (dual stack) first and
 * falls back to `0.0.0.0` where the host has no IPv6. Returns the host that was bound.
 */
export async function bindTcp<T>(
  addr: TcpListenAddress,
  bind: (host: string, port: number) => Promise<T>,
): Promise<{ host: string; result: T }> {
  if (addr.host !== null) return { host: addr.host, result: await bind(addr.host, addr.port) };
  try {
    return { host: '::', result: await bind('::', addr.port) };
  } catch (err) {
    if (!noIpv6(err)) throw err;
    return { host: '0.0.0.0', result: await bind('0.0.0.0', addr.port) };
  }
}

/** Whether a bind of `::` failed because the host has no IPv6. */
export function noIpv6(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException & { details?: string };
  const text = `${e?.code ?? ''} ${e?.message ?? ''} ${e?.details ?? ''}`;
  return /EAFNOSUPPORT|EADDRNOTAVAIL|address family not supported/i.test(text);
}
