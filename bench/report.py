"""Writes bench/RESULTS.md from the JSON lines of bench/peers*.py and Google Benchmark's JSON.

  report.py PEERS_JSONL GBENCH_JSON RESULTS_MD      write the report
  report.py --merge SECTION NEW_JSONL PEERS_JSONL   stamp NEW_JSONL's rows with this run (section, date,
                                                    commit) and put them into PEERS_JSONL in place of
                                                    that section's previous rows (bench/run.sh, BENCH_ONLY)
  report.py --stamp FILE                            write this run's {date, commit} to FILE (the
                                                    micro-benchmarks' gbench.json carries no commit)
"""
import json
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

# What each side does in the issue-3 rows (bench/peers_expr.py has the code of both sides).
WHAT_ISSUE3 = [
    "What each side does. The data: sp500-5yr has no vwap, which Alpha158's VWAP0 reads, so the benchmark",
    "ingests a copy of its CSV files with vwap = (high + low + close) / 3 (as in Qlib's own mock data); pyqlib",
    "reads that snapshot through `qraft data export --format qlib` (float32 .bin files, as Qlib stores them).",
    "",
    "- Alpha158, Qraft in process (bench/expr_bench): loads the six fields of the snapshot (memory-mapped),",
    "  compiles the 158 expressions into one graph (shared subexpressions computed once), evaluates it over",
    "  all symbols on all cores and materialises all 158 outputs as one Panel (505 × 1,259 × 158 doubles).",
    "  Best of the warm runs after a first one. `qraft expr eval` does the same from process start to exit,",
    "  with the 158 factors as NAME=EXPR arguments, printing one table row.",
    "- Alpha158, pyqlib: `qlib.init(provider_uri=<export>, expression_cache=None, dataset_cache=None)`, then",
    "  `D.features(D.instruments('all'), <158 expressions>, freq='day')`: Qlib's own expression engine reads",
    "  the .bin files and computes every expression per instrument with pandas, returning one DataFrame.",
    "  One warm-up call (all expressions, 10 instruments), then the timed calls, each after clearing Qlib's",
    "  in-memory feature cache (H['f']) so that nothing computed by an earlier call is reused. `kernels` is",
    "  Qlib's default for the machine (max(cores - 2, 1) = 1 worker on 2 cores; in a trial run with 2",
    "  worker processes Qlib took 36 s instead of 26 s); QLIB_KERNELS overrides it.",
    "  The values check compares both sides' outputs on the symbols named above, all 158 factors. The",
    "  Corr rows that differ trace back to Log($volume+1) in float32: numpy's float32 log (its SIMD path on",
    "  this CPU) is not correctly rounded, Qraft's is (AAPL 2015-04-30: numpy 18.236703872680664, correctly",
    "  rounded 18.23670196533203, one float32 ulp apart); in a short, nearly uncorrelated window that ulp",
    "  moves the correlation by ~1e-6, beyond the check's tolerance. Recomputing such a window exactly from",
    "  the same float32 inputs reproduces pyqlib's value with numpy's logs and Qraft's with correct ones.",
    "- 20-factor subset: the same expressions, Qraft in native semantics (float64, a window needs all its",
    "  rows: NaN until it is full and wherever it holds a missing value), against a Polars lazy query over",
    "  the snapshot's bars.parquet in long format (symbol, date, fields; read into memory before timing),",
    "  each factor written with Polars' own operators and their defaults (rolling_mean/std/max/min/",
    "  quantile(linear)/rank(average)/corr/cov with min_samples = window, shift) `.over('symbol')`; Slope as",
    "  rolling_cov(position, close) / var(position). Timed: `collect()` of the 20 columns. Both use both cores.",
    "- Indicators: bench/ta_bench writes one 10,000,000-bar OHLCV series (seeded mean-reverting random",
    "  walk) to a file; TA-Lib's `talib.FUNC(...)` reads the same bytes (numpy.fromfile). Each call computes",
    "  the whole series into newly allocated output arrays, allocated on both sides the way numpy does it",
    "  (malloc plus madvise(MADV_HUGEPAGE), which matters for page-fault cost on this kernel); every output",
    "  of MACD, BBANDS and STOCH is computed. Best of the timed calls after one warm-up, over two passes.",
    "  Qraft's kernels also handle missing values (TA-Lib does not); this series has none. The values column",
    "  compares the NaN counts, the sums of each output and three sampled values; WMA differs by ~1e-8 at",
    "  the end of the series because TA-Lib's running WMA sum drifts over 10M updates (Qraft re-sums its",
    "  window every 1,024 rows; checked against an exact fsum, Qraft is within 1e-13). TRANGE, MOM and ROC",
    "  are elementwise and run at memory speed on both sides (TRANGE reads three 80 MB inputs and writes",
    "  one; perf puts a quarter of Qraft's time in the kernel zeroing the new output's pages and the rest in",
    "  the loop), so their ratios sit near 1.0 and their verdicts can flip from one run to the next.",
    "- Memory: bench/expr_bench --stream on the 5,000 × 5,000 synthetic snapshot: the 158 outputs go chunk",
    "  by chunk to a sink that only folds a checksum, so they are never all resident; peak RSS is the",
    "  process's ru_maxrss (the memory-mapped input fields that the evaluation touches count in it).",
]


def machine():
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    cores = len([l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("processor")])
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 2**20
    return f"{cpu}, {cores} cores, {mem:.0f} GiB RAM, {platform.system()} {platform.release()}"


def commit():
    rev = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/RESULTS.md"],
                           capture_output=True, text=True).stdout
    return rev + (" (with uncommitted changes)" if dirty.strip() else "")


def fmt_s(x):
    return f"{x * 1000:.0f} ms" if x < 10 else f"{x:.1f} s"


