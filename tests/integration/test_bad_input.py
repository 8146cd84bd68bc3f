"""The malformed-input corpus through the CLI: each file gives exit 2, a message naming the file, the
line and the problem, and no snapshot."""
import pytest

CASES = {
    "truncated.csv": (b"date,open,close\n2014-01-02,1,2\n2014-01-03,1", ":3: expected 3 fields"),
    "bad_number.csv": (b"date,close\n2014-01-02,1\n2014-01-03,12,5\n", ":3: expected 2 fields"),
    "text_number.csv": (b"date,close\n2014-01-02,1.2.3\n", ":2: column 'close': expected a number, got '1.2.3'"),
    "bad_date.csv": (b"date,close\n2014-02-30,1\n", ":2: column 'date': expected a date"),
    "utf16.csv": ("date,close\n2014-01-02,1\n".encode("utf-16"), "UTF-16/UTF-32 encoded"),
    "utf16_nobom.csv": ("date,close\n".encode("utf-16-le"), "contains NUL bytes"),
    "latin1.csv": ("date,close,Name\n2014-01-02,1,Soci\u00e9t\u00e9\n".encode("latin-1"), ":2: column 'Name': symbol is not valid UTF-8"),
    "empty.csv": (b"", "file is empty"),
    "header_only.csv": (b"date,close\n", "no data rows after the header"),
    "dup_header.csv": (b"date,close,close\n2014-01-02,1,1\n", "duplicate header column 'close'"),
    "no_time.csv": (b"open,close\n1,2\n", "no time column found"),
    "negative_volume.csv": (b"date,close,volume\n2014-01-02,1,-5\n", "negative volume"),
    "conflict.csv": (b"date,close\n2014-01-02,1\n2014-01-02,2\n", "two different rows"),
    "bad.csv.gz": (b"\x1f\x8b\x08\x00garbage", "not a valid gzip stream"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_file(qraft, tmp_path, name):
    content, expected = CASES[name]
    path = tmp_path / name
    path.write_bytes(content)
    proc = qraft.run("ingest", path, "--market", "us_stock", check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert name in proc.stderr or "ingest rejected" in proc.stderr
    assert expected in proc.stderr, proc.stderr
    snapshots = qraft.store / "snapshots"
    assert not snapshots.exists() or not any(snapshots.iterdir())
    tmp = qraft.store / "tmp"
    assert not tmp.exists() or not any(tmp.iterdir())


def test_bad_mapping_file_names_line(qraft, tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("time: DATETIME\nfeilds:\n  close: PRICE\n")
    data = tmp_path / "x.csv"
    data.write_text("DATETIME,PRICE\n2014-01-02,1\n")
    proc = qraft.run("ingest", data, "--market", "futures", "--mapping", mapping, check=False)
    assert proc.returncode == 2
    assert "m.yaml:2:1: unknown key 'feilds'" in proc.stderr
