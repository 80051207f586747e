import t, { type Test } from 'tap';
import { parseCli, exporterHelp, type Config } from '../../lib/config/cli.js';
import { ConfigError } from '../../lib/config/errors.js';
import { EXPORTER_FLAGS } from '../../lib/config/flags.js';
import { parseScalerArgs, SCALER_FLAGS } from '../../lib/config/scaler.js';

const opts = { hostname: () => 'os-host' };
function run(argv: string[], env: Record<string, string> = {}): { config: Config; warnings: string[] } {
  const r = parseCli(argv, env, opts);
  if (r.kind !== 'run') throw new Error(`expected run, got ${r.kind}`);
  return r;
}
function fails(t: Test, argv: string[], env: Record<string, string>, message: string | RegExp) {
  let err: unknown;
  try { parseCli(argv, env, opts); } catch (e) { err = e; }
  t.ok(err instanceof ConfigError, `${argv.join(' ')} → ConfigError`);
  t.equal((err as ConfigError).exitCode, 2);
  if (typeof message === 'string') t.equal((err as Error).message, message);
  else t.match((err as Error).message, message);
}

t.test('defaults', async (t) => {
  const { config, warnings } = run([]);
  t.same(warnings, []);
  t.same(config, {
    address: { kind: 'tcp', host: null, port: 9400, text: ':9400' },
    collectIntervalMs: 1000,
    collectors: null,
    kubernetes: false,
    kubernetesGpuIdType: 'uid',
    podResourcesSocket: '/var/lib/kubelet/pod-resources/kubelet.sock',
    kubernetesVirtualGpus: false,
    sharedGpus: 'single-pod',
    nvidiaResourceNames: [],
    devices: { kind: 'flex' },
    replaceBlanksInModelName: false,
    useOldNamespace: false,
    logFormat: 'text',
    debug: false,
    nvmlLibrary: null,
    simulate: null,
    once: false,
    podResourcesIntervalMs: 5000,
    podResourcesTimeoutMs: 10000,
    podResourcesStaleAfterMs: 60000,
    pcieThroughput: false,
    hostnameLabel: 'hostname',
    namingProfile: '4.8.3',
    namingTransition: null,
    countersInline: null,
    webReadTimeoutMs: 10000,
    webWriteTimeoutMs: 10000,
    maxConcurrentScrapes: 0,
    enableExporterMetrics: false,
    healthRequireGpus: false,
    webSystemdSocket: false,
    xidCountWindowMs: 300000,
    clockEventsCountWindowMs: 300000,
    hostname: 'os-host',
    kedaScalerAddress: null,
    sweepDeadlineMs: 5000,
    webConfigFile: null,
    kubernetesApi: {
      podLabels: false, podLabelAllowlist: null, podUid: false, workload: false, dra: false, draResourceSlices: false,
      configMap: null, kubeconfig: null, staleAfterMs: 300000, nodeName: '',
    },
    podUsage: false,
    hostProc: '/proc',
    processIntervalMs: 1000,
    processSlowIntervalMs: 10000,
    processBudgetMs: 250,
  });
});

