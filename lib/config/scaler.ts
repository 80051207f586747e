// The `nvml-exporter scaler` subcommand's flags: where to serve KEDA's gRPC API, and which
// exporters to pull /api/v1/gpus from (a fixed list, or a DNS name resolved on every pull).
import { parseBool, parseFlags, helpTable, type FlagSpec, type RawValue } from './argv.js';
import { parseListenAddress, parseListenTarget, parsePeerAddress } from '../contract/address.js';
import { ConfigError } from './errors.js';
import { commaList, oneOf, positiveInt } from './values.js';
import type { ScalerConfig } from './types.js';

const s = (names: string[], env: string, defaultText: string, help: string): FlagSpec =>
  ({ names, kind: 'string', env, defaultText, help });

export const SCALER_FLAGS: readonly FlagSpec[] = [
  s(['grpc-address'], 'NVML_EXPORTER_SCALER_GRPC_ADDRESS', ':6000', 'KEDA external-scaler gRPC listen address'),
  s(['address', 'a'], 'NVML_EXPORTER_SCALER_LISTEN', ':9401', "HTTP listen address for the scaler's /metrics and /health"),
  s(['exporters'], 'NVML_EXPORTER_SCALER_EXPORTERS', 'none', 'exporters to pull, comma-separated host:port'),
  s(['exporters-dns'], 'NVML_EXPORTER_SCALER_EXPORTERS_DNS', 'none',
    'a DNS name:port (e.g. a headless Service) whose addresses are the exporters'),
  s(['pull-interval'], 'NVML_EXPORTER_SCALER_PULL_INTERVAL', '500', 'interval between pulls, in milliseconds'),
  s(['pull-timeout'], 'NVML_EXPORTER_SCALER_PULL_TIMEOUT', '400', 'deadline of one pull, in milliseconds'),
  s(['stale-after'], 'NVML_EXPORTER_SCALER_STALE_AFTER', '3000', 'exclude an exporter that has not answered for this long (ms)'),
  s(['exporters-scheme'], 'NVML_EXPORTER_SCALER_EXPORTERS_SCHEME', 'http', 'http, or https when the exporters serve a web config with TLS'),
  s(['exporters-ca-file'], 'NVML_EXPORTER_SCALER_EXPORTERS_CA_FILE', 'the system CAs', "PEM file of the CA that signs the exporters' certificates (https)"),
  s(['exporters-cert-file'], 'NVML_EXPORTER_SCALER_EXPORTERS_CERT_FILE', 'none', 'client certificate (PEM) for exporters that require one (mTLS)'),
  s(['exporters-key-file'], 'NVML_EXPORTER_SCALER_EXPORTERS_KEY_FILE', 'none', "the client certificate's key (PEM)"),
  s(['exporters-server-name'], 'NVML_EXPORTER_SCALER_EXPORTERS_SERVER_NAME', 'the address',
    "the name the exporters' certificates are checked against (exporters are reached by pod IP; e.g. the Service's DNS name)"),
  s(['exporters-basic-auth-file'], 'NVML_EXPORTER_SCALER_EXPORTERS_BASIC_AUTH_FILE', 'none', 'a file holding user:password for exporters with basic_auth_users'),
  s(['grpc-tls-cert-file'], 'NVML_EXPORTER_SCALER_GRPC_TLS_CERT_FILE', 'none', "serve the gRPC API over TLS with this certificate (PEM; KEDA's TriggerAuthentication caCert checks it)"),
  s(['grpc-tls-key-file'], 'NVML_EXPORTER_SCALER_GRPC_TLS_KEY_FILE', 'none', "the gRPC certificate's key (PEM)"),
  s(['grpc-tls-client-ca-file'], 'NVML_EXPORTER_SCALER_GRPC_TLS_CLIENT_CA_FILE', 'none',
    "require a client certificate signed by this CA (PEM; KEDA's tlsClientCert/tlsClientKey) on every gRPC connection"),
  { names: ['kubernetes-api'], kind: 'bool', env: 'NVML_EXPORTER_SCALER_KUBERNETES_API', defaultText: 'false',
    help: "watch pods through the Kubernetes API and pull only the nodes that run the pods of workloads KEDA asks about (needs list/watch on pods cluster-wide)" },
  s(['kubernetes-api-kubeconfig'], 'NVML_EXPORTER_SCALER_KUBERNETES_API_KUBECONFIG', 'in-cluster (ServiceAccount token and CA)',
    'with --kubernetes-api: a kubeconfig file naming the API server instead of the in-cluster one (tests, running outside a cluster)'),
  s(['workload-idle-timeout'], 'NVML_EXPORTER_SCALER_WORKLOAD_IDLE_TIMEOUT', '120000',
    "with --kubernetes-api: stop pulling a workload's nodes when KEDA has not asked about it for this long (ms)"),
  s(['idle-probe-interval'], 'NVML_EXPORTER_SCALER_IDLE_PROBE_INTERVAL', '30000',
    'with --kubernetes-api: how often an exporter no workload needs is pulled, to learn which node it serves (ms)'),
  s(['ready-min-fresh-percent'], 'NVML_EXPORTER_SCALER_READY_MIN_FRESH_PERCENT', '50',
    '/ready answers 503 while fewer than this percentage of the exporters in use are fresh'),
  s(['log-format'], 'DCGM_EXPORTER_LOG_FORMAT', 'text', 'log format: text or json'),
  { names: ['debug'], kind: 'bool', env: 'DCGM_EXPORTER_DEBUG', defaultText: 'false', help: 'debug logging' },
];

