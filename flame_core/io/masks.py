"""Region masks: ``FLAME_masks.pkl`` (vertex indices per region) and SMIRK's ``FLAME_masks_triangles.npy``
(a pickled ``.npy`` holding triangle indices per region); also an ``.npz`` of either.

The file does not say whether its indices are vertices or triangles: :func:`fit_masks` decides for a
model, from the indices' range and from which reading gives surface patches (see
:mod:`flame_core.topology`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFileError
from ..topology import MAX_REGION_PIECES, misfit_regions
from . import safe_pickle
from .layout import read_head


def load_masks(path: str | Path) -> dict[str, np.ndarray]:
    """Region name -> indices (int64) from a pickled dict (``.pkl`` or pickled ``.npy``) or an ``.npz``."""
    head = read_head(path, 6)
    if head.startswith(b"PK"):
        from .npz import open_npz

        with open_npz(path) as npz:
            return _check_masks({k: npz[k] for k in npz}, path)
    if head.startswith(b"\x93NUMPY"):
        from .npy_folder import read_npy

        data = read_npy(path)
    else:
        data = safe_pickle.load(path)
    if not isinstance(data, dict):
        raise ModelFileError(path, "not a mask file", expected="a dict of index arrays",
                             found=type(data).__name__)
    return _check_masks(data, path)


def fit_masks(path: str | Path, masks: Mapping[str, np.ndarray], faces: np.ndarray,
              n_vertices: int) -> tuple[str, dict[str, np.ndarray]]:
    """``("vertices" | "faces", masks)``: how the masks of ``path`` fit a mesh, or a ``ModelFileError``.

    Read as vertex indices when they are in range and every region is a patch of the mesh, else as
    triangle indices under the same conditions; refused when neither reading fits.
    """
    top = max((int(v.max()) for v in masks.values() if v.size), default=-1)
    n_faces = len(faces)
    problems = []
    for kind, count in (("vertices", n_vertices), ("faces", n_faces)):
        if top >= count:
            problems.append(f"as {kind}: index {top} out of range 0..{count - 1}")
            continue
        scattered = misfit_regions(faces, n_vertices, masks, per_face=kind == "faces")
        if not scattered:
            return kind, dict(masks)
        name, pieces = max(scattered.items(), key=lambda item: item[1])
        problems.append(f"as {kind}: {len(scattered)} of {len(masks)} regions are scattered "
                        f"(e.g. {name!r} in {pieces} pieces)")
    raise ModelFileError(
        path, "the masks were not made for this model's mesh (another topology, e.g. FLAME's masks on the demo head)",
        expected=f"regions of at most {MAX_REGION_PIECES} connected pieces of vertices or triangles",
        found="; ".join(problems),
    )


def _check_masks(data: Mapping[Any, Any], path: str | Path) -> dict[str, np.ndarray]:
    masks = {}
    for name, value in data.items():
        key = name.decode("latin1") if isinstance(name, bytes) else str(name)
        array = safe_pickle.to_array(value, path, key)
        if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
            if array.ndim == 1 and np.issubdtype(array.dtype, np.floating) and np.all(np.mod(array, 1) == 0):
                array = array.astype(np.int64)
            else:
                raise ModelFileError(path, "not a list of indices", key=key,
                                     expected="1-D integer array", found=f"{array.dtype} {array.shape}")
        if array.size and array.min() < 0:
            raise ModelFileError(path, "negative index", key=key)
        masks[key] = array.astype(np.int64)
    if not masks:
        raise ModelFileError(path, "no masks in the file")
    return masks
