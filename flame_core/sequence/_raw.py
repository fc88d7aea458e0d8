"""Reading the arrays of a sequence file or folder, without pickle and without trusting the file name.

The kind of a file is told from its first bytes (zip = ``.npz``, ``\\x93NUMPY`` = ``.npy``, ``{``/``[`` =
JSON, ``\\x80`` = pickle; a zip with ``<folder>/data.pkl`` or a pickle starting with torch's magic number =
``torch``, read without torch by :mod:`flame_core.io.torch_files`). Nested dicts (``torch.save`` of
``{"flame": {"exp": ...}}``) read as keys joined with ``/`` (``flame/exp``). Per-frame folders are read
file by file in natural (numeric) order and stacked.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FileFormatError, SequenceFileError
from ..io.files import MAX_JSON_BYTES, check_regular, open_regular, read_limited
from ..io.layout import guard
from ..io.npz import NpzArchive
from ..io.safe_arrays import read_npy_stream
from ..io.torch_files import is_torch_bytes, loads

#: File suffixes that can hold one frame in a per-frame folder.
FRAME_SUFFIXES = (".npz", ".npy", ".pkl", ".pickle", ".pt", ".pth", ".tar", ".frame")
#: Nesting levels of dicts flattened into ``a/b`` keys.
MAX_NESTING = 8
#: Per-frame arrays larger than this many values (images, dense maps) are listed in ``skipped``, not stacked.
MAX_FRAME_EXTRA_VALUES = 1 << 17
#: Largest member of a sequence file read (512 MiB, e.g. 8,000 frames of VHAP dynamic offsets in float32);
#: larger members are refused when they hold parameters.
MAX_MEMBER_BYTES = 512 << 20
#: Largest extra member read (64 MiB) other than the per-vertex offsets of :data:`LARGE_EXTRAS`; larger
#: ones are listed in ``skipped`` without being read.
MAX_EXTRA_BYTES = 64 << 20
LARGE_EXTRAS = frozenset({"dynamic_offset", "static_offset"})


@dataclass
class RawData:
    """The arrays found in a file (or stacked from a per-frame folder) before they are interpreted."""

    path: Path
    arrays: dict[str, np.ndarray]
    #: Keys stacked from per-frame files (leading frame axis); ``None`` for a single file.
    stacked: frozenset[str] | None = None
    skipped: list[str] = field(default_factory=list)
    kind: str = "npz"
    #: Per-frame sources (folder reads): the frame file names, for error messages.
    frames: list[Path] = field(default_factory=list)
    #: Stacked keys whose per-frame value had a leading axis of 1 (concatenated, not stacked).
    leading_one: frozenset[str] = frozenset()
    #: Frame numbers of a per-frame folder whose file names are numbers (``None`` otherwise).
    frame_numbers: np.ndarray | None = None


def sniff(path: Path) -> str:
    """``'npz'``, ``'npy'``, ``'json'``, ``'pickle'``, ``'torch'``, ``'empty'`` or ``'unknown'`` from the head.

    Only regular files are opened (a FIFO or device is refused without blocking).
    """
    with open_regular(path, SequenceFileError) as f:
        head = _read(f, path, 512)
    if not head:
        return "empty"
    if is_torch_bytes(head):
        return "torch"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "npz"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head[:1] == b"\x80":
        return "pickle"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] in (b"{", b"["):
        return "json"
    return "unknown"


def _read(f: Any, path: Path, size: int = -1) -> bytes:
    try:
        return f.read(size)  # type: ignore[no-any-return]
    except OSError as exc:
        raise SequenceFileError(path, f"cannot read the file ({exc.strerror or exc})") from None


def _unpickle(path: Path, payload: bytes) -> Any:
    """Unpickle with the restricted unpickler (numpy arrays, dtypes, torch tensors and plain containers only)."""
    try:
        return loads(payload, path)
    except FileFormatError as exc:  # the allow-list refused a global, or the stream is broken
        raise SequenceFileError(
            path, f"pickled data that cannot be read safely: {exc.problem}", key=exc.key, found=exc.found
        ) from None


def _corrupt(path: Path, what: str, exc: BaseException) -> SequenceFileError:
    return SequenceFileError(path, f"not a readable {what} file (empty, truncated or corrupt): {exc}")


def read_npz(
    path: Path, keys: Callable[[str], bool] | None = None, wanted: Collection[str] = (),
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Arrays of an ``.npz`` (all, or those ``keys`` accepts), read member by member.

    Keys holding pickled objects, and members other than ``wanted`` larger than
    :data:`MAX_EXTRA_BYTES` (:data:`MAX_MEMBER_BYTES` for :data:`LARGE_EXTRAS`), go to ``skipped``
    without being read; a ``wanted`` member larger than :data:`MAX_MEMBER_BYTES` is an error.
    """
    arrays: dict[str, np.ndarray] = {}
    skipped: list[str] = []
    with NpzArchive(path, SequenceFileError) as archive:
        for key in archive.files:
            if keys is not None and not keys(key):
                continue
            extra_limit = MAX_MEMBER_BYTES if key in LARGE_EXTRAS else MAX_EXTRA_BYTES
            if key not in wanted and archive.size(key) > extra_limit:
                skipped.append(key)
                continue
            array = archive.read(key, pickled="skip", limit=MAX_MEMBER_BYTES)
            if array is None:
                skipped.append(key)
            else:
                arrays[key] = array
    return arrays, skipped


