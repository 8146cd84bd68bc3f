"""Side-by-side timings of Qraft's expression engine and indicator kernels against peers (issue 3).

Prints one JSON object per benchmark (appended to peers.jsonl by bench/run.sh; bench/report.py
writes the tables). Every peer runs in a fresh Python process of its own: pyqlib and TA-Lib from
.venv-peers (scripts/peers/requirements.txt), Polars from .venv. Two passes in opposite orders,
each contender's best kept, as in bench/peers.py.

  alpha158   the 158 Alpha158 factors over sp500-5yr, Qlib semantics: Qraft in process
             (bench/expr_bench: load + compile + evaluate, all outputs materialised) and end to
             end (`qraft expr eval`, 158 NAME=EXPR arguments, one table row printed) vs pyqlib's
             own expression engine (D.features over all instruments on the `qraft data export
             --format qlib` directory, expression and dataset caches off, its in-memory feature
             cache cleared before every timed call). Values checked on a few symbols.
  subset20   20 Alpha158 factors, Qraft native semantics vs the same factors written as a Polars
             lazy query on the snapshot's long-format bars (rolling_* with Polars' defaults,
             i.e. a full window required, .over("symbol")). Values checked on a few symbols.
  ta         20 TA-Lib functions on one 10,000,000-bar OHLCV series (bench/ta_bench writes the
             file, TA-Lib reads the same bytes): Qraft's kernels vs TA-Lib C through `ta-lib`.
  memory     Alpha158 (Qlib semantics) on the 5,000 x 5,000 synthetic snapshot, outputs streamed
             to a checksum sink: peak RSS and time (Qraft alone).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALPHA158_TSV = ROOT / "src/qraft/expr/testdata/qlib/alpha158.tsv"
PEERS_PY = ROOT / ".venv-peers/bin/python"
MAIN_PY = ROOT / ".venv/bin/python"

# The symbols whose values are compared: a full history, a late listing (2015-07-06), and one with
# gaps inside its history and blank opens (DHR; Qlib check only, see subset20 below).
QLIB_CHECK_SYMBOLS = ["AAPL", "KHC", "DHR"]
POLARS_CHECK_SYMBOLS = ["AAPL", "MSFT", "KHC", "DHR"]

# 20 Alpha158 factors Polars can express faithfully: kbar, Ref, Mean, Std, Slope, Max, Min,
# Quantile, Rank, Corr and a comparison.
SUBSET20 = ["KMID", "KLEN", "KMID2", "KUP", "KLOW", "KSFT", "ROC5", "MA5", "MA20", "STD20", "BETA20",
            "MAX20", "MIN20", "QTLU20", "QTLD20", "RANK20", "RSV20", "CORR20", "CORD20", "CNTP20"]


def alpha158():
    rows = [line.rstrip("\n").split("\t") for line in ALPHA158_TSV.read_text().splitlines() if line.strip()]
    return [(r[1], r[2]) for r in rows]


def best_of(times):
    return {"best_s": min(times), "median_s": statistics.median(times), "runs": len(times)}


def timed(fn, repeat):
    """One untimed warm-up call, then `repeat` timed calls; returns the last result too."""
    out = fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return best_of(times), out


# ---- peers: each runs in its own process (python peers_expr.py --peer NAME ...) -------------------

def peer_qlib(a):
    import qlib
    from qlib.config import C
    from qlib.data import D
    from qlib.data.cache import H

    kw = {"kernels": int(os.environ["QLIB_KERNELS"])} if os.environ.get("QLIB_KERNELS") else {}
    qlib.init(provider_uri=a.qlib_dir, region="us", expression_cache=None, dataset_cache=None, **kw)
    names, exprs = zip(*alpha158())
    instruments = D.instruments("all")
    # Warm-up: every expression on a few instruments (imports, calendar, operator classes).
    D.features(D.list_instruments(instruments, as_list=True)[:10], list(exprs), freq="day")
    times, df = [], None
    for _ in range(a.repeat):
        H["f"].clear()  # no feature values carried over from the previous call
        df = None
        t0 = time.perf_counter()
        df = D.features(instruments, list(exprs), freq="day")
        times.append(time.perf_counter() - t0)
    if a.dump:
        df.columns = list(names)
        sub = df[df.index.get_level_values(0).str.upper().isin(QLIB_CHECK_SYMBOLS)]
        sub.index = sub.index.set_names(["symbol", "date"])
        sub.reset_index().to_csv(a.dump, index=False)
    import pandas as pd
    return {**best_of(times), "shape": list(df.shape), "kernels": C["kernels"],
            "versions": {"pyqlib": qlib.__version__, "pandas": pd.__version__}}


def polars_subset20_exprs(pl):
    o, h, l, c, v = (pl.col(f) for f in ("open", "high", "low", "close", "volume"))

    def greater(a, b):  # np.maximum: missing if either side is missing (pl.max_horizontal skips nulls)
        return pl.when(a >= b).then(a).when(a < b).then(b)

    def less(a, b):
        return pl.when(a <= b).then(a).when(a > b).then(b)

    pos = pl.int_range(pl.len()).cast(pl.Float64)  # row position: consecutive within a symbol
    w = 20
    e = {
        "KMID": (c - o) / o,
        "KLEN": (h - l) / o,
        "KMID2": (c - o) / (h - l + 1e-12),
        "KUP": (h - greater(o, c)) / o,
        "KLOW": (less(o, c) - l) / o,
        "KSFT": (2 * c - h - l) / o,
        "ROC5": c.shift(5).over("symbol") / c,
        "MA5": c.rolling_mean(5).over("symbol") / c,
        "MA20": c.rolling_mean(w).over("symbol") / c,
        "STD20": c.rolling_std(w).over("symbol") / c,
        # OLS slope on the position: cov(pos, y) / var(pos), var of w consecutive integers = w(w+1)/12.
        "BETA20": pl.rolling_cov(pos, c, window_size=w).over("symbol") / (w * (w + 1) / 12) / c,
        "MAX20": h.rolling_max(w).over("symbol") / c,
        "MIN20": l.rolling_min(w).over("symbol") / c,
        "QTLU20": c.rolling_quantile(0.8, interpolation="linear", window_size=w).over("symbol") / c,
        "QTLD20": c.rolling_quantile(0.2, interpolation="linear", window_size=w).over("symbol") / c,
        "RANK20": c.rolling_rank(w, method="average").over("symbol") / w,
        "RSV20": (c - l.rolling_min(w).over("symbol"))
        / (h.rolling_max(w).over("symbol") - l.rolling_min(w).over("symbol") + 1e-12),
        "CORR20": pl.rolling_corr(c, (v + 1).log(), window_size=w).over("symbol"),
        "CORD20": pl.rolling_corr(c / c.shift(1), (v / v.shift(1) + 1).log(), window_size=w).over("symbol"),
        "CNTP20": (c > c.shift(1)).cast(pl.Float64).rolling_mean(w).over("symbol"),
    }
    assert list(e) == SUBSET20
    return [x.alias(n) for n, x in e.items()]


def peer_polars(a):
    import polars as pl

    df = pl.read_parquet(a.bars, columns=["symbol", "date", "open", "high", "low", "close", "volume"])
    query = df.lazy().select("symbol", "date", *polars_subset20_exprs(pl))
    stats, out = timed(query.collect, a.repeat)
    if a.dump:
        out.filter(pl.col("symbol").cast(pl.String).is_in(POLARS_CHECK_SYMBOLS)).write_csv(a.dump)
    return {**stats, "rows": out.height, "threads": pl.thread_pool_size(), "versions": {"polars": pl.__version__}}


TA_CALLS = {  # TA-Lib's default parameters, as Qraft's ta_bench uses (kernels/ta.h defaults)
    "SMA": lambda t, o, h, l, c, v: t.SMA(c, 30),
    "EMA": lambda t, o, h, l, c, v: t.EMA(c, 30),
    "WMA": lambda t, o, h, l, c, v: t.WMA(c, 30),
    "DEMA": lambda t, o, h, l, c, v: t.DEMA(c, 30),
    "TEMA": lambda t, o, h, l, c, v: t.TEMA(c, 30),
    "KAMA": lambda t, o, h, l, c, v: t.KAMA(c, 30),
    "ROC": lambda t, o, h, l, c, v: t.ROC(c, 10),
    "MOM": lambda t, o, h, l, c, v: t.MOM(c, 10),
    "RSI": lambda t, o, h, l, c, v: t.RSI(c, 14),
    "MACD": lambda t, o, h, l, c, v: t.MACD(c, 12, 26, 9),
    "BBANDS": lambda t, o, h, l, c, v: t.BBANDS(c, 5, 2.0, 2.0, 0),
    "STOCH": lambda t, o, h, l, c, v: t.STOCH(h, l, c, 5, 3, 0, 3, 0),
    "CCI": lambda t, o, h, l, c, v: t.CCI(h, l, c, 14),
    "WILLR": lambda t, o, h, l, c, v: t.WILLR(h, l, c, 14),
    "MFI": lambda t, o, h, l, c, v: t.MFI(h, l, c, v, 14),
    "OBV": lambda t, o, h, l, c, v: t.OBV(c, v),
    "TRANGE": lambda t, o, h, l, c, v: t.TRANGE(h, l, c),
    "ATR": lambda t, o, h, l, c, v: t.ATR(h, l, c, 14),
    "NATR": lambda t, o, h, l, c, v: t.NATR(h, l, c, 14),
    "ADX": lambda t, o, h, l, c, v: t.ADX(h, l, c, 14),
}


def peer_talib(a):
    import numpy as np
    import talib

    x = np.fromfile(a.ta_data, dtype="<f8").reshape(5, a.ta_bars)  # open, high, low, close, volume
    series = [np.ascontiguousarray(x[i]) for i in range(5)]
    samples = [a.ta_bars // 3, a.ta_bars // 2, a.ta_bars - 1]
    out = {}
    for name, call in TA_CALLS.items():
        stats, res = timed(lambda: call(talib, *series), a.repeat)
        res = res if isinstance(res, tuple) else (res,)
        out[name] = {**stats,
                     "checksum": [float(np.nansum(np.where(np.isfinite(r), r, np.nan))) for r in res],
                     "nan": [int(np.isnan(r).sum()) for r in res],
                     "samples": [None if not np.isfinite(r[i]) else float(r[i]) for r in res for i in samples]}
    return {"indicators": out, "versions": {"ta-lib": talib.__version__, "TA-Lib C": talib.__ta_version__.decode(),
                                            "numpy": np.__version__}}


PEERS = {"qlib_alpha158": (PEERS_PY, peer_qlib), "polars_subset20": (MAIN_PY, peer_polars),
         "talib": (PEERS_PY, peer_talib)}


def run_peer(name, a, dump=None):
    py, _ = PEERS[name]
    cmd = [str(py), __file__, "--peer", name, "--repeat", str(a.peer_repeat.get(name, a.repeat))]
    for k in ("qlib_dir", "bars", "ta_data", "ta_bars"):
        cmd += [f"--{k.replace('_', '-')}", str(getattr(a, k))]
    if dump:
        cmd += ["--dump", str(dump)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# ---- Qraft's side ----------------------------------------------------------------------------------

def expr_bench(a, snapshot, semantics, repeat, names=None, stream=False, dump=None, dump_symbols=()):
    cmd = [a.expr_bench, a.store, snapshot, "--exprs", str(ALPHA158_TSV), "--semantics", semantics,
           "--repeat", str(repeat + 1)]  # the first run is reported apart; best/median over the rest
    if names:
        cmd += ["--names", ",".join(names)]
    if stream:
        cmd += ["--stream"]
    if dump:
        cmd += ["--dump", str(dump), "--dump-symbols", ",".join(dump_symbols)]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def qraft_cli_alpha158(a):
    args = [f"{n}={e}" for n, e in alpha158()]
    cmd = [a.qraft, "expr", "eval", *args, "--data", a.sp500_snapshot, "--store", a.store,
           "--semantics", "qlib", "--limit", "1"]
    env = {**os.environ, "CI": "1"}

    def fn():
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)

    return timed(fn, a.repeat)[0]


# ---- value checks ------------------------------------------------------------------------------

def compare_csv(ours_path, peer_path, columns, atol, rtol):
    """Cells present in both files (symbol, date): agree when both are missing or |a - b| <=
    atol + rtol * |b|. Returns counts and the worst disagreement."""
    import numpy as np
    import pandas as pd

    ours = pd.read_csv(ours_path)
    peer = pd.read_csv(peer_path)
    for df in (ours, peer):
        df["symbol"] = df["symbol"].astype(str).str.upper()
        df["date"] = pd.to_datetime(df["date"]).dt.strftime("%Y-%m-%d")
    m = ours.merge(peer, on=["symbol", "date"], suffixes=("_q", "_p"))
    total = agree = 0
    worst, max_abs, one_side = None, 0.0, 0
    per_col = {}
    for col in columns:
        q, p = m[f"{col}_q"].to_numpy(float), m[f"{col}_p"].to_numpy(float)
        both_nan = np.isnan(q) & np.isnan(p)
        close = np.abs(q - p) <= atol + rtol * np.abs(p)
        ok = both_nan | close | ((q == p) & np.isfinite(q))
        total += len(q)
        agree += int(ok.sum())
        bad = int((~ok).sum())
        if bad:
            per_col[col] = bad
            one_side += int((~ok & (np.isnan(q) != np.isnan(p))).sum())
            both = ~ok & np.isfinite(q) & np.isfinite(p)
            if both.any():
                max_abs = max(max_abs, float(np.abs(q - p)[both].max()))
            i = int(np.argmax(~ok))
            if worst is None:
                worst = {"factor": col, "symbol": m["symbol"].iloc[i], "date": m["date"].iloc[i],
                         "qraft": None if np.isnan(q[i]) else float(q[i]),
                         "peer": None if np.isnan(p[i]) else float(p[i])}
    return {"symbols": sorted(set(m["symbol"])), "rows": len(m), "cells": total, "agree": agree,
            "mismatched_by_factor": per_col, "first_mismatch": worst, "max_abs_diff_mismatched": max_abs,
            "missing_on_one_side": one_side, "tolerance": f"{atol:g} + {rtol:g}*|peer|"}


# ---- benchmarks --------------------------------------------------------------------------------

def two_passes(contenders):
    """contenders: name -> fn() returning a dict with best_s. Two passes in opposite orders, each
    contender's best result kept."""
    results = {}
    order = list(contenders)
    for names in (order, order[::-1]):
        for name in names:
            r = contenders[name]()
            print(f"  {name}: best {r['best_s']:.3f} s", file=sys.stderr, flush=True)
            if name not in results or r["best_s"] < results[name]["best_s"]:
                results[name] = r
    return results


