// Pod attribution kept fresh off the scrape path. The attributor asks the kubelet on its own
// interval (a Poller) and when asked: refreshSoon from the /metrics request hook (the one documented
// side effect of a read), requestRefresh for a caller that wants to wait; both coalesced, at most
// once per minGapMs, never with two calls in flight, so however many scrapers there are the kubelet
// sees about one request per second from us at most (its limit is 100 per second). Readers only
// call current(): the last good answer joined with the GPUs of the last sweep, and never wait for
// the kubelet. Events: 'refresh' (RefreshEvent) after every call, 'malformed' and 'unmatched'
// (counts) for the self-metrics. When the kubelet fails, the last good map is
// kept for staleAfterMs, then dropped (series lose their pod labels rather than keep wrong ones).
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import type { SweepResult } from '../nvml/types.js';
import { EventEmitter } from 'node:events';
import { Poller } from '../collect/poller.js';
import { PodResourcesClient, PodResourcesError, type PodResourcesReason } from './client.js';
import { GpuIndex, idTypeHint, isGpuResource, matchPods, type MatchOptions } from './matching.js';
import type { ListPodResourcesResponse } from './podresources-api.js';
import type { PodMap, PodResourcesStatus } from '../contract/pods.js';

/** Emitted after every kubelet call ('refresh'): `changed` when the pod map may differ from before. */
export interface RefreshEvent {
  ok: boolean;
  reason?: string;
  changed: boolean;
}

export interface PodAttributorOptions extends MatchOptions {
  /** the GPUs of the last sweep (the collector supplies it); null before the first sweep */
  getSweep: () => SweepResult | null;
  /** kubelet pod-resources socket; default /var/lib/kubelet/pod-resources/kubelet.sock */
  socketPath?: string;
  /** deadline of each kubelet call; default 10000 ms */
  deadlineMs?: number;
  /** how often to ask the kubelet; default 5000 ms */
  refreshIntervalMs?: number;
  /** the least time between the starts of two kubelet calls; default 1000 ms */
  minGapMs?: number;
  /** how long the last good map outlives failures; default 60000 ms */
  staleAfterMs?: number;
  logger?: Logger;
  /** clock for freshness (ms since epoch); default Date.now */
  now?: () => number;
  /** bumps when what matching reads besides the List answer and the sweep changed (the ResourceSlices) */
  matchGeneration?: () => number;
}

const MAX_REMEMBERED_UNMATCHED = 10_000;
const MAX_REMEMBERED_MALFORMED = 1_000;

function positive(name: string, v: number | undefined, dflt: number): number {
  const x = v ?? dflt;
  if (!Number.isFinite(x) || x <= 0) throw new Error(`pod attribution option ${name} must be a positive number of ms, got ${v}`);
  return x;
}

export class PodAttributor extends EventEmitter {
  private readonly client: PodResourcesClient;
  private readonly getSweep: () => SweepResult | null;
  private readonly match: MatchOptions;
  private readonly staleAfterMs: number;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly poller: Poller;
  private running = false;

  private lastList: ListPodResourcesResponse | null = null;
  private lastSuccessMs: number | null = null;
  private up = false;
  private lastReason: PodResourcesReason | null = null;
  private lastError: PodResourcesStatus['lastError'] = null;
  private readonly errors: Record<string, number> = {};
  private readonly unmatchedSeen = new Set<string>();
  private readonly malformedSeen = new Set<string>();
  private unmatchedCount = 0;
  private allocatableGeneration = 0;
  private memo: { list: ListPodResourcesResponse; sweep: SweepResult | null; gen: number; map: PodMap } | null = null;
  private readonly matchGeneration: () => number;

  constructor(opts: PodAttributorOptions) {
    super();
    if (typeof opts?.getSweep !== 'function') throw new Error('PodAttributor needs getSweep: () => SweepResult | null');
    this.client = new PodResourcesClient({ socketPath: opts.socketPath, deadlineMs: opts.deadlineMs });
    this.getSweep = opts.getSweep;
    const gpuIdType = opts.gpuIdType ?? 'uid';
    if (gpuIdType !== 'uid' && gpuIdType !== 'device-name') {
      throw new Error(`pod attribution option gpuIdType must be uid or device-name, got ${String(gpuIdType)}`);
    }
    this.match = { extraResourceNames: opts.extraResourceNames ?? [], singlePod: opts.singlePod ?? false, gpuIdType };
    if (opts.dra) this.match.dra = opts.dra;
    this.matchGeneration = opts.matchGeneration ?? (() => 0);
    this.staleAfterMs = positive('staleAfterMs', opts.staleAfterMs, 60_000);
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.poller = new Poller({
      intervalMs: positive('refreshIntervalMs', opts.refreshIntervalMs, 5000),
      minGapMs: positive('minGapMs', opts.minGapMs, 1000),
      task: () => this.refreshOnce(),
    });
  }

  get socketPath(): string {
    return this.client.socketPath;
  }

  /**
   * Starts refreshing: one refresh now, then every refreshIntervalMs. The promise settles (never
   * rejects) when that first refresh has finished, whatever its outcome; nothing needs to wait on it.
   */
  start(): Promise<void> {
    this.running = true;
    return this.poller.start();
  }

  /** Stops the timers and closes the channel (a call in flight is cancelled). */
  stop(): void {
    this.running = false;
    this.poller.stop();
    this.client.close();
  }

  /**
   * Asks for a refresh soon: at once when none ran in the last minGapMs, else when that gap is
   * over; calls that arrive meanwhile share that refresh. The promise settles (never rejects)
   * when it has finished, or at once when the attributor is not running.
   */
  requestRefresh(): Promise<void> {
    return this.poller.request();
  }