def npz_keys(path: Path) -> list[str]:
    """The member names of an ``.npz`` (from its zip directory; nothing is decompressed)."""
    with NpzArchive(path, SequenceFileError) as archive:
        return list(archive.files)


def read_npy(path: Path) -> Any:
    """A plain array, or (through the restricted unpickler) the dict a pickled ``.npy`` holds."""
    with open_regular(path, SequenceFileError) as f, guard(path, None, "not a readable .npy file", SequenceFileError):
        size = os.fstat(f.fileno()).st_size
        if size > MAX_MEMBER_BYTES:
            raise SequenceFileError(path, "too large", expected=f"at most {MAX_MEMBER_BYTES} bytes", found=str(size))
        array, _, payload = read_npy_stream(f, size, (path, None), error=SequenceFileError)
    if array is not None:
        return array
    assert payload is not None
    value = _unpickle(path, payload)
    if isinstance(value, np.ndarray) and value.dtype == object and value.shape == ():
        value = value.item()
    return value


def read_json(path: Path) -> Any:
    """A JSON document of at most :data:`MAX_JSON_BYTES` (integers of at most 100 digits, nesting limited)."""
    data = read_limited(path, MAX_JSON_BYTES, "a JSON sequence", SequenceFileError)
    try:
        return json.loads(data.decode("utf-8-sig"), parse_int=_small_int, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _corrupt(path, "JSON", exc) from None
    except RecursionError:
        raise SequenceFileError(path, "not a readable JSON file: nested too deeply") from None
    except MemoryError:
        raise SequenceFileError(path, "not a readable JSON file: out of memory") from None


def _small_int(text: str) -> int:
    if len(text) > 100:
        raise ValueError(f"an integer of {len(text)} digits")
    return int(text)


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def read_dict_file(path: Path, kind: str | None = None) -> tuple[Mapping[str, Any], list[str]]:
    """One file as a mapping of key -> value (``.npz`` arrays, or a pickled dict through the safe unpickler)."""
    kind = kind or sniff(path)
    if kind == "empty":
        raise SequenceFileError(path, "the file is empty")
    if kind == "npz":
        return read_npz(path)
    if kind == "npy":
        value = read_npy(path)
        if isinstance(value, Mapping):
            return {str(k): v for k, v in value.items()}, []
        raise SequenceFileError(
            path,
            "holds a single array, not a sequence",
            expected="named arrays (an .npz, a dict, or a folder of frames)",
            found=f"an array of shape {np.shape(value)}",
        )
    if kind in ("pickle", "torch"):
        value = _unpickle(path, read_limited(path, MAX_MEMBER_BYTES, "a pickle or torch file", SequenceFileError))
        if isinstance(value, Mapping):
            return flatten(path, value), []
        raise SequenceFileError(path, "the file does not hold a dict of arrays", found=type(value).__name__)
    raise SequenceFileError(path, f"unsupported file content ({kind})", expected="an .npz, .npy, .pkl or .json file")


def flatten(path: Path, mapping: Mapping[Any, Any], prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """Nested dicts as one dict with ``outer/inner`` keys."""
    if depth > MAX_NESTING:
        raise SequenceFileError(path, "dicts nested too deeply", key=prefix.rstrip("/"), expected=f"<= {MAX_NESTING}")
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = prefix + (key.decode("latin1") if isinstance(key, bytes) else str(key))
        if isinstance(value, Mapping):
            out.update(flatten(path, value, name + "/", depth + 1))
        else:
            out[name] = value
    return out


# ---------------------------------------------------------------------- folders
_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort key that orders ``2.npz`` before ``10.npz``."""
    return tuple(int(part) if part.isdigit() else part for part in _DIGITS.split(name))


def frame_files(folder: Path) -> list[Path]:
    """The per-frame files of a folder in frame order (numeric stems first choice, one suffix)."""
    files = [p for p in folder.iterdir() if p.suffix.lower() in FRAME_SUFFIXES and not p.is_dir()]
    for p in files:
        check_regular(p, SequenceFileError)  # a FIFO or device among the frames is refused, never opened
    if not files:
        return []
    numeric = [p for p in files if p.stem.isdigit()]
    if numeric:
        files = numeric
    suffixes = [p.suffix.lower() for p in files]
    common = max(set(suffixes), key=suffixes.count)
    return sorted((p for p in files if p.suffix.lower() == common), key=lambda p: natural_key(p.name))


def frame_dirs(folder: Path) -> list[Path]:
    """Sub-folders holding per-frame ``.npy`` arrays (the EMOCA ``save_codes`` layout), in frame order."""
    dirs = [p for p in folder.iterdir() if p.is_dir() and any(q.suffix == ".npy" for q in p.iterdir())]
    return sorted(dirs, key=lambda p: natural_key(p.name))


def npy_folder(folder: Path) -> dict[str, np.ndarray]:
    """A folder of plain ``.npy`` arrays (one frame) as a dict keyed by file stem."""
    out = {}
    for p in sorted(folder.glob("*.npy")):
        value = read_npy(p)
        if isinstance(value, np.ndarray):
            out[p.stem] = value
    return out


def _frame_reader(path: Path) -> Callable[[Callable[[str], bool] | None], tuple[Mapping[str, Any], list[str]]]:
    if path.is_dir():
        return lambda keys: ({k: v for k, v in npy_folder(path).items() if keys is None or keys(k)}, [])
    kind = sniff(path)
    if kind == "npz":
        return lambda keys: read_npz(path, keys)
    return lambda keys: read_dict_file(path, kind)


def stack_frames(
    folder: Path,
    frames: list[Path],
    wanted: Callable[[Mapping[str, Any]], set[str]],
    kind: str,
) -> RawData:
    """Read every frame and stack each key along a new leading frame axis.

    ``wanted(first_frame)`` chooses the keys to read (it may raise when the first frame is not a known
    format). A ``(1, ...)`` value per frame is concatenated (no extra axis); a value equal in every frame
    and not a FLAME parameter is kept once; large arrays (images) are listed in ``skipped``.
    """
    read, skipped = _frame_reader(frames[0])(None)
    converted = {k: _as_array(v) for k, v in read.items() if _is_array_like(v)}
    skipped = [*skipped, *(k for k, v in converted.items() if v is None)]
    first = {k: v for k, v in converted.items() if v is not None}
    keys = wanted(first)
    big = sorted(k for k in first if k not in keys or _too_big(first[k]))
    keys = {k for k in keys if k in first and not _too_big(first[k])}
    skipped = sorted(set(skipped) | set(big) | {k for k in keys if first[k].dtype == object})
    keys -= set(skipped)
    columns: dict[str, list[np.ndarray]] = {k: [first[k]] for k in keys}
    accept = keys.__contains__
    for path in frames[1:]:
        values, _ = _frame_reader(path)(accept)
        for key in keys:
            if key not in values:
                raise SequenceFileError(path, f"frame file lacks key {key!r} that {frames[0].name} has", key=key)
            value = _as_array(values[key])
            if value is None or value.dtype.kind not in "biufSU":
                raise SequenceFileError(path, "not an array of numbers", key=key)
            if value.shape != first[key].shape:
                raise SequenceFileError(
                    path,
                    "shape differs from the first frame file",
                    key=key,
                    expected=str(first[key].shape),
                    found=str(value.shape),
                )
            columns[key].append(value)
    arrays: dict[str, np.ndarray] = {}
    leading_one = set()
    for key, column in columns.items():
        sample = column[0]
        if sample.ndim >= 2 and sample.shape[0] == 1:
            arrays[key] = np.concatenate(column, axis=0)
            leading_one.add(key)
        else:
            arrays[key] = np.stack(column)
    stems = [p.stem for p in frames]
    numeric = all(t.isdigit() and len(t) < 16 for t in stems)
    numbers = np.array([int(t) for t in stems], dtype=np.int64) if numeric else None
    return RawData(folder, arrays, frozenset(arrays), skipped, kind, frames, frozenset(leading_one), numbers)


def _as_array(value: Any) -> np.ndarray | None:
    """``value`` as an array of numbers or text (None for lists that are not, or hold huge ints)."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError, OverflowError, RecursionError):
        return None
    return array if array.dtype.kind in "biufSU" else None


def _is_array_like(value: Any) -> bool:
    if isinstance(value, np.ndarray):
        return True
    return isinstance(value, (int, float, list, tuple)) and not isinstance(value, bool)


def _too_big(value: np.ndarray) -> bool:
    return value.size > MAX_FRAME_EXTRA_VALUES or (value.dtype == np.uint8 and value.ndim >= 3)


def collapse_constant(raw: RawData, keep: set[str]) -> None:
    """Store once the stacked keys (other than ``keep``) whose value is the same in every frame."""
    if raw.stacked is None:
        return
    stacked = set(raw.stacked)
    for key in stacked - keep:
        value = raw.arrays[key]
        if len(value) > 1 and value.dtype != object and np.array_equal(value, np.broadcast_to(value[:1], value.shape)):
            raw.arrays[key] = value[:1] if key in raw.leading_one else value[0]
            stacked.discard(key)
    raw.stacked = frozenset(stacked)
