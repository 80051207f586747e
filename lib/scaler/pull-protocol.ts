// The messages between the scaler's main thread (gRPC, queries, streams: remote-view.ts) and its
// pull worker (every exporter pull: pull-worker.ts). Structured clone carries Maps, Sets and
// documents as they are.
import type { ClusterViewOptions, EntryState, PullErrorReason, PullSecurity } from './cluster-view.js';
import type { GpusScope } from '../contract/gpus-scope.js';

/** The worker's start: the cluster view's options that can cross a thread (no functions). */
export interface PullWorkerInit {
  view: Omit<ClusterViewOptions, 'lookup' | 'logger' | 'demand' | 'onEntry' | 'security'> & { security?: PullSecurity };
  /** a demand follows in 'demand' messages (the pod view stays on the main thread) */
  demand: boolean;
  /** forward debug lines */
  debug: boolean;
  /** the longest a change waits before it is sent, ms */
  batchMs: number;
}

export type ToWorker =
  | { t: 'demand'; version: number; scopes: Map<string, GpusScope> }
  | { t: 'refresh'; id: number; namespace: string; nodes: Map<string, ReadonlySet<string>>; maxWaitMs: number }
  | { t: 'security'; security: PullSecurity }
  | { t: 'stop' };

/** One finished pull, for the self-metrics: exporter, duration ms, error reason (null: ok). */
export type PullRecord = [string, number, PullErrorReason | null];

/** An exporter's state; `doc` and `scope` are left out while the document is the one sent last. */
export type EntryUpdate = Omit<EntryState, 'doc' | 'scope'> & { doc?: EntryState['doc']; scope?: EntryState['scope'] };

export type LogLine = { t: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string; fields?: Record<string, unknown> };

export type FromWorker =
  | {
    t: 'batch';
    /** the worker view's version after these updates */
    version: number;
    entries: EntryUpdate[];
    removed: string[];
    /** the nodes whose answers may have changed, in order (null: any node) */
    changes: (string | null)[];
    pulls: PullRecord[];
  }
  | { t: 'started' }
  | { t: 'refreshed'; id: number; pending: number }
  | LogLine
  | { t: 'failed'; message: string };
