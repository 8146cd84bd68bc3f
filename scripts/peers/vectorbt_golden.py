#!/usr/bin/env python3
"""Golden values for Qraft's per-symbol signal simulator (src/qraft/engines/signal_sim.h).

How to regenerate (from the repository root; vectorbt 1.2.0 is in .venv-peers):

    .venv-peers/bin/python scripts/peers/vectorbt_golden.py [--data DIR] [--seed N] [--cases N]
        [--ext-seed N] [--ext-cases N] [--ext-symbols N] [--only {all,base,ext}]

Both sets are seeded, so a rerun with the same vectorbt writes the same bytes. Then rebuild and
run `engines_test --gtest_filter='SignalSim*'`. Four files under src/qraft/engines/testdata/:

Base set (the original 160 cases: long-only, sl_stop; --seed, --cases):
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

Extended set (shorts, take profit, trailing stops, trade records; --ext-seed, --ext-cases):
  * vectorbt_close_ext.csv: the closes of --ext-symbols symbols drawn at random (seeded) from the
    sample's symbols with a complete history (all 1,259 bars, same dates, no blank close),
    copied verbatim as above;
  * vectorbt_golden_ext.json: {"vectorbt", "seed", "trade_fields", "cases"}. A case holds
    symbol, mode, signal kind, init_cash, fees, fixed_fees, slippage, sl_stop, tsl_stop,
    tp_stop (null = off), nan_bars, and the True bars of entries, exits, short_entries and
    short_exits; "expected" holds final_value, cash, position, orders, trades, closed_trades,
    total_fees, equity_sum and "trades": vectorbt's exit-trade records (pf.trades.values, in
    record order), one array per record with the fields named by trade_fields:
    direction (0 long, 1 short), status (0 open, 1 closed), entry_idx, exit_idx (the last bar
    for an open trade), size, entry_price, entry_fees, exit_price, exit_fees, pnl, return,
    reason. `reason` is not a vectorbt field (1.2.0 does not record why an order was made): the
    script labels each closed record from the closes and the case's stops, by the rule
    signal_sim.h states (stops are checked before signals, stop loss, then trailing stop, then
    take profit: the first whose level the exit bar's close reaches names it, otherwise
    "signal"; open records are "end").

  Modes (Qraft's SignalDirection; vectorbt call):
    longonly / shortonly / both: from_signals(close, entries, exits, direction=mode);
    ls: from_signals(close, entries, exits, short_entries=..., short_exits=...) (Qraft:
        direction both with short signals; vectorbt ignores `direction` then).
  Every other option at its 1.2.0 default: size=np.inf, size_type='amount', accumulate=False,
  upon_long_conflict = upon_short_conflict = upon_dir_conflict = 'ignore',
  upon_opposite_entry = 'reversereduce', stop_entry_price = 'close', stop_exit_price =
  'stoplimit', upon_stop_exit = 'close', price = close, no open/high/low.
  Signals (kind): "ma" (crossover of two random simple moving averages: up-cross = long entry or
  short exit, down-cross = long exit or short entry), "random" (each bar True with probability
  1-4%), "ma+random" (both OR-ed), "sparse" (probability 0.2-0.6%) and "hold" (one entry in
  the first fifth, exits with probability 0.1%): long holding periods, so that shorts held
  through a rally end in partial covers (cash runs out before the whole short is bought back). Stops, each set drawn from none, sl, tsl, tp,
  sl+tp, tsl+tp, sl+tsl, sl+tsl+tp: sl_stop and tsl_stop in [1%, 15%], tp_stop in [2%, 30%].
  vectorbt: sl -> sl_stop; tsl -> sl_stop with sl_trail=True; tp -> tp_stop; sl+tsl (one stop
  in vectorbt) -> sl_stop=tsl, sl_trail=True and adjust_sl_func_nb = sl_and_tsl_nb below, which
  moves the trailing stop each bar so that its level is the tighter of the fixed level
  init_price (1 -/+ sl) and the trailing level (1 -/+ tsl) x best price; the levels then agree
  with Qraft's to a few ulps (a tie at that precision could flip a stop; none occurs).
  The last ext_cases / 16 cases are stress cases: a short only (mode shortonly, or ls without
  long signals), kind "hold", on one of the two symbols whose close rose most over the sample,
  no stop (or, in a quarter of them, a take profit only).
  Costs as in the base set; about 10% of the cases have 12 NaN closes (never the first or last
  bar).
"""
import argparse
import csv
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import vectorbt as vbt

