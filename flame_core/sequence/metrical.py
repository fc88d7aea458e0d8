"""metrical-tracker checkpoints: ``checkpoint/<frame>.frame``, one ``torch.save`` dict per frame.

Each holds ``flame`` -> ``exp`` (1, 100), ``shape`` (1, 300), ``eyes`` (1, 12: left then right eye as 6D
rotations), ``jaw`` (1, 6: 6D), ``eyelids`` (1, 2: left, right), ``tex``, ``sh``; ``camera`` -> ``R`` (1, 6: 6D),
``t`` (1, 3), ``fl`` (1, 1), ``pp`` (1, 2) of a PyTorch3D camera in NDC units; ``opencv`` -> ``R`` (1, 3, 3),
``t`` (1, 3), ``K`` (1, 3, 3), the same camera in OpenCV's convention; ``img_size`` (height, width),
``frame_id``, ``global_step``. Nested keys read as ``flame/exp``, ``camera/R``...

The 6D representation is the first two rows of the rotation matrix (PyTorch3D's ``matrix_to_rotation_6d``).
The head stays at the origin with no global rotation; its motion is the camera's, kept as the extras of
:mod:`flame_core.sequence.cameras` (``camera_R``, ``camera_t``, ``camera_K``, ``image_size``): read it as the
head's rotation/translation with :func:`~flame_core.sequence.cameras.head_motion`. ``eyelids`` (T, 2) drive
the model's eyelid shapes (the ``eyelids`` parameter).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import FlameError, SequenceFileError
from ..rotations import rotation_6d_to_axis_angle, rotation_6d_to_matrix
from ._format import Format
from ._raw import RawData
from .cameras import CAMERA_K, CAMERA_R, CAMERA_T, IMAGE_SIZE

EYELIDS = "eyelids"


def _take(raw: RawData, arrays: dict[str, np.ndarray], key: str, width: tuple[int, ...]) -> np.ndarray:
    """``key`` as float64 (T, *width) (a single frame may lack the leading axis)."""
    value = np.asarray(arrays.pop(key))
    if value.dtype.kind not in "fiu":
        raise SequenceFileError(raw.path, "is not numeric", key=key, expected="numbers", found=str(value.dtype))
    if value.shape == width:
        value = value[None]
    if value.ndim != len(width) + 1 or value.shape[1:] != width:
        raise SequenceFileError(raw.path, "wrong array shape", key=key,
                                expected=f"(T, {', '.join(map(str, width))})", found=str(value.shape))
    value = value.astype(np.float64)
    if not np.all(np.isfinite(value)):
        raise SequenceFileError(raw.path, "contains NaN or infinite values", key=key, expected="finite values")
    return value


def _rotations(raw: RawData, key: str, d6: np.ndarray) -> np.ndarray:
    try:
        return rotation_6d_to_axis_angle(d6)
    except FlameError as exc:
        raise SequenceFileError(raw.path, str(exc), key=key) from None


def _image_size(raw: RawData, arrays: dict[str, np.ndarray]) -> np.ndarray | None:
    """``img_size`` (height, width) -> (width, height), the same in every frame."""
    if "img_size" not in arrays:
        return None
    value = np.asarray(arrays.pop("img_size"))
    rows = value.reshape(-1, 2) if value.size and value.size % 2 == 0 else None
    if rows is None or value.dtype.kind not in "fiu" or not np.all(rows == rows[:1]) or np.any(rows <= 0):
        raise SequenceFileError(raw.path, "bad image size", key="img_size", expected="(height, width) > 0",
                                found=str(value.tolist())[:80])
    return np.array([int(rows[0, 1]), int(rows[0, 0])])


def _pytorch3d_to_opencv(
    raw: RawData, arrays: dict[str, np.ndarray], size: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PyTorch3D's ``R`` (6D), ``T``, ``focal_length``, ``principal_point`` (NDC) -> OpenCV R, t, K.

    As PyTorch3D's ``opencv_from_cameras_projection``: X and Y flip, R transposes, and NDC units scale by half
    the shorter image side around the image centre.
    """
    if size is None:
        raise SequenceFileError(raw.path, "a PyTorch3D camera needs the image size", key="img_size")
    R6 = _take(raw, arrays, "camera/R", (6,))
    t = _take(raw, arrays, "camera/t", (3,))
    flip = np.diag([-1.0, -1.0, 1.0])
    R = np.transpose(rotation_6d_to_matrix(R6) @ flip, (0, 2, 1))
    t = t @ flip
    n = len(R)
    K = np.zeros((n, 3, 3))
    K[:, 2, 2] = 1.0
    scale = min(size) / 2.0
    if "camera/fl" in arrays:
        fl = np.asarray(arrays.pop("camera/fl"), dtype=np.float64).reshape(n, -1)
        K[:, 0, 0], K[:, 1, 1] = fl[:, 0] * scale, fl[:, -1] * scale
    pp = np.zeros((n, 2))
    if "camera/pp" in arrays:
        pp = np.asarray(arrays.pop("camera/pp"), dtype=np.float64).reshape(n, 2)
    K[:, :2, 2] = size / 2.0 - pp * scale
    return R, t, K


