#!/usr/bin/env bash
# The demo: ingest the bundled S&P 500 sample into a snapshot and print what Qraft knows about it.
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
