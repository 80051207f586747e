// `--web-config-file`: the exporter-toolkit web configuration (the YAML dcgm-exporter users
// already have) → TLS settings, basic-auth users and response headers. Every key is either
// honoured or a startup error naming the file, the key and the fix (ConfigError, exit 2): a
// security setting that is silently ignored would fail open.
//
//   tls_server_config:   cert_file, key_file (or cert, key inline), client_auth_type,
//                        client_ca_file (or client_ca), client_allowed_sans, min_version,
//                        max_version, cipher_suites, curve_preferences, prefer_server_cipher_suites
//   http_server_config:  headers (the five exporter-toolkit allows), http2 (HTTP/1.1 is served)
//   basic_auth_users:    user: bcrypt hash
//   rate_limit:          interval, burst
import { getCiphers } from 'node:tls';
import { parseDocument } from 'yaml';
import { ConfigError } from '../contract/errors.js';
import { FileReadError, readRegularFile } from '../contract/files.js';
import { readTlsMaterial } from './web-security.js';

export const WEB_CONFIG_MAX_BYTES = 64 * 1024;

export type ClientAuthType = 'NoClientCert' | 'RequestClientCert' | 'RequireAnyClientCert' | 'VerifyClientCertIfGiven' | 'RequireAndVerifyClientCert';
const CLIENT_AUTH_TYPES: readonly ClientAuthType[] = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'];

/** Where a PEM comes from: a file (re-read when it changes) or inline text. */
export type PemSource = { file: string } | { inline: string };

export interface TlsSettings {
  cert: PemSource;
  key: PemSource;
  clientAuthType: ClientAuthType;
  clientCa: PemSource | null;
  clientAllowedSans: string[];
  minVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  maxVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3' | null;
  /** OpenSSL cipher list, null = Node's default */
  ciphers: string | null;
  /** OpenSSL group list, null = Node's default */
  ecdhCurve: string | null;
  honorCipherOrder: boolean;
}

export interface WebConfig {
  file: string;
  tls: TlsSettings | null;
  /** user → bcrypt hash */
  users: Map<string, string>;
  /** extra response headers */
  headers: Record<string, string>;
  rateLimit: { intervalMs: number; burst: number } | null;
  /** things that change nothing about security or the data served, said once at start */
  notes: string[];
}

const VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;

/** Go's cipher-suite names (crypto/tls) → OpenSSL's. TLS 1.3 suites keep their IANA names. */
const GO_CIPHERS: Record<string, string> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_AES_128_GCM_SHA256: 'TLS_AES_128_GCM_SHA256',
  TLS_AES_256_GCM_SHA384: 'TLS_AES_256_GCM_SHA384',
  TLS_CHACHA20_POLY1305_SHA256: 'TLS_CHACHA20_POLY1305_SHA256',
};

/** Go's curve names → OpenSSL group names that Node's OpenSSL knows. */
const GO_CURVES: Record<string, string> = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' };

/** The response headers exporter-toolkit lets a web config set. */
const ALLOWED_HEADERS = ['Content-Security-Policy', 'X-Frame-Options', 'X-Content-Type-Options', 'X-XSS-Protection', 'Strict-Transport-Security'];

type Obj = Record<string, unknown>;

class Ctx {
  constructor(readonly file: string) {}
  fail(key: string, problem: string, fix: string): never {
    throw new ConfigError(`web config ${this.file}: ${key}: ${problem}; ${fix}`);
  }
  obj(v: unknown, key: string): Obj {
    if (v === null || v === undefined) return {};
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(key, `expected a mapping, got ${describe(v)}`, 'see the exporter-toolkit web configuration format');
    return v as Obj;
  }
  keys(o: Obj, key: string, known: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!known.includes(k)) this.fail(`${key}${key ? '.' : ''}${k}`, 'unknown key', `remove it or use one of ${known.join(', ')}`);
    }
  }
  str(v: unknown, key: string): string | null {
    if (v === null || v === undefined || v === '') return null;
    if (typeof v !== 'string') this.fail(key, `expected a string, got ${describe(v)}`, 'quote the value');
    return v;
  }
  strList(v: unknown, key: string): string[] {
    if (v === null || v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) this.fail(key, `expected a list of strings, got ${describe(v)}`, 'write it as a YAML list');
    return v as string[];
  }
  bool(v: unknown, key: string, dflt: boolean): boolean {
    if (v === null || v === undefined) return dflt;
    if (typeof v !== 'boolean') this.fail(key, `expected true or false, got ${describe(v)}`, 'write true or false');
    return v;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'a mapping' : `${typeof v} ${JSON.stringify(v)}`;
}

/** A Go duration (`1s`, `500ms`, `1m30s`) in ms. */
function goDurationMs(text: string): number | null {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * unit[m[2]!]!;
    matched = re.lastIndex;
  }
  return matched === text.length && text.length > 0 ? total : null;
}

