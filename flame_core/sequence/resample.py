"""Resampling a sequence in time: linear interpolation of coefficients, slerp of every joint rotation.

Rotations go through unit quaternions; of ``q`` and ``-q`` the one nearer the previous key is used,
so the shortest arc is taken (also across the +-pi boundary of axis-angle vectors).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..errors import FlameError
from ..params import FIELDS, FlameParams
from ..rotations import axis_angle_to_matrix, matrix_to_axis_angle

if TYPE_CHECKING:
    from .core import FlameSequence

_SMALL = 1e-12
#: The per-frame camera rotations extra (see :mod:`.cameras`).
CAMERA_R = "camera_R"


def axis_angle_to_quaternion(rotvecs: np.ndarray) -> np.ndarray:
    """Axis-angle vectors (..., 3) to unit quaternions (..., 4), scalar first (w, x, y, z)."""
    r = np.asarray(rotvecs, dtype=np.float64)
    angle = np.linalg.norm(r, axis=-1, keepdims=True)
    half = 0.5 * angle
    # sin(a/2)/a -> 1/2 as a -> 0
    scale = np.where(angle > _SMALL, np.sin(half) / np.where(angle > _SMALL, angle, 1.0), 0.5)
    return np.concatenate([np.cos(half), r * scale], axis=-1)


def quaternion_to_axis_angle(quats: np.ndarray) -> np.ndarray:
    """Quaternions (..., 4), scalar first, to axis-angle vectors (..., 3) with angle in [0, pi]."""
    q = np.asarray(quats, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    q = np.where(q[..., :1] < 0.0, -q, q)
    w, v = q[..., :1], q[..., 1:]
    sin_half = np.linalg.norm(v, axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(sin_half, w)
    # angle / sin(a/2) -> 2 / w as the angle -> 0
    big = sin_half > _SMALL
    scale = np.where(big, angle / np.where(big, sin_half, 1.0), 2.0 / np.where(big, 1.0, w))
    return v * scale


def slerp(q0: np.ndarray, q1: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Spherical interpolation of unit quaternions (..., 4) by ``weight`` (broadcast to (..., 1)).

    Takes the shorter arc (``q1`` is negated where ``q0 . q1 < 0``); nearly equal keys fall back to
    normalised linear interpolation.
    """
    w = np.asarray(weight, dtype=np.float64)
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0.0, -q1, q1)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_theta = np.sin(theta)
    near = sin_theta < 1e-9
    safe = np.where(near, 1.0, sin_theta)
    s0 = np.where(near, 1.0 - w, np.sin((1.0 - w) * theta) / safe)
    s1 = np.where(near, w, np.sin(w * theta) / safe)
    out = s0 * q0 + s1 * q1
    return out / np.linalg.norm(out, axis=-1, keepdims=True)


def interpolation_weights(source_times: np.ndarray, target_times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each target time: the index i of the source key before it and the weight in [0, 1] towards i + 1."""
    n = len(source_times)
    if n == 1:
        return np.zeros(len(target_times), dtype=np.intp), np.zeros(len(target_times))
    i = np.clip(np.searchsorted(source_times, target_times, side="right") - 1, 0, n - 2)
    span = source_times[i + 1] - source_times[i]
    w = np.clip((target_times - source_times[i]) / span, 0.0, 1.0)
    return i, w


def _lerp(a: np.ndarray, i: np.ndarray, w: np.ndarray) -> np.ndarray:
    lo, hi = a[i], a[np.minimum(i + 1, len(a) - 1)]
    ww = w.reshape(w.shape + (1,) * (a.ndim - 1))
    out = lo * (1.0 - ww) + hi * ww
    out = np.where(ww == 0.0, lo, out)  # keys are reproduced exactly
    return np.where(ww == 1.0, hi, out)


def _slerp_rotvecs(a: np.ndarray, i: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(T, 3k) axis-angle rows -> (T', 3k), every joint slerped at once."""
    joints = a.reshape(len(a), -1, 3)
    q = axis_angle_to_quaternion(joints)
    lo, hi = i, np.minimum(i + 1, len(a) - 1)
    ww = w[:, None, None]
    out = quaternion_to_axis_angle(slerp(q[lo], q[hi], ww))
    out = np.where(ww == 0.0, joints[lo], out)
    out = np.where(ww == 1.0, joints[hi], out)
    return out.reshape(len(i), -1)


def resample_params(params: FlameParams, source_times: np.ndarray, target_times: np.ndarray) -> FlameParams:
    """Parameters at ``target_times`` from keys at ``source_times`` (fields without a frame axis are kept)."""
    i, w = interpolation_weights(np.asarray(source_times, dtype=np.float64), np.asarray(target_times, np.float64))
    fields: dict[str, np.ndarray] = {}
    for f in FIELDS:
        value = getattr(params, f.name)
        if value is None:
            continue
        if value.ndim == 1:
            fields[f.name] = value
        elif f.kind == "rotation":
            fields[f.name] = _slerp_rotvecs(value, i, w)
        else:
            fields[f.name] = _lerp(value, i, w)
    return FlameParams(**fields)


def resample_sequence(seq: FlameSequence, fps: float, source_fps: float | None = None) -> FlameSequence:
    """See :meth:`FlameSequence.resample`. Per-frame float extras are interpolated linearly (camera rotations
    ``camera_R`` are slerped), others nearest."""
    fps = float(fps)
    if not (math.isfinite(fps) and fps > 0.0):
        raise FlameError(f"target fps must be a positive number, got {fps!r}")
    if len(seq) == 0:
        raise FlameError("cannot resample a sequence without frames")
    if seq.timestamps is not None:
        times = seq.timestamps
    else:
        rate = source_fps if source_fps is not None else seq.fps
        if rate is None:
            raise FlameError(
                "cannot resample: the source frame rate is unknown (the file stores none); "
                "pass source_fps= or load with fps="
            )
        rate = float(rate)
        if not (math.isfinite(rate) and rate > 0.0):
            raise FlameError(f"source fps must be a positive number, got {rate!r}")
        times = np.arange(len(seq)) / rate
    t0 = float(times[0])
    count = math.floor((float(times[-1]) - t0) * fps + 1e-9) + 1
    target = t0 + np.arange(count) / fps
    i, w = interpolation_weights(times, target)
    extras = {}
    for key, value in seq.extras.items():
        if key not in (seq.frame_keys or ()):
            extras[key] = value
        elif key == CAMERA_R and value.shape[1:] == (3, 3):  # camera rotations: slerped, as the head's
            extras[key] = axis_angle_to_matrix(_slerp_rotvecs(matrix_to_axis_angle(value), i, w))
        elif value.dtype.kind == "f":
            extras[key] = _lerp(value, i, w)
        else:
            extras[key] = value[np.where(w < 0.5, i, np.minimum(i + 1, len(value) - 1))]
    return seq.replace(
        params=resample_params(seq.params, times, target),
        fps=fps,
        timestamps=None if seq.timestamps is None else target,
        extras=extras,
    )
