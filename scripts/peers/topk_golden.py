"""Golden case for Qraft's TopkDropout portfolio simulator (src/qraft/engines/portfolio_sim.h).

Runs Qlib's own TopkDropoutStrategy + SimulatorExecutor + Exchange (pyqlib 0.9.7, .venv-peers) on a
small universe taken from the bundled S&P 500 sample and writes the inputs and Qlib's daily report
to src/qraft/engines/testdata/topk_golden.json.

  .venv-peers/bin/python scripts/peers/topk_golden.py

Data: 12 symbols of data/sample/sp500, 100 trading days (2015-03-02 on) after a 21-day warm-up.
Closes are rounded to multiples of 1/64, so Qlib's float32 storage holds them exactly; $factor = 1;
$change = close / previous close - 1 (float32, as Qlib stores it). Suspensions (close NaN): the
sample's own gaps, plus a stock the strategy holds suspended for 2 days at test bar 40 and 1 day at
bar 70 (found by a first Qlib run without them). Score = 20-day momentum close_t / close_{t-20} - 1 (float64, rows with NaN dropped).
Exchange: deal price $close, open_cost 0.0005, close_cost 0.0015, min_cost 5, trade_unit 100,
limit_threshold 0.03 (lower than the cn 0.095 so that limit days occur), account 1e6.
Strategy: topk 5, n_drop 1, hold_thresh 1, risk_degree 0.95. Two more cases (CASES) vary the
options: only_tradable with direction-specific limits, hold_thresh 3 and no trade unit; and a small
account (20000, risk_degree 1) where lot rounding, min_cost and the cash limit bind.
The limit flags written are the ones Qlib's Exchange computed (quote_df limit_buy / limit_sell).
"""

import gzip
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "src/qraft/engines/testdata/topk_golden.json"
SYMBOLS = ["AAPL", "AMD", "AMZN", "BAC", "BAX", "CSCO", "DHR", "EBAY", "INTC", "JNJ", "JPM", "KO"]
WARMUP = 21
DAYS = 100
START = "2015-03-02"
OPTIONS = dict(topk=5, n_drop=1, hold_thresh=1, risk_degree=0.95, open_cost=0.0005,
               close_cost=0.0015, min_cost=5.0, trade_unit=100, limit_threshold=0.03,
               init_cash=1e6, only_tradable=False, forbid_all_trade_at_limit=True)
# The first case drives the suspension probe; the others vary the options on the same data.
CASES = {
    "benchmark_costs": OPTIONS,
    "only_tradable_directional_limits": dict(OPTIONS, n_drop=2, hold_thresh=3, risk_degree=0.9,
                                             trade_unit=None, only_tradable=True,
                                             forbid_all_trade_at_limit=False),
    "small_account_min_cost": dict(OPTIONS, topk=3, init_cash=20000.0, risk_degree=1.0,
                                   open_cost=0.0015, close_cost=0.0025),
}
SUSPEND_BARS = [(40, 2), (70, 1)]  # (bar index within the test window, days): a held stock is suspended


def load():
    frames = {}
    avail = sorted(p.name.split("_")[0] for p in (ROOT / "data/sample/sp500").glob("*_data.csv.gz"))
    syms = [s for s in SYMBOLS if s in avail]
    for s in syms:
        with gzip.open(ROOT / f"data/sample/sp500/{s}_data.csv.gz", "rt") as f:
            df = pd.read_csv(f, parse_dates=["date"]).set_index("date")
        frames[s] = df
    close = pd.DataFrame({s: frames[s]["close"] for s in syms}).sort_index()
    volume = pd.DataFrame({s: frames[s]["volume"] for s in syms}).sort_index()
    i0 = close.index.searchsorted(pd.Timestamp(START))
    close = close.iloc[i0 - WARMUP: i0 + DAYS + 1]  # + 1: Qlib needs a calendar day after the end
    volume = volume.loc[close.index]
    close = (close * 64).round() / 64
    return close, volume


def write_qlib(dirname, close, volume, change):
    d = Path(dirname)
    (d / "calendars").mkdir(parents=True)
    (d / "instruments").mkdir()
    dates = [t.strftime("%Y-%m-%d") for t in close.index]
    (d / "calendars/day.txt").write_text("\n".join(dates) + "\n")
    (d / "instruments/all.txt").write_text(
        "".join(f"{s.lower()}\t{dates[0]}\t{dates[-1]}\n" for s in close.columns))
    for s in close.columns:
        fd = d / "features" / s.lower()
        fd.mkdir(parents=True)
        fields = {"close": close[s], "open": close[s], "volume": volume[s], "factor": close[s] * 0 + 1,
                  "change": change[s]}
        fields["factor"] = pd.Series(1.0, index=close.index)
        for name, ser in fields.items():
            arr = np.concatenate([[0.0], ser.to_numpy(dtype=np.float64)]).astype("<f4")
            arr.tofile(fd / f"{name}.day.bin")


