// The attack campaign's short version (scripts/campaign.ts --short), as CI runs it: every attack
// of issue 14 against the real commands on the loopback, each with its pass condition.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/exporter.js';

t.test('npm run campaign -- --short: every attack passes', async (t) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts/campaign.ts'), '--short'], {
    cwd: repoRoot, encoding: 'utf8', timeout: 110_000, env: { ...process.env, NODE_OPTIONS: '' },
  });
  const lines = r.stdout.split('\n').filter((l) => /^(PASS|FAIL) /.test(l));
  for (const l of lines) t.ok(l.startsWith('PASS'), l);
  t.ok(lines.length >= 15, `${lines.length} attacks ran`);
  t.equal(r.status, 0, `exit 0 (${r.stderr.slice(-400)})`);
  t.match(r.stdout, /campaign: \d+ passed, 0 failed/);
});
