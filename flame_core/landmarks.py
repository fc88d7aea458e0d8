"""Landmark embeddings: barycentric points on the mesh, with FLAME's yaw-dependent face contour."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ModelFileError

#: Rows of the dynamic contour table: 0..39 for yaw 0..39 degrees, 40..78 for yaw -1..-39.
N_DYNAMIC_ROWS = 79
N_CONTOUR = 17
MAX_YAW_DEGREES = 39


@dataclass(frozen=True, eq=False)
class LandmarkEmbedding:
    """Landmarks as barycentric combinations of the vertices of mesh faces.

    ``face_index`` (L,) and ``barycentric`` (L, 3) are fixed landmarks. When ``contour_face_index``
    (79, 17) and ``contour_barycentric`` (79, 17, 3) are given, 17 contour landmarks chosen by the
    head's yaw come first (the 68-point iBUG order when L is 51).
    """

    face_index: np.ndarray
    barycentric: np.ndarray
    contour_face_index: np.ndarray | None = None
    contour_barycentric: np.ndarray | None = None
    name: str = "landmarks"
    source: str = ""
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Read-only views: one embedding is shared by every model it is attached to.
        for key in ("face_index", "barycentric", "contour_face_index", "contour_barycentric"):
            value = getattr(self, key)
            if value is not None:
                view = np.asarray(value).view()
                view.setflags(write=False)
                object.__setattr__(self, key, view)
        self._check("face_index", self.face_index, (None,), integer=True)
        n = self.face_index.shape[0]
        self._check("barycentric", self.barycentric, (n, 3))
        if (self.contour_face_index is None) != (self.contour_barycentric is None):
            raise ModelFileError(self.source or None, "contour face indices and barycentrics come together")
        if self.contour_face_index is not None:
            self._check("contour_face_index", self.contour_face_index, (N_DYNAMIC_ROWS, N_CONTOUR), integer=True)
            self._check("contour_barycentric", self.contour_barycentric, (N_DYNAMIC_ROWS, N_CONTOUR, 3))

    def _check(
        self, key: str, array: np.ndarray | None, shape: tuple[int | None, ...], integer: bool = False
    ) -> None:
        assert array is not None
        source = self.source or None
        ok = array.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, array.shape))
        if not ok:
            expected = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
            raise ModelFileError(source, "wrong shape", key=key, expected=expected, found=str(array.shape))
        if integer and not np.issubdtype(array.dtype, np.integer):
            raise ModelFileError(source, "wrong dtype", key=key, expected="integers", found=str(array.dtype))
        if not integer and not np.all(np.isfinite(array)):
            raise ModelFileError(source, "non-finite values", key=key)

    @property
    def count(self) -> int:
        """Number of landmarks produced per frame."""
        return self.face_index.shape[0] + (N_CONTOUR if self.has_contour else 0)

    @property
    def has_contour(self) -> bool:
        return self.contour_face_index is not None

    def check_faces(self, n_faces: int) -> None:
        """Raise when a face index is out of range for a mesh with ``n_faces`` faces."""
        for key in ("face_index", "contour_face_index"):
            idx = getattr(self, key)
            if idx is not None and idx.size and (idx.min() < 0 or idx.max() >= n_faces):
                raise ModelFileError(
                    self.source or None, "face index out of range", key=key,
                    expected=f"0..{n_faces - 1}", found=f"{idx.min()}..{idx.max()}",
                )

    def evaluate(self, vertices: np.ndarray, faces: np.ndarray, yaw_rows: np.ndarray | None = None) -> np.ndarray:
        """Landmark positions (..., L', 3) on posed ``vertices`` (..., V, 3).

        ``yaw_rows`` (...,) selects the contour row per frame (see :func:`contour_rows`); it is
        required when the embedding has a contour.
        """
        static = barycentric_points(vertices, faces[self.face_index], self.barycentric)
        if not self.has_contour:
            return static
        if yaw_rows is None:
            raise ValueError("this embedding has a yaw-dependent contour: pass yaw_rows")
        assert self.contour_face_index is not None and self.contour_barycentric is not None
        rows = np.asarray(yaw_rows)
        lead = vertices.shape[:-2]
        flat_v = vertices.reshape((int(np.prod(lead)),) + vertices.shape[-2:])
        flat_rows = np.broadcast_to(rows, lead).reshape(-1)
        tri = faces[self.contour_face_index[flat_rows]]  # (B, 17, 3)
        bary = self.contour_barycentric[flat_rows]  # (B, 17, 3)
        corners = flat_v[np.arange(flat_v.shape[0])[:, None, None], tri]  # (B, 17, 3, 3)
        contour = np.einsum("bkc,bkcd->bkd", bary.astype(vertices.dtype), corners)
        contour = contour.reshape(lead + (N_CONTOUR, 3))
        return np.concatenate([contour, static], axis=-2)


def barycentric_points(vertices: np.ndarray, triangles: np.ndarray, barycentric: np.ndarray) -> np.ndarray:
    """Points (..., L, 3) from triangle vertex indices (L, 3) and barycentric weights (L, 3)."""
    corners = vertices[..., triangles, :]  # (..., L, 3, 3)
    return np.einsum("lc,...lcd->...ld", barycentric.astype(vertices.dtype), corners)


def contour_rows(rotations: np.ndarray) -> np.ndarray:
    """Dynamic contour row per frame from joint rotations (..., J, 3, 3).

    The yaw is that of the global∘neck rotation (``R_global @ R_neck``) in whole degrees, clamped
    to ±39: rows 0..39 hold yaw 0..39, rows 40..78 hold yaw -1..-39.
    """
    rel = rotations[..., 0, :, :] @ rotations[..., 1, :, :]
    sy = np.sqrt(rel[..., 0, 0] ** 2 + rel[..., 1, 0] ** 2)
    yaw = np.round(np.minimum(-np.degrees(np.arctan2(-rel[..., 2, 0], sy)), MAX_YAW_DEGREES)).astype(np.int64)
    negative = np.where(yaw < -MAX_YAW_DEGREES, 2 * MAX_YAW_DEGREES, MAX_YAW_DEGREES - yaw)
    return np.where(yaw < 0, negative, yaw)