def main():
    close, volume = load()
    # First pass without suspensions, to suspend stocks that the strategy holds at SUSPEND_BARS
    # (in a fresh process: Qlib keeps caches across qlib.init calls).
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        held_at = pool.apply(probe, (close, volume))
    syms = [c.lower() for c in close.columns]
    for k, days in SUSPEND_BARS:
        for j in range(days):
            close.iloc[WARMUP + k + j, syms.index(held_at[k][0])] = np.nan
    change = (close / close.ffill().shift(1) - 1).astype(np.float32).astype(np.float64)
    with tempfile.TemporaryDirectory() as tmp:
        write_qlib(tmp, close, volume, change)
        import qlib

        qlib.init(provider_uri=tmp, region="us", kernels=1)
        results = {name: run(close, opts) for name, opts in CASES.items()}
    write(close, change, results)


def probe(close, volume):
    change = (close / close.ffill().shift(1) - 1).astype(np.float32).astype(np.float64)
    with tempfile.TemporaryDirectory() as tmp:
        write_qlib(tmp, close, volume, change)
        import qlib

        qlib.init(provider_uri=tmp, region="us", kernels=1)
        _, _, positions = run(close, OPTIONS)
    return {k: sorted(positions[close.index[WARMUP + k - 1]].get_stock_list())
            for k, _ in SUSPEND_BARS}


def run(close, opts):
    from qlib.backtest import backtest, executor as qexec
    from qlib.contrib.strategy import TopkDropoutStrategy

    score = close / close.shift(20) - 1
    test_dates = close.index[WARMUP:-1]
    sig = score.iloc[WARMUP - 1:].copy()
    sig.columns = [c.lower() for c in sig.columns]
    sig = sig.stack().dropna()
    sig.index.names = ["datetime", "instrument"]
    strategy = TopkDropoutStrategy(signal=sig, topk=opts["topk"], n_drop=opts["n_drop"],
                                   hold_thresh=opts["hold_thresh"],
                                   risk_degree=opts["risk_degree"],
                                   only_tradable=opts["only_tradable"],
                                   forbid_all_trade_at_limit=opts["forbid_all_trade_at_limit"])
    executor = qexec.SimulatorExecutor(time_per_step="day", generate_portfolio_metrics=True)
    bench = pd.Series(0.0, index=test_dates)
    portfolio, _ = backtest(
        start_time=test_dates[0], end_time=test_dates[-1], strategy=strategy, executor=executor,
        benchmark=bench, account=opts["init_cash"],
        exchange_kwargs=dict(freq="day", limit_threshold=opts["limit_threshold"],
                             deal_price="close", open_cost=opts["open_cost"],
                             close_cost=opts["close_cost"], min_cost=opts["min_cost"],
                             trade_unit=opts["trade_unit"]))
    report, positions = portfolio["1day"]
    return report.reindex(test_dates), strategy.trade_exchange.quote_df, positions


def write(close, change, results):
    import qlib

    score = close / close.shift(20) - 1
    syms = [c.lower() for c in close.columns]
    q = results["benchmark_costs"][1]
    lb = q["limit_buy"].unstack("instrument").reindex(index=close.index, columns=syms)
    ls = q["limit_sell"].unstack("instrument").reindex(index=close.index, columns=syms)
    # Qraft's inputs: bars of the test window plus the one before it (whose score drives day 0).
    idx = close.index[WARMUP - 1:-1]

    def col(df):
        return [[None if np.isnan(x) else float(x) for x in df[s].to_numpy(dtype=np.float64)]
                for s in df.columns]

    cols = ["account", "return", "cost", "turnover", "cash", "value"]
    golden = {
        "source": "qlib " + qlib.__version__ + " TopkDropoutStrategy + SimulatorExecutor + Exchange",
        "symbols": syms,
        "dates": [t.strftime("%Y-%m-%d") for t in idx],
        "first_trade_bar": 1,
        "score": col(score.loc[idx]),
        "close": col(close.loc[idx]),
        "change": col(change.loc[idx]),
        "limit_buy": [[bool(x) for x in lb.loc[idx, s].fillna(True)] for s in syms],
        "limit_sell": [[bool(x) for x in ls.loc[idx, s].fillna(True)] for s in syms],
        "cases": [{"name": name, "options": CASES[name],
                   "report": {k: [float(x) for x in rep[k]] for k in cols}}
                  for name, (rep, _, _) in results.items()],
    }
    OUT.write_text(json.dumps(golden, indent=None, separators=(",", ":")) + "\n")
    for name, (rep, _, _) in results.items():
        print(name, "trade days", int((rep["turnover"] > 0).sum()), "final account",
              rep["account"].iloc[-1], "total cost", rep["cost"].sum())
    print("limit days:", int(lb.loc[idx].sum().sum()), int(ls.loc[idx].sum().sum()))


if __name__ == "__main__":
    # Qlib's Position.get_stock_list iterates a set of names, so the order in which sells and marks
    # are summed (and the last bits of the report) depends on the string hash seed: fix it.
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable, *sys.argv])
    main()
