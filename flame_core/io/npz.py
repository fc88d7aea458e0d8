"""Model files in numpy's ``.npz`` format (never loaded with ``allow_pickle``)."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFileError
from .layout import guard

#: Key holding the JSON text metadata (a 0-d unicode array, readable without pickle).
METADATA_KEY = "__metadata__"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class NpzArrays(Mapping[str, np.ndarray]):
    """Read-on-access view of an ``.npz`` archive: only the arrays used are decompressed."""

    def __init__(self, npz: Any, path: str | Path) -> None:
        self._npz = npz
        self._path = path
        self._keys = [k for k in npz.files if k != METADATA_KEY]

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._keys:
            raise KeyError(key)
        with guard(self._path, key):
            return self._npz[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def metadata(self) -> dict[str, str]:
        if METADATA_KEY not in self._npz.files:
            return {}
        with guard(self._path, METADATA_KEY, "unreadable metadata"):
            meta = json.loads(str(self._npz[METADATA_KEY]))
            if not isinstance(meta, dict):
                raise ValueError("not a JSON object")
            return {str(k): str(v) for k, v in meta.items()}


@contextmanager
def open_npz(path: str | Path) -> Iterator[NpzArrays]:
    """Open an ``.npz`` archive as a lazy mapping (errors name the file)."""
    with guard(path, None, "not a readable .npz archive"):
        npz = np.load(path, allow_pickle=False)
        if not hasattr(npz, "files"):
            raise ModelFileError(path, "not an .npz archive", found="a single .npy array")
    try:
        yield NpzArrays(npz, path)
    finally:
        npz.close()


def write_npz(path: str | Path, arrays: Mapping[str, np.ndarray], metadata: Mapping[str, str]) -> None:
    """Write ``arrays`` and ``metadata`` (uncompressed: loading is faster)."""
    payload = dict(arrays)
    payload[METADATA_KEY] = np.array(json.dumps(dict(metadata), sort_keys=True))
    with guard(path, None, "cannot write"), zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, array in payload.items():
            info = zipfile.ZipInfo(key + ".npy", date_time=_FIXED_TIME)  # fixed time: identical bytes per model
            with zf.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asanyarray(array), allow_pickle=False)
