#!/usr/bin/env bash
# Builds the addon and the simulated NVML with AddressSanitizer and UndefinedBehaviorSanitizer and
# runs the native tests (test/integration/nvml-*.test.ts, sim-*.test.ts) against that build, with
# the sanitizer runtimes preloaded into node (node itself is not instrumented). Any report fails
# the run (halt_on_error). The normal build is restored at the end, whatever happened.
#
#   bash scripts/sanitize.sh            all native tests
#   bash scripts/sanitize.sh FILE...    only these test files
#
# Leak detection is off: LeakSanitizer reports what node itself keeps at exit, which is not ours
# (the addon was checked for leaks with valgrind: RELIABILITY.md).
set -euo pipefail
cd "$(dirname "$0")/.."
CC=${CC:-gcc}
ASAN_RT=$($CC -print-file-name=libasan.so)
UBSAN_RT=$($CC -print-file-name=libubsan.so)
for rt in "$ASAN_RT" "$UBSAN_RT"; do
  [ -f "$rt" ] || { echo "sanitize: $rt not found (apt-get install gcc: libasan and libubsan come with it)"; exit 2; }
done

restore() {
  echo "sanitize: restoring the normal build" >&2
  CFLAGS= CXXFLAGS= LDFLAGS= npm run --silent build:native >/dev/null 2>&1 || echo "sanitize: the normal rebuild failed: run npm run build:native" >&2
}
trap restore EXIT

FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
echo "sanitize: building build/Release with $FLAGS" >&2
CFLAGS="$FLAGS" CXXFLAGS="$FLAGS" LDFLAGS="-fsanitize=address,undefined" npm run --silent build:native >/dev/null
for f in build/Release/nvml_addon.node build/Release/nvml_sim.so build/Release/nvml_sim_legacy.so; do
  # (grep -c, not -q: an early exit of grep would fail the pipeline under pipefail)
  [ "$(nm -D "$f" | grep -c __asan_report)" -gt 0 ] || { echo "sanitize: $f is not instrumented"; exit 1; }
done

if [ $# -gt 0 ]; then files=("$@"); else files=(test/integration/nvml-*.test.ts test/integration/sim-*.test.ts); fi
echo "sanitize: running ${files[*]}" >&2
export LD_PRELOAD="$ASAN_RT $UBSAN_RT"
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=0:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
npx tap --reporter=terse --timeout=300 "${files[@]}"