function percent(v: RawValue): number {
  const n = Number(v.value.trim());
  if (v.value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100) {
    throw new ConfigError(`${v.label} "${v.value}": expected a percentage from 0 to 100`);
  }
  return n;
}

export function scalerHelp(): string {
  return ['Usage: nvml-exporter scaler --exporters host:port,… | --exporters-dns name:port [flags]', '',
    'Flags (--flag value or --flag=value; an env var applies when its flag is absent):', helpTable(SCALER_FLAGS), ''].join('\n');
}

export function parseScalerArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): { config: ScalerConfig; warnings: string[] } {
  const parsed = parseFlags(argv, env, SCALER_FLAGS, 'run nvml-exporter scaler --help for the list of flags');
  if (parsed.positionals.length > 0) {
    throw new ConfigError(`unexpected argument "${parsed.positionals[0]}": nvml-exporter scaler takes only flags`);
  }
  const get = (n: string) => parsed.values.get(n);
  const str = (n: string, d: string): RawValue => get(n) ?? { value: d, label: `--${n}` };
  const exportersRaw = get('exporters');
  const dnsRaw = get('exporters-dns');
  const exporters = exportersRaw ? commaList(exportersRaw).map((e) => parsePeerAddress(e, exportersRaw.label)) : [];
  const exportersDns = dnsRaw && dnsRaw.value.trim() !== '' ? parsePeerAddress(dnsRaw.value, dnsRaw.label) : null;
  if (exporters.length > 0 && exportersDns) {
    throw new ConfigError('--exporters and --exporters-dns are both set; give one of them');
  }
  if (exporters.length === 0 && !exportersDns) {
    throw new ConfigError('no exporters to pull: give --exporters host:port,… or --exporters-dns name:port (e.g. nvml-exporter.monitoring.svc:9400)');
  }
  const scheme = oneOf(str('exporters-scheme', 'http'), ['http', 'https'] as const);
  const file = (n: string): string | null => {
    const v = get(n);
    return v && v.value.trim() !== '' ? v.value : null;
  };
  const tlsFiles = { ca: file('exporters-ca-file'), cert: file('exporters-cert-file'), key: file('exporters-key-file'), serverName: file('exporters-server-name') };
  if (scheme === 'http') {
    const given = Object.entries(tlsFiles).find(([, v]) => v !== null);
    if (given) throw new ConfigError(`--exporters-${given[0] === 'serverName' ? 'server-name' : `${given[0]}-file`} is set but --exporters-scheme is http; give --exporters-scheme https`);
  }
  if ((tlsFiles.cert === null) !== (tlsFiles.key === null)) {
    throw new ConfigError('--exporters-cert-file and --exporters-key-file go together; give both or neither');
  }
  const grpcTls = { cert: file('grpc-tls-cert-file'), key: file('grpc-tls-key-file'), clientCa: file('grpc-tls-client-ca-file') };
  if ((grpcTls.cert === null) !== (grpcTls.key === null)) {
    throw new ConfigError('--grpc-tls-cert-file and --grpc-tls-key-file go together; give both or neither');
  }
  if (grpcTls.clientCa !== null && grpcTls.cert === null) {
    throw new ConfigError('--grpc-tls-client-ca-file needs TLS: give --grpc-tls-cert-file and --grpc-tls-key-file too');
  }
  const kubernetesApiRaw = get('kubernetes-api');
  const grpc = str('grpc-address', ':6000');
  const http = str('address', ':9401');
  const debug = get('debug');
  const config: ScalerConfig = {
    grpcAddress: parseListenTarget(grpc.value, grpc.label),
    address: parseListenAddress(http.value, http.label),
    exporters,
    exportersDns,
    pullIntervalMs: positiveInt(str('pull-interval', '500'), 'number of milliseconds'),
    pullTimeoutMs: positiveInt(str('pull-timeout', '400'), 'number of milliseconds'),
    staleAfterMs: positiveInt(str('stale-after', '3000'), 'number of milliseconds'),
    logFormat: oneOf(str('log-format', 'text'), ['text', 'json'] as const),
    debug: debug ? parseBool(debug.value, debug.label) : false,
    grpcTls: grpcTls.cert === null ? null : { certFile: grpcTls.cert, keyFile: grpcTls.key!, clientCaFile: grpcTls.clientCa },
    kubernetesApi: kubernetesApiRaw ? parseBool(kubernetesApiRaw.value, kubernetesApiRaw.label) : false,
    kubernetesApiKubeconfig: file('kubernetes-api-kubeconfig'),
    workloadIdleTimeoutMs: positiveInt(str('workload-idle-timeout', '120000'), 'number of milliseconds'),
    idleProbeIntervalMs: positiveInt(str('idle-probe-interval', '30000'), 'number of milliseconds'),
    readyMinFreshPercent: percent(str('ready-min-fresh-percent', '50')),
    pulls: { scheme, caFile: tlsFiles.ca, certFile: tlsFiles.cert, keyFile: tlsFiles.key, serverName: tlsFiles.serverName, basicAuthFile: file('exporters-basic-auth-file') },
  };
  return { config, warnings: parsed.warnings };
}
