#!/usr/bin/env bash
# npm run bench:rss -- [RUNS] [OTHER_TREE [OTHER_ARGS]]
#
# RSS of the exporter at rest and after 3,000 scrapes, as the median of RUNS starts (default 10):
# one start's RSS varies by 4-5 MB from run to run on this kind of machine (when V8 collects, what
# glibc keeps), so one bench run cannot show a 2 MB difference; medians of alternating starts can.
# Each start: 8 simulated GPUs (demoScenario(8)), -c 1000, the counters file COUNTERS (default: the
# older tree's default, or this one's, less the profiling rows: both trees serve the same families), the
# command file itself (its #! flags), RSS read 3 s after the first page and after 3,000 scrapes
# (autocannon, 10 connections).
# OTHER_TREE: a built checkout of another commit (npm ci, node-gyp build, npm run build:ts) to
# alternate with, e.g. the tree before a change; OTHER_ARGS: its extra flags.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-10}
other=${2:-}
other_args=${3:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node --import tsx -e "import('$here/lib/nvml/simulation.ts').then((m) => m.writeScenario('$work/scenario.txt', m.demoScenario(8)))"
counters=${COUNTERS:-$work/counters.csv}
[ -n "${COUNTERS:-}" ] || grep -v 'DCGM_FI_PROF_' "${other:-$here}/etc/default-counters.csv" >"$counters"
autocannon="$here/node_modules/.bin/autocannon"

one() { # tree args...
  local tree=$1; shift
  # $RANDOM repeats in each $(...) subshell: mix in the subshell's own pid so two starts differ
  local port=$((20000 + (BASHPID * 7919 + RANDOM) % 20000))
  NVML_SIM_SCENARIO=$work/scenario.txt "$tree/dist/bin/nvml-exporter.js" --nvml-library "$tree/build/Release/nvml_sim.so" \
    -a "127.0.0.1:$port" -c 1000 -f "$counters" "$@" >/dev/null 2>&1 &
  local pid=$!
  sleep 0.5
  kill -0 "$pid" 2>/dev/null || { wait "$pid" || true; echo "bench:rss: $tree/dist/bin/nvml-exporter.js exited at start (port $port)" >&2; exit 1; }
  for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/metrics" && break; sleep 0.1; done
  sleep 3
  local rest after
  rest=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
  "$autocannon" -a 3000 -c 10 "http://127.0.0.1:$port/metrics" >/dev/null 2>&1
  after=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$rest $after"
}

for _ in $(seq 1 "$runs"); do
  echo "this $(one "$here" --enable-exporter-metrics)"
  # shellcheck disable=SC2086
  [ -z "$other" ] || echo "other $(one "$other" $other_args)"
done | python3 -c '
import sys, statistics
rows = {}
for line in sys.stdin:
    name, rest, after = line.split()
    rows.setdefault(name, []).append((int(rest) / 1024, int(after) / 1024))
for name, xs in rows.items():
    r = [a for a, _ in xs]; s = [b for _, b in xs]
    print(f"{name:6s} n={len(xs):3d}  RSS at rest median {statistics.median(r):5.1f} MB (min {min(r):5.1f}, max {max(r):5.1f})"
          f"  after 3,000 scrapes median {statistics.median(s):5.1f} MB (min {min(s):5.1f}, max {max(s):5.1f})")
'
