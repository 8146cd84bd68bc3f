"""Strategy files: the published JSON Schema accepts the examples, and `qraft strategy check`
agrees with it on what is valid; its JSON carries the dsl_hash and the grid size."""
import json

import jsonschema
import pytest
import yaml

from conftest import ROOT

SCHEMA = json.loads((ROOT / "docs" / "schema" / "strategy-v1.json").read_text())
EXAMPLES = sorted((ROOT / "examples" / "strategies").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_match_schema_and_check(qraft, path):
    jsonschema.validate(yaml.safe_load(path.read_text()), SCHEMA)
    out = qraft.json("strategy", "check", path, store=False)
    assert len(out["dsl_hash"]) == 64
    assert out["combinations"] >= 1
    assert out["canonical"]["version"] == 1


def test_dsl_hash_ignores_formatting(qraft, tmp_path):
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("version: 1\nsignals: {long: 'EMA(close, 10) > EMA(close, 30)'}\n")
    b.write_text("# same strategy\nsignals:\n  long: ema(close,10)>EMA( close , 30 )\nversion: 1\n")
    ha = qraft.json("strategy", "check", a, store=False)["dsl_hash"]
    hb = qraft.json("strategy", "check", b, store=False)["dsl_hash"]
    assert ha == hb


@pytest.mark.parametrize("text,where", [
    ("version: 1\nsignals: {long: 'close > 1'}\nslippage: 1\n", "3:1: unknown key 'slippage'"),
    ("version: 1\nsignals: {long: 'close > 1'}\nexecution: {price: close}\n", "look-ahead"),
    ("version: 1\nselection: {mode: topk, score: 'ROC(close, 20)'}\n", "needs selection.topk"),
])
def test_bad_strategies_fail_in_both(qraft, tmp_path, text, where):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    p = qraft.run("strategy", "check", path, check=False, store=False)
    assert p.returncode == 2 and where in p.stderr
    doc = yaml.safe_load(text)
    if "execution" not in doc and "selection" not in doc:  # purely structural errors
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc, SCHEMA)


def test_backtest_and_sweep_json_contract(qraft, tmp_path):
    from conftest import SAMPLE
    snap = qraft.ingest(SAMPLE, "--market", "us_stock")
    strategy = ROOT / "examples" / "strategies" / "ma_cross.yaml"
    one = qraft.json("backtest", strategy, "--data", snap, "--params", "fast=10", "--params", "slow=30")
    assert set(one) >= {"dsl_hash", "snapshot_id", "params", "metrics"}
    assert one["params"] == {"fast": 10, "slow": 30}
    for key in ("total_return", "annual_return", "sharpe", "max_drawdown", "turnover", "trades", "fees"):
        assert key in one["metrics"]
    assert one["metrics"]["trades"] > 0 and one["metrics"]["fees"] > 0
    # The fast engine charges fee_bps, not the us_stock pack's fee schedule, and says so.
    assert len(one["warnings"]) == 1 and "costs.market us_stock" in one["warnings"][0]
    assert "(given: fee_bps)" in one["warnings"][0]
    text = qraft.run("backtest", strategy, "--data", snap, "--params", "fast=10", "--params", "slow=30")
    assert f"warning: {one['warnings'][0]}" in text.stderr
    sweep = qraft.json("sweep", strategy, "--data", snap, "--top", "3", "--out", tmp_path / "out")
    assert sweep["warnings"] == one["warnings"]
    # Without a market pack there is nothing to warn about: an empty list, not a missing key.
    plain = tmp_path / "plain.yaml"
    plain.write_text(strategy.read_text().replace("  market: us_stock\n", ""))
    quiet = qraft.json("backtest", plain, "--data", snap, "--params", "fast=10", "--params", "slow=30")
    assert quiet["warnings"] == []
    assert qraft.json("sweep", plain, "--data", snap, "--top", "1", "--out", tmp_path / "q")["warnings"] == []
    assert sweep["combinations"] == 28 and len(sweep["results"]) == 3
    assert sweep["dsl_hash"] == one["dsl_hash"] and sweep["snapshot_id"] == one["snapshot_id"]
    sharpes = [r["metrics"]["sharpe"] for r in sweep["results"]]
    assert sharpes == sorted(sharpes, reverse=True)
    import pandas as pd
    matrix = pd.read_csv(tmp_path / "out" / "metrics.csv")
    assert len(matrix) == 28 and {"fast", "slow", "sharpe"} <= set(matrix.columns)
    # The same combination gives the same numbers in a backtest and in the sweep.
    row = matrix[(matrix.fast == 10) & (matrix.slow == 30)].iloc[0]
    assert abs(row.total_return - one["metrics"]["total_return"]) <= 1e-12
    assert sweep["pareto"] and all(0 <= i < 28 for i in sweep["pareto"])
    # The weights engine runs the inverse-vol top-k example with stops and impact costs.
    momentum = qraft.json("backtest", ROOT / "examples" / "strategies" / "topk_momentum.yaml",
                          "--data", snap)
    assert momentum["metrics"]["trades"] > 0 and momentum["metrics"]["fees"] > 0
    # What no engine runs yet is refused by name (exit 2), never ignored.
    latency = tmp_path / "latency.yaml"
    latency.write_text((ROOT / "examples" / "strategies" / "ma_cross.yaml").read_text().replace(
        "slippage: {spread_bps: 2}", "slippage: {spread_bps: 2, latency_ms: 50}"))
    p = qraft.run("backtest", latency, "--data", snap, check=False)
    assert p.returncode == 2 and "latency_ms" in p.stderr and "not supported" in p.stderr


def test_topk_strategy_and_sampled_sweeps(qraft):
    from conftest import SAMPLE
    snap = qraft.ingest(SAMPLE, "--market", "us_stock")
    strategy = ROOT / "examples" / "strategies" / "topk_qlib.yaml"
    one = qraft.json("backtest", strategy, "--data", snap, "--params", "k=5", "--params", "lookback=20")
    assert one["params"] == {"k": 5, "lookback": 20}
    assert one["metrics"]["fees"] > 0 and one["metrics"]["turnover"] > 0
    a = qraft.json("sweep", strategy, "--data", snap, "--sample", "lhs", "--samples", "5", "--seed", "3")
    b = qraft.json("sweep", strategy, "--data", snap, "--sample", "lhs", "--samples", "5", "--seed", "3")
    assert a["combinations"] == 5 and a == b  # seeded: the same combinations and numbers
    params = [tuple(sorted(r["params"].items())) for r in a["results"]]
    assert len(set(params)) == 5
    p = qraft.run("sweep", strategy, "--data", snap, "--sample", "sobol", check=False)
    assert p.returncode == 2 and "expected random or lhs" in p.stderr