def prepare(raw: RawData) -> RawData:
    """The checkpoint arrays with 6D rotations as axis-angle and the camera in this package's convention."""
    arrays = dict(raw.arrays)
    out: dict[str, np.ndarray] = {}
    for key, name in (("flame/exp", "exp"), ("flame/shape", "shape")):
        if key in arrays:
            out[name] = arrays.pop(key)
    out["jaw"] = _rotations(raw, "flame/jaw", _take(raw, arrays, "flame/jaw", (6,)))
    if "flame/eyes" in arrays:
        eyes = _take(raw, arrays, "flame/eyes", (12,)).reshape(-1, 2, 6)
        out["eyes"] = _rotations(raw, "flame/eyes", eyes).reshape(-1, 6)
    if "flame/eyelids" in arrays:
        out[EYELIDS] = _take(raw, arrays, "flame/eyelids", (2,))
    size = _image_size(raw, arrays)
    R: np.ndarray | None = None
    t: np.ndarray | None = None
    K: np.ndarray | None = None
    if "opencv/R" in arrays and "opencv/t" in arrays:
        R = _take(raw, arrays, "opencv/R", (3, 3))
        t = _take(raw, arrays, "opencv/t", (3,))
        K = _take(raw, arrays, "opencv/K", (3, 3)) if "opencv/K" in arrays else None
        for key in ("camera/R", "camera/t"):
            arrays.pop(key, None)
    elif "camera/R" in arrays and "camera/t" in arrays:
        R, t, K = _pytorch3d_to_opencv(raw, arrays, size)
    if R is not None and t is not None:
        if len(R) != len(t) or (K is not None and len(K) != len(R)):
            raise SequenceFileError(raw.path, "camera arrays differ in frame count", key="opencv/R")
        out[CAMERA_R], out[CAMERA_T] = R, t
        if K is not None:
            out[CAMERA_K] = K
    stacked = None if raw.stacked is None else frozenset(
        k for k in out if k != "shape" or "flame/shape" in raw.stacked
    ) | (raw.stacked & arrays.keys())
    if size is not None:
        out[IMAGE_SIZE] = size
    out.update(arrays)
    leading = frozenset({CAMERA_R, CAMERA_T, CAMERA_K, EYELIDS, "jaw", "eyes", "exp"}) | raw.leading_one
    return replace(raw, arrays=out, stacked=stacked, leading_one=leading)


FORMAT = Format(
    name="metrical-tracker",
    label="metrical-tracker",
    keys={"shape": ("shape",), "exp": ("expression",), "jaw": ("jaw",), "eyes": ("eyes",), EYELIDS: ("eyelids",)},
    signatures=(frozenset({"flame/exp", "flame/jaw"}),),
    static=frozenset({IMAGE_SIZE}),
    prepare=prepare,
)
