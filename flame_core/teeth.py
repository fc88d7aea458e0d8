"""VHAP / GaussianAvatars teeth: 120 vertices and 168 triangles added behind FLAME's lips.

The construction follows VHAP's published FLAME code. Two rings of 15 template vertices around the
outside of the lips (upper and lower, from one mouth corner to the other) give the teeth's place:
their mid-points, levelled to a common height and moved back by 1.5 ``d`` (``d`` the mean gap
between the rings), are the "middle" row. From it, eight rows of 15 vertices:

============ =========================================== ==========
rows         position                                    moves with
============ =========================================== ==========
0 upper root upper edge + 2 d up                         neck
1 lower root lower edge - 2 d down                       jaw
2 upper edge middle + 0.1 d up                           neck
3 lower edge middle - 0.1 d down, 0.4 d back              jaw
4, 5         upper root, upper edge, d further back      neck
6, 7         lower root, lower edge, d further back      jaw
============ =========================================== ==========

Each jaw gets three quad strips (front, back, biting surface), every quad split in two along a
diagonal that mirrors at the middle column, so the 168 triangles are those of VHAP's list, in its
order and with its corner order (GaussianAvatars binds points to them by index). The teeth take the
identity blend shapes of the lip rings (their mean), no expression or pose correctives, no part in
the joint regression, and skinning weight 1 on the neck (upper) or the jaw (lower). UVs, when the
model has any, are a grid in a strip at the top of the texture. Vertex masks ``teeth``,
``teeth_upper`` and ``teeth_lower`` are added.

The rings are vertex indices of FLAME's template: they only mean something on FLAME's mesh, which
is checked (each ring must be a path along the mesh's edges) before anything is built.
"""

from __future__ import annotations

import numpy as np

from .errors import FlameError
from .model import ADDED_VERTICES_KEY, TEETH_VERTICES, FlameModel
from .topology import edge_set

#: Outer lip rings of FLAME's template, from one mouth corner to the other.
UPPER_LIP_RING = (1713, 1715, 1716, 1735, 1696, 1694, 1657, 3543, 2774, 2811, 2813, 2850, 2833, 2832, 2830)
LOWER_LIP_RING = (1576, 1577, 1773, 1774, 1795, 1802, 1865, 3503, 2948, 2905, 2898, 2881, 2880, 2713, 2712)
COLUMNS = len(UPPER_LIP_RING)
ROWS = ("upper_root", "lower_root", "upper_edge", "lower_edge",
        "upper_root_back", "upper_edge_back", "lower_root_back", "lower_edge_back")
UPPER_ROWS = (0, 2, 4, 5)
LOWER_ROWS = (1, 3, 6, 7)
#: Quad strips as (row a, row c, triangles left of the middle, triangles right of it). A quad of
#: column i has corners a = row_a[i], b = row_a[i + 1], c = row_c[i], d = row_c[i + 1]; the letters
#: give each triangle's corners in order.
STRIPS = (
    (0, 2, ("adc", "abd"), ("abc", "bdc")),  # upper front
    (4, 5, ("acd", "adb"), ("acb", "bcd")),  # upper back
    (5, 2, ("acb", "bcd"), ("acd", "adb")),  # upper biting surface
    (1, 3, ("cda", "dba"), ("cba", "cdb")),  # lower front
    (6, 7, ("adc", "abd"), ("abc", "bdc")),  # lower back
    (7, 3, ("abc", "bdc"), ("adc", "abd")),  # lower biting surface
)
#: Columns 0..MIDDLE-1 use the left diagonal, the others the right one.
MIDDLE = COLUMNS // 2
#: UV grid: u across the columns, v per row (a strip at the top of FLAME's texture).
UV_U = (0.62, 0.38)
UV_V = (1.0 - 0.0083, 1.0 - 0.0425)
UV_ROW_STEPS = (3, 2, 0, 1, 3, 4, 6, 5)
NECK, JAW = 1, 2

assert len(ROWS) * COLUMNS == TEETH_VERTICES


def teeth_vertices(v_template: np.ndarray) -> np.ndarray:
    """(120, 3) teeth vertices from a FLAME template (V, 3), rows in the order of :data:`ROWS`."""
    upper = v_template[list(UPPER_LIP_RING)].astype(np.float64)
    lower = v_template[list(LOWER_LIP_RING)].astype(np.float64)
    d = np.linalg.norm(upper - lower, axis=1).mean()
    middle = (upper + lower) / 2
    middle[:, 1] = middle[:, 1].mean()
    middle[:, 2] -= 1.5 * d
    up, back = np.array([0.0, d, 0.0]), np.array([0.0, 0.0, d])
    upper_edge = middle + 0.1 * up
    upper_root = upper_edge + 2.0 * up
    lower_edge = middle - 0.1 * up - 0.4 * back
    lower_root = lower_edge - 2.0 * up
    rows = [upper_root, lower_root, upper_edge, lower_edge,
            upper_root - back, upper_edge - back, lower_root - back, lower_edge - back]
    return np.concatenate(rows)


