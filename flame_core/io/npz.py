"""Model files in numpy's ``.npz`` format, read without ``allow_pickle`` and without trusting the archive.

:class:`NpzArchive` reads one member at a time, straight from the zip directory: a member's size is
checked against :data:`~.files.MAX_ZIP_MEMBER_BYTES` and against its ``.npy`` header (plain dtype, data
exactly ``prod(shape) * itemsize`` bytes) before it is read, and members that are not asked for are
never decompressed. Object (pickled) members are refused, or reported as such to callers that skip them.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FileFormatError, ModelFileError
from .files import MAX_JSON_BYTES, MAX_ZIP_MEMBER_BYTES, open_regular
from .layout import guard
from .safe_arrays import read_npy_stream

#: Key holding the JSON text metadata (a 0-d unicode array, readable without pickle).
METADATA_KEY = "__metadata__"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class NpzArchive:
    """An ``.npz`` opened for reading member by member (use as a context manager, or :meth:`close`)."""

    def __init__(self, path: str | Path, error: type[FileFormatError] = ModelFileError) -> None:
        self.path = path
        self.error = error
        self._fh = open_regular(path, error)
        try:
            with guard(path, None, "not a readable .npz archive", error):
                self._zip = zipfile.ZipFile(self._fh)
                infos = self._zip.infolist()
        except BaseException:
            self._fh.close()
            raise
        self._members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            key = name[:-4] if name.endswith(".npy") else name
            self._members.setdefault(key, info)
        self.files = list(self._members)

    def __enter__(self) -> NpzArchive:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()
        self._fh.close()

    def size(self, key: str) -> int:
        """The uncompressed size of a member, from the zip directory (nothing is read)."""
        return int(self._members[key].file_size)

    def read(self, key: str, *, pickled: str = "error", limit: int = MAX_ZIP_MEMBER_BYTES) -> np.ndarray | None:
        """The array of member ``key``; an object (pickled) member raises, or gives None with ``pickled="skip"``."""
        info = self._members[key]
        path, error = self.path, self.error
        if info.file_size > limit:
            raise error(path, "array too large", key=key, expected=f"at most {limit} bytes",
                        found=f"{info.file_size} bytes")
        with guard(path, key, "not a readable .npz member", error), self._zip.open(info) as fh:
            array, _, _ = read_npy_stream(fh, info.file_size, (path, key), error=error, read_pickle=False)
        if array is None:
            if pickled == "skip":
                return None
            raise error(path, "holds pickled Python objects, which are not read from .npz files", key=key,
                        expected="a numeric or text array")
        return array


class NpzArrays(Mapping[str, np.ndarray]):
    """Read-on-access view of an ``.npz`` archive: only the arrays used are decompressed."""

    def __init__(self, archive: NpzArchive) -> None:
        self._archive = archive
        self._keys = [k for k in archive.files if k != METADATA_KEY]

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._keys:
            raise KeyError(key)
        array = self._archive.read(key)
        assert array is not None
        return array

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def metadata(self) -> dict[str, str]:
        archive = self._archive
        if METADATA_KEY not in archive.files:
            return {}
        text = archive.read(METADATA_KEY, limit=4 * MAX_JSON_BYTES)
        with guard(archive.path, METADATA_KEY, "unreadable metadata"):
            assert text is not None
            return parse_metadata(str(text))


def parse_metadata(text: str) -> dict[str, str]:
    """A JSON object of text metadata (values made text; ints limited to 100 digits)."""
    meta = json.loads(text, parse_int=_small_int)
    if not isinstance(meta, dict):
        raise ValueError("not a JSON object")
    return {str(k): str(v) for k, v in meta.items()}


def _small_int(text: str) -> int:
    if len(text) > 100:
        raise ValueError(f"an integer of {len(text)} digits")
    return int(text)


@contextmanager
def open_npz(path: str | Path) -> Iterator[NpzArrays]:
    """Open an ``.npz`` archive as a lazy mapping (errors name the file)."""
    with NpzArchive(path) as archive:
        yield NpzArrays(archive)


def write_npz(path: str | Path, arrays: Mapping[str, np.ndarray], metadata: Mapping[str, str]) -> None:
    """Write ``arrays`` and ``metadata`` (uncompressed: loading is faster)."""
    payload = dict(arrays)
    payload[METADATA_KEY] = np.array(json.dumps(dict(metadata), sort_keys=True))
    with guard(path, None, "cannot write"), zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, array in payload.items():
            info = zipfile.ZipInfo(key + ".npy", date_time=_FIXED_TIME)  # fixed time: identical bytes per model
            with zf.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asanyarray(array), allow_pickle=False)


__all__ = ["METADATA_KEY", "NpzArchive", "NpzArrays", "open_npz", "parse_metadata", "write_npz"]
