"""The precise engine through the CLI (docs/precise.md): `qraft backtest --engine precise`
prints the fast engine's object plus order, fill and cost figures and writes order and fill
logs that pyarrow reads; `consistency`, `sensitivity` and `stress` report on a real sweep."""
import csv

import pyarrow.parquet as pq

from conftest import ROOT, SAMPLE

MA_CROSS = ROOT / "examples" / "strategies" / "ma_cross.yaml"


def test_backtest_precise_json_and_logs(qraft, tmp_path):
    snap = qraft.ingest(SAMPLE, "--market", "us_stock", "--quiet")
    out = tmp_path / "bt"
    fast = qraft.json("backtest", MA_CROSS, "--data", snap, "--params", "fast=10", "--params", "slow=30")
    precise = qraft.json("backtest", MA_CROSS, "--data", snap, "--params", "fast=10", "--params", "slow=30",
                         "--engine", "precise", "--out", out)
    assert precise["engine"] == "precise"
    assert precise["dsl_hash"] == fast["dsl_hash"] and precise["snapshot_id"] == fast["snapshot_id"]
    assert set(precise["metrics"]) == set(fast["metrics"])
    # us_stock whole shares, no latency, no cap: the same trades as the fast engine.
    assert precise["metrics"]["trades"] == fast["metrics"]["trades"]
    assert abs(precise["metrics"]["total_return"] - fast["metrics"]["total_return"]) < 5e-3 * abs(fast["metrics"]["total_return"])
    assert precise["fills"] <= precise["orders"]
    costs = precise["costs"]
    assert abs(costs["total"] - sum(v for k, v in costs.items() if k != "total")) < 1e-6
    cand = next((out / "candidates").iterdir())
    with open(cand / "fills.csv", newline="") as f:
        fills = list(csv.DictReader(f))
    assert len(fills) == precise["fills"]
    assert abs(sum(float(r["commission"]) for r in fills) - costs["commission"]) < 1e-6
    orders = pq.read_table(cand / "orders.parquet").to_pylist()
    assert len(orders) == precise["orders"]
    assert sum(o["status"] == "rejected" for o in orders) == precise["rejected"]
    assert (out / "result.json").exists() and (cand / "equity.csv").exists()


def test_consistency_sensitivity_and_stress(qraft, tmp_path):
    snap = qraft.ingest(SAMPLE, "--market", "us_stock", "--quiet")
    sweep = tmp_path / "sw"
    qraft.run("sweep", MA_CROSS, "--data", snap, "--top", "5", "--out", sweep)
    cons = qraft.json("consistency", sweep, "--candidates", "3", "--participation", "0.01")
    assert cons["pass"] and cons["max_difference"] < cons["bound"] == 0.005
    assert [s["friction"] for s in cons["rows"][0]["steps"]] == ["costs", "limits", "ticks", "partial_fills"]
    assert (sweep / "consistency.json").exists()
    sens = qraft.json("sensitivity", sweep, "--top", "3", "--candidates", "8", "--scales", "0.5,1,2")
    assert len(sens["candidates"]) == 8 and sens["top"] == 3
    assert {p["component"] for p in sens["points"]} == {"commission", "tax", "slippage", "all"}
    for p in sens["points"]:
        if p["scale"] == 1:
            assert p["overlap"] == 1 and p["objective"] == sens["base"]["objective"]
    assert 0 <= sens["min_overlap"] <= 1
    stress = qraft.json("stress", MA_CROSS, "--data", snap, "--scenario", "gap_crash")
    acc = stress["accounting"]
    assert acc["filled"] + acc["cancelled"] + acc["rejected"] + acc["working"] == stress["stressed"]["orders"]
    assert stress["stressed"]["final_value"] < stress["baseline"]["final_value"]
    bad = qraft.run("stress", MA_CROSS, "--data", snap, "--scenario", "meteor", check=False)
    assert bad.returncode == 2 and "unknown stress scenario 'meteor'" in bad.stderr


def test_replay_quotes_on_an_order_book(qraft, tmp_path):
    """`qraft replay`: a quoting strategy on a real Binance L2 capture through the book engine."""
    from conftest import SHARED, need_shared
    need_shared()
    capture = SHARED / "hftbacktest-l2" / "examples" / "usdm" / "btcusdt_20240808.gz"
    args = ["replay", capture, "--tick", "0.1", "--size", "0.001", "--quote-size", "0.01",
            "--latency-ms", "5", "--data-latency-ms", "2", "--maker-bps", "2", "--taker-bps", "5",
            "--margin", "0.05"]
    out = tmp_path / "rp"
    ra = qraft.json(*args, "--out", out, store=False)
    assert ra["symbol"] == "BTCUSDT" and ra["fills"] > 100 and ra["rejected"] == 0
    assert ra["maker_units"] > ra["taker_units"] > 0
    assert qraft.json(*args, store=False) == ra  # deterministic
    fills = pq.read_table(out / "fills.parquet").to_pylist()
    assert len(fills) == ra["fills"]
    fees = sum(f["commission"] for f in fills)
    assert abs(fees - ra["fees"]) < 1e-9
    for f in fills:  # 2 bps maker, 5 bps taker
        rate = 2e-4 if f["liquidity"] == "maker" else 5e-4
        assert abs(f["commission"] - rate * f["price"] * f["quantity"]) < 1e-9
    with open(out / "equity.csv", newline="") as fh:
        equity = list(csv.DictReader(fh))
    assert abs(float(equity[-1]["equity"]) - ra["final_equity"]) < 1e-6
    import json
    assert json.loads((out / "summary.json").read_text()) == ra
    power = qraft.json(*args, "--queue", "power:3", store=False)
    assert power["fills"] != ra["fills"]
    bad = qraft.run(*args[:2], "--tick", "0.3", "--size", "0.001", check=False, store=False)
    assert bad.returncode == 2 and "btcusdt_20240808.gz:" in bad.stderr
    bad = qraft.run(*args, "--queue", "magic", check=False, store=False)
    assert bad.returncode == 2 and "expected risk-averse or power:N" in bad.stderr
