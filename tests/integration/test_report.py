"""`qraft report`: a sweep's result directory becomes one self-contained HTML file, which headless
Chromium renders with its charts and heatmaps; the result directory's files agree with each other
(metrics.parquet = metrics.csv = result.json)."""
import json
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import ROOT, SAMPLE, Qraft, qraft_bin

STRATEGY = ROOT / "examples" / "strategies" / "ma_cross.yaml"
WIDTH, HEIGHT = 1280, 2400
EQUITY_RGB = (0x25, 0x63, 0xEB)  # the equity line (report.cc)


@pytest.fixture(scope="module")
def result_dir(tmp_path_factory):
    assert qraft_bin().exists(), f"build first: {qraft_bin()} is missing"
    tmp = tmp_path_factory.mktemp("report")
    q = Qraft(tmp / "store")
    snap = q.ingest(SAMPLE, "--market", "us_stock")
    out = tmp / "sweep"
    q.run("sweep", STRATEGY, "--data", snap, "--top", "5", "--out", out)
    if not (out / "result.json").exists():
        pytest.skip("`qraft sweep --out` does not write result.json yet (no result directory to report)")
    return q, out


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("headless Chromium is not installed (scripts/setup.sh installs the Debian package)")


def run_chromium(tmp, *args):
    # A fresh profile per run: no state from, or lock on, the user's browser.
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--force-device-scale-factor=1", f"--user-data-dir={tmp / 'profile'}", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


