#!/usr/bin/env bash
# The test command (`npm test`): rebuilds what changed (the addon and the simulated NVML with
# `node-gyp build`, the protobuf codecs, the TypeScript with `tsc -b`), lints and type-checks
# everything (tests and benchmarks included), runs every tap test, and ends with the line
# `tests: N passed, N failed` (scripts/tap-summary.mjs counts tests, not assertions).
set -uo pipefail
cd "$(dirname "$0")/.."
fail_build() { echo "tests: 0 passed, 1 failed ($1)"; exit 1; }
# node-gyp through npm, which passes the local Node headers (see ../shared/reference/toolchain.md)
if [ -f build/Makefile ]; then
  npm run --silent build:native:changed >&2 || fail_build "native build failed"
else
  npm run --silent build:native >&2 || fail_build "native build failed"
fi
npm run --silent build:ts >&2 || fail_build "TypeScript build failed"
npm run --silent lint >&2 || fail_build "lint failed: npm run lint"
npm run --silent typecheck >&2 || fail_build "type check failed: npm run typecheck"
npx tap --reporter=tap "$@" | node scripts/tap-summary.mjs
rc=${PIPESTATUS[0]}
exit "$rc"
