#!/usr/bin/env bash
# `make bench`: micro-benchmarks plus side-by-side runs against peers; writes bench/RESULTS.md.
# Speed is measured here, never in tests. Knobs (environment):
#   BUILD (build)        the build directory (its bin/qraft and bench/ binaries; results in $BUILD/bench-out)
#   BENCH_ONLY (all)     comma-separated sections to run: micro, peers, expr, sweep, precise, robust. Those not run
#                        keep their rows from the previous $BUILD/bench-out/peers.jsonl (and gbench.json):
#                        every row is stamped with the section, date and commit of the run that produced
#                        it, and RESULTS.md names each section's run. Unset: every section, peers.jsonl anew.
#                        E.g. `BENCH_ONLY=sweep make bench` re-runs only the sweeps.
#   REPEAT (5)           timed runs per contender and pass (ingest, load, expressions; sweep: Qraft's runs
#                        of the MA grid, before and after vectorbt)
#   QLIB_REPEAT (2)      pyqlib calls per pass, ~30 s each
#   TA_REPEAT (10), MEM_REPEAT (0: warm runs after the first on 5,000 x 5,000)
#   QLIB_KERNELS (Qlib's default), EXPR_BENCH (alpha158,subset20,ta,memory)
#   SWEEP_BENCH (ma_grid,memory,topk,minute)   the sweep benchmarks (bench/peers_sweep.py)
#   SWEEP_LONG_REPEAT (1)  Qraft runs of the long sweeps (10,000 combinations on sp500, top-k on 5,000 x
#                        5,040, 10,000 combinations on 2.6M minute bars)
#   VBT_REPEAT (1)       timed vectorbt runs after a warm-up: the MA grid on all of sp500 takes minutes
#   VBT_CHUNK (20)       symbols per vectorbt call in the MA grid (about 4 GB of vectorbt memory at 20)
#   QLIB_TOPK (0)        1: also time pyqlib on ONE combination of the top-k sweep (about 6 minutes) and
#                        report the projected ratio
#   PRECISE_REPEAT (3)   timed runs per contender of the precise benchmarks
#   PRECISE_ARGS ()      more arguments for bench/peers_precise.py, e.g. "--bars 200000 --only backtrader"
#   ROBUST_REPS (10000)  bootstrap replications of the SPA/RC/StepM benchmark (arch takes ~2 minutes at 10,000)
#   SWEEP_ARGS ()        more arguments for bench/peers_sweep.py, for quick trials at a smaller scale, e.g.
#                        "--symbols-limit 50 --synth-symbols 500 --minute-bars 200000" (see its --help)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
py=.venv/bin/python
store=$build/bench-store
sp500=../shared/data/sp500-5yr/stock_data/individual_stocks_5yr
data=$build/bench-data
out=$build/bench-out
mkdir -p "$store" "$out" "$data"
ta_data=$out/ta-10m.f64  # 400 MB, written by ta_bench, removed on exit
trap 'rm -f "$ta_data"' EXIT
bash scripts/setup-peers.sh  # pyqlib, TA-Lib and vectorbt live in .venv-peers

only=${BENCH_ONLY:-micro,peers,expr,sweep,precise,robust}
want() { [[ ",$only," == *",$1,"* ]]; }
for s in ${only//,/ }; do
  case $s in micro | peers | expr | sweep | precise | robust) ;; *) echo "BENCH_ONLY: unknown section '$s'" >&2; exit 2 ;; esac
done
[ -n "${BENCH_ONLY:-}" ] || rm -f "$out/peers.jsonl"  # a full run starts afresh
# A section's rows go to section-NAME.jsonl (and the terminal); once the section has succeeded they
# replace that section's rows in peers.jsonl, stamped with this run.
rows() { tee "$out/section-$1.jsonl" >&2; }
merge() { $py bench/report.py --merge "$1" "$out/section-$1.jsonl" "$out/peers.jsonl"; }

# The 5,000 x 5,000 synthetic snapshot (generated once; same seed, same id).
if want peers || want expr; then
  snap=$("$build/bin/qraft" data synth --symbols 5000 --bars 5000 --seed 7 --store "$store" | tail -n 1)
fi

