"""Writers of ``torch.save`` files, byte for byte from torch's two formats, without torch.

* :func:`zip_bytes`: the zip archive (torch >= 1.6): ``<folder>/data.pkl``, ``.format_version`` ``1``,
  ``.storage_alignment`` ``64``, ``byteorder`` ``little``, ``data/<key>`` (raw storage bytes, each member's data
  aligned to 64 bytes with an ``FB`` extra field), ``version`` ``3\\n``, ``.data/serialization_id``; all stored.
* :func:`legacy_bytes`: the legacy stream: pickles of the magic number, the protocol 1001, the system information,
  the object (persistent ids ``('storage', <type>, key, 'cpu', numel, None)``), the sorted storage keys; then per
  key an int64 element count and the raw bytes.
* :class:`FromBytes`: a storage pickled as ``torch.storage._load_from_bytes(<legacy stream>)`` (DECA's files).

Tensors are :class:`Tensor` (a flat storage with an offset, a size and strides) pickled as
``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())``, like torch does.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
SYS_INFO = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}
STORAGE_NAMES = {
    np.dtype(np.float32): "FloatStorage", np.dtype(np.float64): "DoubleStorage", np.dtype(np.float16): "HalfStorage",
    np.dtype(np.int64): "LongStorage", np.dtype(np.int32): "IntStorage", np.dtype(np.int16): "ShortStorage",
    np.dtype(np.int8): "CharStorage", np.dtype(np.uint8): "ByteStorage", np.dtype(np.bool_): "BoolStorage",
}


@dataclass(frozen=True)
class Global:
    """Pickled as ``GLOBAL module name`` (a torch name, without torch)."""

    module: str
    name: str

    def __call__(self, *args: Any) -> Any:
        raise TypeError(f"{self.module}.{self.name} only stands in for a pickled name")


_GLOBALS: dict[tuple[str, str], Global] = {}


def global_name(module: str, name: str) -> Global:
    """One object per name, so the pickler memoizes repeated names as torch's does."""
    return _GLOBALS.setdefault((module, name), Global(module, name))


REBUILD = global_name("torch._utils", "_rebuild_tensor_v2")
LOAD_FROM_BYTES = global_name("torch.storage", "_load_from_bytes")


@dataclass(eq=False)
class Storage:
    """A flat storage: its little-endian bytes, the storage class name and the element count."""

    data: bytes
    type_name: str
    numel: int

    @classmethod
    def of(cls, values: np.ndarray, type_name: str | None = None) -> Storage:
        flat = np.ascontiguousarray(values).reshape(-1)
        if type_name == "BFloat16Storage":  # values are float32: keep their upper 16 bits
            bits = (flat.astype(np.float32).view(np.uint32) >> 16).astype("<u2")
            return cls(bits.tobytes(), type_name, flat.size)
        name = type_name or STORAGE_NAMES[flat.dtype]
        return cls(flat.astype(flat.dtype.newbyteorder("<")).tobytes(), name, flat.size)


@dataclass(eq=False)
class Tensor:
    """A tensor view of ``storage``: ``offset``, ``size`` and ``stride`` in elements."""

    storage: Any
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]
    args: tuple[Any, ...] = field(default=(False,))

    @classmethod
    def of(cls, values: Any, type_name: str | None = None) -> Tensor:
        """A contiguous tensor holding ``values``."""
        array = np.asarray(values)
        strides = tuple(int(np.prod(array.shape[i + 1:])) for i in range(array.ndim))
        return cls(Storage.of(array, type_name), 0, tuple(array.shape), strides)

    def __reduce__(self) -> Any:
        size, stride = tuple(list(self.size)), tuple(list(self.stride))  # new objects per tensor, as torch's
        return REBUILD, (self.storage, self.offset, size, stride, *self.args, collections.OrderedDict())


@dataclass(eq=False)
class FromBytes:
    """A storage pickled as ``torch.storage._load_from_bytes(<legacy stream of the storage>)``."""

    storage: Storage

    def __reduce__(self) -> Any:
        return LOAD_FROM_BYTES, (legacy_bytes(self.storage),)


