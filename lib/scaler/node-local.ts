// Node-local mode (`--keda-scaler-address`): the KEDA service over this node's own document. The
// source is fed by events — a new snapshot, a changed pod map — instead of polling the document:
// every event makes each open StreamIsActive re-evaluate, and it pushes only when its answer
// changed. A document the exporter marks stale counts as no GPUs.
import type { EventEmitter } from 'node:events';
import type { GpusDocument } from '../contract/gpus-document.js';
import type { ScalerSource } from './grpc-server.js';

/** Something that tells when the document may have changed: an emitter and the event name. */
export interface ChangeSignal {
  emitter: Pick<EventEmitter, 'on' | 'off'>;
  event: string;
  /** the event's argument says whether it changed anything (default: every event counts) */
  changed?: (arg: unknown) => boolean;
}

export function nodeLocalSource(document: () => GpusDocument | null, signals: readonly ChangeSignal[]): ScalerSource {
  return {
    documents() {
      const d = document();
      return d && !d.stale ? [d] : [];
    },
    onChange(listener) {
      const handlers = signals.map((s) => {
        const h = (arg: unknown) => {
          if (!s.changed || s.changed(arg)) listener();
        };
        s.emitter.on(s.event, h);
        return () => s.emitter.off(s.event, h);
      });
      return () => handlers.forEach((off) => off());
    },
  };
}
