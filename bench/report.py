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
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout
    return rev + (" (with uncommitted changes)" if dirty.strip() else "")


def fmt_s(x):
    return f"{x * 1000:.0f} ms" if x < 10 else f"{x:.1f} s"


def main(peers_path, gbench_path, out_path):
    rows = [json.loads(l) for l in Path(peers_path).read_text().splitlines() if l.startswith("{")]
    by = {r["benchmark"]: r for r in rows}
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (bench/run.sh); every figure below comes from one run on one machine, Qraft and the",
        "peer measured side by side. Times are medians of repeated warm runs; ratio = peer time / Qraft time.",
        "",
        f"- Machine: {machine()}",
        f"- Date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Commit: {commit()}",
        "",
        "## Peers, same run",
        "",
        "| benchmark | Qraft | peer | peer time | ratio | target |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    if "ingest_sp500" in by:
        r = by["ingest_sp500"]["results"]
        q, qd = r["qraft_ingest"]["median_s"], r["qraft_ingest_dry_run"]["median_s"]
        v = by["ingest_sp500"]["versions"]
        for peer, key, target in [(f"pandas {v['pandas']} read_csv + concat", "pandas_read_csv_concat", "≥ 3×"),
                                  (f"pyarrow {v['pyarrow']} csv.read_csv + concat", "pyarrow_csv_concat", "> 1×")]:
            p = r[key]["median_s"]
            lines.append(f"| ingest sp500-5yr, full snapshot written ({by['ingest_sp500']['rows']:,} rows, "
                         f"{by['ingest_sp500']['files']} files) | {fmt_s(q)} | {peer} | {fmt_s(p)} | **{p / q:.1f}×** | {target} |")
        for peer, key in [(f"pandas read_csv + concat", "pandas_read_csv_concat"), (f"pyarrow csv + concat", "pyarrow_csv_concat")]:
            p = r[key]["median_s"]
            lines.append(f"| ingest sp500-5yr, `--dry-run` (read, align, check) | {fmt_s(qd)} | {peer} | {fmt_s(p)} | {p / qd:.1f}× | |")
    if "load_panel_5000x5000" in by:
        b = by["load_panel_5000x5000"]
        r = b["results"]
        q = r["qraft_panel"]["median_s"]
        for peer, key in [(f"pandas {b['versions']['pandas']} read_parquet (same snapshot's bars.parquet)", "pandas_read_parquet"),
                          (f"pyarrow {b['versions']['pyarrow']} memory-mapped panel.arrow + numpy", "pyarrow_ipc_mmap")]:
            p = r[key]["median_s"]
            lines.append(f"| load 5,000 × 5,000 daily snapshot, {b['fields']} fields, every value touched | {fmt_s(q)} | "
                         f"{peer} | {fmt_s(p)} | {p / q:.1f}× | < 0.5 s |")
        rss, raw = r["qraft_panel"]["peak_rss_bytes"], r["qraft_panel"]["raw_bytes"]
        lines += ["", f"Panel load peak memory: {rss / 2**30:.2f} GiB for {raw / 2**30:.2f} GiB of raw data "
                      f"(**{rss / raw:.2f}×**; target ≤ 1.5×)."]
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
