"""Helpers for the batch tests (real processes: a local pool, a Dask LocalCluster, a Dask scheduler and workers)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from flame_core.demo_animation import demo_sequence
from flame_core.sequence import save_sequence
from flame_core.sequence.vhap import to_arrays

ROOT = Path(__file__).resolve().parents[2]


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child process: the repository importable, single-threaded BLAS."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}, **extra)
    return env


def write_sequences(folder: Path, count: int, frames: int) -> list[Path]:
    """``count`` demo performances of ``frames`` frames as VHAP-layout npz files."""
    folder.mkdir(parents=True, exist_ok=True)
    return [save_sequence(demo_sequence(frames, seed=i), folder / f"take{i}.npz") for i in range(count)]


def write_bad_sequences(folder: Path) -> dict[str, Path]:
    """A corrupt file, a sequence with no frames, and a sequence for a model with more vertices."""
    folder.mkdir(parents=True, exist_ok=True)
    corrupt = folder / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    arrays = to_arrays(demo_sequence(4, seed=9))
    empty = folder / "empty.npz"
    np.savez(empty, **{k: (v[:0] if v.ndim >= 1 and v.shape[0] == 4 else v) for k, v in arrays.items()})
    other = folder / "other_model.npz"
    np.savez(other, **arrays, static_offset=np.zeros((1, 5143, 3), np.float32))
    return {"corrupt": corrupt, "empty": empty, "other": other}


def records(out: Path, kind: str = "task") -> list[dict]:
    lines = (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    return [r for r in map(json.loads, lines) if r.get("type") == kind]


def tree(out: Path) -> dict[str, bytes]:
    """Every output file under ``out`` (not the manifest) -> its bytes."""
    return {p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.rglob("*")) if p.is_file() and p.name != "manifest.jsonl"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def batch_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "flame_core", "batch", *args]


def running_processes() -> Iterator[list[subprocess.Popen]]:
    """Fixture body (``procs = pytest.fixture(running_processes)``): processes a test starts, each one still
    running killed at the end."""
    started: list[subprocess.Popen] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=10)