class TorchPickler(pickle._Pickler):  # type: ignore[name-defined]  # the pure-Python pickler is overridable
    """Writes :class:`Global` as GLOBAL opcodes and storages as persistent ids."""

    def __init__(self, file: Any, keys: dict[int, tuple[str, Storage]], legacy: bool, protocol: int = 2) -> None:
        super().__init__(file, protocol=protocol)
        self.keys = keys
        self.legacy = legacy

    def save(self, obj: Any, save_persistent_id: bool = True) -> None:
        if isinstance(obj, Global):
            memo = self.memo.get(id(obj))
            if memo is not None:
                self.write(self.get(memo[0]))
                return
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
            self.memoize(obj)
            return
        super().save(obj, save_persistent_id)

    def persistent_id(self, obj: Any) -> Any:
        if not isinstance(obj, Storage):
            return None
        if id(obj) not in self.keys:
            key = str(len(self.keys)) if not self.legacy else str(140000000000000 + 64 * len(self.keys))
            self.keys[id(obj)] = (key, obj)
        key = self.keys[id(obj)][0]
        pid = ("storage", global_name("torch", obj.type_name), key, "cpu", obj.numel)
        return pid + (None,) if self.legacy else pid


def _dump(obj: Any, keys: dict[int, tuple[str, Storage]] | None = None, legacy: bool = True,
          protocol: int = 2) -> bytes:
    buf = io.BytesIO()
    TorchPickler(buf, {} if keys is None else keys, legacy, protocol).dump(obj)
    return buf.getvalue()


def legacy_bytes(obj: Any, little_endian: bool = True, protocol: int = 2) -> bytes:
    """``torch.save(obj, f, _use_new_zipfile_serialization=False, pickle_protocol=protocol)``."""
    keys: dict[int, tuple[str, Storage]] = {}
    info = dict(SYS_INFO, little_endian=little_endian)
    parts = [_dump(MAGIC_NUMBER, protocol=protocol), _dump(1001, protocol=protocol), _dump(info, protocol=protocol),
             _dump(obj, keys, protocol=protocol)]
    ordered = sorted(keys.values(), key=lambda kv: kv[0])
    parts.append(_dump([k for k, _ in ordered], protocol=protocol))
    order = "<" if little_endian else ">"
    for _, storage in ordered:
        parts.append(struct.pack(order + "q", storage.numel))
        if little_endian:
            parts.append(storage.data)
        else:
            itemsize = len(storage.data) // max(storage.numel, 1)
            parts.append(b"".join(storage.data[i:i + itemsize][::-1] for i in range(0, len(storage.data), itemsize)))
    return b"".join(parts)


def _aligned(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    """A stored member whose data starts at a multiple of 64 (padding in an ``FB`` extra field, as torch does)."""
    assert archive.fp is not None
    offset = archive.fp.tell()
    pad = (-(offset + 30 + len(name.encode()) + 4)) % 64
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
    archive.writestr(info, data)


def zip_bytes(obj: Any, folder: str = "archive", records: dict[str, bytes] | None = None,
              skip: tuple[str, ...] = ()) -> bytes:
    """``torch.save(obj, f)`` (zip format) with top folder ``folder``; ``records`` replaces record members."""
    keys: dict[int, tuple[str, Storage]] = {}
    pickled = _dump(obj, keys, legacy=False)
    members: list[tuple[str, bytes]] = [("data.pkl", pickled), (".format_version", b"1"),
                                        (".storage_alignment", b"64"), ("byteorder", b"little")]
    members += [(f"data/{key}", storage.data) for key, storage in keys.values()]
    members += [("version", b"3\n"), (".data/serialization_id", b"0123456789" * 4)]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members:
            if name in skip:
                continue
            _aligned(archive, f"{folder}/{name}", (records or {}).get(name, data))
    return buf.getvalue()


def object_npy_bytes(obj: Any) -> bytes:
    """``np.save(f, obj, allow_pickle=True)`` of a dict holding tensors (a 0-d object array, pickle protocol 3)."""
    array = np.empty((), dtype=object)
    array[()] = obj
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "|O", "fortran_order": False, "shape": ()})
    buf.write(_dump(array, protocol=3))
    return buf.getvalue()


def embedded(values: Any, type_name: str | None = None) -> Tensor:
    """A tensor whose storage is pickled through ``_load_from_bytes`` (DECA's landmark files)."""
    tensor = Tensor.of(values, type_name)
    tensor.storage = FromBytes(tensor.storage)
    return tensor
