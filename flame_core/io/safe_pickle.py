"""A restricted unpickler for the FLAME model, landmark and mask pickles.

Only what these files contain is admitted: numpy arrays, dtypes and scalars (under both the
``numpy.core`` and ``numpy._core`` module paths), ``chumpy`` objects (read as
:class:`ChumpyObject` placeholders that keep their array), ``scipy.sparse`` matrices (read as
:class:`SparseMatrix`, densified with numpy) and a few harmless builtins. Any other global raises
:class:`~flame_core.errors.UnsafePickleError` before anything from it is called.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFileError, UnsafePickleError

_NUMPY_MULTIARRAY = ("numpy.core.multiarray", "numpy._core.multiarray")
_NUMPY_NUMERIC = ("numpy.core.numeric", "numpy._core.numeric")
_SPARSE_FORMATS = ("csc", "csr", "coo")


def _numpy_global(module: str, name: str) -> Any | None:
    """The numpy object a pickle names, whichever of numpy.core / numpy._core wrote it."""
    if module in ("numpy", "numpy.core", "numpy._core") and name in ("ndarray", "dtype"):
        return getattr(np, name)
    if module in _NUMPY_MULTIARRAY and name in ("_reconstruct", "scalar"):
        return _multiarray(name)
    if module in _NUMPY_NUMERIC and name == "_frombuffer":
        return _frombuffer
    return None


def _multiarray(name: str) -> Any:
    # ``ndarray.__reduce__`` returns numpy's own ``_reconstruct``; ``np.float64(0).__reduce__`` its ``scalar``.
    if name == "_reconstruct":
        return np.zeros(0).__reduce__()[0]
    return np.float64(0).__reduce__()[0]


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: str) -> np.ndarray:
    """Protocol-5 array reconstruction (``numpy.core.numeric._frombuffer``) without numpy internals."""
    array = np.frombuffer(buf, dtype=np.dtype(dtype))
    return array.reshape(shape, order="F" if order == "F" else "C")


class ChumpyObject:
    """Stands in for a pickled ``chumpy`` object; :meth:`value` gives its array."""

    chumpy_class = "chumpy.ch.Ch"

    def __setstate__(self, state: Any) -> None:
        self.state = state if isinstance(state, dict) else {"state": state}

    def value(self, path: str | Path | None = None, key: str | None = None) -> np.ndarray:
        """The array the object held: its ``x``, or a reordering of its ``a`` (Select, Reshape, Transpose)."""
        state = getattr(self, "state", {})
        if "x" in state:
            return np.asarray(to_array(state["x"], path, key))
        if "a" in state:
            base = to_array(state["a"], path, key)
            if "idxs" in state:
                out = base.ravel()[np.asarray(state["idxs"]).ravel()]
                shape = state.get("preferred_shape")
                return out.reshape(tuple(shape)) if shape is not None else out
            if "axes" in state:
                return np.transpose(base, None if state["axes"] is None else tuple(state["axes"]))
            shape = state.get("shape", state.get("newshape"))
            if shape is not None:
                return base.reshape(tuple(int(n) for n in np.atleast_1d(shape)))
        raise ModelFileError(
            path, f"a {self.chumpy_class} object without an array", key=key,
            expected="state with 'x', or 'a' with 'idxs'/'axes'/'shape'", found=f"keys {sorted(state)}",
        )


class SparseMatrix:
    """Stands in for a pickled ``scipy.sparse`` CSC/CSR/COO matrix; :meth:`toarray` densifies it."""

    sparse_format = "csc"

    def __setstate__(self, state: Any) -> None:
        self.state = state if isinstance(state, dict) else {}

    def toarray(self, path: str | Path | None = None, key: str | None = None) -> np.ndarray:
        state = self.state
        fmt = str(state.get("format", self.sparse_format))
        shape: Any = state.get("_shape", state.get("shape"))
        try:
            rows, cols = (int(n) for n in shape)
            data = np.asarray(state["data"])
            if fmt == "coo":
                r, c = np.asarray(state["row"]), np.asarray(state["col"])
            else:
                indices, indptr = np.asarray(state["indices"]), np.asarray(state["indptr"])
                major = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
                r, c = (indices, major) if fmt == "csc" else (major, indices)
            dense = np.zeros((rows, cols), dtype=data.dtype)
            np.add.at(dense, (r, c), data)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ModelFileError(path, f"unreadable sparse matrix ({exc})", key=key) from None
        return dense


def to_array(value: Any, path: str | Path | None = None, key: str | None = None) -> np.ndarray:
    """An ndarray from whatever a reader produced (array, chumpy placeholder, sparse matrix, list)."""
    if isinstance(value, ChumpyObject):
        return value.value(path, key)
    if isinstance(value, SparseMatrix):
        return value.toarray(path, key)
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (list, tuple, int, float, np.generic)):
        try:
            return np.asarray(value)
        except ValueError as exc:
            raise ModelFileError(path, f"not an array ({exc})", key=key) from None
    raise ModelFileError(path, "not an array", key=key, expected="an array", found=type(value).__name__)


def _safe_reconstructor(cls: Any, base: Any, state: Any) -> Any:
    """``copyreg._reconstructor`` limited to plain objects of admitted classes."""
    if base is not object or not isinstance(cls, type) or not issubclass(cls, (ChumpyObject, SparseMatrix)):
        raise UnsafePickleError(None, "refused copyreg._reconstructor on a class outside the allow-list",
                                found=repr(cls))
    return object.__new__(cls)


_BUILTINS = {"object": object, "set": set, "frozenset": frozenset, "bytearray": bytearray, "slice": slice}


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose ``find_class`` admits only the FLAME files' globals."""

    def __init__(self, file: Any, path: str | Path | None) -> None:
        super().__init__(file, encoding="latin1")
        self.path = path
        self._placeholders: dict[str, type] = {}

    def find_class(self, module: str, name: str) -> Any:
        found = _numpy_global(module, name)
        if found is not None:
            return found
        if module in ("copy_reg", "copyreg") and name == "_reconstructor":
            return _safe_reconstructor
        if module in ("__builtin__", "builtins") and name in _BUILTINS:
            return _BUILTINS[name]
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "_codecs" and name == "encode":
            return _latin1_encode
        if module == "chumpy" or module.startswith("chumpy."):
            return self._placeholder(ChumpyObject, f"{module}.{name}", chumpy_class=f"{module}.{name}")
        if module == "scipy.sparse" or module.startswith("scipy.sparse."):
            fmt = name.split("_")[0]
            if fmt in _SPARSE_FORMATS and name.endswith(("_matrix", "_array")):
                return self._placeholder(SparseMatrix, f"{module}.{name}", sparse_format=fmt)
        raise UnsafePickleError(
            self.path, "refused to load a global outside the allow-list (nothing was executed)",
            found=f"{module}.{name}",
        )

    def _placeholder(self, base: type, qualname: str, **attrs: str) -> type:
        if qualname not in self._placeholders:
            self._placeholders[qualname] = type(base.__name__, (base,), dict(attrs))
        return self._placeholders[qualname]


