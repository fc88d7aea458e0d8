"""Arrays rebuilt from untrusted files: plain dtypes only, sizes checked against the bytes present.

Nothing a file says about memory layout reaches numpy's C code: a dtype is rebuilt from a validated
(kind, item size, byte order) description, never from pickled dtype state; an array is a copy of
exactly ``prod(shape) * itemsize`` bytes read from the file, never a view with foreign strides.
Structured, subarray, object (outside pickles' own containers), complex, datetime and void dtypes
are refused. :func:`read_npy_stream` reads one ``.npy`` (a file or an ``.npz`` member) that way.
"""

from __future__ import annotations

import math
from typing import IO, Any

import numpy as np

from ..errors import FileFormatError, ModelFileError

#: Kinds admitted: bool, signed and unsigned integers, floats, byte and unicode strings.
PLAIN_KINDS = "biufSU"
MAX_NDIM = 32
#: Largest item size of a string dtype (1 MiB).
MAX_ITEMSIZE = 1 << 20
_NUMERIC_SIZES = {"b": (1,), "i": (1, 2, 4, 8), "u": (1, 2, 4, 8), "f": (2, 4, 8)}

Where = tuple[Any, str | None]


def plain_dtype(
    kind: str, itemsize: int, byteorder: str, where: Where, *, allow_object: bool = False,
    error: type[FileFormatError] = ModelFileError,
) -> np.dtype:
    """The dtype of ``kind`` / ``itemsize`` / ``byteorder`` ('<', '>', '|', '='), or ``error`` if not plain."""
    path, key = where
    if allow_object and kind == "O":
        return np.dtype(object)
    if not isinstance(kind, str) or kind not in PLAIN_KINDS or len(kind) != 1:
        raise error(path, f"unsupported array dtype ({kind_name(kind)})", key=key,
                    expected="bool, integer, float or string values", found=f"kind {kind!r}")
    if isinstance(itemsize, bool) or not isinstance(itemsize, int):
        raise error(path, "invalid dtype item size", key=key, found=repr(itemsize))
    sizes = _NUMERIC_SIZES.get(kind)
    if sizes is not None and itemsize not in sizes:
        raise error(path, "unsupported array dtype", key=key, expected=f"{kind} of {sizes} bytes",
                    found=f"{itemsize} bytes")
    if kind == "U" and itemsize % 4:
        raise error(path, "invalid unicode item size", key=key, found=str(itemsize))
    if not 1 <= itemsize <= MAX_ITEMSIZE:
        raise error(path, "invalid dtype item size", key=key, expected=f"1..{MAX_ITEMSIZE}", found=str(itemsize))
    if byteorder not in ("<", ">", "|", "="):
        raise error(path, "invalid dtype byte order", key=key, found=repr(byteorder))
    if itemsize == 1 or kind == "S":
        byteorder = "|"
    elif byteorder == "|":
        byteorder = "="
    count = itemsize // 4 if kind == "U" else itemsize
    return np.dtype(f"{byteorder}{kind}{count}")


_KIND_NAMES = {"c": "complex numbers would lose their imaginary part", "V": "structured, subarray or void data",
               "O": "Python objects", "M": "dates", "m": "time spans"}


def kind_name(spec: Any) -> str:
    """What a dtype kind (or a dtype spec such as 'c16') holds, for messages."""
    text = str(spec).lstrip("<>|=")
    return _KIND_NAMES.get(text[:1], "not a plain numeric or string type")


def checked_dtype(
    dtype: Any, where: Where, *, allow_object: bool = False, error: type[FileFormatError] = ModelFileError,
) -> np.dtype:
    """A fresh plain dtype equal to ``dtype`` (an ``np.dtype`` numpy built), or ``error``."""
    path, key = where
    if not isinstance(dtype, np.dtype):
        raise error(path, "not a dtype", key=key, found=type(dtype).__name__)
    if dtype.fields is not None or dtype.subdtype is not None or dtype.names is not None:
        raise error(path, "unsupported array dtype (structured or subarray)", key=key,
                    expected="a plain (non-structured) dtype", found=_short(str(dtype)))
    if dtype.kind == "O":
        if allow_object:
            return np.dtype(object)
        raise error(path, "unsupported array dtype", key=key, expected="numbers", found="Python objects")
    return plain_dtype(dtype.kind, dtype.itemsize, dtype.byteorder, where, error=error)


def checked_shape(shape: Any, where: Where, error: type[FileFormatError] = ModelFileError) -> tuple[int, ...]:
    """``shape`` as a tuple of non-negative ints (at most :data:`MAX_NDIM` axes), or ``error``."""
    path, key = where
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or len(shape) > MAX_NDIM:
        raise error(path, "invalid array shape", key=key, expected=f"a tuple of up to {MAX_NDIM} sizes",
                    found=_short(shape))
    out = []
    for n in shape:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= int(n) < 2**62:
            raise error(path, "invalid array shape", key=key, expected="non-negative sizes", found=_short(shape))
        out.append(int(n))
    if math.prod(max(n, 1) for n in out) >= 2**62:  # numpy's limit, even for an empty array
        raise error(path, "invalid array shape", key=key, expected="fewer than 2**62 values", found=_short(shape))
    return tuple(out)


