"""A restricted unpickler for the FLAME model, landmark and mask pickles.

Only what these files contain is admitted: numpy arrays, dtypes and scalars (under both the
``numpy.core`` and ``numpy._core`` module paths), ``chumpy`` objects (read as
:class:`ChumpyObject` placeholders that keep their array), ``scipy.sparse`` matrices (read as
:class:`SparseMatrix`, densified with numpy) and a few harmless builtins. Any other global raises
:class:`~flame_core.errors.UnsafePickleError` before anything from it is called.

Nothing from the file reaches numpy's C code unchecked: arrays, dtypes and scalars are rebuilt by
stand-ins (:class:`PickledArray`, :class:`PickledDtype`, :class:`PickledScalar`) from a validated
plain dtype and exactly as many bytes as the shape needs (a copy); ``bytes``/``bytearray`` are built
only from data in the file (never ``bytearray(N)``), ``_codecs.encode`` only with latin1, and dense
sparse matrices are capped before they are allocated.
"""

from __future__ import annotations

import collections
import io
import pickle
import pickletools
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFileError, UnsafePickleError
from . import safe_arrays
from .files import MAX_DERIVED_VALUES, MAX_MEMBER_BYTES, read_limited

Where = safe_arrays.Where

_NUMPY_MULTIARRAY = ("numpy.core.multiarray", "numpy._core.multiarray")
_NUMPY_NUMERIC = ("numpy.core.numeric", "numpy._core.numeric")
_SPARSE_FORMATS = ("csc", "csr", "coo")
#: The one codec ``_codecs.encode`` may name: numpy's and Python's protocol-2 pickles of bytes use it.
_CODEC = "latin1"
#: numpy's NPY_NEEDS_INIT, set on unicode dtypes; any other flag (object references, Python API) is refused.
_NEEDS_INIT = 8
_DTYPE_SPEC = re.compile(r"([<>|=]?)([biufSUO])(\d*)")


class PickledDtype:
    """A ``numpy.dtype`` as a pickle describes it; :meth:`dtype` rebuilds it from validated parts only.

    The file's dtype state never reaches ``dtype.__setstate__``: only the kind, item size and byte
    order are read from it, and structured, subarray and other non-plain descriptions are refused.
    """

    spec: Any = None
    state: Any = None

    def __init__(self, spec: Any = None, align: Any = False, copy: Any = True) -> None:
        self.spec = spec

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def dtype(self, where: Where, allow_object: bool = False) -> np.dtype:
        path, key = where
        state = self.state
        if state is not None:
            if not isinstance(state, tuple) or len(state) not in (8, 9) or state[0] not in (3, 4):
                raise ModelFileError(path, "unsupported pickled dtype state", key=key, found=_short(state))
            if state[2] is not None or state[3] is not None or state[4] is not None:
                raise ModelFileError(path, "structured or subarray dtypes are not read", key=key,
                                     expected="a plain numeric or string dtype", found=_short(state[:5]))
        match = _DTYPE_SPEC.fullmatch(self.spec) if isinstance(self.spec, str) else None
        if match is None:
            raise ModelFileError(path, f"unsupported pickled dtype ({safe_arrays.kind_name(self.spec)})", key=key,
                                 expected="a plain numeric or string dtype", found=_short(self.spec))
        order, kind, digits = match.groups()
        itemsize = int(digits) * (4 if kind == "U" else 1) if digits else 0
        if state is not None:
            order, elsize, flags = state[1], state[5], state[7]
            if kind != "O" and flags not in (0, _NEEDS_INIT):
                raise ModelFileError(path, "pickled dtype flags that no plain dtype has", key=key,
                                     expected="0 (or 8 for text)", found=_short(flags))
            if kind in "SU" and isinstance(elsize, int) and not isinstance(elsize, bool) and elsize > 0:
                if itemsize and elsize != itemsize:
                    raise ModelFileError(path, "inconsistent pickled dtype", key=key,
                                         found=f"{self.spec!r} with item size {elsize}")
                itemsize = elsize
            elif elsize not in (-1, 0, itemsize):
                raise ModelFileError(path, "inconsistent pickled dtype", key=key,
                                     found=f"{self.spec!r} with item size {elsize!r}")
        if kind == "O":
            if not allow_object:
                raise ModelFileError(path, "object dtype outside an object array", key=key)
            return np.dtype(object)
        return safe_arrays.plain_dtype(kind, itemsize, order or "=", where)


