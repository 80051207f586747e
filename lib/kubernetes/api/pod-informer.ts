// The pod informer: every pod of one node (the exporter, `nodeName` set: field selector
// spec.nodeName) or of the whole cluster (the scaler, no `nodeName`), as PodMeta, behind the
// PodMetadataView contract (lib/contract/pod-metadata.ts). Readers never wait: every method
// answers from memory. Events: 'change' (the generation moved), 'status' (up/down changed).
//
//   const pods = await createPodInformer({ nodeName: 'gpu-node-1', kubeconfig: null, logger });
//   await pods.start();                 // first list done (or failed: it keeps retrying)
//   pods.byUid(uid); pods.byName(ns, name); for (const p of pods.all()) …; pods.generation
//   pods.on('change', () => …); pods.status(); pods.stop();
import { EventEmitter } from 'node:events';
import type { PodMeta, PodMetadataView } from '../../contract/pod-metadata.js';
import type { Logger } from '../../logger.js';
import { createConnection, loadKubeConfig, type ApiBounds, type ApiConnection } from './connection.js';
import { Informer, type ApiWatchStatus } from './informer.js';
import { trimPod, type TrimmedPod } from './pods.js';

export interface PodInformerOptions {
  /** only this node's pods (field selector spec.nodeName); absent or empty: every pod of the cluster */
  nodeName?: string;
  /** an open connection to share with other informers; else one is made from `kubeconfig` */
  connection?: ApiConnection;
  /** a kubeconfig file; null or absent: the in-cluster configuration */
  kubeconfig?: string | null;
  /** size and time bounds of the API answers */
  bounds?: ApiBounds;
  /** the most pods one list may hold (default 100000) */
  maxPods?: number;
  backoffMs?: { first: number; max: number };
  logger?: Logger;
  now?: () => number;
}

export interface PodInformer extends PodMetadataView, EventEmitter {
  /** one namespace's pods, from the cache kept by namespace */
  inNamespace(namespace: string): Iterable<PodMeta>;
  /** Lists, then watches. Resolves when the first list has finished, whatever its outcome; never rejects. */
  start(): Promise<void>;
  stop(): void;
  /** the API watch's health (self-metrics: up, errors by reason, cache age) */
  status(): ApiWatchStatus;
  /** the connection in use (to share with other informers) */
  readonly connection: ApiConnection;
}

class PodInformerImpl extends EventEmitter implements PodInformer {
  private readonly informer: Informer<TrimmedPod>;
  private readonly uidIndex = new Map<string, PodMeta>();
  private gen = 0;
  private indexedGen = -1;

  constructor(readonly connection: ApiConnection, opts: PodInformerOptions) {
    super();
    const now = opts.now ?? Date.now;
    const node = opts.nodeName?.trim() ?? '';
    this.informer = new Informer<TrimmedPod>({
      connection,
      path: '/api/v1/pods',
      fieldSelector: node !== '' ? `spec.nodeName=${node}` : undefined,
      trim: (raw) => trimPod(raw, now()),
      what: node !== '' ? `pods on node ${node}` : 'pods of the cluster',
      maxItems: opts.maxPods,
      backoffMs: opts.backoffMs,
      logger: opts.logger,
      now,
    });
    this.informer.on('change', () => {
      this.gen++;
      this.emit('change');
    });
    this.informer.on('status', () => this.emit('status'));
  }

  start(): Promise<void> {
    return this.informer.start();
  }

  stop(): void {
    this.informer.stop();
  }

  status(): ApiWatchStatus {
    return this.informer.status();
  }

  get generation(): number {
    return this.gen;
  }

  get syncedAt(): number | null {
    return this.informer.status().lastContactMs;
  }

  byName(namespace: string, name: string): PodMeta | undefined {
    return this.informer.get(name, namespace)?.meta;
  }

  byUid(uid: string): PodMeta | undefined {
    if (this.indexedGen !== this.gen) {
      this.uidIndex.clear();
      for (const p of this.informer.list()) this.uidIndex.set(p.meta.uid, p.meta);
      this.indexedGen = this.gen;
    }
    return this.uidIndex.get(uid);
  }

  *all(): Iterable<PodMeta> {
    for (const p of this.informer.list()) yield p.meta;
  }

  *inNamespace(namespace: string): Iterable<PodMeta> {
    // an empty name would list every namespace
    if (namespace === '') return;
    for (const p of this.informer.list(namespace)) yield p.meta;
  }
}

/**
 * A pod informer over the API server (see the head of this file). Loads @kubernetes/client-node
 * (dynamic import) and the configuration; throws when there is none (not in a pod and no kubeconfig).
 */
export async function createPodInformer(opts: PodInformerOptions = {}): Promise<PodInformer> {
  const connection = opts.connection ?? createConnection(await loadKubeConfig(opts.kubeconfig ?? null), opts.bounds);
  return new PodInformerImpl(connection, opts);
}
