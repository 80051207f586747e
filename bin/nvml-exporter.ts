#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=1
// (The flag caps each half of V8's young generation at 1 MiB: under sustained scraping the default
// lets it grow to tens of MiB of resident memory; capped, scavenges stay small and cache-warm and
// throughput goes up. MALLOC_ARENA_MAX=2 keeps glibc from giving each of Node's threads its own
// malloc arena, which costs several MiB of resident memory. See BENCHMARKS.md.
// `node dist/bin/nvml-exporter.js` works too, without them.)
// The `nvml-exporter` command: parse → logger → start → exit code. Exit codes: 0 ok (and after
// SIGTERM/SIGINT), 1 a runtime failure (NVML cannot be opened, the address is in use), 2 bad
// flags, environment or counters file. The lifecycle itself is the composition root's (lib/app/).
import { parseCli } from '../lib/config/cli.js';
import { ConfigError } from '../lib/contract/errors.js';
import { createLogger } from '../lib/logger.js';

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
  const logger = createLogger({ format: parsed.config.logFormat, debug: parsed.config.debug });
  for (const w of parsed.warnings) logger.warn(w);
  // Signals are taken from the start: a SIGTERM while NVML opens ends the start cleanly, and a
  // SIGHUP then is logged instead of Node's default, which kills the process.
  const stop = new AbortController();
  process.on('SIGTERM', () => stop.abort('SIGTERM'));
  process.on('SIGINT', () => stop.abort('SIGINT'));
  process.on('SIGHUP', () => {}); // the exporter's root listens for reloads; elsewhere SIGHUP changes nothing
  if (parsed.kind === 'scaler') {
    const { runScaler } = await import('../lib/app/scaler.js'); // gRPC: loaded only for the scaler
    const { servedFieldName } = await import('../lib/fields/index.js');
    return runScaler(parsed.config, { logger, signal: stop.signal, debug: parsed.config.debug, fieldName: servedFieldName });
  }
  const { runExporter } = await import('../lib/app/exporter.js');
  return runExporter(parsed.config, { logger, signal: stop.signal, hangups: process, onAbandonedStart: () => (abandoned = true) });
}

// A start abandoned while nvmlInit hangs: process.exit would join the libuv pool thread stuck in
// the driver (libuv's shutdown at exit) and hang with it, so the process ends by the default
// action of the SIGTERM it was sent, which runs no exit handler.
let abandoned = false;

main().then(
  (code) => {
    if (abandoned) {
      process.removeAllListeners('SIGTERM');
      process.kill(process.pid, 'SIGTERM');
      return;
    }
    process.exit(code);
  },
  (err) => {
    process.stderr.write(`nvml-exporter: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
