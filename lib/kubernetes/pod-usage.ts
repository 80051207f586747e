// Per-pod GPU usage from the processes NVML lists (sweeps that read processes, lib/collect): each
// PID goes to its pod through its cgroup (proc-cgroup.ts), then to the pod's name, namespace and
// container through the Kubernetes API's pod metadata (PodMetadataView, when the API is on), or
// else through the pods PodResources lists for that device where that is unambiguous. The
// chargeback counters are integrated here, per (device, pod UID, container): they never go back
// while the exporter runs, and survive the pod's processes restarting.
//
// Apportioning (README "Per-pod GPU usage"): utilisation and memory are the pod's own processes'
// values summed. Energy: the GPU's energy counter difference between two process reads is split
// over the processes on the GPU by their SM utilisation over that span, or by their memory where no
// process was busy (and on MIG GPUs, which have no per-process utilisation); energy spent while no
// process ran is not charged to anyone.
import { EventEmitter } from 'node:events';
import type { Logger } from '../logger.js';
import type { ProcessDeviceSample, SweepResult } from '../nvml/types.js';
import type { PodAttribution, PodMap } from '../contract/pods.js';
import type { PodMetadataView } from '../contract/pod-metadata.js';
import type { PodUsage, PodUsageRow, UnattributedReason } from '../contract/pod-usage.js';
import type { PidLookup } from './proc-cgroup.js';

/** What resolves PIDs to pods (ProcCgroupReader). */
export interface PidResolver {
  resolve(pids: readonly number[]): Promise<Map<number, PidLookup>>;
}

export interface PodUsageOptions {
  resolver: PidResolver;
  /** the pod map of the last kubelet answer (null: none, or no -k) */
  pods: () => PodMap | null;
  /** the Kubernetes API's pod metadata; absent when the API is off */
  metadata?: PodMetadataView;
  /** how long a pod's counters are kept (and served, flat) after its last process on a device exits; default 10 min */
  retentionMs?: number;
  logger?: Logger;
}

/** The longest span one process read is integrated over (a longer gap, e.g. a stalled driver, counts as this). */
const MAX_SPAN_S = 300;
const MAX_COUNTERS = 20000;
const MAX_LEARNED = 4096;

/** Who a process's use is attributed to: the identity columns of a usage row. */
type Identity = Pick<PodUsageRow, 'namespace' | 'pod' | 'container' | 'podUid' | 'allocated' | 'reason'>;

interface Counters {
  busy: number;
  memBs: number;
  energy: number | null;
  lastSeen: number;
  row: PodUsageRow;
}

interface Group {
  key: string;
  id: Identity;
  dev: ProcessDeviceSample;
  deviceUuid: string;
  migUuid: string | null;
  gpuUuid: string;
  processes: number;
  sm: number | null;
  mem: number | null;
  enc: number | null;
  dec: number | null;
  bytes: number;
}

const podKey = (ns: string, name: string): string => `${ns}/${name}`;

export class PodUsageTracker extends EventEmitter {
  private usage: PodUsage | null = null;
  private readonly counters = new Map<string, Counters>();
  private readonly learned = new Map<string, { namespace: string; pod: string }>();
  private prevTs: number | null = null;
  private readonly prevEnergy = new Map<string, number>();
  private busy = false;
  private pending: SweepResult | null = null;
  private last: SweepResult | null = null;
  private readonly retentionMs: number;

  constructor(private readonly opts: PodUsageOptions) {
    super();
    this.retentionMs = opts.retentionMs ?? 600_000;
  }

  current(): PodUsage | null {
    return this.usage;
  }

  /** Takes a sweep that read processes; processes it now, or after the one in progress (only the latest waits). */
  offer(sweep: SweepResult): void {
    if (!sweep.processes || sweep === this.last) return;
    this.last = sweep;
    if (this.busy) {
      this.pending = sweep;
      return;
    }
    void this.run(sweep);
  }

  /** Resolves when the sweep given (and any that queued meanwhile) has been processed. For tests and --once. */
  async update(sweep: SweepResult): Promise<void> {
    this.last = sweep;
    while (this.busy) await new Promise((r) => setTimeout(r, 5));
    await this.run(sweep);
  }

  private async run(sweep: SweepResult): Promise<void> {
    this.busy = true;
    try {
      let s: SweepResult | null = sweep;
      while (s) {
        this.pending = null;
        const pids = s.processes!.devices.flatMap((d) => d.processes.map((p) => p.pid));
        let res: Map<number, PidLookup>;
        try {
          res = await this.opts.resolver.resolve(pids);
        } catch (err) {
          this.opts.logger?.warn('process cgroups could not be read: processes count as unresolved', { error: (err as Error).message });
          res = new Map();
        }
        this.publish(s, res);
        s = this.pending;
      }
    } finally {
      this.busy = false;
    }
  }

