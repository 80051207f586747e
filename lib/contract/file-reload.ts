// Re-reading files a running process was started with (TLS certificates and keys, CA bundles,
// credentials) when they change: cert-manager and Kubernetes Secret updates replace them in place
// (a Secret volume swaps a symlink), and a server that read them once would serve an expired
// certificate, or present one, until someone restarts it.
//
// Each check stats the files (inode, size, modification time); only a change reads them. What is
// read is loaded and checked by the caller's `load` before `apply` sees it: a file that is missing
// for a moment (the swap), unreadable or does not load keeps what was applied before, and says so
// once per change.
import { stat } from 'node:fs/promises';

export interface FileReloadOptions<T> {
  /** the files to watch (their identity, not their contents, is checked every interval) */
  files: readonly string[];
  /** reads and checks the files; throws (with a message naming the file) when they cannot be used */
  load: () => Promise<T>;
  /** puts what was loaded in use */
  apply: (value: T) => void;
  /** ok: applied; not ok: the change could not be loaded and the previous files stay in use */
  onEvent: (ok: boolean, message: string) => void;
  /** what the files are, for the messages: "TLS certificate files" */
  what: string;
}

export class FileReloader<T> {
  private timer: NodeJS.Timeout | null = null;
  private last = '';
  private busy = false;

  constructor(private readonly o: FileReloadOptions<T>) {}

  private async identity(): Promise<string> {
    const parts = await Promise.all(this.o.files.map((f) => stat(f).then((s) => `${s.ino}:${s.size}:${s.mtimeMs}`, () => 'missing')));
    return parts.join('|');
  }

  /** Takes the files as they are now as the ones in use, then checks every `everyMs`. */
  async start(everyMs: number): Promise<void> {
    this.last = await this.identity();
    if (this.o.files.length === 0) return;
    this.timer = setInterval(() => void this.check(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One check: when a file changed, load and apply it (or keep the previous ones and say why). */
  async check(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const id = await this.identity();
      if (id === this.last) return;
      let value: T;
      try {
        value = await this.o.load();
      } catch (err) {
        this.last = id; // said once per change, not every check
        this.o.onEvent(false, `${this.o.what} changed but cannot be loaded; keeping the previous ones: ${(err as Error).message}`);
        return;
      }
      this.last = id;
      try {
        this.o.apply(value);
      } catch (err) {
        this.o.onEvent(false, `${this.o.what} changed but cannot be put in use; keeping the previous ones: ${(err as Error).message}`);
        return;
      }
      this.o.onEvent(true, `${this.o.what} changed: reloaded`);
    } finally {
      this.busy = false;
    }
  }
}
