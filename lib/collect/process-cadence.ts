// How often a sweep also reads the processes (native/processes.cc): every process interval, and
// on a slower cadence of its own while one read takes longer than the budget (a busy GPU can make
// the process queries slow; they run on the sweep thread, within the sweep's deadline). The
// collector asks `due()` before each sweep and reports each read's duration.
import type { Logger } from '../logger.js';

export interface ProcessCadenceOptions {
  intervalMs: number;
  slowIntervalMs: number;
  budgetMs: number;
  logger?: Logger;
}

export interface ProcessCadenceStatus {
  /** the cadence in force now, ms */
  intervalMs: number;
  /** true while reads run on the slow cadence */
  slow: boolean;
  /** duration of the last process read, seconds; null before the first */
  lastDurationSeconds: number | null;
  reads: number;
  /** entry size of the driver's process lists (16, 24 or 32 bytes), 0 before one was seen */
  stride: number;
}

export class ProcessCadence {
  private lastAt = -Infinity;
  private slow = false;
  private lastDurationMs: number | null = null;
  private reads = 0;
  private stride = 0;

  constructor(private readonly o: ProcessCadenceOptions) {}

  /** Whether the sweep starting at `now` should read processes (a tenth of the interval early is on time). */
  due(now: number): boolean {
    return now - this.lastAt >= this.current() * 0.9;
  }

  /** Records a read that started at `startedAt` and took `durationUs` on the sweep thread. */
  record(startedAt: number, durationUs: number, stride: number): void {
    this.lastAt = startedAt;
    this.reads++;
    if (stride > 0) this.stride = stride;
    const ms = durationUs / 1000;
    this.lastDurationMs = ms;
    if (!this.slow && ms > this.o.budgetMs) {
      this.slow = true;
      this.o.logger?.warn('process queries are slow: reading processes on the slower cadence', {
        duration_ms: Math.round(ms), budget_ms: this.o.budgetMs, interval_ms: this.o.slowIntervalMs,
      });
    } else if (this.slow && ms <= this.o.budgetMs / 2) {
      this.slow = false;
      this.o.logger?.info('process queries are fast again: back to the process interval', { duration_ms: Math.round(ms), interval_ms: this.o.intervalMs });
    }
  }

  current(): number {
    return this.slow ? this.o.slowIntervalMs : this.o.intervalMs;
  }

  status(): ProcessCadenceStatus {
    return { intervalMs: this.current(), slow: this.slow, lastDurationSeconds: this.lastDurationMs === null ? null : this.lastDurationMs / 1000, reads: this.reads, stride: this.stride };
  }
}
