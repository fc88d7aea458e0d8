"""Points bound to triangles in the GaussianAvatars convention, and their ``point_cloud.ply``.

Each point stores its parent face and a position in that face's frame: rotation
``R = [a0 a1 a2]`` with ``a0 = normalize(v1 - v0)``, ``a1 = normalize(a0 x (v2 - v0))`` (the face
normal), ``a2 = -normalize(a1 x a0)``; size ``s = (|v1 - v0| + |a2 . (v2 - v0)|) / 2``; centroid
``c``. World position ``= R @ local * s + c``; world scale ``= exp(scale) * s``; world rotation
``= q_face * q_local``. The binding is rigid per triangle (similarity transform), so a bound point
follows its triangle exactly under rotation, translation and uniform scaling of the mesh and stays
near the surface under other deformations.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .errors import FileFormatError, FlameError, ParamsError
from .mesh import face_areas, normalized
from .params import FIELDS, FlameParams
from .ply import read_ply, write_ply_columns
from .sampling import SurfaceSamples, check_face_index, check_mesh
from .sequence import FlameSequence
from .sequence.vhap import to_arrays as vhap_arrays

#: Degree-0 spherical-harmonic constant: colour = 0.5 + SH_C0 * f_dc.
SH_C0 = 0.28209479177387814
#: Default opacity of new points (stored as its logit).
DEFAULT_OPACITY = 0.1
#: Vertex count of the GaussianAvatars FLAME mesh (FLAME's 5023 plus 120 teeth vertices).
GAUSSIAN_AVATARS_VERTICES = 5143


def face_frames(vertices: Any, faces: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-face rotations (..., F, 3, 3) (columns a0, a1, a2), sizes (..., F) and centroids (..., F, 3)."""
    verts, tris = check_mesh(vertices, faces, batched=True)
    v0 = verts[..., tris[:, 0], :]
    v1 = verts[..., tris[:, 1], :]
    v2 = verts[..., tris[:, 2], :]
    edge1, edge2 = v1 - v0, v2 - v0
    a0 = normalized(edge1)
    a1 = normalized(np.cross(a0, edge2))
    a2 = -normalized(np.cross(a1, a0))
    rotations = np.stack([a0, a1, a2], axis=-1)
    sizes = 0.5 * (np.linalg.norm(edge1, axis=-1) + np.abs(np.einsum("...i,...i->...", a2, edge2)))
    centroids = (v0 + v1 + v2) / 3
    return rotations, sizes, centroids


def bind_points(vertices: Any, faces: Any, positions: Any, face_index: Any) -> np.ndarray:
    """Local positions (n, 3) of world ``positions`` (n, 3) in the frames of faces ``face_index`` (n,)."""
    verts = np.asarray(vertices)
    if verts.ndim != 2:
        raise FlameError(f"bind_points takes one mesh (V, 3), got vertices of shape {verts.shape}")
    fi = check_face_index(face_index, np.asarray(faces).shape[0])
    pos = np.asarray(positions)
    if pos.shape != (fi.shape[0], 3):
        raise FlameError(f"positions must have shape ({fi.shape[0]}, 3), got {pos.shape}")
    rotations, sizes, centroids = _point_frames(verts, faces, fi)
    offset = pos - centroids
    return np.einsum("nji,nj->ni", rotations, offset) / _nonzero(sizes)[:, None]


def unbind_points(vertices: Any, faces: Any, face_index: Any, local: Any) -> np.ndarray:
    """World positions (..., n, 3) of bound points on a mesh (..., V, 3) (batched over leading axes)."""
    verts = np.asarray(vertices)
    fi = check_face_index(face_index, np.asarray(faces).shape[0])
    loc = np.asarray(local)
    if loc.shape != (fi.shape[0], 3):
        raise FlameError(f"local positions must have shape ({fi.shape[0]}, 3), got {loc.shape}")
    rotations, sizes, centroids = _point_frames(verts, faces, fi)
    return np.einsum("...nij,nj->...ni", rotations, loc) * sizes[..., None] + centroids


