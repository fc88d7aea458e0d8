"""FLAME's axes and Blender's, defined once: every conversion between them goes through here.

FLAME is Y-up with the face looking along +Z; Blender is Z-up and its front view looks along +Y at the
-Y side. FLAME ``(x, y, z)`` is Blender ``(x, -z, y)`` (a +90 degree turn about X), so a head stands
upright facing -Y. Parameters (rotations, translation) stay in FLAME's axes, as in parameter files.
"""

from __future__ import annotations

import numpy as np

#: FLAME (x, y, z) -> Blender (x, -z, y) as a rotation matrix acting on column vectors.
FLAME_TO_BLENDER = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
FLAME_TO_BLENDER.setflags(write=False)


def to_blender_axes(points: np.ndarray) -> np.ndarray:
    """FLAME positions or directions (..., 3) in Blender's axes: (x, y, z) -> (x, -z, y).

    The result has at least float32 precision (float64 input stays float64)."""
    points = np.asarray(points)
    out = np.empty(points.shape, dtype=np.result_type(points.dtype, np.float32))
    out[..., 0] = points[..., 0]
    out[..., 1] = -points[..., 2]
    out[..., 2] = points[..., 1]
    return out


def from_blender_axes(points: np.ndarray) -> np.ndarray:
    """Blender positions or directions (..., 3) in FLAME's axes: (x, y, z) -> (x, z, -y)."""
    points = np.asarray(points)
    out = np.empty(points.shape, dtype=np.result_type(points.dtype, np.float32))
    out[..., 0] = points[..., 0]
    out[..., 1] = points[..., 2]
    out[..., 2] = -points[..., 1]
    return out


def to_world(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Object-space points (..., 3) to world space by a 4x4 matrix (float64)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    return np.asarray(points, dtype=np.float64) @ matrix[:3, :3].T + matrix[:3, 3]


def normals_to_world(normals: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Object-space unit normals (..., 3) to unit world normals (inverse transpose of the 3x3 part)."""
    out = np.asarray(normals, dtype=np.float64) @ np.linalg.inv(np.asarray(matrix, dtype=np.float64)[:3, :3])
    length = np.linalg.norm(out, axis=-1, keepdims=True)
    return np.divide(out, length, out=np.zeros_like(out), where=length > 0)


def flame_frame(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rotation (3, 3), origin (3,)) placing FLAME axes in the world for an object with this 4x4 matrix.

    The rotation is the nearest one to the matrix's 3x3 part composed with the FLAME -> Blender turn (scale and
    shear are dropped; a mirroring transform keeps its handedness out of the rotation).
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    linear = matrix[:3, :3] @ FLAME_TO_BLENDER
    u, _, vt = np.linalg.svd(linear)
    if np.linalg.det(u @ vt) < 0:
        u[:, -1] *= -1.0
    return u @ vt, matrix[:3, 3].copy()