def fmt_ms(x):
    return f"{x * 1000:.1f} ms" if x < 0.1 else fmt_s(x)


def verdict(ok):
    return "met" if ok else "**not met**"


# The section of bench/run.sh (BENCH_ONLY) each benchmark belongs to, for rows written before rows
# were stamped with their run.
SECTIONS = {"ingest_sp500": "peers", "load_panel_5000x5000": "peers", "alpha158_sp500": "expr",
            "subset20_sp500": "expr", "ta_10m": "expr", "memory_alpha158_5000x5000": "expr"}


def section_of(row):
    run = row.get("run") or {}
    return run.get("section") or SECTIONS.get(row["benchmark"]) or row["benchmark"].split("_")[0]


def this_run():
    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit()}


def merge(section, new_path, peers_path):
    """Rows of NEW_JSONL, stamped with this run, replace PEERS_JSONL's rows of `section`; the other
    sections' rows are kept as they are (each with its own run)."""
    stamp = {"section": section, **this_run()}
    new = [json.loads(l) for l in Path(new_path).read_text().splitlines() if l.startswith("{")]
    for r in new:
        r["run"] = stamp
    peers = Path(peers_path)
    old = [json.loads(l) for l in peers.read_text().splitlines() if l.startswith("{")] if peers.exists() else []
    kept = [r for r in old if section_of(r) != section]
    tmp = peers.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in kept + new))
    tmp.replace(peers)


def run_text(runs):
    """'date, commit' of the runs that produced a section's rows (normally one)."""
    seen = []
    for r in runs:
        t = f"{r['date']}, commit {r['commit']}" if r else "run not recorded"
        if t not in seen:
            seen.append(t)
    return "; ".join(seen)


def run_line(by, names):
    runs = [by[n].get("run") for n in names if n in by]
    return [f"Run: {run_text(runs)}.", ""] if runs else []


def check_text(c):
    """One sentence on a value check between Qraft and a peer (bench/peers_expr.py compare_csv)."""
    text = (f"{c['agree']:,} of {c['cells']:,} values agree ({', '.join(c['symbols'])}; both missing, or "
            f"|Qraft - peer| <= {c['tolerance']})")
    if c["mismatched_by_factor"]:
        text += "; differing: " + ", ".join(f"{k} {v}" for k, v in c["mismatched_by_factor"].items())
        if "max_abs_diff_mismatched" in c:
            text += f" (by at most {c['max_abs_diff_mismatched']:.1e} in absolute value"
            text += f"; {c['missing_on_one_side']} missing on one side only)" if c["missing_on_one_side"] else ")"
    return text + "."


def cores(q):
    return (f"Qraft's best run used {q['best_cpu_s']:.2f} CPU-seconds in {q['best_s']:.2f} s "
            f"({q['best_cpu_s'] / q['best_s']:.2f} cores busy on average)")


