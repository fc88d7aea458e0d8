"""Files written by ``torch.save``, read without torch: tensors come out as numpy arrays.

Two containers exist:

* the zip archive (torch >= 1.6): one top folder (the file stem, or ``archive``) holding ``data.pkl`` (the
  object pickle), ``data/<key>`` (the raw bytes of each storage), ``byteorder`` (``little``/``big``),
  ``version``, ``.format_version``, ``.storage_alignment`` and ``.data/serialization_id``; members are stored
  uncompressed. Storages are named by the persistent id ``('storage', <type>, key, location, numel)``.
* the legacy stream: five pickles in a row (the magic number, the protocol 1001, a dict of system information
  with ``little_endian``, the object pickle with persistent ids ``('storage', <type>, key, location, numel,
  view_metadata)``, the list of storage keys), then per key an 8-byte element count and the raw bytes.

Plain pickles may embed a legacy stream through ``torch.storage._load_from_bytes(<bytes>)`` (DECA's
``landmark_embedding.npy``). Only tensor rebuilding (``torch._utils._rebuild_tensor_v2`` /
``_rebuild_tensor``), storage types, ``_load_from_bytes``, ``collections.OrderedDict`` and what the project's
restricted unpickler admits are allowed; nothing from the file is executed. Every tensor is checked against
its storage (offset, sizes, strides inside the bytes) and copied; all arrays built from one file together hold
at most :data:`EXPANSION` times the file's size (plus :data:`MIN_BUDGET`). bfloat16 is read as float32.
"""

from __future__ import annotations

import io
import math
import pickle
import pickletools
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FlameError, ModelFileError, UnsafePickleError
from . import safe_pickle
from .files import MAX_MEMBER_BYTES, read_limited

#: ``torch.serialization.MAGIC_NUMBER`` and ``PROTOCOL_VERSION`` of the legacy stream.
MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
#: The first bytes of a legacy stream pickled at protocol 2 (``torch.save``'s default).
LEGACY_PREFIX = b"\x80\x02\x8a\x0a" + MAGIC_NUMBER.to_bytes(10, "little")
#: The magic number as pickled (LONG1), found near the start of a legacy stream at any protocol.
_MAGIC_BYTES = b"\x8a\x0a" + MAGIC_NUMBER.to_bytes(10, "little")
#: Arrays built from one file may hold this many times the file's bytes, plus MIN_BUDGET bytes.
EXPANSION = 4
MIN_BUDGET = 1 << 24
MAX_DIMS = 32
#: Nesting of ``_load_from_bytes`` streams inside one another.
MAX_NESTING = 2
#: Archive members other than storages and ``data.pkl`` are small text records.
MAX_RECORD_BYTES = 4096
#: Zip format versions (the ``version`` record) this reader knows.
KNOWN_ZIP_VERSIONS = (1, 2, 3)


@dataclass(frozen=True)
class StorageType:
    """A torch storage class named by a pickle (``torch.FloatStorage``...), as a numpy element type."""

    name: str
    dtype: np.dtype  # little-endian; bfloat16 is stored as uint16 bits
    bfloat16: bool = False


_STORAGE_DTYPES = {
    "FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2", "BFloat16Storage": "<u2",
    "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "i1",
    "ByteStorage": "u1", "BoolStorage": "u1", "UntypedStorage": "u1",
}
STORAGE_TYPES: dict[str, StorageType] = {
    name: StorageType(name, np.dtype(code), bfloat16=name == "BFloat16Storage")
    for name, code in _STORAGE_DTYPES.items()
}
#: ``torch.<dtype>`` names (torch 2 spells some storages as ``TypedStorage`` + dtype) -> storage type.
TORCH_DTYPES = {
    "float32": "FloatStorage", "float": "FloatStorage", "float64": "DoubleStorage", "double": "DoubleStorage",
    "float16": "HalfStorage", "half": "HalfStorage", "bfloat16": "BFloat16Storage", "int64": "LongStorage",
    "long": "LongStorage", "int32": "IntStorage", "int": "IntStorage", "int16": "ShortStorage",
    "short": "ShortStorage", "int8": "CharStorage", "uint8": "ByteStorage", "bool": "BoolStorage",
}
_REBUILDERS = ("_rebuild_tensor_v2", "_rebuild_tensor")
_MEMO_PUTS = ("PUT", "BINPUT", "LONG_BINPUT")


