#!/usr/bin/env bash
# `make crosscheck`: Qraft against the peers' own code, end to end.
#   Qlib: raw mock CSVs -> qraft ingest -> qraft data export --format qlib -> Qlib's D.features must
#   return the raw prices; and the export must equal, byte for byte, the directory Qlib's own
#   storage writers produce (src/qraft/data/io/testdata/qlib_mock).
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
