// From a host PID to the pod and container it runs in: `<host proc>/<pid>/cgroup` read off the event
// loop, bounded (64 KiB per file, 256 lines, 4096 PIDs per call, 16 reads at a time), and parsed
// for the kubelet's pod cgroup and the container runtime's scope. Hand-written: no npm package
// maps cgroup paths to pods; the layouts it knows are listed below, and test/unit/proc-cgroup.test.ts
// has one fixture per layout.
//
//   cgroupfs driver (v1 and v2):  /kubepods/[burstable|besteffort/]pod<uid>/<container id>
//                                 (CRI-O: …/pod<uid>/crio-<id>)
//   systemd driver (v1 and v2):   /kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid with _>.slice/
//                                 cri-containerd-<id>.scope | crio-<id>.scope | docker-<id>.scope
//   nested (kind, a kubelet in a container): the same path below any prefix
//
// A PID's cgroup is cached with the process's start time (`stat` field 22), so a reused PID is
// read again. The patterns are linear-time (no nested quantifiers) and run on bounded lines.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

export interface PidPod {
  /** the pod UID as the API server spells it (dashes) */
  podUid: string;
  /** the container's runtime ID (64 hex digits), when the cgroup names one */
  containerId: string | null;
}

/** null: the process is in no pod (a host process, or a container outside Kubernetes) */
export type PidResolution = PidPod | null;

const MAX_FILE = 64 * 1024;
const MAX_LINES = 256;
const MAX_LINE = 4096;
export const MAX_PIDS_PER_CALL = 4096;
const CONCURRENCY = 16;
const MAX_CACHE = 16384;

const POD = /(?:^|[/_-])pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}|[0-9a-f]{32})(?:\.slice)?(?=\/|$)/;
const CONTAINER = /^(?:cri-containerd-|crio-|docker-|containerd-)?([0-9a-f]{64})(?:\.scope)?$/;

/** The pod and container of one `/proc/<pid>/cgroup` text, or null when it names no pod. */
export function parseCgroup(text: string): PidResolution {
  const lines = text.split('\n', MAX_LINES);
  for (const line of lines) {
    if (line.length > MAX_LINE) continue;
    // `hierarchy-ID:controllers:path`; the path may itself contain ':'
    const a = line.indexOf(':');
    const b = a < 0 ? -1 : line.indexOf(':', a + 1);
    if (b < 0) continue;
    const path = line.slice(b + 1);
    const m = POD.exec(path);
    if (!m) continue;
    const podUid = m[1]!.length === 32 ? m[1]! : m[1]!.replace(/_/g, '-');
    const after = path.slice(m.index + m[0].length).split('/').filter((s) => s !== '');
    let containerId: string | null = null;
    for (const seg of after) {
      const c = CONTAINER.exec(seg);
      if (c) {
        containerId = c[1]!;
        break;
      }
    }
    return { podUid, containerId };
  }
  return null;
}

/** The process start time (clock ticks since boot) from a `/proc/<pid>/stat` text; null if unreadable. */
export function parseStartTime(text: string): string | null {
  const close = text.lastIndexOf(')'); // the command name may hold spaces and parentheses
  if (close < 0) return null;
  const f = text.slice(close + 2).split(' ');
  const v = f[19]; // field 22; fields after ')' start at 3
  return v !== undefined && /^\d{1,20}$/.test(v) ? v : null;
}

async function readSmall(path: string): Promise<string | null> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch {
    return null;
  }
  try {
    const buf = Buffer.allocUnsafe(MAX_FILE);
    let n = 0;
    // procfs files report size 0: read until EOF, at most MAX_FILE bytes (the rest is ignored)
    while (n < MAX_FILE) {
      const { bytesRead } = await fh.read(buf, n, MAX_FILE - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return buf.toString('utf8', 0, n);
  } catch {
    return null; // EISDIR, the process exited meanwhile (ESRCH), …
  } finally {
    await fh.close().catch(() => {});
  }
}

/** What a lookup found for one PID: a resolution, or `unreadable` (gone, or no host /proc view). */
export type PidLookup = PidResolution | 'unreadable';

export class ProcCgroupReader {
  private readonly cache = new Map<number, { start: string; value: PidResolution }>();
  /** reads that failed since start (the process exited, or the proc root shows other PIDs) */
  unreadable = 0;

  constructor(readonly procRoot: string) {}

  /** Resolves at most MAX_PIDS_PER_CALL PIDs (the rest answer `unreadable`). */
  async resolve(pids: readonly number[]): Promise<Map<number, PidLookup>> {
    const out = new Map<number, PidLookup>();
    const todo = [...new Set(pids)].filter((p) => Number.isInteger(p) && p > 0);
    for (const p of todo.slice(MAX_PIDS_PER_CALL)) out.set(p, 'unreadable');
    const work = todo.slice(0, MAX_PIDS_PER_CALL);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < work.length) {
        const pid = work[next++]!;
        out.set(pid, await this.one(pid));
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, work.length) }, worker));
    // forget PIDs not asked about this time (they exited), so the cache stays bounded
    for (const pid of this.cache.keys()) if (!out.has(pid)) this.cache.delete(pid);
    return out;
  }

  private async one(pid: number): Promise<PidLookup> {
    const dir = join(this.procRoot, String(pid));
    const stat = await readSmall(join(dir, 'stat'));
    const start = stat === null ? null : parseStartTime(stat);
    const hit = this.cache.get(pid);
    if (hit && start !== null && hit.start === start) return hit.value;
    const text = await readSmall(join(dir, 'cgroup'));
    if (text === null) {
      this.unreadable++;
      this.cache.delete(pid);
      return 'unreadable';
    }
    const value = parseCgroup(text);
    if (start !== null && this.cache.size < MAX_CACHE) this.cache.set(pid, { start, value });
    return value;
  }
}