@dataclass(frozen=True)
class TorchDType:
    """``torch.float32`` and friends, when a pickle names one."""

    storage: StorageType


@dataclass
class Storage:
    """One storage: its element type, element count, and its bytes once read."""

    key: str
    type: StorageType
    numel: int
    data: bytes | memoryview | None = None


@dataclass
class _Pending:
    """A tensor of a legacy stream whose storage bytes come after the object pickle."""

    storage: Storage
    offset: Any
    size: Any
    stride: Any


class _Budget:
    """Bytes the arrays of one file may still take."""

    def __init__(self, file_bytes: int) -> None:
        self.left = EXPANSION * file_bytes + MIN_BUDGET

    def take(self, nbytes: int, path: str | Path | None, key: str) -> None:
        if nbytes > self.left:
            raise ModelFileError(path, "tensor larger than the file can hold", key=key,
                                 expected=f"at most {self.left} more bytes of arrays", found=f"{nbytes} bytes")
        self.left -= nbytes


class TorchUnpickler(safe_pickle.RestrictedUnpickler):
    """The restricted unpickler, also admitting torch's tensor rebuilding and storages.

    ``storages`` maps storage keys to their bytes (zip archives); without it, storages are pending until
    the legacy stream's bytes are read (:func:`read_legacy`).
    """

    def __init__(self, file: Any, path: str | Path | None, budget: _Budget, *, depth: int = 0,
                 storages: Callable[[Storage], bytes | memoryview] | None = None, legacy: bool = False) -> None:
        super().__init__(file, path)
        self.source = file
        self.budget = budget
        self.depth = depth
        self.storages = storages
        self.legacy = legacy
        self.seen: dict[str, Storage] = {}

    def load(self) -> Any:
        """The next pickle of the file, after its memo indices are checked (see :func:`check_memo`)."""
        check_memo(self.source, self.path)
        return super().load()

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name in _REBUILDERS:
            return self._rebuild_tensor
        if module == "torch.storage" and name == "_load_from_bytes":
            return self._load_from_bytes
        if module in ("torch", "torch.storage") and name in STORAGE_TYPES:
            return STORAGE_TYPES[name]
        if module == "torch" and name in TORCH_DTYPES:
            return TorchDType(STORAGE_TYPES[TORCH_DTYPES[name]])
        if module.startswith("torch") or module == "__torch__":
            raise UnsafePickleError(
                self.path, "refused to load a torch global outside the allow-list (nothing was executed)",
                found=f"{module}.{name}",
            )
        return super().find_class(module, name)

    # ------------------------------------------------------------------ storages
    def persistent_load(self, pid: Any) -> Storage:
        if not isinstance(pid, tuple) or len(pid) not in (5, 6) or _text(pid[0]) != "storage":
            raise ModelFileError(self.path, "unknown persistent id", expected="('storage', type, key, location, "
                                 "numel[, view])", found=_short(pid))
        kind, key, numel = pid[1], _text(pid[2]), pid[4]
        if not isinstance(key, str) or not key or "/" in key:
            raise ModelFileError(self.path, "bad storage key", expected="a name without '/'", found=_short(key))
        if isinstance(kind, TorchDType):
            kind = kind.storage
        if not isinstance(kind, StorageType):
            raise ModelFileError(self.path, "not a storage type", key=f"storage {key}", found=_short(kind))
        if not _is_int(numel) or numel < 0:
            raise ModelFileError(self.path, "bad storage size", key=f"storage {key}",
                                 expected="a count >= 0", found=_short(numel))
        if len(pid) == 6 and pid[5] is not None:
            raise ModelFileError(self.path, "storage views are not supported", key=f"storage {key}",
                                 expected="view_metadata None", found=_short(pid[5]))
        known = self.seen.get(key)
        if known is not None:
            if known.type != kind or known.numel != numel:
                raise ModelFileError(self.path, "storage named twice with different types or sizes",
                                     key=f"storage {key}", found=f"{known.type.name} and {kind.name}")
            return known
        storage = Storage(key, kind, int(numel))
        if self.storages is not None:
            storage.data = self.storages(storage)
        elif not self.legacy:
            raise ModelFileError(self.path, "a storage outside a torch file", key=f"storage {key}")
        self.seen[key] = storage
        return storage

    def _load_from_bytes(self, data: Any) -> Any:
        if not isinstance(data, (bytes, bytearray)):
            raise ModelFileError(self.path, "_load_from_bytes needs bytes", found=type(data).__name__)
        if self.depth >= MAX_NESTING:
            raise ModelFileError(self.path, "torch streams nested too deeply", expected=f"<= {MAX_NESTING}")
        return read_legacy(bytes(data), self.path, self.budget, self.depth + 1)

    def _rebuild_tensor(self, storage: Any, offset: Any, size: Any, stride: Any, *_rest: Any) -> Any:
        if not isinstance(storage, Storage):
            raise ModelFileError(self.path, "tensor without a storage", expected="a storage",
                                 found=type(storage).__name__)
        if storage.data is None:
            return _Pending(storage, offset, size, stride)
        return tensor_array(storage, offset, size, stride, self.path, self.budget)


