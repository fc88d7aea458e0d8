"""Ctrl-C (SIGINT) a run, run it again: only what is missing is computed, as the manifest shows."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from batch_helpers import ROOT, batch_command, child_env, records, running_processes, tree, write_sequences

procs = pytest.fixture(running_processes)


def _wait_for_tasks(out: Path, count: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the batch ended before it could be interrupted: {proc.stderr.read()}")
        manifest = out / "manifest.jsonl"
        if manifest.exists() and len(records(out)) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} tasks finished in {timeout} s")


def test_interrupted_run_resumes_with_only_the_missing_tasks(tmp_path: Path, procs: list) -> None:
    write_sequences(tmp_path / "seqs", count=2, frames=24)
    out = tmp_path / "out"
    args = batch_command(str(tmp_path / "seqs"), "-o", str(out), "--workers", "2", "--size", "96", "--chunk", "2",
                         "--outputs", "normals,landmarks")
    # A shell without job control starts background commands with SIGINT ignored, and the child would inherit
    # that: give it the default disposition, as in an interactive terminal.
    first = subprocess.Popen(args, cwd=ROOT, env=child_env(), stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    procs.append(first)
    _wait_for_tasks(out, 3, first, timeout=120)
    first.send_signal(signal.SIGINT)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 130, err
    assert "batch interrupted" in err.splitlines()[-1]
    run1 = [r for r in records(out) if r["run"] == 1]
    done1 = {r["task"] for r in run1 if r["status"] == "done"}
    total = 2 * (24 // 2) + 2  # frame chunks + one landmarks task per sequence
    assert 3 <= len(done1) < total

    second = subprocess.run(args, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=180)
    assert second.returncode == 0, second.stderr
    run_line = next(r for r in records(out, "run") if r["run"] == 2)
    assert run_line["skipped"] == len(done1) and run_line["to_do"] == total - len(done1)
    run2 = {r["task"] for r in records(out) if r["run"] == 2}
    assert not run2 & done1  # nothing computed twice
    assert run2 | done1 == {r["task"] for r in records(out)} and len(run2 | done1) == total
    files = tree(out)
    assert sorted(files) == sorted([f"take{i}/normals/{f:05d}.png" for i in range(2) for f in range(24)]
                                   + [f"take{i}/landmarks.npz" for i in range(2)])
    assert f"tasks: {total - len(done1)} run, {len(done1)} already done, 0 failed" in second.stderr