def issue3(by):
    """The "Targets (issue 3)" rows and the section describing the issue-3 benchmarks."""
    targets, section = [], []
    table = ["| benchmark | Qraft | peer | peer time | ratio |", "| --- | --- | --- | --- | --- |"]
    notes = []
    if "alpha158_sp500" in by:
        b = by["alpha158_sp500"]
        r, v = b["results"], b["versions"]
        q, cli, p = r["qraft_inprocess"], r["qraft_cli"]["best_s"], r["pyqlib"]
        label = (f"Alpha158, 158 factors, Qlib semantics, sp500-5yr ({q['symbols']} × {q['times']:,}); "
                 f"{q['nodes']} distinct nodes after sharing")
        peer = f"pyqlib {v['pyqlib']} `D.features` (pandas {v['pandas']}, kernels={p['kernels']})"
        table.append(f"| {label}: in process (load + compile + evaluate) | {fmt_s(q['best_s'])} | {peer} | "
                     f"{fmt_s(p['best_s'])} | {p['best_s'] / q['best_s']:.1f}× |")
        table.append(f"| Alpha158, sp500-5yr: `qraft expr eval` end to end (process start to exit) | {fmt_s(cli)} | "
                     f"{peer} | {fmt_s(p['best_s'])} | {p['best_s'] / cli:.1f}× |")
        targets.append(f"| Alpha158 (158 factors, sp500-5yr) ≥ 30× faster than pyqlib — in process | "
                       f"{p['best_s'] / q['best_s']:.1f}× | {verdict(p['best_s'] / q['best_s'] >= 30)} |")
        targets.append(f"| Alpha158 ≥ 30× faster than pyqlib — `qraft expr eval` end to end | "
                       f"{p['best_s'] / cli:.1f}× | {verdict(p['best_s'] / cli >= 30)} |")
        targets.append(f"| Alpha158 on sp500-5yr under 2 s — in process | {fmt_s(q['best_s'])} | {verdict(q['best_s'] < 2)} |")
        targets.append(f"| Alpha158 on sp500-5yr under 2 s — `qraft expr eval` end to end | {fmt_s(cli)} | "
                       f"{verdict(cli < 2)} |")
        notes.append(f"- Alpha158 values, Qraft (qlib semantics) vs pyqlib: {check_text(b['check'])} "
                     f"Qraft's time in process splits into load {fmt_ms(q['best_load_s'])}, compile "
                     f"{fmt_ms(q['best_compile_s'])}, evaluate {fmt_ms(q['best_eval_s'])}; {cores(q)}; medians: "
                     f"Qraft {fmt_s(q['median_s'])}, pyqlib {fmt_s(p['median_s'])}.")
    if "subset20_sp500" in by:
        b = by["subset20_sp500"]
        r, v = b["results"], b["versions"]
        q, p = r["qraft_inprocess"], r["polars"]
        table.append(f"| 20 Alpha158 factors, native semantics, sp500-5yr, in process | {fmt_s(q['best_s'])} | "
                     f"Polars {v['polars']} lazy query on the long-format bars, {p['threads']} threads | "
                     f"{fmt_s(p['best_s'])} | {p['best_s'] / q['best_s']:.1f}× |")
        targets.append(f"| 20-factor subset ≥ 3× faster than Polars | {p['best_s'] / q['best_s']:.1f}× | "
                       f"{verdict(p['best_s'] / q['best_s'] >= 3)} |")
        notes.append(f"- The 20 factors: {', '.join(b['factors'])}. Values, Qraft (native) vs Polars: "
                     f"{check_text(b['check'])} {cores(q)}; medians: Qraft "
                     f"{fmt_s(q['median_s'])}, "
                     f"Polars {fmt_s(p['median_s'])}.")
    if "ta_10m" in by:
        b = by["ta_10m"]
        v = b["versions"]
        slower = []
        ta = ["| indicator (TA-Lib defaults) | Qraft | TA-Lib | ratio | Qraft no slower | values |",
              "| --- | --- | --- | --- | --- | --- |"]
        for name, x in b["indicators"].items():
            ratio = x["talib_best_s"] / x["qraft_best_s"]
            if ratio < 1:
                slower.append(f"{name} {ratio:.2f}×")
            same = ("same NaN count, " if x["same_nan"] else "**NaN counts differ**, ") + \
                f"max rel. diff {x['max_rel_diff']:.0e}"
            ta.append(f"| {name} | {fmt_ms(x['qraft_best_s'])} | {fmt_ms(x['talib_best_s'])} | {ratio:.2f}× | "
                      f"{verdict(ratio >= 1)} | {same} |")
        n = len(b["indicators"])
        targets.append(f"| indicators: Qraft no slower than TA-Lib C, per indicator ({n} functions, "
                       f"{b['bars']:,} bars) | {n - len(slower)} of {n} no slower"
                       f"{'; slower: ' + ', '.join(slower) if slower else ''} | {verdict(not slower)} |")
        section_ta = ["", f"Indicators on one {b['bars']:,}-bar OHLCV series, single-threaded, Qraft's kernels vs "
                      f"TA-Lib C {v['TA-Lib C'].split()[0]} through `ta-lib` {v['ta-lib']} (numpy {v['numpy']}); "
                      "ratio = TA-Lib time / Qraft time:", "", *ta]
    else:
        section_ta = []
    if "memory_alpha158_5000x5000" in by:
        m = by["memory_alpha158_5000x5000"]["results"]["qraft_stream"]
        rss = m["peak_rss_bytes"]
        targets.append(f"| Alpha158 on 5,000 × 5,000 (qlib semantics, streamed) peak RSS under 4 GiB | "
                       f"{rss / 2**30:.2f} GiB, in {fmt_s(m['best_s'])} | {verdict(rss < 4 * 2**30)} |")
        table.append(f"| Alpha158, Qlib semantics, 5,000 × 5,000 synthetic panel, outputs streamed to a checksum "
                     f"sink: peak RSS {rss / 2**30:.2f} GiB | {fmt_s(m['best_s'])} | (Qraft alone) | | |")
    if len(table) > 2 or section_ta:
        section = ["## Expressions and indicators (issue 3), same run", "", *table, *section_ta, "", *notes]
    return targets, section