def _opcode_table() -> dict[int, tuple[str, int]]:
    """Opcode byte -> (name, argument size or one of pickletools' negative length codes)."""
    table = {}
    for op in pickletools.opcodes:
        n = 0 if op.arg is None else op.arg.n
        table[ord(op.code.encode("latin1"))] = (op.name, n)
    return table


_OPCODES = _opcode_table()
_LENGTH_PREFIX = {pickletools.TAKEN_FROM_ARGUMENT1: (1, "<B"), pickletools.TAKEN_FROM_ARGUMENT4: (4, "<i"),
                  pickletools.TAKEN_FROM_ARGUMENT4U: (4, "<I"), pickletools.TAKEN_FROM_ARGUMENT8U: (8, "<Q")}


def check_memo(file: Any, path: str | Path | None) -> None:
    """Refuse a pickle whose memo indices exceed its opcode count (the C unpickler allocates up to the index).

    Walks the opcodes of the pickle at ``file``'s position (a ``BytesIO``) up to its STOP, decoding only
    lengths and memo indices; the unpickler itself reports any other damage.
    """
    data = file.getbuffer()
    try:
        index = _largest_memo_index(data, file.tell())
    finally:
        del data
    if index is not None:
        raise ModelFileError(path, "pickle memo index out of range", expected=f"<= {index[1]}", found=str(index[0]))


def _largest_memo_index(data: memoryview, pos: int) -> tuple[int, int] | None:
    """(memo index, opcodes so far) of the first PUT beyond the opcode count, or None."""
    end, count = len(data), 0
    while pos < end:
        name, n = _OPCODES.get(data[pos], ("?", 0))
        pos += 1
        count += 1
        if name in ("STOP", "?"):
            return None
        if n >= 0:
            if pos + n > end:
                return None
            index = data[pos] if name == "BINPUT" else None
            if name == "LONG_BINPUT":
                index = struct.unpack_from("<I", data, pos)[0]
            if index is not None and index > count:
                return index, count
            pos += n
        elif n == pickletools.UP_TO_NEWLINE:
            for _ in range(2 if name in ("GLOBAL", "INST") else 1):
                stop = _find_newline(data, pos, end)
                if name == "PUT":
                    text = bytes(data[pos:stop]).strip()
                    if not text.isdigit():
                        return None
                    if int(text) > count:
                        return int(text), count
                pos = stop + 1
        else:
            size, fmt = _LENGTH_PREFIX[n]
            if pos + size > end:
                return None
            pos += size + struct.unpack_from(fmt, data, pos)[0]
    return None


def _find_newline(data: memoryview, pos: int, end: int) -> int:
    """Index of the next newline at or after ``pos`` (``end`` when there is none)."""
    step = 4096
    while pos < end:
        found = bytes(data[pos : pos + step]).find(b"\n")
        if found >= 0:
            return pos + found
        pos += step
    return end


