"""Point clouds as PLY files: binary writing, binary (either byte order) and ASCII reading.

The written layout is the one 3D Gaussian Splatting tools read for initialisation: one ``vertex``
element with ``x y z`` (float), ``nx ny nz`` (float) and ``red green blue`` (uchar) when given,
then any extra columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .errors import FileFormatError, FlameError

#: PLY scalar type names (both spellings) and their numpy types.
PLY_TYPES: dict[str, str] = {
    "char": "i1",
    "uchar": "u1",
    "short": "i2",
    "ushort": "u2",
    "int": "i4",
    "uint": "u4",
    "float": "f4",
    "double": "f8",
    "int8": "i1",
    "uint8": "u1",
    "int16": "i2",
    "uint16": "u2",
    "int32": "i4",
    "uint32": "u4",
    "float32": "f4",
    "float64": "f8",
}
#: The name written for each numpy type.
_WRITE_NAMES: dict[str, str] = {"i1": "char", "u1": "uchar", "i2": "short", "u2": "ushort", "i4": "int", "u4": "uint",
                                "f4": "float", "f8": "double"}
_FORMATS = {"ascii": None, "binary_little_endian": "<", "binary_big_endian": ">"}


def write_ply(
    path: str | Path,
    positions: Any,
    normals: Any = None,
    colors: Any = None,
    extra: Mapping[str, Any] | None = None,
    *,
    comments: Iterable[str] = (),
) -> Path:
    """Write a binary little-endian PLY point cloud; returns the path.

    ``positions`` and ``normals`` (n, 3) are stored as float32; ``colors`` (n, 3 or 4) as uchar
    ``red green blue [alpha]`` (uint8 as is, floats in 0..1 scaled by 255). ``extra`` adds columns
    by name: an (n,) array is one column, an (n, k) array the columns ``name_0 .. name_{k-1}``,
    each with its own dtype (float64 stays double, int64 becomes int when it fits).
    """
    pos = _as_rows(positions, "positions", None, 3)
    n = pos.shape[0]
    columns: dict[str, np.ndarray] = {}
    for axis, name in enumerate("xyz"):
        columns[name] = pos[:, axis].astype(np.float32)
    if normals is not None:
        nrm = _as_rows(normals, "normals", n, 3)
        for axis, name in enumerate(("nx", "ny", "nz")):
            columns[name] = nrm[:, axis].astype(np.float32)
    if colors is not None:
        col = _as_rows(colors, "colors", n, None)
        if col.shape[1] not in (3, 4):
            raise FlameError(f"colors must have 3 or 4 channels, got {col.shape[1]}")
        col = col if col.dtype == np.uint8 else np.clip(np.rint(np.asarray(col, np.float64) * 255), 0, 255)
        for channel, name in zip(range(col.shape[1]), ("red", "green", "blue", "alpha")):
            columns[name] = col[:, channel].astype(np.uint8)
    for name, value in (extra or {}).items():
        array = np.asarray(value)
        if array.ndim == 1:
            _add_column(columns, name, array, n)
        elif array.ndim == 2:
            for k in range(array.shape[1]):
                _add_column(columns, f"{name}_{k}", array[:, k], n)
        else:
            raise FlameError(f"extra column {name!r} must be (n,) or (n, k), got shape {array.shape}")
    return write_ply_columns(path, columns, comments=comments)


def write_ply_columns(path: str | Path, columns: Mapping[str, Any], *, comments: Iterable[str] = ()) -> Path:
    """Write 1-D ``columns`` (name -> (n,) array, in order) as the vertex element of a binary PLY."""
    path = Path(path)
    arrays = {name: _writable(name, np.asarray(value)) for name, value in columns.items()}
    lengths = {a.shape[0] for a in arrays.values()}
    if len(lengths) > 1:
        raise FlameError(f"PLY columns differ in length: {sorted(lengths)}")
    n = lengths.pop() if lengths else 0
    for name in arrays:
        if not name or any(c.isspace() for c in name):
            raise FlameError(f"PLY property names cannot be empty or contain spaces: {name!r}")
    header = ["ply", "format binary_little_endian 1.0"]
    header += [f"comment {line}" for line in comments]
    header.append(f"element vertex {n}")
    header += [f"property {_WRITE_NAMES[a.dtype.str[1:]]} {name}" for name, a in arrays.items()]
    header.append("end_header")
    record = np.dtype([(name, "<" + a.dtype.str[1:]) for name, a in arrays.items()])
    table = np.empty(n, dtype=record)
    for name, array in arrays.items():
        table[name] = array
    with path.open("wb") as handle:
        handle.write(("\n".join(header) + "\n").encode("ascii"))
        handle.write(table.tobytes())
    return path


def read_ply(path: str | Path) -> dict[str, np.ndarray]:
    """The ``vertex`` element of a PLY file as 1-D arrays by property name (file order, native byte order).

    Reads ``binary_little_endian``, ``binary_big_endian`` and ``ascii`` files; other elements are
    skipped (elements before ``vertex`` must have fixed-size rows in binary files). Raises
    :class:`FileFormatError` naming the file for a bad or truncated header or body.
    """
    path = Path(path)
    from .io.files import open_regular

    with open_regular(path, FileFormatError) as fh:
        try:
            data = fh.read()
        except OSError as exc:
            raise FileFormatError(path, f"cannot read the file ({exc.strerror or exc})") from None
    header, body_start = _split_header(path, data)
    fmt, elements = _parse_header(path, header)
    names = [name for name, _, _ in elements]
    if "vertex" not in names:
        raise FileFormatError(path, "no vertex element", expected="'element vertex <count>'", found=str(names))
    index = names.index("vertex")
    _, count, props = elements[index]
    if any(kind is None for _, kind in props):
        raise FileFormatError(path, "list properties in the vertex element are not supported", key="vertex")
    if fmt == "ascii":
        return _read_ascii(path, data[body_start:], elements, index)
    order = _FORMATS[fmt] or "<"
    offset = body_start
    for name, rows, earlier in elements[:index]:
        if any(kind is None for _, kind in earlier):
            raise FileFormatError(path, f"element {name!r} before vertex has list properties; cannot skip it")
        offset += rows * _record(earlier, order).itemsize
    record = _record(props, order)
    need = count * record.itemsize
    have = len(data) - offset
    if have < need:
        raise FileFormatError(
            path, "file is truncated", key="vertex", expected=f"{need} bytes of vertex data", found=f"{max(have, 0)}"
        )
    table = np.frombuffer(data, dtype=record, count=count, offset=offset)
    return {p: table[p].astype(table[p].dtype.newbyteorder("=")) for p, _ in props}


# ---------------------------------------------------------------------------------------------- helpers
def _as_rows(value: Any, what: str, n: int | None, width: int | None) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim != 2 or (width is not None and array.shape[1] != width) or (n is not None and array.shape[0] != n):
        want = f"({'n' if n is None else n}, {'C' if width is None else width})"
        raise FlameError(f"{what} must have shape {want}, got {array.shape}")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise FlameError(f"{what} must be numeric, got {array.dtype}")
    return array


def _add_column(columns: dict[str, np.ndarray], name: str, array: np.ndarray, n: int) -> None:
    if name in columns:
        raise FlameError(f"PLY column {name!r} given twice")
    if array.shape != (n,):
        raise FlameError(f"extra column {name!r} must have {n} rows, got shape {array.shape}")
    columns[name] = array


def _writable(name: str, array: np.ndarray) -> np.ndarray:
    """The column in a type PLY can hold (bool -> uchar, 64-bit ints -> int/uint when they fit)."""
    if array.ndim != 1:
        raise FlameError(f"PLY column {name!r} must be 1-D, got shape {array.shape}")
    if array.dtype == np.bool_:
        return array.astype(np.uint8)
    if array.dtype.kind in "iu" and array.dtype.itemsize == 8:
        target = np.dtype(np.int32 if array.dtype.kind == "i" else np.uint32)
        info = np.iinfo(target)
        if array.size and (array.min() < info.min or array.max() > info.max):
            raise FlameError(f"PLY column {name!r} has values outside the 32-bit range")
        return array.astype(target)
    if array.dtype == np.float16:
        return array.astype(np.float32)
    if array.dtype.str[1:] not in _WRITE_NAMES:
        raise FlameError(f"PLY column {name!r} has a type PLY cannot store: {array.dtype}")
    return array


def _split_header(path: Path, data: bytes) -> tuple[list[str], int]:
    if not data.startswith(b"ply\n") and not data.startswith(b"ply\r\n"):
        raise FileFormatError(path, "not a PLY file", expected="'ply' on the first line", found=repr(data[:16]))
    marker = data.find(b"end_header")
    if marker < 0:
        raise FileFormatError(path, "header is truncated", expected="an 'end_header' line", found="end of file")
    end = data.find(b"\n", marker)
    if end < 0 or data[marker + len(b"end_header") : end].strip():
        raise FileFormatError(path, "header is truncated", expected="a line break after 'end_header'")
    try:
        text = data[:marker].decode("ascii")
    except UnicodeDecodeError:
        raise FileFormatError(path, "header is not ASCII text") from None
    return text.splitlines()[1:], end + 1


Property = tuple[str, "str | None"]


def _parse_header(path: Path, lines: list[str]) -> tuple[str, list[tuple[str, int, list[Property]]]]:
    fmt = None
    elements: list[tuple[str, int, list[Property]]] = []
    for number, line in enumerate(lines, start=2):
        words = line.split()
        if not words or words[0] in ("comment", "obj_info"):
            continue
        if words[0] == "format":
            if len(words) != 3 or words[1] not in _FORMATS:
                raise FileFormatError(path, f"bad format line {number}", expected=str(list(_FORMATS)), found=line)
            fmt = words[1]
        elif words[0] == "element":
            if len(words) != 3 or not words[2].isdigit():
                raise FileFormatError(path, f"bad element line {number}", expected="element <name> <count>", found=line)
            elements.append((words[1], int(words[2]), []))
        elif words[0] == "property":
            if not elements:
                raise FileFormatError(path, f"property before any element on line {number}", found=line)
            props = elements[-1][2]
            if len(words) == 5 and words[1] == "list":
                if words[2] not in PLY_TYPES or words[3] not in PLY_TYPES:
                    raise FileFormatError(path, f"unknown list type on line {number}", found=line)
                props.append((words[4], None))
            elif len(words) == 3 and words[1] in PLY_TYPES:
                props.append((words[2], PLY_TYPES[words[1]]))
            else:
                raise FileFormatError(
                    path, f"bad property line {number}", expected=f"a type among {sorted(set(PLY_TYPES))}", found=line
                )
            if [name for name, _ in props].count(props[-1][0]) > 1:
                raise FileFormatError(path, f"property {props[-1][0]!r} repeated on line {number}", found=line)
        else:
            raise FileFormatError(path, f"unknown header keyword on line {number}", found=line)
    if fmt is None:
        raise FileFormatError(path, "header has no format line", expected="format binary_little_endian 1.0")
    return fmt, elements


def _record(props: list[Property], order: str) -> np.dtype:
    """The structured dtype of one row of fixed-size properties."""
    return np.dtype([(name, order + str(kind)) for name, kind in props])


def _read_ascii(
    path: Path, body: bytes, elements: list[tuple[str, int, list[Property]]], index: int
) -> dict[str, np.ndarray]:
    try:
        lines = body.decode("ascii").splitlines()
    except UnicodeDecodeError:
        raise FileFormatError(path, "ASCII PLY body is not ASCII text") from None
    skip = sum(rows for _, rows, _ in elements[:index])
    _, count, props = elements[index]
    rows = lines[skip : skip + count]
    if len(rows) < count:
        raise FileFormatError(
            path, "file is truncated", key="vertex", expected=f"{count} vertex lines", found=str(max(len(rows), 0))
        )
    tokens = " ".join(rows).split()
    if len(tokens) != count * len(props):
        raise FileFormatError(
            path, "vertex lines have the wrong number of values", key="vertex",
            expected=f"{count} x {len(props)}", found=f"{len(tokens)} values",
        )
    try:
        values = np.array(tokens, dtype=np.float64).reshape(count, len(props))
    except ValueError:
        raise FileFormatError(path, "vertex lines hold non-numeric values", key="vertex") from None
    return {name: values[:, k].astype(kind) for k, (name, kind) in enumerate(props)}