# What each side does in the issue-4 rows (bench/peers_sweep.py has the code of both sides).
WHAT_ISSUE4 = [
    "What each side does. Qraft: `qraft sweep STRATEGY --data SNAPSHOT --out DIR` timed from process start to",
    "exit (load the snapshot, compile every combination's expressions in shared batches, evaluate them, simulate",
    "every combination, write metrics.csv with all metrics of every combination), on a snapshot ingested or",
    "generated beforehand; both cores. The strategies are in bench/strategies/.",
    "",
    "- MA grid (ma_grid.yaml): SMA(close, fast) > SMA(close, slow) enters, < exits, fast and slow in 4, 8, ..., 200",
    "  with fast < slow; fee_bps 1, spread_bps 2; next-open fills. vectorbt does the same work the way its",
    "  documentation does a window grid: per chunk of symbols (VBT_CHUNK, 20 by default: vectorbt holds every",
    "  combination's means, signals and prices at once, about 4 GB for 20 symbols, and the whole of sp500 does",
    "  not fit in memory), `MA.run_combs(close, window=windows, r=2)` (each window's rolling mean computed once,",
    "  then laid out per combination), `fast.ma_above(slow)` / `ma_below` shifted one bar",
    "  (`.vbt.signals.fshift(1)`), `Portfolio.from_signals(open, entries, exits, size=inf, size_type='amount',",
    "  direction='longonly', accumulate=False, init_cash=1e6 / S, fees=1e-4, slippage=1e-4)` and",
    "  `final_value()`, summed over symbols per combination. That is Qraft's semantics exactly",
    "  (src/qraft/engines/backtest.h, signal_sim.h): each symbol its own sub-portfolio with capital / S, a",
    "  decision on bar t's close filled at bar t+1's open (fills and valuation at the opens, the last valid",
    "  open carried forward), entries on rebalance bars (1D: every bar), fees = fee_bps / 1e4, slippage =",
    "  spread_bps / 2e4. Timed: loading the snapshot's panel.arrow into numpy/pandas and the whole chunk loop,",
    "  after an untimed warm-up call that compiles vectorbt's numba functions (imports not timed). vectorbt",
    "  runs single-threaded (numba, no parallel option in from_signals); Qraft's CPU time is given beside.",
    "  vectorbt's optional Rust engine (vectorbt-rust, in scripts/peers/requirements.txt) is installed, so",
    "  vectorbt runs its fastest setup (engine 'auto' picks Rust; the table names the engine used; in a",
    "  trial on 40 symbols it took 0.7× numba's time).",
    "  Qraft runs before and after vectorbt, best kept; vectorbt runs VBT_REPEAT times (1 by default: minutes).",
    "- Equality (untimed). Qraft's metrics.csv (final value = 1e6 × (1 + total_return), fees, closed trades) is",
    "  compared per combination with vectorbt's. The two SMAs are computed differently (vectorbt: differences",
    "  of one running cumulative sum over the whole series; Qraft: a sliding window sum re-summed every 1,024",
    "  bars, times 1/n), so they differ in the last bits, and where the two means are *exactly* equal on the",
    "  decimal prices (an exact tie, e.g. four closes whose mean equals the mean of eight) each engine's",
    "  `fast > slow` is decided by rounding noise, and a flipped signal changes a trade. The check therefore",
    "  (1) recomputes Qraft's SMA operation for operation in numba and checks it bit for bit against",
    "  `qraft expr eval`; (2) compares, at every (combination, symbol, bar), the signals from those means with the",
    "  signals from vectorbt's own `MA.run` means, and classifies every difference with exact integer arithmetic",
    "  on the decimal prices (window sums of price × 10^4); (3) runs vectorbt's from_signals, configured as",
    "  above, on the Qraft-identical signals. (3) must equal Qraft on every combination; every (combination,",
    "  symbol) whose value differs between vectorbt on its own means and vectorbt on Qraft's must hold a",
    "  signal difference, and every signal difference must be a near-tie (|fast − slow| ≤ 1e-9 × close).",
    "- 10,000 combinations (ma_grid_10k.yaml): the same strategy, fast and slow in 2, 4, ..., 200, no `where`;",
    "  peak RSS is the child's ru_maxrss (wait4), the memory-mapped snapshot pages it touches included.",
    "- Top-k (topk_synthetic.yaml): `qraft data synth --symbols 5000 --bars 5040 --seed 7` (20 years of daily",
    "  bars); selection topk by ROC(close, lookback), n_drop, fee_bps 5, tax_bps 10, min_fee 5, fills at the",
    "  next open (Qlib's TopkDropout + Exchange semantics); lookback 5..50, k 10..100, n_drop 1..10. No peer by",
    "  default; with QLIB_TOPK=1, pyqlib runs ONE combination of the same strategy on the same data (exported",
    "  with `qraft data export --format qlib`; ROC with Qraft's rule: NaN when the window holds a missing close),",
    "  about 6 minutes, and the ratio to Qraft's whole sweep is a projection: pyqlib time × combinations.",
    "- Minute (ma_minute_10k.yaml): `qraft data synth --symbols 1 --bars 2600000 --freq 1m --market",
    "  crypto_spot --seed 7`; SMA crossover, fast 5, 10, ..., 500 × slow 600, 620, ..., 2,580 (10,000",
    "  combinations), fee_bps 10, spread_bps 2, decisions every bar, next-open fills. vectorbt runs a",
    "  100-combination subset of the same grid (every 10th fast × every 10th slow window), 5 combinations per",
    "  call (vectorbt allocates an order record per bar and column: about 4 GB):",
    "  `MA.run(close, fast windows)`, `MA.run(close, slow windows)` (column i pairs with column i),",
    "  ma_above / ma_below shifted one bar, from_signals as above (init_cash 1e6). The ratio compares time per",
    "  combination (a throughput ratio, not the same total work). The 100 final values are compared, and",
    "  checked as in the MA grid (signal differences classified; vectorbt re-run on Qraft-identical signals).",
]


def fmt_gib(b):
    return f"{b / 2**30:.2f} GiB"