def _latin1_encode(text: Any, encoding: str = "latin1", errors: str = "strict") -> bytes:
    """``_codecs.encode`` as Python 3 uses it to pickle bytes at protocol 2 (text -> bytes only)."""
    if not isinstance(text, str):
        raise pickle.UnpicklingError("_codecs.encode on a non-string")
    return text.encode(encoding, errors)


_READ_ERRORS = (
    pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
    KeyError, ImportError, MemoryError, OverflowError, RecursionError, UnicodeError, struct.error,
)


def loads(data: bytes, path: str | Path | None) -> Any:
    """Unpickle ``data`` (read from ``path``) with the allow-list; errors name the file."""
    if not data:
        raise ModelFileError(path, "empty file")
    try:
        return RestrictedUnpickler(io.BytesIO(data), path).load()
    except UnsafePickleError as exc:
        if exc.path is None:
            raise UnsafePickleError(path, exc.problem, found=exc.found) from None
        raise
    except ModelFileError:
        raise
    except _READ_ERRORS as exc:
        raise ModelFileError(path, f"not a readable pickle ({type(exc).__name__}: {exc})") from None


def load(path: str | Path) -> Any:
    """Unpickle the file at ``path`` with the allow-list."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ModelFileError(path, f"cannot read the file ({exc.strerror or exc})") from None
    return loads(data, path)
