"""Per-frame cameras stored with a sequence, and the same motion read as the head's own.

Trackers that keep the head still and move the camera (metrical-tracker, IMavatar) are read with the
camera in the sequence's extras, in this package's OpenCV convention (see :mod:`flame_core.camera`):

* ``camera_R`` (T, 3, 3) and ``camera_t`` (T, 3): world -> camera, ``x_cam = R @ x + t``, world = FLAME's axes;
* ``camera_K`` (T, 3, 3) or (3, 3): intrinsics in pixels, pixel (0, 0) covering ``[0, 1)``;
* ``image_size`` (2,): width, height in pixels.

:func:`sequence_cameras` gives one :class:`~flame_core.camera.Camera` per frame (the camera reading).
:func:`head_motion` moves that motion onto the head (the head reading): its rotation and translation are
set so that, seen from :func:`view_camera` (fixed at the origin, looking along -Z with +Y up, the intrinsics
kept), every frame projects exactly as through the moving camera.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..camera import Camera
from ..errors import FlameError
from ..params import FIELD_NAMES, FlameParams
from ..rotations import axis_angle_to_matrix, matrix_to_axis_angle
from . import resample
from .core import FlameSequence

if TYPE_CHECKING:
    from ..model import FlameModel

CAMERA_R = resample.CAMERA_R
CAMERA_T = "camera_t"
CAMERA_K = "camera_K"
IMAGE_SIZE = "image_size"
#: World -> camera rotation of the fixed camera of the head reading (OpenCV axes from FLAME's: flip Y and Z).
VIEW_R = np.diag([1.0, -1.0, -1.0])


def has_cameras(seq: FlameSequence) -> bool:
    """Whether the sequence carries per-frame camera extrinsics."""
    return CAMERA_R in seq.extras and CAMERA_T in seq.extras


def _extrinsics(seq: FlameSequence) -> tuple[np.ndarray, np.ndarray]:
    if not has_cameras(seq):
        raise FlameError(f"{seq.source or 'the sequence'}: no cameras ({CAMERA_R!r}, {CAMERA_T!r} extras)")
    n = len(seq)
    R = np.broadcast_to(np.asarray(seq.extras[CAMERA_R], dtype=np.float64), (n, 3, 3))
    t = np.broadcast_to(np.asarray(seq.extras[CAMERA_T], dtype=np.float64).reshape(-1, 3), (n, 3))
    return R, t


def _intrinsics(seq: FlameSequence, size: Sequence[int] | None) -> tuple[np.ndarray, tuple[int, int]]:
    n = len(seq)
    stored = None
    if IMAGE_SIZE in seq.extras:
        first = np.asarray(seq.extras[IMAGE_SIZE]).reshape(-1, 2)[0]
        stored = (int(first[0]), int(first[1]))
    if size is None:
        if stored is None:
            raise FlameError(f"{seq.source or 'the sequence'}: no image size stored; pass size=(width, height)")
        size = stored
    w, h = int(size[0]), int(size[1])
    if w <= 0 or h <= 0:
        raise FlameError(f"image size must be positive, got {(w, h)}")
    if CAMERA_K in seq.extras:
        K = np.broadcast_to(np.asarray(seq.extras[CAMERA_K], dtype=np.float64), (n, 3, 3))
        if stored is not None and stored != (w, h):  # the same camera for another image size
            K = K * np.array([[w / stored[0]], [h / stored[1]], [1.0]])
    else:
        K = np.broadcast_to(np.array([[float(max(w, h)), 0, w / 2], [0, float(max(w, h)), h / 2], [0, 0, 1.0]]),
                            (n, 3, 3))
    return K, (w, h)


def sequence_cameras(seq: FlameSequence, size: Sequence[int] | None = None) -> list[Camera]:
    """The camera of every frame (world = the head's FLAME axes). ``size`` overrides the stored image size."""
    R, t = _extrinsics(seq)
    K, (w, h) = _intrinsics(seq, size)
    return [Camera(K[i, 0, 0], K[i, 1, 1], K[i, 0, 2], K[i, 1, 2], w, h, R[i], t[i]) for i in range(len(seq))]


def view_camera(seq: FlameSequence, frame: int = 0, size: Sequence[int] | None = None) -> Camera:
    """The fixed camera of :func:`head_motion`: at the origin, looking along -Z, +Y up; frame ``frame``'s K."""
    K, (w, h) = _intrinsics(seq, size)
    k = K[frame]
    return Camera(k[0, 0], k[1, 1], k[0, 2], k[1, 2], w, h, VIEW_R, np.zeros(3))


def _fitted(params: FlameParams, model: FlameModel) -> FlameParams:
    """``params`` with the coefficients the model has and no eyelids (neither can move its joints)."""
    values = params.to_dict()
    values.pop("eyelids", None)
    for name, count in (("shape", model.n_shape), ("expression", model.n_expression)):
        if values.get(name) is not None:
            values[name] = values[name][..., :count]
    return FlameParams(**values)


def head_motion(seq: FlameSequence, model: FlameModel) -> FlameSequence:
    """The sequence with its camera motion moved onto the head's rotation and translation.

    With camera extrinsics ``E = (R, t)`` and the head's own ``rotation`` ``G`` about the root joint ``J``
    and ``translation`` ``u``, a vertex ``v`` reaches camera space at ``R (G (v - J) + J + u) + t``. The head
    reading rotates by ``V R G`` and translates by ``V (R (J + u) + t) - J`` (``V`` = :data:`VIEW_R`), so
    :func:`view_camera` sees it exactly there. ``J`` depends on shape and expression: the model gives it.
    The extrinsics extras are dropped (the intrinsics and image size stay).
    """
    R, t = _extrinsics(seq)
    params = seq.params
    n = len(seq)
    own = np.zeros((n, 3)) if params.rotation is None else np.broadcast_to(params.rotation, (n, 3))
    shift = np.zeros((n, 3)) if params.translation is None else np.broadcast_to(params.translation, (n, 3))
    joints = np.asarray(model.forward(_fitted(params, model)).joints, dtype=np.float64)
    root = joints.reshape(n, -1, 3)[:, 0] - shift  # the posed root joint is J + translation
    rotation = VIEW_R @ R @ axis_angle_to_matrix(own)
    translation = np.einsum("ij,tj->ti", VIEW_R, np.einsum("tij,tj->ti", R, root + shift) + t) - root
    values = {name: getattr(params, name) for name in FIELD_NAMES if name not in ("rotation", "translation")}
    moved = FlameParams(rotation=matrix_to_axis_angle(rotation), translation=translation, **values)
    extras = {k: v for k, v in seq.extras.items() if k not in (CAMERA_R, CAMERA_T)}
    frame_keys = (seq.frame_keys or frozenset()) - {CAMERA_R, CAMERA_T}
    return seq.replace(params=moved, extras=extras, frame_keys=frame_keys)
