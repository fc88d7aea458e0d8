"""``load_sequence`` / ``save_sequence``: the format is told from the content (keys, JSON layout, folder)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FlameError, SequenceFileError
from ..io.files import open_regular
from . import deca, imavatar, metrical, oxigaf, smirk, tracker, vhap
from ._format import FPS_KEY, TIMESTAMPS_KEY, Format, build, describe_keys
from ._raw import (
    RawData,
    frame_dirs,
    frame_files,
    npy_folder,
    npz_keys,
    read_dict_file,
    read_json,
    read_npz,
    sniff,
    stack_frames,
)
from .core import FlameSequence

#: The readers, in the order they are tried (most specific signatures first).
FORMATS: tuple[Format, ...] = (
    metrical.FORMAT, tracker.FORMAT, smirk.FORMAT, vhap.FORMAT, oxigaf.FORMAT, deca.FORMAT, imavatar.FORMAT
)
_TRACKED = re.compile(r"tracked_flame_params(?:_(\d+))?\.npz$")


def detect_format(keys: Any) -> Format | None:
    """The first format whose signature keys are all among ``keys`` (``None`` if none)."""
    keys = set(keys)
    return next((f for f in FORMATS if f.matches(keys)), None)


def _tried() -> str:
    return ", ".join(f.label for f in FORMATS)


def _unknown(path: Path, keys: Any) -> SequenceFileError:
    return SequenceFileError(path, f"not a known FLAME sequence; tried {_tried()}", found=f"keys {describe_keys(keys)}")


def _arrays(mapping: Mapping[str, Any], skipped: list[str]) -> dict[str, np.ndarray]:
    out = {}
    for key, value in mapping.items():
        try:
            array = np.asarray(value)
        except (TypeError, ValueError, OverflowError, RecursionError):
            array = None
        if array is None or array.dtype.kind not in "biufSU":  # objects, complex numbers: not read
            skipped.append(key)
        else:
            out[key] = array
    return out


def _read_file(path: Path) -> tuple[RawData, Format]:
    kind = sniff(path)
    if kind == "empty":
        raise SequenceFileError(path, "the file is empty")
    if kind == "json":
        document = read_json(path)
        if imavatar.matches(document):
            return imavatar.raw_from_json(path, document), imavatar.FORMAT
        return oxigaf.raw_from_json(path, document), oxigaf.FORMAT
    if kind == "npz":
        names = npz_keys(path)
        guess = detect_format(names)
        wanted = set(names) if guess is None else _wanted(guess, names)
        arrays, skipped = read_npz(path, wanted=wanted)
    elif kind in ("npy", "pickle", "torch"):
        mapping, skipped = read_dict_file(path, kind)
        arrays = _arrays(mapping, skipped)
    else:
        with open_regular(path, SequenceFileError) as f:
            head = f.read(16)
        raise SequenceFileError(
            path,
            f"not a known FLAME sequence file; tried {_tried()}",
            expected="an .npz, .npy, pickle, torch or .json file",
            found=f"content starting with {head!r}",
        )
    fmt = detect_format(arrays)
    if fmt is None:
        raise _unknown(path, [*arrays, *skipped])
    return RawData(path, arrays, None, skipped, kind), fmt


def _wanted(fmt: Format, names: Any) -> set[str]:
    """The members of a file that hold ``fmt``'s parameters, frame rate and timestamps (read whatever their size)."""
    return set(fmt.canonical(names).values()) & ({*fmt.keys, *(fmt.aliases or {}), FPS_KEY, TIMESTAMPS_KEY})


def _latest_tracked(folder: Path) -> Path | None:
    found = []
    for p in folder.glob("tracked_flame_params*.npz"):
        m = _TRACKED.match(p.name)
        if m:
            found.append((int(m.group(1) or -1), p))
    return max(found)[1] if found else None


def _read_folder(folder: Path) -> tuple[RawData, Format]:
    export = folder / "flame_param"  # the root of a VHAP NeRF-dataset export
    if export.is_dir() and frame_files(export):
        folder = export
    frames: list[Path] = [p for p in frame_files(folder) if p.stem.isdigit()]
    if not frames:
        tracked = _latest_tracked(folder)
        if tracked is not None:
            return _read_file(tracked)
        frames = frame_files(folder) or frame_dirs(folder)
    if not frames:
        arrays = npy_folder(folder)
        if not arrays:
            raise SequenceFileError(
                folder,
                "no sequence files in the folder",
                expected="per-frame .npz/.npy files, EMOCA code folders or a tracked_flame_params*.npz",
                found=describe_keys(p.name for p in folder.iterdir()),
            )
        fmt = detect_format(arrays)
        if fmt is None:
            raise _unknown(folder, arrays)
        return RawData(folder, arrays, None, [], "npy-folder"), fmt
    chosen: list[Format] = []

    def wanted(first: Mapping[str, Any]) -> set[str]:
        fmt = detect_format(first)
        if fmt is None:
            raise _unknown(frames[0], first)
        chosen.append(fmt)
        return set(first)

    raw = stack_frames(folder, frames, wanted, kind="folder")
    return raw, chosen[0]


def load_sequence(path: str | Path, fps: float | None = None) -> FlameSequence:
    """Read a FLAME parameter sequence from a file or a per-frame folder.

    Formats (recognised from the keys and structure, not the file name): VHAP ``tracked_flame_params*.npz``
    and GaussianAvatars ``flame_param.npz``, VHAP per-frame export folders, flame-head-tracker folders,
    oxigaf JSON/npz, DECA/EMOCA codes, SMIRK outputs. ``fps`` sets (or overrides) the frame rate.
    Raises :class:`SequenceFileError` naming the file, the key, what was expected and what was found.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    raw, fmt = _read_folder(path) if path.is_dir() else _read_file(path)
    return build(fmt, raw, fps)


def save_sequence(seq: FlameSequence, path: str | Path, *, dtype: Any = np.float32) -> Path:
    """Write ``seq`` as ``.npz`` (VHAP/GaussianAvatars keys, ``fps``, ``timestamps``, extras) or ``.json`` (oxigaf).

    The npz parameters are written as ``dtype`` (float32 like VHAP, which GaussianAvatars' motion loader
    requires; pass ``np.float64`` to keep every bit). The JSON holds the parameters, fps and timestamps
    only (no extras). Returns the path written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        arrays = vhap.to_arrays(seq, dtype=dtype)
        reserved = {*vhap.vhap_keys().values(), FPS_KEY, TIMESTAMPS_KEY}
        clash = sorted(k for k in seq.extras if k in reserved)
        if clash:
            raise FlameError(f"extras {clash} would overwrite parameter keys of the npz; rename them")
        unsafe = sorted(k for k, v in arrays.items() if v.dtype == object)
        if unsafe:
            raise FlameError(f"extras {unsafe} hold Python objects; only numeric and string arrays are saved")
        with open(path, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]
    elif suffix == ".json":
        oxigaf.write_json(seq, path)
    else:
        raise FlameError(f"{path}: unknown sequence file type {suffix!r}; use .npz or .json")
    return path
