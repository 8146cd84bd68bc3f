#!/usr/bin/env bash
# The demo: ingest the bundled S&P 500 sample into a snapshot and print what Qraft knows about it.
# Needs nothing outside the clone. The store lives in .qraft-demo/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
qraft=build/bin/qraft
store=.qraft-demo

echo "== ingest data/sample/sp500 (32 symbols, 5 years of daily bars)"
id=$($qraft ingest data/sample/sp500 --market us_stock --store "$store" | tail -n 1)
echo "snapshot $id"
echo
echo "== snapshot"
$qraft data info "$id" --store "$store"
echo
echo "== quality report"
$qraft data check "$id" --store "$store" || true
echo
echo "== AAPL around its 7:1 split (raw prices; corporate actions are not in this sample)"
$qraft data show "$id" --store "$store" --symbols AAPL --start 2014-06-05 --end 2014-06-11
