#!/usr/bin/env bash
# `make bench`: micro-benchmarks plus side-by-side runs against peers; writes bench/RESULTS.md.
# Speed is measured here, never in tests.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
py=.venv/bin/python
store=$build/bench-store
mkdir -p "$store" "$build/bench-out"

# The 5,000 x 5,000 synthetic snapshot (generated once; same seed, same id).
snap=$("$build/bin/qraft" data synth --symbols 5000 --bars 5000 --seed 7 --store "$store" | tail -n 1)

echo "== micro-benchmarks" >&2
"$build/bench/data_bench" --benchmark_out="$build/bench-out/gbench.json" --benchmark_out_format=json >&2

echo "== peers" >&2
$py bench/peers.py --qraft "$build/bin/qraft" --load-panel "$build/bench/load_panel" \
  --sp500 ../shared/data/sp500-5yr/stock_data/individual_stocks_5yr \
  --store "$store" --snapshot "$snap" --repeat "${REPEAT:-5}" | tee "$build/bench-out/peers.jsonl" >&2

$py bench/report.py "$build/bench-out/peers.jsonl" "$build/bench-out/gbench.json" bench/RESULTS.md
cat bench/RESULTS.md
