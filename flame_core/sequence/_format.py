"""A sequence format as a key table, and turning a file's arrays into a :class:`FlameSequence` through it."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ParamsError, SequenceFileError
from ..params import FIELD_BY_NAME, FlameParams
from ._raw import RawData, collapse_constant
from .core import FlameSequence

#: Keys every npz reader understands besides the parameters.
FPS_KEY = "fps"
TIMESTAMPS_KEY = "timestamps"
#: Extra holding the frame numbers of a per-frame folder whose numbers have gaps (0, 1, 5, 9).
FRAME_ID_KEY = "frame_id"


@dataclass(frozen=True)
class Format:
    """One file layout: which file key holds which FlameParams field(s).

    ``keys`` maps a file key to the fields it holds, in order (a key holding several fields, such as
    DECA's ``pose`` = global + jaw, is split by the fields' sizes). ``aliases`` are other spellings of a
    file key. The format is recognised when the keys of one of the ``signatures`` are all present.
    ``static`` names extras known to have no frame axis. ``prepare`` rewrites the file's arrays first
    (rotations in another representation, cameras) into ``keys`` and extras.
    """

    name: str
    label: str
    keys: Mapping[str, tuple[str, ...]]
    signatures: tuple[frozenset[str], ...]
    aliases: Mapping[str, str] | None = None
    static: frozenset[str] = frozenset()
    prepare: Callable[[RawData], RawData] | None = None

    def __post_init__(self) -> None:
        for key, fields in self.keys.items():
            unknown = [f for f in fields if f not in FIELD_BY_NAME]
            if unknown:
                raise ValueError(f"format {self.name}: key {key!r} maps to unknown fields {unknown}")

    def canonical(self, keys: Iterable[str]) -> dict[str, str]:
        """Canonical key -> the key as spelled in the file (the canonical spelling wins over an alias)."""
        present = set(keys)
        names = {k: k for k in present}
        for alias, key in (self.aliases or {}).items():
            if alias in present and key not in present:
                names[key] = alias
                del names[alias]
        return names

    def matches(self, keys: Iterable[str]) -> bool:
        names = self.canonical(keys)
        return any(sig <= names.keys() for sig in self.signatures)

    def width(self, key: str) -> int:
        return sum(FIELD_BY_NAME[f].size for f in self.keys[key])

    def is_coefficients(self, key: str) -> bool:
        fields = self.keys[key]
        return len(fields) == 1 and FIELD_BY_NAME[fields[0]].kind == "coefficients"

    def inverse(self) -> dict[str, str]:
        """FlameParams field -> file key, for keys holding exactly one field."""
        return {fields[0]: key for key, fields in self.keys.items() if len(fields) == 1}


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _validated(fmt: Format, raw: RawData, key: str, name: str) -> np.ndarray:
    """The file array of ``key`` (spelled ``name`` in the file) as float64 (T, n) or (n,), checked."""
    value = raw.arrays[name]
    path = raw.path
    if not isinstance(value, np.ndarray):
        value = np.asarray(value)
    if value.dtype.kind not in "fiub":
        raise SequenceFileError(path, "is not numeric", key=name, expected="a float array", found=str(value.dtype))
    width = fmt.width(key)
    coeff = fmt.is_coefficients(key)
    expected = f"(T, {'<=' if coeff else ''}{width}) or ({'<=' if coeff else ''}{width},)"
    if value.ndim not in (1, 2):
        raise SequenceFileError(path, "wrong array shape", key=name, expected=expected, found=_shape_text(value.shape))
    n = value.shape[-1]
    if (coeff and not 1 <= n <= width) or (not coeff and n != width):
        raise SequenceFileError(path, "wrong array shape", key=name, expected=expected, found=_shape_text(value.shape))
    array = value.astype(np.float64)
    finite = np.isfinite(array)
    if not finite.all():
        rows = np.nonzero(~finite.reshape(-1, n).all(axis=1))[0]
        where = f"frame {int(rows[0])}" if array.ndim == 2 else "its values"
        raise SequenceFileError(
            path, "contains NaN or infinite values", key=name, expected="finite values", found=f"non-finite in {where}"
        )
    return array


def _scalar(raw: RawData, name: str, what: str) -> float:
    value = np.asarray(raw.arrays[name])
    if value.dtype.kind not in "fiu" or value.size != 1:
        raise SequenceFileError(
            raw.path, f"{what} must be one number", key=name, expected="a scalar", found=f"{value.dtype} {value.shape}"
        )
    number = float(value.reshape(()))
    if not (math.isfinite(number) and number > 0.0):
        raise SequenceFileError(raw.path, f"{what} must be positive", key=name, found=str(number))
    return number


def build(fmt: Format, raw: RawData, fps: float | None = None) -> FlameSequence:
    """The sequence held by ``raw`` read as format ``fmt``. ``fps`` overrides a rate stored in the file."""
    if fmt.prepare is not None:
        raw = fmt.prepare(raw)
    names = fmt.canonical(raw.arrays)
    used = {names[k] for k in fmt.keys if k in names}
    collapse_constant(raw, keep=used)
    frames: int | None = None
    frame_source = ""
    fields: dict[str, np.ndarray] = {}
    for key, file_fields in fmt.keys.items():
        if key not in names:
            continue
        name = names[key]
        array = _validated(fmt, raw, key, name)
        shared = file_fields == ("shape",)
        if array.ndim == 1:
            if not shared:
                array = array[None]  # one frame
        elif shared and (len(array) == 1 or np.array_equal(array, np.broadcast_to(array[:1], array.shape))):
            array = array[0]  # the same identity in every frame
        if array.ndim == 2:
            if frames is None:
                frames, frame_source = len(array), name
            elif len(array) != frames:
                raise SequenceFileError(
                    raw.path,
                    f"frame count differs from key {frame_source!r}",
                    key=name,
                    expected=f"{frames} frames",
                    found=f"{len(array)} frames (shape {_shape_text(array.shape)})",
                )
        offset = 0
        for f in file_fields:
            size = FIELD_BY_NAME[f].size if len(file_fields) > 1 else array.shape[-1]
            fields[f] = array[..., offset : offset + size]
            offset += size
    if frames is None:
        frames = 1
        fields = {k: v[None] for k, v in fields.items()}
    elif frames == 0:
        raise SequenceFileError(raw.path, "the sequence has no frames", key=frame_source, found="0 frames")
    try:
        params = FlameParams(**fields)
    except ParamsError as exc:
        raise SequenceFileError(raw.path, str(exc)) from None

    rest = {k: v for k, v in raw.arrays.items() if k not in used}
    rate = _scalar(raw, FPS_KEY, "the frame rate") if FPS_KEY in rest else None
    rest.pop(FPS_KEY, None)
    timestamps = None
    if TIMESTAMPS_KEY in rest:
        timestamps = np.asarray(rest.pop(TIMESTAMPS_KEY))
        if timestamps.dtype.kind not in "fiu" or timestamps.shape != (frames,):
            raise SequenceFileError(
                raw.path,
                "wrong timestamps",
                key=TIMESTAMPS_KEY,
                expected=f"({frames},) seconds",
                found=f"{timestamps.dtype} {_shape_text(timestamps.shape)}",
            )
        timestamps = timestamps.astype(np.float64)
        if not np.all(np.isfinite(timestamps)) or np.any(np.diff(timestamps) <= 0):
            raise SequenceFileError(raw.path, "timestamps must be finite and strictly increasing", key=TIMESTAMPS_KEY)
    if fps is not None:
        rate = float(fps)
        if not (math.isfinite(rate) and rate > 0.0):
            raise SequenceFileError(raw.path, f"fps must be a positive number, got {fps!r}")
    extras = {k: np.asarray(v) for k, v in rest.items()}
    numbers = raw.frame_numbers
    if numbers is not None and len(numbers) == frames and np.any(np.diff(numbers) != 1):
        # Frames keep their own numbers: as an extra, and as times when the rate is known.
        extras.setdefault(FRAME_ID_KEY, numbers)
        if timestamps is None and rate is not None:
            timestamps = numbers / rate
    if raw.stacked is not None:
        frame_keys = frozenset(k for k in (*raw.stacked, FRAME_ID_KEY) if k in extras)
    else:
        frame_keys = frozenset(
            k for k, v in extras.items() if k not in fmt.static and v.ndim >= 1 and v.shape[0] == frames
        )
    return FlameSequence(
        params=params,
        fps=rate,
        timestamps=timestamps,
        extras=extras,
        source=str(raw.path),
        format=fmt.name,
        frame_keys=frame_keys,
        skipped=tuple(raw.skipped),
    )


def describe_keys(keys: Iterable[Any]) -> str:
    return str(sorted(str(k) for k in keys))
