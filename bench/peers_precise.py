"""Speed of the precise engine's event-driven peers: the market_sma strategy of
scripts/peers/precise_golden.py (SMA(10) / SMA(30) of the close; on a cross up while flat, a market
buy of floor(0.95 x cash / close) shares; on a cross down while long, a market sell of the position;
0.1% commission; 100,000 USD) in backtrader and in NautilusTrader on one long single-asset series of
synthetic 1-minute bars.

    python3 bench/peers_precise.py [--bars 1000000] [--bt-bars N] [--seed 7] [--out-csv FILE]
        [--repeat 1] [--only backtrader,nautilus] [--precise-bench build/bench/precise_bench]

Prints one JSON object per contender (bench/run.sh style: "benchmark" =
precise_market_sma_<contender> (bench/report.py keys rows by benchmark; the section is "precise"),
"contender", "bars", "best_s", "median_s", "runs", "bars_per_s", "events_per_s", "fills",
"final_equity", "fee_bps", what is timed, versions, and the series' description). events_per_s =
5 x bars / best_s, the count bench/precise_bench.cc uses (4 price points and one strategy decision a
bar), so the rows compare directly.

The series (seeded, written before any timing; the same seed gives the same bytes): a GBM of
1-minute bars from 2020-01-01 00:00 UTC, open = the previous close, close = open x exp(0.0008 z),
high / low = max / min(open, close) x (1 +/- |0.0005 z'|), prices rounded to the cent (high and low
then widened to bracket open and close), volume 1,000,000 + floor(|z''| x 1,000,000) shares (so that
NautilusTrader's trade ticks, volume / 4 each, always cover an order: no partial fills). Written to
--out-csv (default: a temporary file) as `time,open,high,low,close,volume` with time in ns since the
epoch, the format `precise_bench --csv FILE` reads, so Qraft runs the same bars.

Each peer runs in a fresh process of its own environment: backtrader 1.9.78.123 in .venv-peers,
NautilusTrader 1.221.0 in .venv-peers/nautilus (it cannot share .venv-peers: it needs pandas < 3,
vectorbt there needs pandas >= 3; see scripts/peers/requirements.txt). Both use the strategy code of
scripts/peers/precise_golden.py, whose fills equal the reference there. What is timed:
  * backtrader: cerebro.run() with the defaults (preload, runonce): it includes the feed's loading
    of the bars from Python lists into backtrader's lines (backtrader cannot take prebuilt arrays);
    that part alone is reported as feed_preload_s (timed apart, not subtracted). CSV parsing and
    the conversion of the times to backtrader's date numbers are not timed. Fills at the next
    bar's open, as bench/precise_bench.cc (FillModel default kNextPrice).
  * NautilusTrader: engine.run() only; making the Bar objects (BarDataWrangler), add_data (which
    sorts them), the venue, the instrument and the strategy are not timed. Market orders fill at
    the decision bar's close (kLastPrice in Qraft's terms; in this series every open equals the
    previous close, so the prices are the same) and cash moves in whole cents.
--bt-bars N runs backtrader on the first N bars only (default: all; it takes about 30 s for
1,000,000 bars here); its row says how many, and throughput is per bar.

Orders: at 10 bps the strategy spends its cash on this random walk: about 8,300 fills in the first
~210,000 bars, after which 0.95 x cash buys less than one share and the rest of the run has almost
no orders. --fee-bps sets the commission for both peers (the Qraft run is skipped unless it is 10,
precise_bench's fixed fee). Fills may differ between engines at bars where SMA10 == SMA30 exactly
(the series' "sma_exact_ties", several hundred in 1,000,000 cent-priced bars): there each engine's
float SMA (backtrader: fsum / n; NautilusTrader: a mean of its window; precise_bench: running sums)
decides the cross. (Checked: the reference loop of precise_golden.py with running-sum SMAs gives
precise_bench's fills and final equity exactly; with fsum SMAs, backtrader's.)
--precise-bench PATH: also runs Qraft's bench/precise_bench on the same CSV (its own JSON line,
"contender": "qraft"). Logs go to stderr.
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS = {"backtrader": ROOT / ".venv-peers/bin/python", "nautilus": ROOT / ".venv-peers/nautilus/bin/python"}
BENCHMARK = "precise_market_sma"
START_NS = 1_577_836_800 * 10**9  # 2020-01-01 00:00 UTC
MINUTE_NS = 60 * 10**9


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- the series ----------------------------------------------------------------------------------

def write_series(path, bars, seed):
    """The seeded GBM series (see the module doc) as CSV; returns a short description."""
    import numpy as np

    rng = np.random.default_rng(seed)
    z = rng.standard_normal((3, bars))
    close = 100.0 * np.exp(np.cumsum(0.0008 * z[0]))
    open_ = np.concatenate(([100.0], close[:-1]))
    wiggle = np.abs(0.0005 * z[1])
    o, c = np.round(open_, 2), np.round(close, 2)
    h = np.maximum(np.round(np.maximum(open_, close) * (1 + wiggle), 2), np.maximum(o, c))
    lo = np.minimum(np.round(np.minimum(open_, close) * (1 - wiggle), 2), np.minimum(o, c))
    vol = 1_000_000 + np.floor(np.abs(z[2]) * 1_000_000)
    if lo.min() <= 0:
        raise SystemExit("non-positive price in the series: use another seed")
    # Bars where SMA10 == SMA30 exactly (3 x sum10 == sum30 in cents): there each engine's float
    # rounding of its SMAs decides a cross, so fills may differ between engines from such a bar on.
    cents = np.concatenate(([0], np.cumsum(np.round(c * 100).astype(np.int64))))
    s10 = cents[30:] - cents[20:-10]
    s30 = cents[30:] - cents[:-30]
    ties = int(np.count_nonzero(3 * s10 == s30))
    t = START_NS + np.arange(bars, dtype=np.int64) * MINUTE_NS
    with open(path, "w") as f:
        f.write("time,open,high,low,close,volume\n")
        for row in zip(t.tolist(), o.tolist(), h.tolist(), lo.tolist(), c.tolist(), vol.astype(np.int64).tolist()):
            f.write("%d,%.2f,%.2f,%.2f,%.2f,%d\n" % row)
    # The largest order is 0.95 x cash / close; checked against a tick's volume (volume / 4).
    return {"bars": bars, "seed": seed, "min_low": float(lo.min()), "max_high": float(h.max()),
            "min_volume": int(vol.min()), "sma_exact_ties": ties}


def read_series(path, limit):
    """The CSV's first `limit` bars as columns (floats as parsed by Python)."""
    cols = {k: [] for k in ("time", "open", "high", "low", "close", "volume")}
    with open(path, newline="") as f:
        r = csv.reader(f)
        next(r)
        for i, row in enumerate(r):
            if i >= limit:
                break
            cols["time"].append(int(row[0]))
            for k, v in zip(("open", "high", "low", "close"), row[1:5]):
                cols[k].append(float(v))
            cols["volume"].append(int(row[5]))
    return cols


