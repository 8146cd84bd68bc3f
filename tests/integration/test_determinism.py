"""Same inputs, bit-identical outputs, whatever the thread count; round trips keep the id."""
import filecmp

from conftest import SAMPLE, Qraft


def test_thread_count_does_not_change_a_byte(tmp_path):
    one, two = Qraft(tmp_path / "one"), Qraft(tmp_path / "two")
    a = one.ingest(SAMPLE, "--market", "us_stock", "--threads", "1")
    b = two.ingest(SAMPLE, "--market", "us_stock", "--threads", "2")
    assert a == b
    for name in ["panel.arrow", "bars.parquet", "snapshot_meta.json"]:
        assert filecmp.cmp(one.store / "snapshots" / a / name, two.store / "snapshots" / b / name, shallow=False), name


def test_csv_to_store_to_parquet_and_csv_and_back(qraft, tmp_path):
    sid = qraft.ingest(SAMPLE, "--market", "us_stock")
    for fmt, out in [("parquet", tmp_path / "x.parquet"), ("csv", tmp_path / "x.csv")]:
        qraft.run("data", "export", sid, out, "--format", fmt)
        assert qraft.ingest(out, "--market", "us_stock") == sid, fmt
    # A different market name is different content.
    assert qraft.ingest(SAMPLE, "--market", "nasdaq_like") != sid
