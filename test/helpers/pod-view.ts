// An in-memory PodMetadataView (the interface the Kubernetes API informer implements), for tests:
// set and remove pods at will; every change bumps the generation.
import type { PodMeta, PodMetadataView } from '../../lib/contract/pod-metadata.js';

export class MemoryPodView implements PodMetadataView {
  private readonly pods = new Map<string, PodMeta>();
  generation = 0;
  syncedAt: number | null = Date.now();

  set(p: Partial<PodMeta> & Pick<PodMeta, 'namespace' | 'name' | 'nodeName'>): void {
    const uid = p.uid ?? `uid-${p.namespace}-${p.name}`;
    this.pods.set(uid, {
      uid, labels: {}, containers: [{ name: 'main' }], phase: 'Running',
      workload: { kind: 'Deployment', name: p.name.replace(/-[^-]+-[^-]+$/, '') }, ...p,
    });
    this.generation++;
  }

  remove(namespace: string, name: string): void {
    for (const [uid, p] of this.pods) if (p.namespace === namespace && p.name === name) this.pods.delete(uid);
    this.generation++;
  }

  byUid(uid: string): PodMeta | undefined {
    return this.pods.get(uid);
  }

  byName(namespace: string, name: string): PodMeta | undefined {
    for (const p of this.pods.values()) if (p.namespace === namespace && p.name === name) return p;
    return undefined;
  }

  /** calls of all() and inNamespace(), for tests of what a reader reads */
  allCalls = 0;
  namespacesRead: string[] = [];

  all(): Iterable<PodMeta> {
    this.allCalls++;
    return this.pods.values();
  }

  *inNamespace(namespace: string): Iterable<PodMeta> {
    this.namespacesRead.push(namespace);
    for (const p of this.pods.values()) if (p.namespace === namespace) yield p;
  }
}
