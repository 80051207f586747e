// The pod map: which pods hold which GPU or MIG instance, as last read from the kubelet.
import type { PodAttribution } from '../exposition/gpus-json-types.js';

export type { PodAttribution };

export interface PodMap {
  /** GPU UUID (`GPU-…`) or MIG UUID (`MIG-…`) → the pods holding it (several when shared) */
  byUuid: ReadonlyMap<string, readonly PodAttribution[]>;
  /** ms since epoch of the refresh that produced this map */
  updatedAt: number;
}
