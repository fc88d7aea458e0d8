"""Mesh quantities: face normals and areas, area-weighted vertex normals (batched)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import MeshMismatchError

Columns = Sequence[np.ndarray]


def face_cross(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unnormalised face normals (..., F, 3): ``(v1 - v0) x (v2 - v0)``, length = twice the area."""
    v0 = vertices[..., faces[:, 0], :]
    v1 = vertices[..., faces[:, 1], :]
    v2 = vertices[..., faces[:, 2], :]
    return np.cross(v1 - v0, v2 - v0)


def face_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Triangle areas (..., F)."""
    return 0.5 * np.linalg.norm(face_cross(vertices, faces), axis=-1)


def face_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unit face normals (..., F, 3); degenerate faces give zero vectors."""
    return normalized(face_cross(vertices, faces))


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals for (..., V, 3) vertices and (F, 3) faces.

    Each face adds its unnormalised normal (twice its area times its unit normal) to its three
    corners. Vertices on no face (or only on degenerate ones) get zero vectors.
    """
    vertices = np.asarray(vertices)
    faces = np.asarray(faces, dtype=np.intp)
    n_verts = vertices.shape[-2]
    lead = vertices.shape[:-2]
    batch = int(np.prod(lead))
    # Coordinates as contiguous (B, V) planes, corners gathered per face: (B, F) each.
    planes = np.ascontiguousarray(np.moveaxis(vertices.reshape(batch, n_verts, 3), -1, 0))
    p0, p1, p2 = (np.take(planes, faces[:, c], axis=2) for c in range(3))
    cross = cross_columns(p1 - p0, p2 - p0)
    # One bincount per coordinate over (batch * V) bins, each face scattered to its three corners.
    index = (faces.reshape(1, -1) + (np.arange(batch) * n_verts)[:, None]).ravel()
    out = np.empty((batch * n_verts, 3), dtype=np.result_type(vertices.dtype, np.float32))
    for axis in range(3):
        weights = np.repeat(cross[axis], 3, axis=1).ravel()  # face f's normal at corners 3f..3f+2
        out[:, axis] = np.bincount(index, weights=weights, minlength=batch * n_verts)
    return normalized(out).reshape(lead + (n_verts, 3))


def cross_columns(a: Columns, b: Columns) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cross products of vectors given as (x, y, z) arrays, with the formula (and rounding) of ``np.cross``."""
    return a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]


def normalized(v: np.ndarray) -> np.ndarray:
    """Unit vectors along the last axis; zero vectors stay zero."""
    length = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, length, out=np.zeros_like(v), where=length > 0)


def check_vertex_count(name: str, expected: int, found: int) -> None:
    """Raise :class:`MeshMismatchError` when a mesh named ``name`` has ``found`` vertices, not ``expected``."""
    if int(found) != int(expected):
        raise MeshMismatchError(name, int(expected), int(found))
