#!/usr/bin/env bash
# `make bench`: micro-benchmarks plus side-by-side runs against peers; writes bench/RESULTS.md.
# Speed is measured here, never in tests. Knobs (environment): BUILD, REPEAT (5), QLIB_REPEAT (2: pyqlib
# calls per pass, ~30 s each), TA_REPEAT (10), MEM_REPEAT (0: warm runs after the first on 5,000 x 5,000),
# QLIB_KERNELS (Qlib's default), EXPR_BENCH (alpha158,subset20,ta,memory).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
py=.venv/bin/python
store=$build/bench-store
sp500=../shared/data/sp500-5yr/stock_data/individual_stocks_5yr
data=$build/bench-data
mkdir -p "$store" "$build/bench-out" "$data"
ta_data=$build/bench-out/ta-10m.f64  # 400 MB, written by ta_bench, removed on exit
trap 'rm -f "$ta_data"' EXIT
bash scripts/setup-peers.sh  # pyqlib and TA-Lib live in .venv-peers

# The 5,000 x 5,000 synthetic snapshot (generated once; same seed, same id).
snap=$("$build/bin/qraft" data synth --symbols 5000 --bars 5000 --seed 7 --store "$store" | tail -n 1)

echo "== micro-benchmarks" >&2
"$build/bench/data_bench" --benchmark_out="$build/bench-out/gbench.json" --benchmark_out_format=json >&2

echo "== peers" >&2
$py bench/peers.py --qraft "$build/bin/qraft" --load-panel "$build/bench/load_panel" \
  --sp500 "$sp500" --store "$store" --snapshot "$snap" --repeat "${REPEAT:-5}" | tee "$build/bench-out/peers.jsonl" >&2

# Expressions and indicators (issue 3). sp500-5yr has no vwap, which Alpha158 reads: a copy with
# vwap = (high + low + close) / 3 is ingested once (same bytes, same snapshot id, then a no-op),
# and exported once as a Qlib binary directory for pyqlib.
echo "== expressions and indicators" >&2
expr_only=${EXPR_BENCH:-alpha158,subset20,ta,memory}
sp500_args=()
if [ -d "$sp500" ]; then
  $py bench/prepare_sp500.py "$sp500" "$data/sp500-vwap"
  sp500_snap=$("$build/bin/qraft" ingest "$data/sp500-vwap" --market us_stock --store "$store" --quiet | tail -n 1)
  qlib_dir=$data/qlib-${sp500_snap:0:16}
  [ -d "$qlib_dir" ] || "$build/bin/qraft" data export "$sp500_snap" "$qlib_dir" --format qlib --store "$store" >/dev/null
  sp500_args=(--sp500-snapshot "$sp500_snap" --qlib-dir "$qlib_dir" --bars "$store/snapshots/$sp500_snap/bars.parquet")
else
  echo "skipping the sp500 expression benchmarks: $sp500 not found" >&2
  expr_only=$(echo "$expr_only" | tr ',' '\n' | { grep -vx -e alpha158 -e subset20 || true; } | paste -sd, -)
fi
$py bench/peers_expr.py --qraft "$build/bin/qraft" --expr-bench "$build/bench/expr_bench" \
  --ta-bench "$build/bench/ta_bench" --store "$store" --synth-snapshot "$snap" "${sp500_args[@]}" \
  --ta-data "$ta_data" --repeat "${REPEAT:-5}" --qlib-repeat "${QLIB_REPEAT:-2}" --ta-repeat "${TA_REPEAT:-10}" \
  --memory-repeat "${MEM_REPEAT:-0}" --only "$expr_only" | tee -a "$build/bench-out/peers.jsonl" >&2

$py bench/report.py "$build/bench-out/peers.jsonl" "$build/bench-out/gbench.json" bench/RESULTS.md
cat bench/RESULTS.md