t.test('every flag, long, short and --flag=value forms', async (t) => {
  const { config } = run([
    '-a', '127.0.0.1:9500', '-c=250', '-f', '/etc/x.csv', '-k', '--kubernetes-gpu-id-type', 'device-name',
    '--pod-resources-kubelet-socket=/run/k.sock', '--kubernetes-virtual-gpus', '--nvidia-resource-names', 'nvidia.com/gpu.shared, nvidia.com/a100',
    '-d', 'g:0,2-3', '-rbmn', '-o', '--log-format', 'json', '--debug', '--nvml-library', '/opt/libnvidia-ml.so.1',
    '--simulate', '4', '--once', '--pod-resources-refresh-interval', '2000', '--pcie-throughput', '--hostname-label', 'hostname',
    '--keda-scaler-address', '[::]:6000', '--sweep-deadline', '800', '--pod-resources-timeout', '1500', '--pod-resources-stale-after=30000',
  ]);
  t.equal(config.podResourcesTimeoutMs, 1500);
  t.equal(config.podResourcesStaleAfterMs, 30000);
  t.same(config.address, { kind: 'tcp', host: '127.0.0.1', port: 9500, text: '127.0.0.1:9500' });
  t.equal(config.collectIntervalMs, 250);
  t.equal(config.collectors, '/etc/x.csv');
  t.equal(config.kubernetes, true);
  t.equal(config.kubernetesGpuIdType, 'device-name');
  t.equal(config.podResourcesSocket, '/run/k.sock');
  t.equal(config.kubernetesVirtualGpus, true);
  t.equal(config.sharedGpus, 'per-pod');
  t.same(config.nvidiaResourceNames, ['nvidia.com/gpu.shared', 'nvidia.com/a100']);
  t.same(config.devices, { kind: 'gpu', ids: [0, 2, 3] });
  t.equal(config.replaceBlanksInModelName, true);
  t.equal(config.useOldNamespace, true);
  t.equal(config.logFormat, 'json');
  t.equal(config.debug, true);
  t.equal(config.nvmlLibrary, '/opt/libnvidia-ml.so.1');
  t.equal(config.simulate, 4);
  t.equal(config.once, true);
  t.equal(config.podResourcesIntervalMs, 2000);
  t.equal(config.pcieThroughput, true);
  t.equal(config.hostnameLabel, 'hostname');
  t.same(config.kedaScalerAddress, { kind: 'tcp', host: '::', port: 6000, text: '[::]:6000' });
  t.equal(config.sweepDeadlineMs, 800);
  t.equal(run(['--address', ':0']).config.address.port, 0);
  t.equal(run(['--collect-interval', '5']).config.collectIntervalMs, 5, 'any positive interval is honoured');
  t.equal(run(['--kubernetes-single-pod']).config.sharedGpus, 'single-pod');
  t.same(run(['--devices', 'i']).config.devices, { kind: 'instance', ids: null });
  t.same(run(['--devices', 'i:3,1']).config.devices, { kind: 'instance', ids: [1, 3] });
  t.same(run(['--devices', 'g']).config.devices, { kind: 'gpu', ids: null });
  t.equal(run(['--keda-scaler-address', '']).config.kedaScalerAddress, null);
});

t.test('booleans: --k, --k=true/false; env true/false/1/0', async (t) => {
  t.equal(run(['--kubernetes=false']).config.kubernetes, false);
  t.equal(run(['--kubernetes=true']).config.kubernetes, true);
  t.equal(run([], { DCGM_EXPORTER_KUBERNETES: '1' }).config.kubernetes, true);
  t.equal(run([], { DCGM_EXPORTER_KUBERNETES: 'true' }).config.kubernetes, true);
  t.equal(run([], { DCGM_EXPORTER_KUBERNETES: '0' }).config.kubernetes, false);
  t.equal(run([], { DCGM_EXPORTER_KUBERNETES: 'false' }).config.kubernetes, false);
  fails(t, [], { DCGM_EXPORTER_KUBERNETES: 'yes' }, 'DCGM_EXPORTER_KUBERNETES: "yes" is not a boolean (expected true or false)');
  fails(t, ['-k=maybe'], {}, '--kubernetes: "maybe" is not a boolean (expected true or false)');
});

