// Listen addresses (`:9400`, `host:9400`, `[::]:9400`) and peer addresses (`host:port`).
import { ConfigError } from './errors.js';

export interface ListenAddress {
  /**
   * The host to bind. `:port` gives `::` (every interface, dual stack) with `anyHost` true: where
   * IPv6 is disabled that bind fails with EAFNOSUPPORT, and `0.0.0.0` is the fallback to use.
   */
  host: string;
  /** the address named no host (`:9400`) */
  anyHost: boolean;
  port: number;
  /** as given */
  text: string;
}

export interface HostPort {
  host: string;
  port: number;
}

function parsePort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const n = Number(text);
  return n <= 65535 ? n : null;
}

function split(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):([^:]+)$/.exec(text);
  if (!m) return null;
  const port = parsePort(m[3]!);
  if (port === null) return null;
  return { host: m[1] ?? m[2] ?? '', port };
}

export function parseListenAddress(text: string, label: string): ListenAddress {
  const hp = split(text.trim());
  if (!hp) {
    const hint = /^\d+$/.test(text.trim()) ? `; did you mean ":${text.trim()}"?` : '';
    throw new ConfigError(`${label}: "${text}" is not a listen address (expected host:port, :port or [::]:port, port 0-65535)${hint}`);
  }
  return { host: hp.host === '' ? '::' : hp.host, anyHost: hp.host === '', port: hp.port, text: text.trim() };
}

export function parseHostPort(text: string, label: string): HostPort {
  const hp = split(text.trim());
  if (!hp || hp.host === '' || hp.port === 0) {
    throw new ConfigError(`${label}: "${text}" is not a host:port address (expected e.g. 10.0.0.5:9400 or exporter.ns.svc:9400)`);
  }
  return hp;
}
