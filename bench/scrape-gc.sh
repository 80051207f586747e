#!/usr/bin/env bash
# npm run bench:gc — what one /metrics scrape allocates, measured in a way a loaded machine does not
# distort: the exporter (8 simulated GPUs, collect interval 1 s, the flags of its #! line) runs with
# --trace-gc, autocannon makes N scrapes (10 connections, no gzip), and the young-generation
# scavenges during them are counted (the young generation is 1 MiB: --max-semi-space-size=1, so a
# scavenge is ~1 MiB allocated). Also the RSS and V8 heap at rest and after the scrapes.
# Usage: bash bench/scrape-gc.sh [N=20000] [extra exporter flags…]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}; shift || true
D=$(mktemp -d); trap 'rm -rf "$D"' EXIT
node --import tsx -e "import('./lib/nvml/simulation.ts').then((m) => m.writeScenario('$D/s.txt', m.demoScenario(8)))"
LIB=$(node --import tsx -e "import('./lib/nvml/simulation.ts').then((m) => console.log(m.simulatedLibraryPath()))")
PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
NVML_SIM_SCENARIO=$D/s.txt MALLOC_ARENA_MAX=2 node --max-semi-space-size=1 --trace-gc dist/bin/nvml-exporter.js \
  -a 127.0.0.1:$PORT --nvml-library "$LIB" -c 1000 --enable-exporter-metrics "$@" > "$D/gc.log" 2>/dev/null &
P=$!
trap 'kill $P 2>/dev/null; rm -rf "$D"' EXIT
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/metrics" && break; sleep 0.1; done
sleep 2
rss() { awk '/VmRSS/{printf "%.1f", $2/1024}' /proc/$P/status; }
R0=$(rss); S0=$(grep -c Scavenge "$D/gc.log" || true); M0=$(grep -c Mark "$D/gc.log" || true)
npx autocannon -c 10 -a "$N" -H accept-encoding=identity "http://127.0.0.1:$PORT/metrics" > /dev/null 2>&1
S1=$(grep -c Scavenge "$D/gc.log" || true); M1=$(grep -c Mark "$D/gc.log" || true); R1=$(rss)
echo "commit $(git log --oneline -1 | cut -c1-12) · $N scrapes · scavenges $((S1 - S0)) (≈ $(( (S1 - S0) * 1048576 / N )) bytes/scrape) · mark-compacts $((M1 - M0)) · RSS rest $R0 MB, after $R1 MB · load $(cut -d' ' -f1 /proc/loadavg)"
