// What a web config turns into at run time: the TLS server options (and their reload when the
// certificate files change), the client-certificate checks Node's options cannot express, basic
// auth with bcrypt, and a request rate limit. bcrypt is bcryptjs (pure JavaScript, no native build).
import { createHash } from 'node:crypto';
import type { IncomingMessage, Server, ServerOptions as HttpServerOptions, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureContext, type SecureContextOptions, type TLSSocket, type TlsOptions } from 'node:tls';
import bcrypt from 'bcryptjs';
import { ConfigError } from '../contract/errors.js';
import { FileReadError, readRegularFile } from '../contract/files.js';
import { FileReloader } from '../contract/file-reload.js';
import type { PemSource, WebConfig } from './web-config.js';

const PEM_MAX_BYTES = 1024 * 1024;


export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | null;
}

/** Reads the certificate, key and client CA; a ConfigError names the key and the file. */
export async function readTlsMaterial(cfg: WebConfig): Promise<TlsMaterial> {
  const t = cfg.tls!;
  const read = async (src: PemSource, key: string): Promise<Buffer> => {
    if ('inline' in src) return Buffer.from(src.inline);
    try {
      const b = await readRegularFile(src.file, PEM_MAX_BYTES);
      if (!b.includes('-----BEGIN ')) throw new FileReadError(src.file, 'it holds no PEM block');
      return b;
    } catch (err) {
      if (err instanceof FileReadError) {
        throw new ConfigError(`web config ${cfg.file}: tls_server_config.${key}: cannot read ${src.file} (${err.why}); mount the file (e.g. from a Secret) and name its path`);
      }
      throw err;
    }
  };
  return {
    cert: await read(t.cert, 'cert_file'),
    key: await read(t.key, 'key_file'),
    ca: t.clientCa ? await read(t.clientCa, 'client_ca_file') : null,
  };
}

/**
 * What the server needs of a web config at run time. Built here (and this module loaded) only with
 * --web-config-file: bcrypt and https stay out of the default footprint (~6.5 MB).
 */
export interface WebRuntime {
  config: WebConfig;
  /** the HTTPS server when the config has TLS (null: plain HTTP) */
  createServer: ((common: HttpServerOptions, handler: (req: IncomingMessage, res: ServerResponse) => void) => Server) | null;
  basicAuth: BasicAuth | null;
  rateLimit: RateLimit | null;
}

export function webRuntime(
  cfg: WebConfig,
  material: TlsMaterial | null,
  opts: { onTlsReload?: (ok: boolean, message: string) => void; tlsReloadCheckMs?: number } = {},
): WebRuntime {
  const createServer = cfg.tls && material
    ? (common: HttpServerOptions, handler: (req: IncomingMessage, res: ServerResponse) => void): Server => {
        const s = createHttpsServer({ ...common, ...tlsServerOptions(cfg, material) }, handler);
        s.on('secureConnection', (tls: TLSSocket) => {
          if (!clientCertAllowed(cfg, tls)) tls.destroy();
        });
        s.on('tlsClientError', () => {}); // a failed handshake closes that connection only
        const reloader = new TlsReloader(cfg, (o) => s.setSecureContext(o), opts.onTlsReload ?? (() => {}));
        void reloader.start(opts.tlsReloadCheckMs ?? 2000);
        s.on('close', () => reloader.stop());
        return s as unknown as Server;
      }
    : null;
  return {
    config: cfg,
    createServer,
    basicAuth: cfg.users.size > 0 ? new BasicAuth(cfg.users) : null,
    rateLimit: cfg.rateLimit ? new RateLimit(cfg.rateLimit.intervalMs, cfg.rateLimit.burst) : null,
  };
}

/** The https.createServer options of a web config's tls_server_config. */
export function tlsServerOptions(cfg: WebConfig, m: TlsMaterial): TlsOptions {
  const t = cfg.tls!;
  const verify = t.clientAuthType === 'RequireAndVerifyClientCert';
  return {
    ...secureContextOptions(cfg, m),
    requestCert: t.clientAuthType !== 'NoClientCert',
    rejectUnauthorized: verify,
    handshakeTimeout: 5000,
  };
}

export function secureContextOptions(cfg: WebConfig, m: TlsMaterial): SecureContextOptions {
  const t = cfg.tls!;
  return {
    cert: m.cert,
    key: m.key,
    ...(m.ca ? { ca: m.ca } : {}),
    minVersion: t.minVersion,
    ...(t.maxVersion ? { maxVersion: t.maxVersion } : {}),
    ...(t.ciphers ? { ciphers: t.ciphers } : {}),
    ...(t.ecdhCurve ? { ecdhCurve: t.ecdhCurve } : {}),
    honorCipherOrder: t.honorCipherOrder,
  };
}

/**
 * Whether a TLS connection passes the client-certificate rules Node's options do not express
 * (RequireAnyClientCert, VerifyClientCertIfGiven, client_allowed_sans). A failing connection is
 * closed right after the handshake, the nearest Node gets to failing it.
 */
