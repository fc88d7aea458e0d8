"""Output files of a batch: written atomically (a temporary file in the same folder, then a rename)."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

TMP_MARK = ".tmp-"


def write_atomic(out: Path, relative: str, data: bytes) -> dict[str, Any]:
    """Write ``data`` to ``out / relative`` atomically; returns its manifest record (path, bytes, sha256)."""
    path = out / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}{TMP_MARK}{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return {"path": relative, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.ascontiguousarray(v) for k, v in arrays.items()})  # type: ignore[arg-type]
    return buffer.getvalue()


def remove_partial(out: Path) -> int:
    """Delete temporary files left by interrupted writes under ``out``; returns how many."""
    count = 0
    if not out.is_dir():
        return 0
    for path in sorted(out.rglob(f"*{TMP_MARK}*"), reverse=True):
        if path.is_file():
            path.unlink()
            count += 1
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
    return count
