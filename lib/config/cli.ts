// argv + env → Config. dcgm-exporter's flags and env var names (env applies when the flag is
// absent), plus ours. `nvml-exporter scaler …` is the scaler subcommand (scaler.ts).
//
//   parseCli(argv, env?, opts?) →
//     { kind: 'run', config, warnings }      start the exporter; print each warning once
//     { kind: 'scaler', config, warnings }   start the KEDA scaler
//     { kind: 'help', text } | { kind: 'version', text }   print text to stdout, exit 0
//   A bad flag, value or env var throws ConfigError (exitCode 2) naming it and what was expected.
import { hostname as osHostname } from 'node:os';
import { parseBool, parseFlags, helpTable, type RawValue } from './argv.js';
import { parseListenAddress, parseListenTarget } from '../contract/address.js';
import { parseDevices } from '../fields/devices.js';
import { ConfigError } from './errors.js';
import { EXPORTER_FLAGS } from './flags.js';
import { packageVersion } from '../package-root.js';
import { parseScalerArgs, scalerHelp } from './scaler.js';
import { commaList, duration, nonEmpty, oneOf, positiveInt } from './values.js';
import { readConfigFile } from './config-file.js';
import { MAX_CLOCK_EVENT_SAMPLES, clockEventSamplesNeeded } from '../fields/index.js';
import { DEFAULT_GENERATION, GENERATIONS, GENERATION_DEFAULTS } from '../fields/generations.js';
import type { CliResult, Config, KubernetesApiConfig } from './types.js';

export { ConfigError } from './errors.js';
export type { CliResult, Config, ScalerConfig } from './types.js';
/** the exporter's configuration (alias of Config) */
export type { ExporterConfig } from './types.js';

const HELP_HINT = 'run nvml-exporter --help for the list of flags';

export interface CliOptions {
  /** the host name when NODE_NAME is unset (default os.hostname) */
  hostname?: () => string;
}

export function exporterHelp(): string {
  return [
    'nvml-exporter: GPU metrics over NVML, compatible with dcgm-exporter.',
    '',
    'Usage: nvml-exporter [flags]',
    '       nvml-exporter scaler [flags]   (KEDA external scaler; nvml-exporter scaler --help)',
    '',
    'Flags (--flag value or --flag=value; an env var applies when its flag is absent):',
    helpTable(EXPORTER_FLAGS),
    '',
    'Environment: NODE_NAME sets the host label (default: the host name) and the node whose pods the Kubernetes API options watch.',
    '',
  ].join('\n');
}

export function versionText(): string {
  return `nvml-exporter ${packageVersion()} (node ${process.version})\n`;
}

const K8S_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function kubernetesApiConfig(
  get: (name: string) => RawValue | undefined,
  bool: (name: string) => boolean,
  str: (name: string, fallback: string) => RawValue,
  nodeName: string,
  simulate: boolean,
  collectorsGiven: boolean,
  warnings: string[],
): KubernetesApiConfig {
  const podLabels = bool('kubernetes-enable-pod-labels');
  const allowRaw = get('kubernetes-pod-label-allowlist-regex');
  const allowText = allowRaw && allowRaw.value.trim() !== 'none' ? allowRaw.value.trim() : '';
  let podLabelAllowlist: string[] | null = null;
  if (allowText !== '') {
    // compiled (and refused when RE2 cannot run it) where it is used, lib/kubernetes/pod-labels.ts:
    // re2js loads only when pod labels are on
    podLabelAllowlist = commaList(allowRaw!);
  }
  if (podLabels && !podLabelAllowlist) {
    throw new ConfigError(
      '--kubernetes-enable-pod-labels needs --kubernetes-pod-label-allowlist-regex (DCGM_EXPORTER_KUBERNETES_POD_LABEL_ALLOWLIST_REGEX): ' +
        'every pod label would become a series label; give the keys to keep, e.g. "^app$,^team$" (or ".*" for all, capped at 16 per series)',
    );
  }
  if (!podLabels && podLabelAllowlist) warnings.push(`${allowRaw!.label} has no effect without --kubernetes-enable-pod-labels`);
  const dra = bool('kubernetes-enable-dra');
  const draResourceSlices = bool('kubernetes-dra-resourceslices');
  if (draResourceSlices && !dra) {
    throw new ConfigError('--kubernetes-dra-resourceslices is the fallback of --kubernetes-enable-dra; turn that on too, or remove it');
  }
  const podUid = bool('kubernetes-enable-pod-uid');
  const workload = bool('kubernetes-enable-workload-label');
  const kubernetes = bool('kubernetes');
  for (const [on, flag] of [[podLabels, '--kubernetes-enable-pod-labels'], [podUid, '--kubernetes-enable-pod-uid'],
    [workload, '--kubernetes-enable-workload-label'], [dra, '--kubernetes-enable-dra']] as const) {
    if (on && !kubernetes) throw new ConfigError(`${flag} labels the series of GPUs attributed to pods: it needs -k (--kubernetes); add -k or remove it`);
  }
  const cm = get('configmap-data');
  let configMap: KubernetesApiConfig['configMap'] = null;
  if (cm && cm.value.trim() !== '' && cm.value.trim() !== 'none') {
    const m = /^([^:]+):([^:]+)$/.exec(cm.value.trim());
    if (!m || !K8S_NAME.test(m[1]!) || !K8S_NAME.test(m[2]!)) {
      throw new ConfigError(`${cm.label}: "${cm.value}" is not <namespace>:<name> of a ConfigMap (lower-case letters, digits, '-' and '.')`);
    }
    // as in dcgm-exporter, the ConfigMap wins over a counters file (charts pass -f by default)
    if (collectorsGiven) warnings.push(`--collectors is not used: ${cm.label} names the counters (the ConfigMap wins, as in dcgm-exporter)`);
    configMap = { namespace: m[1]!, name: m[2]! };
  }
  const podFeatures = podLabels || podUid || workload || draResourceSlices;
  if (podFeatures && nodeName === '' && !simulate) {
    throw new ConfigError(
      'the pod labels, UID, workload and ResourceSlice options watch this node through the Kubernetes API: set NODE_NAME to the node name ' +
        '(env NODE_NAME from the downward API, fieldRef spec.nodeName)',
    );
  }
  const kc = get('kubernetes-api-kubeconfig');
  return {
    podLabels,
    podLabelAllowlist,
    podUid,
    workload,
    dra,
    draResourceSlices,
    configMap,
    kubeconfig: kc && kc.value.trim() !== '' ? kc.value.trim() : null,
    staleAfterMs: positiveInt(str('kubernetes-api-stale-after', '300000'), 'number of milliseconds'),
    nodeName,
  };
}

