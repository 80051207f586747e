// The rooms of lib/ and which way they may depend on each other, read from the import statements
// (static and dynamic) of every source file: the folder graph has no cycle, the server and the
// scaler depend on the contract room and not on exposition, the renderer does not read the config
// room, and only bin/ reaches the composition root. docs/architecture.md draws the same picture.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { packageRoot } from '../../lib/package-root.js';

const root = packageRoot();
const lib = join(root, 'lib');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return n === 'gen' ? [] : files(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** `lib/<room>/…` → room; a file at lib/'s top (logger, package-root, grpc-method) → 'shared'. */
function room(file: string): string {
  const rel = relative(lib, file).split('/');
  return rel.length === 1 ? 'shared' : rel[0]!;
}

const edges = new Map<string, Map<string, string[]>>(); // from room → to room → example imports
for (const f of files(lib)) {
  const text = readFileSync(f, 'utf8');
  for (const m of text.matchAll(/(?:from\s+|import\s*\()\s*'(\.[^']+)'/g)) {
    const target = resolve(dirname(f), m[1]!).replace(/\.js$/, '.ts');
    if (!target.startsWith(lib)) continue;
    const a = room(f);
    const b = relative(lib, target).startsWith('gen/') ? 'gen' : room(target);
    if (a === b) continue;
    const to = edges.get(a) ?? new Map<string, string[]>();
    edges.set(a, to);
    to.set(b, [...(to.get(b) ?? []), `${relative(root, f)} → ${m[1]}`]);
  }
}
const deps = (a: string) => [...(edges.get(a)?.keys() ?? [])].sort();

t.test('the folders of lib/ form no import cycle', async (t) => {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (n: string, path: string[]) => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'open') {
      cycles.push([...path.slice(path.indexOf(n)), n].join(' → '));
      return;
    }
    state.set(n, 'open');
    for (const d of deps(n)) visit(d, [...path, n]);
    state.set(n, 'done');
  };
  for (const n of edges.keys()) visit(n, []);
  t.same(cycles, [], 'no cycle between rooms');
});

t.test('each room depends only on the rooms below it', async (t) => {
  const allowed: Record<string, string[]> = {
    shared: ['gen'],
    contract: [],
    nvml: ['shared'],
    collect: ['nvml', 'shared'],
    fields: ['collect', 'contract', 'nvml', 'shared'],
    kubernetes: ['collect', 'contract', 'gen', 'nvml', 'shared'],
    exposition: ['collect', 'contract', 'fields', 'nvml'],
    server: ['contract'],
    scaler: ['collect', 'contract', 'gen', 'shared'],
    config: ['contract', 'fields', 'shared'],
    app: ['collect', 'config', 'contract', 'exposition', 'fields', 'kubernetes', 'nvml', 'scaler', 'server', 'shared'],
  };
  for (const [r, to] of edges) {
    const extra = [...to.keys()].filter((d) => !(allowed[r] ?? []).includes(d));
    t.same(extra, [], `${r} imports only ${JSON.stringify(allowed[r] ?? [])}${extra.length ? `: ${extra.flatMap((d) => to.get(d)!).join('; ')}` : ''}`);
  }
  t.notOk(deps('server').includes('exposition'), 'the server reads the contract, not exposition');
  t.notOk(deps('scaler').includes('exposition'), 'the scaler reads the contract, not exposition');
  t.notOk(deps('exposition').includes('config'), 'the renderer does not read the config room');
  t.notOk([...edges.keys()].some((r) => r !== 'app' && deps(r).includes('app')), 'only the composition root is app');
});

t.test('bin/ is parse → logger → root → exit code', async (t) => {
  const bin = readFileSync(join(root, 'bin', 'nvml-exporter.ts'), 'utf8');
  const imports = [...bin.matchAll(/(?:from\s+|import\s*\()\s*'([^']+)'/g)].map((m) => m[1]).sort();
  t.same(imports, [
    '../lib/app/exporter.js', '../lib/app/scaler.js', '../lib/config/cli.js', '../lib/contract/errors.js', '../lib/fields/index.js', '../lib/logger.js',
  ]);
});
