// nvidia-smi for `npm run test:gpu`: which --query-gpu properties this nvidia-smi knows, one query
// of those, and `nvidia-smi -q` as a tree of sections. Every call has a time limit; nothing here
// decides what a value should be (compare-nvidia-smi.ts does).
import { spawnSync } from 'node:child_process';

export interface SmiResult {
  ok: boolean;
  /** ENOENT: no nvidia-smi on PATH */
  missing: boolean;
  stdout: string;
  /** stderr, or the error that kept it from running */
  error: string;
}

export function runSmi(args: string[], timeoutMs = 60_000): SmiResult {
  const r = spawnSync('nvidia-smi', args, { encoding: 'utf8', timeout: timeoutMs });
  const e = r.error as NodeJS.ErrnoException | undefined;
  return {
    ok: !e && r.status === 0,
    missing: e?.code === 'ENOENT',
    stdout: r.stdout ?? '',
    error: e ? e.message : `${(r.stderr || r.stdout || '').trim()} (exit ${r.status ?? r.signal})`,
  };
}

/** The property names `nvidia-smi --help-query-gpu` lists (each `"name"` or `"a" or "b"` line). */
export function queryableProperties(help: string): Set<string> {
  const names = new Set<string>();
  for (const line of help.split('\n')) {
    if (!line.startsWith('"')) continue;
    for (const m of line.matchAll(/"([a-z0-9_.]+)"/gi)) names.add(m[1]!);
  }
  return names;
}

/** One `--query-gpu` of `props`: a row per GPU, property → cell (csv, no units, no header). */
export function parseQuery(props: readonly string[], csv: string): Record<string, string>[] {
  return csv.split('\n').filter((l) => l.trim() !== '').map((line) => {
    const cells = line.split(',').map((c) => c.trim());
    return Object.fromEntries(props.map((p, i) => [p, cells[i] ?? '']));
  });
}

/** A cell that says "no value": `[N/A]`, `[Not Supported]`, `N/A`, empty. */
export function noValue(cell: string | undefined): boolean {
  return cell === undefined || cell === '' || /^\[?(N\/A|Not Supported|Unknown Error|Insufficient Permissions)\]?$/i.test(cell);
}

/** A number from a cell (units such as ` MiB`, ` W`, ` C`, `x` stripped), or null. */
export function num(cell: string | undefined): number | null {
  if (noValue(cell)) return null;
  const m = /^(-?\d+(?:\.\d+)?)/.exec(cell!.trim());
  return m ? Number(m[1]) : null;
}

/** `nvidia-smi -q` as nested sections: each GPU block under its `GPU <bus id>` line. */
export interface SmiNode {
  value: string;
  children: Map<string, SmiNode>;
}

export function parseTree(text: string): { top: SmiNode; gpus: Map<string, SmiNode> } {
  const top: SmiNode = { value: '', children: new Map() };
  const gpus = new Map<string, SmiNode>();
  const stack: { indent: number; node: SmiNode }[] = [{ indent: -1, node: top }];
  for (const raw of text.split('\n')) {
    if (raw.trim() === '' || /^=+/.test(raw.trim())) continue;
    const indent = raw.length - raw.trimStart().length;
    const line = raw.trim();
    const gpu = /^GPU ([0-9A-Fa-f]+:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f])$/.exec(line);
    while (stack.length > 1 && stack[stack.length - 1]!.indent >= indent) stack.pop();
    const at = line.indexOf(' : ');
    const key = (gpu ? `GPU ${gpu[1]}` : at >= 0 ? line.slice(0, at) : line).trim();
    const node: SmiNode = { value: at >= 0 && !gpu ? line.slice(at + 3).trim() : '', children: new Map() };
    const parent = stack[stack.length - 1]!.node;
    if (!parent.children.has(key)) parent.children.set(key, node);
    stack.push({ indent, node: parent.children.get(key)! });
    if (gpu) gpus.set(gpu[1]!.toUpperCase(), parent.children.get(key)!);
  }
  return { top, gpus };
}

/** The value at a path of section names (`['Temperature', 'GPU Shutdown Temp']`), or undefined. */
export function at(node: SmiNode | undefined, ...path: string[]): string | undefined {
  let n = node;
  for (const p of path) n = n?.children.get(p);
  return n?.value;
}
