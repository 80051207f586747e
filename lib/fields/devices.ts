// The -d/--devices selection: `f` (GPUs, or their MIG instances where MIG is on), `g[:list]`
// (whole GPUs, optionally only the listed indices), `i[:list]` (MIG instances only, optionally
// only the listed GPU-instance IDs). A list is comma-separated numbers and ranges: `0,2-3`.
import { ConfigError } from '../contract/errors.js';

export type DeviceSelection =
  | { kind: 'flex' }
  | { kind: 'gpu'; ids: readonly number[] | null }
  | { kind: 'instance'; ids: readonly number[] | null };

const EXPECTED = 'expected f, g, g:0,1-3, i or i:0,1-3';

/**
 * The largest index a list may name: NVML numbers at most 64 GPUs (0-63), and a GPU has fewer
 * GPU instances than that. Checked before a range is expanded, so `g:0-9007199254740992` is an
 * error at once, not a loop.
 */
export const MAX_DEVICE_INDEX = 63;

export function parseDevices(text: string, label: string): DeviceSelection {
  const t = text.trim();
  const bad = (why = '') => new ConfigError(`${label}: "${text}" is not a device selection (${EXPECTED})${why}`);
  if (t === 'f') return { kind: 'flex' };
  const m = /^([gi])(?::(.*))?$/.exec(t);
  if (!m) throw bad();
  const kind = m[1] === 'g' ? 'gpu' : 'instance';
  if (m[2] === undefined) return { kind, ids: null };
  const ids = new Set<number>();
  for (const part of m[2].split(',')) {
    const p = part.trim();
    const r = /^(\d+)(?:-(\d+))?$/.exec(p);
    if (!r) throw bad(`: "${p}" is neither a number nor a range`);
    const a = Number(r[1]);
    const b = r[2] === undefined ? a : Number(r[2]);
    for (const [v, text] of [[a, r[1]!], [b, r[2] ?? r[1]!]] as const) {
      if (v > MAX_DEVICE_INDEX) throw bad(`: index ${text} is out of range (indices are 0-${MAX_DEVICE_INDEX})`);
    }
    if (b < a) throw bad(`: range "${p}" runs backwards`);
    for (let n = a; n <= b; n++) ids.add(n);
  }
  return { kind, ids: [...ids].sort((x, y) => x - y) };
}