def teeth_faces() -> np.ndarray:
    """(168, 3) triangles of the teeth, indices local to the 120 teeth vertices."""
    out = []
    for row_a, row_c, left, right in STRIPS:
        for i in range(COLUMNS - 1):
            corner = {"a": row_a * COLUMNS + i, "b": row_a * COLUMNS + i + 1,
                      "c": row_c * COLUMNS + i, "d": row_c * COLUMNS + i + 1}
            for triangle in left if i < MIDDLE else right:
                out.append([corner[k] for k in triangle])
    return np.array(out, dtype=np.int64)


def teeth_uvs() -> np.ndarray:
    """(120, 2) UV coordinates of the teeth vertices."""
    u = np.linspace(*UV_U, COLUMNS)
    v = np.linspace(*UV_V, max(UV_ROW_STEPS) + 1)[list(UV_ROW_STEPS)]
    return np.stack([np.tile(u, len(v)), np.repeat(v, COLUMNS)], axis=1)


def row_indices(rows: tuple[int, ...]) -> np.ndarray:
    """Teeth-local vertex indices of some rows, row after row."""
    return np.concatenate([np.arange(r * COLUMNS, (r + 1) * COLUMNS) for r in rows])


def check_lip_rings(model: FlameModel) -> None:
    """Raise unless both lip rings are paths along the model's edges (FLAME's topology)."""
    if model.n_added_vertices:
        raise FlameError(f"the model already has {model.n_added_vertices} added vertices (teeth)")
    if model.n_vertices <= max(UPPER_LIP_RING + LOWER_LIP_RING):
        raise FlameError(f"teeth need FLAME's mesh: the model has only {model.n_vertices} vertices")
    edges = edge_set(model.faces, model.n_vertices)
    for name, ring in (("upper", UPPER_LIP_RING), ("lower", LOWER_LIP_RING)):
        pairs = np.sort(np.array([ring[:-1], ring[1:]]).T, axis=1)
        missing = int(np.count_nonzero(~np.isin(pairs[:, 0] * model.n_vertices + pairs[:, 1], edges)))
        if missing:
            raise FlameError(
                f"teeth need FLAME's mesh: {missing} of {len(pairs)} steps of FLAME's {name} lip ring are not "
                f"edges of this model's triangles (not FLAME's topology, e.g. the demo head)"
            )


def add_teeth(model: FlameModel) -> FlameModel:
    """A copy of ``model`` (FLAME's mesh) with VHAP's 120 teeth vertices and 168 triangles appended.

    FLAME's vertex and face indices keep their meaning; landmarks are unchanged.
    """
    check_lip_rings(model)
    n, k = model.n_vertices, TEETH_VERTICES
    upper, lower = row_indices(UPPER_ROWS), row_indices(LOWER_ROWS)
    rings = [list(UPPER_LIP_RING), list(LOWER_LIP_RING)]
    shapedirs = model.shapedirs
    ring_shape = (shapedirs[rings[0]] + shapedirs[rings[1]]) / 2  # (15, 3, n_shape)
    teeth_shape = np.tile(ring_shape, (len(ROWS), 1, 1))
    weights = np.zeros((k, model.n_joints))
    weights[upper, NECK] = 1.0
    weights[lower, JAW] = 1.0
    faces = teeth_faces()

    def extend(array: np.ndarray, extra: np.ndarray) -> np.ndarray:
        return np.concatenate([array, extra.astype(array.dtype)], axis=0)

    arrays = {k_: np.ascontiguousarray(v) for k_, v in model.arrays().items()}
    arrays.pop("parents")
    arrays.update(
        v_template=extend(arrays["v_template"], teeth_vertices(model.v_template)),
        faces=extend(arrays["faces"], faces + n),
        shapedirs=extend(arrays["shapedirs"], teeth_shape),
        exprdirs=extend(arrays["exprdirs"], np.zeros((k, 3, model.n_expression))),
        posedirs=extend(arrays["posedirs"], np.zeros((k, 3, model.posedirs.shape[2]))),
        j_regressor=np.concatenate([arrays["j_regressor"], np.zeros((model.n_joints, k))], axis=1),
        weights=extend(arrays["weights"], weights),
    )
    if "eyelid_dirs" in arrays:
        arrays["eyelid_dirs"] = extend(arrays["eyelid_dirs"], np.zeros((k, 3, 2)))
    if "uv_coords" in arrays:
        n_uv = len(arrays["uv_coords"])
        arrays["uv_coords"] = extend(arrays["uv_coords"], teeth_uvs())
        arrays["uv_faces"] = extend(arrays["uv_faces"], faces + n_uv)
    masks = dict(model.masks)
    masks.update(teeth=np.concatenate([upper, lower]) + n, teeth_upper=upper + n, teeth_lower=lower + n)
    metadata = dict(model.metadata)
    metadata[ADDED_VERTICES_KEY] = str(k)
    return FlameModel(
        **arrays, parents=model.parents, masks=masks, face_masks=model.face_masks, landmarks=model.landmarks,
        metadata=metadata, source=model.source, dtype=model.dtype,
    )