def tensor_array(storage: Storage, offset: Any, size: Any, stride: Any, path: str | Path | None,
                 budget: _Budget) -> np.ndarray:
    """The tensor ``storage[offset + sum(i_k * stride_k)]`` of shape ``size`` as a new native numpy array."""
    key = f"storage {storage.key}"
    if not _is_int(offset) or offset < 0:
        raise ModelFileError(path, "bad storage offset", key=key, expected="an integer >= 0", found=_short(offset))
    if not isinstance(size, tuple) or not isinstance(stride, tuple) or len(size) != len(stride):
        raise ModelFileError(path, "bad tensor size/stride", key=key, expected="two tuples of equal length",
                             found=f"{_short(size)} and {_short(stride)}")
    if len(size) > MAX_DIMS or not all(_is_int(n) and n >= 0 for n in (*size, *stride)):
        raise ModelFileError(path, "bad tensor size/stride", key=key,
                             expected=f"at most {MAX_DIMS} non-negative integers each",
                             found=f"{_short(size)} and {_short(stride)}")
    dtype = storage.type.dtype
    data = storage.data
    assert data is not None
    numel = math.prod(size)
    if numel:
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= storage.numel:
            raise ModelFileError(path, "tensor reaches past its storage", key=key,
                                 expected=f"elements < {storage.numel}", found=f"element {last}")
    out_dtype = np.dtype(np.float32) if storage.type.bfloat16 else dtype.newbyteorder("=")
    budget.take(numel * max(out_dtype.itemsize, 1), path, key)
    flat = np.frombuffer(data, dtype=dtype, count=storage.numel)
    if numel:
        strides = tuple(s * dtype.itemsize if n > 1 else 0 for n, s in zip(size, stride))
        view = np.lib.stride_tricks.as_strided(flat[offset:], shape=size, strides=strides, writeable=False)
    else:
        view = flat[:0].reshape(size)
    if storage.type.bfloat16:
        return (view.astype(np.uint32) << 16).view(np.float32)
    if storage.type.name == "BoolStorage":
        return view != 0
    return view.astype(out_dtype, copy=True)


def _resolve(value: Any, path: str | Path | None, budget: _Budget, memo: dict[int, Any], depth: int = 0) -> Any:
    """``value`` with every pending tensor replaced by its array (dicts, lists and tuples are walked)."""
    if isinstance(value, _Pending):
        return tensor_array(value.storage, value.offset, value.size, value.stride, path, budget)
    if not isinstance(value, (dict, list, tuple)):
        return value
    if id(value) in memo:
        return memo[id(value)]
    if depth > 200:
        raise ModelFileError(path, "objects nested too deeply", expected="<= 200 levels")
    if isinstance(value, dict):
        memo[id(value)] = value
        for k in list(value):
            value[k] = _resolve(value[k], path, budget, memo, depth + 1)
        return value
    if isinstance(value, list):
        memo[id(value)] = value
        value[:] = [_resolve(v, path, budget, memo, depth + 1) for v in value]
        return value
    out = tuple(_resolve(v, path, budget, memo, depth + 1) for v in value)
    memo[id(value)] = out
    return out


def _record(f: io.BytesIO, path: str | Path | None, budget: _Budget, depth: int) -> Any:
    return TorchUnpickler(f, path, budget, depth=depth).load()