def issue4(by):
    """The "Targets (issue 4)" rows and the "Sweeps, same run" section."""
    targets, notes = [], []
    table = ["| benchmark | Qraft | peer | peer time | ratio |", "| --- | --- | --- | --- | --- |"]
    names = ["sweep_ma_grid_sp500", "sweep_memory_10k_sp500", "sweep_topk_synthetic", "sweep_minute_10k"]

    def scale(b):
        return f"{b['symbols']:,} × {b['bars']:,}"

    if "sweep_ma_grid_sp500" in by:
        b = by["sweep_ma_grid_sp500"]
        q, p, c, v = b["results"]["qraft_sweep"], b["results"]["vectorbt"], b["check"], b["versions"]
        n = b["combinations"]
        ratio = p["best_s"] / q["best_s"]
        native, same = c["qraft_vs_vectorbt"], c["qraft_vs_vectorbt_on_qraft_signals"]
        sig, cells, rep = c["signals"], c["cells"], c["replica_sma"]
        exact = sig.get("exact_decimal") or {}
        explained = (cells["differing_without_signal_difference"] == 0
                     and sig["cells_within_1e-9"] == sig["cells_differing"])
        equal = (same["agree"] == n and same["fees"]["agree"] == n and same["trades_equal"] == n
                 and rep["bitwise_equal"] == rep["values"] and explained)
        label = f"MA grid, {n:,} combinations, sp500-5yr ({scale(b)})"
        targets.append(f"| {label}: `qraft sweep` end to end ≥ 20× faster than vectorbt | {ratio:.1f}× | "
                       f"{verdict(ratio >= 20)} |")
        targets.append(f"| {label}: equal results | {native['agree']:,} of {n:,} combinations equal to vectorbt's "
                       f"own run within {native['tolerance']:g}, the others differ only through signals flipped "
                       f"at ties of the two means; {same['agree']:,} of {n:,} equal given the same signals | "
                       f"{verdict(equal)} |")
        table.append(f"| {label}, SMA crossover 50 × 50 windows: `qraft sweep` end to end | {fmt_s(q['best_s'])} | "
                     f"vectorbt {v['vectorbt']} `MA.run_combs` + `from_signals` (numba {v['numba']}, engine "
                     f"{v['engine']}), {p['chunk']} symbols per call | {fmt_s(p['best_s'])} | {ratio:.1f}× |")
        notes.append(
            f"- MA grid values, Qraft vs vectorbt on its own means: {native['agree']:,} of {n:,} combinations have the "
            f"same final value within {native['tolerance']:g} (relative). The signals of the two differ at "
            f"{sig['cells_differing']:,} of {sig['cells_compared']:,} (combination, symbol, bar) cells, in "
            f"{sig['combinations_differing']:,} combinations; all {sig['cells_within_1e-9']:,} have "
            f"|fast − slow| ≤ "
            f"1e-9 × close (largest {sig['max_gap_over_close']:.1e})"
            + (f", and every one of them is an exact tie of the two means on the decimal prices "
               f"({exact['differing_cells_exact_tie']:,} of {sig['cells_differing']:,})"
               if exact and exact["differing_cells_exact_tie"] == sig["cells_differing"] else
               (f"; exact ties among them: {exact['differing_cells_exact_tie']:,}" if exact else ""))
            + f". {cells['differing_final_values']:,} (combination, symbol) values differ between vectorbt on its own "
            f"signals and on Qraft's, {cells['differing_without_signal_difference']} of them without a signal "
            f"difference. Given Qraft's signals (its SMA recomputed operation for operation: "
            f"{rep['bitwise_equal']:,} of {rep['values']:,} values bit for bit equal to `qraft expr eval`), vectorbt "
            f"equals Qraft on {same['agree']:,} of {n:,} final values (largest difference "
            f"{same['max_rel_diff']:.0e}), {same['fees']['agree']:,} fee totals and {same['trades_equal']:,} "
            f"closed-trade counts.")
        if exact:
            notes.append(
                f"- Exact ties: over all cells, the two means are exactly equal on the decimal prices at "
                f"{exact['all_cells_exact_ties']:,} (combination, symbol, bar) cells; there Qraft's means still "
                f"give a long or exit signal at {exact['exact_ties_qraft_signal']:,} (vectorbt's at "
                f"{exact['exact_ties_vbt_signal']:,}): rounding noise decides, on both sides. Where the means are not "
                f"tied, Qraft's comparison has the exact sign everywhere "
                f"({exact['not_tied_qraft_wrong_sign']} wrong; vectorbt's: {exact['not_tied_vbt_wrong_sign']}).")
        notes.append(f"- MA grid times: {cores(q)}; peak RSS {fmt_gib(q['peak_rss_bytes'])}. vectorbt "
                     f"(one core): peak RSS {fmt_gib(p['peak_rss_bytes'])}, {p['runs']} timed run(s). Medians: Qraft "
                     f"{fmt_s(q['median_s'])}, vectorbt {fmt_s(p['median_s'])}.")
    if "sweep_memory_10k_sp500" in by:
        b = by["sweep_memory_10k_sp500"]
        q = b["results"]["qraft_sweep"]
        rss = q["peak_rss_bytes"]
        targets.append(f"| {b['combinations']:,} combinations on sp500-5yr ({scale(b)}): peak RSS under 1 GiB | "
                       f"{fmt_gib(rss)}, in {fmt_s(q['best_s'])} | {verdict(rss < 2**30)} |")
        table.append(f"| MA grid 100 × 100 windows, {b['combinations']:,} combinations, sp500-5yr ({scale(b)}): "
                     f"peak RSS {fmt_gib(rss)} | {fmt_s(q['best_s'])} | (Qraft alone) | | |")
        notes.append(f"- 10,000 combinations: {cores(q)}.")
    if "sweep_topk_synthetic" in by:
        b = by["sweep_topk_synthetic"]
        q = b["results"]["qraft_sweep"]
        targets.append(f"| top-k with costs, {b['combinations']:,} combinations, synthetic {scale(b)} daily: "
                       f"under 60 s | {fmt_s(q['best_s'])} | {verdict(q['best_s'] < 60)} |")
        table.append(f"| top-k (ROC score, n_drop, fees, tax, min fee), {b['combinations']:,} combinations, synthetic "
                     f"{scale(b)} daily: peak RSS {fmt_gib(q['peak_rss_bytes'])} | {fmt_s(q['best_s'])} | "
                     f"(Qraft alone) | | |")
        notes.append(f"- Top-k: {cores(q)}.")
        if "pyqlib" in b:  # optional (QLIB_TOPK=1): one combination in pyqlib, the ratio projected
            p = b["pyqlib"]
            c, v, prm = p["check"], p["versions"], p["params"]
            proj = p["best_s"] * b["combinations"] / q["best_s"]
            table.append(f"| top-k, synthetic {scale(b)}: **projection** from ONE combination in pyqlib "
                         f"({', '.join(f'{k}={x}' for k, x in prm.items())}) × {b['combinations']:,} | "
                         f"{fmt_s(q['best_s'])} | pyqlib {v['pyqlib']} TopkDropoutStrategy + `backtest`, one "
                         f"combination | {fmt_s(p['best_s'])} × {b['combinations']:,} (projected) | "
                         f"{proj:,.0f}× (projected) |")
            notes.append(f"- Top-k, pyqlib (one combination, {p['days']:,} days, timed from `qlib.init` to the end of "
                         f"`backtest`; PYTHONHASHSEED=0): its daily account equals Qraft's equity curve of the same "
                         f"combination within {c['tolerance']:g} on {c['agree']:,} of {c['days_compared']:,} days"
                         + (f", from the start up to {c['first_divergence']} (then by at most {c['max_rel_diff']:.0e}: "
                            f"Qlib orders held names by iterating a set of strings, so ties, such as held names "
                            f"without a score, fall with the string hash seed; Qraft breaks them by symbol)"
                            if c["first_divergence"] else "") + ".")
    if "sweep_minute_10k" in by:
        b = by["sweep_minute_10k"]
        q, p, c, v = b["results"]["qraft_sweep"], b["results"]["vectorbt"], b["check"], b["versions"]
        n, m = b["combinations"], b["peer_combinations"]
        q_per, p_per = q["best_s"] / n, p["best_s"] / m
        targets.append(f"| SMA crossover, {n:,} combinations, synthetic {scale(b)} 1-minute bars: under 120 s | "
                       f"{fmt_s(q['best_s'])} | {verdict(q['best_s'] < 120)} |")
        table.append(f"| SMA crossover, synthetic {scale(b)} 1-minute bars, time per combination (Qraft: all {n:,} "
                     f"in {fmt_s(q['best_s'])}; vectorbt: a {m}-combination subset in {fmt_s(p['best_s'])}) | "
                     f"{fmt_ms(q_per)} | vectorbt {v['vectorbt']} `MA.run` + `from_signals`, {p['chunk']} combinations "
                     f"per call | {fmt_ms(p_per)} | {p_per / q_per:.1f}× (throughput) |")
        native, same, sig = c["qraft_vs_vectorbt"], c["qraft_vs_vectorbt_on_qraft_signals"], c["signals"]
        exact = sig.get("exact_decimal") or {}
        notes.append(
            f"- Minute bars, values of the {native['compared']} combinations vectorbt ran: {native['agree']} equal to "
            f"Qraft's within {native['tolerance']:g}; the signals from the two sides' means differ at "
            f"{sig['cells_differing']:,} of {sig['cells_compared']:,} (combination, bar) cells in "
            f"{sig['combinations_differing']} combinations, all with |fast − slow| ≤ 1e-9 × close: "
            f"{sig['cells_within_1e-9']:,} (largest {sig['max_gap_over_close']:.1e})"
            + (f", exact ties of the two means on the decimal prices: {exact['differing_cells_exact_tie']:,}"
               if exact else "")
            + f"; {c['combinations_differing_without_signal_difference']} combinations differ without a signal "
            f"difference. On Qraft's signals (its SMA recomputed operation for operation) vectorbt equals Qraft on "
            f"{same['agree']} of {same['compared']} (largest difference {same['max_rel_diff']:.0e}). {cores(q)}; "
            f"peak RSS {fmt_gib(q['peak_rss_bytes'])}; vectorbt's {fmt_gib(p['peak_rss_bytes'])}.")
    section = []
    if len(table) > 2:
        section = ["## Sweeps (issue 4), same run", "", *run_line(by, names), *table, "", *notes, "", *WHAT_ISSUE4]
    return targets, section


