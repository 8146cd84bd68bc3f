"""Fixtures for the CLI-level integration tests: the built `qraft` binary, fresh stores, and paths.

These tests drive the real binary on real files, exactly as a user would.
"""
import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample" / "sp500"
SHARED = Path(os.environ.get("QRAFT_SHARED_DATA", ROOT.parent / "shared" / "data"))
SP500 = SHARED / "sp500-5yr" / "stock_data" / "individual_stocks_5yr"


def qraft_bin() -> Path:
    return Path(os.environ.get("QRAFT_BIN", ROOT / "build" / "bin" / "qraft")).resolve()


class Qraft:
    """Runs the CLI against one store."""

    def __init__(self, store: Path):
        self.store = store
        self.bin = qraft_bin()

    def run(self, *args, check=True, env=None, store=True, **kw):
        cmd = [str(self.bin), *map(str, args)]
        if store:
            cmd += ["--store", str(self.store)]
        full_env = {**os.environ, "CI": "1", **(env or {})}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, **kw)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    def ingest(self, *args, **kw) -> str:
        out = self.run("ingest", *args, **kw).stdout.strip().splitlines()
        return out[-1]

    def json(self, *args, **kw):
        return json.loads(self.run(*args, "--json", **kw).stdout)


@pytest.fixture
def qraft(tmp_path) -> Qraft:
    assert qraft_bin().exists(), f"build first: {qraft_bin()} is missing"
    return Qraft(tmp_path / "store")


def need_shared():
    if not SP500.exists():
        pytest.skip(f"reference data not found at {SHARED}")
