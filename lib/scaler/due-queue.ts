// One timer for many periodic jobs: each item has at most one due time, kept in a binary min-heap,
// and a single timer is armed for the earliest. The scaler's pulls of thousands of exporters use it
// instead of one timer per exporter: an idle exporter waiting 30 s for its next probe costs a heap
// slot, not a timer that wakes the process every pull interval to decide to do nothing.
//
// `run(item)` is called once the item's time has come, after the item has left the queue: the
// caller schedules it again (or not). Items due at the same time run in the order they were
// scheduled. The timer does not keep the process alive.

export interface DueQueueOptions<T> {
  run: (item: T) => void;
  /** clock (ms since epoch); default Date.now */
  now?: () => number;
}

interface Slot<T> {
  item: T;
  at: number;
  /** schedule order, breaks ties between equal due times */
  seq: number;
}

export class DueQueue<T> {
  private readonly heap: Slot<T>[] = [];
  private readonly index = new Map<T, number>();
  private readonly run: (item: T) => void;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private seq = 0;
  private stopped = false;

  constructor(opts: DueQueueOptions<T>) {
    this.run = opts.run;
    this.now = opts.now ?? Date.now;
  }

  /** Items waiting. */
  get size(): number {
    return this.heap.length;
  }

  /** When the item is due (ms since epoch), or undefined when it is not queued. */
  dueAt(item: T): number | undefined {
    const i = this.index.get(item);
    return i === undefined ? undefined : this.heap[i].at;
  }

  /** Queues the item for `at`, or moves it there when it is already queued (earlier or later). */
  schedule(item: T, at: number): void {
    if (this.stopped) return;
    const i = this.index.get(item);
    if (i === undefined) {
      this.heap.push({ item, at, seq: this.seq++ });
      this.index.set(item, this.heap.length - 1);
      this.up(this.heap.length - 1);
    } else {
      const s = this.heap[i];
      const earlier = at < s.at;
      s.at = at;
      s.seq = this.seq++;
      if (earlier) this.up(i);
      else this.down(i);
    }
    this.arm();
  }

  /** Takes the item out of the queue (nothing when it is not queued). */
  delete(item: T): void {
    const i = this.index.get(item);
    if (i === undefined) return;
    this.removeAt(i);
    this.arm();
  }

  /** Forgets every item and the timer; schedule() does nothing afterwards. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
    this.heap.length = 0;
    this.index.clear();
  }

  private arm(): void {
    if (this.stopped) return;
    const top = this.heap[0];
    if (!top) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.timerAt = Infinity;
      return;
    }
    // a timer set for earlier than the top fires, finds nothing due and re-arms: no need to move it
    if (this.timer && this.timerAt <= top.at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = top.at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, top.at - this.now()));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.now();
    // what a run schedules for now or earlier waits for the next turn: a job cannot starve the loop
    const due: T[] = [];
    while (this.heap.length > 0 && this.heap[0].at <= now) due.push(this.removeAt(0));
    for (const item of due) {
      if (this.stopped) return;
      try {
        this.run(item);
      } catch {
        // the job's own business, as a timer callback's would be; the others still run
      }
    }
    this.arm();
  }

  private less(a: Slot<T>, b: Slot<T>): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private removeAt(i: number): T {
    const h = this.heap;
    const s = h[i];
    this.index.delete(s.item);
    const last = h.pop()!;
    if (i < h.length) {
      h[i] = last;
      this.index.set(last.item, i);
      this.up(i);
      this.down(this.index.get(last.item)!);
    }
    return s.item;
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l], h[m])) m = l;
      if (r < h.length && this.less(h[r], h[m])) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(a: number, b: number): void {
    const h = this.heap;
    [h[a], h[b]] = [h[b], h[a]];
    this.index.set(h[a].item, a);
    this.index.set(h[b].item, b);
  }
}