def issue5(by):
    """The "Targets (issue 5)" rows and the precise-engine section."""
    targets, table, notes = [], ["| benchmark | Qraft | peer | peer | ratio |", "| --- | --- | --- | --- | --- |"], []
    names = [n for n in by if n.startswith("precise_") or n.startswith("l2_")]
    q = by.get("precise_market_sma_qraft")
    if q:
        targets.append(f"| single-asset bar strategy: at least 5M bar events per second on one core | "
                       f"{q['events_per_s'] / 1e6:.1f} M events/s ({q['bars_per_s'] / 1e6:.1f} M bars/s) | "
                       f"{verdict(q['events_per_s'] >= 5e6)} |")
        for peer, need in [("backtrader", 20), ("nautilus", 3)]:
            p = by.get(f"precise_market_sma_{peer}")
            if not p:
                continue
            ratio = p["best_s"] / p["bars"] / (q["best_s"] / q["bars"])
            targets.append(f"| the same strategy and data: at least {need}× faster than {peer} | {ratio:,.0f}× | "
                           f"{verdict(ratio >= need)} |")
            table.append(f"| market_sma, {p['bars']:,} synthetic 1-minute bars, time per bar | "
                         f"{q['best_s'] / q['bars'] * 1e9:.0f} ns | {peer} {next(iter(p.get('versions', {}).values()), '')} | "
                         f"{p['best_s'] / p['bars'] * 1e9:,.0f} ns | {ratio:,.0f}× |")
        notes.append(f"- market_sma (SMA 10/30 crossover, market orders at the next open, 10 bps): Qraft "
                     f"{q['bars']:,} bars in {fmt_s(q['best_s'])}, {q['fills']:,} fills. Each peer runs its own "
                     "strategy code from scripts/peers/precise_golden.py; on AAPL daily bars their fills equal "
                     "Qraft's (backtrader exactly; NautilusTrader under its own fill rules, docs/precise.md). "
                     "Fill counts on this series differ by a few where SMA10 and SMA30 tie exactly on cent prices.")
    t = by.get("precise_topk_sp500")
    if t:
        targets.append(f"| sp500-5yr top-k daily rebalance with the full us_stock pack: under 2 s | "
                       f"{fmt_s(t['best_s'])} | {verdict(t['best_s'] < 2)} |")
        notes.append(f"- Top-k: `qraft backtest bench/strategies/topk_sp500_precise.yaml --engine precise` end to end "
                     f"(process start to exit: snapshot load, score, {t['orders']:,} orders, {t['fills']:,} fills, "
                     f"metrics) on {t['bars']:,} days.")
    l2 = by.get("l2_replay")
    if l2:
        ups = l2.get("updates_per_s", 0)
        targets.append(f"| L2 replay of the hftbacktest Binance captures: at least 2M book updates per second | "
                       f"{ups / 1e6:.1f} M/s | {verdict(ups >= 2e6)} |")
        if "engine_events_per_s" in l2:
            notes.append(f"- Book engine (`qraft replay`'s quoting strategy, 5 ms order and 2 ms data latency, "
                         f"risk-averse queues) over the same {l2['events']:,} events: "
                         f"{l2['engine_events_per_s'] / 1e6:.1f} M events/s ({fmt_s(l2['engine_best_s'])}, "
                         f"{l2['engine_fills']:,} fills); no peer figure yet (hftbacktest is the natural one).")
    section = []
    if len(table) > 2 or notes:
        section = ["## Precise engine (issue 5), same run", "", *run_line(by, names), *table, "", *notes]
    return targets, section


