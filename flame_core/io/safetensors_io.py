"""Model files in the safetensors format.

The format: an 8-byte little-endian header length, a JSON header mapping each tensor name to its
``dtype``, ``shape`` and ``data_offsets`` (plus ``__metadata__``, text to text), then the raw
little-endian data. Reading uses the ``safetensors`` package when it is installed, else the numpy
reader here, which checks every entry (dtype, shape, offsets covering the data exactly); both give
the same arrays. The writer orders the header as the package does (tensors by dtype then name) with the
metadata sorted by key, so the same model always gives the same bytes (the package orders metadata
at random); the files are read by the package like any other.
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFileError
from .files import check_regular, open_regular
from .layout import guard, read_head
from .safe_arrays import MAX_NDIM, checked_shape

DTYPES: dict[str, str] = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
    "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?",
}
_CODES = {np.dtype(v): k for k, v in DTYPES.items()}
#: Tensors are stored by descending rank of their dtype, then by name, as the reference writer does.
_RANK = {code: i for i, code in enumerate(("BOOL", "U8", "I8", "I16", "U16", "F16", "I32", "U32", "F32", "F64",
                                          "I64", "U64"))}
#: Largest header read (a FLAME model's is a few kB; the reference library allows 100 MB).
MAX_HEADER = 16 << 20


def library() -> Any | None:
    """The ``safetensors.numpy`` module, or None when the package is not installed."""
    try:
        import safetensors.numpy as st_numpy
    except ImportError:
        return None
    return st_numpy


def read_safetensors(path: str | Path, backend: str = "auto") -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """All tensors and the metadata of a safetensors file.

    ``backend``: "auto" (the package when installed), "library" (the package) or "numpy".
    """
    lib = library() if backend in ("auto", "library") else None
    if backend == "library" and lib is None:
        raise ModelFileError(path, "the safetensors package is not installed (pip install safetensors)")
    size = check_regular(path)
    if lib is not None:
        from safetensors import safe_open

        if size >= 8:  # the library's own header check allows 100 MB of JSON
            _parse_header(read_head(path, 8), path, size)

        with guard(path, None, "not a readable safetensors file"), safe_open(str(path), framework="numpy") as fh:
            meta = fh.metadata() or {}
            return {key: fh.get_tensor(key) for key in fh.keys()}, dict(meta)  # noqa: SIM118 - not a dict
    data = _read_bytes(path)
    header, data_start = _parse_header(data, path, len(data))
    raw_meta = header.pop("__metadata__", None) or {}
    if not isinstance(raw_meta, dict):
        raise ModelFileError(path, "invalid header", key="__metadata__", expected="a JSON object of text")
    with guard(path, "__metadata__", "invalid header"):
        meta = {str(k): str(v) for k, v in raw_meta.items()}
    return _tensors(header, data, data_start, path), meta


def _read_bytes(path: str | Path) -> bytearray:
    with open_regular(path) as fh, guard(path, None, "cannot read the file"):
        size = os.fstat(fh.fileno()).st_size
        data = bytearray(size)
        if fh.readinto(data) != size:  # type: ignore[attr-defined]
            raise ModelFileError(path, "the file changed while it was read")
    return data


def _parse_header(data: bytes | bytearray, path: str | Path, file_size: int) -> tuple[dict[str, Any], int]:
    if len(data) < 8:
        raise ModelFileError(path, "not a safetensors file (shorter than its 8-byte header length)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or 8 + n > file_size:
        raise ModelFileError(path, "not a safetensors file (header too long or beyond the end of the file)",
                             expected=f"at most {MAX_HEADER} bytes", found=f"{n} bytes in a {file_size}-byte file")
    if len(data) < 8 + n:
        return {}, 8 + n
    with guard(path, None, "not a safetensors file (header is not JSON)"):
        header = json.loads(bytes(data[8 : 8 + n]).decode("utf-8"), parse_int=_small_int)
    if not isinstance(header, dict):
        raise ModelFileError(path, "not a safetensors file (header is not a JSON object)")
    return header, 8 + n


def _small_int(text: str) -> int:
    """JSON integers of up to 20 digits (offsets and sizes fit in 64 bits)."""
    if len(text) > 20:
        raise ValueError(f"an integer of {len(text)} digits")
    return int(text)


def _ints(value: Any, count: int | None = None) -> tuple[int, ...]:
    """A JSON list of non-negative integers below 2**63 (no bools, no floats)."""
    if not isinstance(value, list) or (count is not None and len(value) != count) or len(value) > MAX_NDIM:
        raise ValueError(f"expected a list of {count or 'up to 32'} integers")
    if any(isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**63 for v in value):
        raise ValueError("expected non-negative integers below 2**63")
    return tuple(value)


def _tensors(header: Mapping[str, Any], data: bytearray, start: int, path: str | Path) -> dict[str, np.ndarray]:
    size = len(data) - start
    out: dict[str, np.ndarray] = {}
    spans = []
    for key, info in header.items():
        try:
            dtype = np.dtype(DTYPES[info["dtype"]])
            shape = checked_shape(_ints(info["shape"]), (path, key))
            begin, end = _ints(info["data_offsets"], 2)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(path, f"invalid tensor entry ({type(exc).__name__}: {exc})", key=key,
                                 expected=f"dtype in {sorted(DTYPES)}, shape, data_offsets") from None
        count = math.prod(shape)
        if not 0 <= begin <= end <= size or end - begin != count * dtype.itemsize:
            raise ModelFileError(path, "tensor data out of bounds or of the wrong size", key=key,
                                 expected=f"{count * dtype.itemsize} bytes within {size}", found=f"{begin}..{end}")
        out[key] = np.frombuffer(data, dtype=dtype, count=count, offset=start + begin).reshape(shape)
        spans.append((begin, end))
    spans.sort()
    covered = 0
    for begin, end in spans:
        if begin != covered:
            raise ModelFileError(path, "tensor data overlap or leave gaps", found=f"offset {begin}, expected {covered}")
        covered = end
    if covered != size:
        raise ModelFileError(path, "trailing or missing data", expected=f"{covered} bytes of data", found=f"{size}")
    return out


def encode(arrays: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None = None) -> bytes:
    """The bytes of a safetensors file holding ``arrays`` and ``metadata``."""
    items = []
    for key, array in arrays.items():
        array = np.asarray(array)
        native = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        if native not in _CODES:
            raise ValueError(f"{key}: dtype {array.dtype} is not storable in safetensors")
        items.append((key, np.ascontiguousarray(array, dtype=native)))
    items.sort(key=lambda kv: (-_RANK[_CODES[kv[1].dtype]], kv[0]))
    header: dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in sorted(metadata.items())}
    offset = 0
    for key, array in items:
        header[key] = {"dtype": _CODES[array.dtype], "shape": list(array.shape),
                       "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return b"".join([struct.pack("<Q", len(text)), text] + [a.tobytes() for _, a in items])


def write_safetensors(path: str | Path, arrays: Mapping[str, np.ndarray], metadata: Mapping[str, str]) -> None:
    """Write ``arrays`` and ``metadata`` to ``path``."""
    with guard(path, None, "cannot write"):
        data = encode(arrays, metadata)
        Path(path).write_bytes(data)