export function clientCertAllowed(cfg: WebConfig, socket: TLSSocket): boolean {
  const t = cfg.tls;
  if (!t) return true;
  const cert = socket.getPeerCertificate();
  const has = !!cert && Object.keys(cert).length > 0;
  switch (t.clientAuthType) {
    case 'NoClientCert':
    case 'RequestClientCert':
      return true;
    case 'RequireAnyClientCert':
      return has;
    case 'VerifyClientCertIfGiven':
      if (has && !socket.authorized) return false;
      break;
    case 'RequireAndVerifyClientCert':
      if (!has || !socket.authorized) return false;
      break;
  }
  if (t.clientAllowedSans.length === 0 || !has) return true;
  const sans = (cert.subjectaltname ?? '').split(/,\s*/).map((s) => s.replace(/^(DNS|IP Address|email|URI):/, ''));
  return sans.some((s) => t.clientAllowedSans.includes(s));
}

/**
 * Re-reads the certificate, key and client CA files when one of them changes (size, inode or
 * modification time: a Kubernetes Secret update swaps a symlink), and hands the new context to
 * `apply`. A file that is unreadable or a pair that does not load keeps the previous context.
 */
export class TlsReloader extends FileReloader<SecureContextOptions> {
  constructor(cfg: WebConfig, apply: (opts: SecureContextOptions) => void, onEvent: (ok: boolean, message: string) => void) {
    const t = cfg.tls!;
    super({
      files: [t.cert, t.key, t.clientCa].flatMap((s) => (s && 'file' in s ? [s.file] : [])),
      // a pair that does not load throws here (createSecureContext), not in the server
      load: async () => {
        const o = secureContextOptions(cfg, await readTlsMaterial(cfg));
        createSecureContext(o);
        return o;
      },
      apply,
      onEvent,
      what: 'TLS certificate files',
    });
  }
}

export type AuthResult = 'ok' | 'denied' | 'busy';

/**
 * Basic auth against bcrypt hashes. A bcrypt check costs ~100 ms of CPU here, so:
 *  - verified credentials are remembered (a digest of user and password, never the password),
 *    so a scraper pays once, and a scrape flood with good credentials costs nothing;
 *  - a wrong password is remembered too (bounded, for a minute), so a misconfigured scraper does
 *    not burn a check every scrape;
 *  - new checks are rate-limited (a token bucket) and run one at a time: distinct wrong passwords
 *    cost at most `checksPerSecond` checks a second; past that the answer is 'busy' (HTTP 429).
 * An unknown user is checked against a dummy hash, so timing does not tell which users exist.
 */
export class BasicAuth {
  private readonly good = new Map<string, true>();
  private readonly bad = new Map<string, number>();
  private tokens: number;
  private lastRefill = Date.now();
  private running = 0;
  private readonly dummy: string;
  /** bcrypt checks done (for tests and figures) */
  checks = 0;

  constructor(
    private readonly users: Map<string, string>,
    private readonly opts: { checksPerSecond: number; burst: number; cacheEntries: number; badTtlMs: number } = { checksPerSecond: 4, burst: 8, cacheEntries: 1024, badTtlMs: 60_000 },
  ) {
    this.tokens = opts.burst;
    this.dummy = users.values().next().value ?? bcrypt.hashSync('x', 4);
  }

  async check(header: string | undefined): Promise<AuthResult> {
    const cred = parseBasic(header);
    if (!cred) return 'denied';
    const digest = createHash('sha256').update(cred.user).update('\0').update(cred.password).digest('base64');
    if (this.good.has(digest)) return 'ok';
    const badUntil = this.bad.get(digest);
    if (badUntil !== undefined && badUntil > Date.now()) return 'denied';
    if (!this.take()) return 'busy';
    this.running++;
    this.checks++;
    try {
      const hash = this.users.get(cred.user);
      const ok = await bcrypt.compare(cred.password, hash ?? this.dummy);
      if (ok && hash !== undefined) {
        remember(this.good, digest, true, this.opts.cacheEntries);
        return 'ok';
      }
      remember(this.bad, digest, Date.now() + this.opts.badTtlMs, this.opts.cacheEntries);
      return 'denied';
    } finally {
      this.running--;
    }
  }

  private take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.opts.burst, this.tokens + ((now - this.lastRefill) / 1000) * this.opts.checksPerSecond);
    this.lastRefill = now;
    if (this.running >= 1 || this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

function remember<V>(m: Map<string, V>, k: string, v: V, max: number): void {
  m.delete(k);
  m.set(k, v);
  if (m.size > max) m.delete(m.keys().next().value!);
}

/** `Basic base64(user:password)` → the pair; null when absent or malformed (or over 1 KiB). */
export function parseBasic(header: string | undefined): { user: string; password: string } | null {
  if (!header || header.length > 1024) return null;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return null;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i < 0) return null;
  return { user: text.slice(0, i), password: text.slice(i + 1) };
}

/** A token bucket over all requests (web config `rate_limit`): one token per `intervalMs`, `burst` at most. */
export class RateLimit {
  private tokens: number;
  private last = Date.now();
  constructor(private readonly intervalMs: number, private readonly burst: number) {
    this.tokens = burst;
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.last) / this.intervalMs);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
