"""The CLI contract other tools rely on: output shapes, exit codes, store location."""
import json
import os
import re
import subprocess

from conftest import SAMPLE, Qraft, qraft_bin

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def test_ingest_prints_the_id_last_and_info_describes_it(qraft):
    proc = qraft.run("ingest", SAMPLE, "--market", "us_stock")
    lines = proc.stdout.strip().splitlines()
    assert HEX64.match(lines[-1])
    sid = lines[-1]
    assert "quality:" in proc.stderr  # the report goes to stderr, the id to stdout

    info = qraft.json("data", "info", sid)
    assert info["snapshot_id"] == sid
    assert info["symbols"] == 32
    assert info["bars"] == 35678
    assert info["rows"] == 35678
    assert info["start"] == "2013-02-08" and info["end"] == "2018-02-07"
    assert info["freq"] == "1d"
    assert info["fields"] == ["open", "high", "low", "close", "volume"]
    assert info["timezone"] == "America/New_York"

    # --json on ingest, and idempotence: the same data gives the same id.
    again = qraft.json("ingest", SAMPLE, "--market", "us_stock")
    assert again["snapshot_id"] == sid
    assert again["quality"]["errors"] == 0
    listing = qraft.json("data", "list")
    assert [s["snapshot_id"] for s in listing] == [sid]
    # References: id prefix and market name resolve to it.
    assert qraft.json("data", "info", sid[:10])["snapshot_id"] == sid
    assert qraft.json("data", "info", "us_stock")["snapshot_id"] == sid


def test_store_location_flag_then_env_then_home(tmp_path):
    q = Qraft(tmp_path / "unused")
    env = {"QRAFT_HOME": str(tmp_path / "home_store")}
    sid = q.run("ingest", SAMPLE / "AAPL_data.csv.gz", "--market", "us_stock", store=False, env=env).stdout.split()[-1]
    assert (tmp_path / "home_store" / "snapshots" / sid / "snapshot_meta.json").exists()
    env2 = {"QRAFT_HOME": "", "HOME": str(tmp_path / "user")}
    q.run("ingest", SAMPLE / "AAPL_data.csv.gz", "--market", "us_stock", store=False, env=env2)
    assert (tmp_path / "user" / ".qraft" / "snapshots" / sid).exists()
    q.run("ingest", SAMPLE / "AAPL_data.csv.gz", "--market", "us_stock", "--store", tmp_path / "flag", store=False, env=env)
    assert (tmp_path / "flag" / "snapshots" / sid).exists()


def test_exit_codes(qraft, tmp_path):
    assert qraft.run("data", "info", "nosuchsnapshot", check=False).returncode == 2
    assert qraft.run("ingest", tmp_path / "missing.csv", "--market", "us_stock", check=False).returncode == 2
    assert qraft.run("ingest", SAMPLE, check=False).returncode == 2  # --market is required
    proc = subprocess.run([str(qraft_bin()), "frobnicate"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert subprocess.run([str(qraft_bin()), "--help"], capture_output=True).returncode == 0
    assert subprocess.run([str(qraft_bin()), "--version"], capture_output=True, text=True).stdout.startswith("qraft ")


def test_show_and_check(qraft):
    sid = qraft.ingest(SAMPLE, "--market", "us_stock")
    out = qraft.run("data", "show", sid, "--symbols", "EBAY", "--start", "2015-07-16", "--end", "2015-07-20",
                    "--fields", "close,volume", "--format", "csv").stdout
    assert out.splitlines() == [
        "symbol,date,close,volume",
        "EBAY,2015-07-16,65.59,31025297",
        "EBAY,2015-07-17,66.29,26169406",
        "EBAY,2015-07-20,28.57,37485739",
    ]
    check = qraft.run("data", "check", sid)
    assert "integrity: ok" in check.stdout and check.stdout.strip().endswith("PASS")
    strict = qraft.run("data", "check", sid, "--strict", check=False)
    assert strict.returncode == 2 and strict.stdout.strip().endswith("FAIL")
    report = json.loads(qraft.run("data", "check", sid, "--json").stdout)
    # The sample's known defects are all found.
    checks = {(i["check"], i.get("symbol")) for i in report["issues"]}
    assert ("outlier_return", "EBAY") in checks  # PayPal spin-off, 2015-07-20
    assert ("ohlc_inconsistent", "O") in checks
    assert ("missing_values", "BHF") in checks
    assert ("calendar_gap", "DHR") in checks


def test_gc_removes_leftovers(qraft):
    qraft.ingest(SAMPLE / "KO_data.csv.gz", "--market", "us_stock")
    leftover = qraft.store / "tmp" / "0123456789ab-999999-0"
    leftover.mkdir(parents=True)
    (leftover / "panel.arrow").write_bytes(b"partial")
    out = qraft.run("data", "gc").stdout
    assert "removed 1" in out
    assert not leftover.exists()
