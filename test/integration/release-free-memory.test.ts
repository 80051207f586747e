// releaseFreeMemory (glibc malloc_trim through the addon) gives freed C-heap pages back: a child
// process allocates ~100 MB of small ArrayBuffers (their stores come from malloc), frees all but
// every 64th (so the heap cannot simply shrink from its top), and its RSS must fall by most of the
// freed memory after the call — and not before it.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const index = fileURLToPath(new URL('../../lib/nvml/index.ts', import.meta.url));
const script = `
import { readFileSync } from 'node:fs';
import { releaseFreeMemory } from ${JSON.stringify(index)};
const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
const keep = [];
let all = [];
for (let i = 0; i < 50000; i++) { const b = new ArrayBuffer(2000); new Uint8Array(b).fill(1); all.push(b); if (i % 64 === 0) keep.push(b); }
const full = rss();
all = null;
for (let i = 0; i < 4; i++) globalThis.gc();
await new Promise((r) => setTimeout(r, 200));
const freed = rss();
const released = releaseFreeMemory();
const after = rss();
console.log(JSON.stringify({ full, freed, after, released, kept: keep.length }));
`;

t.test('freed C-heap pages go back to the system when asked, and only then', { skip: process.platform !== 'linux' ? 'Linux /proc and glibc only' : false }, async (t) => {
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  const r = JSON.parse(out.trim().split('\n').pop()!) as { full: number; freed: number; after: number; released: boolean; kept: number };
  t.equal(r.kept, 782);
  t.ok(r.full - r.after > 60, `RSS ${r.full.toFixed(1)} MB with the buffers, ${r.after.toFixed(1)} MB after releasing: more than 60 MB returned`);
  t.ok(r.freed - r.after > 40, `freeing alone kept ${r.freed.toFixed(1)} MB resident; the call returned ${(r.freed - r.after).toFixed(1)} MB of it`);
  t.equal(r.released, true);
});
