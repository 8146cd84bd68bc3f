"""`qraft expr` and `qraft factor` as users and tools call them: output contracts, values checked
against pandas, exit codes, the factor lifecycle, and the published JSON schema."""
import io
import json

import jsonschema
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import ROOT, SAMPLE


@pytest.fixture
def snap(qraft):
    return qraft.ingest(SAMPLE, "--market", "us_stock")


def sample_close():
    frames = [pd.read_csv(p) for p in sorted(SAMPLE.glob("*.csv.gz"))]
    df = pd.concat(frames)
    return df.pivot(index="date", columns="Name", values="close")


def test_expr_eval_csv_matches_pandas(qraft, snap):
    out = qraft.run("expr", "eval", "MA5=Mean($close, 5)", "Std($close, 20)", "$close", "--data", snap,
                    "--format", "csv").stdout
    got = pd.read_csv(io.StringIO(out))
    assert list(got.columns) == ["datetime", "symbol", "MA5", "Std($close, 20)", "$close"]
    close = sample_close()
    want_ma = close.rolling(5).mean()        # native semantics = pandas' default min_periods
    want_sd = close.rolling(20).std()
    # One row per calendar date from each symbol's first to its last bar.
    inside = close.ffill().notna() & close.bfill().notna()
    assert len(got) == int(inside.sum().sum())
    checked = 0
    for sym, rows in got.groupby("symbol"):
        rows = rows.set_index("datetime")
        for col, want in (("MA5", want_ma), ("Std($close, 20)", want_sd)):
            a = rows[col].to_numpy()
            b = want.loc[rows.index, sym].to_numpy()
            # pandas' online variance drifts by ~1e-12; Qraft re-sums its windows.
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)
            checked += int(np.isfinite(b).sum())
    assert checked > 60_000


def test_expr_eval_parquet_and_warm_up(qraft, snap, tmp_path):
    out = tmp_path / "v.parquet"
    qraft.run("expr", "eval", "e=EMA($close, 30)", "--data", snap, "--symbols", "AAPL",
              "--start", "2016-01-04", "--format", "parquet", "--out", out)
    table = pq.read_table(out).to_pandas()
    assert list(table.columns) == ["datetime", "symbol", "e"]
    # Warm-up: the value at the start equals the full-history evaluation.
    full = pd.read_csv(io.StringIO(qraft.run("expr", "eval", "e=EMA($close, 30)", "--data", snap,
                                             "--symbols", "AAPL", "--format", "csv").stdout))
    first = full[full.datetime == "2016-01-04"].e.iloc[0]
    assert table.e.iloc[0] == first
    assert table.datetime.min().strftime("%Y-%m-%d") == "2016-01-04"


def test_expr_eval_bad_input(qraft, snap):
    p = qraft.run("expr", "eval", "Mean($clse, 5)", "--data", snap, check=False)
    assert p.returncode == 2
    assert "Mean($clse, 5): 1:6: unknown field 'clse'" in p.stderr
    p = qraft.run("expr", "eval", "Ref($close, -1)", "--data", snap, check=False)
    assert p.returncode == 2
    assert "refers to the future" in p.stderr
    p = qraft.run("expr", "eval", "Ref($close, -1)", "--data", snap, "--label", "--format", "csv")
    assert p.returncode == 0
    p = qraft.run("expr", "eval", "$close", "--data", snap, "--format", "xls", check=False)
    assert p.returncode == 2 and "--format 'xls'" in p.stderr


def test_factor_list_contract_and_schema(qraft):
    listed = qraft.json("factor", "list")
    schema = json.loads((ROOT / "docs" / "schema" / "factor-v1.json").read_text())
    for f in listed:
        jsonschema.validate(f, schema)
        assert {"name", "library", "uri", "version", "status", "expression"} <= f.keys()
    libs = {f["library"] for f in listed}
    assert libs == {"common", "alpha158"}
    assert len(qraft.json("factor", "list", "--library", "alpha158")) == 158
    shown = qraft.json("factor", "show", "factor://alpha158/CORD20")
    jsonschema.validate(shown, schema)
    assert shown["window"] == 20 and shown["semantics"] == "qlib"


def test_factor_check_exit_codes(qraft, snap):
    assert qraft.run("factor", "check", "factor://common/roc", "--data", snap).returncode == 0
    p = qraft.run("factor", "check", "Ref($close,-1)", check=False)
    assert p.returncode == 2 and "refers to the future" in p.stderr
    p = qraft.run("factor", "check", "--label", "Mean(Ref($close,-1), 3)", check=False)
    assert p.returncode == 3 and "LOOK-AHEAD" in p.stdout


def test_factor_lifecycle(qraft, tmp_path):
    lib = tmp_path / "mine.yaml"
    lib.write_text("library: mine\nversion: 1.0.0\nfactors:\n"
                   "  - name: gap\n    description: overnight gap\n"
                   "    expression: '$open / Ref($close, 1) - 1'\n")
    assert "factor://mine/gap@1.0.0 proposed" in qraft.run("factor", "propose", lib).stdout
    qraft.run("factor", "approve", "factor://mine/gap@1.0.0", "--note", "reviewed")
    lib.write_text(lib.read_text().replace("- 1", "- 2"))
    p = qraft.run("factor", "propose", lib, check=False)
    assert p.returncode == 2 and "immutable" in p.stderr
    shown = qraft.json("factor", "show", "factor://mine/gap")
    assert shown["status"] == "approved"
    assert [h["to"] for h in shown["history"]] == ["proposed", "approved"]
    assert "reviewed" in shown["history"][1]["note"]
    qraft.run("factor", "deprecate", "factor://mine/gap@1.0.0")
    assert qraft.json("factor", "show", "factor://mine/gap@1.0.0")["status"] == "deprecated"
    bad = tmp_path / "bad.yaml"
    bad.write_text("library: mine\nfactors:\n  - name: x\n    expression: Ref($close, -1)\n")
    p = qraft.run("factor", "propose", bad, check=False)
    assert p.returncode == 2 and f"{bad}:4:17:" in p.stderr


def test_factor_eval_reports_ic_and_uses_cache(qraft, snap):
    result = qraft.json("factor", "eval", "factor://common/roc", "mom=Mean($close,5)/$close",
                        "--data", snap, "--horizons", "1,5")
    assert result["snapshot_id"].startswith(snap[:12])
    names = [f["name"] for f in result["factors"]]
    assert names == ["factor://common/roc", "mom"]
    for f in result["factors"]:
        assert [h["horizon"] for h in f["horizons"]] == [1, 5]
        assert -1 <= f["horizons"][0]["rank_ic"]["mean"] <= 1
        assert 0.9 < f["coverage"] <= 1
    assert len(result["correlation"]["matrix"]) == 4
    cached = list((qraft.store / "features").rglob("*.arrow"))
    assert len(cached) == 1
    again = qraft.json("factor", "eval", "factor://common/roc", "--data", snap, "--horizons", "1,5")
    assert again["factors"][0] == result["factors"][0]
