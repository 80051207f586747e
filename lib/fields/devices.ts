// The -d/--devices selection: `f` (GPUs, or their MIG instances where MIG is on), `g[:list]`
// (whole GPUs, optionally only the listed indices), `i[:list]` (MIG instances only, optionally
// only the listed GPU-instance IDs). A list is comma-separated numbers and ranges: `0,2-3`.
import { ConfigError } from '../contract/errors.js';

export type DeviceSelection =
  | { kind: 'flex' }
  | { kind: 'gpu'; ids: readonly number[] | null }
  | { kind: 'instance'; ids: readonly number[] | null };

const EXPECTED = 'expected f, g, g:0,1-3, i or i:0,1-3';

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
    if (b < a) throw bad(`: range "${p}" runs backwards`);
    if (b - a > 4096) throw bad(`: range "${p}" is too large`);
    for (let n = a; n <= b; n++) ids.add(n);
  }
  return { kind, ids: [...ids].sort((x, y) => x - y) };
}
