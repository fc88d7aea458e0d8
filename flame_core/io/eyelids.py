"""Eyelid blend shapes: ``l_eyelid.npy`` and ``r_eyelid.npy``, each (V, 3) vertex offsets.

They are distributed with metrical-tracker and SMIRK and drive the ``eyelids`` parameter (left
first). Give the two files, one of them (the other is found beside it), or their folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ModelFileError
from .layout import guard, read_head

PathLike = str | Path
NAMES = ("l_eyelid.npy", "r_eyelid.npy")


def eyelid_paths(source: PathLike | Sequence[PathLike]) -> tuple[Path, Path]:
    """The left and right files of ``source``: a pair, a folder holding both, or one of the two files."""
    if not isinstance(source, (str, Path)):
        pair = [Path(p) for p in source]
        if len(pair) != 2:
            raise ModelFileError(None, "eyelid blend shapes come as two files", expected="(left, right)",
                                 found=f"{len(pair)} paths")
        return pair[0], pair[1]
    path = Path(source)
    if path.is_dir():
        return path / NAMES[0], path / NAMES[1]
    name = path.name
    for mine, other in ((0, 1), (1, 0)):
        prefix = NAMES[mine][:2]
        if name.lower().startswith(prefix):
            sibling = path.with_name(NAMES[other][:2] + name[2:])
            return (path, sibling) if mine == 0 else (sibling, path)
    raise ModelFileError(path, "cannot tell the left and right eyelid files apart",
                         expected="l_eyelid.npy and r_eyelid.npy (or a (left, right) pair)")


def load_eyelids(source: PathLike | Sequence[PathLike]) -> tuple[np.ndarray, str]:
    """``(eyelid_dirs (V, 3, 2) float64, description)`` from the left and right files of ``source``."""
    left, right = eyelid_paths(source)
    shapes = [_read(left), _read(right)]
    if shapes[0].shape != shapes[1].shape:
        raise ModelFileError(right, "the left and right eyelid shapes differ in size",
                             expected=str(shapes[0].shape), found=str(shapes[1].shape))
    return np.stack(shapes, axis=-1), f"{left.name} + {right.name}"


def _read(path: Path) -> np.ndarray:
    if not path.is_file():
        problem = "not a regular file" if path.exists() else "no such file"
        raise ModelFileError(path, problem, expected="an eyelid blend shape (.npy, (V, 3))")
    if not read_head(path, 6).startswith(b"\x93NUMPY"):
        raise ModelFileError(path, "not a .npy array", expected="an eyelid blend shape (.npy, (V, 3))")
    with guard(path, None, "cannot read the array"):
        array = np.load(path, allow_pickle=False)
    if array.ndim != 2 or array.shape[1] != 3 or array.dtype.kind not in "fiu":
        raise ModelFileError(path, "wrong shape", expected="(V, 3) numbers", found=f"{array.dtype} {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ModelFileError(path, "non-finite values (NaN or inf)")
    return array.astype(np.float64)
