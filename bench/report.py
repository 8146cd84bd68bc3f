"""Writes bench/RESULTS.md from the JSON lines of bench/peers.py and Google Benchmark's JSON."""
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


def main(peers_path, gbench_path, out_path):
    rows = [json.loads(l) for l in Path(peers_path).read_text().splitlines() if l.startswith("{")]
    by = {r["benchmark"]: r for r in rows}
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (bench/run.sh). Every figure comes from one run on one machine, Qraft and each",
        "peer measured side by side in that run, each peer in a fresh Python process. Times are the best of",
        "repeated warm runs (page cache warm), over two passes in opposite orders: on this shared VM whatever",
        "runs after sustained load runs slower, so the order must not decide. Medians are in",
        "build/bench-out/peers.jsonl. Ratio = peer time / Qraft time; above 1 means Qraft is faster.",
        "",
        f"- Machine: {machine()}",
        f"- Date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Commit: {commit()}",
        "",
    ]
    targets = []
    table = ["| benchmark | Qraft | peer | peer time | ratio |", "| --- | --- | --- | --- | --- |"]
    if "ingest_sp500" in by:
        b = by["ingest_sp500"]
        r = b["results"]
        v = b["versions"]
        pandas, pyarrow = r["pandas_read_csv_concat"]["best_s"], r["pyarrow_csv_concat"]["best_s"]
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
    lines += ["## Targets (issue 2)", "", "| target | measured | |", "| --- | --- | --- |", *targets, ""]
    if targets3:
        lines += ["## Targets (issue 3)", "", "| target | measured | |", "| --- | --- | --- |", *targets3, ""]
    lines += [
              "## Qraft and peers, same run", "", *table, "",
              "What each side does. pandas and pyarrow parse the CSV files into one in-memory table. `qraft ingest",
              "--dry-run` parses them, hashes every source file (SHA-256), aligns all symbols on one calendar and runs",
              "the quality checks. A full `qraft ingest` also computes the snapshot id (SHA-256 of every field), writes",
              "the memory-mappable `panel.arrow` and the long-format `bars.parquet` (snappy), fsyncs them, writes the",
              "metadata and publishes the snapshot atomically. That extra, durable work costs about as much CPU as",
              "the parse itself, which is why the full ingest does not reach the targets on a 2-core machine."]
    if section3:
        lines += ["", *section3, "", *WHAT_ISSUE3]
    if Path(gbench_path).exists():
        g = json.loads(Path(gbench_path).read_text())
        lines += ["", "## Micro-benchmarks (Google Benchmark)", "", "| benchmark | time | throughput |", "| --- | --- | --- |"]
        for b in g["benchmarks"]:
            tp = ""
            if "bytes_per_second" in b:
                tp = f"{b['bytes_per_second'] / 2**20:.0f} MiB/s"
            if "items_per_second" in b:
                tp += f", {b['items_per_second'] / 1e6:.1f} M rows/s"
            lines.append(f"| {b['name']} | {b['real_time']:.3g} {b['time_unit']} | {tp} |")
    Path(out_path).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
