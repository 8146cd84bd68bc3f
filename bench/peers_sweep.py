"""Parameter sweeps (issue 4): `qraft sweep` timed from process start to exit, side by side with
vectorbt doing the same work, and the results compared.

Prints one JSON object per benchmark (bench/run.sh merges them into build/bench-out/peers.jsonl;
bench/report.py writes the tables). Every peer runs in a fresh Python process of its own
(.venv-peers); every Qraft run is a fresh process. Benchmarks (--only):

  ma_grid  SMA crossover, 50 x 50 windows with fast < slow (1,225 combinations), on sp500-5yr
           (bench/strategies/ma_grid.yaml): `qraft sweep --out DIR` vs vectorbt's MA.run_combs +
           ma_above/ma_below + Portfolio.from_signals configured to Qraft's semantics (below),
           chunked over symbols. Qraft runs before and after vectorbt (best kept). Then, untimed,
           the equality check (check_ma_grid).
  memory   the 10,000-combination grid on sp500-5yr (bench/strategies/ma_grid_10k.yaml): peak RSS
           of `qraft sweep` (the child's ru_maxrss from wait4) and its time. Qraft alone.
  topk     top-k with dropout and costs, 1,000 combinations, on the synthetic 5,000 symbols x 5,040
           daily bars (bench/strategies/topk_synthetic.yaml). Qraft alone (optional pyqlib: no).
  minute   SMA crossover, 10,000 combinations, on one synthetic symbol with 2.6M 1-minute bars
           (bench/strategies/ma_minute_10k.yaml) vs vectorbt on a 100-combination subset of the
           same grid (per-combination throughput; values of the 100 compared).

vectorbt configured to Qraft's semantics (src/qraft/engines/backtest.h, signal_sim.h): each
symbol is its own column (sub-portfolio, no cash sharing) with init_cash = 1e6 / S; price =
close = the open (fills and valuation at the opens, the last valid open carried forward);
entries = fast > slow and exits = fast < slow, both shifted one bar (a decision on bar t's close
fills at bar t+1's open; rebalance 1D = every bar may enter); fees = fee_bps / 1e4, slippage =
spread_bps / 2e4; size = inf, size_type amount, direction longonly, accumulate False (vectorbt's
defaults otherwise). The portfolio's value is the sum over symbols. Both sides' SMA is the mean
of the last n closes, NaN while the window holds a missing close.
"""
import argparse
import csv
import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS_PY = ROOT / ".venv-peers/bin/python"
STRATEGIES = ROOT / "bench/strategies"

# The grids of the strategy files, as the peers need them (checked against `qraft strategy check`
# and against the parameters in Qraft's metrics.csv).
MA_GRID_WINDOWS = list(range(4, 201, 4))  # ma_grid.yaml: fast, slow in 4..200 step 4, fast < slow
MA_GRID_COSTS = {"fees": 1 / 1e4, "slippage": 2 / 2e4}  # fee_bps 1, spread_bps 2
MINUTE_FAST = list(range(5, 501, 5))  # ma_minute_10k.yaml
MINUTE_SLOW = list(range(600, 2581, 20))
MINUTE_COSTS = {"fees": 10 / 1e4, "slippage": 2 / 2e4}  # fee_bps 10, spread_bps 2
# vectorbt's subset of the minute grid: every 10th fast and every 10th slow window, 10 x 10.
MINUTE_VBT_FAST = MINUTE_FAST[9::10]
MINUTE_VBT_SLOW = MINUTE_SLOW[9::10]
INITIAL_CAPITAL = 1e6  # Qraft's default (BacktestOptions::initial_capital)
REL_TOL = 1e-9


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def best_of(times):
    return {"best_s": min(times), "median_s": statistics.median(times), "runs": len(times)}


# ---- Qraft's side: each run a fresh process, timed from start to exit -----------------------------

def run_child(cmd, env=None):
    """Runs cmd; returns wall seconds, CPU seconds and peak RSS of that child alone (wait4)."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{err.read().decode()[-4000:]}")
    return {"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss_bytes": ru.ru_maxrss * 1024}


def qraft_sweep(a, strategy, snapshot, repeat, out_dir, earlier=None):
    """`qraft sweep STRATEGY --out out_dir`, `repeat` fresh processes (plus the runs of `earlier`, a
    previous pass of the same): best and median wall time, the best run's CPU time, the largest
    peak RSS."""
    cmd = [a.qraft, "sweep", str(strategy), "--data", snapshot, "--store", a.store, "--out", str(out_dir),
           *no_cache(a, "sweep")]
    env = {**os.environ, "CI": "1"}  # no progress bar
    runs = (earlier or {}).get("all_runs", []) + [run_child(cmd, env) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["wall_s"])
    return {**best_of([r["wall_s"] for r in runs]), "best_cpu_s": best["cpu_s"],
            "peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs), "all_runs": runs}


def no_cache(a, command):
    """["--no-cache"] if this build's `qraft COMMAND` caches results (a cached run would time nothing)."""
    help_text = subprocess.run([a.qraft, command, "--help"], capture_output=True, text=True).stdout
    return ["--no-cache"] if "--no-cache" in help_text else []


def without_runs(r):
    return {k: v for k, v in r.items() if k != "all_runs"}


