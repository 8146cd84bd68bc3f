#!/usr/bin/env bash
# `make crosscheck`: Qraft against the peers' own code, end to end.
#   Qlib: raw mock CSVs -> qraft ingest -> qraft data export --format qlib -> Qlib's D.features must
#   return the raw prices; and the export must equal, byte for byte, the directory Qlib's own
#   storage writers produce (src/qraft/data/io/testdata/qlib_mock).
#   Alpha158: all features on the bundled S&P 500 sample equal what Qlib's own expression engine
#   computes from Qraft's Qlib export.
#   Top-k DSL strategies: `qraft backtest` of TopkDropout strategies on the bundled sample equals,
#   day by day (daily returns within 1e-6), Qlib's own TopkDropout + Exchange backtest on the same
#   scores over Qraft's Qlib export.
#   Robust statistics: SPA / Reality Check / StepM and block lengths equal arch's (fed indices).
set -euo pipefail
cd "$(dirname "$0")/.."
qraft=${BUILD:-build}/bin/qraft
py=.venv-peers/bin/python
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

$py scripts/peers/make_qlib_fixture.py --write-csv "$work/csv" >/dev/null
id=$($qraft ingest "$work/csv" --market cn_stock --store "$work/store" --quiet | tail -n 1)
$qraft data export "$id" "$work/qlib" --format qlib --store "$work/store" >/dev/null
diff -r "$work/qlib" src/qraft/data/io/testdata/qlib_mock --exclude README.md
echo "qlib: Qraft's export is byte-identical to the directory Qlib's storage writers produce"
$py scripts/peers/make_qlib_fixture.py --verify "$work/qlib" --compare-csv

# Alpha158 on the bundled S&P 500 sample: Qraft's qlib semantics against Qlib's expression engine.
sid=$($qraft ingest data/sample/sp500 --market us_stock --store "$work/store" --quiet | tail -n 1)
$qraft data export "$sid" "$work/sp500_qlib" --format qlib --store "$work/store" >/dev/null
tsv=src/qraft/expr/testdata/qlib/alpha158.tsv
mapfile -t alpha < <(awk -F'\t' '$2 != "VWAP0" {print $2 "=" $3}' "$tsv")   # the sample has no vwap
$qraft expr eval "${alpha[@]}" --data "$sid" --store "$work/store" --semantics qlib \
  --format csv --out "$work/alpha158.csv"
$py scripts/peers/alpha158_crosscheck.py --qlib-dir "$work/sp500_qlib" --qraft-csv "$work/alpha158.csv" --tsv "$tsv"

# vectorbt: regenerate the signal simulator's golden cases with vectorbt itself (needs ../shared);
# the committed files must come out byte-identical.
if [ -d ../shared/data/sp500-5yr ]; then
  $py scripts/peers/vectorbt_golden.py >/dev/null
  git diff --exit-code -- src/qraft/engines/testdata/vectorbt_golden.json src/qraft/engines/testdata/vectorbt_close.csv
  echo "vectorbt: golden cases regenerate identically"
fi

# Qlib TopkDropout + Exchange: regenerate the portfolio simulator's golden days with Qlib itself;
# the committed file must come out byte-identical.
PYTHONHASHSEED=0 $py scripts/peers/topk_golden.py >/dev/null
git diff --exit-code -- src/qraft/engines/testdata/topk_golden.json
echo "qlib: TopkDropout golden days regenerate identically"

# A DSL top-k strategy end to end: `qraft backtest` (result dir equity.csv) against Qlib's own
# TopkDropoutStrategy + SimulatorExecutor + Exchange on the same scores, over Qraft's Qlib export
# of the bundled sample; daily returns within 1e-6 (and 1e-12 on identical float32 prices).
$py scripts/peers/topk_dsl_crosscheck.py --qraft "$qraft"

# The gates' statistics against arch (reference/robust/SPEC.md §4.1): SPA, Reality Check, StepM with
# fed indices (p-values exact, critical values 1e-12, better models and StepM sets exact) and
# Politis-White block lengths (1e-10), end to end through `qraft robust`; the committed output must
# regenerate identically.
$py scripts/peers/robust_crosscheck.py --qraft "$qraft" --out scripts/peers/robust_crosscheck.out >/dev/null
git diff --exit-code -- scripts/peers/robust_crosscheck.out
echo "arch: SPA / Reality Check / StepM and block lengths equal, case by case"