def bench_alpha158(a, tmp):
    ours_dump, peer_dump = tmp / "alpha158_qraft.csv", tmp / "alpha158_qlib.csv"
    expr_bench(a, a.sp500_snapshot, "qlib", 0, dump=ours_dump, dump_symbols=QLIB_CHECK_SYMBOLS)
    dumped = []

    def qlib_peer():
        first = not dumped
        dumped.append(1)
        return run_peer("qlib_alpha158", a, dump=peer_dump if first else None)

    results = two_passes({
        "qraft_inprocess": lambda: expr_bench(a, a.sp500_snapshot, "qlib", a.repeat),
        "qraft_cli": lambda: qraft_cli_alpha158(a),
        "pyqlib": qlib_peer,
    })
    check = compare_csv(ours_dump, peer_dump, [n for n, _ in alpha158()], 1e-6, 1e-5)
    versions = results["pyqlib"].pop("versions")
    return {"benchmark": "alpha158_sp500", "results": results, "check": check, "versions": versions}


def bench_subset20(a, tmp):
    ours_dump, peer_dump = tmp / "subset_qraft.csv", tmp / "subset_polars.csv"
    expr_bench(a, a.sp500_snapshot, "native", 0, names=SUBSET20, dump=ours_dump, dump_symbols=POLARS_CHECK_SYMBOLS)
    dumped = []

    def polars_peer():
        first = not dumped
        dumped.append(1)
        return run_peer("polars_subset20", a, dump=peer_dump if first else None)

    results = two_passes({
        "qraft_inprocess": lambda: expr_bench(a, a.sp500_snapshot, "native", a.repeat, names=SUBSET20),
        "polars": polars_peer,
    })
    check = compare_csv(ours_dump, peer_dump, SUBSET20, 1e-9, 1e-9)
    versions = results["polars"].pop("versions")
    return {"benchmark": "subset20_sp500", "factors": SUBSET20, "results": results, "check": check,
            "versions": versions}


