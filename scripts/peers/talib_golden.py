#!/usr/bin/env python3
"""Golden files for Qraft's TA-Lib compatible indicator kernels (src/qraft/expr/kernels/ta.h).

    .venv-peers/bin/python scripts/peers/talib_golden.py [--data DIR] [--out DIR]

Reads a few real symbols from the shared S&P 500 sample (../shared/data/sp500-5yr: one CSV per
symbol, `date,open,high,low,close,volume,Name`, unadjusted, some blank OHLC cells), runs TA-Lib's
own code (the `ta-lib` wheel pinned in scripts/peers/requirements.txt, which bundles the TA-Lib C
library) for every indicator and parameter set below, and writes
src/qraft/expr/kernels/testdata/talib_<SYMBOL>.csv:

  date,open,high,low,close,volume,<indicator columns...>

Numbers are written with %.17g (round-trip exact); an empty cell is NaN. An indicator column is
named NAME_p1_p2..., multi-output ones add the output name (MACD_12_26_9_signal,
BBANDS_5_2_2_upper, STOCH_5_3_3_slowk). kernels_ta_test recomputes every column with the C++
kernels and requires |a - b| <= 1e-9 * max(1, |b|), with NaN exactly where the file has NaN.

Missing values. TA-Lib does not handle NaN inside a series, so for rows where an input the
indicator reads is blank the reference applies the rule documented in ta.h, built from TA-Lib's
own output:
  * windowed indicators (finite window: SMA, WMA, ROC, MOM, BBANDS, STOCH, CCI, MFI, WILLR,
    TRANGE, VWAP, RVOL) are TA-Lib run separately on each maximal stretch of complete rows;
  * recursive indicators (EMA, DEMA, TEMA, KAMA, RSI, MACD, ATR, NATR, ADX, OBV) are TA-Lib run
    on the complete rows only (missing rows removed), scattered back, NaN on the missing rows.
With no missing row both are TA-Lib applied to the whole series.

VWAP and RVOL are not TA-Lib functions; their reference is computed here with numpy:
  VWAP_w = sum(typical * volume) / sum(volume) over the last w rows, typical = (h + l + c) / 3;
  RVOL_w = sqrt(sum(r^2)) over the last w log returns r_t = log(c_t / c_{t-1}) (not annualised;
           NaN where a window holds a close <= 0).
"""
import argparse
import csv
import math
from pathlib import Path

import numpy as np
import talib
from numpy.lib.stride_tricks import sliding_window_view

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = (ROOT.parent / "shared" / "data" / "sp500-5yr" / "stock_data" /
                "individual_stocks_5yr")
DEFAULT_OUT = ROOT / "src" / "qraft" / "expr" / "kernels" / "testdata"

# AAPL and MSFT: complete. DHR: a blank open (2015-07-17) and a row with blank open/high/low and
# zero volume (2016-01-12); close-only indicators see no gap, high/low ones do.
SYMBOLS = ["AAPL", "MSFT", "DHR"]

INPUTS = ("open", "high", "low", "close", "volume")
C, CV = ("close",), ("close", "volume")
HLC, HLCV = ("high", "low", "close"), ("high", "low", "close", "volume")

# (name, inputs, kind, parameter sets, output names or None); kind: "w" windowed, "r" recursive
# (see the module docstring). The first parameter set of each is TA-Lib's default where it has one.
INDICATORS = [
    ("SMA", C, "w", [(30,), (5,)], None),
    ("EMA", C, "r", [(30,), (5,)], None),
    ("WMA", C, "w", [(30,), (5,)], None),
    ("DEMA", C, "r", [(30,), (5,)], None),
    ("TEMA", C, "r", [(30,), (5,)], None),
    ("KAMA", C, "r", [(30,), (10,)], None),
    ("ROC", C, "w", [(10,), (1,)], None),
    ("MOM", C, "w", [(10,), (1,)], None),
    ("RSI", C, "r", [(14,), (2,)], None),
    # 26_12_9: TA-Lib swaps a fast period above the slow one.
    ("MACD", C, "r", [(12, 26, 9), (5, 35, 5), (26, 12, 9)], ("macd", "signal", "hist")),
    ("ATR", HLC, "r", [(14,), (1,)], None),
    ("NATR", HLC, "r", [(14,)], None),
    ("TRANGE", HLC, "w", [()], None),
    ("BBANDS", C, "w", [(5, 2.0, 2.0), (20, 1.5, 2.5)], ("upper", "middle", "lower")),
    ("STOCH", HLC, "w", [(5, 3, 3), (14, 1, 5)], ("slowk", "slowd")),
    ("CCI", HLC, "w", [(14,), (20,)], None),
    ("ADX", HLC, "r", [(14,), (2,)], None),
    ("OBV", CV, "r", [()], None),
    ("MFI", HLCV, "w", [(14,), (2,)], None),
    ("WILLR", HLC, "w", [(14,), (2,)], None),
    ("VWAP", HLCV, "w", [(20,), (1,)], None),
    ("RVOL", C, "w", [(20,), (1,)], None),
]


