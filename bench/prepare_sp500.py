"""Copies sp500-5yr's CSV files adding a `vwap` column, for the expression benchmarks.

Alpha158 reads $vwap (VWAP0), which the dataset does not have. As in Qlib's own mock data (and
Qraft's Qlib golden tests), vwap is the typical price (high + low + close) / 3, blank where any of
the three is blank. Every other byte of each row is kept. Idempotent: an existing, complete output
directory is left alone.

  python bench/prepare_sp500.py SRC_DIR OUT_DIR
"""
import sys
from pathlib import Path


def main(src, out):
    src, out = Path(src), Path(out)
    files = sorted(src.glob("*.csv"))
    done = out / ".complete"
    if done.exists() and done.read_text() == str(len(files)):
        return
    out.mkdir(parents=True, exist_ok=True)
    for f in files:
        lines = f.read_text().splitlines()
        header = lines[0].split(",")
        hi, lo, cl = header.index("high"), header.index("low"), header.index("close")
        rows = [lines[0] + ",vwap"]
        for line in lines[1:]:
            v = line.split(",")
            try:
                vwap = repr((float(v[hi]) + float(v[lo]) + float(v[cl])) / 3)
            except ValueError:
                vwap = ""
            rows.append(f"{line},{vwap}")
        (out / f.name).write_text("\n".join(rows) + "\n")
    done.write_text(str(len(files)))


if __name__ == "__main__":
    main(*sys.argv[1:3])