def bench_ta(a):
    def ours():
        cmd = [a.ta_bench, "--data", a.ta_data, "--bars", str(a.ta_bars), "--repeat", str(a.ta_repeat)]
        return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)

    runs = {"qraft": [], "talib": []}
    for names in (["qraft", "talib"], ["talib", "qraft"]):
        for name in names:
            runs[name].append(ours() if name == "qraft" else run_peer("talib", a))
            print(f"  {name}: pass done", file=sys.stderr, flush=True)
    out = {}
    for ind in TA_CALLS:
        q = min((r["indicators"][ind] for r in runs["qraft"]), key=lambda r: r["best_s"])
        p = min((r["indicators"][ind] for r in runs["talib"]), key=lambda r: r["best_s"])
        # Same NaN positions count, and the checksums and sampled values agree to max_rel_diff
        # (relative to max(1, |TA-Lib|)).
        pairs = list(zip(q["checksum"], p["checksum"])) + list(zip(q["samples"], p["samples"]))
        same_nan = q["nan"] == p["nan"] and all((x is None) == (y is None) for x, y in pairs)
        diff = max(abs(x - y) / max(1.0, abs(y)) for x, y in pairs if x is not None and y is not None)
        out[ind] = {"qraft_best_s": q["best_s"], "qraft_median_s": q["median_s"], "talib_best_s": p["best_s"],
                    "talib_median_s": p["median_s"], "same_nan": same_nan, "max_rel_diff": diff,
                    "qraft_checksum": q["checksum"], "talib_checksum": p["checksum"]}
    return {"benchmark": "ta_10m", "bars": a.ta_bars, "indicators": out, "versions": runs["talib"][0]["versions"]}