def read_legacy(data: bytes, path: str | Path | None, budget: _Budget, depth: int = 0) -> Any:
    """The object of a legacy ``torch.save`` stream (tensors as arrays)."""
    f = io.BytesIO(data)
    with _errors(path):
        magic = _record(f, path, budget, depth)
        if magic != MAGIC_NUMBER:
            raise ModelFileError(path, "not a torch file", expected="torch's magic number", found=_short(magic))
        protocol = _record(f, path, budget, depth)
        if protocol != PROTOCOL_VERSION:
            raise ModelFileError(path, "unsupported torch protocol", expected=str(PROTOCOL_VERSION),
                                 found=_short(protocol))
        info = _record(f, path, budget, depth)
        if not isinstance(info, dict) or not isinstance(info.get("little_endian"), bool):
            raise ModelFileError(path, "bad system information record", key="little_endian",
                                 expected="a dict with little_endian", found=_short(info))
        order = "<" if info["little_endian"] else ">"
        unpickler = TorchUnpickler(f, path, budget, depth=depth, legacy=True)
        obj = unpickler.load()
        keys = _record(f, path, budget, depth)
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ModelFileError(path, "bad storage key list", expected="a list of strings", found=_short(keys))
        for key in keys:
            storage = unpickler.seen.get(key)
            if storage is None:
                raise ModelFileError(path, "storage not used by the object", key=f"storage {key}",
                                     expected="keys named in the pickle", found=", ".join(sorted(unpickler.seen)))
            head = f.read(8)
            if len(head) != 8:
                raise ModelFileError(path, "truncated storage", key=f"storage {key}", expected="8-byte count")
            count = int.from_bytes(head, "little" if order == "<" else "big", signed=True)
            if count != storage.numel:
                raise ModelFileError(path, "storage size differs from its record", key=f"storage {key}",
                                     expected=f"{storage.numel} elements", found=f"{count}")
            nbytes = count * storage.type.dtype.itemsize
            raw = f.read(nbytes)
            if len(raw) != nbytes:
                raise ModelFileError(path, "truncated storage", key=f"storage {key}",
                                     expected=f"{nbytes} bytes", found=f"{len(raw)} bytes")
            storage.data = _native(raw, storage.type, order)
        missing = sorted(k for k, s in unpickler.seen.items() if s.data is None)
        if missing:
            raise ModelFileError(path, "storages without bytes", key=f"storage {missing[0]}",
                                 expected="every storage listed after the object", found=f"keys {keys}")
        return _resolve(obj, path, budget, {})


def _native(raw: bytes | memoryview, kind: StorageType, order: str) -> bytes | memoryview:
    """Storage bytes in little-endian order (the order the storage types are declared in)."""
    if order == "<" or kind.dtype.itemsize == 1:
        return raw
    return np.frombuffer(raw, dtype=kind.dtype.newbyteorder(">")).astype(kind.dtype).tobytes()