def issue6(by):
    """The "Targets (issue 6)" rows and the robust-statistics section."""
    targets, notes = [], []
    names = [n for n in by if n.startswith("robust_")]
    q = by.get("robust_spa_qraft_hansen2005")
    a = by.get("robust_spa_arch")
    table = ["| benchmark | Qraft | arch | ratio |", "| --- | --- | --- | --- |"]
    if q:
        targets.append(f"| SPA + Reality Check + StepM, {q['strategies']:,} strategies × {q['days']:,} days × "
                       f"{q['reps']:,} replications: under 10 s on 2 cores | {fmt_s(q['best_s'])} | "
                       f"{verdict(q['best_s'] < 10)} |")
        for mode in ("arch_compat", "hansen2005"):
            m = by.get(f"robust_spa_qraft_{mode}")
            if m and a and a["reps"] == m["reps"] and a["strategies"] == m["strategies"]:
                ratio = a["best_s"] / m["best_s"]
                table.append(f"| SPA + RC + StepM ({mode}), {m['strategies']:,} × {m['days']:,} × {m['reps']:,} | "
                             f"{fmt_s(m['best_s'])} | {fmt_s(a['best_s'])} (arch {a['versions']['arch']}) | {ratio:,.0f}× |")
                if mode == "hansen2005":
                    targets.append(f"| the same input: at least 20× faster than arch | {ratio:,.0f}× | "
                                   f"{verdict(ratio >= 20)} |")
        if a:
            notes.append(f"- arch runs SPA, RealityCheck and StepM as three objects, each with its own bootstrap "
                         f"(SPA {fmt_s(a['spa_s'])}, RC {fmt_s(a['rc_s'])}, StepM {fmt_s(a['stepm_s'])}). Qraft's "
                         "StepM call draws one bootstrap whose first step is the SPA, and White's Reality Check is "
                         "that SPA's upper p-value, so one call gives all three figures; against arch's SPA "
                         f"alone Qraft's three are {a['spa_s'] / q['best_s']:,.0f}× faster. p-values are only "
                         f"statistically comparable (each side has its own generator): arch consistent "
                         f"{a['p_consistent']:.3f}, Qraft {q['p_consistent']:.3f}.")
    p = by.get("robust_pbo_qraft")
    if p:
        targets.append(f"| PBO with S = 16 ({p['splits']:,} splits) over {p['strategies']:,} strategies: under 5 s | "
                       f"{fmt_s(p['best_s'])} | {verdict(p['best_s'] < 5)} |")
    b = by.get("robust_blocklen_qraft")
    if b:
        notes.append(f"- Politis–White block lengths of {b['strategies']:,} series of {b['days']:,} days: "
                     f"{fmt_s(b['best_s'])} (the gates' automatic block).")
    section = []
    if len(table) > 2 or notes:
        section = ["## Robust statistics (issue 6), same run", "", *run_line(by, names), *table, "", *notes]
    return targets, section