class _NdarrayClass:
    """Stands for ``numpy.ndarray`` in a pickle: only ``_reconstruct`` may use it; it cannot be called."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise pickle.UnpicklingError("numpy.ndarray called directly")


class PickledArray:
    """An array being unpickled: ``_reconstruct`` makes it, its state (shape, dtype, data) builds it.

    The array is a copy of exactly ``prod(shape) * itemsize`` bytes of the file (or, for an object
    array, of a list of that many items); no buffer or stride from the file is used.
    """

    array: np.ndarray | None = None

    def __init__(self, where: Where) -> None:
        self.where = where

    def __setstate__(self, state: Any) -> None:
        where = self.where
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise ModelFileError(where[0], "unsupported pickled array state", key=where[1], found=_short(state))
        shape, dtype, fortran, raw = state[-4:]
        self.array = build_array(raw, dtype, shape, bool(fortran), where)


def build_array(raw: Any, dtype: Any, shape: Any, fortran: bool, where: Where) -> np.ndarray:
    """An array from the parts a pickle gives (checked: plain dtype, data exactly the shape's size)."""
    path, key = where
    if not isinstance(dtype, PickledDtype):
        raise ModelFileError(path, "an array without a numpy dtype", key=key, found=type(dtype).__name__)
    dt = dtype.dtype(where, allow_object=True)
    shape = safe_arrays.checked_shape(shape, where)
    if dt.hasobject:
        if not isinstance(raw, list) or len(raw) != safe_arrays.count(shape):
            raise ModelFileError(path, "object array items do not match its shape", key=key,
                                 expected=f"{safe_arrays.count(shape)} items", found=type(raw).__name__)
        return _object_items(raw).reshape(shape, order="F" if fortran else "C")
    if isinstance(raw, str):
        raw = raw.encode("latin1")  # Python 2 strings, decoded as latin1 by the unpickler
    if not isinstance(raw, (bytes, bytearray)):
        raise ModelFileError(path, "array data is not bytes", key=key, found=type(raw).__name__)
    return safe_arrays.array_from_bytes(raw, dt, shape, fortran, where)


def _object_items(items: list[Any]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


class PickledScalar:
    """``numpy.core.multiarray.scalar(dtype, bytes)``: a numpy scalar from exactly ``itemsize`` bytes."""

    @staticmethod
    def build(dtype: Any, raw: Any = b"", where: Where = (None, None)) -> Any:
        path, key = where
        if not isinstance(dtype, PickledDtype):
            raise ModelFileError(path, "a scalar without a numpy dtype", key=key, found=type(dtype).__name__)
        dt = dtype.dtype(where)
        if isinstance(raw, str):
            raw = raw.encode("latin1")
        if not isinstance(raw, (bytes, bytearray)):
            raise ModelFileError(path, "scalar data is not bytes", key=key, found=type(raw).__name__)
        return safe_arrays.array_from_bytes(raw, dt, (), False, where)[()]


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        text = type(value).__name__
    return text if len(text) <= 80 else text[:77] + "..."


class ChumpyObject:
    """Stands in for a pickled ``chumpy`` object; :meth:`value` gives its array."""

    chumpy_class = "chumpy.ch.Ch"

    def __setstate__(self, state: Any) -> None:
        self.state = state if isinstance(state, dict) else {"state": state}

    def value(self, path: str | Path | None = None, key: str | None = None) -> np.ndarray:
        """The array the object held: its ``x``, or a reordering of its ``a`` (Select, Reshape, Transpose)."""
        state = getattr(self, "state", {})
        if "x" in state:
            return to_array(state["x"], path, key)
        if "a" in state:
            base = to_array(state["a"], path, key)
            if "idxs" in state:
                idxs = _indices(to_array(state["idxs"], path, key).ravel(), base.size, path, key, "idxs")
                out = base.ravel()[idxs]
                shape = state.get("preferred_shape")
                if shape is None:
                    return out
                return out.reshape(safe_arrays.checked_shape(_int_tuple(shape), (path, key)))
            if "axes" in state:
                axes = state["axes"]
                return np.transpose(base, None if axes is None else _int_tuple(axes))
            shape = state.get("shape", state.get("newshape"))
            if shape is not None:
                sizes = _int_tuple(shape)
                if any(n < 0 for n in sizes) and sizes.count(-1) != 1:
                    raise ModelFileError(path, "invalid chumpy reshape", key=key, found=str(sizes))
                return base.reshape(sizes)
        raise ModelFileError(
            path, f"a {self.chumpy_class} object without an array", key=key,
            expected="state with 'x', or 'a' with 'idxs'/'axes'/'shape'", found=f"keys {sorted(map(str, state))}",
        )


def _int_tuple(value: Any) -> tuple[int, ...]:
    array = np.atleast_1d(np.asarray(value))
    if array.dtype.kind not in "iu" or array.ndim != 1 or array.size > safe_arrays.MAX_NDIM:
        raise ValueError(f"expected a short list of integers, got {_short(value)}")
    return tuple(int(n) for n in array)


def _indices(idx: np.ndarray, upper: int, path: str | Path | None, key: str | None, what: str) -> np.ndarray:
    """Integer indices in ``0..upper-1`` (negative indices are errors, not counted from the end)."""
    if idx.dtype.kind not in "iu":
        raise ModelFileError(path, f"sparse or selection {what} are not integers", key=key, found=str(idx.dtype))
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= upper):
        raise ModelFileError(path, f"{what} out of range", key=key, expected=f"0..{upper - 1}",
                             found=f"{int(idx.min())}..{int(idx.max())}")
    return idx.astype(np.int64)


class SparseMatrix:
    """Stands in for a pickled ``scipy.sparse`` CSC/CSR/COO matrix; :meth:`toarray` densifies it."""

    sparse_format = "csc"

    def __setstate__(self, state: Any) -> None:
        self.state = state if isinstance(state, dict) else {}

    def toarray(self, path: str | Path | None = None, key: str | None = None) -> np.ndarray:
        """The dense matrix; every index is checked (no wrap-around) and its size is capped first."""
        state = self.state
        fmt = str(state.get("format", self.sparse_format))
        shape: Any = state.get("_shape", state.get("shape"))
        try:
            rows, cols = _int_tuple(shape)
        except (TypeError, ValueError):
            raise ModelFileError(path, "invalid sparse matrix shape", key=key, found=_short(shape)) from None
        if rows < 0 or cols < 0 or rows * cols > MAX_DERIVED_VALUES:
            raise ModelFileError(path, "sparse matrix too large to densify", key=key,
                                 expected=f"at most {MAX_DERIVED_VALUES} values", found=f"({rows}, {cols})")
        try:
            data = to_array(state["data"], path, key).ravel()
            if fmt == "coo":
                r = _indices(to_array(state["row"], path, key).ravel(), rows, path, key, "row indices")
                c = _indices(to_array(state["col"], path, key).ravel(), cols, path, key, "column indices")
            elif fmt in ("csc", "csr"):
                n_major, n_minor = (cols, rows) if fmt == "csc" else (rows, cols)
                indptr = _indices(to_array(state["indptr"], path, key).ravel(), len(data) + 1, path, key, "indptr")
                indices = _indices(to_array(state["indices"], path, key).ravel(), n_minor, path, key, "indices")
                if (len(indptr) != n_major + 1 or (len(indptr) and indptr[0] != 0) or np.any(np.diff(indptr) < 0)
                        or indptr[-1] != len(indices)):
                    raise ModelFileError(path, "inconsistent sparse index pointers", key=key,
                                         expected=f"{n_major + 1} non-decreasing offsets from 0 to {len(indices)}")
                major = np.repeat(np.arange(n_major), np.diff(indptr))
                r, c = (indices, major) if fmt == "csc" else (major, indices)
            else:
                raise ModelFileError(path, "unsupported sparse format", key=key, found=fmt)
        except KeyError as exc:
            raise ModelFileError(path, f"sparse matrix without {exc}", key=key) from None
        if not len(r) == len(c) == len(data):
            raise ModelFileError(path, "sparse data and indices differ in length", key=key,
                                 found=f"{len(data)} values, {len(r)} and {len(c)} indices")
        if data.dtype.kind not in "biuf":
            raise ModelFileError(path, "sparse values are not numbers", key=key, found=str(data.dtype))
        dense = np.zeros((rows, cols), dtype=data.dtype)
        np.add.at(dense, (r, c), data)
        return dense


def to_array(value: Any, path: str | Path | None = None, key: str | None = None) -> np.ndarray:
    """An ndarray from whatever a reader produced (array, chumpy placeholder, sparse matrix, list).

    Arrays of Python objects (other than the containers the readers unpack) and complex numbers are
    refused: they are never silently converted.
    """
    if isinstance(value, ChumpyObject):
        return value.value(path, key)
    if isinstance(value, SparseMatrix):
        return value.toarray(path, key)
    if isinstance(value, np.ndarray):
        array = value
    elif isinstance(value, (list, tuple, int, float, bool, np.generic)):
        try:
            array = np.asarray(value)
        except (ValueError, TypeError, OverflowError, RecursionError, MemoryError) as exc:
            raise ModelFileError(path, f"not an array ({type(exc).__name__}: {exc})", key=key) from None
    else:
        raise ModelFileError(path, "not an array", key=key, expected="an array", found=type(value).__name__)
    if array.dtype.kind not in safe_arrays.PLAIN_KINDS:
        raise ModelFileError(path, "unsupported array dtype", key=key,
                             expected="bool, integer, float or string values", found=str(array.dtype))
    return array


def _safe_reconstructor(cls: Any, base: Any, state: Any) -> Any:
    """``copyreg._reconstructor`` limited to plain objects of admitted classes."""
    if base is not object or not isinstance(cls, type) or not issubclass(cls, (ChumpyObject, SparseMatrix)):
        raise UnsafePickleError(None, "refused copyreg._reconstructor on a class outside the allow-list",
                                found=repr(cls))
    return object.__new__(cls)


def _bytes(*args: Any) -> bytes:
    """``bytes()`` (how protocol 2 pickles an empty bytes object) or a copy of bytes; never ``bytes(N)``."""
    if not args:
        return b""
    if len(args) == 1 and isinstance(args[0], (bytes, bytearray)):
        return bytes(args[0])
    raise pickle.UnpicklingError("bytes() is admitted only empty or from bytes")


def _bytearray(*args: Any) -> bytearray:
    """``bytearray()`` from nothing, bytes, or latin-1 text; never ``bytearray(N)`` (a memory bomb)."""
    if not args:
        return bytearray()
    if len(args) == 1 and isinstance(args[0], (bytes, bytearray)):
        return bytearray(args[0])
    if len(args) == 2 and isinstance(args[0], str) and args[1] in ("latin-1", "latin1"):
        return bytearray(args[0].encode("latin1"))
    raise pickle.UnpicklingError("bytearray() is admitted only from bytes or latin-1 text")


def _iterable_of(kind: type) -> Any:
    def build(items: Any = ()) -> Any:
        if not isinstance(items, (list, tuple)):
            raise pickle.UnpicklingError(f"{kind.__name__}() is admitted only from a list or tuple")
        return kind(items)

    return build


_BUILTINS: dict[str, Any] = {
    "object": object, "set": _iterable_of(set), "frozenset": _iterable_of(frozenset), "bytearray": _bytearray,
    "bytes": _bytes, "slice": slice,
}


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose ``find_class`` admits only the FLAME files' globals.

    numpy arrays, dtypes and scalars are rebuilt by :class:`PickledArray`, :class:`PickledDtype` and
    :class:`PickledScalar` from validated parts; :meth:`load` returns the unpickled object with
    every such placeholder replaced by its array. A subclass may admit more globals by overriding
    :meth:`find_class` (falling back to ``super().find_class``) and may define ``persistent_load``.
    """

    def __init__(self, file: Any, path: str | Path | None) -> None:
        super().__init__(file, encoding="latin1")
        self.path = path
        self._placeholders: dict[str, type] = {}

    def find_class(self, module: str, name: str) -> Any:
        found = self._numpy_global(module, name)
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

    def _numpy_global(self, module: str, name: str) -> Any | None:
        """The stand-in for a numpy global a pickle names, whichever of numpy.core / numpy._core wrote it."""
        where: Where = (self.path, None)
        if module in ("numpy", "numpy.core", "numpy._core"):
            if name == "ndarray":
                return _NdarrayClass
            if name == "dtype":
                return PickledDtype
        if module in _NUMPY_MULTIARRAY and name == "_reconstruct":
            def reconstruct(cls: Any, shape: Any = None, typecode: Any = None) -> PickledArray:
                if cls is not _NdarrayClass:
                    raise UnsafePickleError(self.path, "refused _reconstruct of a class other than ndarray",
                                            found=_short(cls))
                return PickledArray(where)
            return reconstruct
        if module in _NUMPY_MULTIARRAY and name == "scalar":
            return lambda dtype, raw=b"": PickledScalar.build(dtype, raw, where)
        if module in _NUMPY_NUMERIC and name == "_frombuffer":
            def frombuffer(buf: Any, dtype: Any, shape: Any, order: Any = "C") -> np.ndarray:
                return build_array(buf, dtype, shape, order == "F", where)
            return frombuffer
        return None

    def _placeholder(self, base: type, qualname: str, **attrs: str) -> type:
        if qualname not in self._placeholders:
            self._placeholders[qualname] = type(base.__name__, (base,), dict(attrs))
        return self._placeholders[qualname]

    def load(self) -> Any:
        """The unpickled object, with arrays and dtypes in place of their placeholders."""
        return resolve(super().load(), self.path)


def resolve(value: Any, path: str | Path | None) -> Any:
    """``value`` with every :class:`PickledArray` / :class:`PickledDtype` replaced by what it stands for.

    Containers are updated in place (tuples rebuilt); chumpy and sparse stand-ins have their state
    resolved. Too deep a nesting is a :class:`ModelFileError`.
    """
    done: dict[int, Any] = {}

    def walk(item: Any) -> Any:
        ident = id(item)
        if ident in done:
            return done[ident]
        if isinstance(item, PickledArray):
            if item.array is None:
                raise ModelFileError(path, "an array used before its data was read (a malformed pickle)")
            done[ident] = item.array
            if item.array.dtype.hasobject:
                flat = item.array.reshape(-1)
                for i in range(flat.size):
                    flat[i] = walk(flat[i])
            return item.array
        if isinstance(item, PickledDtype):
            done[ident] = item.dtype((path, None))
            return done[ident]
        done[ident] = item
        if isinstance(item, dict):
            for k in list(item):
                item[k] = walk(item[k])
        elif isinstance(item, list):
            for i, element in enumerate(item):
                item[i] = walk(element)
        elif isinstance(item, tuple):
            done[ident] = rebuilt = tuple(walk(element) for element in item)
            return rebuilt
        elif isinstance(item, (ChumpyObject, SparseMatrix)) and isinstance(getattr(item, "state", None), dict):
            walk(item.state)
        elif isinstance(item, np.ndarray) and item.dtype.hasobject:
            flat = item.reshape(-1)
            for i in range(flat.size):
                flat[i] = walk(flat[i])
        return item

    try:
        return walk(value)
    except RecursionError:
        raise ModelFileError(path, "nested too deeply") from None


def _latin1_encode(text: Any, encoding: str = _CODEC, errors: str = "strict") -> bytes:
    """``_codecs.encode`` as Python 3 uses it to pickle bytes at protocol 2 (latin1 text -> bytes only)."""
    if not isinstance(text, str) or encoding != _CODEC or errors != "strict":
        raise UnsafePickleError(None, "refused _codecs.encode other than latin1 text", found=f"codec {encoding!r}")
    return text.encode(_CODEC)


_READ_ERRORS = (
    pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, LookupError,
    KeyError, ImportError, MemoryError, OverflowError, RecursionError, UnicodeError, struct.error, SystemError,
)


def loads(data: bytes, path: str | Path | None, unpickler: type[RestrictedUnpickler] = RestrictedUnpickler) -> Any:
    """Unpickle ``data`` (read from ``path``) with the allow-list of ``unpickler``; errors name the file."""
    if not data:
        raise ModelFileError(path, "empty file")
    try:
        _check_opcodes(data, path)
        return unpickler(io.BytesIO(data), path).load()
    except UnsafePickleError as exc:
        if exc.path is None:
            raise UnsafePickleError(path, exc.problem, key=exc.key, found=exc.found) from None
        raise
    except ModelFileError as exc:
        if exc.path is None:
            raise ModelFileError(path, exc.problem, key=exc.key, expected=exc.expected, found=exc.found) from None
        raise
    except _READ_ERRORS as exc:
        raise ModelFileError(path, f"not a readable pickle ({type(exc).__name__}: {_short_text(exc)})") from None


def _check_opcodes(data: bytes, path: str | Path | None) -> None:
    """Walk the opcodes once before unpickling: the C unpickler grows its memo to any index a
    ``PUT`` names (a few bytes asking for gigabytes), so memo indices must follow the opcodes."""
    for count, (op, arg, _) in enumerate(pickletools.genops(data), start=1):
        if count > MAX_OPCODES:
            raise ModelFileError(path, f"not a FLAME pickle (more than {MAX_OPCODES} pickle operations)",
                                 expected="arrays pickled with numpy (a FLAME file has a few thousand operations)")
        if op.name in _PUTS and (not isinstance(arg, int) or not 0 <= arg <= count):
            raise ModelFileError(path, "not a readable pickle (a memo index beyond the stream)",
                                 found=f"{op.name} {_short(arg)}")
        if op.name == "STOP":
            return


_PUTS = ("PUT", "BINPUT", "LONG_BINPUT")
#: Most pickle operations read (each costs a few microseconds to check; FLAME files have thousands).
MAX_OPCODES = 1_000_000


def _short_text(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:197] + "..."


def load(path: str | Path, unpickler: type[RestrictedUnpickler] = RestrictedUnpickler) -> Any:
    """Unpickle the regular file at ``path`` with the allow-list (at most :data:`MAX_MEMBER_BYTES`)."""
    return loads(read_limited(path, MAX_MEMBER_BYTES, "a pickle"), path, unpickler)
