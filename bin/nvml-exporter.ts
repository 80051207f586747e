#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=1
// (The flag caps each half of V8's young generation at 1 MiB: under sustained scraping the default
// lets it grow to tens of MiB of resident memory; capped, scavenges stay small and cache-warm and
// throughput goes up. MALLOC_ARENA_MAX=2 keeps glibc from giving each of Node's threads its own
// malloc arena, which costs several MiB of resident memory. See BENCHMARKS.md.
// `node dist/bin/nvml-exporter.js` works too, without them.)
// The `nvml-exporter` command. Exit codes: 0 ok (and after SIGTERM/SIGINT), 1 a runtime failure
// (NVML cannot be opened, the address is in use), 2 bad flags, environment or counters file.
import { parseCli } from '../lib/config/cli.js';
import { ConfigError } from '../lib/config/errors.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { startExporter } from '../lib/exporter.js';
import type { runScaler } from '../lib/scaler/main.js';
import type { Config as ExporterConfig, ScalerConfig, ListenAddress } from '../lib/config/types.js';

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseCli(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`nvml-exporter: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
  if (parsed.kind === 'help' || parsed.kind === 'version') {
    process.stdout.write(parsed.text.endsWith('\n') ? parsed.text : parsed.text + '\n');
    return 0;
  }
  const log = createLogger({ format: parsed.config.logFormat, debug: parsed.config.debug });
  for (const w of parsed.warnings) log.warn(w);
  if (parsed.kind === 'scaler') return runScalerCommand(parsed.config, log);
  return runExporterCommand(parsed.config, log);
}

async function runExporterCommand(config: ExporterConfig, log: Logger): Promise<number> {
  // Signals are taken from the start: a SIGTERM while NVML opens or the first sweep runs ends the
  // start cleanly (exit 0) instead of killing the process, and a SIGHUP then is a no-op (nothing
  // is loaded yet to reload) instead of Node's default, which kills the process.
  let stopWanted: string | null = null;
  let stopNow: ((sig: string) => void) | null = null;
  let reloadNow: (() => void) | null = null;
  const onStop = (sig: string) => {
    if (stopNow) stopNow(sig);
    else if (!stopWanted) {
      stopWanted = sig;
      log.info('stop requested while starting; stopping once the start is done', { signal: sig });
      // A start stuck in the driver (nvmlInit that never returns) must not outlive the stop.
      setTimeout(() => {
        log.warn('the start did not finish within 10 s of the stop request; exiting without closing NVML');
        process.exit(0);
      }, 10_000).unref();
    }
  };
  const onTerm = () => onStop('SIGTERM');
  const onInt = () => onStop('SIGINT');
  const onHup = () => {
    if (reloadNow) reloadNow();
    else log.warn('SIGHUP while starting: the counters file is being read now; ignored');
  };
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  process.on('SIGHUP', onHup);

  let exp;
  try {
    exp = await startExporter(config, log, { listen: !config.once });
  } catch (err) {
    if (err instanceof ConfigError) {
      log.error(err.message);
      return 2;
    }
    log.error((err as Error).message);
    return 1;
  }
  if (stopWanted) {
    log.info('stopping', { signal: stopWanted });
    await exp.close();
    return 0;
  }
  if (config.once) {
    process.stdout.write(exp.renderGpuText());
    await exp.close();
    return 0;
  }
  const app = exp.app!;
  try {
    await listenOn(config.address, (host, port) => app.listen({ host, port }));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const addr = config.address.text;
    log.error(e.code === 'EADDRINUSE' ? `cannot listen on ${addr}: the address is already in use` : `cannot listen on ${addr}: ${e.message}`);
    await exp.close();
    return 1;
  }
  log.info('serving metrics', { address: config.address.text, interval_ms: config.collectIntervalMs });

  let scaler: { close(): Promise<void> } | null = null;
  if (config.kedaScalerAddress) {
    const { createNodeLocalScaler } = await import('../lib/scaler/main.js'); // gRPC: loaded only when asked for
    const local = createNodeLocalScaler(() => exp.gpusDocument(), { logger: log });
    try {
      await local.listen(config.kedaScalerAddress.text);
    } catch (err) {
      log.error(`cannot serve the KEDA scaler API on ${config.kedaScalerAddress.text}: ${(err as Error).message}`);
      await exp.close();
      return 1;
    }
    scaler = local;
    log.info('serving the node-local KEDA external scaler', { address: config.kedaScalerAddress.text });
  }

  reloadNow = () => {
    exp.reload();
  };
  return new Promise<number>((resolve) => {
    let stopping = false;
    stopNow = (sig: string) => {
      if (stopping) return;
      stopping = true;
      log.info('stopping', { signal: sig });
      void (async () => {
        await scaler?.close();
        await exp.close(); // stops accepting, finishes scrapes in flight, closes NVML
        resolve(0);
      })();
    };
    if (stopWanted) stopNow(stopWanted); // a signal that came while the server started listening
  });
}

async function runScalerCommand(config: ScalerConfig, log: Logger): Promise<number> {
  const { runScaler } = await import('../lib/scaler/main.js');
  let handle: Awaited<ReturnType<typeof runScaler>>;
  try {
    handle = await runScaler(
      {
        grpcAddress: config.grpcAddress,
        address: config.address,
        exporters: config.exporters,
        exportersDns: config.exportersDns ?? undefined,
        pullIntervalMs: config.pullIntervalMs,
        pullTimeoutMs: config.pullTimeoutMs,
        staleAfterMs: config.staleAfterMs,
      },
      log,
    );
  } catch (err) {
    log.error((err as Error).message);
    return 1;
  }
  return new Promise<number>((resolve) => {
    const stop = () => void handle.close().then(() => resolve(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

/** Binds `:port` dual-stack, falling back to 0.0.0.0 where IPv6 is disabled. */
async function listenOn(addr: ListenAddress, listen: (host: string, port: number) => Promise<unknown>): Promise<void> {
  try {
    await listen(addr.host, addr.port);
  } catch (err) {
    if (addr.anyHost && (err as NodeJS.ErrnoException).code === 'EAFNOSUPPORT') await listen('0.0.0.0', addr.port);
    else throw err;
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`nvml-exporter: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
