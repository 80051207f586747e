// The collector: one NVML sweep every collect interval (a Poller), off the event loop (the sweep
// runs on the addon's own thread), published as an immutable Snapshot. Readers call `current()`
// and never wait on NVML. A sweep that fails or stalls keeps the last good snapshot and is counted.
// Events: 'snapshot' (a new Snapshot: after a sweep, or at once after an XID) and 'sweep'
// (SweepOutcome, after every sweep, for the self-metrics).
import { EventEmitter } from 'node:events';
import { Poller } from './poller.js';
import type { SweepOptions, SweepResult, XidEvent, DeviceSample } from '../nvml/types.js';
import type { Logger } from '../logger.js';
import type { CollectorStatus, Snapshot } from './types.js';
import { nvmlErrorName } from '../nvml/errors.js';
import { ClockEventTracker, clockEventSamplesNeeded, MAX_CLOCK_EVENT_SAMPLES } from './clock-events.js';
import { GpmNotes } from './gpm-notes.js';
import { ProcessCadence, type ProcessCadenceOptions, type ProcessCadenceStatus } from './process-cadence.js';

/** What the collector needs from NVML (lib/nvml's Nvml satisfies it). */
export interface SweepSource {
  sweep(opts?: SweepOptions): Promise<SweepResult>;
  onXid(listener: (e: XidEvent) => void): () => void;
}

export interface CollectorOptions {
  nvml: SweepSource;
  intervalMs: number;
  /** read PCIe throughput (each call blocks ~20 ms): asked before every sweep, as the selection may change */
  pcieThroughput?: boolean | (() => boolean);
  /** GPM (DCGM_FI_PROF_* fields): asked before every sweep, as the selection may change; default off */
  gpm?: SweepOptions['gpm'] | (() => SweepOptions['gpm']);
  /** the window of the XID count (DCGM_EXP_XID_ERRORS_COUNT), ms; default 300000 */
  xidWindowMs?: number;
  /** the window of the clock-event count (DCGM_EXP_CLOCK_EVENTS_COUNT), ms; default 300000 */
  clockEventsWindowMs?: number;
  /** read the processes too, on this cadence (absent: never) */
  processes?: Omit<ProcessCadenceOptions, 'logger'>;
  logger: Logger;
}

const XID_HISTORY = 1000;
const NOT_SUPPORTED = new Set([3, 13]); // NOT_SUPPORTED, FUNCTION_NOT_FOUND: no series, not an error

function countLost(devices: readonly DeviceSample[]): number {
  let n = 0;
  for (const d of devices) if (d.lostCode !== null) n++;
  return n;
}

/** What one sweep came to; `readErrors` lists each failed reading as [field, NVML code name]. */
export interface SweepOutcome {
  outcome: 'ok' | 'failed' | 'stalled';
  readErrors: readonly (readonly [string, string])[];
}

export class Collector extends EventEmitter {
  private snapshot: Snapshot | null = null;
  private seq = 0;
  private readonly poller: Poller;
  private stopped = false;
  private unsubscribeXid: (() => void) | null = null;
  private readonly lastXid = new Map<string, XidEvent>();
  private readonly xidCount = new Map<string, number>();
  /** XID events per GPU UUID and XID number since start, XID 0 left out (DCGM_EXP_XID_ERRORS_TOTAL) */
  private readonly xidTotals = new Map<string, Map<number, number>>();
  private readonly clockEvents: ClockEventTracker;
  private nvlinkPrev = new Map<string, { kib: number; t: number }>();
  private nvlinkRate = new Map<string, number>();
  private nvlinkBytes = new Map<string, number>();
  /** XID event times and numbers per GPU, the last XID_HISTORY of each (for the windowed count) */
  private readonly xidHistory = new Map<string, { time: number; xid: number }[]>();
  private lostUuids = new Set<string>();
  private readonly gpmNotes: GpmNotes;
  private readonly stats = {
    lastSweepSeconds: null as number | null,
    lastSuccessMs: null as number | null,
    sweepsTotal: 0,
    sweepsFailed: 0,
    sweepsStalled: 0,
    readErrors: new Map<string, number>(),
  };