def bench_memory(a):
    r = expr_bench(a, a.synth_snapshot, "qlib", a.memory_repeat, stream=True)
    return {"benchmark": "memory_alpha158_5000x5000", "results": {"qraft_stream": r}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qraft")
    ap.add_argument("--expr-bench")
    ap.add_argument("--ta-bench")
    ap.add_argument("--store")
    ap.add_argument("--sp500-snapshot")
    ap.add_argument("--synth-snapshot")
    ap.add_argument("--qlib-dir")
    ap.add_argument("--bars", help="the sp500 snapshot's bars.parquet (long format) for Polars")
    ap.add_argument("--ta-data")
    ap.add_argument("--ta-bars", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--qlib-repeat", type=int, default=2, help="timed pyqlib calls per pass (~30 s each)")
    ap.add_argument("--ta-repeat", type=int, default=10, help="timed calls per indicator per pass")
    ap.add_argument("--memory-repeat", type=int, default=0, help="warm runs after the first (5,000 x 5,000)")
    ap.add_argument("--only", default="alpha158,subset20,ta,memory")
    ap.add_argument("--peer", help="internal: time one peer in this process and print its JSON")
    ap.add_argument("--dump")
    a = ap.parse_args()
    a.peer_repeat = {"qlib_alpha158": a.qlib_repeat, "talib": a.ta_repeat}
    if a.peer:
        print(json.dumps(PEERS[a.peer][1](a)))
        return
    with tempfile.TemporaryDirectory(prefix="qraft-bench-expr-") as tmp:
        tmp = Path(tmp)
        for name in filter(None, a.only.split(",")):
            print(f"== {name}", file=sys.stderr, flush=True)
            if name == "alpha158":
                r = bench_alpha158(a, tmp)
            elif name == "subset20":
                r = bench_subset20(a, tmp)
            elif name == "ta":
                r = bench_ta(a)
            elif name == "memory":
                r = bench_memory(a)
            else:
                raise SystemExit(f"unknown benchmark {name}")
            print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