/** Parses the text of a web config (no file access: files named in it are read by loadWebConfig). */
export function parseWebConfig(text: string, file: string): WebConfig {
  const c: Ctx = new Ctx(file);
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) c.fail('(file)', `not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`, 'fix the YAML syntax');
  let js: unknown;
  try {
    // aliases are bounded (an alias bomb is refused, not expanded); an unresolved one throws
    js = doc.toJS({ maxAliasCount: 10 });
  } catch (err) {
    c.fail('(file)', `not valid YAML: ${(err as Error).message.split('\n')[0]}`, 'fix the YAML syntax (anchors and aliases)');
  }
  const root = c.obj(js, '(top level)');
  c.keys(root, '', ['tls_server_config', 'http_server_config', 'basic_auth_users', 'rate_limit']);
  const notes: string[] = [];

  let tls: TlsSettings | null = null;
  if (root.tls_server_config !== undefined && root.tls_server_config !== null) {
    const k = 'tls_server_config';
    const t = c.obj(root.tls_server_config, k);
    c.keys(t, k, ['cert_file', 'key_file', 'cert', 'key', 'client_auth_type', 'client_ca_file', 'client_ca', 'client_allowed_sans',
      'min_version', 'max_version', 'cipher_suites', 'curve_preferences', 'prefer_server_cipher_suites']);
    const pem = (fileKey: string, inlineKey: string, required: boolean): PemSource | null => {
      const f = c.str(t[fileKey], `${k}.${fileKey}`);
      const i = c.str(t[inlineKey], `${k}.${inlineKey}`);
      if (f && i) c.fail(`${k}.${inlineKey}`, `both ${fileKey} and ${inlineKey} are set`, `give one of them`);
      if (f) return { file: f };
      if (i) return { inline: i };
      if (required) c.fail(`${k}.${fileKey}`, 'missing', `give ${fileKey} (a PEM file) or ${inlineKey} (PEM text)`);
      return null;
    };
    const cert = pem('cert_file', 'cert', true)!;
    const key = pem('key_file', 'key', true)!;
    const clientCa = pem('client_ca_file', 'client_ca', false);
    const cat = c.str(t.client_auth_type, `${k}.client_auth_type`) ?? (clientCa ? 'RequireAndVerifyClientCert' : 'NoClientCert');
    if (!(CLIENT_AUTH_TYPES as readonly string[]).includes(cat)) c.fail(`${k}.client_auth_type`, `unknown value "${cat}"`, `use one of ${CLIENT_AUTH_TYPES.join(', ')}`);
    const clientAuthType = cat as ClientAuthType;
    if ((clientAuthType === 'VerifyClientCertIfGiven' || clientAuthType === 'RequireAndVerifyClientCert') && !clientCa) {
      c.fail(`${k}.client_ca_file`, `missing: client_auth_type ${clientAuthType} verifies client certificates`, 'give client_ca_file, the CA that signs them');
    }
    if (clientCa && (clientAuthType === 'NoClientCert' || clientAuthType === 'RequestClientCert' || clientAuthType === 'RequireAnyClientCert')) {
      c.fail(`${k}.client_ca_file`, `set, but client_auth_type ${clientAuthType} does not verify client certificates`, 'use VerifyClientCertIfGiven or RequireAndVerifyClientCert, or remove client_ca_file');
    }
    const clientAllowedSans = c.strList(t.client_allowed_sans, `${k}.client_allowed_sans`);
    if (clientAllowedSans.length > 0 && clientAuthType !== 'RequireAndVerifyClientCert' && clientAuthType !== 'VerifyClientCertIfGiven') {
      c.fail(`${k}.client_allowed_sans`, `set, but client_auth_type ${clientAuthType} does not verify client certificates`, 'use RequireAndVerifyClientCert');
    }
    const version = (key2: string, dflt: keyof typeof VERSIONS | null) => {
      const v = c.str(t[key2], `${k}.${key2}`) ?? dflt;
      if (v === null) return null;
      if (!(v in VERSIONS)) c.fail(`${k}.${key2}`, `unknown value "${v}"`, `use one of ${Object.keys(VERSIONS).join(', ')}`);
      return VERSIONS[v as keyof typeof VERSIONS];
    };
    const minVersion = version('min_version', 'TLS12')!;
    const maxVersion = version('max_version', null);
    if (maxVersion && maxVersion < minVersion) c.fail(`${k}.max_version`, `${t.max_version} is below min_version ${String(t.min_version ?? 'TLS12')}`, 'raise max_version or lower min_version');
    const known = new Set(getCiphers().map((x) => x.toUpperCase()));
    const suites = c.strList(t.cipher_suites, `${k}.cipher_suites`).map((n) => {
      const o = GO_CIPHERS[n];
      if (!o || !known.has(o.toUpperCase())) {
        c.fail(`${k}.cipher_suites`, `"${n}" is not a cipher suite this Node (OpenSSL ${process.versions.openssl}) supports`,
          `use names such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (${Object.keys(GO_CIPHERS).filter((x) => known.has(GO_CIPHERS[x]!.toUpperCase())).length} are supported)`);
      }
      return o;
    });
    const curves = c.strList(t.curve_preferences, `${k}.curve_preferences`).map((n) => {
      const o = GO_CURVES[n];
      if (!o) c.fail(`${k}.curve_preferences`, `"${n}" is not a curve this Node supports`, `use ${Object.keys(GO_CURVES).join(', ')}`);
      return o;
    });
    tls = {
      cert, key, clientAuthType, clientCa, clientAllowedSans, minVersion, maxVersion,
      ciphers: suites.length > 0 ? suites.join(':') : null,
      ecdhCurve: curves.length > 0 ? curves.join(':') : null,
      honorCipherOrder: c.bool(t.prefer_server_cipher_suites, `${k}.prefer_server_cipher_suites`, true),
    };
  }

  const headers: Record<string, string> = {};
  if (root.http_server_config !== undefined && root.http_server_config !== null) {
    const k = 'http_server_config';
    const h = c.obj(root.http_server_config, k);
    c.keys(h, k, ['headers', 'http2']);
    if (c.bool(h.http2, `${k}.http2`, true) && tls) notes.push('http_server_config.http2: HTTP/1.1 is served over TLS (clients negotiate it)');
    const hs = c.obj(h.headers, `${k}.headers`);
    for (const [name, v] of Object.entries(hs)) {
      const canon = ALLOWED_HEADERS.find((a) => a.toLowerCase() === name.toLowerCase());
      if (!canon) c.fail(`${k}.headers.${name}`, 'this header cannot be configured', `use one of ${ALLOWED_HEADERS.join(', ')}`);
      const value = c.str(v, `${k}.headers.${name}`);
      if (value === null) continue;
      if (/[\r\n\0]/.test(value) || value.length > 4096) c.fail(`${k}.headers.${name}`, 'the value holds a line break or is longer than 4096 characters', 'write it on one line');
      headers[canon] = value;
    }
  }

  const users = new Map<string, string>();
  if (root.basic_auth_users !== undefined && root.basic_auth_users !== null) {
    const u = c.obj(root.basic_auth_users, 'basic_auth_users');
    for (const [name, hash] of Object.entries(u)) {
      const h = c.str(hash, `basic_auth_users.${name}`);
      if (name === '' || name.includes(':')) c.fail(`basic_auth_users.${name}`, 'a user name may not be empty or contain ":"', 'rename the user');
      if (h === null || !/^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$/.test(h)) {
        c.fail(`basic_auth_users.${name}`, 'not a bcrypt hash', 'store the bcrypt hash of the password (e.g. htpasswd -nbBC 10 "" PASSWORD | tr -d ":\\n"), never the password');
      }
      const cost = Number(h.split('$')[2]);
      if (cost < 4 || cost > 16) c.fail(`basic_auth_users.${name}`, `bcrypt cost ${cost} is outside 4-16`, 'hash the password again with cost 10');
      users.set(name, h);
    }
  }

  let rateLimit: WebConfig['rateLimit'] = null;
  if (root.rate_limit !== undefined && root.rate_limit !== null) {
    const r = c.obj(root.rate_limit, 'rate_limit');
    c.keys(r, 'rate_limit', ['interval', 'burst']);
    const iv = c.str(r.interval, 'rate_limit.interval');
    const intervalMs = iv === null ? null : goDurationMs(iv);
    if (intervalMs === null || intervalMs <= 0) c.fail('rate_limit.interval', `"${iv ?? ''}" is not a duration`, 'write e.g. 100ms or 1s');
    const burst = r.burst;
    if (typeof burst !== 'number' || !Number.isInteger(burst) || burst < 1) c.fail('rate_limit.burst', `expected an integer >= 1, got ${describe(burst)}`, 'write e.g. 10');
    rateLimit = { intervalMs, burst };
  }

  return { file, tls, users, headers, rateLimit, notes };
}

/** Reads and parses the web config; files it names must be readable PEM (checked here, at start). */
export async function loadWebConfig(path: string): Promise<WebConfig> {
  let text: string;
  try {
    text = (await readRegularFile(path, WEB_CONFIG_MAX_BYTES)).toString('utf8');
  } catch (err) {
    if (err instanceof FileReadError) throw new ConfigError(`web config ${path}: cannot read it (${err.why}); pass a readable exporter-toolkit web config with --web-config-file or DCGM_EXPORTER_WEB_CONFIG_FILE`);
    throw err;
  }
  const cfg = parseWebConfig(text, path);
  if (cfg.tls) await readTlsMaterial(cfg);
  return cfg;
}

export { readTlsMaterial, type TlsMaterial } from './web-security.js';
