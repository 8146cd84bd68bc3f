#!/usr/bin/env python3
"""Golden values for Qraft's streaming metrics (src/qraft/engines/metrics.h, docs/metrics.md).

    .venv-peers/bin/python scripts/peers/metrics_golden.py [--data DIR] [--out FILE]

Writes src/qraft/engines/testdata/metrics_golden.json: a list of cases, each with its inputs
(per-bar returns, benchmark, turnover, fees, gross exposure, closed trades, options) and the
expected value of every metric (null = NaN). Numbers are written with repr (round-trip exact).
engines_test streams each case through MetricsAccumulator and requires
|a - b| <= 1e-12 * max(|b|, 1e-3) (an absolute floor for values that are 0 or nearly so).

The reference is the definitions of docs/metrics.md written plainly with numpy (two-pass mean
and variance, np.percentile), independent of the C++ code's streaming updates. When
empyrical-reloaded is installed (scripts/peers/requirements.txt), the script also checks that
its sharpe_ratio, sortino_ratio, annual_return, annual_volatility, calmar_ratio, max_drawdown,
tail_ratio, value_at_risk and conditional_value_at_risk agree with the reference (where empyrical
returns ±inf for a zero denominator, the reference returns NaN: docs/metrics.md), and scipy's
skew/kurtosis (bias=True, Fisher) too; Qlib's risk_analysis is reproduced in pandas for the
cross-check vector of reference/qlib/SPEC.md §4.3.

Cases: AAPL and MSFT daily close-to-close returns from the shared S&P 500 sample
(../shared/data/sp500-5yr, 2013-02-08 .. 2018-02-07, complete closes) with SPY-like benchmark
(the equal-weight mean of AAPL, MSFT and JPM returns) and deterministic synthetic turnover, fees,
exposure and trades; edge cases: all zeros, one bar, constant positive, a short hand-made series
with a risk-free rate and 365-day annualisation.
"""
import argparse
import csv
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = (ROOT.parent / "shared" / "data" / "sp500-5yr" / "stock_data" /
                "individual_stocks_5yr")
DEFAULT_OUT = ROOT / "src" / "qraft" / "engines" / "testdata" / "metrics_golden.json"

NAN = float("nan")


