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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFileError
from . import torch_files
from .layout import guard

METADATA_FILE = "metadata.json"


def read_npy(path: str | Path) -> Any:
    """An ``.npy`` file's array; an object array (a pickled dict, torch tensors too) is unpickled with the allow-list.

    A 0-d object array is returned as the object it holds.
    """
    with guard(path, None, "not a readable .npy file"), open(path, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ModelFileError(path, "unsupported .npy format version", expected="1.0 or 2.0", found=str(version))
        if not dtype.hasobject:
            fh.seek(0)
            return np.lib.format.read_array(fh, allow_pickle=False)
        payload = fh.read()
    value = torch_files.loads(payload, path)
    if isinstance(value, np.ndarray) and value.dtype.hasobject and value.shape == ():
        return value.item()
    if isinstance(value, np.ndarray) and value.shape != tuple(shape):
        raise ModelFileError(path, "pickled array does not match its header", expected=str(shape),
                             found=str(value.shape))
    return value


def read_folder(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """All arrays of a folder (keys are relative paths without ``.npy``) and its metadata."""
    folder = Path(path)
    if not folder.is_dir():
        raise ModelFileError(path, "not a folder")
    arrays: dict[str, np.ndarray] = {}
    for file in sorted(folder.rglob("*.npy")):
        key = file.relative_to(folder).with_suffix("").as_posix()
        with guard(file, key, "not a readable .npy file"):
            arrays[key] = np.load(file, allow_pickle=False)
    meta: dict[str, str] = {}
    meta_file = folder / METADATA_FILE
    if meta_file.exists():
        with guard(meta_file, None, "unreadable metadata"):
            loaded = json.loads(meta_file.read_text(encoding="utf-8"))
            if not isinstance(loaded, dict):
                raise ValueError("not a JSON object")
            meta = {str(k): str(v) for k, v in loaded.items()}
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