  /**
   * Asks for a refresh without waiting for it: what a /metrics request calls (the one documented
   * exception to "reads have no side effects", see docs/architecture.md). Nothing is allocated and
   * nothing waits; the kubelet sees at most one call per minGapMs however many scrapers there are.
   */
  refreshSoon(): void {
    this.poller.runSoon();
  }

  /** The last good pod map joined with the GPUs of the last sweep; null when none or too old. */
  current(): PodMap | null {
    const list = this.lastList;
    if (!list || this.lastSuccessMs === null) return null;
    if (this.now() - this.lastSuccessMs > this.staleAfterMs) return null;
    const sweep = this.getSweep();
    const gen = this.matchGeneration();
    if (this.memo && this.memo.list === list && this.memo.sweep === sweep && this.memo.gen === gen) return this.memo.map;
    const { map, unmatched } = matchPods(list, sweep, this.match, this.lastSuccessMs);
    if (sweep && sweep.devices.length > 0) this.noteUnmatched(unmatched);
    this.memo = { list, sweep, gen, map };
    return map;
  }

  status(): PodResourcesStatus {
    return {
      up: this.up,
      errorsByReason: { ...this.errors },
      lastSuccessMs: this.lastSuccessMs,
      unmatchedDeviceIds: this.unmatchedCount,
      lastError: this.lastError ? { ...this.lastError } : null,
    };
  }

  private async refreshOnce(): Promise<void> {
    try {
      const dropped: string[] = [];
      const list = await this.client.list((problem) => dropped.push(problem));
      if (!this.running) return;
      if (dropped.length > 0) this.noteMalformed(dropped);
      const wasDown = !this.up && this.lastReason !== null;
      // An answer equal to the last one keeps the last object: the pod map, and the page joined
      // with it, stay as they are (no re-render, no garbage) while nothing moved.
      const changed = !this.lastList || !samePlainData(this.lastList, list);
      if (changed) this.lastList = list;
      this.lastSuccessMs = this.now();
      this.up = true;
      this.lastReason = null;
      if (wasDown) this.log.info('kubelet pod-resources answers again', { socket: this.client.socketPath });
      this.current(); // match now, so unmatched IDs are counted and logged without waiting for a scrape
      this.emit('refresh', { ok: true, changed: changed || wasDown });
      if (this.client.generation !== this.allocatableGeneration) {
        this.allocatableGeneration = this.client.generation;
        await this.logAllocatable();
      }
    } catch (e) {
      if (!this.running) return;
      const err = e instanceof PodResourcesError ? e : new PodResourcesError('other', String((e as Error)?.message ?? e));
      this.errors[err.reason] = (this.errors[err.reason] ?? 0) + 1;
      this.up = false;
      this.lastError = { reason: err.reason, message: err.message, atMs: this.now() };
      if (err.reason !== this.lastReason) {
        const keeps = this.lastSuccessMs === null ? 'no pod labels yet' : `keeping the last pod map for up to ${this.staleAfterMs} ms`;
        this.log.warn(`kubelet pod-resources refresh failed (${err.reason}); ${keeps}`, { error: err.message });
      }
      this.lastReason = err.reason;
      this.emit('refresh', { ok: false, reason: err.reason, changed: false });
    }
  }

  /** Which GPU device IDs the kubelet can hand out, logged once per connection. */
  private async logAllocatable(): Promise<void> {
    try {
      const res = await this.client.getAllocatableResources();
      const gpus = new GpuIndex(this.getSweep(), this.match.gpuIdType);
      const resources: Record<string, string[]> = {};
      const unknown: string[] = [];
      for (const d of res.devices) {
        if (!isGpuResource(d.resource_name, this.match.extraResourceNames)) continue;
        (resources[d.resource_name] ??= []).push(...d.device_ids);
        if (!gpus.empty) unknown.push(...d.device_ids.filter((id) => !gpus.resolve(id)));
      }
      this.log.info('kubelet allocatable GPU devices', { socket: this.client.socketPath, resources, unknownToNvml: unknown });
    } catch (e) {
      this.log.warn('kubelet GetAllocatableResources failed (attribution still works from List)', {
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }

  private noteUnmatched(ids: string[]): void {
    for (const id of ids) {
      // each distinct ID counts once; past the cap new IDs are no longer counted
      if (this.unmatchedSeen.has(id) || this.unmatchedSeen.size >= MAX_REMEMBERED_UNMATCHED) continue;
      this.unmatchedSeen.add(id);
      this.unmatchedCount++;
      this.emit('unmatched', 1);
      const hint = idTypeHint(id, this.match.gpuIdType!); // set by the constructor
      this.log.warn(`kubelet device ID matches no GPU or MIG instance on this node${hint ? `: ${hint}` : ''}`, { deviceId: id });
    }
  }

  /**
   * Entries of a List answer the client dropped (a pod or container without a name): each one is
   * a `malformed` error, on every refresh that meets it; each distinct one is logged once. The
   * rest of the answer is used, so the refresh itself succeeded.
   */
  private noteMalformed(problems: string[]): void {
    this.errors.malformed = (this.errors.malformed ?? 0) + problems.length;
    this.emit('malformed', problems.length);
    for (const p of problems) {
      if (this.malformedSeen.has(p) || this.malformedSeen.size >= MAX_REMEMBERED_MALFORMED) continue;
      this.malformedSeen.add(p);
      this.log.warn(`kubelet pod-resources List entry dropped (malformed): ${p}; the other pods are used`, { socket: this.client.socketPath });
    }
  }
}

/** Deep equality of decoded protobuf data (plain objects, arrays, strings, numbers, booleans, null). */
export function samePlainData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!samePlainData(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!samePlainData((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}
