#!/usr/bin/env python3
"""Golden values for Qraft's per-symbol signal simulator (src/qraft/engines/signal_sim.h).

    .venv-peers/bin/python scripts/peers/vectorbt_golden.py [--data DIR] [--seed N] [--cases N]

Writes two files under src/qraft/engines/testdata/:
  * vectorbt_close.csv: the daily closes of AAPL, MSFT, XOM and JPM from the shared S&P 500
    sample (../shared/data/sp500-5yr, 2013-02-08 .. 2018-02-07, unadjusted, no missing close),
    copied verbatim as text so that the C++ test and this script parse the same decimal strings
    (both with a correctly rounded parser: Python's float(), C++'s std::strtod);
  * vectorbt_golden.json: the vectorbt version and a list of cases. Each case names its symbol,
    its options (init_cash, fees, fixed_fees, slippage, sl_stop; null = no stop), the bars whose
    close is set to NaN (a few cases), the entry and exit bars (0-based indices of the True
    values: the signals are stored rather than recomputed so that the rolling-mean rounding of
    pandas cannot flip a tie), and vectorbt's results: final_value, cash, position,
    orders (pf.orders.count(): filled orders), trades (pf.trades.count(): exit trades, closed and
    open), closed_trades, total_fees (sum of the fees of all filled orders), closed_pnl (sum of
    the pnl of the closed trades) and equity_sum (sum of pf.value() over all bars).

Signals: a moving-average crossover with random windows (fast in [2, 30], slow in [fast+2, 120],
simple rolling means of close): entry on the bar where fast crosses above slow, exit where it
crosses below; in about a third of the cases random extra entries and exits (probability 2-10% a
bar each) are OR-ed in, which makes entry-and-exit conflicts and entries while in a position.
Costs: fees in [0, 0.5%] (or 0), fixed_fees in [0, 5] (or 0), slippage in [0, 0.5%] (or 0),
init_cash 100, 10,000 or 1,000,000; half the cases with sl_stop in [1%, 15%].

vectorbt is run as Portfolio.from_signals(close, entries, exits, size=np.inf,
size_type='amount', direction='longonly', accumulate=False, ...) with every other option at
its default (price = close, upon_long_conflict = ignore, stop_entry_price = close,
stop_exit_price = stoplimit, no open/high/low so stops are checked against the close).
"""
import argparse
import csv
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import vectorbt as vbt

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = (ROOT.parent / "shared" / "data" / "sp500-5yr" / "stock_data" /
                "individual_stocks_5yr")
TESTDATA = ROOT / "src" / "qraft" / "engines" / "testdata"
SYMBOLS = ["AAPL", "MSFT", "XOM", "JPM"]


def write_closes(data_dir, out):
    columns = {}
    dates = None
    for s in SYMBOLS:
        with open(Path(data_dir) / f"{s}_data.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        d = [r["date"] for r in rows]
        if dates is None:
            dates = d
        assert d == dates, f"{s}: dates differ"
        assert all(r["close"] for r in rows), f"{s}: missing close"
        columns[s] = [r["close"] for r in rows]
    with open(out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["date"] + SYMBOLS)
        for i, d in enumerate(dates):
            w.writerow([d] + [columns[s][i] for s in SYMBOLS])


def read_closes(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {s: np.array([float(r[s]) for r in rows]) for s in SYMBOLS}


def crossover_signals(close, fast, slow):
    c = pd.Series(close)
    f = c.rolling(fast).mean()
    s = c.rolling(slow).mean()
    above = (f > s).to_numpy()
    below = (f < s).to_numpy()
    prev_above = np.r_[False, above[:-1]]
    prev_below = np.r_[False, below[:-1]]
    valid = (~np.isnan(s.to_numpy())) & np.r_[False, ~np.isnan(s.to_numpy())[:-1]]
    entries = above & ~prev_above & valid
    exits = below & ~prev_below & valid
    return entries, exits


def finite_or_none(x):
    x = float(x)
    return None if math.isnan(x) else x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--cases", type=int, default=160)
    args = ap.parse_args()

    TESTDATA.mkdir(parents=True, exist_ok=True)
    close_csv = TESTDATA / "vectorbt_close.csv"
    write_closes(args.data, close_csv)
    closes = read_closes(close_csv)

    rng = np.random.default_rng(args.seed)
    cases = []
    for k in range(args.cases):
        symbol = SYMBOLS[k % len(SYMBOLS)]
        close = closes[symbol].copy()
        n = len(close)
        fast = int(rng.integers(2, 31))
        slow = int(rng.integers(fast + 2, 121))
        entries, exits = crossover_signals(close, fast, slow)
        if rng.random() < 0.35:
            p = rng.uniform(0.02, 0.10)
            entries = entries | (rng.random(n) < p)
            exits = exits | (rng.random(n) < p)
        nan_bars = []
        if rng.random() < 0.15:
            nan_bars = sorted(int(i) for i in rng.choice(np.arange(1, n - 1), 12, replace=False))
            close[nan_bars] = np.nan
        init_cash = float(rng.choice([100.0, 10_000.0, 1_000_000.0]))
        fees = 0.0 if rng.random() < 0.2 else float(rng.uniform(0, 0.005))
        fixed_fees = 0.0 if rng.random() < 0.4 else float(rng.uniform(0, 5))
        slippage = 0.0 if rng.random() < 0.3 else float(rng.uniform(0, 0.005))
        sl_stop = float(rng.uniform(0.01, 0.15)) if rng.random() < 0.5 else float("nan")

        pf = vbt.Portfolio.from_signals(
            pd.Series(close), pd.Series(entries), pd.Series(exits),
            size=np.inf, size_type="amount", direction="longonly", accumulate=False,
            init_cash=init_cash, fees=fees, fixed_fees=fixed_fees, slippage=slippage,
            sl_stop=sl_stop, freq="1D")
        orders = pf.orders.records_readable
        trades = pf.trades
        closed = trades.closed
        value = pf.value().to_numpy()
        cases.append({
            "symbol": symbol,
            "fast": fast,
            "slow": slow,
            "init_cash": init_cash,
            "fees": fees,
            "fixed_fees": fixed_fees,
            "slippage": slippage,
            "sl_stop": finite_or_none(sl_stop),
            "nan_bars": nan_bars,
            "entries": [int(i) for i in np.flatnonzero(entries)],
            "exits": [int(i) for i in np.flatnonzero(exits)],
            "expected": {
                "final_value": float(pf.final_value()),
                "cash": float(pf.cash().to_numpy()[-1]),
                "position": float(pf.assets().to_numpy()[-1]),
                "orders": int(pf.orders.count()),
                "trades": int(trades.count()),
                "closed_trades": int(closed.count()),
                "total_fees": float(orders["Fees"].sum()) if len(orders) else 0.0,
                "closed_pnl": float(closed.pnl.sum()) if closed.count() else 0.0,
                "equity_sum": float(np.sum(value)),
            },
        })
    out = TESTDATA / "vectorbt_golden.json"
    with open(out, "w") as f:
        json.dump({"vectorbt": vbt.__version__, "seed": args.seed, "cases": cases}, f,
                  separators=(",", ":"))
        f.write("\n")
    n_stop = sum(c["sl_stop"] is not None for c in cases)
    print(f"wrote {out} ({len(cases)} cases, {n_stop} with sl_stop) and {close_csv}")


if __name__ == "__main__":
    main()
