// Reads TAP from stdin, passes it through, and ends with the plain line CI reads:
//   tests: N passed, N failed[, N skipped]
// It counts tests, not assertions: a test is a subtest with no subtests of its own (a test file
// without subtests counts as one). Assertions inside polling loops therefore do not change the
// count from run to run. A subtest with subtests counts as one more failure only when it failed
// while none of its tests did (an error thrown in its own body, a timeout, a wrong plan).
import { createInterface } from 'node:readline';

const rl = createInterface({ input: process.stdin });
/** open subtests: indentation of their "# Subtest" line, whether they have subtests, failed tests below */
const stack = [];
let pass = 0;
let fail = 0;
let skip = 0;
let sawEnd = false;

rl.on('line', (line) => {
  process.stdout.write(line + '\n');
  const indent = line.length - line.trimStart().length;
  const text = line.trim();
  if (text.startsWith('# Subtest')) {
    if (stack.length > 0) stack[stack.length - 1].parent = true;
    stack.push({ indent, parent: false, failedBelow: 0 });
    return;
  }
  if (/^# \{ .*total:/.test(text) && indent === 0) sawEnd = true;
  const m = /^(not ok|ok)\b[^#]*(#\s*(SKIP|TODO)\b)?/i.exec(text);
  if (!m) return;
  const top = stack[stack.length - 1];
  if (!top || top.indent !== indent) return; // an assertion, not a subtest's result
  stack.pop();
  const ok = m[1] === 'ok';
  const skipped = m[3] !== undefined;
  let failedHere = 0;
  if (!top.parent) {
    if (skipped) skip++;
    else if (ok) pass++;
    else {
      fail++;
      failedHere = 1;
    }
  } else if (!ok && top.failedBelow === 0) {
    fail++;
    failedHere = 1;
  }
  const parent = stack[stack.length - 1];
  if (parent) parent.failedBelow += top.failedBelow + failedHere;
});

rl.on('close', () => {
  if (!sawEnd) {
    process.stdout.write(`tests: ${pass} passed, ${fail + 1} failed (no summary from tap: the run did not complete)\n`);
    process.exitCode = 1;
    return;
  }
  let out = `tests: ${pass} passed, ${fail} failed`;
  if (skip) out += `, ${skip} skipped`;
  process.stdout.write(out + '\n');
});
