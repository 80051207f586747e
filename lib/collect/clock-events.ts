// Clock-event (throttle) reasons across sweeps, for dcgm-exporter's two exporter-owned families:
// - DCGM_EXP_CLOCK_EVENTS_COUNT: per GPU and reason, how many samples within the last window
//   (--clock-events-count-window-size) had that reason's bit set. One sample per sweep.
// - DCGM_EXP_CLOCK_EVENTS_TOTAL: per GPU and reason, how many times the reason became active
//   (its bit went from clear to set between two sweeps) since the exporter started. The first
//   sample of a GPU only sets the baseline: a reason already active at start is not counted.
// Memory is bounded: each GPU keeps a ring of at most `capacity` (time, mask) samples in typed
// arrays (12 bytes a sample); the configuration refuses a window that needs more (see
// maxClockEventSamples).

/** The reason bits of nvmlDeviceGetCurrentClocksEventReasons and the `clock_event` label values. */
export const CLOCK_EVENT_REASONS: readonly (readonly [bit: number, label: string])[] = [
  [0x1, 'gpu_idle'],
  [0x2, 'clocks_setting'],
  [0x4, 'power_cap'],
  [0x8, 'hw_slowdown'],
  [0x10, 'sync_boost'],
  [0x20, 'sw_thermal'],
  [0x40, 'hw_thermal'],
  [0x80, 'hw_power_brake'],
  [0x100, 'display_clocks'],
];

const KNOWN_BITS = CLOCK_EVENT_REASONS.reduce((m, [bit]) => m | bit, 0);

/** The most samples one GPU's window may hold (65,536 × 12 bytes = 768 KiB per GPU). */
export const MAX_CLOCK_EVENT_SAMPLES = 65_536;

/** Samples a window needs at one sample per collect interval (plus the sample at each edge). */
export function clockEventSamplesNeeded(windowMs: number, intervalMs: number): number {
  return Math.ceil(windowMs / Math.max(1, intervalMs)) + 2;
}

class Ring {
  readonly times: Float64Array;
  readonly masks: Uint32Array;
  start = 0;
  size = 0;
  constructor(readonly capacity: number) {
    this.times = new Float64Array(capacity);
    this.masks = new Uint32Array(capacity);
  }
  push(time: number, mask: number): void {
    const at = (this.start + this.size) % this.capacity;
    this.times[at] = time;
    this.masks[at] = mask;
    if (this.size < this.capacity) this.size++;
    else this.start = (this.start + 1) % this.capacity;
  }
  dropBefore(since: number): void {
    while (this.size > 0 && this.times[this.start]! < since) {
      this.start = (this.start + 1) % this.capacity;
      this.size--;
    }
  }
}

export class ClockEventTracker {
  private readonly rings = new Map<string, Ring>();
  private readonly previous = new Map<string, number>();
  private readonly totalsByGpu = new Map<string, Map<string, number>>();

  constructor(readonly windowMs: number, private readonly capacity: number) {}

  /** One sweep's reading of a GPU; `mask` undefined when NVML gave no value (nothing recorded). */
  observe(uuid: string, timeMs: number, mask: number | undefined): void {
    if (mask === undefined || !Number.isFinite(mask) || mask < 0) return;
    const m = mask & KNOWN_BITS;
    let ring = this.rings.get(uuid);
    if (!ring) this.rings.set(uuid, (ring = new Ring(this.capacity)));
    ring.push(timeMs, m);
    const prev = this.previous.get(uuid);
    this.previous.set(uuid, m);
    if (prev === undefined) return; // the baseline
    const rising = m & ~prev;
    if (rising === 0) return;
    let totals = this.totalsByGpu.get(uuid);
    if (!totals) this.totalsByGpu.set(uuid, (totals = new Map()));
    for (const [bit, label] of CLOCK_EVENT_REASONS) if (rising & bit) totals.set(label, (totals.get(label) ?? 0) + 1);
  }

  /** Per GPU, reason label → samples within the window ending at `nowMs` with that bit set (reasons with 0 left out). */
  windowCounts(nowMs: number): Map<string, ReadonlyMap<string, number>> {
    const out = new Map<string, ReadonlyMap<string, number>>();
    const since = nowMs - this.windowMs;
    for (const [uuid, ring] of this.rings) {
      ring.dropBefore(since);
      const counts = new Map<string, number>();
      for (let i = 0; i < ring.size; i++) {
        const mask = ring.masks[(ring.start + i) % ring.capacity]!;
        if (mask === 0) continue;
        for (const [bit, label] of CLOCK_EVENT_REASONS) if (mask & bit) counts.set(label, (counts.get(label) ?? 0) + 1);
      }
      out.set(uuid, counts);
    }
    return out;
  }

  /** Per GPU, reason label → rising edges since start (a copy; reasons never seen rising are absent). */
  totals(): Map<string, ReadonlyMap<string, number>> {
    const out = new Map<string, ReadonlyMap<string, number>>();
    for (const [uuid, t] of this.totalsByGpu) out.set(uuid, new Map(t));
    return out;
  }
}
