// The exporter's use of the Kubernetes API, in one place: the connection, this node's pod informer
// (pod labels, UID, workload), the ConfigMap watch (-m) and the ResourceSlice watch (the DRA
// fallback), each only when its option is on. lib/app/exporter.ts loads this module with a dynamic
// import only when one of them is on. Nothing here is on the scrape path: series are joined with the
// last known metadata, and every watch keeps retrying on its own.
import type { Logger } from '../../logger.js';
import type { PodMap } from '../../contract/pods.js';
import type { KubernetesApiStatus } from '../../contract/pod-metadata.js';
import { createConnection, loadKubeConfig, type ApiBounds, type ApiConnection } from './connection.js';
import { createPodInformer, type PodInformer } from './pod-informer.js';
import { configMapInformer, resourceSliceInformer, sliceResolver, type TrimmedConfigMap } from './watched-objects.js';
import type { Informer } from './informer.js';
import { PodLabelJoin, joinWanted, type PodLabelOptions } from '../pod-labels.js';

export interface NodeApiOptions extends PodLabelOptions {
  nodeName: string;
  kubeconfig: string | null;
  configMap: { namespace: string; name: string } | null;
  resourceSlices: boolean;
  /** how long pod metadata outlives API failures */
  staleAfterMs: number;
  bounds?: ApiBounds;
  logger: Logger;
  now?: () => number;
}

export interface NodeApi {
  readonly connection: ApiConnection;
  /** null unless pod labels, UID or the workload label are on */
  readonly pods: PodInformer | null;
  /** the pod map with the API's labels added (the map itself when the join is off or the metadata too old) */
  join(map: PodMap | null): PodMap | null;
  readonly configMap: Informer<TrimmedConfigMap> | null;
  /** the ResourceSlice fallback for DRA device names of another shape; null when off */
  readonly slices: { resolve(driver: string, pool: string, device: string): string | undefined; generation(): number } | null;
  /** each watch's health, by name (`pods`, `configmap`, `resourceslices`), for the self-metrics */
  statuses(): Record<string, KubernetesApiStatus>;
  /** pod labels left out (cap, collision) since start */
  droppedPodLabels(): number;
  /** starts the watches (not waiting for their first list) */
  start(): void;
  stop(): void;
}

export async function openNodeApi(opts: NodeApiOptions): Promise<NodeApi> {
  const now = opts.now ?? Date.now;
  const connection = createConnection(await loadKubeConfig(opts.kubeconfig), opts.bounds);
  opts.logger.info('Kubernetes API: using', { server: connection.server, node: opts.nodeName });
  const pods = joinWanted(opts) ? await createPodInformer({ connection, nodeName: opts.nodeName, logger: opts.logger, now }) : null;
  const fresh = (): boolean => {
    const st = pods?.status();
    if (!st || st.lastContactMs === null) return false;
    return st.up || now() - st.lastContactMs <= opts.staleAfterMs;
  };
  const join = pods ? new PodLabelJoin(opts, pods, fresh) : null;
  const configMap = opts.configMap ? configMapInformer(connection, opts.configMap.namespace, opts.configMap.name, opts.logger) : null;
  const sliceInf = opts.resourceSlices ? resourceSliceInformer(connection, opts.nodeName, opts.logger) : null;
  const slices = sliceInf ? sliceResolver(sliceInf) : null;
  return {
    connection,
    pods,
    join: (map) => (join ? join.join(map) : map),
    configMap,
    slices,
    statuses() {
      const out: Record<string, KubernetesApiStatus> = {};
      if (pods) out.pods = pods.status();
      if (configMap) out.configmap = configMap.status();
      if (sliceInf) out.resourceslices = sliceInf.status();
      return out;
    },
    droppedPodLabels: () => join?.droppedLabels ?? 0,
    start() {
      void pods?.start();
      void sliceInf?.start();
      // the ConfigMap's informer is started (and its first list awaited) by the exporter
    },
    stop() {
      pods?.stop();
      configMap?.stop();
      sliceInf?.stop();
    },
  };
}