def write_bound_ply(
    path: str | Path,
    local_positions: Any,
    face_index: Any,
    *,
    scales: Any = None,
    rotations: Any = None,
    opacity: Any = None,
    colors: Any = None,
    f_dc: Any = None,
    f_rest: Any = None,
    sh_degree: int = 3,
) -> Path:
    """Write a GaussianAvatars ``point_cloud.ply`` (all columns float32); returns the path.

    Columns: ``x y z`` (local positions), ``nx ny nz`` (zeros), ``f_dc_0..2``,
    ``f_rest_0..K-1`` (K = 3 ((sh_degree + 1)^2 - 1), channel-major), ``opacity`` (logit),
    ``scale_0..2`` (log, relative to the face size), ``rot_0..3`` (w, x, y, z, local), ``binding_0``.
    Values are given as stored. Defaults: opacity ``logit(0.1)``; isotropic scales the log of the
    typical local spacing (``sqrt(1 / (2 k))`` for k points on a face, whose area is about
    ``s^2 / 2``); identity rotations; grey (f_dc 0) or ``colors`` (n, 3) in 0..1 (uint8: 0..255).
    """
    loc = np.asarray(local_positions, dtype=np.float64)
    fi = check_face_index(face_index, None)
    n = fi.shape[0]
    if loc.shape != (n, 3):
        raise FlameError(f"local_positions must have shape ({n}, 3), got {loc.shape}")
    if not isinstance(sh_degree, int | np.integer) or not 0 <= sh_degree <= 4:
        raise FlameError(f"sh_degree must be an integer 0..4, got {sh_degree!r}")
    n_rest = 3 * ((sh_degree + 1) ** 2 - 1)
    if colors is not None and f_dc is not None:
        raise FlameError("give colors or f_dc, not both")
    if colors is not None:
        rgb = np.asarray(colors)
        rgb = rgb / 255.0 if rgb.dtype == np.uint8 else rgb.astype(np.float64)
        f_dc = (_column_block(rgb, "colors", n, 3) - 0.5) / SH_C0
    dc = np.zeros((n, 3)) if f_dc is None else _column_block(f_dc, "f_dc", n, 3)
    rest = np.zeros((n, n_rest)) if f_rest is None else _column_block(f_rest, "f_rest", n, n_rest)
    if opacity is None:
        opacity = np.full(n, np.log(DEFAULT_OPACITY / (1 - DEFAULT_OPACITY)))
    opa = _column_block(np.reshape(opacity, (-1, 1)) if np.ndim(opacity) == 1 else opacity, "opacity", n, 1)
    if scales is None:
        per_face = np.bincount(fi)[fi] if n else np.zeros(0)
        scales = np.repeat(np.log(np.sqrt(0.5 / np.maximum(per_face, 1)))[:, None], 3, axis=1)
    scl = _column_block(scales, "scales", n, 3)
    rot = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1)) if rotations is None else _column_block(rotations, "rotations", n, 4)

    names = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"] + [f"f_rest_{k}" for k in range(n_rest)]
    names += ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3", "binding_0"]
    table = np.concatenate([loc, np.zeros((n, 3)), dc, rest, opa, scl, rot, fi[:, None]], axis=1).astype(np.float32)
    columns = {name: table[:, k] for k, name in enumerate(names)}
    return write_ply_columns(path, columns)


def read_bound_ply(path: str | Path) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Local positions (n, 3) float32, face indices (n,) int64 and the other columns of a bound PLY."""
    columns = read_ply(path)
    missing = [name for name in ("x", "y", "z", "binding_0") if name not in columns]
    if missing:
        raise FileFormatError(path, "not a triangle-bound point cloud", expected="columns x, y, z, binding_0",
                              found=f"no {', '.join(missing)}")
    local = np.stack([columns.pop(name).astype(np.float32) for name in ("x", "y", "z")], axis=1)
    binding = columns.pop("binding_0")
    valid = np.isfinite(binding) & (binding >= 0) & (binding == np.round(binding))
    if not np.all(valid):
        raise FileFormatError(path, "face indices must be non-negative integers", key="binding_0")
    return local, binding.astype(np.int64), columns


def save_bound_points(
    path: str | Path,
    samples: SurfaceSamples,
    vertices: Any,
    faces: Any,
    params: FlameParams | None = None,
    *,
    sh_degree: int = 3,
    offset_vertices: int | None = GAUSSIAN_AVATARS_VERTICES,
    offsets: Mapping[str, Any] | None = None,
) -> tuple[Path, Path | None]:
    """Bind ``samples`` drawn on the mesh ``vertices``/``faces`` and write a GaussianAvatars PLY.

    Scales default to the mean sample spacing (``sqrt(sampled area / n)``) relative to each face's
    size. With ``params``, ``flame_param.npz`` is written beside the PLY (see :func:`flame_param_arrays`).
    Creates the PLY's folder if needed. Returns the PLY path and the npz path (or ``None``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    verts = np.asarray(vertices)
    fi = np.asarray(samples.face_index)
    local = bind_points(verts, faces, samples.positions, fi)
    _, sizes, _ = _point_frames(verts, faces, fi)
    areas = face_areas(np.asarray(verts, dtype=np.float64), np.asarray(faces))
    spacing = np.sqrt(areas[np.unique(fi)].sum() / max(fi.shape[0], 1))
    scales = np.repeat(np.log(spacing / _nonzero(sizes))[:, None], 3, axis=1)
    colors = samples.colors if samples.colors is not None and samples.colors.shape[1] == 3 else None
    write_bound_ply(path, local, fi, scales=scales, colors=None if colors is None else np.clip(colors, 0, 1),
                    sh_degree=sh_degree)
    if params is None:
        return path, None
    npz_path = path.parent / "flame_param.npz"
    arrays: dict[str, Any] = flame_param_arrays(params, offset_vertices=offset_vertices, offsets=offsets)
    np.savez(npz_path, **arrays)
    return path, npz_path