  /** A sweep older than this many ms makes the exporter not ready (3 intervals + 1 s). */
  readonly freshnessBoundMs: number;

  private readonly cadence: ProcessCadence | null;

  constructor(private readonly opts: CollectorOptions) {
    super();
    this.cadence = opts.processes ? new ProcessCadence({ ...opts.processes, logger: opts.logger }) : null;
    this.poller = new Poller({ intervalMs: opts.intervalMs, task: () => this.runSweep() });
    this.freshnessBoundMs = 3 * opts.intervalMs + 1000;
    const clockWindowMs = opts.clockEventsWindowMs ?? 300_000;
    this.clockEvents = new ClockEventTracker(clockWindowMs,
      Math.min(MAX_CLOCK_EVENT_SAMPLES, clockEventSamplesNeeded(clockWindowMs, opts.intervalMs)));
    this.gpmNotes = new GpmNotes(opts.logger);
  }

  /** Runs the first sweep (so callers know NVML answers), then sweeps every interval. */
  async start(): Promise<void> {
    try {
      this.unsubscribeXid = this.opts.nvml.onXid((e) => this.onXid(e));
    } catch (err) {
      // e.g. the event thread cannot be created (the process is out of threads): sweeps go on
      this.opts.logger.error('XID events are off: running without them', { error: (err as Error).message });
    }
    await this.poller.start();
  }

  current(): Snapshot | null {
    return this.snapshot;
  }

  /** The process-read cadence (null when processes are not read). */
  processStatus(): ProcessCadenceStatus | null {
    return this.cadence?.status() ?? null;
  }

  status(): CollectorStatus {
    const devices = this.snapshot?.sweep.devices ?? [];
    return {
      nvmlOpen: !this.stopped,
      lastSweepSeconds: this.stats.lastSweepSeconds,
      lastSuccessMs: this.stats.lastSuccessMs,
      sweepsTotal: this.stats.sweepsTotal,
      sweepsFailed: this.stats.sweepsFailed,
      sweepsStalled: this.stats.sweepsStalled,
      readErrors: this.stats.readErrors,
      gpusLost: countLost(devices),
      gpuCount: devices.length,
      migParentMemoryDenied: this.migMemoryDenied.size,
    };
  }

  /** Age of the last good sweep in ms, or Infinity before the first. */
  ageMs(now = Date.now()): number {
    return this.stats.lastSuccessMs === null ? Infinity : now - this.stats.lastSuccessMs;
  }

  /** Whether the exporter's readings can be trusted now: NVML open and the last sweep fresh. */
  readiness(now = Date.now()): { ok: boolean; reason: string } {
    if (this.stopped) return { ok: false, reason: 'NVML is not open' };
    const age = this.ageMs(now);
    if (age > this.freshnessBoundMs) {
      const old = Number.isFinite(age) ? `${(age / 1000).toFixed(1)} s` : 'missing';
      return { ok: false, reason: `the last good sweep is ${old} old (bound ${this.freshnessBoundMs / 1000} s)` };
    }
    return { ok: true, reason: '' };
  }

  /** Sweeps now unless a sweep is already in flight; resolves when that sweep is done. */
  sweepOnce(): Promise<void> {
    return this.poller.runNow();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const inFlight = this.poller.current;
    this.poller.stop();
    this.unsubscribeXid?.();
    this.unsubscribeXid = null;
    // A sweep stuck in the driver is not waited for: the deadline already reported it.
    if (inFlight) await Promise.race([inFlight, new Promise((r) => setTimeout(r, 100).unref())]);
  }

