#!/usr/bin/env python3
"""Qlib peer checks for Qraft's Qlib directory reader/writer (src/qraft/data/io/qlib_io.cc).

Two modes, both run against Qlib's own code (pip install pyqlib; tested with pyqlib 0.9.7):

  make_qlib_fixture.py --write OUT_DIR
      Writes a tiny Qlib data directory from the shared mock inputs
      (../shared/reference/qlib/golden/input_mock_{0050,1101}.csv) using Qlib's storage writers:
      FileCalendarStorage for calendars/day.txt and FileFeatureStorage for every .bin file.
      instruments/all.txt is written the way scripts/dump_bin.py writes it ("SYMBOL\tstart\tend"),
      because FileInstrumentStorage._write_instrument in pyqlib 0.9.7 writes the columns in the
      wrong order ("start\tend\tSYMBOL": it re-writes the whole frame in its own column order).
      The result is committed as src/qraft/data/io/testdata/qlib_mock/.

  make_qlib_fixture.py --write-csv OUT_DIR
      Writes the same raw inputs (raw prices plus the constructed factor column, suspension row
      dropped) as <symbol>.csv files, for a Qlib-independent path through Qraft:
        qraft ingest OUT_DIR --market cn_stock --symbol-pattern '(.*)' ...
        qraft data export <id> QLIB_DIR --format qlib
        make_qlib_fixture.py --verify QLIB_DIR --compare-csv

  make_qlib_fixture.py --verify DIR [--freq day] [--compare-csv]
      Reads DIR (e.g. a directory written by `qraft data export --format qlib`) through Qlib's own
      reader: qlib.init(provider_uri=DIR), D.calendar, D.instruments/list_instruments, D.features.
      Prints what Qlib sees. With --compare-csv, also checks that Qlib's $close/$factor etc. equal the
      raw CSV prices of the mock inputs (as float32) and exits non-zero on any difference.

The fixture is built the Qlib way (docs/component/data.rst, scripts/data_collector/yahoo):
  * calendar = sorted union of all dates of both files;
  * factor = 1.0 before 2022-01-17 and 0.5 from then on (a 2:1 split, say), for both symbols;
  * stored (adjusted) prices = raw * factor for open/high/low/close/vwap, stored volume = raw / factor;
  * 0050's row of 2022-01-12 is dropped to stand for a suspension day, so it is a NaN row inside the
    symbol's span (dump_bin reindexes each symbol onto its calendar slice);
  * each .bin holds the symbol's span [first date, last date], start index = calendar index of the first.
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO.parent / "shared" / "reference" / "qlib" / "golden"
SYMBOLS = ["0050", "1101"]
PRICE_FIELDS = ["open", "high", "low", "close", "vwap"]
FIELDS = ["open", "high", "low", "close", "volume", "vwap", "factor"]
SPLIT_DATE = pd.Timestamp("2022-01-17")
SUSPENDED = ("0050", pd.Timestamp("2022-01-12"))


def raw_inputs():
    """{symbol: DataFrame indexed by date} of the raw mock prices, with the constructed factor."""
    out = {}
    for sym in SYMBOLS:
        df = pd.read_csv(GOLDEN / f"input_mock_{sym}.csv", parse_dates=["datetime"])
        df = df.rename(columns={"datetime": "date"}).set_index("date").sort_index()
        if sym == SUSPENDED[0]:
            df = df.drop(index=SUSPENDED[1])
        df["factor"] = np.where(df.index < SPLIT_DATE, 1.0, 0.5)
        out[sym] = df
    return out


def init_qlib(provider_uri):
    import qlib

    qlib.init(provider_uri=str(provider_uri), region="cn", kernels=1)


def write_fixture(out_dir: Path):
    from qlib.data.storage.file_storage import FileCalendarStorage, FileFeatureStorage
    from qlib.utils import code_to_fname

    if out_dir.exists():
        sys.exit(f"{out_dir}: already exists")
    data = raw_inputs()
    calendar = sorted(set().union(*(df.index for df in data.values())))

    # Qlib's storages find the frequency by globbing calendars/*.txt, so the file must exist first.
    (out_dir / "calendars").mkdir(parents=True)
    (out_dir / "calendars" / "day.txt").touch()
    (out_dir / "instruments").mkdir()
    init_qlib(out_dir)
    uri = {"day": str(out_dir)}

    FileCalendarStorage(freq="day", future=False, provider_uri=uri).extend(
        [d.strftime("%Y-%m-%d") for d in calendar]
    )

    lines = []
    for sym, df in data.items():
        first, last = df.index.min(), df.index.max()
        lines.append(f"{sym.upper()}\t{first:%Y-%m-%d}\t{last:%Y-%m-%d}")  # dump_bin's format
        span = [d for d in calendar if first <= d <= last]
        df = df.reindex(span)  # gaps inside the span become NaN rows, as in dump_bin
        adjusted = df.copy()
        for f in PRICE_FIELDS:
            adjusted[f] = df[f] * df["factor"]
        adjusted["volume"] = df["volume"] / df["factor"]
        fname = code_to_fname(sym).lower()
        (out_dir / "features" / fname).mkdir(parents=True)
        start = calendar.index(first)
        for field in FIELDS:
            FileFeatureStorage(instrument=fname, field=field, freq="day", provider_uri=uri).write(
                adjusted[field].to_numpy(dtype=np.float64), index=start
            )
    np.savetxt(out_dir / "instruments" / "all.txt", lines, fmt="%s", encoding="utf-8")
    print(f"wrote {out_dir}: {len(calendar)} calendar days, symbols {', '.join(SYMBOLS)}")


def write_csv(out_dir: Path):
    out_dir.mkdir(parents=True)
    for sym, df in raw_inputs().items():
        df.to_csv(out_dir / f"{sym}.csv", index_label="date", date_format="%Y-%m-%d", float_format="%.9g")
    print(f"wrote {out_dir}: {', '.join(f'{s}.csv' for s in SYMBOLS)}")


def verify(dir_: Path, freq: str, compare_csv: bool) -> int:
    import qlib
    from qlib.data import D

    init_qlib(dir_)
    cal = D.calendar(freq=freq)
    insts = D.list_instruments(D.instruments("all"), freq=freq, as_list=True)
    print(f"qlib {qlib.__version__}: {dir_}")
    print(f"calendar ({freq}): {len(cal)} entries, {cal[0]} .. {cal[-1]}")
    print(f"instruments: {insts}")
    # The fields of the first symbol directory; raw-price expressions when there is a factor.
    from qlib.utils import code_to_fname

    first_dir = dir_ / "features" / code_to_fname(insts[0]).lower()
    fields = sorted(p.name[: -len(f".{freq}.bin")] for p in first_dir.glob(f"*.{freq}.bin"))
    exprs = [f"${f}" for f in fields]
    if "factor" in fields:
        exprs += [f"${f}/$factor" for f in PRICE_FIELDS if f in fields]
        exprs += ["$volume*$factor"] if "volume" in fields else []
    df = D.features(insts, exprs, freq=freq)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(df.head(8))
        print(f"{len(df)} rows")
    if not compare_csv:
        return 0

    failures = 0
    for sym, raw in raw_inputs().items():
        got = df.xs(sym, level="instrument")
        for date, row in raw.iterrows():
            if date not in got.index:
                print(f"MISSING {sym} {date:%Y-%m-%d}")
                failures += 1
                continue
            g = got.loc[date]
            for f in PRICE_FIELDS:
                # Stored adjusted = float32(raw * factor); Qlib divides back in float32.
                want = np.float32(np.float32(row[f] * row["factor"]) / np.float32(row["factor"]))
                if np.float32(g[f"${f}/$factor"]) != want:
                    print(f"DIFF {sym} {date:%Y-%m-%d} {f}: qlib {g[f'${f}/$factor']!r} want {want!r}")
                    failures += 1
            want_vol = np.float32(np.float32(row["volume"] / row["factor"]) * np.float32(row["factor"]))
            if np.float32(g["$volume*$factor"]) != want_vol:
                print(f"DIFF {sym} {date:%Y-%m-%d} volume: qlib {g['$volume*$factor']!r} want {want_vol!r}")
                failures += 1
            if np.float32(g["$factor"]) != np.float32(row["factor"]):
                print(f"DIFF {sym} {date:%Y-%m-%d} factor")
                failures += 1
        extra = got.index.difference(raw.index)
        for date in extra:  # rows inside the span that the input lacks must be all NaN
            if not got.loc[date, [f"${f}" for f in FIELDS]].isna().all():
                print(f"NOT NaN {sym} {date:%Y-%m-%d}")
                failures += 1
    print("compare with the mock CSV inputs:", "OK" if failures == 0 else f"{failures} difference(s)")
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", type=Path, metavar="OUT_DIR", help="write the fixture directory")
    mode.add_argument("--write-csv", type=Path, metavar="OUT_DIR", help="write the raw inputs as CSV files")
    mode.add_argument("--verify", type=Path, metavar="DIR", help="read DIR with Qlib's own reader")
    ap.add_argument("--freq", default="day", help="Qlib frequency for --verify (default: day)")
    ap.add_argument("--compare-csv", action="store_true", help="with --verify: compare with the mock CSV inputs")
    args = ap.parse_args()
    os.environ.setdefault("JOBLIB_MULTIPROCESSING", "0")
    if args.write:
        write_fixture(args.write)
        return 0
    if args.write_csv:
        write_csv(args.write_csv)
        return 0
    return verify(args.verify, args.freq, args.compare_csv)


if __name__ == "__main__":
    sys.exit(main())
