"""Cameras for batch rendering: from the sequence file where the tracker stored one, a camera JSON, or framing.

:data:`CAMERA_SOURCES` is the table of hooks that find a camera in a sequence; each takes the sequence and
the output size and returns one :class:`~flame_core.camera.Camera` per frame (a list) or ``None`` when the
file holds no camera of its kind. New sequence formats plug in by adding a row. Intrinsics stored for the
tracker's own image size are rescaled to the output size (same field of view, same relative principal point).

The camera spec of a job (:func:`sequence_cameras`): ``"auto"`` (the first hook that finds a camera, else
framing), ``"sequence"`` (a camera from the file, an error if there is none), ``"front"`` (framing) or the
path of a camera JSON (``K`` 3x3 OpenCV intrinsics, ``R`` 3x3 and ``t`` (3,) world to camera, optional
``width``/``height`` for the size ``K`` refers to).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from ..camera import Camera
from ..errors import FlameError, SequenceFileError
from ..lbs import rodrigues
from ..sequence import FlameSequence, has_cameras
from ..sequence import sequence_cameras as tracked_cameras

Size = tuple[int, int]
CameraHook = Callable[[FlameSequence, Size], list[Camera] | None]

_GL_TO_CV = np.diag([1.0, -1.0, -1.0])


def _scaled(K: np.ndarray,  # noqa: N803 - the usual name
             native: Size, size: Size) -> np.ndarray:
    """OpenCV K for an image of ``native`` size, rescaled to ``size`` (pixel centres at integers in both)."""
    sx, sy = size[0] / native[0], size[1] / native[1]
    out = np.array(K, dtype=np.float64)
    out[0, 0] *= sx
    out[1, 1] *= sy
    out[0, 2] = (out[0, 2] + 0.5) * sx - 0.5
    out[1, 2] = (out[1, 2] + 0.5) * sy - 0.5
    return out


def _native_size(seq: FlameSequence, K: np.ndarray) -> Size:  # noqa: N803
    """The image size K refers to: ``image_size``/``img_size`` extras, else twice the principal point."""
    for key in ("image_size", "img_size", "resolution"):
        if key in seq.extras:
            value = np.asarray(seq.extras[key], dtype=np.float64).reshape(-1)
            if value.size == 1:
                return int(value[0]), int(value[0])
            if value.size == 2:
                return int(value[0]), int(value[1])
    return max(round(2 * (K[0, 2] + 0.5)), 1), max(round(2 * (K[1, 2] + 0.5)), 1)


def _frame_array(seq: FlameSequence, key: str, tail: tuple[int, ...]) -> np.ndarray | None:
    """Extra ``key`` as (T, *tail) float64 (a single value is repeated), or None when absent."""
    if key not in seq.extras:
        return None
    value = np.asarray(seq.extras[key], dtype=np.float64)
    n = len(seq)
    size = int(np.prod(tail))
    if value.size == size:
        return np.broadcast_to(value.reshape(tail), (n, *tail))
    if value.size == n * size:
        return value.reshape((n, *tail))
    where = seq.source or "sequence"
    raise SequenceFileError(where, "camera array of the wrong size", key=key,
                            expected=f"{tail} or ({n}, *{tail})", found=str(value.shape))


def _finite(arrays: Iterable[np.ndarray], seq: FlameSequence, key: str) -> None:
    if not all(np.all(np.isfinite(a)) for a in arrays):
        raise SequenceFileError(seq.source or "sequence", "camera values must be finite", key=key)


def _tracker_cameras(seq: FlameSequence, size: Size) -> list[Camera] | None:
    """flame-head-tracker: ``cam`` (T, 6) = camera-to-world axis-angle rotation and translation in OpenGL
    camera axes; ``fov`` (degrees, square images, principal point at the centre) or ``K``."""
    pose = _frame_array(seq, "cam", (6,))
    if pose is None or seq.format != "flame-head-tracker":
        return None
    K = _frame_array(seq, "K", (3, 3))
    fov = _frame_array(seq, "fov", (1,))
    _finite([pose] + [a for a in (K, fov) if a is not None], seq, "cam")
    rot_cw = rodrigues(pose[:, :3]) @ _GL_TO_CV  # camera (OpenCV axes) to world
    cams = []
    for i in range(len(seq)):
        R = rot_cw[i].T
        t = -R @ pose[i, 3:]
        if K is not None:
            k = _scaled(K[i], _native_size(seq, K[i]), size)
        else:
            degrees = 20.0 if fov is None else float(fov[i, 0])
            if not 0 < degrees < 180:
                raise SequenceFileError(seq.source or "sequence", "field of view out of range", key="fov",
                                        expected="0 < degrees < 180", found=str(degrees))
            f = 0.5 * size[1] / np.tan(np.radians(degrees) / 2)
            k = np.array([[f, 0, size[0] / 2 - 0.5], [0, f, size[1] / 2 - 0.5], [0, 0, 1]])
        cams.append(Camera.from_opencv(k, R, t, size))
    return cams


def _opencv_cameras(seq: FlameSequence, size: Size) -> list[Camera] | None:
    """``K`` (3x3) with ``RT`` (3x4 or 4x4, world to camera, OpenCV axes), as VHAP-style trackers store them,
    per frame or shared."""
    if "K" not in seq.extras or "RT" not in seq.extras:
        return None
    K = _frame_array(seq, "K", (3, 3))
    rt_raw = np.asarray(seq.extras["RT"], dtype=np.float64)
    rows = 4 if rt_raw.size in (16, 16 * len(seq)) else 3
    RT = _frame_array(seq, "RT", (rows, 4))
    assert K is not None and RT is not None
    _finite([K, RT], seq, "RT")
    return [Camera.from_opencv(_scaled(K[i], _native_size(seq, K[i]), size), RT[i, :3, :3], RT[i, :3, 3].tolist(), size)
            for i in range(len(seq))]


def _tracked_cameras(seq: FlameSequence, size: Size) -> list[Camera] | None:
    """The per-frame cameras the sequence readers keep (metrical-tracker, IMavatar / PointAvatar / FLARE)."""
    if not has_cameras(seq):
        return None
    return tracked_cameras(seq, size)


#: Camera hooks, tried in this order by ``camera = "auto"`` / ``"sequence"``: (name, hook).
CAMERA_SOURCES: list[tuple[str, CameraHook]] = [
    ("metrical-tracker / IMavatar", _tracked_cameras),
    ("flame-head-tracker", _tracker_cameras),
    ("opencv K + RT", _opencv_cameras),
]


def camera_from_json(path: str | Path, size: Size) -> Camera:
    """A camera JSON (see the module docstring), rescaled to ``size``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        K = np.asarray(data["K"], dtype=np.float64)
        R = np.asarray(data["R"], dtype=np.float64)
        t = np.asarray(data["t"], dtype=np.float64).reshape(-1)
        native = (int(data.get("width", size[0])), int(data.get("height", size[1])))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FlameError(f"{path}: not a camera file; expected JSON with K (3x3), R (3x3), t (3): {exc}") from None
    if K.shape != (3, 3) or R.shape != (3, 3) or t.shape != (3,) or min(native) < 1:
        raise FlameError(f"{path}: expected K (3, 3), R (3, 3), t (3,), found {K.shape}, {R.shape}, {t.shape}")
    return Camera.from_opencv(_scaled(K, native, size), R, t.tolist(), size)


def framing_camera(lower: np.ndarray, upper: np.ndarray, size: Size) -> Camera:
    """The front camera framing a sequence whose vertices lie in the box ``lower``..``upper`` (every frame)."""
    corners = np.array([[x, y, z] for x in (lower[0], upper[0]) for y in (lower[1], upper[1])
                        for z in (lower[2], upper[2])])
    return Camera.front(corners, size)


def sequence_cameras(spec: str, seq: FlameSequence, size: Size) -> list[Camera] | None:
    """Cameras per frame from the sequence (``auto``/``sequence``) or a JSON file; None means framing."""
    if spec == "front":
        return None
    if spec in ("auto", "sequence"):
        for _name, hook in CAMERA_SOURCES:
            cams = hook(seq, size)
            if cams is not None:
                return cams
        if spec == "sequence":
            tried = ", ".join(name for name, _ in CAMERA_SOURCES)
            raise SequenceFileError(seq.source or "sequence", "no camera stored in the sequence",
                                    expected=f"one of: {tried}", found=f"extras {sorted(seq.extras) or 'none'}")
        return None
    return [camera_from_json(spec, size)] * len(seq)