t.test('every env var, and flags beat env', async (t) => {
  const env = {
    DCGM_EXPORTER_LISTEN: ':9600', DCGM_EXPORTER_INTERVAL: '300', DCGM_EXPORTER_COLLECTORS: '/e.csv', DCGM_EXPORTER_KUBERNETES: 'true',
    DCGM_EXPORTER_KUBERNETES_GPU_ID_TYPE: 'device-name', DCGM_POD_RESOURCES_KUBELET_SOCKET: '/e.sock', KUBERNETES_VIRTUAL_GPUS: 'true',
    NVIDIA_RESOURCE_NAMES: 'a/b,c/d', DCGM_EXPORTER_DEVICES_STR: 'i:1', DCGM_EXPORTER_REPLACE_BLANKS_IN_MODEL_NAME: 'true',
    DCGM_EXPORTER_USE_OLD_NAMESPACE: '1', DCGM_EXPORTER_LOG_FORMAT: 'json', DCGM_EXPORTER_DEBUG: 'true',
    NVML_EXPORTER_NVML_LIBRARY: '/e.so', NVML_EXPORTER_SIMULATE: '2', NVML_EXPORTER_PODRESOURCES_INTERVAL: '700',
    NVML_EXPORTER_PCIE_THROUGHPUT: 'true', NVML_EXPORTER_HOSTNAME_LABEL: 'hostname', NVML_EXPORTER_KEDA_SCALER_ADDRESS: ':6001',
    NVML_EXPORTER_SWEEP_DEADLINE: '900', NODE_NAME: 'node-7',
  };
  const { config } = run([], env);
  t.equal(config.address.port, 9600);
  t.equal(config.collectIntervalMs, 300);
  t.equal(config.collectors, '/e.csv');
  t.equal(config.kubernetes, true);
  t.equal(config.kubernetesGpuIdType, 'device-name');
  t.equal(config.podResourcesSocket, '/e.sock');
  t.equal(config.kubernetesVirtualGpus, true);
  t.same(config.nvidiaResourceNames, ['a/b', 'c/d']);
  t.same(config.devices, { kind: 'instance', ids: [1] });
  t.equal(config.replaceBlanksInModelName, true);
  t.equal(config.useOldNamespace, true);
  t.equal(config.logFormat, 'json');
  t.equal(config.debug, true);
  t.equal(config.nvmlLibrary, '/e.so');
  t.equal(config.simulate, 2);
  t.equal(config.podResourcesIntervalMs, 700);
  t.equal(config.pcieThroughput, true);
  t.equal(config.hostnameLabel, 'hostname');
  t.same(config.kedaScalerAddress, { kind: 'tcp', host: null, port: 6001, text: ':6001' });
  t.equal(config.sweepDeadlineMs, 900);
  t.equal(config.hostname, 'node-7');
  const flagged = run(['-a', ':9700', '-c', '100', '-k=false', '--log-format=text', '-d', 'f'], env).config;
  t.equal(flagged.address.port, 9700);
  t.equal(flagged.collectIntervalMs, 100);
  t.equal(flagged.kubernetes, false);
  t.equal(flagged.logFormat, 'text');
  t.same(flagged.devices, { kind: 'flex' });
});