  private async runSweep(): Promise<void> {
    this.stats.sweepsTotal++;
    let sweep: SweepResult;
    const startedAt = Date.now();
    const processes = this.cadence?.due(startedAt) ?? false;
    try {
      const pcie = this.opts.pcieThroughput;
      const gpm = this.opts.gpm;
      sweep = await this.opts.nvml.sweep({
        pcieThroughput: typeof pcie === 'function' ? pcie() : (pcie ?? false),
        gpm: typeof gpm === 'function' ? gpm() : (gpm ?? false),
        processes,
      });
    } catch (err) {
      const e = err as Error & { name?: string; stillRunning?: boolean };
      const stalled = e.name === 'SweepStalledError';
      if (stalled) {
        this.stats.sweepsStalled++;
        if (!e.stillRunning) this.opts.logger.warn('NVML sweep stalled: keeping the last good values', { error: e.message });
      } else {
        this.stats.sweepsFailed++;
        this.opts.logger.warn('NVML sweep failed: keeping the last good values', { error: e.message });
      }
      this.emit('sweep', { outcome: stalled ? 'stalled' : 'failed', readErrors: [] } satisfies SweepOutcome);
      return;
    }
    this.stats.lastSweepSeconds = sweep.durationUs / 1e6;
    if (sweep.processes && this.cadence) this.cadence.record(startedAt, sweep.processes.durationUs, sweep.processes.stride);
    this.stats.lastSuccessMs = Date.now();
    const readErrors = this.countReadErrors(sweep.devices);
    this.trackLost(sweep.devices);
    this.checkMigParentMemory(sweep.devices);
    this.gpmNotes.check(sweep.devices);
    this.updateNvlink(sweep);
    const now = Date.now();
    for (const d of sweep.devices) this.clockEvents.observe(d.uuid, now, d.readings.clockEventReasons);
    this.publish(sweep);
    this.emit('sweep', { outcome: 'ok', readErrors } satisfies SweepOutcome);
  }

  private publish(sweep: SweepResult): void {
    const windowMs = this.opts.xidWindowMs ?? 300_000;
    const since = Date.now() - windowMs;
    const xidWindowCounts = new Map<string, Map<number, number>>();
    for (const [uuid, events] of this.xidHistory) {
      const counts = new Map<number, number>();
      for (const e of events) if (e.time >= since) counts.set(e.xid, (counts.get(e.xid) ?? 0) + 1);
      if (counts.size > 0) xidWindowCounts.set(uuid, counts);
    }
    this.snapshot = {
      sweep,
      seq: ++this.seq,
      lastXid: new Map(this.lastXid),
      xidCount: new Map(this.xidCount),
      nvlinkBandwidth: new Map(this.nvlinkRate),
      nvlinkBytesPerSecond: new Map(this.nvlinkBytes),
      xidWindowCounts,
      xidWindowMs: windowMs,
      xidTotals: new Map([...this.xidTotals].map(([uuid, m]) => [uuid, new Map(m)])),
      clockEventWindowCounts: this.clockEvents.windowCounts(Date.now()),
      clockEventsWindowMs: this.clockEvents.windowMs,
      clockEventTotals: this.clockEvents.totals(),
    };
    this.emit('snapshot', this.snapshot);
  }

  private onXid(e: XidEvent): void {
    this.lastXid.set(e.uuid, e);
    this.xidCount.set(e.uuid, (this.xidCount.get(e.uuid) ?? 0) + 1);
    if (e.xid !== 0) {
      let totals = this.xidTotals.get(e.uuid);
      if (!totals) this.xidTotals.set(e.uuid, (totals = new Map()));
      totals.set(e.xid, (totals.get(e.xid) ?? 0) + 1);
    }
    const history = this.xidHistory.get(e.uuid) ?? [];
    history.push({ time: e.time, xid: e.xid });
    if (history.length > XID_HISTORY) history.splice(0, history.length - XID_HISTORY);
    this.xidHistory.set(e.uuid, history);
    this.opts.logger.warn('XID error', { gpu: e.gpu, uuid: e.uuid, xid: e.xid });
    // Publish at once: an XID should not wait for the next sweep.
    if (this.snapshot) this.publish(this.snapshot.sweep);
  }

