"""Random points on a triangle mesh: area-weighted, region-limited, optionally blue-noise.

    samples = sample_surface(vertices, faces, 100_000, seed=0, region=model.masks["face"])
    positions, normals = evaluate_samples(posed_vertices, faces, samples.face_index, samples.barycentric)

A sample is a face index plus barycentric coordinates, so a point cloud drawn once follows the
mesh through any later pose (:func:`evaluate_samples`, batched over frames).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import FlameError
from .mesh import face_areas, vertex_normals

#: Candidates whose cell pairs are compared in one go when thinning (bounds temporary memory).
_PAIR_CHUNK = 1 << 22
#: Points per unit area that random dart throwing fits at spacing 1 on a plane (its jamming limit).
_JAMMING = 0.7
#: Candidates drawn per requested point before Poisson-disk thinning.
_OVERSAMPLE = 8
#: Half of the 27 neighbouring grid cells (the cell itself first): every unordered cell pair once.
_HALF_OFFSETS = np.array(
    [(0, 0, 0)]
    + [
        (dx, dy, dz)
        for dx in (-1, 0, 1)
        for dy in (-1, 0, 1)
        for dz in (-1, 0, 1)
        if (dx, dy, dz) > (0, 0, 0)
    ],
    dtype=np.int64,
)


@dataclass(frozen=True, eq=False)
class SurfaceSamples:
    """Points on a mesh surface, grouped by face (``face_index`` is non-decreasing).

    ``positions`` and ``normals`` (unit, interpolated from area-weighted vertex normals) are (n, 3);
    ``face_index`` (n,) int32; ``barycentric`` (n, 3) weights of the face's three corners (sum 1);
    ``colors`` (n, C) interpolated vertex colours when they were given.
    """

    positions: np.ndarray
    normals: np.ndarray
    face_index: np.ndarray
    barycentric: np.ndarray
    colors: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.face_index.shape[0])


def sample_surface(
    vertices: Any,
    faces: Any,
    n: int,
    seed: int | np.random.Generator | None = None,
    *,
    face_weights: Any = None,
    region: Any = None,
    min_distance: float | None = None,
    vertex_colors: Any = None,
) -> SurfaceSamples:
    """Draw ``n`` points uniformly by area on the mesh ``vertices`` (V, 3), ``faces`` (F, 3).

    Faces are chosen with probability proportional to ``area * face_weights`` (weights default to
    one) and points uniformly inside them (barycentrics by the square-root method), so the result
    is deterministic for a given ``seed`` (``np.random.default_rng(seed)``) and input dtype.
    Points come grouped by face in face order; shuffle them if order matters.

    ``region`` limits sampling to part of the mesh: an integer array of vertex indices (e.g. a
    FLAME mask) keeps the faces whose three vertices are all in it; a boolean array of length F is
    a face mask.

    ``min_distance`` asks for blue-noise coverage: 8 candidates per point are drawn and thinned by
    Poisson-disk dart throwing in random order, so no two points are closer than ``min_distance``
    (straight-line distance). The result then has *at most* ``n`` points: a random ``n`` of the
    survivors when more survive, all of them when the surface fills up sooner (about
    ``0.7 * area / min_distance**2`` points fit; fewer candidates are drawn then).

    Output arrays are float32 for float32 vertices and float64 otherwise.
    """
    verts, tris = check_mesh(vertices, faces)
    n = _check_count(n)
    dtype = np.float32 if verts.dtype == np.float32 else np.float64
    verts = verts.astype(dtype, copy=False)
    rng = random_generator(seed)
    weights = _face_probabilities(verts, tris, face_weights, region)
    colors_in = None if vertex_colors is None else _check_vertex_values(vertex_colors, verts.shape[0], dtype)

    # Per-face data is laid out (C, F) so that per-point arithmetic runs on contiguous rows.
    corner0, edge1, edge2 = _corner_and_edges(verts, tris)
    if min_distance is None:
        counts = rng.multinomial(n, weights)
        b1, b2 = _random_barycentrics(rng, n, dtype)
        positions = _interpolate_grouped(corner0, edge1, edge2, counts, b1, b2)
    else:
        radius = float(min_distance)
        if not np.isfinite(radius) or radius <= 0:
            raise FlameError(f"min_distance must be a positive number, got {min_distance!r}")
        area = float(face_areas(verts.astype(np.float64), tris) @ (weights > 0))
        m = int(np.ceil(_OVERSAMPLE * min(n, _JAMMING * area / radius**2)))
        counts = rng.multinomial(m, weights)
        b1, b2 = _random_barycentrics(rng, m, dtype)
        positions = _interpolate_grouped(corner0, edge1, edge2, counts, b1, b2)
        keep = _poisson_disk_mask(_rows(positions), radius, rng)
        if np.count_nonzero(keep) > n:
            survivors = np.flatnonzero(keep)
            keep[:] = False
            keep[rng.choice(survivors, size=n, replace=False)] = True
        face_of = np.repeat(np.arange(tris.shape[0]), counts)[keep]
        counts = np.bincount(face_of, minlength=tris.shape[0])
        positions, b1, b2 = positions[:, keep], b1[keep], b2[keep]

    face_index = np.repeat(np.arange(tris.shape[0], dtype=np.int32), counts)
    barycentric = _rows(np.stack([1 - b1 - b2, b1, b2]))
    normals = _interpolate_grouped(*_corner_and_edges(vertex_normals(verts, tris).astype(dtype), tris), counts, b1, b2)
    colors = None
    if colors_in is not None:
        colors = _rows(_interpolate_grouped(*_corner_and_edges(colors_in, tris), counts, b1, b2))
    positions, normals = _rows(positions), _rows(_normalize_columns(normals))
    return SurfaceSamples(positions, normals, face_index, barycentric, colors)


def evaluate_samples(
    vertices: Any, faces: Any, face_index: Any, barycentric: Any, *, normals: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Positions (..., n, 3) and unit normals (or ``None``) of samples on a (re)posed mesh.

    ``vertices`` (..., V, 3) may carry leading batch axes (e.g. frames of an animation); the same
    ``face_index`` (n,) and ``barycentric`` (n, 3) are evaluated on each.
    """
    verts, tris = check_mesh(vertices, faces, batched=True)
    fi = check_face_index(face_index, tris.shape[0])
    dtype = np.float32 if verts.dtype == np.float32 else np.float64
    bary = np.asarray(barycentric, dtype=dtype)
    if bary.shape != (fi.shape[0], 3):
        raise FlameError(f"barycentric must have shape ({fi.shape[0]}, 3), got {bary.shape}")
    corners = np.ascontiguousarray(tris[fi].T)
    weights = np.ascontiguousarray(bary.T)
    positions = _blend(verts.astype(dtype, copy=False), corners, weights)
    if not normals:
        return _rows(positions), None
    vn = vertex_normals(verts, tris).astype(dtype, copy=False)
    return _rows(positions), _rows(_normalize_columns(_blend(vn, corners, weights)))