def closes(data_dir, symbol):
    with open(Path(data_dir) / f"{symbol}_data.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return np.array([float(r["close"]) for r in rows])


def simple_returns(c):
    return c[1:] / c[:-1] - 1


def finite_or_nan(x):
    return x if math.isfinite(x) else NAN


def percentile(sorted_r, p):
    return float(np.percentile(sorted_r, p))


def reference(case):
    """The docs/metrics.md definitions, two-pass, with numpy."""
    o = case["options"]
    ann = o["periods_per_year"]
    rf = o["risk_free"]
    r = np.array(case["returns"], dtype=float)
    n = len(r)
    bench = case.get("benchmark")
    turnover = np.array(case.get("turnover") or [0.0] * n)
    fees = np.array(case.get("fees") or [0.0] * n)
    expo = np.array(case.get("gross_exposure") or [0.0] * n)
    trades = case.get("trades") or []
    m = {"bars": n}

    m["fees"] = float(np.sum(fees)) if n else 0.0
    m["fees_fraction"] = m["fees"] / o["initial_capital"]
    m["trades"] = len(trades)
    if trades:
        pnl = np.array([t["pnl"] for t in trades])
        ret = np.array([t["ret"] for t in trades])
        hold = np.array([t["holding_bars"] for t in trades], dtype=float)
        gross_loss = -pnl[pnl < 0].sum()
        m["win_rate"] = float((pnl > 0).sum() / len(pnl))
        m["profit_factor"] = float(pnl[pnl > 0].sum() / gross_loss) if gross_loss > 0 else NAN
        m["expectancy"] = float(pnl.mean())
        m["avg_trade_return"] = float(ret.mean())
        m["avg_holding_bars"] = float(hold.mean())
    else:
        for k in ["win_rate", "profit_factor", "expectancy", "avg_trade_return",
                  "avg_holding_bars"]:
            m[k] = NAN
    keys = ["total_return", "annual_return", "volatility", "sharpe", "sortino", "calmar",
            "max_drawdown", "benchmark_return", "excess_return", "information_ratio",
            "turnover", "annual_turnover", "exposure", "avg_gross_exposure", "skew", "kurtosis",
            "var_95", "cvar_95", "tail_ratio"]
    for k in keys:
        m[k] = NAN
    m["max_drawdown_duration"] = 0
    if n == 0:
        return m
    m["turnover"] = float(turnover.mean())
    m["annual_turnover"] = m["turnover"] * ann
    m["exposure"] = float((expo > 0).sum() / n)
    m["avg_gross_exposure"] = float(expo.mean())

    wealth = np.cumprod(1 + r)
    m["total_return"] = float(wealth[-1] - 1)
    m["annual_return"] = float(wealth[-1] ** (ann / n) - 1) if wealth[-1] >= 0 else NAN
    constant = bool(r.max() == r.min())  # identical values: dispersion exactly 0 (no residue)
    sd = (0.0 if constant else float(np.std(r, ddof=1))) if n >= 2 else NAN
    m["volatility"] = sd * math.sqrt(ann)
    excess_mean = float(np.mean(r)) - rf
    m["sharpe"] = finite_or_nan(excess_mean / sd * math.sqrt(ann)) if sd > 0 else NAN
    downside = math.sqrt(float(np.mean(np.minimum(r - rf, 0.0) ** 2)))
    m["sortino"] = (finite_or_nan(excess_mean / downside * math.sqrt(ann))
                    if n >= 2 and downside > 0 else NAN)
    peak = np.maximum.accumulate(np.concatenate([[1.0], wealth]))[1:]
    dd = (wealth - peak) / peak
    m["max_drawdown"] = float(min(0.0, dd.min()))
    longest = run = 0
    for under in wealth < peak:
        run = run + 1 if under else 0
        longest = max(longest, run)
    m["max_drawdown_duration"] = longest
    mdd = m["max_drawdown"]
    m["calmar"] = finite_or_nan(m["annual_return"] / -mdd) if mdd < 0 else NAN

    if bench is not None:
        b = np.array([0.0 if x is None else x for x in bench])
        bw = float(np.cumprod(1 + b)[-1])
        m["benchmark_return"] = bw - 1
        m["excess_return"] = m["annual_return"] - (bw ** (ann / n) - 1 if bw >= 0 else NAN)
        a = r - b
        te = ((0.0 if a.max() == a.min() else float(np.std(a, ddof=1))) if n >= 2 else NAN)
        m["information_ratio"] = (finite_or_nan(float(np.mean(a)) / te * math.sqrt(ann))
                                  if te > 0 else NAN)

    d = r - np.mean(r)
    m2 = 0.0 if constant else float(np.mean(d ** 2))
    if m2 > 0:
        m["skew"] = float(np.mean(d ** 3) / m2 ** 1.5)
        m["kurtosis"] = float(np.mean(d ** 4) / m2 ** 2 - 3)

    s = np.sort(r)
    m["var_95"] = percentile(s, 5)
    m["tail_ratio"] = (finite_or_nan(abs(percentile(s, 95)) / abs(m["var_95"]))
                       if m["var_95"] != 0 else NAN)
    k = int((n - 1) * 0.05) + 1
    m["cvar_95"] = float(np.mean(s[:k]))
    return m


def qlib_risk(r, mode, n_ann=238):
    """qlib/contrib/evaluate.py::risk_analysis, verbatim in pandas."""
    r = pd.Series(r)
    if mode == "sum":
        mean = r.mean()
        std = r.std(ddof=1)
        annualized_return = mean * n_ann
        max_drawdown = (r.cumsum() - r.cumsum().cummax()).min()
    else:
        cumulative_curve = (1 + r).cumprod()
        mean = cumulative_curve.iloc[-1] ** (1 / len(r)) - 1
        std = np.log(1 + r).std(ddof=1)
        cumulative_return = cumulative_curve.iloc[-1] - 1
        annualized_return = (1 + cumulative_return) ** (n_ann / len(r)) - 1
        max_drawdown = (cumulative_curve / cumulative_curve.cummax() - 1).min()
    information_ratio = mean / std * np.sqrt(n_ann)
    return {"mean": float(mean), "std": float(std), "annualized_return": float(annualized_return),
            "information_ratio": float(information_ratio), "max_drawdown": float(max_drawdown)}


def cross_check(case, m):
    """Agreement with empyrical-reloaded and scipy, when installed (not written to the file)."""
    try:
        import empyrical as ep
        from scipy import stats
    except ImportError:
        print("  (empyrical-reloaded / scipy not installed: cross-check skipped)")
        return
    r = np.array(case["returns"], dtype=float)
    o = case["options"]
    ann = o["periods_per_year"]
    if len(r) == 0:
        return
    theirs = {
        "annual_return": ep.annual_return(r, annualization=ann),
        "volatility": ep.annual_volatility(r, annualization=ann),
        "sharpe": ep.sharpe_ratio(r, risk_free=o["risk_free"], annualization=ann),
        "sortino": ep.sortino_ratio(r, required_return=o["risk_free"], annualization=ann),
        "calmar": ep.calmar_ratio(r, annualization=ann),
        "max_drawdown": ep.max_drawdown(r),
        "tail_ratio": ep.tail_ratio(r),
        "var_95": ep.value_at_risk(r),
        "cvar_95": ep.conditional_value_at_risk(r),
        "total_return": ep.cum_returns_final(r),
    }
    if len(r) >= 2:
        theirs["skew"] = stats.skew(r)
        theirs["kurtosis"] = stats.kurtosis(r)
    for key, value in theirs.items():
        value = float(value)
        mine = m[key]
        if not math.isfinite(value):
            assert not math.isfinite(mine), (case["name"], key, mine, value)
            continue
        if not math.isfinite(mine):
            print(f"  {key}: reference NaN, empyrical/scipy {value!r} (documented difference)")
            continue
        assert abs(mine - value) <= 1e-12 * max(abs(value), 1e-3), (case["name"], key, mine, value)
    print(f"  empyrical/scipy agree on {len(theirs)} metrics")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()

    aapl, msft, jpm = (simple_returns(closes(args.data, s)) for s in ("AAPL", "MSFT", "JPM"))
    n = len(aapl)
    assert len(msft) == n and len(jpm) == n
    bench = (aapl + msft + jpm) / 3
    t = np.arange(n)
    # Deterministic synthetic engine outputs: a strategy flat one bar in seven.
    expo = np.where(t % 7 == 3, 0.0, 1.0 + 0.25 * np.sin(t / 10.0))
    turnover = np.abs(np.diff(np.concatenate([[0.0], expo])))
    fees = turnover * 100_000 * 0.0005
    trades = [{"pnl": float(round(1000 * math.sin(1.7 * i + 0.3), 2)),
               "ret": float(round(0.05 * math.sin(1.7 * i + 0.3), 6)),
               "holding_bars": int(1 + (i * 7) % 23)} for i in range(40)]
    daily = {"periods_per_year": 252.0, "risk_free": 0.0, "initial_capital": 100_000.0}

    cases = [
        {"name": "aapl_vs_mean3", "options": daily, "returns": aapl.tolist(),
         "benchmark": bench.tolist(), "turnover": turnover.tolist(), "fees": fees.tolist(),
         "gross_exposure": expo.tolist(), "trades": trades},
        {"name": "msft_qlib238_rf", "returns": msft.tolist(), "benchmark": aapl.tolist(),
         "options": {"periods_per_year": 238.0, "risk_free": 0.0001, "initial_capital": 1.0}},
        {"name": "half_aapl_half_jpm_minute", "returns": (0.5 * aapl + 0.5 * jpm).tolist(),
         "options": {"periods_per_year": 240.0 * 252, "risk_free": 0.0, "initial_capital": 1.0}},
        {"name": "all_zeros", "options": daily, "returns": [0.0] * 50, "benchmark": [0.0] * 50},
        {"name": "one_bar", "options": daily, "returns": [0.01], "benchmark": [0.002],
         "trades": [{"pnl": -5.0, "ret": -0.01, "holding_bars": 3}]},
        {"name": "constant_positive", "options": daily, "returns": [0.001] * 30},
        {"name": "hand_made_365", "returns": [0.01, -0.02, 0.015, 0.005, -0.01, 0.003, 0.0,
                                              0.012, -0.03, 0.02, 0.01, -0.004],
         "benchmark": [0.002, None, 0.01, -0.003, 0.0, 0.001, 0.004, None, -0.01, 0.005, 0.0,
                       0.001],
         "options": {"periods_per_year": 365.0, "risk_free": 0.0002, "initial_capital": 1.0},
         "trades": [{"pnl": 10.0, "ret": 0.1, "holding_bars": 2},
                    {"pnl": 0.0, "ret": 0.0, "holding_bars": 1},
                    {"pnl": 30.0, "ret": 0.2, "holding_bars": 5}]},
    ]
    for case in cases:
        print(case["name"])
        case["expected"] = reference(case)
        cross_check(case, case["expected"])

    spec_r = [0.01, -0.02, 0.015, 0.005, -0.01, 0.003, 0.0, 0.012]
    qlib = [{"name": f"spec_4_3_{mode}", "mode": mode, "periods_per_year": 238.0,
             "returns": spec_r, "expected": qlib_risk(spec_r, mode)} for mode in ("sum", "product")]
    qlib += [{"name": f"msft_{mode}", "mode": mode, "periods_per_year": 238.0,
              "returns": (msft - aapl).tolist(), "expected": qlib_risk(msft - aapl, mode)}
             for mode in ("sum", "product")]

    def clean(x):
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list):
            return [clean(v) for v in x]
        return x

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w") as f:
        json.dump(clean({"generator": "scripts/peers/metrics_golden.py",
                         "numpy": np.__version__, "pandas": pd.__version__,
                         "metrics": cases, "qlib_risk_analysis": qlib}), f)
        f.write("\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
