// One small scheduler for everything that polls: the collector's NVML sweeps, the pod attribution's
// kubelet calls, and the scaler's pulls of each exporter's document. It runs a task
//   - at a fixed rate: the next run starts one interval after the previous one started (at once
//     when a run took longer than the interval);
//   - on demand (runSoon, request), never sooner than minGapMs after the previous start;
//   - never twice at the same time: a demand during a run arranges one more run after it, and
//     any number of demands meanwhile share that one run.
// Its timers do not keep the process alive, except while someone awaits a requested run.

export interface PollerOptions {
  /** ms between the starts of two scheduled runs */
  intervalMs: number;
  /** the least ms between the starts of two runs, for runs on demand (default 0) */
  minGapMs?: number;
  /** the work; a rejection is the task's own business (it is caught and dropped here) */
  task: () => Promise<void>;
  /** clock (ms since epoch); default Date.now */
  now?: () => number;
}

export class Poller {
  private readonly intervalMs: number;
  private readonly minGapMs: number;
  private readonly task: () => Promise<void>;
  private readonly now: () => number;
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private inFlight: Promise<void> | null = null;
  /** one more run is wanted once the one in flight is done */
  private pending = false;
  private lastStart = -Infinity;
  /** resolved when the next run to start has finished */
  private waiters: (() => void)[] = [];

  constructor(opts: PollerOptions) {
    if (!(opts.intervalMs > 0) || !Number.isFinite(opts.intervalMs)) {
      throw new RangeError(`poller interval must be a positive number of ms, got ${opts.intervalMs}`);
    }
    const gap = opts.minGapMs ?? 0;
    if (!(gap >= 0) || !Number.isFinite(gap)) throw new RangeError(`poller minGapMs must be >= 0, got ${opts.minGapMs}`);
    this.intervalMs = opts.intervalMs;
    this.minGapMs = gap;
    this.task = opts.task;
    this.now = opts.now ?? Date.now;
  }

  /** Starts polling: one run now; resolves when that run has finished (never rejects). */
  start(): Promise<void> {
    if (this.running) return this.inFlight ?? Promise.resolve();
    this.running = true;
    return this.request();
  }

  /** Stops the timers; a run in flight goes on (await `current` to wait for it). */
  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
    this.pending = false;
    for (const w of this.waiters.splice(0)) w();
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** The run in flight, or null. */
  get current(): Promise<void> | null {
    return this.inFlight;
  }

  /** When the last run started (ms since epoch), -Infinity before the first. */
  get lastStartMs(): number {
    return this.lastStart;
  }

  /**
   * A run that starts after this call: at once when allowed, else when the gap is over. Resolves
   * (never rejects) when that run has finished, or at once when the poller is stopped.
   */
  request(): Promise<void> {
    if (!this.running) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.waiters.push(resolve));
    this.kick();
    this.timer?.ref(); // someone waits: the timer must keep the process alive until it has run
    return done;
  }

  /**
   * The run in flight, or a run started now (even when the poller is not running, and whatever
   * the gap): what "do it now" callers and tests use. Resolves when that run has finished.
   */
  runNow(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
    return this.startRun();
  }

  /**
   * A run soon, without waiting for it and without allocating: when a run is in flight, one more
   * follows it once minGapMs has passed since its start; when one ran less than minGapMs ago, one
   * runs when that gap is over; calls meanwhile change nothing. Otherwise a run starts now.
   */
  runSoon(): void {
    if (!this.running || this.pending) return;
    if (this.inFlight) {
      this.pending = true;
      return;
    }
    // one is already arranged for the end of the gap (a scheduled run further away is moved up)
    if (this.timer !== null && this.timerAt <= this.lastStart + this.minGapMs) return;
    this.kick();
  }

  private schedule(at: number): void {
    if (!this.running || (this.timer && this.timerAt <= at)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.kick();
    }, Math.max(0, at - this.now()));
    if (this.waiters.length === 0) this.timer.unref();
  }

  private kick(): void {
    if (!this.running) return;
    if (this.inFlight) {
      this.pending = true;
      return;
    }
    const earliest = this.lastStart + this.minGapMs;
    if (this.now() < earliest) return this.schedule(earliest);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
    void this.startRun();
  }

  private startRun(): Promise<void> {
    this.lastStart = this.now();
    const waiting = this.waiters.splice(0);
    let run: Promise<void>;
    try {
      run = this.task();
    } catch (err) {
      run = Promise.reject(err);
    }
    this.inFlight = run
      .catch(() => undefined)
      .finally(() => {
        this.inFlight = null;
        for (const w of waiting) w();
        if (!this.running) return;
        if (this.pending || this.waiters.length > 0) {
          this.pending = false;
          this.schedule(this.lastStart + this.minGapMs);
        } else {
          this.schedule(this.lastStart + this.intervalMs);
        }
      });
    return this.inFlight;
  }
}