def read_png(path):
    """RGB array of an 8-bit, non-interlaced PNG (what Chromium writes), with numpy and zlib."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, []
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
    assert depth == 8 and interlace == 0 and color in (2, 6), (depth, color, interlace)
    bpp = 3 if color == 2 else 4
    stride = w * bpp
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(h, stride + 1)
    out = np.zeros((h, stride), np.uint8)
    prev = np.zeros(stride, np.uint8)
    for y in range(h):
        f, line = raw[y, 0], raw[y, 1:]
        if f == 0:
            cur = line.copy()
        elif f == 1:  # Sub: running sum per channel, mod 256
            cur = line.reshape(-1, bpp).astype(np.uint64).cumsum(axis=0).astype(np.uint8).reshape(-1)
        elif f == 2:  # Up
            cur = line + prev
        else:  # Average, Paeth: sequential
            buf, L, P = bytearray(stride), line.tobytes(), prev.tobytes()
            for x in range(stride):
                a = buf[x - bpp] if x >= bpp else 0
                b = P[x]
                c = P[x - bpp] if x >= bpp else 0
                if f == 3:
                    v = L[x] + ((a + b) >> 1)
                else:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    v = L[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)
                buf[x] = v & 255
            cur = np.frombuffer(bytes(buf), np.uint8)
        out[y] = cur
        prev = cur
    return out.reshape(h, w, bpp)[:, :, :3]


def test_report_renders_in_headless_chromium(result_dir, tmp_path):
    q, out = result_dir
    p = q.run("report", out, store=False)
    html = Path(p.stdout.strip().splitlines()[-1])
    assert html == out / "report.html" and html.exists()
    text = html.read_text()
    for external in ("http://", "https://", "src=", "url("):
        assert external not in text, f"the report must be self-contained: found {external!r}"

    # The DOM after the inline script ran: the tooltip element exists, every chart has its paths.
    dom = run_chromium(tmp_path, "--dump-dom", html.as_uri()).stdout
    assert '<div class="tip"' in dom, "the inline script did not run"
    assert dom.count('<svg class="chart"') >= 4  # equity, drawdown, rolling Sharpe, scatter
    assert dom.count('stroke="#2563eb" stroke-width="2"') >= 1  # an equity line
    assert dom.count('<table class="heat monthly">') >= 1 and '<table class="heat pmap">' in dom
    for bad in ("NaN", "undefined", ">nan", "Infinity"):
        assert bad not in dom, bad

    png = tmp_path / "report.png"
    run_chromium(tmp_path, f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={png}", html.as_uri())
    img = read_png(png).astype(int)
    assert img.shape == (HEIGHT, WIDTH, 3)
    # Not blank: besides the page and its white cards, text, lines and fills cover a good part.
    paper = [np.array([0xF6, 0xF7, 0xF9]), np.array([0xFF, 0xFF, 0xFF]), np.array([0xFB, 0xFB, 0xFC])]
    ink = np.logical_and.reduce([np.abs(img - c).sum(axis=2) > 30 for c in paper]).mean()
    assert 0.05 < ink < 0.8, ink
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 500

    # The equity line: its colour fills a horizontal band most of the page wide (a line across a
    # chart, not a badge or a link).
    line = (np.abs(img - np.array(EQUITY_RGB)).sum(axis=2) < 40)
    ys, xs = np.nonzero(line)
    assert len(ys) > 800, len(ys)
    band = np.bincount(ys // 300).argmax()
    in_band = (ys // 300) == band
    assert xs[in_band].max() - xs[in_band].min() > 0.65 * WIDTH

    # Heatmap cells: solid blocks of green and of red (monthly returns).
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    green = (g - np.maximum(r, b) > 40)
    red = (r - np.maximum(g, b) > 60)
    assert green.sum() > 10000, green.sum()
    assert red.sum() > 5000, red.sum()


def test_metrics_parquet_equals_metrics_csv_and_result_json(result_dir):
    _, out = result_dir
    doc = json.loads((out / "result.json").read_text())
    assert doc["format"] == "qraft-result-v1" and doc["kind"] == "sweep"
    assert doc["combinations"] == len(doc["results"]) == 28
    csv = pd.read_csv(out / "metrics.csv")
    table = pq.read_table(out / "metrics.parquet")
    pqt = table.to_pandas()
    assert list(pqt.columns) == list(csv.columns)
    assert list(csv.columns[:4]) == ["index", "params_hash", "fast", "slow"]
    assert len(pqt) == len(csv) == 28
    assert str(table.schema.field("index").type) == "int64"
    assert str(table.schema.field("trades").type) == "int64"
    assert str(table.schema.field("sharpe").type) == "double"
    assert (pqt["params_hash"] == csv["params_hash"]).all()
    for col in csv.columns[2:]:
        # NaN is an empty CSV cell and a Parquet null; numbers are the same doubles.
        np.testing.assert_array_equal(pqt[col].to_numpy(dtype=float), csv[col].to_numpy(dtype=float),
                                      err_msg=col)
    for row in doc["results"]:
        i = row["index"]
        assert csv.params_hash[i] == row["params_hash"]
        for k, v in row["metrics"].items():
            got = csv[k][i]
            assert (v is None and np.isnan(got)) or got == v, (i, k)
    # Every kept candidate has its curve and trades, and the top candidates are among them.
    kept = {p.name for p in (out / "candidates").iterdir()}
    assert {doc["results"][i]["params_hash"] for i in doc["top"]} <= kept
    equity = pd.read_csv(out / "candidates" / doc["results"][doc["top"][0]]["params_hash"] / "equity.csv")
    assert list(equity.columns) == ["time", "equity", "drawdown", "exposure", "turnover", "fees", "benchmark"]
    assert (equity.drawdown <= 0).all() and len(equity) == doc["results"][0]["metrics"]["bars"]


def test_report_errors_name_the_file(result_dir, tmp_path):
    q, out = result_dir
    p = q.run("report", tmp_path / "nowhere", check=False, store=False)
    assert p.returncode == 2 and "nowhere" in p.stderr
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    doc = json.loads((broken / "result.json").read_text())
    doc["results"][3]["metrics"]["sharpe"] = "high"
    (broken / "result.json").write_text(json.dumps(doc))
    p = q.run("report", broken, check=False, store=False)
    assert p.returncode == 2
    assert "result.json" in p.stderr and "results[3].metrics.sharpe" in p.stderr, p.stderr
    p = q.run("report", out, "--out", tmp_path / "no" / "r.html", check=False, store=False)
    assert p.returncode == 2 and "does not exist" in p.stderr
    # --out elsewhere; the result directory is not touched.
    p = q.run("report", out, "--out", tmp_path / "r.html", store=False)
    assert p.stdout.strip().splitlines()[-1] == str(tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
