// Reads TAP from stdin, passes it through, and ends with the plain line CI reads:
//   tests: N passed, N failed[, N skipped]
// The counts come from tap's closing `# { total: …, pass: …, fail: …, skip: … }` line.
import { createInterface } from 'node:readline';

const rl = createInterface({ input: process.stdin });
let summary = null;
rl.on('line', (line) => {
  process.stdout.write(line + '\n');
  const m = /^# \{ (.*) \}$/.exec(line.trim());
  if (m && m[1].includes('total:')) {
    const counts = {};
    for (const part of m[1].split(',')) {
      const [k, v] = part.split(':').map((s) => s.trim());
      counts[k] = Number(v);
    }
    summary = counts;
  }
});
rl.on('close', () => {
  if (!summary) {
    process.stdout.write('tests: 0 passed, 1 failed (no summary from tap: the run did not complete)\n');
    process.exitCode = 1;
    return;
  }
  const pass = summary.pass ?? 0;
  const fail = summary.fail ?? 0;
  const skip = summary.skip ?? 0;
  let line = `tests: ${pass} passed, ${fail} failed`;
  if (skip) line += `, ${skip} skipped`;
  process.stdout.write(line + '\n');
});
