// The idiomatic NVML API: open a library, sweep every GPU off the event loop, listen for XID
// events, close. A sweep that does not answer within the deadline rejects with SweepStalledError,
// and while that native sweep is still stuck every further sweep() is refused at once: there is
// never more than one sweep in the driver.
import { loadBinding, type RawHandle } from './binding.js';
import { SweepStalledError, libraryNotFound, nvmlError } from './errors.js';
import { checkReadingOrder, decodeIdentity, decodeSweep, type IdentityStrings } from './decode.js';
import type { OpenOptions, SweepOptions, SweepResult, XidEvent } from './types.js';

export { NvmlError, NvmlLibraryNotFoundError, SweepStalledError, nvmlErrorName } from './errors.js';
export * from './types.js';

export const DEFAULT_SWEEP_DEADLINE_MS = 5000;

/**
 * Returns the C heap's free pages to the system (glibc malloc_trim through the addon; native/addon.cc
 * says why). True when something was returned; false where there was nothing to return, malloc is
 * not glibc's, or the addon cannot be loaded.
 */
export function releaseFreeMemory(): boolean {
  try {
    return loadBinding().releaseFreeMemory();
  } catch {
    return false;
  }
}

interface InFlight {
  promise: Promise<SweepResult>;
  resolve: (r: SweepResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  startedAt: number;
  /** the deadline passed: the caller was answered with SweepStalledError, the native call goes on */
  stalled: boolean;
}

export class Nvml {
  /** the library file that was opened */
  readonly libraryPath: string;
  readonly sweepDeadlineMs: number;
  private handle: RawHandle | null;
  private inFlight: InFlight | null = null;
  private readonly xidListeners = new Set<(e: XidEvent) => void>();
  private eventsStarted = false;
  /** the GPUs' strings as last sent by the addon (it sends them only when they change) */
  private identity: IdentityStrings | null = null;

  private constructor(handle: RawHandle, libraryPath: string, deadlineMs: number) {
    this.handle = handle;
    this.libraryPath = libraryPath;
    this.sweepDeadlineMs = deadlineMs;
  }

  /** Opens the library (default: libnvidia-ml.so.1 through the loader's search) and runs nvmlInit, off the JS thread. */
  static async open(opts: OpenOptions = {}): Promise<Nvml> {
    const deadline = opts.sweepDeadlineMs ?? DEFAULT_SWEEP_DEADLINE_MS;
    if (!Number.isFinite(deadline) || deadline <= 0) {
      throw new RangeError(`sweepDeadlineMs must be a positive number of milliseconds, got ${String(opts.sweepDeadlineMs)}`);
    }
    if (opts.library !== undefined && (typeof opts.library !== 'string' || opts.library === '')) {
      throw new TypeError('library must be a non-empty path to libnvidia-ml.so.1 (or leave it unset for the default search)');
    }
    const binding = loadBinding();
    checkReadingOrder(binding.readingKeys);
    const handle = new binding.NvmlHandle();
    let self: Nvml | null = null;
    const res = await handle.open(opts.library ?? '', (code, payload, ids) => self?.onSweepDone(code, payload, ids));
    if (res.code !== 0) {
      if (res.stage === 'dlopen') throw libraryNotFound(opts.library ?? null, res.detail);
      throw nvmlError(res.code, 'nvmlInit', `${res.detail ? `${res.detail}; ` : ''}library ${res.path ?? opts.library ?? binding.defaultLibrary}`);
    }
    self = new Nvml(handle, res.path ?? opts.library ?? binding.defaultLibrary, deadline);
    return self;
  }

  /** True after close(). */
  get closed(): boolean {
    return this.handle === null;
  }

  /** One reading of every GPU. Rejects SweepStalledError (deadline, or a stuck sweep still running) or NvmlError. */
  sweep(opts: SweepOptions = {}): Promise<SweepResult> {
    const handle = this.handle;
    if (!handle) {
      return Promise.reject(nvmlError(1, 'Nvml.sweep', 'this Nvml instance is closed; open a new one with Nvml.open()'));
    }
    const cur = this.inFlight;
    if (cur) {
      if (cur.stalled) return Promise.reject(new SweepStalledError(this.sweepDeadlineMs, Date.now() - cur.startedAt, true));
      return cur.promise; // one sweep at a time: callers arriving meanwhile share it
    }
    const gpmMode = opts.gpm === 'with-compute-instances' ? 2 : opts.gpm === true ? 1 : 0;
    if (!handle.sweep(opts.pcieThroughput === true, gpmMode, opts.processes === true)) {
      return Promise.reject(new SweepStalledError(this.sweepDeadlineMs, 0, true));
    }
    let resolve!: (r: SweepResult) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<SweepResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const entry: InFlight = {
      promise,
      resolve,
      reject,
      startedAt: Date.now(),
      stalled: false,
      timer: setTimeout(() => {
        entry.stalled = true;
        reject(new SweepStalledError(this.sweepDeadlineMs, Date.now() - entry.startedAt, false));
      }, this.sweepDeadlineMs),
    };
    this.inFlight = entry;
    return promise;
  }

  /** Calls `listener` for every XID critical error; starts the event thread on first use. Returns unsubscribe. */
  onXid(listener: (e: XidEvent) => void): () => void {
    const handle = this.handle;
    if (!handle) throw nvmlError(1, 'Nvml.onXid', 'this Nvml instance is closed; open a new one with Nvml.open()');
    this.xidListeners.add(listener);
    if (!this.eventsStarted) {
      this.eventsStarted = true;
      handle.startEvents((e) => {
        for (const l of [...this.xidListeners]) {
          try {
            l(e);
          } catch {
            // a listener's failure must not stop delivery to the others
          }
        }
      });
    }
    return () => {
      this.xidListeners.delete(listener);
    };
  }

  /** Stops the event thread, shuts NVML down and closes the library (off the JS thread). Idempotent. */
  async close(): Promise<void> {
    const handle = this.handle;
    if (!handle) return;
    const cur = this.inFlight;
    if (cur && !cur.stalled) await cur.promise.then(() => undefined, () => undefined);
    if (this.handle !== handle) return; // closed meanwhile
    this.handle = null;
    this.xidListeners.clear();
    if (this.inFlight) clearTimeout(this.inFlight.timer);
    this.inFlight = null;
    await handle.close();
  }

  private onSweepDone(code: number, payload: Float64Array | string, ids?: string[] | null): void {
    const cur = this.inFlight;
    this.inFlight = null;
    if (cur) clearTimeout(cur.timer);
    if (code !== 0) {
      if (cur && !cur.stalled) cur.reject(nvmlError(code, String(payload)));
      return;
    }
    // The identity is taken even from a result nobody waits for: the addon sends it only once.
    if (ids) this.identity = decodeIdentity(ids);
    if (!cur || cur.stalled) return; // the caller already got SweepStalledError; sweeps resume from now on
    try {
      if (!this.identity) throw new Error('nvml-exporter: the addon sent a sweep without the GPUs\' identity; rebuild it with `npm run build`');
      cur.resolve(decodeSweep(payload as Float64Array, this.identity));
    } catch (err) {
      cur.reject(err as Error);
    }
  }
}