export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, opts: CliOptions = {}): CliResult {
  if (argv[0] === 'scaler') {
    const rest = argv.slice(1);
    if (rest.some((a) => a === '--help' || a === '-help' || a === '-h')) return { kind: 'help', text: scalerHelp() };
    if (rest.some((a) => a === '--version' || a === '-version')) return { kind: 'version', text: versionText() };
    const { config, warnings } = parseScalerArgs(rest, env);
    return { kind: 'scaler', config, warnings };
  }
  const parsed = parseFlags(argv, env, EXPORTER_FLAGS, HELP_HINT);
  // --config-file: its settings apply where neither a flag nor an env var gave one
  let countersInline: string | null = null;
  const cf = parsed.values.get('config-file');
  if (cf && cf.value.trim() !== '' && cf.value.trim() !== 'none') {
    const file = readConfigFile(cf.value.trim(), EXPORTER_FLAGS);
    for (const [k, v] of file.values) if (!parsed.values.has(k)) parsed.values.set(k, v);
    if (!parsed.values.has('collectors')) countersInline = file.countersInline;
  }
  const get = (name: string): RawValue | undefined => parsed.values.get(name);
  const bool = (name: string): boolean => {
    const v = get(name);
    return v ? parseBool(v.value, v.label) : false;
  };
  if (bool('help')) return { kind: 'help', text: exporterHelp() };
  if (bool('version')) return { kind: 'version', text: versionText() };
  if (parsed.positionals.length > 0) {
    throw new ConfigError(`unexpected argument "${parsed.positionals[0]}": nvml-exporter takes only flags; ${HELP_HINT}`);
  }

  const str = (name: string, fallback: string): RawValue => get(name) ?? { value: fallback, label: `--${name}` };
  const address = str('address', ':9400');
  const singlePod = bool('kubernetes-single-pod');
  const virtualGpus = bool('kubernetes-virtual-gpus');
  if (singlePod && virtualGpus) {
    throw new ConfigError('--kubernetes-single-pod and --kubernetes-virtual-gpus contradict each other (one pod per GPU vs one series per sharing pod); give one of them');
  }
  const collectors = get('collectors');
  const library = get('nvml-library');
  const simulate = get('simulate');
  const keda = get('keda-scaler-address');
  const webConfig = get('web-config-file');
  const nodeName = env.NODE_NAME?.trim();
  const namingProfile = oneOf(str('naming-profile', DEFAULT_GENERATION), GENERATIONS);
  const transition = get('naming-transition');
  const namingTransition = transition && !['', 'none'].includes(transition.value.trim()) ? oneOf(transition, GENERATIONS) : null;
  if (namingTransition === namingProfile) {
    throw new ConfigError(`--naming-transition ${namingTransition} is the naming profile itself; give another generation (${GENERATIONS.join(', ')}) or none`);
  }
  const hostLabel = get('hostname-label');
  const collectIntervalMs = positiveInt(str('collect-interval', '1000'), 'number of milliseconds');
  const processInterval = get('process-interval');

  const config: Config = {
    address: parseListenAddress(address.value, address.label),
    collectIntervalMs,
    collectors: collectors ? nonEmpty(collectors, 'the path of a counters CSV file') : null,
    kubernetes: bool('kubernetes'),
    kubernetesGpuIdType: oneOf(str('kubernetes-gpu-id-type', 'uid'), ['uid', 'device-name'] as const),
    podResourcesSocket: nonEmpty(str('pod-resources-kubelet-socket', '/var/lib/kubelet/pod-resources/kubelet.sock'),
      'the path of the kubelet PodResources socket'),
    kubernetesVirtualGpus: virtualGpus,
    sharedGpus: virtualGpus ? 'per-pod' : 'single-pod',
    nvidiaResourceNames: get('nvidia-resource-names') ? commaList(get('nvidia-resource-names')!) : [],
    devices: ((v) => parseDevices(v.value, v.label))(str('devices', 'f')),
    replaceBlanksInModelName: bool('replace-blanks-in-model-name'),
    useOldNamespace: bool('use-old-namespace'),
    logFormat: oneOf(str('log-format', 'text'), ['text', 'json'] as const),
    debug: bool('debug'),
    nvmlLibrary: library ? nonEmpty(library, 'the path of libnvidia-ml.so') : null,
    simulate: simulate ? positiveInt(simulate, 'number of simulated GPUs', 64) : null,
    once: bool('once'),
    podResourcesIntervalMs: positiveInt(str('pod-resources-refresh-interval', '5000'), 'number of milliseconds'),
    podResourcesTimeoutMs: positiveInt(str('pod-resources-timeout', '10000'), 'number of milliseconds'),
    podResourcesStaleAfterMs: positiveInt(str('pod-resources-stale-after', '60000'), 'number of milliseconds'),
    pcieThroughput: bool('pcie-throughput'),
    hostnameLabel: hostLabel ? oneOf(hostLabel, ['Hostname', 'hostname'] as const) : GENERATION_DEFAULTS[namingProfile].hostLabel,
    namingProfile,
    namingTransition,
    countersInline,
    webReadTimeoutMs: duration(str('web-read-timeout', '10s')),
    webWriteTimeoutMs: duration(str('web-write-timeout', '10s')),
    maxConcurrentScrapes: ((v) => (v.value.trim() === '0' ? 0 : positiveInt(v, 'number of requests (0 = no limit)')))(str('max-concurrent-scrapes', '0')),
    enableExporterMetrics: bool('enable-exporter-metrics'),
    healthRequireGpus: bool('health-require-gpus'),
    webSystemdSocket: bool('web-systemd-socket'),
    xidCountWindowMs: positiveInt(str('xid-count-window-size', '300000'), 'number of milliseconds'),
    clockEventsCountWindowMs: positiveInt(str('clock-events-count-window-size', '300000'), 'number of milliseconds'),
    hostname: nodeName ? nodeName : (opts.hostname ?? osHostname)(),
    kedaScalerAddress: keda && keda.value.trim() !== '' ? parseListenTarget(keda.value, keda.label) : null,
    sweepDeadlineMs: positiveInt(str('sweep-deadline', '5000'), 'number of milliseconds'),
    webConfigFile: webConfig && webConfig.value.trim() !== '' ? webConfig.value : null,
    kubernetesApi: kubernetesApiConfig(get, bool, str, nodeName ?? '', simulate !== undefined, collectors !== undefined, parsed.warnings),
    podUsage: bool('pod-usage') || (bool('kubernetes') && virtualGpus),
    hostProc: nonEmpty(str('host-proc', '/proc'), "the path of the host's /proc"),
    processIntervalMs: processInterval ? positiveInt(processInterval, 'number of milliseconds') : collectIntervalMs,
    processSlowIntervalMs: 0, // below: at least the process interval unless given
    processBudgetMs: positiveInt(str('process-budget', '250'), 'number of milliseconds'),
  };
  // One clock-event sample per sweep is kept per GPU for the window: bound it.
  if (clockEventSamplesNeeded(config.clockEventsCountWindowMs, config.collectIntervalMs) > MAX_CLOCK_EVENT_SAMPLES) {
    throw new ConfigError(
      `--clock-events-count-window-size ${config.clockEventsCountWindowMs} at --collect-interval ${config.collectIntervalMs} ` +
      `needs more than ${MAX_CLOCK_EVENT_SAMPLES} samples per GPU; shorten the window or lengthen the collect interval`);
  }
  const slow = get('process-slow-interval');
  config.processSlowIntervalMs = slow ? positiveInt(slow, 'number of milliseconds') : Math.max(10_000, config.processIntervalMs);
  if (config.processSlowIntervalMs < config.processIntervalMs) {
    throw new ConfigError(`--process-slow-interval ${config.processSlowIntervalMs} is shorter than the process interval ${config.processIntervalMs}: the slow cadence must be the slower one; raise it or lower --process-interval`);
  }
  return { kind: 'run', config, warnings: parsed.warnings };
}