def region_face_mask(faces: Any, region: Any, n_vertices: int) -> np.ndarray:
    """Boolean face mask (F,) of a region: vertex indices (all three corners inside) or a face mask."""
    tris = np.asarray(faces)
    mask = np.asarray(region)
    if mask.dtype == np.bool_:
        if mask.shape != (tris.shape[0],):
            raise FlameError(
                f"a boolean region is a face mask and needs shape ({tris.shape[0]},), got {mask.shape}"
            )
        return mask.copy()
    if mask.ndim != 1 or (mask.size and not np.issubdtype(mask.dtype, np.integer)):
        raise FlameError(f"region must be vertex indices (1-D integers) or a face mask, got {mask.dtype} {mask.shape}")
    if mask.size and (mask.min() < 0 or mask.max() >= n_vertices):
        raise FlameError(f"region vertex indices must lie in [0, {n_vertices}), found {mask.min()}..{mask.max()}")
    inside = np.zeros(n_vertices, dtype=bool)
    inside[mask] = True
    return np.all(inside[tris], axis=1)


def random_generator(seed: int | np.random.Generator | None) -> np.random.Generator:
    """``np.random.default_rng(seed)``, with a :class:`FlameError` for a seed it refuses (negative, float...)."""
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError):
        raise FlameError(f"seed must be a non-negative integer, a numpy Generator or None, got {seed!r}") from None


