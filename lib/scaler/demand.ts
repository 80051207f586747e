// Which exporters the scaler needs right now, with the Kubernetes API's pod view: the nodes that
// run pods of the workloads KEDA has asked about within the idle timeout, and for each node the
// scope of its pull (the namespaces and pod names of those workloads there), so a pull carries only
// the workload's GPUs. Without a pod view there is no demand: every exporter is pulled whole.
//
// The pod view is read from memory once per generation (at most every `rebuildMs`), and only the
// namespaces of the workloads asked about (its inNamespace; a view without it is indexed by
// namespace in one pass over its pods). In a cluster whose pods change constantly a rebuild costs
// the wanted namespaces' pods, not the cluster's, and a rebuild that leaves a workload's nodes as
// they were keeps its map (and so the cached answers and the demand's version).
import type { PodMeta, PodMetadataView } from '../contract/pod-metadata.js';
import type { GpusScope } from '../contract/gpus-scope.js';
import { GPUS_SCOPE_LIMITS } from '../contract/gpus-scope.js';
import type { ScalerQuery } from './query.js';

export interface DemandOptions {
  /** a workload KEDA has not asked about for this long is forgotten, ms */
  idleTimeoutMs: number;
  /** the longest the node index may lag the pod view, ms (default 500) */
  rebuildMs?: number;
  now?: () => number;
}

interface Wanted {
  q: ScalerQuery;
  lastAskedMs: number;
  /** node name → pod names of the workload there */
  nodes: Map<string, Set<string>>;
}

const key = (q: ScalerQuery) => `${q.namespace}\u0000${q.podRule.kind}\u0000${q.podRule.source}`;

export class WorkloadDemand {
  private readonly wanted = new Map<string, Wanted>();
  private readonly idleTimeoutMs: number;
  private readonly rebuildMs: number;
  private readonly now: () => number;
  private builtGeneration = -1;
  private builtAt = 0;
  private byNamespace = new Map<string, PodMeta[]>();
  /** node name → the scope of its pull */
  private scopes = new Map<string, GpusScope>();
  private scopesDirty = true;
  private scopesVersion = 0;

  constructor(
    readonly pods: PodMetadataView,
    opts: DemandOptions,
  ) {
    this.idleTimeoutMs = opts.idleTimeoutMs;
    this.rebuildMs = opts.rebuildMs ?? 500;
    this.now = opts.now ?? Date.now;
  }

  /** The pod view has listed at least once. */
  get synced(): boolean {
    return this.pods.syncedAt !== null;
  }

  /** KEDA asked about q: remember it (for the idle timeout) and answer the nodes its pods run on, with those pods' names. */
  touch(q: ScalerQuery): ReadonlyMap<string, ReadonlySet<string>> {
    this.refresh();
    const k = key(q);
    let w = this.wanted.get(k);
    if (!w) {
      w = { q, lastAskedMs: 0, nodes: this.nodesOf(q) };
      this.wanted.set(k, w);
      this.scopesDirty = true;
    }
    w.lastAskedMs = this.now();
    return w.nodes;
  }

  /** Workloads asked about within the idle timeout. */
  get size(): number {
    this.expire();
    return this.wanted.size;
  }

  /** The scope an exporter of `node` is pulled with; null when no workload needs that node. */
  scopeFor(node: string): GpusScope | null {
    this.refresh();
    this.expire();
    if (this.scopesDirty) this.buildScopes();
    return this.scopes.get(node) ?? null;
  }

  /** Nodes some workload needs. */
  neededNodes(): Iterable<string> {
    this.scopeFor('');
    return this.scopes.keys();
  }

  /** Changes whenever the nodes needed or their scopes may have changed (it brings the index up to date first). */
  get version(): number {
    this.scopeFor('');
    return this.scopesVersion;
  }

  /**
   * The nodes running q's pods as last indexed, without marking q as asked about; null when q is
   * not wanted. The map is replaced, never changed in place, when the workload's nodes or pods change
   * (and kept when a change of the pod view leaves them as they were).
   */
  nodesFor(q: ScalerQuery): ReadonlyMap<string, ReadonlySet<string>> | null {
    return this.wanted.get(key(q))?.nodes ?? null;
  }

  private expiredAt = 0;

  private expire(): void {
    const now = this.now();
    // every pull asks: look at the clock's effect at most every 100 ms
    if (now - this.expiredAt < 100) return;
    this.expiredAt = now;
    const limit = now - this.idleTimeoutMs;
    for (const [k, w] of this.wanted) {
      if (w.lastAskedMs < limit) {
        this.wanted.delete(k);
        this.scopesDirty = true;
      }
    }
  }

  private refresh(): void {
    const gen = this.pods.generation;
    if (gen === this.builtGeneration) return;
    const now = this.now();
    if (this.builtGeneration !== -1 && now - this.builtAt < this.rebuildMs) return;
    this.builtGeneration = gen;
    this.builtAt = now;
    if (!this.pods.inNamespace) {
      const byNs = new Map<string, PodMeta[]>();
      for (const p of this.pods.all()) {
        let list = byNs.get(p.namespace);
        if (!list) byNs.set(p.namespace, (list = []));
        list.push(p);
      }
      this.byNamespace = byNs;
    }
    for (const w of this.wanted.values()) {
      const nodes = this.nodesOf(w.q);
      if (sameNodes(nodes, w.nodes)) continue;
      w.nodes = nodes;
      this.scopesDirty = true;
    }
  }

  private nodesOf(q: ScalerQuery): Map<string, Set<string>> {
    const nodes = new Map<string, Set<string>>();
    const pods = this.pods.inNamespace ? this.pods.inNamespace(q.namespace) : (this.byNamespace.get(q.namespace) ?? []);
    for (const p of pods) {
      if (!p.nodeName || p.phase === 'Succeeded' || p.phase === 'Failed') continue;
      if (!q.podRule.matcher.test(p.name)) continue;
      let set = nodes.get(p.nodeName);
      if (!set) nodes.set(p.nodeName, (set = new Set()));
      set.add(p.name);
    }
    return nodes;
  }

  private buildScopes(): void {
    const scopes = new Map<string, { namespaces: Set<string>; pods: Set<string> }>();
    for (const w of this.wanted.values()) {
      for (const [node, names] of w.nodes) {
        let s = scopes.get(node);
        if (!s) scopes.set(node, (s = { namespaces: new Set(), pods: new Set() }));
        s.namespaces.add(w.q.namespace);
        for (const n of names) s.pods.add(n);
      }
    }
    // past the exporter's bounds a node is pulled by namespace only, or whole: a wider scope is
    // only more GPUs, which the query filters again
    for (const s of scopes.values()) {
      if (s.pods.size > GPUS_SCOPE_LIMITS.pods) s.pods.clear();
      if (s.namespaces.size > GPUS_SCOPE_LIMITS.namespaces) {
        s.namespaces.clear();
        s.pods.clear();
      }
    }
    this.scopes = scopes;
    this.scopesDirty = false;
    this.scopesVersion++;
  }
}

/** Whether two node → pod-names maps hold the same nodes and names. */
function sameNodes(a: ReadonlyMap<string, ReadonlySet<string>>, b: ReadonlyMap<string, ReadonlySet<string>>): boolean {
  if (a.size !== b.size) return false;
  for (const [node, names] of a) {
    const other = b.get(node);
    if (!other || other.size !== names.size) return false;
    for (const n of names) if (!other.has(n)) return false;
  }
  return true;
}
