"""Reading the arrays of a sequence file or folder, without pickle and without trusting the file name.

The kind of a file is told from its first bytes (zip = ``.npz``, ``\\x93NUMPY`` = ``.npy``, ``{``/``[`` =
JSON, ``\\x80`` = pickle; a zip with ``<folder>/data.pkl`` or a pickle starting with torch's magic number =
``torch``, read without torch by :mod:`flame_core.io.torch_files`). Nested dicts (``torch.save`` of
``{"flame": {"exp": ...}}``) read as keys joined with ``/`` (``flame/exp``). Per-frame folders are read
file by file in natural (numeric) order and stacked.
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FileFormatError, SequenceFileError

#: File suffixes that can hold one frame in a per-frame folder.
FRAME_SUFFIXES = (".npz", ".npy", ".pkl", ".pickle", ".pt", ".pth", ".tar", ".frame")
#: Nesting levels of dicts flattened into ``a/b`` keys.
MAX_NESTING = 8
#: Per-frame arrays larger than this many values (images, dense maps) are listed in ``skipped``, not stacked.
MAX_FRAME_EXTRA_VALUES = 1 << 17


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


def sniff(path: Path) -> str:
    """``'npz'``, ``'npy'``, ``'json'``, ``'pickle'``, ``'torch'``, ``'empty'`` or ``'unknown'`` from the head."""
    from ..io.torch_files import is_torch_bytes

    with open(path, "rb") as f:
        head = f.read(512)
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


def _unpickle(path: Path, payload: bytes) -> Any:
    """Unpickle with the restricted unpickler (numpy arrays, torch tensors and plain containers only)."""
    from ..io.torch_files import loads

    try:
        return loads(payload, path)
    except FileFormatError as exc:  # the allow-list refused a global, or the stream is broken
        raise SequenceFileError(
            path, f"pickled data that cannot be read safely: {exc.problem}", key=exc.key, found=exc.found
        ) from None


def _corrupt(path: Path, what: str, exc: BaseException) -> SequenceFileError:
    return SequenceFileError(path, f"not a readable {what} file (empty, truncated or corrupt): {exc}")


def read_npz(path: Path, keys: Callable[[str], bool] | None = None) -> tuple[dict[str, np.ndarray], list[str]]:
    """Arrays of an ``.npz`` (all, or those ``keys`` accepts); keys holding pickled objects go to ``skipped``."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise _corrupt(path, "npz", exc) from None
    arrays: dict[str, np.ndarray] = {}
    skipped: list[str] = []
    with archive:
        for key in archive.files:
            if keys is not None and not keys(key):
                continue
            try:
                arrays[key] = archive[key]
            except ValueError as exc:
                if "pickle" in str(exc):
                    skipped.append(key)
                    continue
                raise _corrupt(path, "npz", exc) from None
            except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
                raise _corrupt(path, "npz", exc) from None
    return arrays, skipped


def npz_keys(path: Path) -> list[str]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return list(archive.files)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise _corrupt(path, "npz", exc) from None


def read_npy(path: Path) -> Any:
    """A plain array, or (through the restricted unpickler) the dict a pickled ``.npy`` holds."""
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" not in str(exc):
            raise _corrupt(path, "npy", exc) from None
    except (OSError, EOFError) as exc:
        raise _corrupt(path, "npy", exc) from None
    with open(path, "rb") as f:  # an object array: header, then a pickle stream
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                np.lib.format.read_array_header_1_0(f)
            else:
                np.lib.format.read_array_header_2_0(f)
        except ValueError as exc:
            raise _corrupt(path, "npy", exc) from None
        payload = f.read()
    value = _unpickle(path, payload)
    if isinstance(value, np.ndarray) and value.dtype == object and value.shape == ():
        value = value.item()
    return value


def read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _corrupt(path, "JSON", exc) from None


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
        with open(path, "rb") as f:
            value = _unpickle(path, f.read())
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
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FRAME_SUFFIXES]
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
    first, skipped = _frame_reader(frames[0])(None)
    first = {k: np.asarray(v) for k, v in first.items() if _is_array_like(v)}
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
            value = np.asarray(values[key])
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
    return RawData(folder, arrays, frozenset(arrays), skipped, kind, frames, frozenset(leading_one))


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