# ---------------------------------------------------------------------------------------------- helpers
def check_mesh(vertices: Any, faces: Any, *, batched: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (V, 3) (or (..., V, 3) when ``batched``; floating point) and (F, 3) ``intp`` faces, checked."""
    verts = np.asarray(vertices)
    if not np.issubdtype(verts.dtype, np.floating):
        verts = verts.astype(np.float64)
    if verts.ndim < 2 or verts.shape[-1] != 3 or (verts.ndim > 2 and not batched):
        want = "(..., V, 3)" if batched else "(V, 3)"
        raise FlameError(f"vertices must have shape {want}, got {verts.shape}")
    tris = np.asarray(faces)
    if tris.ndim != 2 or tris.shape[1] != 3 or not np.issubdtype(tris.dtype, np.integer):
        raise FlameError(f"faces must be an (F, 3) integer array, got {tris.dtype} with shape {tris.shape}")
    if tris.size and (tris.min() < 0 or tris.max() >= verts.shape[-2]):
        raise FlameError(f"faces index vertices {tris.min()}..{tris.max()} but there are {verts.shape[-2]}")
    return verts, tris.astype(np.intp, copy=False)


def check_face_index(face_index: Any, n_faces: int | None) -> np.ndarray:
    """``face_index`` as a 1-D ``intp`` array, checked to lie in ``[0, n_faces)`` (``None``: no upper bound)."""
    fi = np.asarray(face_index)
    if fi.ndim != 1 or (fi.size and not np.issubdtype(fi.dtype, np.integer)):
        raise FlameError(f"face_index must be a 1-D integer array, got {fi.dtype} with shape {fi.shape}")
    fi = fi.astype(np.intp, copy=False)
    if fi.size and (fi.min() < 0 or (n_faces is not None and fi.max() >= n_faces)):
        raise FlameError(f"face_index must lie in [0, {n_faces}), found {fi.min()}..{fi.max()}")
    return fi


def _check_count(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise FlameError(f"the number of samples must be a non-negative integer, got {n!r}")
    return int(n)


def _check_vertex_values(values: Any, n_vertices: int, dtype: Any) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] != n_vertices:
        raise FlameError(f"vertex_colors must have shape ({n_vertices}, C), got {np.shape(values)}")
    if array.dtype == np.uint8:
        return array.astype(dtype) / dtype(255)
    return array.astype(dtype)


def _face_probabilities(verts: np.ndarray, tris: np.ndarray, face_weights: Any, region: Any) -> np.ndarray:
    """Face probabilities (float64, sum 1) from areas, optional weights and an optional region."""
    weights = face_areas(verts.astype(np.float64), tris)
    if face_weights is not None:
        extra = np.asarray(face_weights, dtype=np.float64)
        if extra.shape != (tris.shape[0],):
            raise FlameError(f"face_weights must have shape ({tris.shape[0]},), got {extra.shape}")
        if not np.all(np.isfinite(extra)) or np.any(extra < 0):
            raise FlameError("face_weights must be finite and non-negative")
        weights = weights * extra
    if region is not None:
        weights = np.where(region_face_mask(tris, region, verts.shape[0]), weights, 0.0)
    total = weights.sum()
    if not total > 0 or not np.isfinite(total):
        raise FlameError("nothing to sample: no face with positive area (and weight) in the region")
    return weights / total


def _random_barycentrics(rng: np.random.Generator, n: int, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    """Weights of corners 1 and 2 of points uniform in a triangle: ``sqrt(u) * (1 - v)``, ``sqrt(u) * v``."""
    uv = rng.random((2, n), dtype=dtype)
    root = np.sqrt(uv[0], out=uv[0])
    b2 = np.multiply(root, uv[1], out=uv[1])
    b1 = np.subtract(root, b2, out=root)
    return b1, b2


def _corner_and_edges(values: np.ndarray, tris: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-face corner-0 values and the differences to corners 1 and 2, each (C, F)."""
    rows = np.ascontiguousarray(values.T)
    base = rows[:, tris[:, 0]]
    return base, rows[:, tris[:, 1]] - base, rows[:, tris[:, 2]] - base


def _interpolate_grouped(
    base: np.ndarray, d1: np.ndarray, d2: np.ndarray, counts: np.ndarray, b1: np.ndarray, b2: np.ndarray
) -> np.ndarray:
    """``base + b1 * d1 + b2 * d2`` per point (C, n), per-face (C, F) arrays repeated ``counts`` times."""
    out = np.repeat(base, counts, axis=1)
    tmp = np.repeat(d1, counts, axis=1)
    tmp *= b1
    out += tmp
    tmp = np.repeat(d2, counts, axis=1)
    tmp *= b2
    out += tmp
    return out


def _normalize_columns(v: np.ndarray) -> np.ndarray:
    """Scale each column of a (..., 3, n) array to unit length in place (zero columns stay zero)."""
    inv = v[..., 0, :] * v[..., 0, :]
    inv += v[..., 1, :] * v[..., 1, :]
    inv += v[..., 2, :] * v[..., 2, :]
    np.sqrt(inv, out=inv)
    np.maximum(inv, np.finfo(v.dtype).tiny, out=inv)
    np.divide(1, inv, out=inv)
    v *= inv[..., None, :]
    return v


def _rows(columns: np.ndarray) -> np.ndarray:
    """A C-ordered (..., n, C) copy of a (..., C, n) array (a strided copy per channel: faster than a transpose)."""
    out = np.empty(columns.shape[:-2] + columns.shape[:-3:-1], dtype=columns.dtype)
    for channel in range(columns.shape[-2]):
        out[..., channel] = columns[..., channel, :]
    return out


def _blend(values: np.ndarray, corners: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Barycentric blend (..., C, n) of per-vertex ``values`` (..., V, C) at (3, n) corners with (3, n) weights."""
    rows = np.ascontiguousarray(np.swapaxes(values, -1, -2))
    out = rows[..., corners[0]] * weights[0]
    out += rows[..., corners[1]] * weights[1]
    out += rows[..., corners[2]] * weights[2]
    return out


def _poisson_disk_mask(points: np.ndarray, radius: float, rng: np.random.Generator) -> np.ndarray:
    """Keep-mask of a Poisson-disk subset: dart throwing in a random order, computed in parallel.

    Conflicting pairs (closer than ``radius``) are found on a grid of ``radius``-sized cells; the
    greedy independent set in random-priority order (what sequential dart throwing would keep) is
    then built in rounds: a point whose undecided neighbours all come later joins, and evicts them.
    """
    m = points.shape[0]
    if m == 0:
        return np.zeros(0, dtype=bool)
    i, j = _close_pairs(points, radius)
    priority = rng.permutation(m)
    state = np.zeros(m, dtype=np.int8)  # 0 undecided, 1 kept, 2 dropped
    while True:
        undecided = state == 0
        live = undecided[i] & undecided[j]
        i, j = i[live], j[live]
        blocked = np.zeros(m, dtype=bool)
        blocked[np.where(priority[i] > priority[j], i, j)] = True
        joins = undecided & ~blocked
        state[joins] = 1
        state[j[joins[i]]] = 2
        state[i[joins[j]]] = 2
        if not np.any(state == 0):
            return state == 1


def _close_pairs(points: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j) of points closer than ``radius``, each unordered pair once."""
    cells = np.floor((points - points.min(axis=0)) / radius).astype(np.int64) + 1
    dims = cells.max(axis=0) + 2
    if float(np.prod(dims.astype(np.float64))) >= 2.0**62:
        raise FlameError(f"min_distance {radius!r} is too small for a mesh of this extent")
    key = (cells[:, 0] * dims[1] + cells[:, 1]) * dims[2] + cells[:, 2]
    order = np.argsort(key, kind="stable")
    cell_keys, starts, sizes = np.unique(key[order], return_index=True, return_counts=True)
    r2 = radius * radius
    found_i, found_j = [], []
    for offset in _HALF_OFFSETS:
        shift = (offset[0] * dims[1] + offset[1]) * dims[2] + offset[2]
        where = np.minimum(np.searchsorted(cell_keys, cell_keys + shift), cell_keys.shape[0] - 1)
        hit = cell_keys[where] == cell_keys + shift
        cell_a, cell_b = np.flatnonzero(hit), where[hit]
        pairs = sizes[cell_a] * sizes[cell_b]
        ends = np.cumsum(pairs)
        # Chunks of cell pairs with a bounded number of point pairs each.
        bounds = np.searchsorted(ends, np.arange(_PAIR_CHUNK, ends[-1] if ends.size else 0, _PAIR_CHUNK))
        for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, cell_a.shape[0]]):
            if hi <= lo:
                continue
            a, b, per = cell_a[lo:hi], cell_b[lo:hi], pairs[lo:hi]
            owner = np.repeat(np.arange(hi - lo), per)
            local = np.arange(owner.shape[0]) - np.repeat(np.cumsum(per) - per, per)
            width = sizes[b][owner]
            ia = order[starts[a][owner] + local // width]
            ib = order[starts[b][owner] + local % width]
            if shift == 0:
                upper = ia < ib
                ia, ib = ia[upper], ib[upper]
            diff = points[ia].astype(np.float64) - points[ib]
            close = np.einsum("ij,ij->i", diff, diff) < r2
            found_i.append(ia[close])
            found_j.append(ib[close])
    return np.concatenate(found_i), np.concatenate(found_j)