# ---- the peers (each in its own process: --peer NAME) -------------------------------------------

def golden():
    sys.path.insert(0, str(ROOT / "scripts/peers"))
    import precise_golden

    return precise_golden


def timing(times):
    return {"best_s": min(times), "median_s": statistics.median(times), "runs": len(times)}


def peer_backtrader(a):
    import datetime as dt

    import backtrader as bt

    g = golden()
    cols = read_series(a.csv, a.bt_bars)
    n = len(cols["time"])
    epoch = dt.datetime(1970, 1, 1)
    cols["dt"] = [bt.date2num(epoch + dt.timedelta(microseconds=t // 1000)) for t in cols["time"]]
    # The feed's loading alone (what cerebro.run() does first with preload=True).
    feed = g.backtrader_feed(cols)
    bt.Cerebro().adddata(feed)  # the feed needs an environment (its trading calendar)
    t0 = time.perf_counter()
    feed._start()
    feed.preload()
    feed_s = time.perf_counter() - t0
    del feed
    times, s, cerebro = [], None, None
    for _ in range(a.repeat):
        cerebro, _strategy = g.backtrader_cerebro(cols, "market_sma", commission=a.fee_bps / 1e4)
        t0 = time.perf_counter()
        s = cerebro.run()[0]
        times.append(time.perf_counter() - t0)
    equity = cerebro.broker.getcash() + s.position.size * cols["close"][-1]
    return {**timing(times), "bars": n, "fills": len(s.fills), "final_equity": equity,
            "feed_preload_s": feed_s,
            "timed": "cerebro.run() (defaults: preload, runonce), including the feed's loading of the "
                     "bars from Python lists (feed_preload_s alone); CSV parsing not timed",
            "fills_at": "next bar's open", "versions": {"backtrader": bt.__version__, "python": sys.version.split()[0]}}


def peer_nautilus(a):
    import nautilus_trader
    import pandas as pd
    from nautilus_trader.model.currencies import USD
    from nautilus_trader.model.data import BarType
    from nautilus_trader.persistence.wranglers import BarDataWrangler

    g = golden()
    cols = read_series(a.csv, a.bars)
    n = len(cols["time"])
    inst = g.nautilus_instrument(symbol="X", venue="SIM", price_precision=2, fee=a.fee_bps / 1e4)
    bar_type = BarType.from_str(f"{inst.id}-1-MINUTE-LAST-EXTERNAL")
    df = pd.DataFrame({k: cols[k] for k in ("open", "high", "low", "close", "volume")},
                      index=pd.to_datetime(cols["time"], unit="ns", utc=True))
    bars = BarDataWrangler(bar_type, inst).process(df)
    del df, cols["time"]
    times, s, engine = [], None, None
    for _ in range(a.repeat):
        if engine is not None:
            engine.dispose()
        engine = g.nautilus_engine(inst, bar_type, bars)
        s = g.make_nautilus_strategy("market_sma", inst.id, bar_type, record=False)
        engine.add_strategy(s)
        t0 = time.perf_counter()
        engine.run()
        times.append(time.perf_counter() - t0)
    cash = engine.portfolio.account(inst.id.venue).balance_total(USD).as_double()
    equity = cash + s.position_size() * cols["close"][-1]
    engine.dispose()
    return {**timing(times), "bars": n, "fills": s.n_fills, "final_equity": equity,
            "timed": "engine.run() only (BarDataWrangler, add_data, venue, instrument and strategy set-up "
                     "not timed); logging bypassed",
            "fills_at": "decision bar's close",
            "versions": {"nautilus_trader": nautilus_trader.__version__, "pandas": pd.__version__,
                         "python": sys.version.split()[0]}}


PEER_FNS = {"backtrader": peer_backtrader, "nautilus": peer_nautilus}


def run_peer(name, a, csv_path):
    py = PEERS[name]
    if not py.exists():
        raise SystemExit(f"{py} not found: see scripts/peers/requirements.txt")
    log(f"  {name} (fresh process, {py.parent.parent.relative_to(ROOT)})")
    cmd = [str(py), __file__, "--peer", name, "--csv", str(csv_path), "--bars", str(a.bars),
           "--bt-bars", str(a.bt_bars), "--repeat", str(a.repeat), "--fee-bps", repr(a.fee_bps)]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONHASHSEED": "0"}).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_qraft(a, csv_path):
    log(f"  qraft ({a.precise_bench})")
    out = subprocess.run([a.precise_bench, "--csv", str(csv_path), "--repeat", str(max(a.repeat, 1))],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    r.pop("bench", None)
    return {**r, "timed": "see bench/precise_bench.cc (engine set-up and run; CSV parsing not timed)",
            "fills_at": "next bar's open (FillModel default)"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bars", type=int, default=1_000_000, help="bars in the series (NautilusTrader runs all)")
    ap.add_argument("--bt-bars", type=int, default=None,
                    help="bars backtrader runs (the first N; default: all of --bars)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out-csv", help="where to write the series (default: a temporary file, removed)")
    ap.add_argument("--repeat", type=int, default=1, help="timed runs per peer (best and median kept)")
    ap.add_argument("--fee-bps", type=float, default=10.0,
                    help="commission in basis points of the traded value (10 = the 0.1%% of precise_bench)")
    ap.add_argument("--only", default="backtrader,nautilus")
    ap.add_argument("--precise-bench", help="also run Qraft's bench/precise_bench binary on the same CSV")
    ap.add_argument("--topk", nargs=3, metavar=("QRAFT", "STORE", "SNAPSHOT"),
                    help="also time `qraft backtest bench/strategies/topk_sp500_precise.yaml --engine precise` "
                         "on SNAPSHOT (sp500-5yr) in STORE, end to end, --repeat times")
    ap.add_argument("--peer", help="internal: run one peer in this process and print its JSON")
    ap.add_argument("--csv", help="internal: the series (with --peer)")
    a = ap.parse_args()
    if a.bt_bars is None:
        a.bt_bars = a.bars
    if a.peer:
        print(json.dumps(PEER_FNS[a.peer](a)))
        return
    with tempfile.TemporaryDirectory(prefix="qraft-bench-precise-") as tmp:
        csv_path = Path(a.out_csv) if a.out_csv else Path(tmp) / "series.csv"
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        log(f"== precise market_sma: writing {a.bars:,} synthetic 1-minute bars to {csv_path}")
        series = write_series(csv_path, a.bars, a.seed)
        largest = 0.95 * 1e6 / series["min_low"]  # a generous bound: cash never reaches 10x here
        if largest > series["min_volume"] / 4:
            log(f"  warning: an order could exceed a tick's volume ({largest:.0f} > {series['min_volume'] / 4:.0f})")
        series["csv"] = str(csv_path) if a.out_csv else None
        contenders = [c for c in a.only.split(",") if c]
        for name in contenders:
            if name not in PEER_FNS:
                raise SystemExit(f"unknown peer {name}")
            r = run_peer(name, a, csv_path)
            r.update(bars_per_s=r["bars"] / r["best_s"], events_per_s=5 * r["bars"] / r["best_s"])
            log(f"  {name}: {r['bars']:,} bars in {r['best_s']:.2f} s, {r['bars_per_s']:,.0f} bars/s")
            print(json.dumps({"benchmark": f"{BENCHMARK}_{name}", "contender": name, **r, "fee_bps": a.fee_bps,
                              "series": series}), flush=True)
        if a.topk:
            time_topk(a)
        if a.precise_bench and a.fee_bps != 10:
            log("  qraft skipped: precise_bench charges 10 bps")
        elif a.precise_bench:
            r = run_qraft(a, csv_path)
            print(json.dumps({"benchmark": f"{BENCHMARK}_qraft", "contender": "qraft", **r, "fee_bps": 10.0,
                              "series": series}), flush=True)


def time_topk(a):
    """Wall-clock time of the precise engine's top-k backtest on sp500-5yr, process start to exit."""
    qraft, store, snap = a.topk
    strategy = Path(__file__).resolve().parent / "strategies" / "topk_sp500_precise.yaml"
    cmd = [qraft, "backtest", str(strategy), "--engine", "precise", "--data", snap, "--store", store, "--json"]
    times, out = [], None
    for _ in range(max(1, a.repeat) + 1):  # the first run warms the page cache, untimed
        t0 = time.perf_counter()
        out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        times.append(time.perf_counter() - t0)
    times = sorted(times[1:])
    print(json.dumps({"benchmark": "precise_topk_sp500", "contender": "qraft", "best_s": times[0],
                      "median_s": times[len(times) // 2], "runs": len(times), "orders": out["orders"],
                      "fills": out["fills"], "bars": out["metrics"]["bars"],
                      "total_return": out["metrics"]["total_return"]}), flush=True)


if __name__ == "__main__":
    main()