t.test('bad values and unknown flags: exit code 2, naming flag, value and expectation', async (t) => {
  fails(t, ['--collect-interval', 'abc'], {}, '--collect-interval: "abc" is not a positive integer number of milliseconds');
  fails(t, ['-c', '0'], {}, '--collect-interval: "0" is not a positive integer number of milliseconds');
  fails(t, [], { DCGM_EXPORTER_INTERVAL: '-5' }, 'DCGM_EXPORTER_INTERVAL: "-5" is not a positive integer number of milliseconds');
  fails(t, ['-a', '9400'], {}, '--address: "9400" is not a listen address (expected host:port, :port or [::1]:port, port 0-65535); did you mean ":9400"?');
  fails(t, ['-a', ':70000'], {}, /--address: ":70000" is not a listen address/);
  fails(t, ['--foo'], {}, 'unknown flag --foo; run nvml-exporter --help for the list of flags');
  fails(t, ['--foo=bar'], {}, 'unknown flag --foo; run nvml-exporter --help for the list of flags');
  fails(t, ['-d', 'x'], {}, '--devices: "x" is not a device selection (expected f, g, g:0,1-3, i or i:0,1-3)');
  fails(t, ['-d', 'g:3-1'], {}, /--devices: "g:3-1" is not a device selection .*: range "3-1" runs backwards/);
  fails(t, ['-d', 'g:a'], {}, /"a" is neither a number nor a range/);
  fails(t, ['--kubernetes-gpu-id-type', 'name'], {}, '--kubernetes-gpu-id-type: "name" is not allowed (expected uid or device-name)');
  fails(t, ['--log-format', 'xml'], {}, '--log-format: "xml" is not allowed (expected text or json)');
  fails(t, ['--hostname-label', 'HOST'], {}, '--hostname-label: "HOST" is not allowed (expected Hostname or hostname)');
  fails(t, ['--simulate', '0'], {}, '--simulate: "0" is not a positive integer number of simulated GPUs');
  fails(t, ['--sweep-deadline', '1.5'], {}, '--sweep-deadline: "1.5" is not a positive integer number of milliseconds');
  fails(t, ['--pod-resources-refresh-interval', 'x'], {}, /--pod-resources-refresh-interval: "x" is not a positive integer/);
  fails(t, ['--pod-resources-timeout', '0'], {}, /--pod-resources-timeout: "0" is not a positive integer/);
  fails(t, [], { NVML_EXPORTER_PODRESOURCES_STALE_AFTER: 'later' }, /NVML_EXPORTER_PODRESOURCES_STALE_AFTER: "later" is not a positive integer/);
  fails(t, ['--keda-scaler-address', 'nope'], {}, /--keda-scaler-address: "nope" is not a listen address/);
  fails(t, ['--address'], {}, /--address: missing value/);
  fails(t, ['extra'], {}, /unexpected argument "extra"/);
  fails(t, ['--kubernetes-single-pod', '--kubernetes-virtual-gpus'], {}, /contradict each other/);
  fails(t, ['-f', ''], {}, '--collectors: empty value (expected the path of a counters CSV file)');
  fails(t, ['--clock-events-count-window-size', '0'], {}, /--clock-events-count-window-size: "0" is not a positive integer/);
  // one sample per sweep and GPU is kept for the window: 86,400,000 ms at 100 ms would be 864,002
  fails(t, ['--clock-events-count-window-size', '86400000', '-c', '100'], {},
    '--clock-events-count-window-size 86400000 at --collect-interval 100 needs more than 65536 samples per GPU; shorten the window or lengthen the collect interval');
  t.equal(run([], { DCGM_EXPORTER_CLOCK_EVENTS_COUNT_WINDOW_SIZE: '60000' }).config.clockEventsCountWindowMs, 60000);
  t.equal(run([]).config.clockEventsCountWindowMs, 300000, 'default: 5 minutes, as dcgm-exporter');
});

t.test('dcgm-exporter flags we ignore: accepted with their value, one warning each naming the flag', async (t) => {
  const { config, warnings } = run([
    '-r', 'localhost:5555', '--enable-dcgm-log', '--dcgm-log-level', 'ERROR', '-p', 'f', '-s', 'f', '-n',
    '--clock-events-count-window-size', '1000', '--watch-max-keep-age', '10m', '--watch-max-keep-samples', '5',
    '--dump-enabled', '--dump-directory', '/d', '--dump-retention', '1', '--dump-compression', '--disable-startup-validate',
    '--enable-gpu-bind-unbind-watch', '--gpu-bind-unbind-poll-interval', '2s', '--enable-pprof', '-c', '700',
  ]);
  t.equal(config.collectIntervalMs, 700, 'values of ignored flags are consumed, the rest still parses');
  t.equal(config.clockEventsCountWindowMs, 1000, '--clock-events-count-window-size is honoured (DCGM_EXP_CLOCK_EVENTS_COUNT), not ignored');
  const ignored = EXPORTER_FLAGS.filter((f) => f.ignored);
  t.equal(warnings.length, ignored.length, 'one warning per ignored flag');
  for (const f of ignored) {
    t.equal(warnings.filter((w) => w.startsWith(`--${f.names[0]} `)).length, 1, `one warning for --${f.names[0]}`);
  }
  t.ok(warnings.includes('-r is accepted for dcgm-exporter compatibility and ignored: this exporter reads NVML directly and has no DCGM host engine')
    || warnings.includes('--remote-hostengine-info is accepted for dcgm-exporter compatibility and ignored: this exporter reads NVML directly and has no DCGM host engine'));
  // an ignored boolean env set to false does not warn; set to true it does
  t.same(run([], { DCGM_EXPORTER_ENABLE_PPROF: 'false' }).warnings, []);
  t.equal(run([], { DCGM_EXPORTER_ENABLE_PPROF: 'true' }).warnings.length, 1);
});