def flame_param_arrays(params: FlameParams, *, offset_vertices: int | None = GAUSSIAN_AVATARS_VERTICES,
                       offsets: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
    """FLAME parameters in the GaussianAvatars ``flame_param.npz`` layout (float32).

    The sequence writer's VHAP/GaussianAvatars arrays at full size: ``shape`` (300,), every other
    field (T, size) with T frames (1 for unbatched params), ``eyelid_params`` (T, 2) included; with
    ``offset_vertices``, ``static_offset`` (1, V, 3) and ``dynamic_offset`` (T, V, 3), which
    GaussianAvatars expects: those of ``offsets`` (e.g. :attr:`FlameSequence.offsets`; fewer vertices
    are zero-padded) or zeros.
    """
    frames = params if params.batch_shape else FlameParams(**{f.name: params.values(f.name)[None] for f in FIELDS})
    if len(frames.batch_shape) != 1:
        raise ParamsError(f"expected one frame or a frame axis, got batch shape {frames.batch_shape}")
    shape = frames.values("shape", broadcast=True)
    if np.any(shape != shape[:1]):
        raise ParamsError("flame_param.npz holds one identity; the frames have different shapes")
    full = FlameParams(
        shape=shape[0], **{f.name: frames.values(f.name, broadcast=True) for f in FIELDS if f.name != "shape"}
    )
    out = vhap_arrays(FlameSequence(full), dtype=np.float32)
    if offset_vertices is not None:
        given = dict(offsets or {})
        for key, frames_axis in (("static_offset", 1), ("dynamic_offset", len(full))):
            out[key] = _offset_block(given.get(key), key, frames_axis, offset_vertices)
    return out


def _offset_block(value: Any, key: str, frames: int, n_vertices: int) -> np.ndarray:
    """An offset as (frames, n_vertices, 3) float32: zeros when absent, zero-padded when it has fewer vertices."""
    out = np.zeros((frames, n_vertices, 3), dtype=np.float32)
    if value is None:
        return out
    array = np.asarray(value, dtype=np.float32)
    array = array.reshape((1,) + array.shape) if array.ndim == 2 else array
    if array.ndim != 3 or array.shape[0] != frames or array.shape[2] != 3 or array.shape[1] > n_vertices:
        raise ParamsError(f"{key} must have shape ({frames}, <= {n_vertices}, 3), got {np.shape(value)}")
    out[:, : array.shape[1]] = array
    return out


# ---------------------------------------------------------------------------------------------- helpers
def _point_frames(verts: np.ndarray, faces: Any, face_index: np.ndarray) -> tuple[np.ndarray, ...]:
    """Face frames of each point: computed per face then gathered, or per point when there are fewer points."""
    tris = np.asarray(faces)
    if face_index.shape[0] < tris.shape[0]:
        return face_frames(verts, tris[face_index])
    rotations, sizes, centroids = face_frames(verts, tris)
    return rotations[..., face_index, :, :], sizes[..., face_index], centroids[..., face_index, :]


def _column_block(value: Any, what: str, n: int, width: int) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.shape != (n, width):
        raise FlameError(f"{what} must have shape ({n}, {width}), got {array.shape}")
    return array


def _nonzero(sizes: np.ndarray) -> np.ndarray:
    return np.where(sizes > 0, sizes, 1.0)