if want micro; then
  echo "== micro-benchmarks" >&2
  "$build/bench/data_bench" --benchmark_out="$out/gbench.json" --benchmark_out_format=json >&2
  $py bench/report.py --stamp "$out/gbench.run.json"
fi

if want peers; then
  echo "== peers" >&2
  $py bench/peers.py --qraft "$build/bin/qraft" --load-panel "$build/bench/load_panel" \
    --sp500 "$sp500" --store "$store" --snapshot "$snap" --repeat "${REPEAT:-5}" | rows peers
  merge peers
fi

# Expressions and indicators (issue 3). sp500-5yr has no vwap, which Alpha158 reads: a copy with
# vwap = (high + low + close) / 3 is ingested once (same bytes, same snapshot id, then a no-op),
# and exported once as a Qlib binary directory for pyqlib.
if want expr; then
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
    --memory-repeat "${MEM_REPEAT:-0}" --only "$expr_only" | rows expr
  merge expr
fi

# Parameter sweeps (issue 4): `qraft sweep` end to end vs vectorbt, and the sweep targets. The
# snapshots are made by bench/peers_sweep.py itself, before any timing: sp500-5yr ingested as is
# (once; then a no-op), and two seeded synthetic ones (`qraft data synth`, same seed, same id):
# 5,000 symbols x 5,040 daily bars, and 1 symbol x 2,600,000 1-minute bars.
if want sweep; then
  echo "== sweeps" >&2
  sweep_args=(--only "${SWEEP_BENCH:-ma_grid,memory,topk,minute}")
  if [ "${QLIB_TOPK:-0}" = 1 ]; then sweep_args+=(--qlib-topk); fi
  # shellcheck disable=SC2086  # SWEEP_ARGS is a list of words
  $py bench/peers_sweep.py --qraft "$build/bin/qraft" --store "$store" --sp500 "$sp500" \
    --repeat "${REPEAT:-5}" --long-repeat "${SWEEP_LONG_REPEAT:-1}" --vbt-repeat "${VBT_REPEAT:-1}" \
    --vbt-chunk "${VBT_CHUNK:-20}" "${sweep_args[@]}" ${SWEEP_ARGS:-} | rows sweep
  merge sweep
fi

# The precise engine (issue 5): one long single-asset bar series, the same strategy in Qraft
# (bench/precise_bench), backtrader and NautilusTrader; the top-k backtest of sp500-5yr with the
# us_stock pack; the L2 replay of the hftbacktest captures.
if want precise; then
  echo "== precise engine" >&2
  precise_args=(--out-csv "$data/precise-1m.csv" --precise-bench "$build/bench/precise_bench" --repeat "${PRECISE_REPEAT:-3}")
  if [ -d "$sp500" ]; then
    sp500_snap=$("$build/bin/qraft" ingest "$sp500" --market us_stock --store "$store" --quiet | tail -n 1)
    precise_args+=(--topk "$build/bin/qraft" "$store" "$sp500_snap")
  fi
  # shellcheck disable=SC2086  # PRECISE_ARGS is a list of words
  { $py bench/peers_precise.py "${precise_args[@]}" ${PRECISE_ARGS:-}
    if [ -x "$build/bench/l2_bench" ] && [ -d ../shared/data/hftbacktest-l2 ]; then
      "$build/bench/l2_bench" --data ../shared/data/hftbacktest-l2/examples --repeat "${PRECISE_REPEAT:-3}"
    fi; } | rows precise
  merge precise
fi

# The gates' statistics (issue 6): SPA + Reality Check + StepM and PBO on 1,000 strategies x 1,259
# days in Qraft (bench/robust_bench) and arch (bench/peers_robust.py, .venv-peers) on the same input.
if want robust; then
  echo "== robust statistics" >&2
  { "$build/bench/robust_bench" --reps "${ROBUST_REPS:-10000}" --repeat "${PRECISE_REPEAT:-3}"
    .venv-peers/bin/python bench/peers_robust.py --reps "${ROBUST_REPS:-10000}"; } | rows robust
  merge robust
fi

$py bench/report.py "$out/peers.jsonl" "$out/gbench.json" bench/RESULTS.md
cat bench/RESULTS.md