def vwap(high, low, close, volume, window):
    pv = (high + low + close) / 3.0 * volume
    out = np.full(len(close), np.nan)
    if len(close) >= window:
        with np.errstate(invalid="ignore", divide="ignore"):
            out[window - 1:] = (sliding_window_view(pv, window).sum(axis=1) /
                                sliding_window_view(volume, window).sum(axis=1))
    return out


def rvol(close, window):
    out = np.full(len(close), np.nan)
    if len(close) > window:
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.diff(np.log(np.where(close > 0, close, np.nan)))  # no return at a price <= 0
        out[window:] = np.sqrt((sliding_window_view(r, window) ** 2).sum(axis=1))
    return out


def call(name, arrays, params):
    """TA-Lib (or the numpy reference) on complete rows; returns a tuple of output arrays."""
    if name == "VWAP":
        return (vwap(*arrays, *params),)
    if name == "RVOL":
        return (rvol(*arrays, *params),)
    fn = getattr(talib, name)
    if name == "BBANDS":
        p, up, dn = params
        res = fn(*arrays, timeperiod=p, nbdevup=up, nbdevdn=dn, matype=0)
    elif name == "STOCH":
        fk, sk, sd = params
        res = fn(*arrays, fastk_period=fk, slowk_period=sk, slowk_matype=0, slowd_period=sd,
                 slowd_matype=0)
    elif name == "MACD":
        f, s, sig = params
        res = fn(*arrays, fastperiod=f, slowperiod=s, signalperiod=sig)
    else:
        res = fn(*arrays, *params)
    return res if isinstance(res, tuple) else (res,)


def with_missing_rule(name, kind, arrays, params, n_out):
    """Applies the kernels' NaN rule around TA-Lib (see the module docstring)."""
    n = len(arrays[0])
    missing = np.zeros(n, dtype=bool)
    for a in arrays:
        missing |= np.isnan(a)
    outs = [np.full(n, np.nan) for _ in range(n_out)]
    if kind == "r":
        keep = ~missing
        if keep.any():
            for o, r in zip(outs, call(name, [a[keep] for a in arrays], params)):
                o[keep] = r
        return outs
    start = 0
    while start < n:
        if missing[start]:
            start += 1
            continue
        stop = start
        while stop < n and not missing[stop]:
            stop += 1
        for o, r in zip(outs, call(name, [a[start:stop] for a in arrays], params)):
            o[start:stop] = r
        start = stop
    return outs


def column_name(name, params, output):
    parts = [name] + [format(p, "g") for p in params]
    if output:
        parts.append(output)
    return "_".join(parts)


def read_symbol(path):
    rows = list(csv.DictReader(open(path, newline="")))
    dates = [r["date"] for r in rows]
    cols = {k: np.array([float(r[k]) if r[k] != "" else math.nan for r in rows])
            for k in INPUTS}
    return dates, cols


def fmt(v):
    return "" if math.isnan(v) else "%.17g" % v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"ta-lib {talib.__version__}, TA-Lib C {talib.__ta_version__.decode()}")
    for sym in SYMBOLS:
        dates, cols = read_symbol(args.data / f"{sym}_data.csv")
        names, values = [], []
        for name, inputs, kind, param_sets, outputs in INDICATORS:
            arrays = [cols[k] for k in inputs]
            for params in param_sets:
                res = with_missing_rule(name, kind, arrays, params, len(outputs or (None,)))
                for out_name, r in zip(outputs or (None,), res):
                    names.append(column_name(name, params, out_name))
                    values.append(r)
        path = args.out / f"talib_{sym}.csv"
        with open(path, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["date", *INPUTS] + names)
            for i, d in enumerate(dates):
                w.writerow([d] + [fmt(cols[k][i]) for k in INPUTS] + [fmt(v[i]) for v in values])
        print(f"{path.relative_to(ROOT)}: {len(dates)} rows, {len(names)} indicator columns")


if __name__ == "__main__":
    main()
