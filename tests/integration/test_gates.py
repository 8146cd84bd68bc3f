"""`qraft gate` on a real sweep (docs/gates.md): the JSON contract, a fresh rerun that changes
nothing, the holdout kept out of the choice, determinism across thread counts, and errors that
name the file and line."""
import json

from conftest import ROOT, SAMPLE

MA_CROSS = ROOT / "examples" / "strategies" / "ma_cross.yaml"
GATES = ["dsr", "spa", "stepm", "pbo", "oos_ir", "overlap", "consistency", "rerun", "min_trades",
         "min_trl"]


def test_gate_a_sweep(qraft, tmp_path):
    snap = qraft.ingest(SAMPLE, "--market", "us_stock", "--quiet")
    sweep = tmp_path / "sw"
    qraft.run("sweep", MA_CROSS, "--data", snap, "--top", "5", "--out", sweep)
    report = qraft.json("gate", sweep)
    assert report["format"] == "qraft-gates-v1"
    assert json.loads((sweep / "gates.json").read_text()) == report
    # The overlap gate's cost curve is kept for the report's overlap chart.
    sens = json.loads((sweep / "sensitivity.json").read_text())
    assert [p["scale"] for p in sens["points"]] == [0.5, 0.75, 1.0, 1.25, 1.5]
    assert {p["component"] for p in sens["points"]} == {"all"}
    assert min(p["overlap"] for p in sens["points"]) == min(report["overlap"]["low"], report["overlap"]["high"])
    result = json.loads((sweep / "result.json").read_text())
    n = len(result["results"])
    assert report["trials"] == n and len(report["candidates"]) == min(10, n)
    w = report["windows"]
    assert w["train"]["end"] == w["validation"]["begin"] and w["validation"]["end"] == w["holdout"]["begin"]
    assert w["holdout"]["last"] == "2018-02-07"
    # Candidates are ranked by the objective on validation, best first.
    objectives = [c["objective"] for c in report["candidates"]]
    assert objectives == sorted(objectives, reverse=True)
    for c in report["candidates"]:
        assert [g["name"] for g in c["gates"]] == GATES
        gates = {g["name"]: g for g in c["gates"]}
        assert c["pass"] == all(g["pass"] for g in c["gates"])
        assert gates["rerun"]["value"] == 0 and gates["rerun"]["pass"]  # a fresh rerun changes nothing
        assert 0 <= gates["dsr"]["value"] <= 1
        assert gates["spa"]["value"] == report["search"]["spa"]["consistent"]
        assert gates["pbo"]["value"] == report["pbo"]["pbo"]
        for g in c["gates"]:
            assert g["reason"] and (g["pass"] or g["hint"])
    spa = report["search"]["spa"]
    assert spa["lower"] <= spa["consistent"] <= spa["upper"]
    assert len(report["pbo"]["logits"]) == 12870  # C(16, 8) splits
    # Deterministic, whatever the thread count.
    again = qraft.json("gate", sweep, "--threads", "1", "--out", tmp_path / "g1.json")
    assert again == report
    # Another configuration: dates, cash benchmark, a gate off, fewer candidates.
    cfg = tmp_path / "g.yaml"
    cfg.write_text("candidates: 3\nsplits: {validation: 2016-01-01, holdout: 2017-01-01}\n"
                   "benchmark: cash\ngates: {overlap: false, consistency: false}\n")
    (sweep / "sensitivity.json").write_text('{"kept": true}')  # a study already there is kept
    qraft.run("gate", sweep, "--gates", cfg)
    assert json.loads((sweep / "sensitivity.json").read_text()) == {"kept": True}
    other = qraft.json("gate", sweep, "--gates", cfg, "--out", tmp_path / "g2.json")
    assert len(other["candidates"]) == 3
    assert other["windows"]["holdout"]["first"] == "2017-01-03"
    assert "overlap" not in [g["name"] for g in other["candidates"][0]["gates"]]
    # Bad input names the file, the line and what was expected.
    cfg.write_text("gates:\n  dsr: {min: 2}\n")
    bad = qraft.run("gate", sweep, "--gates", cfg, check=False)
    assert bad.returncode == 2 and "g.yaml:2:" in bad.stderr and "gates.dsr.min must be in [0, 1]" in bad.stderr
    bad = qraft.run("gate", tmp_path / "nowhere", check=False)
    assert bad.returncode == 2 and "nowhere" in bad.stderr
