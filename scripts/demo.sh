#!/usr/bin/env bash
# The demo: ingest the bundled S&P 500 sample into a snapshot, print what Qraft knows about it,
# evaluate a few factors and expressions on it, sweep an example strategy and re-run its best
# candidates on the precise engine, and end with the candidates that pass the quality gates.
# Needs nothing outside the clone. The store lives in .qraft-demo/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
qraft=build/bin/qraft
store=.qraft-demo

echo "== ingest data/sample/sp500 (32 symbols, 5 years of daily bars)"
id=$($qraft ingest data/sample/sp500 --market us_stock --store "$store" --quiet | tail -n 1)
echo "snapshot $id"
echo
echo "== snapshot"
$qraft data info "$id" --store "$store"
echo
echo "== quality report"
$qraft data check "$id" --store "$store" || true
echo
echo "== EBAY around the PayPal spin-off (the sample has no dividend/spin-off columns, so the drop stays)"
$qraft data show "$id" --store "$store" --symbols EBAY --start 2015-07-15 --end 2015-07-21
echo
echo "== factors: a few from the built-in libraries, evaluated against 1- and 5-day forward returns"
$qraft factor eval factor://common/roc 'factor://common/ema_gap?window=10' factor://common/volatility \
  factor://alpha158/RSV20 --data "$id" --store "$store" --horizons 1,5 --min-pairs 20
echo
echo "== expressions: the newest values of a few, on the snapshot"
$qraft expr eval 'mom=ROC($close, 20)' 'rsi=RSI(14)' 'score=ZSCORE(ROC(close,20))*0.5 + ZSCORE(RSI(close,14))*0.5' \
  --data "$id" --store "$store" --start 2018-02-07 --limit 8
echo
echo "== sweep: examples/strategies/ma_cross.yaml (EMA crossover, fast x slow, next-open fills, costs)"
$qraft strategy check examples/strategies/ma_cross.yaml
$qraft sweep examples/strategies/ma_cross.yaml --data "$id" --store "$store" --top 5 --out "$store/sweeps/ma_cross"
echo
echo "== precise engine: the best candidates order by order (docs/precise.md)"
$qraft consistency "$store/sweeps/ma_cross" --store "$store" --candidates 3 --participation 0.05
$qraft sensitivity "$store/sweeps/ma_cross" --store "$store" --top 3 --candidates 10 --components all
$qraft backtest examples/strategies/ma_cross.yaml --data "$id" --store "$store" --engine precise \
  --params fast=10 --params slow=30 --out "$store/backtests/ma_cross_precise"
echo
echo "== quality gates (docs/gates.md): DSR, SPA/StepM, PBO, holdout IR, costs, consistency, rerun"
$qraft gate "$store/sweeps/ma_cross" --store "$store" > "$store/gates.txt"
echo
echo "== report"
$qraft report "$store/sweeps/ma_cross"
echo
echo "== gated candidates (the sweep's best 10 on validation, judged on the gates above)"
cat "$store/gates.txt"