t.test("dcgm-exporter flags that would change the served data or security if ignored are startup errors", async (t) => {
  const refused = EXPORTER_FLAGS.filter((f) => f.unsupported);
  t.same(refused.map((f) => f.names[0]).sort(), [
    'container-labels', 'container-runtime-socket', 'fake-gpus', 'hpc-job-mapping-dir',
  ]);
  for (const f of refused) {
    const argv = f.kind === 'bool' ? [`--${f.names[0]}`] : [`--${f.names[0]}`, 'x'];
    t.throws(() => run(argv), { message: new RegExp(`^--${f.names[0]} is not supported by nvml-exporter: `), exitCode: 2 }, `--${f.names[0]}`);
    const env = f.env;
    if (env) {
      t.throws(() => run([], { [env]: f.kind === 'bool' ? 'true' : 'x' }), { message: new RegExp(`^${env} \\(--${f.names[0]}\\) is not supported`) }, env);
      t.doesNotThrow(() => run([], { [env]: f.kind === 'bool' ? 'false' : 'none' }), `${env} set to off is fine`);
    }
  }
});

t.test('Kubernetes API options: pod labels need an allowlist and -k, -m is <namespace>:<name>, NODE_NAME is required in a cluster', async (t) => {
  const env = { NODE_NAME: 'gpu-node-1' };
  const c = run(['-k', '--kubernetes-enable-pod-labels', '--kubernetes-pod-label-allowlist-regex', '^app$,team', '--kubernetes-enable-pod-uid',
    '--kubernetes-enable-workload-label', '--kubernetes-enable-dra', '--kubernetes-dra-resourceslices', '-m', 'gpu-operator:my-counters',
    '--kubernetes-api-kubeconfig', '/etc/kube/config', '--kubernetes-api-stale-after', '60000'], env).config.kubernetesApi;
  t.same(c, {
    podLabels: true, podLabelAllowlist: ['^app$', 'team'], podUid: true, workload: true, dra: true, draResourceSlices: true,
    configMap: { namespace: 'gpu-operator', name: 'my-counters' }, kubeconfig: '/etc/kube/config', staleAfterMs: 60000, nodeName: 'gpu-node-1',
  });
  // the env vars of dcgm-exporter and the GPU Operator
  const e = run([], { ...env, DCGM_EXPORTER_KUBERNETES: 'true', DCGM_EXPORTER_KUBERNETES_ENABLE_POD_LABELS: 'true',
    DCGM_EXPORTER_KUBERNETES_POD_LABEL_ALLOWLIST_REGEX: '.*', DCGM_EXPORTER_KUBERNETES_ENABLE_POD_UID: 'true', KUBERNETES_ENABLE_DRA: 'true',
    DCGM_EXPORTER_CONFIGMAP_DATA: 'default:exporter-metrics-config-map' }).config.kubernetesApi;
  t.same([e.podLabels, e.podLabelAllowlist, e.podUid, e.dra, e.configMap], [true, ['.*'], true, true, { namespace: 'default', name: 'exporter-metrics-config-map' }]);
  const off = run([]).config.kubernetesApi;
  t.same([off.podLabels, off.podUid, off.workload, off.dra, off.draResourceSlices, off.configMap, off.staleAfterMs], [false, false, false, false, false, null, 300000],
    'all off by default');
  t.throws(() => run(['-k', '--kubernetes-enable-pod-labels'], env),
    { message: /^--kubernetes-enable-pod-labels needs --kubernetes-pod-label-allowlist-regex \(DCGM_EXPORTER_KUBERNETES_POD_LABEL_ALLOWLIST_REGEX\)/, exitCode: 2 });
  // a pattern RE2 refuses is an exit 2 at start, where re2js is loaded (kubernetes-api-labels.test.ts)
  for (const flag of ['--kubernetes-enable-pod-uid', '--kubernetes-enable-workload-label', '--kubernetes-enable-dra']) {
    t.throws(() => run([flag], env), { message: new RegExp(`^${flag} labels the series of GPUs attributed to pods: it needs -k`), exitCode: 2 });
  }
  t.throws(() => run(['-k', '--kubernetes-enable-pod-uid'], {}), { message: /set NODE_NAME to the node name/, exitCode: 2 }, 'no NODE_NAME: refused');
  t.doesNotThrow(() => run(['-k', '--kubernetes-enable-pod-uid', '--simulate', '2'], {}), 'the demo needs no NODE_NAME');
  t.throws(() => run(['-k', '--kubernetes-dra-resourceslices'], env), { message: /fallback of --kubernetes-enable-dra/, exitCode: 2 });
  t.throws(() => run(['-m', 'counters']), { message: /^--configmap-data: "counters" is not <namespace>:<name> of a ConfigMap/, exitCode: 2 });
  t.throws(() => run(['-m', 'NS:x']), { message: /is not <namespace>:<name>/ });
  t.same(run(['-m', 'a:b', '-f', '/etc/x.csv']).warnings, ['--collectors is not used: --configmap-data names the counters (the ConfigMap wins, as in dcgm-exporter)'],
    'with -f too, the ConfigMap wins (dcgm-exporter\'s precedence; charts pass -f by default), and a warning says so');
  t.equal(run(['-m', 'none']).config.kubernetesApi.configMap, null, '-m none is off (dcgm-exporter\'s default text)');
  t.same(run(['--kubernetes-pod-label-allowlist-regex', 'app']).warnings, ['--kubernetes-pod-label-allowlist-regex has no effect without --kubernetes-enable-pod-labels']);
});