def main(peers_path, gbench_path, out_path):
    peers = Path(peers_path)
    rows = [json.loads(l) for l in peers.read_text().splitlines() if l.startswith("{")] if peers.exists() else []
    by = {r["benchmark"]: r for r in rows}
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (bench/run.sh). Every figure of a table comes from one run on one machine, Qraft",
        "and each peer measured side by side in that run, each peer in a fresh Python process. Times are the best",
        "of repeated warm runs (page cache warm), over two passes in opposite orders: on this shared VM whatever",
        "runs after sustained load runs slower, so the order must not decide. Medians are in",
        "build/bench-out/peers.jsonl. Ratio = peer time / Qraft time; above 1 means Qraft is faster.",
        "`BENCH_ONLY=sweep make bench` re-runs some sections only and keeps the others' rows from the previous",
        "run: each section names the run (date, commit) its figures come from.",
        "",
        f"- Machine: {machine()}",
        "- Written: {date}, commit {commit}".format(**this_run()),
    ]
    runs = {}
    for r in rows:
        runs.setdefault(section_of(r), []).append(r.get("run"))
    for sec, rs in runs.items():
        lines.append(f"- Section {sec}: {run_text(rs)}")
    lines.append("")
    targets = []
    table = ["| benchmark | Qraft | peer | peer time | ratio |", "| --- | --- | --- | --- | --- |"]
    ingest_cpu = ""
    if "ingest_sp500" in by:
        b = by["ingest_sp500"]
        r = b["results"]
        v = b["versions"]
        pandas, pyarrow = r["pandas_read_csv_concat"]["best_s"], r["pyarrow_csv_concat"]["best_s"]
        full_cpu, dry_cpu = r["qraft_ingest"].get("cpu_median_s"), r["qraft_ingest_dry_run"].get("cpu_median_s")
        if full_cpu and dry_cpu:
            ingest_cpu = (f" (median CPU time, user + system, of one run: {fmt_s(dry_cpu)} dry run, {fmt_s(full_cpu)} "
                          f"full; on two cores the full ingest cannot take less than {fmt_s(full_cpu / 2)}, while 3× "
                          f"pandas means {fmt_s(pandas / 3)})")
        for label, key in [("read, align, check (`qraft ingest --dry-run`)", "qraft_ingest_dry_run"),
                           ("full ingest: snapshot written, fsync'ed and published", "qraft_ingest")]:
            q = r[key]["best_s"]
            table.append(f"| ingest sp500-5yr ({b['rows']:,} rows, {b['files']} CSV files), {label} | {fmt_s(q)} | "
                         f"pandas {v['pandas']} `read_csv` + `concat` | {fmt_s(pandas)} | {pandas / q:.1f}× |")
            table.append(f"| ingest sp500-5yr, {label} | {fmt_s(q)} | pyarrow {v['pyarrow']} `csv.read_csv` + "
                         f"`concat_tables` | {fmt_s(pyarrow)} | {pyarrow / q:.1f}× |")
            targets.append(f"| ingest ≥ 3× faster than pandas — {label} | {pandas / q:.1f}× | "
                           f"{'met' if pandas / q >= 3 else '**not met**'} |")
            targets.append(f"| ingest faster than pyarrow.csv — {label} | {pyarrow / q:.1f}× | "
                           f"{'met' if pyarrow / q > 1 else '**not met**'} |")
    if "load_panel_5000x5000" in by:
        b = by["load_panel_5000x5000"]
        r = b["results"]
        q = r["qraft_panel"]["best_s"]
        for peer, key in [(f"pandas {b['versions']['pandas']} `read_parquet` of the snapshot's bars.parquet", "pandas_read_parquet"),
                          (f"pyarrow {b['versions']['pyarrow']} memory-mapped panel.arrow + numpy", "pyarrow_ipc_mmap")]:
            p = r[key]["best_s"]
            table.append(f"| load a 5,000 × 5,000 daily snapshot, {b['fields']} fields, every value touched | {fmt_s(q)} | "
                         f"{peer} | {fmt_s(p)} | {p / q:.1f}× |")
        rss, raw = r["qraft_panel"]["peak_rss_bytes"], r["qraft_panel"]["raw_bytes"]
        targets.append(f"| load 5,000 × 5,000 × 6 fields under 0.5 s warm | {fmt_s(q)} | {'met' if q < 0.5 else '**not met**'} |")
        targets.append(f"| load peak memory within 1.5× of the raw data ({raw / 2**30:.2f} GiB) | "
                       f"{rss / 2**30:.2f} GiB = {rss / raw:.2f}× | {'met' if rss / raw <= 1.5 else '**not met**'} |")
    targets3, section3 = issue3(by)
    if section3:  # the run its rows come from, under the section's title
        section3 = [section3[0], "", *run_line(by, [n for n, sec in SECTIONS.items() if sec == "expr"]),
                    *section3[2:]]
    targets4, section4 = issue4(by)
    targets5, section5 = issue5(by)
    targets6, section6 = issue6(by)
    lines += ["## Targets (issue 2)", "", "| target | measured | |", "| --- | --- | --- |", *targets, ""]
    if targets3:
        lines += ["## Targets (issue 3)", "", "| target | measured | |", "| --- | --- | --- |", *targets3, ""]
    if targets4:
        lines += ["## Targets (issue 4)", "", "| target | measured | |", "| --- | --- | --- |", *targets4, ""]
    if targets5:
        lines += ["## Targets (issue 5)", "", "| target | measured | |", "| --- | --- | --- |", *targets5, ""]
    if targets6:
        lines += ["## Targets (issue 6)", "", "| target | measured | |", "| --- | --- | --- |", *targets6, ""]
    lines += [
              "## Qraft and peers, same run", "", *run_line(by, ["ingest_sp500", "load_panel_5000x5000"]), *table, "",
              "What each side does. pandas and pyarrow parse the CSV files into one in-memory table. `qraft ingest",
              "--dry-run` parses them, aligns all symbols on one calendar and runs the quality checks; it writes",
              "nothing, so it does not hash the source files either. A full `qraft ingest` also hashes every source",
              "file (SHA-256, in the read that parses it), computes the snapshot id (SHA-256 of every field), writes the",
              "memory-mappable `panel.arrow` and the long-format `bars.parquet` (snappy), fsyncs them, writes the",
              "metadata and publishes the snapshot atomically. That durable work costs about as much CPU as the",
              f"parse itself{ingest_cpu}, which is why the full ingest does not reach 3× pandas on a 2-core machine."]
    if section3:
        lines += ["", *section3, "", *WHAT_ISSUE3]
    if section4:
        lines += ["", *section4]
    if section5:
        lines += ["", *section5]
    if section6:
        lines += ["", *section6]
    if Path(gbench_path).exists():
        g = json.loads(Path(gbench_path).read_text())
        stamp = Path(gbench_path).with_suffix(".run.json")
        run = json.loads(stamp.read_text()) if stamp.exists() else None
        lines += ["", "## Micro-benchmarks (Google Benchmark)", "", f"Run: {run_text([run])}.", "",
                  "| benchmark | time | throughput |", "| --- | --- | --- |"]
        for b in g["benchmarks"]:
            tp = ""
            if "bytes_per_second" in b:
                tp = f"{b['bytes_per_second'] / 2**20:.0f} MiB/s"
            if "items_per_second" in b:
                tp += f", {b['items_per_second'] / 1e6:.1f} M rows/s"
            lines.append(f"| {b['name']} | {b['real_time']:.3g} {b['time_unit']} | {tp} |")
    Path(out_path).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "--merge":
        merge(*sys.argv[2:5])
    elif sys.argv[1] == "--stamp":
        Path(sys.argv[2]).write_text(json.dumps(this_run()) + "\n")
    else:
        main(*sys.argv[1:4])
