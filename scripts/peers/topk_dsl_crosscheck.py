"""End-to-end cross-check of DSL top-k strategies against pyqlib's own backtest.

A strategy written in Qraft's DSL (selection topk with n_drop, costs fee_bps / tax_bps / min_fee,
hold.min_days, execution next_open, rebalance ND) is run by `qraft backtest STRATEGY --out DIR`,
and the same strategy is run by Qlib (pyqlib 0.9.7, .venv-peers): TopkDropoutStrategy +
SimulatorExecutor + Exchange over Qraft's own Qlib export of the same snapshot, on the SAME
scores (Qraft's `qraft expr eval` of the strategy's canonical score expression, with the same
parameters). Qraft's daily returns (equity_t / equity_{t-1} - 1, from
DIR/candidates/<params_hash>/equity.csv) must equal Qlib's account-based daily returns (report
"account"_t / "account"_{t-1} - 1, after costs, previous = the initial capital on the first day)
within 1e-6 on every day.

  .venv-peers/bin/python scripts/peers/topk_dsl_crosscheck.py [--qraft build/bin/qraft] [--keep DIR]

Data: the bundled S&P 500 sample (data/sample/sp500, 32 symbols, 1259 bars), ingested into a
temporary store as market us_stock and exported with `qraft data export --format qlib`. It has
suspensions (DHR and O lack 16 days: NaN close), which held stocks go through in three cases, and
symbols listed late (no score, no quote before their first bar).

Mapping (src/qraft/engines/backtest.h), everything read from the canonical strategy and the
parameters in result.json, so the Qlib run is configured from what Qraft actually ran:
  * TopkDropoutStrategy(topk, n_drop, hold_thresh = hold.min_days (default 1), risk_degree 0.95,
    method_buy top, method_sell bottom, only_tradable False, forbid_all_trade_at_limit True).
  * Exchange(deal_price = open for next_open (close for close, vwap for vwap), open_cost = fee,
    close_cost = fee + tax, min_cost = min_fee, trade_unit None, limit_threshold None (us: no
    limits; a NaN close = suspended), impact_cost 0); SimulatorExecutor(time_per_step "day",
    trade_type "serial"); account = Qraft's initial capital (1e6); benchmark: a zero series.
  * Signal: the score on rebalance bars only (every_bars N: bars 0, N, 2N, ... of the snapshot's
    calendar, as RebalanceBars does), rows with a NaN score dropped. On a bar whose previous bar
    has no signal row Qlib's get_signal returns None and TopkDropout places no order -- what
    Qraft does with a score that exists only on rebalance bars. Qlib trades bar t on the signal
    of bar t-1, as Qraft does, so the backtest starts at the calendar's second bar (Qraft's bar 0
    never trades: its equity must be the initial capital).
  * Qlib's executor needs the calendar day after the last bar (the end of the last step): the
    script adds calendars/day_future.txt (the export's calendar plus the next weekday), Qlib's
    own future-calendar file, so the last bar is compared too. The features are not touched.
  * The export has no $factor (Qlib then trades in adjusted prices, no lot rounding -- with
    trade_unit None there is none anyway) and no $change (unused without limit_threshold).

Precision: Qlib stores prices as float32, Qraft's snapshot as float64, so the two sides deal and
mark at prices that differ by up to 2^-24 relative; the daily returns then differ by up to ~1e-7
(the criterion: within 1e-6). To show that this is the only difference, every case is run a
second time ("float32 round trip") on a snapshot that Qraft ingests from its own Qlib export, so
both sides read identical prices (and Qraft's scores are computed from them): there the daily
returns must agree within 1e-12 (rounding of sums taken in different orders). An off-by-one day,
a wrong deal price or a cost mapping error shows as >= 1e-5 in both.

Exit status 0 when every case agrees within the tolerance, 1 otherwise (the first failing day of
each failing case is explained: both accounts, fees, turnover and holdings).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
TOL = 1e-6  # the criterion, on the snapshot itself (float64 prices in Qraft)
TOL_ROUND_TRIP = 1e-12  # on the snapshot re-ingested from the Qlib export (identical prices)
RISK_DEGREE = 0.95  # backtest.h: Qlib's risk_degree
# (label, strategy file, parameters). topk_qlib at three combinations (lookback x k; fee 5 bps,
# tax 10 bps, min fee 5, hold 1, n_drop 1, daily), and a weekly-rebalanced one (5D, n_drop 2,
# hold 6 > 5, min fee 50 binding, blended momentum/RSI score).
CASES = [
    ("topk_qlib lookback=5 k=3", "examples/strategies/topk_qlib.yaml", {"lookback": 5, "k": 3}),
    ("topk_qlib lookback=20 k=5", "examples/strategies/topk_qlib.yaml", {"lookback": 20, "k": 5}),
    ("topk_qlib lookback=60 k=8", "examples/strategies/topk_qlib.yaml", {"lookback": 60, "k": 8}),
    ("topk_weekly 5D lookback=10 k=4", "scripts/peers/strategies/topk_weekly.yaml",
     {"lookback": 10, "k": 4}),
]


def sh(*cmd):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"command failed ({r.returncode}): {' '.join(map(str, cmd))}\n{r.stderr}")
    return r.stdout


# ---- Qraft side ------------------------------------------------------------------------------

def prepare(qraft, work):
    store = work / "store"
    sid = sh(qraft, "ingest", ROOT / "data/sample/sp500", "--market", "us_stock", "--store", store,
             "--quiet").strip().splitlines()[-1]
    qdir = work / "qlib"
    sh(qraft, "data", "export", sid, qdir, "--format", "qlib", "--store", store)
    # The same bars as Qlib reads them (float32), for the round-trip run.
    sid_rt = sh(qraft, "ingest", qdir, "--format", "qlib", "--market", "us_stock", "--store",
                store, "--quiet").strip().splitlines()[-1]
    cal = pd.DatetimeIndex(pd.read_csv(qdir / "calendars/day.txt", header=None)[0])
    nxt = cal[-1] + pd.offsets.BDay(1)
    (qdir / "calendars/day_future.txt").write_text(
        "".join(f"{t:%Y-%m-%d}\n" for t in cal.append(pd.DatetimeIndex([nxt]))))
    return store, sid, sid_rt, qdir, cal


def num(v, params, what):
    """A canonical DSL number: a literal or {"param": name}."""
    if v is None:
        return None
    if isinstance(v, dict):
        if set(v) != {"param"}:
            sys.exit(f"{what}: cannot resolve {v}")
        return float(params[v["param"]])
    return float(v)


def run_qraft(qraft, store, sid, strategy, params, out):
    cmd = [qraft, "backtest", ROOT / strategy, "--data", sid, "--store", store, "--out", out,
           "--no-cache", "--threads", "1"]
    for k, v in params.items():
        cmd += ["--params", f"{k}={v}"]
    sh(*cmd)
    res = json.loads((out / "result.json").read_text())
    (r,) = res["results"]
    cand = out / "candidates" / r["params_hash"]
    eq = pd.read_csv(cand / "equity.csv", parse_dates=["time"]).set_index("time")
    trades = pd.read_csv(cand / "trades.csv", parse_dates=["entry_time", "exit_time"])
    return res, r["params"], eq, trades


def qraft_scores(qraft, store, sid, expr, params, out):
    cmd = [qraft, "expr", "eval", f"score={expr}", "--data", sid, "--store", store, "--format",
           "parquet", "--out", out, "--threads", "1"]
    for k, v in params.items():
        cmd += ["--param", f"{k}={v}"]
    sh(*cmd)
    d = pd.read_parquet(out)
    d["datetime"] = pd.to_datetime(d["datetime"])
    return d.pivot(index="datetime", columns="symbol", values="score")


def qlib_settings(spec, params):
    """The Qlib configuration of backtest.h for a canonical top-k strategy; refuses the rest."""
    sel, costs = spec["selection"], spec["costs"]
    if sel["mode"] != "topk" or sel.get("n_drop") is None:
        sys.exit("only selection topk with n_drop (TopkDropout) is cross-checked here")
    if "market" not in spec["universe"]:
        sys.exit(f"universe {spec['universe']} not supported here (a market: every symbol)")
    rb = spec["rebalance"]
    if rb["kind"] != "every_bars":
        sys.exit(f"rebalance {rb} not supported here")
    price = spec["execution"]["price"]
    deal = {"next_open": "open", "close": "close", "vwap": "vwap"}[price]
    fee = (num(costs.get("fee_bps"), params, "fee_bps") or 0.0) / 1e4
    tax = (num(costs.get("tax_bps"), params, "tax_bps") or 0.0) / 1e4
    hold = num(spec.get("hold_min_bars"), params, "hold")
    return dict(topk=int(num(sel["topk"], params, "topk")),
                n_drop=int(num(sel["n_drop"], params, "n_drop")),
                hold_thresh=int(hold) if hold is not None else 1,
                rebalance_bars=int(num(rb["bars"], params, "rebalance")),
                deal_price=deal, open_cost=fee, close_cost=fee + tax,
                min_cost=num(costs.get("min_fee"), params, "min_fee") or 0.0)


# ---- Qlib side -------------------------------------------------------------------------------

def run_qlib(score, cal, opts, init_cash):
    from qlib.backtest import backtest, executor as qexec
    from qlib.contrib.strategy import TopkDropoutStrategy

    score = score.reindex(cal)
    on = (np.arange(len(cal)) % opts["rebalance_bars"]) == 0  # RebalanceBars, every_bars
    sig = score[on].stack().dropna()
    sig.index.names = ["datetime", "instrument"]
    strategy = TopkDropoutStrategy(signal=sig, topk=opts["topk"], n_drop=opts["n_drop"],
                                   hold_thresh=opts["hold_thresh"], risk_degree=RISK_DEGREE,
                                   method_sell="bottom", method_buy="top", only_tradable=False,
                                   forbid_all_trade_at_limit=True)
    executor = qexec.SimulatorExecutor(time_per_step="day", generate_portfolio_metrics=True)
    test_dates = cal[1:]
    portfolio, _ = backtest(
        start_time=test_dates[0], end_time=test_dates[-1], strategy=strategy, executor=executor,
        benchmark=pd.Series(0.0, index=test_dates), account=init_cash,
        exchange_kwargs=dict(freq="day", limit_threshold=None, deal_price=opts["deal_price"],
                             open_cost=opts["open_cost"], close_cost=opts["close_cost"],
                             min_cost=opts["min_cost"], impact_cost=0.0, trade_unit=None))
    report, positions = portfolio["1day"]
    return report, positions


# ---- comparison ------------------------------------------------------------------------------

def holdings_qraft(trades, day):
    held = trades[(trades["entry_time"] <= day) &
                  (trades["exit_time"].isna() | (trades["exit_time"] > day))]
    return sorted(held["symbol"])


def compare(label, eq, trades, report, positions, init_cash, cal, tol):
    problems = []
    if not eq.index.equals(cal):
        problems.append("Qraft's equity.csv bars are not the snapshot's calendar")
    if eq["equity"].iloc[0] != init_cash:
        problems.append(f"bar 0 ({cal[0]:%Y-%m-%d}): Qraft equity {eq['equity'].iloc[0]!r} "
                        f"!= initial capital {init_cash!r} (bar 0 never trades)")
    days = cal[1:]
    if not report.index.equals(days):
        problems.append(f"Qlib's report covers {len(report)} days "
                        f"({report.index[0]:%Y-%m-%d}..{report.index[-1]:%Y-%m-%d}), expected "
                        f"{len(days)} ({days[0]:%Y-%m-%d}..{days[-1]:%Y-%m-%d})")
        report = report.reindex(days)
    q_acc = report["account"].astype(float)
    q_prev = q_acc.shift(1).fillna(init_cash)
    q_ret = q_acc / q_prev - 1
    e = eq["equity"].astype(float)
    r_ret = (e / e.shift(1) - 1).loc[days]
    diff = (r_ret - q_ret).abs()
    if diff.isna().any():
        problems.append(f"{int(diff.isna().sum())} days with a NaN return on one side")
    worst_day = diff.idxmax() if diff.notna().any() else days[0]
    worst = float(diff.max())
    # Diagnostics beyond the criterion: account (relative) and fees (money) per day.
    acc_rel = float(((e.loc[days] - q_acc) / q_acc).abs().max())
    q_fees = report["cost"].astype(float) * q_prev
    fee_diff = float((eq["fees"].loc[days] - q_fees).abs().max())
    trade_days = int((report["turnover"] > 0).sum())
    ok = not problems and worst <= tol
    print(f"{'ok  ' if ok else 'FAIL'} {label}: {len(days)} days compared, worst |daily return "
          f"diff| {worst:.3e} on {worst_day:%Y-%m-%d} (tolerance {tol:g}); trade days "
          f"{trade_days}; final equity Qraft {e.iloc[-1]:.6f} Qlib {q_acc.iloc[-1]:.6f}; "
          f"max account rel diff {acc_rel:.3e}; max fee diff {fee_diff:.3e}")
    for p in problems:
        print(f"     {p}")
    if not ok and diff.notna().any() and worst > tol:
        bad = diff[diff > tol].index[0]
        i = cal.get_loc(bad)
        print(f"     first day beyond the tolerance: {bad:%Y-%m-%d} (bar {i}), "
              f"{int((diff > tol).sum())} such days")
        print(f"       Qraft: equity {e.iloc[i - 1]:.6f} -> {e.iloc[i]:.6f}, "
              f"return {r_ret[bad]:.9f}, fees {eq['fees'].iloc[i]:.6f}, "
              f"turnover {eq['turnover'].iloc[i]:.6f}")
        print(f"       Qlib : account {q_prev[bad]:.6f} -> {q_acc[bad]:.6f}, "
              f"return {q_ret[bad]:.9f}, fees {q_fees[bad]:.6f}, "
              f"turnover {report['turnover'][bad]:.6f}")
        for d in [cal[i - 1], bad]:
            qh = sorted(positions[d].get_stock_list()) if d in positions else None
            print(f"       holdings at the end of {d:%Y-%m-%d}: Qraft {holdings_qraft(trades, d)} "
                  f"Qlib {qh}")
    return ok, len(days), worst


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--qraft", default=str(ROOT / os.environ.get("BUILD", "build") / "bin/qraft"))
    ap.add_argument("--keep", help="work directory to keep (default: a temporary one)")
    a = ap.parse_args()
    if not Path(a.qraft).exists():
        sys.exit(f"{a.qraft} not found (build Qraft first)")
    if a.keep and Path(a.keep).exists() and any(Path(a.keep).iterdir()):
        sys.exit(f"--keep {a.keep}: the directory must be new or empty")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(a.keep) if a.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        store, sid, sid_rt, qdir, cal = prepare(a.qraft, work)

        import logging

        import qlib

        qlib.init(provider_uri=str(qdir), region="us", kernels=1, logging_level=logging.ERROR)
        failed = []
        summary = []
        runs = [("", sid, TOL), (" [float32 round trip]", sid_rt, TOL_ROUND_TRIP)]
        for n, (label, strategy, params) in enumerate(CASES):
            for tag, snap, tol in runs:
                out = work / f"case{n}{'_rt' if tag else ''}"
                res, used, eq, trades = run_qraft(a.qraft, store, snap, strategy, params, out)
                spec = res["strategy"]
                opts = qlib_settings(spec, used)
                init_cash = float(res["initial_capital"])
                score = qraft_scores(a.qraft, store, snap, spec["selection"]["score"], used,
                                     out / "score.parquet")
                report, positions = run_qlib(score, cal, opts, init_cash)
                ok, days, worst = compare(label + tag, eq, trades, report, positions, init_cash,
                                          cal, tol)
                summary.append((label + tag, days, worst, tol, ok))
                if not ok:
                    failed.append(label + tag)
    main_cases = [x for x in summary if x[3] == TOL]
    print(f"qlib: DSL top-k strategies vs Qlib TopkDropout + Exchange ({qlib.__version__}) on "
          f"Qraft's scores, {len(CASES)} cases x {main_cases[0][1]} days: worst daily return "
          f"diff {max(x[2] for x in main_cases):.1e} (tolerance {TOL:g}), "
          f"{max(x[2] for x in summary if x[3] != TOL):.1e} on identical float32 prices "
          f"(tolerance {TOL_ROUND_TRIP:g}); {len(summary) - len(failed)}/{len(summary)} runs ok")
    if failed:
        print("FAILED: " + "; ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    # Qlib's Position.get_stock_list iterates a set of names, so the order in which sells and marks
    # are summed (and the last bits of the report) depends on the string hash seed: fix it.
    os.environ.setdefault("TQDM_DISABLE", "1")  # Qlib's "backtest loop" progress bar
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable, *sys.argv])
    warnings.filterwarnings("ignore", category=RuntimeWarning)  # Qlib: means of empty slices
    sys.exit(main())