t.test('naming profile and transition, web timeouts, scrape limit, exporter metrics, XID window', async (t) => {
  const c = run(['--naming-profile', '4.10', '--naming-transition', '4.8.2', '--web-read-timeout', '1m30s', '--web-write-timeout', '500ms',
    '--max-concurrent-scrapes', '4', '--enable-exporter-metrics', '--health-require-gpus', '-x', '60000']).config;
  t.same([c.namingProfile, c.namingTransition, c.hostnameLabel], ['4.10', '4.8.2', 'hostname']);
  t.same([c.webReadTimeoutMs, c.webWriteTimeoutMs, c.maxConcurrentScrapes, c.enableExporterMetrics, c.healthRequireGpus, c.xidCountWindowMs],
    [90000, 500, 4, true, true, 60000]);
  t.equal(run(['--naming-profile', '4.8.2']).config.hostnameLabel, 'Hostname', '4.8.2 writes Hostname');
  t.equal(run(['--naming-profile', '4.8.2', '--hostname-label', 'hostname']).config.hostnameLabel, 'hostname', 'the flag wins');
  t.equal(run([], { DCGM_EXPORTER_WEB_READ_TIMEOUT: '2s' }).config.webReadTimeoutMs, 2000);
  t.throws(() => run(['--naming-profile', '5.0']), /--naming-profile: "5.0" is not allowed \(expected 4.8.2 or 4.8.3 or 4.9 or 4.10\)/);
  t.throws(() => run(['--naming-transition', '4.8.3']), /--naming-transition 4.8.3 is the naming profile itself/);
  t.throws(() => run(['--web-read-timeout', '10 seconds']), /--web-read-timeout: "10 seconds" is not a duration \(expected e.g. 10s, 500ms, 1m30s\)/);
  t.throws(() => run(['--max-concurrent-scrapes', '-1']), /--max-concurrent-scrapes: "-1" is not a positive integer/);
  t.equal(run(['--kubernetes-virtual-gpus']).config.sharedGpus, 'per-pod');
  t.equal(run([]).config.sharedGpus, 'single-pod', 'one series per shared GPU by default, as dcgm-exporter');
});

