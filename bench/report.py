"""Writes bench/RESULTS.md from the JSON lines of bench/peers.py and Google Benchmark's JSON."""
import json
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path


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
    lines += ["## Targets (issue 2)", "", "| target | measured | |", "| --- | --- | --- |", *targets, "",
              "## Qraft and peers, same run", "", *table, "",
              "What each side does. pandas and pyarrow parse the CSV files into one in-memory table. `qraft ingest",
              "--dry-run` parses them, hashes every source file (SHA-256), aligns all symbols on one calendar and runs",
              "the quality checks. A full `qraft ingest` also computes the snapshot id (SHA-256 of every field), writes",
              "the memory-mappable `panel.arrow` and the long-format `bars.parquet` (snappy), fsyncs them, writes the",
              "metadata and publishes the snapshot atomically. That extra, durable work costs about as much CPU as",
              "the parse itself, which is why the full ingest does not reach the targets on a 2-core machine."]
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
