// FileReloader (lib/contract/file-reload.ts): a running process picks up renewed files (certificates,
// keys, credentials) when they change, and keeps the last good ones when a change cannot be used.
import t from 'tap';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileReloader } from '../../lib/contract/file-reload.js';

t.test('a change is loaded and applied; one that cannot be loaded or applied keeps the last good value, said once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nvx-reload-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const a = join(dir, 'a.pem');
  const b = join(dir, 'b.pem');
  writeFileSync(a, 'good:1');
  writeFileSync(b, 'good:x');
  const applied: string[] = [];
  const events: [boolean, string][] = [];
  let refuse = false;
  const r = new FileReloader<string>({
    files: [a, b],
    load: async () => {
      const text = readFileSync(a, 'utf8') + '|' + readFileSync(b, 'utf8');
      if (!/^good:[^|]+\|good:/.test(text)) throw new Error(`${a}: not a good file`);
      return text;
    },
    apply: (v) => {
      if (refuse) throw new Error('the server refused it');
      applied.push(v);
    },
    onEvent: (ok, message) => void events.push([ok, message]),
    what: 'test files (--a, --b)',
  });
  await r.start(3_600_000); // checks are driven by hand below
  t.teardown(() => r.stop());
  await r.check();
  t.same([applied, events], [[], []], 'nothing changed: nothing loaded');

  writeFileSync(a, 'good:2');
  await r.check();
  t.same(applied, ['good:2|good:x'], 'the changed set is applied');
  t.same(events.at(-1), [true, 'test files (--a, --b) changed: reloaded']);

  // a Secret update swaps the files: renamed into place (a new inode), the same size
  writeFileSync(join(dir, 'new'), 'good:3');
  renameSync(join(dir, 'new'), a);
  await r.check();
  t.same(applied.at(-1), 'good:3|good:x', 'a file renamed into place is seen');

  writeFileSync(a, 'junk');
  await r.check();
  await r.check();
  t.equal(applied.length, 2, 'a set that does not load is not applied');
  t.same(events.slice(2), [[false, `test files (--a, --b) changed but cannot be loaded; keeping the previous ones: ${a}: not a good file`]], 'said once, not at every check');

  rmSync(a); // missing for a moment, as during a swap
  await r.check();
  t.equal(events.at(-1)![0], false, 'a missing file is a change that cannot be loaded');
  writeFileSync(a, 'good:4');
  await r.check();
  t.same([applied.at(-1), events.at(-1)], ['good:4|good:x', [true, 'test files (--a, --b) changed: reloaded']], 'back: applied');

  refuse = true;
  writeFileSync(b, 'good:y');
  await r.check();
  t.equal(applied.at(-1), 'good:4|good:x', 'a set the user of it refuses is not counted as applied');
  t.same(events.at(-1), [false, 'test files (--a, --b) changed but cannot be put in use; keeping the previous ones: the server refused it']);
});