def strategy_info(a, strategy):
    out = subprocess.run([a.qraft, "strategy", "check", str(strategy), "--json"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def read_metrics(out_dir):
    """Qraft's metrics.csv: one row per combination, in combination order."""
    with open(Path(out_dir) / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def qraft(a, *args):
    """Runs a qraft command on the store; returns its last line of output (a snapshot id)."""
    out = subprocess.run([a.qraft, *args, "--store", a.store], check=True, capture_output=True, text=True).stdout
    return (out.strip().splitlines() or [""])[-1]


# ---- data --------------------------------------------------------------------------------------

def sp500_snapshot(a, tmp):
    """The sp500-5yr snapshot (ingested once into the store: an existing snapshot is a no-op); with
    --symbols-limit N, a snapshot of the first N files in name order."""
    src = Path(a.sp500)
    if a.symbols_limit:
        sub = tmp / "sp500-subset"
        sub.mkdir(exist_ok=True)
        for f in sorted(src.glob("*.csv"))[: a.symbols_limit]:
            shutil.copy(f, sub / f.name)
        src = sub
    return qraft(a, "ingest", str(src), "--market", "us_stock", "--quiet")


def synth_snapshot(a, *args):
    return qraft(a, "data", "synth", *args)


def panel_path(a, snapshot):
    return str(Path(a.store) / "snapshots" / snapshot / "panel.arrow")


# ---- peers: each runs in its own process (python peers_sweep.py --peer NAME --spec JSON) --------

def load_panel(path, fields):
    """A snapshot's panel.arrow (long format, symbol-major, aligned on one calendar) as
    (symbols, DatetimeIndex, {field: T x S float64 array})."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.ipc as ipc

    with pa.memory_map(path) as src:
        t = ipc.open_file(src).read_all()
    meta = t.schema.metadata
    S, T = int(meta[b"qraft.num_symbols"]), int(meta[b"qraft.num_times"])
    symbols = [str(s) for s in t.column("symbol").slice(0, S * T).to_numpy()[::T]]
    dates = pd.DatetimeIndex(t.column("time").slice(0, T).to_numpy())
    data = {f: np.ascontiguousarray(t.column(f).to_numpy().reshape(S, T).T) for f in fields}
    return symbols, dates, data


def vbt_versions():
    import numba
    import numpy as np
    import pandas as pd
    import vectorbt as vbt
    from vectorbt._engine import is_rust_available

    return {"vectorbt": vbt.__version__, "numba": numba.__version__, "numpy": np.__version__,
            "pandas": pd.__version__,
            "engine": f"{vbt.settings['engine']} ({'rust' if is_rust_available() else 'numba'})"}


def vbt_from_signals(vbt, price, entries, exits, init_cash, costs):
    import numpy as np

    return vbt.Portfolio.from_signals(price, entries, exits, size=np.inf, size_type="amount",
                                      direction="longonly", accumulate=False, init_cash=init_cash,
                                      fees=costs["fees"], slippage=costs["slippage"])


def vbt_ma_grid(vbt, np, pd, symbols, dates, op, cl, windows, chunk, init_cash, costs):
    """vectorbt's own way of running an MA-crossover grid over a panel: per chunk of symbols,
    MA.run_combs (each window's rolling mean computed once, then laid out per combination),
    ma_above / ma_below, the signals shifted one bar, from_signals, final_value. Returns the final
    values as a (combinations x symbols) array, combinations in itertools.combinations order."""
    S = len(symbols)
    C = len(windows) * (len(windows) - 1) // 2
    out = np.empty((C, S))
    for c0 in range(0, S, chunk):
        c1 = min(S, c0 + chunk)
        cols = pd.Index(symbols[c0:c1], name="symbol")
        close = pd.DataFrame(cl[:, c0:c1], index=dates, columns=cols)
        price = pd.DataFrame(op[:, c0:c1], index=dates, columns=cols)
        fast, slow = vbt.MA.run_combs(close, window=windows, r=2, short_names=["fast", "slow"])
        entries = fast.ma_above(slow).vbt.signals.fshift(1)
        exits = fast.ma_below(slow).vbt.signals.fshift(1)
        pf = vbt_from_signals(vbt, price, entries, exits, init_cash, costs)
        fv = pf.final_value()
        n = c1 - c0  # columns: combinations in itertools.combinations order, symbols within each
        assert list(fv.index.get_level_values("symbol")[:n]) == symbols[c0:c1]
        assert list(zip(fv.index.get_level_values("fast_window")[::n], fv.index.get_level_values("slow_window")[::n])) \
            == list(itertools.combinations(windows, 2))
        out[:, c0:c1] = fv.to_numpy().reshape(C, n)
        del fast, slow, entries, exits, pf, fv
    return out


def peer_vbt_ma_grid(spec):
    import numpy as np
    import pandas as pd
    import vectorbt as vbt

    windows, chunk = spec["windows"], spec["chunk"]
    # Warm-up, untimed: numba compiles (or loads from its cache) every function on the path.
    symbols, dates, d = load_panel(spec["panel"], ["open", "close"])
    vbt_ma_grid(vbt, np, pd, symbols[:2], dates, d["open"][:, :2], d["close"][:, :2], windows[:3], chunk,
                1.0, spec["costs"])
    del symbols, dates, d
    times, out = [], None
    for _ in range(spec["repeat"]):
        out = None
        t0 = time.perf_counter()
        symbols, dates, d = load_panel(spec["panel"], ["open", "close"])
        out = vbt_ma_grid(vbt, np, pd, symbols, dates, d["open"], d["close"], windows, chunk,
                          INITIAL_CAPITAL / len(symbols), spec["costs"])
        times.append(time.perf_counter() - t0)
        del d
    np.save(spec["dump"], out)
    return {**best_of(times), "chunk": chunk, "symbols": len(symbols),
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "versions": vbt_versions()}


def qraft_sma_kernel():
    """Qraft's SMA (src/qraft/expr/kernels/ta.cc: SmaKernel driven by RunWindowed), operation for
    operation, compiled with numba (no fastmath, so the same IEEE operations in the same order):
    a plain running sum, re-summed from scratch where a window becomes complete and every 1,024
    rows counted from the symbol's first bar, times 1/n. Validated bit for bit against `qraft expr
    eval` by check_ma_grid."""
    import numba
    import numpy as np

    @numba.njit(cache=True)
    def sma(x, n, out):
        inv = 1.0 / n
        run = 0
        live = False
        s = 0.0
        for t in range(x.shape[0]):
            if np.isnan(x[t]):
                run = t + 1
                live = False
                out[t] = np.nan
            elif t - run < n - 1:
                out[t] = np.nan
            elif live and t % 1024 != 0:
                s += x[t] - x[t - n]
                out[t] = s * inv
            else:
                s = 0.0
                for u in range(t + 1 - n, t + 1):
                    s += x[u]
                out[t] = s * inv
                live = True

    return sma


def replica_smas(np, cl, windows):
    """Qraft-identical SMAs of the T x S closes for every window: a (W, T, S) array. Each symbol is
    evaluated from its first bar on (its reset rows count from there), as Qraft's evaluator does."""
    sma = qraft_sma_kernel()
    T, S = cl.shape
    rq = np.full((len(windows), T, S), np.nan)
    for s in range(S):
        valid = ~np.isnan(cl[:, s])
        if not valid.any():
            continue
        first = int(np.argmax(valid))
        x = np.ascontiguousarray(cl[first:, s])
        for k, w in enumerate(windows):
            sma(x, w, rq[k, first:, s])
    return rq


def vbt_smas(np, pd, vbt, cl, windows):
    """vectorbt's own rolling means (MA.run, as MA.run_combs computes them): a (W, T, S) array."""
    T, S = cl.shape
    ma = vbt.MA.run(pd.DataFrame(cl), window=windows).ma.to_numpy()
    return ma.reshape(T, len(windows), S).transpose(1, 0, 2)


def signal_differences(np, rq, rv, cl, windows, combos):
    """Where the signals (fast > slow enters, fast < slow exits) from Qraft's means rq and from
    vectorbt's rv differ, over every (combination, symbol, bar): how many, how close the two means
    are there (|fast - slow| / close), and, when the prices are decimals with at most 4 places, the
    exact comparison of the two means (integer window sums of price x 10^4: sum_f n_s vs sum_s n_f).
    Over all cells, also how often each side signals on an exact tie (the exact answer: neither) and
    has the wrong sign elsewhere. Returns (stats, a combinations x symbols 'differs somewhere' mask)."""
    T, S = cl.shape
    C = len(combos)
    scale = 10_000
    exact = None
    if (np.isnan(cl) | (np.abs(cl * scale - np.round(cl * scale)) < 1e-6)).all():
        ip = np.where(np.isnan(cl), 0, np.round(cl * scale)).astype(np.int64)
        cs = np.vstack([np.zeros((1, S), np.int64), np.cumsum(ip, axis=0)])
        exact = []
        for w in windows:
            sums = np.zeros((T, S), np.int64)
            sums[w - 1:] = cs[w:] - cs[:-w]
            exact.append(sums)
    cells = within = ties = qraft_right = vbt_right = 0
    all_ties = qraft_tie = vbt_tie = qraft_wrong = vbt_wrong = 0
    max_gap = 0.0
    mask = np.zeros((C, S), bool)
    for c, (i, j) in enumerate(combos):
        fq, sq, fv, sv = rq[i], rq[j], rv[i], rv[j]
        diff = ((fq > sq) != (fv > sv)) | ((fq < sq) != (fv < sv))
        rel = None
        if exact is not None:
            valid = ~np.isnan(fq) & ~np.isnan(sq)
            rel = np.sign(exact[i] * windows[j] - exact[j] * windows[i])
            qs, vs = np.sign(fq - sq), np.sign(fv - sv)
            tie = valid & (rel == 0)
            all_ties += int(tie.sum())
            qraft_tie += int((tie & (qs != 0)).sum())
            vbt_tie += int((tie & (vs != 0)).sum())
            qraft_wrong += int((valid & (rel != 0) & (qs != rel)).sum())
            vbt_wrong += int((valid & (rel != 0) & (vs != rel)).sum())
        n = int(diff.sum())
        if not n:
            continue
        cells += n
        mask[c] = diff.any(axis=0)
        tt, ss = np.nonzero(diff)
        gap = np.abs(fq[tt, ss] - sq[tt, ss]) / cl[tt, ss]
        max_gap = max(max_gap, float(gap.max()))
        within += int((gap <= 1e-9).sum())
        if rel is not None:
            r = rel[tt, ss]
            ties += int((r == 0).sum())
            qraft_right += int(((r != 0) & (np.sign(fq[tt, ss] - sq[tt, ss]) == r)).sum())
            vbt_right += int(((r != 0) & (np.sign(fv[tt, ss] - sv[tt, ss]) == r)).sum())
    stats = {"cells_compared": int(C * S * T), "cells_differing": cells,
             "combination_symbols_differing": int(mask.sum()), "combinations_differing": int(mask.any(axis=1).sum()),
             "max_gap_over_close": max_gap, "cells_within_1e-9": within,
             "exact_decimal": None if exact is None else {
                 "differing_cells_exact_tie": ties, "differing_cells_qraft_matches_exact": qraft_right,
                 "differing_cells_vbt_matches_exact": vbt_right, "all_cells_exact_ties": all_ties,
                 "exact_ties_qraft_signal": qraft_tie, "exact_ties_vbt_signal": vbt_tie,
                 "not_tied_qraft_wrong_sign": qraft_wrong, "not_tied_vbt_wrong_sign": vbt_wrong}}
    return stats, mask


def shifted_signals(np, fast, slow):
    """Entries fast > slow and exits fast < slow of T x n means, moved one bar later."""
    ent = np.zeros(fast.shape, bool)
    ext = np.zeros(fast.shape, bool)
    ent[1:] = (fast > slow)[:-1]
    ext[1:] = (fast < slow)[:-1]
    return ent, ext


def peer_vbt_ma_check(spec):
    """Untimed. (1) Qraft-identical SMAs (qraft_sma_kernel) for every window and symbol, compared bit
    for bit with Qraft's own (`qraft expr eval` output). (2) signal_differences between them and
    vectorbt's own rolling means. (3) vectorbt's from_signals run on the Qraft-identical signals
    (same configuration as the timed run): final value, fees and closed trades per (combination,
    symbol)."""
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq
    import vectorbt as vbt

    windows, chunk, costs = spec["windows"], spec["chunk"], spec["costs"]
    symbols, dates, d = load_panel(spec["panel"], ["open", "close"])
    op, cl = d["open"], d["close"]
    T, S = cl.shape
    W = len(windows)
    combos = [(i, j) for i in range(W) for j in range(i + 1, W)]
    C = len(combos)
    # (1) Qraft-identical SMAs vs Qraft's own, matched by (symbol, date); rows Qraft does not
    # output (before a symbol's first bar) must be NaN.
    rq = replica_smas(np, cl, windows)
    q = pq.read_table(spec["qraft_sma"]).to_pandas()
    si = {s: i for i, s in enumerate(symbols)}
    di = {t.date(): i for i, t in enumerate(dates)}
    ti = np.array([di[t] for t in q["datetime"]])
    sx = q["symbol"].astype(str).map(si).to_numpy()
    listed = np.zeros((T, S), bool)
    listed[ti, sx] = True
    same = 0
    for k, w in enumerate(windows):
        mine, theirs = rq[k][ti, sx], q[f"w{w}"].to_numpy()
        same += int(((mine == theirs) | (np.isnan(mine) & np.isnan(theirs))).sum())
    replica = {"values": int(len(q) * W), "bitwise_equal": same,
               "rows_outside_output_nan": bool(np.isnan(rq[:, ~listed]).all())}
    del q
    # (2)
    rv = vbt_smas(np, pd, vbt, cl, windows)
    signals, diff_cs = signal_differences(np, rq, rv, cl, windows, combos)
    del rv
    # (3) vectorbt on the Qraft-identical signals, chunked over symbols as in the timed run.
    fv = np.empty((C, S))
    fees = np.empty((C, S))
    sells = np.empty((C, S), np.int64)
    init_cash = INITIAL_CAPITAL / S
    for c0 in range(0, S, chunk):
        c1 = min(S, c0 + chunk)
        n = c1 - c0
        ent = np.empty((T, C * n), bool)
        ext = np.empty((T, C * n), bool)
        for c, (i, j) in enumerate(combos):
            ent[:, c * n:(c + 1) * n], ext[:, c * n:(c + 1) * n] = shifted_signals(np, rq[i][:, c0:c1], rq[j][:, c0:c1])
        pf = vbt_from_signals(vbt, np.tile(op[:, c0:c1], (1, C)), ent, ext, init_cash, costs)
        fv[:, c0:c1] = np.asarray(pf.final_value()).reshape(C, n)
        rec = pf.orders.values
        k = C * n
        fees[:, c0:c1] = np.bincount(rec["col"], weights=rec["fees"], minlength=k).reshape(C, n)
        sells[:, c0:c1] = np.bincount(rec["col"][rec["side"] == 1], minlength=k).reshape(C, n)
        del ent, ext, pf, rec
    np.savez(spec["dump"], fv=fv, fees=fees, sells=sells, diff_cs=diff_cs)
    return {"replica": replica, "signals": signals}


def vbt_minute(vbt, np, pd, dates, op, cl, pairs, chunk, costs):
    """The minute grid's subset in vectorbt: per chunk of combinations, MA.run for the fast and the
    slow windows (column i of one pairs with column i of the other), ma_above / ma_below shifted
    one bar, from_signals. Returns the final values, one per pair."""
    close = pd.Series(cl, index=dates)
    price = pd.Series(op, index=dates)
    out = np.empty(len(pairs))
    for c0 in range(0, len(pairs), chunk):
        part = pairs[c0:c0 + chunk]
        fast = vbt.MA.run(close, window=[f for f, _ in part], short_name="fast")
        slow = vbt.MA.run(close, window=[s for _, s in part], short_name="slow")
        entries = fast.ma_above(slow).vbt.signals.fshift(1)
        exits = fast.ma_below(slow).vbt.signals.fshift(1)
        pf = vbt_from_signals(vbt, price, entries, exits, INITIAL_CAPITAL, costs)
        out[c0:c0 + len(part)] = np.asarray(pf.final_value())
        del fast, slow, entries, exits, pf
    return out


def peer_vbt_minute(spec):
    import numpy as np
    import pandas as pd
    import vectorbt as vbt

    pairs = [tuple(p) for p in spec["pairs"]]
    symbols, dates, d = load_panel(spec["panel"], ["open", "close"])
    assert len(symbols) == 1
    n = 10_000  # warm-up, untimed
    vbt_minute(vbt, np, pd, dates[:n], d["open"][:n, 0], d["close"][:n, 0], pairs[:2], spec["chunk"], spec["costs"])
    del d
    times, out = [], None
    for _ in range(spec["repeat"]):
        t0 = time.perf_counter()
        symbols, dates, d = load_panel(spec["panel"], ["open", "close"])
        out = vbt_minute(vbt, np, pd, dates, d["open"][:, 0], d["close"][:, 0], pairs, spec["chunk"], spec["costs"])
        times.append(time.perf_counter() - t0)
        del d
    return {**best_of(times), "combinations": len(pairs), "chunk": spec["chunk"],
            "final_values": out.tolist(),
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "versions": vbt_versions()}


def peer_vbt_minute_check(spec):
    """Untimed, for the minute subset: signal_differences between Qraft-identical SMAs and vectorbt's
    own, and vectorbt's from_signals on the Qraft-identical signals (final value per pair)."""
    import numpy as np
    import pandas as pd
    import vectorbt as vbt

    pairs = [tuple(p) for p in spec["pairs"]]
    windows = sorted({w for p in pairs for w in p})
    index = {w: k for k, w in enumerate(windows)}
    combos = [(index[f], index[s]) for f, s in pairs]
    _, _, d = load_panel(spec["panel"], ["open", "close"])
    op, cl = d["open"], d["close"]
    rq = replica_smas(np, cl, windows)
    rv = vbt_smas(np, pd, vbt, cl, windows)
    signals, mask = signal_differences(np, rq, rv, cl, windows, combos)
    del rv
    out = np.empty(len(pairs))
    chunk = spec["chunk"]
    for c0 in range(0, len(pairs), chunk):
        part = combos[c0:c0 + chunk]
        sig = [shifted_signals(np, rq[i][:, 0], rq[j][:, 0]) for i, j in part]
        ent = np.stack([e for e, _ in sig], axis=1)
        ext = np.stack([x for _, x in sig], axis=1)
        pf = vbt_from_signals(vbt, np.tile(op, (1, len(part))), ent, ext, INITIAL_CAPITAL, spec["costs"])
        out[c0:c0 + len(part)] = np.asarray(pf.final_value())
        del ent, ext, pf
    return {"signals": signals, "differs": mask[:, 0].tolist(), "final_values": out.tolist()}


def peer_qlib_topk(spec):
    """One combination of topk_synthetic.yaml in pyqlib's own backtest: TopkDropoutStrategy +
    SimulatorExecutor + Exchange on the snapshot exported as a Qlib directory. Score = ROC(close, n)
    with Qraft's windowed rule (NaN when any close of the window's n + 1 rows is missing, e.g. across
    a suspension); decisions on bar t's score deal at bar t+1's open; fee_bps 5 = open_cost 5e-4,
    + tax_bps 10 = close_cost 15e-4, min_cost 5, no lot size, no price limits, risk_degree 0.95
    (Qraft's mapping, backtest.h). Timed: qlib.init, the score and the backtest call (Qlib loads its
    quotes inside it); imports not timed."""
    import numpy as np
    import pandas as pd

    lb, k, drop = spec["lookback"], spec["k"], spec["drop"]
    import qlib
    from qlib.backtest import backtest, executor as qexec
    from qlib.contrib.strategy import TopkDropoutStrategy

    t0 = time.perf_counter()
    qlib.init(provider_uri=spec["qlib_dir"], region="us", kernels=1)
    symbols, dates, d = load_panel(spec["panel"], ["close"])
    cl = d["close"]
    score = np.full_like(cl, np.nan)
    score[lb:] = (cl[lb:] / cl[:-lb] - 1) * 100
    missing = np.vstack([np.zeros((1, cl.shape[1]), np.int64), np.cumsum(np.isnan(cl), axis=0)])
    score[lb:][(missing[lb + 1:] - missing[:-lb - 1]) > 0] = np.nan
    sig = pd.Series(score.reshape(-1), index=pd.MultiIndex.from_product(
        [dates, symbols], names=["datetime", "instrument"])).dropna()
    strategy = TopkDropoutStrategy(signal=sig, topk=k, n_drop=drop, hold_thresh=1, risk_degree=0.95,
                                   only_tradable=False, forbid_all_trade_at_limit=True)
    executor = qexec.SimulatorExecutor(time_per_step="day", generate_portfolio_metrics=True)
    test = dates[lb + 1:-1]  # Qlib needs one calendar day after the end
    portfolio, _ = backtest(start_time=test[0], end_time=test[-1], strategy=strategy, executor=executor,
                            benchmark=pd.Series(0.0, index=test), account=INITIAL_CAPITAL,
                            exchange_kwargs=dict(freq="day", limit_threshold=None, deal_price="open",
                                                 open_cost=spec["open_cost"], close_cost=spec["close_cost"],
                                                 min_cost=spec["min_cost"], trade_unit=None))
    elapsed = time.perf_counter() - t0
    report = portfolio["1day"][0]
    return {**best_of([elapsed]), "days": len(report), "params": {"lookback": lb, "k": k, "drop": drop},
            "account": {t.strftime("%Y-%m-%d"): float(v) for t, v in report["account"].items()},
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "versions": {"pyqlib": qlib.__version__, "pandas": pd.__version__}}


PEERS = {"vbt_ma_grid": peer_vbt_ma_grid, "vbt_ma_check": peer_vbt_ma_check, "vbt_minute": peer_vbt_minute,
         "vbt_minute_check": peer_vbt_minute_check,
         "qlib_topk": peer_qlib_topk}


def run_peer(name, spec):
    log(f"  {name} (fresh process, .venv-peers)")
    # No progress bars; a fixed string hash seed: Qlib orders held names by iterating a set, which
    # decides ties (e.g. among held names without a score) and so its results (topk_golden.py).
    env = {**os.environ, "TQDM_DISABLE": "1", "PYTHONHASHSEED": "0"}
    out = subprocess.run([str(PEERS_PY), __file__, "--peer", name, "--spec", json.dumps(spec)],
                         check=True, stdout=subprocess.PIPE, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


# ---- comparisons ---------------------------------------------------------------------------------

def rel_diff(x, y):
    return abs(x - y) / max(abs(y), 1e-300)


def agreement(qraft_vals, peer_vals, tol=REL_TOL):
    """How many pairs agree within tol relative to the peer, and the largest relative difference."""
    diffs = [rel_diff(q, p) for q, p in zip(qraft_vals, peer_vals)]
    return {"compared": len(diffs), "agree": sum(d <= tol for d in diffs), "max_rel_diff": max(diffs, default=0.0),
            "tolerance": tol}


def check_ma_grid(a, tmp, snapshot, metrics, vbt_dump):
    """Untimed equality check of the ma_grid run (see peer_vbt_ma_check for the peer's side)."""
    import numpy as np

    W = MA_GRID_WINDOWS
    combos = [(f, s) for i, f in enumerate(W) for s in W[i + 1:]]
    got = [(int(float(r["fast"])), int(float(r["slow"]))) for r in metrics]
    assert got == combos, "metrics.csv combinations differ from the peer's grid"
    q_final = [INITIAL_CAPITAL * (1 + float(r["total_return"])) for r in metrics]
    q_fees = [float(r["fees"]) for r in metrics]
    q_trades = [int(float(r["trades"])) for r in metrics]
    native = np.load(vbt_dump)  # (C, S) from the timed vectorbt run
    # Qraft's own SMA values, for the replica check.
    sma_out = tmp / "qraft_sma.parquet"
    qraft(a, "expr", "eval", *[f"w{w}=SMA(close,{w})" for w in W], "--data", snapshot, "--format", "parquet",
          "--out", str(sma_out))
    dump = tmp / "vbt_check.npz"
    r = run_peer("vbt_ma_check", {"panel": panel_path(a, snapshot), "windows": W, "chunk": a.vbt_chunk,
                                  "costs": MA_GRID_COSTS, "qraft_sma": str(sma_out), "dump": str(dump)})
    z = np.load(dump)
    rep_final = z["fv"].sum(axis=1)
    vs_native = agreement(q_final, native.sum(axis=1).tolist())
    vs_replica = agreement(q_final, rep_final.tolist())
    fees = agreement(q_fees, z["fees"].sum(axis=1).tolist())
    trades_equal = sum(int(q == p) for q, p in zip(q_trades, z["sells"].sum(axis=1).tolist()))
    # (combination, symbol) cells whose final value differs between vectorbt on its own signals and
    # vectorbt on the Qraft-identical signals: each must have a differing signal.
    cell_diff = np.abs(native - z["fv"]) > REL_TOL * np.abs(z["fv"])
    differing = [i for i, (q, p) in enumerate(zip(q_final, native.sum(axis=1))) if rel_diff(q, p) > REL_TOL]
    return {
        "qraft_vs_vectorbt": {**vs_native, "differing": [
            {"fast": combos[i][0], "slow": combos[i][1], "qraft": q_final[i], "vectorbt": float(native[i].sum())}
            for i in differing[:5]]},
        "qraft_vs_vectorbt_on_qraft_signals": {**vs_replica, "fees": fees, "trades_equal": trades_equal},
        "replica_sma": r["replica"],
        "signals": r["signals"],
        "cells": {"differing_final_values": int(cell_diff.sum()),
                  "differing_without_signal_difference": int((cell_diff & ~z["diff_cs"]).sum()),
                  "combinations_differing_without_signal_difference":
                      int(sum(1 for i in differing if not z["diff_cs"][i].any()))},
    }


# ---- benchmarks ----------------------------------------------------------------------------------

def bench_ma_grid(a, tmp):
    snap = sp500_snapshot(a, tmp)
    strategy = STRATEGIES / "ma_grid.yaml"
    info = strategy_info(a, strategy)
    W = MA_GRID_WINDOWS
    assert info["combinations"] == len(W) * (len(W) - 1) // 2, info["combinations"]
    out_dir = tmp / "ma_grid"
    # Qraft before and after vectorbt, best kept (on this VM whatever runs later runs slower).
    log("  qraft sweep ma_grid.yaml (first pass)")
    q1 = qraft_sweep(a, strategy, snap, a.repeat, out_dir)
    vbt_dump = tmp / "vbt_native.npy"
    p = run_peer("vbt_ma_grid", {"panel": panel_path(a, snap), "windows": W, "chunk": a.vbt_chunk,
                                 "costs": MA_GRID_COSTS, "repeat": a.vbt_repeat, "dump": str(vbt_dump)})
    log(f"  vectorbt: best {p['best_s']:.1f} s")
    log("  qraft sweep ma_grid.yaml (second pass)")
    q = without_runs(qraft_sweep(a, strategy, snap, a.repeat, out_dir, earlier=q1))
    log(f"  qraft: best {q['best_s']:.2f} s; checking results")
    metrics = read_metrics(out_dir)
    check = check_ma_grid(a, tmp, snap, metrics, vbt_dump)
    versions = p.pop("versions")
    return {"benchmark": "sweep_ma_grid_sp500", "snapshot": snap, "symbols": p["symbols"],
            "bars": int(metrics[0]["bars"]), "combinations": info["combinations"],
            "windows": [W[0], W[-1], W[1] - W[0]],
            "strategy": "bench/strategies/ma_grid.yaml", "dsl_hash": info["dsl_hash"],
            "results": {"qraft_sweep": q, "vectorbt": p}, "check": check, "versions": versions}


def bench_memory(a, tmp):
    snap = sp500_snapshot(a, tmp)
    strategy = STRATEGIES / "ma_grid_10k.yaml"
    info = strategy_info(a, strategy)
    log("  qraft sweep ma_grid_10k.yaml")
    q = without_runs(qraft_sweep(a, strategy, snap, a.long_repeat, tmp / "ma_grid_10k"))
    metrics = read_metrics(tmp / "ma_grid_10k")
    symbols = json.loads(subprocess.run([a.qraft, "data", "info", snap, "--store", a.store, "--json"], check=True,
                                        capture_output=True, text=True).stdout)["symbols"]
    return {"benchmark": "sweep_memory_10k_sp500", "snapshot": snap, "symbols": symbols,
            "bars": int(metrics[0]["bars"]), "combinations": info["combinations"],
            "strategy": "bench/strategies/ma_grid_10k.yaml", "dsl_hash": info["dsl_hash"],
            "results": {"qraft_sweep": q}}


def bench_topk(a, tmp):
    snap = synth_snapshot(a, "--symbols", str(a.synth_symbols), "--bars", str(a.synth_bars), "--seed", "7")
    strategy = STRATEGIES / "topk_synthetic.yaml"
    info = strategy_info(a, strategy)
    log("  qraft sweep topk_synthetic.yaml")
    q = without_runs(qraft_sweep(a, strategy, snap, a.long_repeat, tmp / "topk"))
    metrics = read_metrics(tmp / "topk")
    row = {"benchmark": "sweep_topk_synthetic", "snapshot": snap, "symbols": a.synth_symbols,
           "bars": int(metrics[0]["bars"]), "combinations": info["combinations"],
           "strategy": "bench/strategies/topk_synthetic.yaml", "dsl_hash": info["dsl_hash"],
           "results": {"qraft_sweep": q}}
    if a.qlib_topk:
        row.update(qlib_topk(a, tmp, snap, strategy))
    return row


def qlib_topk(a, tmp, snap, strategy):
    """Optional (--qlib-topk): pyqlib on ONE combination of the same strategy and data, timed; the
    ratio to Qraft's whole sweep is a projection (pyqlib time x combinations / Qraft time). Values:
    Qlib's daily account vs Qraft's equity curve of that combination (`qraft backtest --out`)."""
    params = {"lookback": 20, "k": 50, "drop": 5}
    qlib_dir = tmp / "qlib"
    qraft(a, "data", "export", snap, str(qlib_dir), "--format", "qlib")
    p = run_peer("qlib_topk", {"panel": panel_path(a, snap), "qlib_dir": str(qlib_dir), **params,
                               "open_cost": 5e-4, "close_cost": 15e-4, "min_cost": 5.0})
    shutil.rmtree(qlib_dir)
    log(f"  pyqlib, one combination: {p['best_s']:.1f} s")
    out = tmp / "topk_one"
    args = [x for k, v in params.items() for x in ("--params", f"{k}={v}")]
    subprocess.run([a.qraft, "backtest", str(strategy), "--data", snap, "--store", a.store, *args, "--out", str(out),
                    *no_cache(a, "backtest")], check=True, capture_output=True)
    equity = {}
    for f in out.glob("candidates/*/equity.csv"):
        with open(f, newline="") as fh:
            equity = {r["time"][:10]: float(r["equity"]) for r in csv.DictReader(fh)}
    account = p.pop("account")
    common = [t for t in account if t in equity]
    versions = p.pop("versions")
    ok = [rel_diff(equity[t], account[t]) <= 1e-6 for t in common]
    lead = ok.index(False) if False in ok else len(ok)
    check = {"days_compared": len(common), "tolerance": 1e-6, "agree": sum(ok), "agree_from_start": lead,
             "first_divergence": common[lead] if lead < len(common) else None,
             "max_rel_diff": max((rel_diff(equity[t], account[t]) for t in common), default=None),
             "last_day": common[-1] if common else None,
             "qraft_last": equity[common[-1]] if common else None, "qlib_last": account[common[-1]] if common else None}
    return {"pyqlib": {**p, "check": check, "versions": versions}}


def bench_minute(a, tmp):
    snap = synth_snapshot(a, "--symbols", "1", "--bars", str(a.minute_bars), "--freq", "1m", "--market",
                          "crypto_spot", "--seed", "7")
    strategy = STRATEGIES / "ma_minute_10k.yaml"
    info = strategy_info(a, strategy)
    assert info["combinations"] == len(MINUTE_FAST) * len(MINUTE_SLOW), info["combinations"]
    out_dir = tmp / "minute"
    log("  qraft sweep ma_minute_10k.yaml")
    q = without_runs(qraft_sweep(a, strategy, snap, a.long_repeat, out_dir))
    pairs = [(f, s) for f in MINUTE_VBT_FAST for s in MINUTE_VBT_SLOW]
    p = run_peer("vbt_minute", {"panel": panel_path(a, snap), "pairs": pairs, "chunk": a.vbt_minute_chunk,
                                "costs": MINUTE_COSTS, "repeat": a.vbt_repeat})
    log(f"  qraft: best {q['best_s']:.1f} s; vectorbt ({len(pairs)} combinations): best {p['best_s']:.1f} s")
    metrics = read_metrics(out_dir)
    grid = [(f, s) for f in MINUTE_FAST for s in MINUTE_SLOW]
    got = [(int(float(r["fast"])), int(float(r["slow"]))) for r in metrics]
    assert got == grid, "metrics.csv combinations differ from the peer's grid"
    by = {c: INITIAL_CAPITAL * (1 + float(r["total_return"])) for c, r in zip(got, metrics)}
    ours = [by[c] for c in pairs]
    native = p.pop("final_values")
    log("  checking results")
    r = run_peer("vbt_minute_check", {"panel": panel_path(a, snap), "pairs": pairs, "chunk": a.vbt_minute_chunk,
                                      "costs": MINUTE_COSTS})
    differing = [i for i, (q_, v_) in enumerate(zip(ours, native)) if rel_diff(q_, v_) > REL_TOL]
    check = {"qraft_vs_vectorbt": agreement(ours, native),
             "qraft_vs_vectorbt_on_qraft_signals": agreement(ours, r["final_values"]),
             "signals": r["signals"],
             "combinations_differing_without_signal_difference": sum(1 for i in differing if not r["differs"][i])}
    versions = p.pop("versions")
    return {"benchmark": "sweep_minute_10k", "snapshot": snap, "symbols": 1, "bars": int(metrics[0]["bars"]),
            "combinations": info["combinations"], "peer_combinations": len(pairs),
            "strategy": "bench/strategies/ma_minute_10k.yaml", "dsl_hash": info["dsl_hash"],
            "results": {"qraft_sweep": q, "vectorbt": p}, "check": check, "versions": versions}


BENCHES = {"ma_grid": bench_ma_grid, "memory": bench_memory, "topk": bench_topk, "minute": bench_minute}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qraft")
    ap.add_argument("--store")
    ap.add_argument("--sp500", help="sp500-5yr's CSV directory (ingested into --store once)")
    ap.add_argument("--symbols-limit", type=int, default=0, help="sp500: only the first N files (tests)")
    ap.add_argument("--synth-symbols", type=int, default=5000, help="topk: synthetic symbols")
    ap.add_argument("--synth-bars", type=int, default=5040, help="topk: synthetic daily bars")
    ap.add_argument("--minute-bars", type=int, default=2_600_000, help="minute: synthetic 1-minute bars")
    ap.add_argument("--repeat", type=int, default=5, help="Qraft runs per pass of ma_grid (two passes)")
    ap.add_argument("--long-repeat", type=int, default=1, help="Qraft runs of memory, topk and minute")
    ap.add_argument("--vbt-repeat", type=int, default=1, help="timed vectorbt runs (after a warm-up)")
    ap.add_argument("--vbt-chunk", type=int, default=20, help="ma_grid: symbols per vectorbt call")
    ap.add_argument("--vbt-minute-chunk", type=int, default=5, help="minute: combinations per vectorbt call")
    ap.add_argument("--qlib-topk", action="store_true",
                    help="topk: also time pyqlib on one combination (about 6 minutes on 5,000 x 5,040)")
    ap.add_argument("--only", default="ma_grid,memory,topk,minute")
    ap.add_argument("--peer", help="internal: run one peer in this process and print its JSON")
    ap.add_argument("--spec", help="internal: the peer's arguments (JSON)")
    a = ap.parse_args()
    if a.peer:
        print(json.dumps(PEERS[a.peer](json.loads(a.spec))))
        return
    with tempfile.TemporaryDirectory(prefix="qraft-bench-sweep-") as tmp:
        tmp = Path(tmp)
        for name in filter(None, a.only.split(",")):
            if name not in BENCHES:
                raise SystemExit(f"unknown benchmark {name}")
            if name in ("ma_grid", "memory") and not (a.sp500 and Path(a.sp500).is_dir()):
                log(f"skipping {name}: sp500-5yr not found ({a.sp500})")
                continue
            log(f"== sweep {name}")
            print(json.dumps(BENCHES[name](a, tmp)), flush=True)


if __name__ == "__main__":
    main()
