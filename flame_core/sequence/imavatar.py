"""IMavatar / PointAvatar / SplattingAvatar / FLARE ``flame_params.json`` (IMavatar's preprocessing writes it).

``{"frames": [{"file_path", "world_mat", "expression", "pose", ...}], "shape_params": [...], "intrinsics":
[...]}``: per frame ``expression`` (50), ``pose`` (15: global, neck, jaw, left eye, right eye) and
``world_mat`` (3x4 or 4x4 world -> camera, OpenGL axes: the camera looks along -Z with +Y up, and the world is
FLAME's scaled by 4); the identity ``shape_params`` (100) and ``intrinsics`` ``[-fx, fy, cx, cy]`` divided
by the image size (an older layout stores pixels of a 512-pixel image).

Cameras become the extras of :mod:`flame_core.sequence.cameras` in FLAME's units and OpenCV's axes
(``camera_R``, ``camera_t``, ``camera_K`` for a :data:`IMAGE_PIXELS`-pixel square image, ``image_size``);
``intrinsics`` is kept as written.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import SequenceFileError
from ..params import POSE_FIELDS
from ._format import Format, describe_keys
from ._raw import RawData
from .cameras import CAMERA_K, CAMERA_R, CAMERA_T, IMAGE_SIZE

#: IMavatar's FLAME head is scaled by this in the cameras' world.
WORLD_SCALE = 4.0
#: The image size the cameras are given for (the intrinsics are relative to it); 512 in these datasets.
IMAGE_PIXELS = 512
_OPENGL_TO_OPENCV = np.diag([1.0, -1.0, -1.0])

FORMAT = Format(
    name="imavatar",
    label="IMavatar/PointAvatar",
    keys={"shape_params": ("shape",), "expression": ("expression",), "pose": POSE_FIELDS},
    signatures=(frozenset({"expression", "pose", "world_mat"}),),
    static=frozenset({"shape_params", "intrinsics", IMAGE_SIZE, CAMERA_K}),
)


def matches(document: Any) -> bool:
    """Whether a JSON document is this layout (top-level ``shape_params``/``intrinsics``, or ``world_mat``)."""
    if not isinstance(document, dict) or not isinstance(document.get("frames"), list):
        return False
    if "shape_params" in document or "intrinsics" in document:
        return True
    frames = document["frames"]
    return bool(frames) and isinstance(frames[0], dict) and "world_mat" in frames[0]


def _numbers(path: Any, value: Any, key: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise SequenceFileError(path, "values are not numbers, or their count changes between frames",
                                key=key) from None
    if shape is not None and array.shape != shape:
        raise SequenceFileError(path, "wrong array shape", key=key, expected=str(shape), found=str(array.shape))
    if not np.all(np.isfinite(array)):
        raise SequenceFileError(path, "contains NaN or infinite values", key=key, expected="finite values")
    return array


def _column(path: Any, frames: list[Any], key: str) -> list[Any]:
    column = []
    for i, frame in enumerate(frames):
        if not isinstance(frame, dict) or key not in frame:
            raise SequenceFileError(path, f"frame {i} lacks {key!r}", key="frames", expected="expression, pose, "
                                    "world_mat", found=describe_keys(frame) if isinstance(frame, dict) else "")
        column.append(frame[key])
    return column


def _cameras(path: Any, mats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if mats.shape[1:] == (4, 4):
        mats = mats[:, :3]
    if mats.shape[1:] != (3, 4):
        raise SequenceFileError(path, "wrong array shape", key="world_mat", expected="(3, 4) or (4, 4) per frame",
                                found=str(mats.shape[1:]))
    R = _OPENGL_TO_OPENCV @ mats[:, :, :3]
    if not np.allclose(R @ np.transpose(R, (0, 2, 1)), np.eye(3), atol=1e-4) or np.any(np.linalg.det(R) < 0):
        raise SequenceFileError(path, "the camera rotation is not a rotation", key="world_mat",
                                expected="an orthonormal 3x3 block with determinant +1")
    t = np.einsum("ij,tj->ti", _OPENGL_TO_OPENCV, mats[:, :, 3]) / WORLD_SCALE
    return R, t


def _intrinsics(path: Any, values: np.ndarray) -> np.ndarray:
    """``[-fx, fy, cx, cy]`` (relative, or pixels of a 512 image) -> K for an IMAGE_PIXELS image."""
    fx, fy, cx, cy = (float(v) for v in values)
    scale = IMAGE_PIXELS / 512.0 if cy > 1 else float(IMAGE_PIXELS)
    fx, fy = abs(fx) * scale, abs(fy) * scale
    if fx == 0 or fy == 0:
        raise SequenceFileError(path, "zero focal length", key="intrinsics", found=str(values.tolist()))
    return np.array([[fx, 0.0, cx * scale], [0.0, fy, cy * scale], [0.0, 0.0, 1.0]])


def raw_from_json(path: Any, document: dict[str, Any]) -> RawData:
    """The arrays of a ``flame_params.json`` document."""
    frames = document["frames"]
    if not frames:
        raise SequenceFileError(path, "the sequence has no frames", key="frames")
    arrays: dict[str, np.ndarray] = {
        "expression": _numbers(path, _column(path, frames, "expression"), "expression"),
        "pose": _numbers(path, _column(path, frames, "pose"), "pose"),
    }
    stacked = {"expression", "pose"}
    if "world_mat" in frames[0]:
        mats = _numbers(path, _column(path, frames, "world_mat"), "world_mat")
        if mats.ndim != 3:
            raise SequenceFileError(path, "wrong array shape", key="world_mat", expected="(3, 4) per frame",
                                    found=str(mats.shape))
        arrays[CAMERA_R], arrays[CAMERA_T] = _cameras(path, mats)
        stacked |= {CAMERA_R, CAMERA_T}
    if "shape_params" in document:
        arrays["shape_params"] = _numbers(path, document["shape_params"], "shape_params")
    if "intrinsics" in document:
        intrinsics = _numbers(path, document["intrinsics"], "intrinsics", (4,))
        arrays["intrinsics"] = intrinsics
        arrays[CAMERA_K] = _intrinsics(path, intrinsics)
        arrays[IMAGE_SIZE] = np.array([IMAGE_PIXELS, IMAGE_PIXELS])
    return RawData(path, arrays, stacked=frozenset(stacked), kind="json")
