"""Killing an ingest at any moment leaves the store valid: no partial snapshot is ever visible,
leftovers are cleaned up, and the next ingest succeeds."""
import os
import signal
import subprocess
import time

import pytest

from conftest import SAMPLE, SP500, Qraft


def assert_store_valid(q: Qraft):
    snapshots = q.store / "snapshots"
    for d in snapshots.iterdir() if snapshots.exists() else []:
        # Every visible snapshot is complete and verifies.
        assert (d / "snapshot_meta.json").exists(), d
        q.run("data", "check", d.name)
    q.run("data", "list")


def kill_after(q: Qraft, source, wait):
    env = {**os.environ, "CI": "1"}
    proc = subprocess.Popen([str(q.bin), "ingest", str(source), "--market", "us_stock", "--store", str(q.store)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    wait(proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return proc.returncode


def test_kill_while_writing(tmp_path):
    source = SP500 if SP500.exists() else SAMPLE
    q = Qraft(tmp_path / "store")
    killed_mid_write = 0
    for attempt in range(5):
        def until_writing(proc):
            # Wait until the temporary snapshot directory has content, i.e. publishing has begun.
            deadline = time.time() + 30
            tmp = q.store / "tmp"
            while time.time() < deadline and proc.poll() is None:
                if tmp.exists() and any(p.is_dir() and any(p.iterdir()) for p in tmp.iterdir()):
                    return
                time.sleep(0.0005)
        rc = kill_after(q, source, until_writing)
        killed_mid_write += rc == -signal.SIGKILL
        assert_store_valid(q)
        assert not (q.store / "snapshots").exists() or not any((q.store / "snapshots").iterdir())
    assert killed_mid_write >= 3  # most attempts really died inside the write
    # The next ingest cleans up and succeeds.
    sid = q.ingest(source, "--market", "us_stock")
    assert_store_valid(q)
    assert not any((q.store / "tmp").iterdir())
    assert q.json("data", "info", sid)["snapshot_id"] == sid


@pytest.mark.parametrize("delay", [0.0, 0.02, 0.05, 0.1, 0.2, 0.4])
def test_kill_at_random_moments(tmp_path, delay):
    q = Qraft(tmp_path / "store")
    source = SP500 if SP500.exists() else SAMPLE
    kill_after(q, source, lambda proc: time.sleep(delay))
    assert_store_valid(q)
    q.ingest(source, "--market", "us_stock")
    assert_store_valid(q)
