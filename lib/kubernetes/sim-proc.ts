// A fake host /proc for tests and the demo: `<root>/<pid>/cgroup` and `<root>/<pid>/stat` for the
// processes a simulated NVML scenario runs, in the cgroup layouts real nodes have (proc-cgroup.ts
// lists them). Point the exporter at it with --host-proc.
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type CgroupLayout =
  /** cgroup v1, cgroupfs driver, containerd: /kubepods/<qos>/pod<uid>/<id> on every controller */
  | 'cgroupfs-v1'
  /** cgroup v2, cgroupfs driver, containerd: 0::/kubepods/<qos>/pod<uid>/<id> */
  | 'cgroupfs-v2'
  /** cgroup v1, cgroupfs driver, CRI-O: …/pod<uid>/crio-<id> */
  | 'cgroupfs-v1-crio'
  /** cgroup v1, systemd driver, containerd: kubepods-<qos>-pod<uid_>.slice/cri-containerd-<id>.scope */
  | 'systemd-v1-containerd'
  /** cgroup v2, systemd driver, containerd */
  | 'systemd-v2-containerd'
  /** cgroup v2, systemd driver, CRI-O: …/crio-<id>.scope */
  | 'systemd-v2-crio'
  /** cgroup v2 below a prefix (a kubelet inside a container, e.g. kind) */
  | 'nested-v2'
  /** a host process: no pod */
  | 'host';

export interface SimProcEntry {
  pid: number;
  layout: CgroupLayout;
  podUid?: string;
  /** 64 hex digits */
  containerId?: string;
  qos?: 'guaranteed' | 'burstable' | 'besteffort';
  /** the process start time (clock ticks since boot); a new value stands for a reused PID */
  startTime?: number;
}

/** The text of `/proc/<pid>/cgroup` for one entry. */
export function cgroupText(e: SimProcEntry): string {
  const qos = e.qos ?? 'burstable';
  const uid = e.podUid ?? '';
  const id = e.containerId ?? '';
  const under = uid.replace(/-/g, '_');
  const sysSlice = qos === 'guaranteed'
    ? `/kubepods.slice/kubepods-pod${under}.slice`
    : `/kubepods.slice/kubepods-${qos}.slice/kubepods-${qos}-pod${under}.slice`;
  const fsPath = qos === 'guaranteed' ? `/kubepods/pod${uid}` : `/kubepods/${qos}/pod${uid}`;
  const v1 = (path: string): string =>
    ['12:pids', '11:memory', '10:cpu,cpuacct', '9:devices', '1:name=systemd'].map((c) => `${c}:${path}`).join('\n') + '\n';
  switch (e.layout) {
    case 'cgroupfs-v1': return v1(`${fsPath}/${id}`);
    case 'cgroupfs-v2': return `0::${fsPath}/${id}\n`;
    case 'cgroupfs-v1-crio': return v1(`${fsPath}/crio-${id}`);
    case 'systemd-v1-containerd': return v1(`${sysSlice}/cri-containerd-${id}.scope`);
    case 'systemd-v2-containerd': return `0::${sysSlice}/cri-containerd-${id}.scope\n`;
    case 'systemd-v2-crio': return `0::${sysSlice}/crio-${id}.scope\n`;
    case 'nested-v2': return `0::/../../kubelet.slice/kubelet-kubepods.slice${sysSlice.replace('/kubepods.slice', '')}/cri-containerd-${id}.scope\n`;
    case 'host': return '0::/system.slice/gpu-burn.service\n';
  }
}

function statText(pid: number, startTime: number): string {
  // pid (comm) state ppid … field 22 is the start time
  const fields = ['S', '1', String(pid), String(pid), '0', '-1', '4194560', '0', '0', '0', '0', '0', '0', '0', '0', '20', '0', '1', '0', String(startTime), '0'];
  return `${pid} (python3 (worker)) ${fields.join(' ')}\n`;
}

/** Writes (replaces) the tree: one directory per entry, nothing else. */
export function writeProcTree(root: string, entries: readonly SimProcEntry[]): void {
  mkdirSync(root, { recursive: true });
  const keep = new Set(entries.map((e) => String(e.pid)));
  for (const name of readdirSync(root)) if (!keep.has(name)) rmSync(join(root, name), { recursive: true, force: true });
  for (const e of entries) {
    const dir = join(root, String(e.pid));
    mkdirSync(dir, { recursive: true });
    for (const [file, text] of [['cgroup', cgroupText(e)], ['stat', statText(e.pid, e.startTime ?? 1000 + e.pid)]] as const) {
      const tmp = join(dir, `.${file}.tmp`);
      writeFileSync(tmp, text);
      renameSync(tmp, join(dir, file));
    }
  }
}
