"""oxigaf-flame sequences: JSON ``{"fps": f, "frames": [{"shape", "expression", "pose", "translation"}]}``
and the npz with ``shape``, ``expression`` (or ``expr``), ``pose`` (T, 15), ``translation`` (T, 3), ``fps``.

``pose`` is global, neck, jaw, left eye, right eye (3 axis-angle values each); a shorter ``pose`` (whole joints)
is zero-filled and a missing or ``null`` ``translation`` is zero, as oxigaf-flame reads them.
A per-frame ``timestamp`` (seconds) and ``eyelids`` (2 eyelid weights, an extension of the layout) are read
and written when present.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SequenceFileError
from ..params import N_POSE, POSE_FIELDS
from ._format import FPS_KEY, TIMESTAMPS_KEY, Format, describe_keys
from ._raw import RawData
from .core import FlameSequence

FORMAT = Format(
    name="oxigaf",
    label="oxigaf",
    keys={
        "shape": ("shape",),
        "expression": ("expression",),
        "pose": POSE_FIELDS,
        "translation": ("translation",),
        "eyelids": ("eyelids",),
    },
    aliases={"expr": "expression"},
    signatures=(frozenset({"expression", "pose"}),),
    prepare=lambda raw: zero_fill_pose(raw),
)

#: Per-frame JSON key of the optional frame time.
TIMESTAMP_FIELD = "timestamp"
#: Keys oxigaf reads as zeros when missing or null.
ZERO_DEFAULTS = {"translation": [0.0, 0.0, 0.0]}


def zero_fill_pose(raw: RawData) -> RawData:
    """A ``pose`` of fewer than 15 values (whole joints; oxigaf's tests write 6) zero-filled, as oxigaf does."""
    pose = raw.arrays.get("pose")
    if pose is None or pose.ndim not in (1, 2) or not 0 < pose.shape[-1] < N_POSE:
        return raw
    if pose.shape[-1] % 3:
        raise SequenceFileError(raw.path, "wrong array shape (not whole axis-angle triples)", key="pose",
                                expected=f"(T, {N_POSE}) or (T, 3, 6, 9, 12 values)",
                                found="(" + ", ".join(map(str, pose.shape)) + ")")
    padding = [(0, 0)] * (pose.ndim - 1) + [(0, N_POSE - pose.shape[-1])]
    raw.arrays["pose"] = np.pad(pose, padding)
    return raw


def raw_from_json(path: Path, data: Any) -> RawData:
    """The arrays of an oxigaf JSON document (frames stacked), checked for structure."""
    if not isinstance(data, dict) or not isinstance(data.get("frames"), list):
        found = f"keys {describe_keys(data)}" if isinstance(data, dict) else f"a JSON {type(data).__name__}"
        raise SequenceFileError(
            path,
            "not a known FLAME sequence JSON",
            expected='an object {"fps": ..., "frames": [{"shape", "expression", "pose", "translation"}, ...]}',
            found=found,
        )
    frames = data["frames"]
    if not frames:
        raise SequenceFileError(path, "the sequence has no frames", key="frames")
    if not all(isinstance(f, dict) for f in frames):
        raise SequenceFileError(path, "every frame must be a JSON object", key="frames")
    first = FORMAT.canonical(frames[0])
    keys = [k for k in FORMAT.keys if k in first] + ([TIMESTAMP_FIELD] if TIMESTAMP_FIELD in frames[0] else [])
    missing = [k for k in ("expression", "pose") if k not in first]
    if missing:
        expected = "shape, expression, pose, translation"
        raise SequenceFileError(path, f"frame 0 lacks {missing}", expected=expected, found=describe_keys(first))
    arrays: dict[str, np.ndarray] = {}
    for key in keys:
        name = first.get(key, key)
        column = []
        for i, frame in enumerate(frames):
            value = frame.get(name, frame.get(key))
            if value is None:
                value = ZERO_DEFAULTS.get(key)
            if value is None:
                raise SequenceFileError(path, f"frame {i} lacks {name!r}", key=name)
            column.append(value)
        try:
            array = np.array(column, dtype=np.float64)
        except (TypeError, ValueError, OverflowError, RecursionError):
            raise SequenceFileError(
                path, "values are not numbers, or their count changes between frames", key=name
            ) from None
        arrays[TIMESTAMPS_KEY if key == TIMESTAMP_FIELD else key] = array
    fps = data.get("fps")
    if fps is not None:
        if isinstance(fps, bool) or not isinstance(fps, (int, float)):
            raise SequenceFileError(path, "the frame rate must be a number or null", key="fps", found=repr(fps))
        arrays[FPS_KEY] = np.array(float(fps))
    return RawData(path, arrays, stacked=frozenset(arrays) - {FPS_KEY}, kind="json")


def to_json(seq: FlameSequence) -> dict[str, Any]:
    """The oxigaf JSON document of a sequence (shape repeated per frame, fps null when unknown)."""
    params = seq.params
    shape = params.values("shape", None if params.shape is None else params.shape.shape[-1], broadcast=True)
    size = None if params.expression is None else params.expression.shape[-1]
    expression = params.values("expression", size, broadcast=True)
    pose = params.pose
    translation = params.values("translation", broadcast=True)
    times = [None] * len(seq) if seq.timestamps is None else seq.timestamps.tolist()
    frames = []
    columns = zip(shape.tolist(), expression.tolist(), pose.tolist(), translation.tolist(), times)
    for s, e, p, t, time in columns:  # whole arrays go to Python lists at once (fast), then per frame
        frame: dict[str, Any] = {"shape": s, "expression": e, "pose": p, "translation": t}
        if time is not None:
            frame[TIMESTAMP_FIELD] = time
        frames.append(frame)
    if params.eyelids is not None:  # an extension of the layout: only written when the sequence has eyelids
        for frame, lids in zip(frames, params.values("eyelids", broadcast=True).tolist()):
            frame["eyelids"] = lids
    fps = seq.fps if seq.fps is not None and math.isfinite(seq.fps) else None
    return {"fps": fps, "frames": frames}


def write_json(seq: FlameSequence, path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(to_json(seq), f, separators=(",", ":"))
