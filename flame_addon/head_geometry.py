"""A head's current geometry as numpy arrays: its mesh positions (head-local, Blender or FLAME axes) and its
placement in the world (``matrix_world``), for the operators that render or sample a head."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..flame_core import FlameError, FlameModel
from . import evaluate


def local_positions(obj: Any) -> np.ndarray:
    """The head mesh's vertex positions (V, 3) float64 in its object space (Blender axes), as last evaluated."""
    mesh = obj.data
    co = np.empty(3 * len(mesh.vertices), dtype=np.float32)
    mesh.vertices.foreach_get("co", co)
    return co.reshape(-1, 3).astype(np.float64)


def flame_positions(obj: Any) -> np.ndarray:
    """The head's current vertices (V, 3) float64 in FLAME axes (what the model's forward pass gave)."""
    return np.asarray(evaluate.from_blender_axes(local_positions(obj)), dtype=np.float64)


def world_matrix(obj: Any) -> np.ndarray:
    """``obj.matrix_world`` as a (4, 4) float64 array."""
    return np.array(obj.matrix_world, dtype=np.float64)


def to_world(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Object-space points (..., 3) to world space by a 4x4 matrix."""
    return np.asarray(points, dtype=np.float64) @ matrix[:3, :3].T + matrix[:3, 3]


def normals_to_world(normals: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Object-space unit normals (..., 3) to unit world normals (inverse transpose of the 3x3 part)."""
    out = np.asarray(normals, dtype=np.float64) @ np.linalg.inv(matrix[:3, :3])
    length = np.linalg.norm(out, axis=-1, keepdims=True)
    return np.divide(out, length, out=np.zeros_like(out), where=length > 0)


def flame_frame(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rotation (3, 3), origin (3,)) placing FLAME axes in the world for a head with this ``matrix_world``.

    The rotation is the nearest one to ``matrix_world``'s 3x3 part composed with the FLAME -> Blender turn
    (scale and shear are dropped; a mirroring transform keeps its handedness out of the rotation).
    """
    linear = matrix[:3, :3] @ evaluate.FLAME_TO_BLENDER
    u, _, vt = np.linalg.svd(linear)
    if np.linalg.det(u @ vt) < 0:
        u[:, -1] *= -1.0
    return u @ vt, matrix[:3, 3].copy()


def checked_model(obj: Any) -> FlameModel:
    """The head's model, checked against its mesh (raises FlameError / OSError)."""
    model = evaluate.model_for(obj)
    if len(obj.data.vertices) != model.n_vertices:
        raise FlameError(
            f"the model has {model.n_vertices} vertices but the mesh of {obj.name!r} has {len(obj.data.vertices)}"
        )
    return model
