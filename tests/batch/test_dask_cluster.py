"""A real Dask scheduler and two workers on 127.0.0.1: kill a worker mid-run, the batch still completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batch_helpers import ROOT, batch_command, child_env, free_port, records, running_processes, tree, write_sequences

procs = pytest.fixture(running_processes)


def _dask(*args: str) -> list[str]:
    return [sys.executable, "-m", "dask", *args]


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _connected_workers(address: str) -> int:
    """How many workers the scheduler at ``address`` knows (0 while it is not up)."""
    from distributed import Client

    try:
        with Client(address, timeout=5) as client:
            return len(client.scheduler_info()["workers"])
    except OSError:
        return 0


def test_killing_a_worker_mid_run_loses_and_duplicates_nothing(tmp_path: Path, procs: list) -> None:
    frames = 60  # per sequence; two frames per task: 60 tasks, so that the kill lands mid-run
    write_sequences(tmp_path / "seqs", count=2, frames=frames)
    out = tmp_path / "out"
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(_dask("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"),
                                 cwd=ROOT, env=child_env(), **quiet)
    procs.append(scheduler)
    workers = []
    for name in ("w1", "w2"):
        worker = subprocess.Popen(_dask("worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                        "--name", name, "--death-timeout", "60"),
                                  cwd=ROOT, env=child_env(), **quiet)
        procs.append(worker)
        workers.append(worker)
    _wait_for(lambda: _connected_workers(address) == 2, 120, "both workers to connect")  # both share the run
    batch = subprocess.Popen(batch_command(str(tmp_path / "seqs"), "-o", str(out), "--dask", address, "--workers",
                                           "2", "--size", "96", "--chunk", "2", "--outputs", "normals,mask"),
                             cwd=ROOT, env=child_env(), stderr=subprocess.PIPE, text=True)
    procs.append(batch)
    worker_pids = {w.pid for w in workers}

    def both_worked() -> bool:
        if batch.poll() is not None:
            raise AssertionError(f"the batch ended early: {batch.stderr.read()}")
        manifest = out / "manifest.jsonl"
        return manifest.exists() and worker_pids <= {r["pid"] for r in records(out)}

    _wait_for(both_worked, 120, "both workers to finish a task")
    victim = workers[0]
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    killed_after = len(records(out))
    _, err = batch.communicate(timeout=180)
    assert batch.returncode == 0, err
    assert err.splitlines()[-1].startswith(f"batch done: 2 sequences; tasks: {frames} run, 0 already done, 0 failed")

    task_records = records(out)
    ids = [r["task"] for r in task_records]
    assert len(ids) == len(set(ids)) == frames  # every task once
    assert all(r["status"] == "done" for r in task_records)
    assert killed_after < frames and {r["pid"] for r in task_records[killed_after + 2 :]} <= {workers[1].pid}
    expected = sorted(f"take{i}/{kind}/{f:05d}.png" for i in range(2) for kind in ("mask", "normals")
                      for f in range(frames))
    files = tree(out)
    assert sorted(files) == expected  # nothing missing, no stray temporary files
    listed = [o["path"] for r in task_records for o in r["outputs"]]
    assert sorted(listed) == expected  # nothing recorded twice