# The goldens were generated by vectorbt's numba engine; pin it, so that installing the optional
# Rust engine (vectorbt-rust, used by the benchmarks) cannot change a last bit here.
vbt.settings["engine"] = "numba"
from numba import njit

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = (ROOT.parent / "shared" / "data" / "sp500-5yr" / "stock_data" /
                "individual_stocks_5yr")
TESTDATA = ROOT / "src" / "qraft" / "engines" / "testdata"
SYMBOLS = ["AAPL", "MSFT", "XOM", "JPM"]


def write_closes(data_dir, out, symbols=SYMBOLS):
    columns = {}
    dates = None
    for s in symbols:
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
        w.writerow(["date"] + symbols)
        for i, d in enumerate(dates):
            w.writerow([d] + [columns[s][i] for s in symbols])


def read_closes(path, symbols=SYMBOLS):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {s: np.array([float(r[s]) for r in rows]) for s in symbols}


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


def base_cases(args):
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


# ---- extended set ---------------------------------------------------------------------------

MODES = ["longonly", "shortonly", "both", "ls"]
MODE_P = [0.2, 0.25, 0.2, 0.35]
SIGNAL_KINDS = ["ma", "random", "ma+random", "sparse", "hold"]
SIGNAL_P = [0.4, 0.2, 0.2, 0.1, 0.1]
STOP_SETS = [(), ("sl",), ("tsl",), ("tp",), ("sl", "tp"), ("tsl", "tp"), ("sl", "tsl"),
             ("sl", "tsl", "tp")]
STOP_P = [0.12, 0.14, 0.14, 0.12, 0.12, 0.12, 0.12, 0.12]
TRADE_FIELDS = ["direction", "status", "entry_idx", "exit_idx", "size", "entry_price",
                "entry_fees", "exit_price", "exit_fees", "pnl", "return", "reason"]


@njit
def sl_and_tsl_nb(c, sl, tsl):
    """adjust_sl_func_nb: a fixed stop loss and a trailing stop at once (see the docstring)."""
    if np.isnan(c.curr_stop):  # flat: no stop
        return c.curr_stop, c.curr_trail
    if c.position_now > 0:
        level = max(c.init_price * (1 - sl), c.curr_price * (1 - tsl))
        return 1 - level / c.curr_price, True
    if c.position_now < 0:
        level = min(c.init_price * (1 + sl), c.curr_price * (1 + tsl))
        return level / c.curr_price - 1, True
    return c.curr_stop, c.curr_trail


def complete_symbols(data_dir):
    """Symbols whose file has every date of AAPL's and no blank close, sorted."""
    data_dir = Path(data_dir)
    with open(data_dir / "AAPL_data.csv", newline="") as f:
        dates = [r["date"] for r in csv.DictReader(f)]
    out = []
    for path in sorted(data_dir.glob("*_data.csv")):
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        if [r["date"] for r in rows] == dates and all(r["close"] for r in rows):
            out.append(path.name[:-len("_data.csv")])
    return out


