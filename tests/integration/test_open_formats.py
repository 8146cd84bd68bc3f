"""Snapshots are readable without Qraft: pyarrow, polars and DuckDB open the files directly, and
what they read equals the source CSVs."""
import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from conftest import SAMPLE


def source_frame():
    frames = [pd.read_csv(p) for p in sorted(SAMPLE.glob("*.csv.gz"))]
    df = pd.concat(frames)
    df["date"] = pd.to_datetime(df["date"])
    return df.rename(columns={"Name": "symbol"}).sort_values(["symbol", "date"]).reset_index(drop=True)


def test_bars_parquet_with_pyarrow_polars_duckdb(qraft):
    sid = qraft.ingest(SAMPLE, "--market", "us_stock")
    bars = qraft.store / "snapshots" / sid / "bars.parquet"
    src = source_frame()

    table = pq.read_table(bars)
    assert table.schema.field("date").type == pa.date32()
    assert table.schema.metadata[b"qraft.snapshot_id"].decode() == sid
    df = table.to_pandas()
    df["date"] = pd.to_datetime(df["date"])
    df["symbol"] = df["symbol"].astype(str)
    # Rows inside each symbol's span that have no data at all (gaps) are kept as all-null rows.
    df = df.dropna(how="all", subset=["open", "high", "low", "close", "volume"]).reset_index(drop=True)
    assert len(df) == len(src) == 35678
    for col in ["open", "high", "low", "close", "volume"]:
        np.testing.assert_array_equal(df[col].to_numpy(), src[col].to_numpy(dtype=float), err_msg=col)

    pl_df = pl.read_parquet(bars)
    assert pl_df.height == table.num_rows
    assert pl_df.filter(pl.col("symbol") == "AAPL")["close"][0] == 67.8542

    con = duckdb.connect()
    n, total = con.execute(f"SELECT count(close), sum(volume) FROM '{bars}'").fetchone()
    assert n == 35678
    assert total == src["volume"].sum()
    first = con.execute(f"SELECT min(date) FROM '{bars}' WHERE symbol = 'APTV'").fetchone()[0]
    assert str(first) == "2017-12-05"


def test_panel_arrow_with_pyarrow_and_polars(qraft):
    sid = qraft.ingest(SAMPLE, "--market", "us_stock")
    path = qraft.store / "snapshots" / sid / "panel.arrow"
    with pa.memory_map(str(path)) as source:
        table = ipc.open_file(source).read_all()
    meta = table.schema.metadata
    S, T = int(meta[b"qraft.num_symbols"]), int(meta[b"qraft.num_times"])
    assert (S, T) == (32, 1259)
    assert table.num_rows == S * T
    assert table.schema.field("time").type == pa.timestamp("ns", tz="UTC")
    close = table.column("close").to_numpy().reshape(S, T)  # symbol-major, dense, NaN = missing
    symbols = table.column("symbol").chunk(0).dictionary.to_pylist()
    assert symbols == sorted(symbols)
    src = source_frame()
    aapl = src[src.symbol == "AAPL"]["close"].to_numpy()
    np.testing.assert_array_equal(close[symbols.index("AAPL")], aapl)
    aptv = close[symbols.index("APTV")]
    assert np.isnan(aptv[:-44]).all() and not np.isnan(aptv[-44:]).any()  # listed 2017-12-05

    pdf = pl.read_ipc(path)
    assert pdf.shape == (S * T, 7)