t.test('--help lists every flag with its env var and default; --version', async (t) => {
  const r = parseCli(['--help'], {}, opts);
  t.equal(r.kind, 'help');
  const text = r.kind === 'help' ? r.text : '';
  t.equal(text, exporterHelp());
  for (const f of EXPORTER_FLAGS) {
    t.match(text, `--${f.names[0]}`);
    if (f.env) t.match(text, `env ${f.env}`);
    t.match(text, `default ${f.defaultText}`);
  }
  t.match(text, '--address, -a VALUE');
  t.match(text, '--replace-blanks-in-model-name, -rbmn');
  const v = parseCli(['--version'], {}, opts);
  t.equal(v.kind, 'version');
  t.match(v.kind === 'version' ? v.text : '', /^nvml-exporter \d+\.\d+\.\d+/);
  t.equal(parseCli(['-h'], {}, opts).kind, 'help');
  t.equal(parseCli(['scaler', '--help'], {}, opts).kind, 'help');
});

t.test('scaler subcommand', async (t) => {
  const r = parseCli(['scaler', '--exporters', '10.0.0.1:9400, node-b:9400', '--pull-interval=250'], {}, opts);
  t.equal(r.kind, 'scaler');
  t.same(r.kind === 'scaler' && r.config, {
    grpcAddress: { kind: 'tcp', host: null, port: 6000, text: ':6000' },
    address: { kind: 'tcp', host: null, port: 9401, text: ':9401' },
    exporters: [{ host: '10.0.0.1', port: 9400, text: '10.0.0.1:9400' }, { host: 'node-b', port: 9400, text: 'node-b:9400' }],
    exportersDns: null,
    pullIntervalMs: 250, pullTimeoutMs: 400, staleAfterMs: 3000, logFormat: 'text', debug: false,
    pulls: { scheme: 'http', caFile: null, certFile: null, keyFile: null, serverName: null, basicAuthFile: null },
    grpcTls: null, kubernetesApi: false, kubernetesApiKubeconfig: null, workloadIdleTimeoutMs: 120000, idleProbeIntervalMs: 30000, readyMinFreshPercent: 50,
  });
  // gRPC TLS, API access and readiness, by flag and by env
  const ha = parseScalerArgs(['--exporters', 'a:1', '--grpc-tls-cert-file', '/s.crt', '--grpc-tls-key-file', '/s.key', '--grpc-tls-client-ca-file', '/ca.crt',
    '--kubernetes-api', '--workload-idle-timeout', '60000', '--idle-probe-interval', '10000', '--ready-min-fresh-percent', '90'], {}).config;
  t.same(ha.grpcTls, { certFile: '/s.crt', keyFile: '/s.key', clientCaFile: '/ca.crt' });
  t.same([ha.kubernetesApi, ha.workloadIdleTimeoutMs, ha.idleProbeIntervalMs, ha.readyMinFreshPercent], [true, 60000, 10000, 90]);
  const haEnv = parseScalerArgs([], { NVML_EXPORTER_SCALER_EXPORTERS: 'a:1', NVML_EXPORTER_SCALER_KUBERNETES_API: 'true',
    NVML_EXPORTER_SCALER_GRPC_TLS_CERT_FILE: '/s.crt', NVML_EXPORTER_SCALER_GRPC_TLS_KEY_FILE: '/s.key' }).config;
  t.same([haEnv.kubernetesApi, haEnv.grpcTls], [true, { certFile: '/s.crt', keyFile: '/s.key', clientCaFile: null }]);
  t.equal(parseScalerArgs(['--exporters', 'a:1', '--kubernetes-api', '--kubernetes-api-kubeconfig', '/etc/k/config'], {}).config.kubernetesApiKubeconfig,
    '/etc/k/config', 'the scaler can name its API server with a kubeconfig');
  t.equal(parseScalerArgs([], { NVML_EXPORTER_SCALER_EXPORTERS: 'a:1', NVML_EXPORTER_SCALER_KUBERNETES_API_KUBECONFIG: '/k' }).config.kubernetesApiKubeconfig, '/k');
  t.throws(() => parseScalerArgs(['--exporters', 'a:1', '--ready-min-fresh-percent', '150'], {}), /--ready-min-fresh-percent "150": expected a percentage from 0 to 100/);
  // pulls from exporters that serve a web config
  const tls = parseScalerArgs(['--exporters', 'a:1', '--exporters-scheme', 'https', '--exporters-ca-file', '/ca.pem', '--exporters-cert-file', '/c.pem',
    '--exporters-key-file', '/k.pem', '--exporters-server-name', 'nvml-exporter.monitoring.svc', '--exporters-basic-auth-file', '/auth'], {}).config;
  t.same(tls.pulls, { scheme: 'https', caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem', serverName: 'nvml-exporter.monitoring.svc', basicAuthFile: '/auth' });
  t.throws(() => parseScalerArgs(['--exporters', 'a:1', '--exporters-ca-file', '/ca.pem'], {}), /--exporters-ca-file is set but --exporters-scheme is http/);
  t.throws(() => parseScalerArgs(['--exporters', 'a:1', '--exporters-scheme', 'https', '--exporters-cert-file', '/c.pem'], {}), /go together/);
  const dns = parseScalerArgs(['--exporters-dns', 'nvml-exporter.monitoring.svc:9400', '--grpc-address', '/run/s.sock', '-a', ':9999',
    '--stale-after', '10000', '--pull-timeout', '300'], {}).config;
  t.same(dns.exportersDns, { host: 'nvml-exporter.monitoring.svc', port: 9400, text: 'nvml-exporter.monitoring.svc:9400' });
  t.same(dns.grpcAddress, { kind: 'unix', path: '/run/s.sock', text: '/run/s.sock' });
  t.same(dns.address, { kind: 'tcp', host: null, port: 9999, text: ':9999' });
  const v6 = parseScalerArgs(['--exporters', '[fd00::5]:9400', '--grpc-address', '[::1]:6000', '-a', '[::1]:9401'], {});
  t.same(v6.config.exporters, [{ host: 'fd00::5', port: 9400, text: '[fd00::5]:9400' }], 'IPv6 peers keep their brackets in text');
  t.same(v6.config.grpcAddress, { kind: 'tcp', host: '::1', port: 6000, text: '[::1]:6000' });
  t.same(v6.config.address, { kind: 'tcp', host: '::1', port: 9401, text: '[::1]:9401' });
  t.equal(dns.staleAfterMs, 10000);
  t.equal(dns.pullTimeoutMs, 300);
  const env = parseScalerArgs([], { NVML_EXPORTER_SCALER_EXPORTERS: 'a:1', NVML_EXPORTER_SCALER_PULL_INTERVAL: '900' }).config;
  t.same(env.exporters, [{ host: 'a', port: 1, text: 'a:1' }]);
  t.equal(env.pullIntervalMs, 900);
  const err = (argv: string[], re: RegExp) => t.throws(() => parseScalerArgs(argv, {}), re);
  err([], /no exporters to pull: give --exporters host:port,… or --exporters-dns name:port/);
  err(['--exporters', 'a:1', '--exporters-dns', 'b:2'], /both set/);
  err(['--exporters', 'nohost'], /--exporters: "nohost" is not a host:port address/);
  err(['--exporters', 'a:1', '--pull-interval', '0'], /--pull-interval: "0" is not a positive integer number of milliseconds/);
  err(['--exporters', 'a:1', '--grpc-address', 'x'], /--grpc-address: "x" is not a listen address/);
  err(['--exporters', 'a:1', '-a', 'unix:///x.sock'], /--address: "unix:\/\/\/x.sock" is not a listen address \(expected host:port, :port or \[::1\]:port/);
  err(['--exporters', 'a:1', '--grpc-address', 'unix:relative.sock'], /--grpc-address: "unix:relative.sock" is not a unix socket path/);
  err(['--exporters', 'a:1', '--bogus'], /unknown flag --bogus; run nvml-exporter scaler --help/);
  t.ok(SCALER_FLAGS.every((f) => f.env), 'every scaler flag has an env var');
});