def random_pair(rng, close, kind, up_first):
    """(a, b): for "ma", a = up-crosses and b = down-crosses if up_first, else swapped."""
    n = len(close)
    a = np.zeros(n, dtype=bool)
    b = np.zeros(n, dtype=bool)
    if kind in ("ma", "ma+random"):
        fast = int(rng.integers(2, 31))
        slow = int(rng.integers(fast + 2, 121))
        up, down = crossover_signals(close, fast, slow)
        a, b = (up, down) if up_first else (down, up)
    if kind in ("random", "ma+random"):
        p = rng.uniform(0.01, 0.04)
        a = a | (rng.random(n) < p)
        b = b | (rng.random(n) < p)
    if kind == "sparse":
        p = rng.uniform(0.002, 0.006)
        a = rng.random(n) < p
        b = rng.random(n) < p
    if kind == "hold":  # one early entry, (almost) never an exit
        a[int(rng.integers(0, n // 5))] = True
        b = rng.random(n) < 0.001
    return a, b


def stop_reason(close, rec, sl, tsl, tp):
    """Why a closed exit-trade record closed, by signal_sim.h's rule (see the docstring)."""
    e, t = int(rec["entry_idx"]), int(rec["exit_idx"])
    p, init = close[t], close[e]
    window = close[e:t]
    if rec["direction"] == 0:
        best = np.nanmax(window)
        if sl is not None and p <= init * (1 - sl):
            return "stop_loss"
        if tsl is not None and p <= best * (1 - tsl):
            return "trailing_stop"
        if tp is not None and p >= init * (1 + tp):
            return "take_profit"
    else:
        best = np.nanmin(window)
        if sl is not None and p >= init * (1 + sl):
            return "stop_loss"
        if tsl is not None and p >= best * (1 + tsl):
            return "trailing_stop"
        if tp is not None and p <= init * (1 - tp):
            return "take_profit"
    return "signal"


def ext_case(rng, symbols, closes, stress=False):
    """One random case; `stress`: a short held through the sample's strongest rallies."""
    if stress:
        risers = sorted(symbols, key=lambda s: closes[s][-1] / closes[s][0])[-2:]
        symbol = risers[int(rng.integers(2))]
        mode = str(rng.choice(["shortonly", "ls"]))
        kind = "hold"
    else:
        symbol = symbols[int(rng.integers(len(symbols)))]
        mode = str(rng.choice(MODES, p=MODE_P))
        kind = str(rng.choice(SIGNAL_KINDS, p=SIGNAL_P))
    close = closes[symbol].copy()
    n = len(close)
    none = np.zeros(n, dtype=bool)
    # Long entries are up-crosses; short entries are down-crosses.
    if mode == "longonly":
        entries, exits = random_pair(rng, close, kind, True)
        short_entries, short_exits = none, none
    elif mode == "shortonly":
        entries, exits = random_pair(rng, close, kind, False)
        short_entries, short_exits = none, none
    elif mode == "both":  # exits act as short entries
        entries, exits = random_pair(rng, close, kind, True)
        short_entries, short_exits = none, none
    else:
        entries, exits = random_pair(rng, close, kind, True)
        short_entries, short_exits = random_pair(rng, close, kind, False)
        if stress:
            entries, exits = none, none
    nan_bars = []
    if rng.random() < 0.10:
        nan_bars = sorted(int(i) for i in rng.choice(np.arange(1, n - 1), 12, replace=False))
        close[nan_bars] = np.nan
    init_cash = float(rng.choice([100.0, 10_000.0, 1_000_000.0]))
    fees = 0.0 if rng.random() < 0.2 else float(rng.uniform(0, 0.005))
    fixed_fees = 0.0 if rng.random() < 0.4 else float(rng.uniform(0, 5))
    slippage = 0.0 if rng.random() < 0.3 else float(rng.uniform(0, 0.005))
    stops = STOP_SETS[int(rng.choice(len(STOP_SETS), p=STOP_P))]
    if stress:
        stops = ("tp",) if rng.random() < 0.25 else ()
    sl = float(rng.uniform(0.01, 0.15)) if "sl" in stops else None
    tsl = float(rng.uniform(0.01, 0.15)) if "tsl" in stops else None
    tp = float(rng.uniform(0.02, 0.30)) if "tp" in stops else None

    kw = dict(size=np.inf, size_type="amount", accumulate=False, init_cash=init_cash,
              fees=fees, fixed_fees=fixed_fees, slippage=slippage, freq="1D")
    if mode == "ls":
        kw.update(short_entries=pd.Series(short_entries), short_exits=pd.Series(short_exits))
    else:
        kw["direction"] = mode
    if sl is not None and tsl is not None:
        kw.update(sl_stop=tsl, sl_trail=True, adjust_sl_func_nb=sl_and_tsl_nb,
                  adjust_sl_args=(sl, tsl))
    elif sl is not None:
        kw["sl_stop"] = sl
    elif tsl is not None:
        kw.update(sl_stop=tsl, sl_trail=True)
    if tp is not None:
        kw["tp_stop"] = tp
    pf = vbt.Portfolio.from_signals(pd.Series(close), pd.Series(entries), pd.Series(exits),
                                    **kw)

    records = pf.trades.values
    trades = []
    for rec in records:
        closed = int(rec["status"]) == 1
        trades.append([
            int(rec["direction"]), int(rec["status"]), int(rec["entry_idx"]),
            int(rec["exit_idx"]), float(rec["size"]), float(rec["entry_price"]),
            float(rec["entry_fees"]), float(rec["exit_price"]), float(rec["exit_fees"]),
            float(rec["pnl"]), float(rec["return"]),
            stop_reason(close, rec, sl, tsl, tp) if closed else "end"])
    fees_col = pf.orders.values["fees"]
    return {
        "symbol": symbol,
        "mode": mode,
        "signals": kind,
        "init_cash": init_cash,
        "fees": fees,
        "fixed_fees": fixed_fees,
        "slippage": slippage,
        "sl_stop": sl,
        "tsl_stop": tsl,
        "tp_stop": tp,
        "nan_bars": nan_bars,
        "entries": [int(i) for i in np.flatnonzero(entries)],
        "exits": [int(i) for i in np.flatnonzero(exits)],
        "short_entries": [int(i) for i in np.flatnonzero(short_entries)],
        "short_exits": [int(i) for i in np.flatnonzero(short_exits)],
        "expected": {
            "final_value": float(pf.final_value()),
            "cash": float(pf.cash().to_numpy()[-1]),
            "position": float(pf.assets().to_numpy()[-1]),
            "orders": int(pf.orders.count()),
            "trades": int(pf.trades.count()),
            "closed_trades": int(pf.trades.closed.count()),
            "total_fees": float(fees_col.sum()) if len(fees_col) else 0.0,
            "equity_sum": float(np.sum(pf.value().to_numpy())),
            "trades_records": trades,
        },
    }


def ext_cases(args):
    symbols_all = complete_symbols(args.data)
    pick = np.random.default_rng(args.ext_seed)
    symbols = sorted(str(s) for s in pick.choice(symbols_all, args.ext_symbols, replace=False))
    close_csv = TESTDATA / "vectorbt_close_ext.csv"
    write_closes(args.data, close_csv, symbols)
    closes = read_closes(close_csv, symbols)

    rng = np.random.default_rng(args.ext_seed + 1)
    n_stress = args.ext_cases // 16
    cases = [ext_case(rng, symbols, closes, stress=k >= args.ext_cases - n_stress)
             for k in range(args.ext_cases)]
    out = TESTDATA / "vectorbt_golden_ext.json"
    with open(out, "w") as f:
        json.dump({"vectorbt": vbt.__version__, "seed": args.ext_seed,
                   "trade_fields": TRADE_FIELDS, "cases": cases}, f, separators=(",", ":"))
        f.write("\n")

    # What the set exercises.
    recs = [r for c in cases for r in c["expected"]["trades_records"]]
    reasons = {}
    for r in recs:
        reasons[r[-1]] = reasons.get(r[-1], 0) + 1
    by_mode = {m: sum(c["mode"] == m for c in cases) for m in MODES}
    partial = 0  # closed records followed by another record of the same trade (a partial exit)
    for c in cases:
        rs = c["expected"]["trades_records"]
        partial += sum(1 for a, b in zip(rs, rs[1:]) if a[1] == 1 and b[2] == a[2] and b[0] == a[0])
    reversals = sum(1 for c in cases for a, b in zip(c["expected"]["trades_records"],
                                                      c["expected"]["trades_records"][1:])
                    if a[1] == 1 and b[2] == a[3] and b[0] != a[0])
    print(f"wrote {out} ({len(cases)} cases {by_mode}; {len(recs)} trade records: "
          f"{sum(r[0] == 1 for r in recs)} short, {partial} partial exits, {reversals} reversals; "
          f"reasons {reasons}) and {close_csv} ({', '.join(symbols)})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--cases", type=int, default=160)
    ap.add_argument("--ext-seed", type=int, default=20261123)
    ap.add_argument("--ext-cases", type=int, default=128)
    ap.add_argument("--ext-symbols", type=int, default=16)
    ap.add_argument("--only", choices=["all", "base", "ext"], default="all")
    args = ap.parse_args()

    TESTDATA.mkdir(parents=True, exist_ok=True)
    if args.only in ("all", "base"):
        base_cases(args)
    if args.only in ("all", "ext"):
        ext_cases(args)


if __name__ == "__main__":
    main()
