"""A folder of ``.npy`` files, one per array (the layout of the oxigaf-flame Rust crate).

``v_template.npy`` (V, 3), ``faces.npy`` (F, 3) int32, ``shapedirs.npy`` (V, 3, n_shape),
``expressiondirs.npy`` (V, 3, n_expression), ``posedirs.npy`` (V, 3, 36), ``j_regressor.npy`` (J, V),
``kintree_table.npy`` (2, J) int32 with -1 for the root, ``lbs_weights.npy`` (V, J). Arrays whose
names contain a slash (``masks/lips``) live in subfolders; text metadata is in ``metadata.json``.
Also :func:`read_npy`, which reads ``.npy`` files holding a pickled object (the landmark files)
with the restricted unpickler instead of ``allow_pickle`` (torch tensors inside read as arrays, see
:mod:`.torch_files`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFileError
from . import torch_files
from .files import MAX_JSON_BYTES, MAX_MEMBER_BYTES, inside, open_regular, read_limited
from .layout import guard
from .npz import parse_metadata
from .safe_arrays import read_npy_stream

METADATA_FILE = "metadata.json"


def read_npy(path: str | Path) -> Any:
    """An ``.npy`` file's array; an object array (a pickled dict, torch tensors too) is unpickled with the allow-list.

    A 0-d object array is returned as the object it holds.
    """
    with open_regular(path) as fh, guard(path, None, "not a readable .npy file"):
        size = os.fstat(fh.fileno()).st_size
        if size > MAX_MEMBER_BYTES:
            raise ModelFileError(path, "too large", expected=f"at most {MAX_MEMBER_BYTES} bytes", found=f"{size}")
        array, shape, payload = read_npy_stream(fh, size, (path, None))
    if array is not None:
        return array
    assert payload is not None
    value = torch_files.loads(payload, path)
    if isinstance(value, np.ndarray) and value.dtype.hasobject and value.shape == ():
        return value.item()
    if isinstance(value, np.ndarray) and value.shape != tuple(shape):
        raise ModelFileError(path, "pickled array does not match its header", expected=str(shape),
                             found=str(value.shape))
    return value


def read_folder(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """All arrays of a folder (keys are relative paths without ``.npy``) and its metadata.

    Every member must be a regular file inside the folder (links leading out of it are refused);
    object (pickled) arrays are refused.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ModelFileError(path, "not a folder")
    arrays: dict[str, np.ndarray] = {}
    for file in sorted(folder.rglob("*.npy")):
        key = file.relative_to(folder).with_suffix("").as_posix()
        inside(folder, file)
        with open_regular(file) as fh, guard(file, key, "not a readable .npy file"):
            array, _, _ = read_npy_stream(fh, os.fstat(fh.fileno()).st_size, (file, key))
        if array is None:
            raise ModelFileError(file, "holds pickled Python objects, which are not read in a model folder", key=key,
                                 expected="a numeric array")
        arrays[key] = array
    meta: dict[str, str] = {}
    meta_file = folder / METADATA_FILE
    if meta_file.exists() or meta_file.is_symlink():
        inside(folder, meta_file)
        text = read_limited(meta_file, MAX_JSON_BYTES, "metadata")
        with guard(meta_file, None, "unreadable metadata"):
            meta = parse_metadata(text.decode("utf-8"))
    if not arrays:
        raise ModelFileError(path, "no .npy files in the folder", expected="v_template.npy, faces.npy, ...")
    return arrays, meta


def write_folder(path: str | Path, arrays: Mapping[str, np.ndarray], metadata: Mapping[str, str]) -> None:
    """Write one ``.npy`` per array and ``metadata.json`` (the folder is created if needed)."""
    folder = Path(path)
    if folder.is_dir():
        stale = sorted(f.relative_to(folder).as_posix() for f in folder.rglob("*.npy")
                       if f.relative_to(folder).with_suffix("").as_posix() not in arrays)
        if stale:
            raise ModelFileError(path, "the folder holds other .npy files; choose a new or empty folder",
                                 found=", ".join(stale[:5]))
    with guard(path, None, "cannot write"):
        folder.mkdir(parents=True, exist_ok=True)
        for key, array in arrays.items():
            file = folder / (key + ".npy")
            file.parent.mkdir(parents=True, exist_ok=True)
            np.save(file, np.asanyarray(array), allow_pickle=False)
        (folder / METADATA_FILE).write_text(json.dumps(dict(metadata), indent=1, sort_keys=True), encoding="utf-8")