  private publish(sweep: SweepResult, res: Map<number, PidLookup>): void {
    const read = sweep.processes!;
    const podMap = this.opts.pods();
    const meta = this.opts.metadata;
    const now = sweep.timestamp;
    const candidatesOf = (uuid: string): readonly PodAttribution[] => podMap?.byUuid.get(uuid) ?? [];
    const devices = read.devices.map((dev) => {
      const d = sweep.devices[dev.gpu]!;
      const m = dev.migSlot === null ? null : d.mig.find((x) => x.slot === dev.migSlot) ?? null;
      return { dev, d, m, uuid: m ? m.uuid : d.uuid };
    });

    // 1. pod UIDs that the API does not name: learn them from devices with one unknown UID and one unclaimed pod
    const unknownOn = devices.map(({ dev, uuid }) => {
      const uids = new Set<string>();
      for (const p of dev.processes) {
        const r = res.get(p.pid);
        if (r && r !== 'unreadable' && !meta?.byUid(r.podUid) && !this.learned.has(r.podUid)) uids.add(r.podUid);
      }
      return { uuid, uids };
    });
    const claimed = (): Set<string> => new Set([...this.learned.values()].map((v) => podKey(v.namespace, v.pod)));
    const seenUids = new Set<string>();
    for (const r of res.values()) if (r && r !== 'unreadable') seenUids.add(r.podUid);
    // the device's pods not yet tied to a UID (by the API's metadata or by learning)
    const openCandidates = (uuid: string, taken: Set<string>): Map<string, PodAttribution> => {
      const out = new Map<string, PodAttribution>();
      for (const a of candidatesOf(uuid)) {
        const k = podKey(a.namespace, a.pod);
        if (taken.has(k)) continue;
        const pm = meta?.byName(a.namespace, a.pod);
        if (pm && seenUids.has(pm.uid)) continue;
        out.set(k, a);
      }
      return out;
    };
    for (let changed = true, rounds = 0; changed && rounds <= devices.length; rounds++) {
      changed = false;
      const taken = claimed();
      for (const u of unknownOn) {
        const uids = [...u.uids].filter((x) => !this.learned.has(x));
        const cands = openCandidates(u.uuid, taken);
        if (uids.length === 1 && cands.size === 1 && this.learned.size < MAX_LEARNED) {
          const c = [...cands.values()][0]!;
          this.learned.set(uids[0]!, { namespace: c.namespace, pod: c.pod });
          taken.add(podKey(c.namespace, c.pod));
          changed = true;
        }
      }
    }

    // 2. every process to an identity, grouped per device and (pod UID, container)
    const groups = new Map<string, Group>();
    const unattributed = new Map<string, { gpu: number; gpuUuid: string; migUuid: string | null; reason: UnattributedReason; processes: number }>();
    const taken = claimed();
    for (const { dev, d, m, uuid } of devices) {
      const cands = candidatesOf(uuid);
      const open = openCandidates(uuid, taken);
      for (const p of dev.processes) {
        const r = res.get(p.pid);
        const id = this.identify(r === undefined ? 'unreadable' : r, cands, open.size > 0); // null: in no pod
        if (id.reason) {
          const uk = `${uuid}\u0000${id.reason}`;
          const u = unattributed.get(uk) ?? { gpu: dev.gpu, gpuUuid: d.uuid, migUuid: m?.uuid ?? null, reason: id.reason, processes: 0 };
          u.processes++;
          unattributed.set(uk, u);
        }
        const key = `${uuid}\u0000${id.podUid}\u0000${id.container}`;
        let g = groups.get(key);
        if (!g) {
          g = { key, id, dev, deviceUuid: uuid, migUuid: m?.uuid ?? null, gpuUuid: d.uuid, processes: 0, sm: null, mem: null, enc: null, dec: null, bytes: 0 };
          groups.set(key, g);
        } else if (g.id.reason && !id.reason) {
          g.id = id;
        }
        g.processes++;
        const add = (a: number | null, b: number | null): number | null => (b === null ? a : (a ?? 0) + b);
        g.sm = add(g.sm, p.smUtil);
        g.mem = add(g.mem, p.memUtil);
        g.enc = add(g.enc, p.encUtil);
        g.dec = add(g.dec, p.decUtil);
        g.bytes += p.usedMemory ?? 0;
      }
    }

    // 3. counters: Δt since the previous process read; energy by SM share (or memory share) per GPU
    const dt = this.prevTs === null ? 0 : Math.min(MAX_SPAN_S, Math.max(0, (now - this.prevTs) / 1000));
    this.prevTs = now;
    const energyShare = this.energyShares(sweep, [...groups.values()]);
    for (const g of groups.values()) {
      let c = this.counters.get(g.key);
      if (!c) {
        if (this.counters.size >= MAX_COUNTERS) this.evictOldest();
        c = { busy: 0, memBs: 0, energy: null, lastSeen: now, row: undefined as unknown as PodUsageRow };
        this.counters.set(g.key, c);
      }
      c.lastSeen = now;
      c.busy += g.sm === null ? 0 : Math.min(1, g.sm / 100) * dt;
      c.memBs += g.bytes * dt;
      const e = energyShare.get(g.key);
      if (e !== undefined) c.energy = (c.energy ?? 0) + e;
      const ratio = (v: number | null): number | null => (v === null ? null : Math.min(1, v / 100));
      c.row = {
        gpu: g.dev.gpu, gpuUuid: g.gpuUuid, migUuid: g.migUuid,
        namespace: g.id.namespace, pod: g.id.pod, container: g.id.container, podUid: g.id.podUid,
        allocated: g.id.allocated, reason: g.id.reason, processes: g.processes,
        smUtil: ratio(g.sm), memUtil: ratio(g.mem), encUtil: ratio(g.enc), decUtil: ratio(g.dec),
        memoryBytes: g.bytes,
        busySecondsTotal: c.busy, memoryByteSecondsTotal: c.memBs,
        energyJoulesTotal: c.energy ?? (sweep.devices[g.dev.gpu]!.readings.energy !== undefined ? 0 : null),
      };
    }
    // pods whose processes exited keep their counters (flat, zero usage) for the retention time
    const rows: PodUsageRow[] = [];
    for (const [key, c] of this.counters) {
      if (groups.has(key)) rows.push(c.row);
      else if (now - c.lastSeen > this.retentionMs || !sweep.devices[c.row.gpu] || sweep.devices[c.row.gpu]!.uuid !== c.row.gpuUuid) this.counters.delete(key);
      else rows.push({ ...c.row, processes: 0, smUtil: c.row.smUtil === null ? null : 0, memUtil: c.row.memUtil === null ? null : 0, encUtil: c.row.encUtil === null ? null : 0, decUtil: c.row.decUtil === null ? null : 0, memoryBytes: 0 });
    }
    rows.sort((a, b) => a.gpu - b.gpu || (a.migUuid ?? '').localeCompare(b.migUuid ?? '') || a.namespace.localeCompare(b.namespace) || a.pod.localeCompare(b.pod) || a.podUid.localeCompare(b.podUid) || a.container.localeCompare(b.container));
    this.usage = { rows, sweepTimestamp: now, unattributed: [...unattributed.values()] };
    this.emit('update', this.usage);
  }