  private countReadErrors(devices: DeviceSample[]): [string, string][] {
    const out: [string, string][] = [];
    const add = (status: Record<string, number | undefined>) => {
      for (const [field, code] of Object.entries(status)) {
        if (code === undefined || NOT_SUPPORTED.has(code)) continue;
        const name = nvmlErrorName(code);
        const key = `${field}\u0000${name}`;
        this.stats.readErrors.set(key, (this.stats.readErrors.get(key) ?? 0) + 1);
        out.push([field, name]);
      }
    };
    for (const d of devices) {
      if (d.lostCode !== null) continue;
      add(d.status);
      for (const m of d.mig) add(m.status);
    }
    return out;
  }

  /** MIG-enabled GPUs whose own memory NVML refuses (NO_PERMISSION): warned once per GPU. */
  private migMemoryDenied = new Set<string>();
  private readonly migMemoryWarned = new Set<string>();

  private checkMigParentMemory(devices: DeviceSample[]): void {
    const denied = new Set<string>();
    for (const d of devices) {
      if (d.lostCode !== null || d.migEnabled !== true || d.status.memTotal !== 4) continue;
      denied.add(d.uuid);
      if (this.migMemoryWarned.has(d.uuid)) continue;
      this.migMemoryWarned.add(d.uuid);
      this.opts.logger.warn(
        'NVML refuses the memory of a MIG-enabled GPU (NVML_ERROR_NO_PERMISSION): its DCGM_FI_DEV_FB_* series are missing; ' +
          'set NVIDIA_MIG_MONITOR_DEVICES=all in the container environment (deploy/ sets it)',
        { gpu: d.index, uuid: d.uuid },
      );
    }
    this.migMemoryDenied = denied;
  }

  private trackLost(devices: DeviceSample[]): void {
    const now = new Set(devices.filter((d) => d.lostCode !== null).map((d) => d.uuid));
    for (const d of devices) {
      if (d.lostCode !== null && !this.lostUuids.has(d.uuid)) {
        this.opts.logger.error('GPU lost: it no longer answers NVML; the other GPUs keep reporting', {
          gpu: d.index, uuid: d.uuid, code: nvmlErrorName(d.lostCode),
        });
      } else if (d.lostCode === null && this.lostUuids.has(d.uuid)) {
        this.opts.logger.info('GPU answers again', { gpu: d.index, uuid: d.uuid });
      }
    }
    this.lostUuids = now;
  }

  /** NVLink bandwidth as dcgm-exporter reports it: Δ(TX+RX KiB) between sweeps ÷ s ÷ 1000, truncated (0 first). */
  private updateNvlink(sweep: SweepResult): void {
    const next = new Map<string, { kib: number; t: number }>();
    const rate = new Map<string, number>();
    const bytes = new Map<string, number>();
    for (const d of sweep.devices) {
      const tx = d.readings.nvlinkTx;
      const rx = d.readings.nvlinkRx;
      if (tx === undefined && rx === undefined) continue;
      const kib = (tx ?? 0) + (rx ?? 0);
      const prev = this.nvlinkPrev.get(d.uuid);
      next.set(d.uuid, { kib, t: sweep.timestamp });
      const dt = prev ? (sweep.timestamp - prev.t) / 1000 : 0;
      // DCGM: ΔKiB / s / 1000, truncated (its "MB/s" is KiB/s ÷ 1000); the base-unit field in bytes/s
      rate.set(d.uuid, prev && dt > 0 && kib >= prev.kib ? Math.trunc((kib - prev.kib) / dt / 1000) : 0);
      bytes.set(d.uuid, prev && dt > 0 && kib >= prev.kib ? Math.trunc(((kib - prev.kib) * 1024) / dt) : 0);
    }
    this.nvlinkPrev = next;
    this.nvlinkRate = rate;
    this.nvlinkBytes = bytes;
  }
}
