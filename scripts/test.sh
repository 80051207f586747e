#!/usr/bin/env bash
# The test command: builds if needed, runs every tap test, ends with `tests: N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/Release/nvml_addon.node ] || [ ! -f dist/bin/nvml-exporter.js ]; then
  npm run build >&2 || { echo "tests: 0 passed, 1 failed (build failed)"; exit 1; }
fi
npx tap --reporter=tap "$@" | node scripts/tap-summary.mjs
rc=${PIPESTATUS[0]}
exit "$rc"