def count(shape: tuple[int, ...]) -> int:
    """The number of values of an array of ``shape`` (a Python int: never overflows)."""
    return math.prod(shape)


def array_from_bytes(
    data: bytes | bytearray | memoryview, dtype: np.dtype, shape: Any, fortran: bool, where: Where,
    error: type[FileFormatError] = ModelFileError,
) -> np.ndarray:
    """A new array (owning its memory) of ``shape`` from exactly ``prod(shape) * itemsize`` bytes."""
    path, key = where
    shape = checked_shape(shape, where, error)
    expected = count(shape) * dtype.itemsize
    if len(data) != expected:
        raise error(path, "array data does not match its shape and dtype", key=key,
                    expected=f"{expected} bytes for {shape} of {dtype}", found=f"{len(data)} bytes")
    flat = np.frombuffer(data, dtype=dtype, count=count(shape)).copy()
    return flat.reshape(shape, order="F" if fortran else "C")


def strided_copy(
    storage: np.ndarray, offset: Any, shape: Any, strides: Any, where: Where,
    error: type[FileFormatError] = ModelFileError, limit: int = 1 << 26,
) -> np.ndarray:
    """A new C-ordered array: the view ``storage[offset + sum(i_k * strides_k)]`` (strides in items).

    For formats that store views into flat storages (torch tensors): the offset, shape and
    (non-negative) strides are checked so that every element read lies inside ``storage`` (a 1-D array
    this process owns) before the view is made, and the copy is refused beyond ``limit`` values
    (zero strides could otherwise repeat a few bytes into gigabytes).
    """
    path, key = where
    shape = checked_shape(shape, where, error)
    if not isinstance(strides, (tuple, list)) or len(strides) != len(shape) or any(
            isinstance(s, bool) or not isinstance(s, (int, np.integer)) or not 0 <= int(s) < 2**62 for s in strides):
        raise error(path, "invalid strides", key=key, expected=f"{len(shape)} non-negative integers",
                    found=_short(strides))
    if isinstance(offset, bool) or not isinstance(offset, (int, np.integer)) or not 0 <= int(offset) < 2**62:
        raise error(path, "invalid storage offset", key=key, found=_short(offset))
    if storage.ndim != 1:
        raise error(path, "storage is not flat", key=key, found=str(storage.shape))
    total = count(shape)
    if total > limit:
        raise error(path, "tensor too large", key=key, expected=f"at most {limit} values", found=str(shape))
    if total == 0:
        return np.empty(shape, dtype=storage.dtype)
    last = int(offset) + sum((n - 1) * int(s) for n, s in zip(shape, strides))
    if last >= len(storage):
        raise error(path, "tensor reaches past its storage", key=key,
                    expected=f"elements below {len(storage)}", found=f"element {last}")
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(storage[int(offset):], shape=shape,
                                           strides=tuple(int(s) * item for s in strides), writeable=False)
    return np.array(view, order="C")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def read_npy_stream(
    fh: IO[bytes], size: int | None, where: Where, *, error: type[FileFormatError] = ModelFileError,
    read_pickle: bool = True,
) -> tuple[np.ndarray | None, tuple[int, ...], bytes | None]:
    """One ``.npy`` from ``fh`` (``size`` bytes in all, when known).

    Returns ``(array, shape, None)`` for a plain array; ``(None, shape, pickle_bytes)`` for an object
    array, whose pickle the caller unpickles (with the allow-list) or refuses. The header is read with
    numpy's size-limited parser; the dtype is rebuilt plain; the data must fill the file exactly.
    """
    path, key = where
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fh)
        else:
            raise error(path, "unsupported .npy format version", key=key, expected="1.0 or 2.0",
                        found=str(version))
    except FileFormatError:
        raise
    except Exception as exc:  # numpy's header parser raises many kinds (ValueError, SyntaxError, TokenError...)
        raise error(path, f"not a readable .npy header ({type(exc).__name__}: {_short(str(exc))})", key=key) from None
    shape = checked_shape(shape, where, error)
    dtype = checked_dtype(dtype, where, allow_object=True, error=error)
    header_end = fh.tell()
    if dtype.hasobject:
        if not read_pickle:
            return None, shape, None
        rest = None if size is None else size - header_end
        if rest is not None and rest < 0:
            raise error(path, "truncated .npy file", key=key)
        return None, shape, fh.read() if rest is None else _read_exactly(fh, rest, where, error)
    nbytes = count(shape) * dtype.itemsize
    if size is not None and header_end + nbytes != size:
        raise error(path, "array data does not match its header", key=key,
                    expected=f"{nbytes} bytes of {dtype} for shape {shape}", found=f"{size - header_end} bytes")
    data = _read_exactly(fh, nbytes, where, error)
    return array_from_bytes(data, dtype, shape, bool(fortran), where, error), shape, None


def _read_exactly(fh: IO[bytes], n: int, where: Where, error: type[FileFormatError]) -> bytes:
    path, key = where
    chunks = []
    left = n
    while left > 0:
        chunk = fh.read(min(left, 1 << 24))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    if left:
        raise error(path, "truncated array data", key=key, expected=f"{n} bytes", found=f"{n - left} bytes")
    return b"".join(chunks)
