"""Vertex masks (``FLAME_masks.pkl``: a dict of vertex-index arrays per region)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFileError
from . import safe_pickle
from .layout import read_head


def load_masks(path: str | Path) -> dict[str, np.ndarray]:
    """Region name -> vertex indices (int64) from ``FLAME_masks.pkl`` (or an ``.npz`` of the same)."""
    head = read_head(path, 4)
    if head.startswith(b"PK"):
        from .npz import open_npz

        with open_npz(path) as npz:
            return _check_masks({k: npz[k] for k in npz}, path)
    data = safe_pickle.load(path)
    if not isinstance(data, dict):
        raise ModelFileError(path, "not a mask file", expected="a dict of vertex-index arrays",
                             found=type(data).__name__)
    return _check_masks(data, path)


def _check_masks(data: Mapping[Any, Any], path: str | Path) -> dict[str, np.ndarray]:
    masks = {}
    for name, value in data.items():
        key = name.decode("latin1") if isinstance(name, bytes) else str(name)
        array = safe_pickle.to_array(value, path, key)
        if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
            if array.ndim == 1 and np.issubdtype(array.dtype, np.floating) and np.all(np.mod(array, 1) == 0):
                array = array.astype(np.int64)
            else:
                raise ModelFileError(path, "not a list of vertex indices", key=key,
                                     expected="1-D integer array", found=f"{array.dtype} {array.shape}")
        if array.size and array.min() < 0:
            raise ModelFileError(path, "negative vertex index", key=key)
        masks[key] = array.astype(np.int64)
    if not masks:
        raise ModelFileError(path, "no masks in the file")
    return masks
