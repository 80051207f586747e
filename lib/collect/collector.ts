// The collector: one NVML sweep every collect interval, off the event loop (the sweep runs on the
// addon's own thread), published as an immutable Snapshot. Scrapes read `current()` and never
// wait on NVML. A sweep that fails or stalls keeps the last good snapshot and is counted.
import { EventEmitter } from 'node:events';
import type { SweepOptions, SweepResult, XidEvent, DeviceSample } from '../nvml/types.js';
import type { Logger } from '../logger.js';
import type { CollectorStatus, Snapshot } from './types.js';
import { nvmlErrorName } from '../nvml/errors.js';

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
  logger: Logger;
}

const NOT_SUPPORTED = new Set([3, 13]); // NOT_SUPPORTED, FUNCTION_NOT_FOUND: no series, not an error

export class Collector extends EventEmitter {
  private snapshot: Snapshot | null = null;
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private stopped = false;
  private unsubscribeXid: (() => void) | null = null;
  private readonly lastXid = new Map<string, XidEvent>();
  private readonly xidCount = new Map<string, number>();
  private nvlinkPrev = new Map<string, { kib: number; t: number }>();
  private nvlinkRate = new Map<string, number>();
  private lostUuids = new Set<string>();
  private readonly stats = {
    lastSweepSeconds: null as number | null,
    lastSuccessMs: null as number | null,
    sweepsTotal: 0,
    sweepsFailed: 0,
    sweepsStalled: 0,
    readErrors: new Map<string, number>(),
  };

  constructor(private readonly opts: CollectorOptions) {
    super();
  }

  /** Runs the first sweep (so callers know NVML answers), then sweeps every interval. */
  async start(): Promise<void> {
    this.unsubscribeXid = this.opts.nvml.onXid((e) => this.onXid(e));
    await this.sweepOnce();
    this.schedule();
  }

  current(): Snapshot | null {
    return this.snapshot;
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
      gpusLost: devices.filter((d) => d.lostCode !== null).length,
      gpuCount: devices.length,
      migParentMemoryDenied: this.migMemoryDenied.size,
    };
  }

  /** Age of the last good sweep in ms, or Infinity before the first. */
  ageMs(now = Date.now()): number {
    return this.stats.lastSuccessMs === null ? Infinity : now - this.stats.lastSuccessMs;
  }

  /** Sweeps now unless a sweep is already in flight; resolves when that sweep is done. */
  sweepOnce(): Promise<void> {
    if (!this.inFlight) {
      this.inFlight = this.runSweep().finally(() => {
        this.inFlight = null;
      });
    }
    return this.inFlight;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.unsubscribeXid?.();
    this.unsubscribeXid = null;
    // A sweep stuck in the driver is not waited for: the deadline already reported it.
    if (this.inFlight) await Promise.race([this.inFlight, new Promise((r) => setTimeout(r, 100).unref())]);
  }

  private schedule(): void {
    if (this.stopped) return;
    const interval = this.opts.intervalMs;
    // Fixed rate: the next sweep starts one interval after the previous one started.
    const delay = interval - ((Date.now() - (this.lastStart ?? Date.now())) % interval);
    this.timer = setTimeout(() => {
      void this.sweepOnce();
      this.schedule();
    }, Math.max(1, delay));
    this.timer.unref?.();
  }

  private lastStart: number | null = null;

  private async runSweep(): Promise<void> {
    this.lastStart = Date.now();
    this.stats.sweepsTotal++;
    let sweep: SweepResult;
    try {
      const pcie = this.opts.pcieThroughput;
      sweep = await this.opts.nvml.sweep({ pcieThroughput: typeof pcie === 'function' ? pcie() : (pcie ?? false) });
    } catch (err) {
      const e = err as Error & { name?: string; stillRunning?: boolean };
      if (e.name === 'SweepStalledError') {
        this.stats.sweepsStalled++;
        if (!e.stillRunning) this.opts.logger.warn('NVML sweep stalled: keeping the last good values', { error: e.message });
      } else {
        this.stats.sweepsFailed++;
        this.opts.logger.warn('NVML sweep failed: keeping the last good values', { error: e.message });
      }
      this.emit('sweep-error', e);
      return;
    }
    this.stats.lastSweepSeconds = sweep.durationUs / 1e6;
    this.stats.lastSuccessMs = Date.now();
    this.countReadErrors(sweep.devices);
    this.trackLost(sweep.devices);
    this.checkMigParentMemory(sweep.devices);
    this.updateNvlink(sweep);
    this.publish(sweep);
  }

  private publish(sweep: SweepResult): void {
    this.snapshot = {
      sweep,
      seq: ++this.seq,
      lastXid: new Map(this.lastXid),
      xidCount: new Map(this.xidCount),
      nvlinkBandwidth: new Map(this.nvlinkRate),
    };
    this.emit('snapshot', this.snapshot);
  }

  private onXid(e: XidEvent): void {
    this.lastXid.set(e.uuid, e);
    this.xidCount.set(e.uuid, (this.xidCount.get(e.uuid) ?? 0) + 1);
    this.opts.logger.warn('XID error', { gpu: e.gpu, uuid: e.uuid, xid: e.xid });
    // Publish at once: an XID should not wait for the next sweep.
    if (this.snapshot) this.publish(this.snapshot.sweep);
  }

  private countReadErrors(devices: DeviceSample[]): void {
    const add = (status: Record<string, number | undefined>) => {
      for (const [field, code] of Object.entries(status)) {
        if (code === undefined || NOT_SUPPORTED.has(code)) continue;
        const key = `${field}\u0000${nvmlErrorName(code)}`;
        this.stats.readErrors.set(key, (this.stats.readErrors.get(key) ?? 0) + 1);
      }
    };
    for (const d of devices) {
      if (d.lostCode !== null) continue;
      add(d.status);
      for (const m of d.mig) add(m.status);
    }
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
    for (const d of sweep.devices) {
      const tx = d.readings.nvlinkTx;
      const rx = d.readings.nvlinkRx;
      if (tx === undefined && rx === undefined) continue;
      const kib = (tx ?? 0) + (rx ?? 0);
      const prev = this.nvlinkPrev.get(d.uuid);
      next.set(d.uuid, { kib, t: sweep.timestamp });
      const dt = prev ? (sweep.timestamp - prev.t) / 1000 : 0;
      // DCGM: ΔKiB / s / 1000, truncated (its "MB/s" is KiB/s ÷ 1000)
      rate.set(d.uuid, prev && dt > 0 && kib >= prev.kib ? Math.trunc((kib - prev.kib) / dt / 1000) : 0);
    }
    this.nvlinkPrev = next;
    this.nvlinkRate = rate;
  }
}
