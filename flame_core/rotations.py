"""Rotation conversions: the 6D representation, rotation matrices and axis-angle vectors.

The 6D representation (Zhou et al. 2019, PyTorch3D's ``matrix_to_rotation_6d``) is the first two ROWS of the
rotation matrix; Gram-Schmidt turns any 6 numbers with independent halves back into a rotation.
"""

from __future__ import annotations

import numpy as np

from .errors import FlameError
from .lbs import rodrigues


def rotation_6d_to_matrix(d6: np.ndarray) -> np.ndarray:
    """(..., 6) -> (..., 3, 3): rows ``b1 = a1/|a1|``, ``b2 = (a2 - (b1.a2) b1)/|...|``, ``b3 = b1 x b2``."""
    d6 = np.asarray(d6, dtype=np.float64)
    if d6.shape[-1:] != (6,):
        raise FlameError(f"6D rotations need 6 values in the last axis, got shape {d6.shape}")
    a1, a2 = d6[..., :3], d6[..., 3:]
    n1 = np.linalg.norm(a1, axis=-1, keepdims=True)
    b1 = a1 / np.where(n1 > 0, n1, 1.0)
    u2 = a2 - np.sum(b1 * a2, axis=-1, keepdims=True) * b1
    n2 = np.linalg.norm(u2, axis=-1, keepdims=True)
    if np.any(n1 == 0) or np.any(n2 <= 1e-12 * np.maximum(n1, 1.0)):
        raise FlameError("a 6D rotation has a zero or parallel pair of rows; it names no rotation")
    b2 = u2 / n2
    return np.stack([b1, b2, np.cross(b1, b2)], axis=-2)


def matrix_to_rotation_6d(matrix: np.ndarray) -> np.ndarray:
    """(..., 3, 3) -> (..., 6): the first two rows."""
    matrix = np.asarray(matrix, dtype=np.float64)
    return matrix[..., :2, :].reshape(matrix.shape[:-2] + (6,))


def matrix_to_axis_angle(matrix: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 3) axis-angle vectors (angle in [0, pi]).

    Goes through the quaternion, choosing per matrix the best-conditioned of the four formulas (Shepperd's
    method), so rotations near pi and near identity are both exact to rounding.
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape[-2:] != (3, 3):
        raise FlameError(f"rotation matrices need shape (..., 3, 3), got {m.shape}")
    batch = m.shape[:-2]
    m = m.reshape(-1, 3, 3)
    trace = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    cands = np.stack([trace, m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]], axis=1)
    choice = np.argmax(cands, axis=1)
    q = np.empty((len(m), 4))  # w, x, y, z
    for k in range(4):
        sel = choice == k
        if not np.any(sel):
            continue
        r = m[sel]
        if k == 0:
            s = 2.0 * np.sqrt(1.0 + trace[sel])
            q[sel] = np.stack([0.25 * s, (r[:, 2, 1] - r[:, 1, 2]) / s, (r[:, 0, 2] - r[:, 2, 0]) / s,
                               (r[:, 1, 0] - r[:, 0, 1]) / s], axis=1)
        else:
            i = k - 1
            j, l = (i + 1) % 3, (i + 2) % 3
            s = 2.0 * np.sqrt(np.maximum(1.0 + r[:, i, i] - r[:, j, j] - r[:, l, l], 0.0))
            vec = np.empty((len(r), 3))
            vec[:, i] = 0.25 * s
            vec[:, j] = (r[:, j, i] + r[:, i, j]) / s
            vec[:, l] = (r[:, l, i] + r[:, i, l]) / s
            w = (r[:, l, j] - r[:, j, l]) / s
            q[sel] = np.concatenate([w[:, None], vec], axis=1)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    q[q[:, 0] < 0] *= -1.0
    sin_half = np.linalg.norm(q[:, 1:], axis=1)
    angle = 2.0 * np.arctan2(sin_half, q[:, 0])
    scale = np.where(sin_half > 1e-12, angle / np.where(sin_half > 1e-12, sin_half, 1.0), 2.0)
    return (q[:, 1:] * scale[:, None]).reshape(batch + (3,))


def rotation_6d_to_axis_angle(d6: np.ndarray) -> np.ndarray:
    """(..., 6) -> (..., 3)."""
    return matrix_to_axis_angle(rotation_6d_to_matrix(d6))


def axis_angle_to_matrix(rotvecs: np.ndarray) -> np.ndarray:
    """(..., 3) -> (..., 3, 3), the model's own Rodrigues formula."""
    rotvecs = np.asarray(rotvecs, dtype=np.float64)
    return rodrigues(rotvecs.reshape(-1, 3)).reshape(rotvecs.shape[:-1] + (3, 3))