def read_zip(path: str | Path, data: bytes, budget: _Budget) -> Any:
    """The object of a zip-format ``torch.save`` file (tensors as arrays)."""
    with _errors(path), zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise ModelFileError(path, "archive names a member twice", found=_short(names))
        pickles = [n for n in names if n.count("/") == 1 and n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise ModelFileError(path, "not a torch archive", key="data.pkl",
                                 expected="one <folder>/data.pkl", found=_short(names[:8]))
        prefix = pickles[0][: -len("data.pkl")]
        by_name = {i.filename: i for i in infos}
        for info in infos:
            if not info.filename.startswith(prefix):
                raise ModelFileError(path, "member outside the archive folder", key=info.filename,
                                     expected=f"names under {prefix}")
            if info.compress_type != zipfile.ZIP_STORED or info.file_size > len(data):
                raise ModelFileError(path, "compressed or oversized member", key=info.filename,
                                     expected="stored members no larger than the file",
                                     found=f"{info.file_size} bytes, compression {info.compress_type}")

        def member(info: zipfile.ZipInfo) -> memoryview:
            """A stored member's bytes as a view of the file (no copy), its CRC checked."""
            head = data[info.header_offset : info.header_offset + 30]
            if len(head) != 30 or not head.startswith(b"PK\x03\x04"):
                raise ModelFileError(path, "broken archive entry", key=info.filename, expected="a local file header")
            name_len, extra_len = struct.unpack("<HH", head[26:30])
            start = info.header_offset + 30 + name_len + extra_len
            if start + info.file_size > len(data):
                raise ModelFileError(path, "truncated archive entry", key=info.filename,
                                     expected=f"{info.file_size} bytes")
            view = memoryview(data)[start : start + info.file_size]
            if zlib.crc32(view) != info.CRC:
                raise ModelFileError(path, "archive entry fails its checksum", key=info.filename)
            return view

        def record(name: str) -> str | None:
            info = by_name.get(prefix + name)
            if info is None:
                return None
            if info.file_size > MAX_RECORD_BYTES:
                raise ModelFileError(path, "record too large", key=name, expected=f"<= {MAX_RECORD_BYTES} bytes")
            return bytes(member(info)).decode("ascii").strip()

        order = record("byteorder") or "little"
        if order not in ("little", "big"):
            raise ModelFileError(path, "unknown byte order", key="byteorder", expected="little or big", found=order)
        version = record("version")
        if version is not None and (not version.isdigit() or int(version) not in KNOWN_ZIP_VERSIONS):
            raise ModelFileError(path, "unsupported archive version", key="version",
                                 expected=" or ".join(map(str, KNOWN_ZIP_VERSIONS)), found=repr(version))
        for name in (".format_version", ".storage_alignment"):
            text = record(name)
            if text is not None and not text.isdigit():
                raise ModelFileError(path, "bad archive record", key=name, expected="a number", found=repr(text))
        record(".data/serialization_id")

        def storage_bytes(storage: Storage) -> bytes | memoryview:
            name = f"{prefix}data/{storage.key}"
            info = by_name.get(name)
            nbytes = storage.numel * storage.type.dtype.itemsize
            if info is None:
                raise ModelFileError(path, "missing storage", key=f"data/{storage.key}",
                                     expected=f"member {name}")
            if info.file_size != nbytes:
                raise ModelFileError(path, "storage size differs from its record", key=f"data/{storage.key}",
                                     expected=f"{nbytes} bytes ({storage.numel} x {storage.type.name})",
                                     found=f"{info.file_size} bytes")
            return _native(member(info), storage.type, "<" if order == "little" else ">")

        payload = bytes(member(by_name[pickles[0]]))
        return TorchUnpickler(io.BytesIO(payload), path, budget, storages=storage_bytes).load()


_BROKEN = (
    pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, MemoryError,
    OverflowError, RecursionError, UnicodeError, struct.error, zipfile.BadZipFile, zipfile.LargeZipFile,
    NotImplementedError, OSError,
)


@contextmanager
def _errors(path: str | Path | None) -> Iterator[None]:
    """Turns what a broken file raises while being read into a :class:`ModelFileError` naming the file."""
    try:
        yield
    except UnsafePickleError as exc:
        if exc.path is None:
            raise UnsafePickleError(path, exc.problem, found=exc.found) from None
        raise
    except FlameError:
        raise
    except _BROKEN as exc:
        raise ModelFileError(path, f"not a readable torch file ({type(exc).__name__}: {exc})") from None


def is_torch_bytes(head: bytes) -> bool:
    """Whether a file's first bytes are a legacy torch stream or a torch zip archive."""
    if head[:1] == b"\x80" and _MAGIC_BYTES in head[:40]:
        return True
    if head.startswith(b"PK\x03\x04") and len(head) >= 30:
        length = int.from_bytes(head[26:28], "little")
        return head[30 : 30 + length].endswith(b"/data.pkl")
    return False


def loads(data: bytes, path: str | Path | None) -> Any:
    """A torch file's object from its bytes: a zip archive, a legacy stream, or a plain pickle with tensors."""
    if not data:
        raise ModelFileError(path, "empty file")
    budget = _Budget(len(data))
    if data.startswith(b"PK"):
        return read_zip(path if path is not None else "<bytes>", data, budget)
    if data[:1] == b"\x80" and _MAGIC_BYTES in data[:40]:  # torch.save's legacy stream, at any protocol
        return read_legacy(data, path, budget)
    with _errors(path):  # a plain pickle: tensors in it have their bytes (``_load_from_bytes``), none is pending
        return TorchUnpickler(io.BytesIO(data), path, budget).load()


def load(path: str | Path) -> Any:
    """The object ``torch.save`` wrote to ``path`` (tensors as numpy arrays), read without torch.

    Only a regular file is read (a FIFO or device is refused without blocking), of at most
    :data:`~flame_core.io.files.MAX_MEMBER_BYTES`.
    """
    return loads(read_limited(path, MAX_MEMBER_BYTES, "a torch file"), path)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: Any) -> Any:
    return value.decode("latin1") if isinstance(value, bytes) else value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