  private identify(r: PidLookup, cands: readonly PodAttribution[], openCandidates: boolean): Identity {
    const none = (reason: UnattributedReason, podUid = ''): Identity => ({ namespace: '', pod: '', container: '', podUid, allocated: false, reason });
    if (r === 'unreadable') return none('unresolved');
    if (r === null) return none('no_pod');
    const meta = this.opts.metadata?.byUid(r.podUid);
    const named = meta ? { namespace: meta.namespace, pod: meta.name } : this.learned.get(r.podUid);
    if (!named) return none(openCandidates ? 'ambiguous' : 'not_allocated', r.podUid);
    const mine = cands.filter((a) => a.namespace === named.namespace && a.pod === named.pod);
    let container = '';
    if (meta && r.containerId) container = meta.containers.find((c) => c.containerId === r.containerId)?.name ?? '';
    if (container === '') {
      const names = new Set(mine.map((a) => a.container));
      if (names.size === 1) container = [...names][0]!;
    }
    const allocated = mine.length > 0;
    return { namespace: named.namespace, pod: named.pod, container, podUid: r.podUid, allocated, reason: allocated ? null : 'not_allocated' };
  }

  /** Joules per group key for this read: the GPU's energy difference split by SM share, else memory share. */
  private energyShares(sweep: SweepResult, groups: readonly Group[]): Map<string, number> {
    const out = new Map<string, number>();
    const byGpu = new Map<string, Group[]>();
    for (const g of groups) byGpu.set(g.gpuUuid, [...(byGpu.get(g.gpuUuid) ?? []), g]);
    for (const d of sweep.devices) {
      const e = d.readings.energy;
      if (e === undefined) continue;
      const prev = this.prevEnergy.get(d.uuid);
      this.prevEnergy.set(d.uuid, e);
      const gs = byGpu.get(d.uuid);
      if (prev === undefined || e < prev || !gs) continue;
      const joules = (e - prev) / 1000;
      const sm = gs.reduce((s, g) => s + (g.sm ?? 0), 0);
      const mem = gs.reduce((s, g) => s + g.bytes, 0);
      for (const g of gs) {
        const share = sm > 0 ? (g.sm ?? 0) / sm : mem > 0 ? g.bytes / mem : 1 / gs.length;
        out.set(g.key, joules * share);
      }
    }
    return out;
  }

  private evictOldest(): void {
    let oldest: string | null = null;
    let t = Infinity;
    for (const [k, c] of this.counters) if (c.lastSeen < t) [oldest, t] = [k, c.lastSeen];
    if (oldest !== null) this.counters.delete(oldest);
  }
}
