"""Object-space normal maps baked into a mesh's UV layout (texture space), with gutter padding.

Each texel of the (width x height) image is sampled at its centre; texel row 0 is the top of the image, i.e.
UV ``v = 1`` (as image files store it), column 0 is ``u = 0``. A texel inside a UV triangle gets the mesh's
smooth (area-weighted) vertex normal interpolated at that point of the triangle and renormalised, in the
mesh's own axes or turned by a convention (see :mod:`flame_core.render`: ``flame``, ``blender`` or a 3x3
matrix), encoded ``n * 0.5 + 0.5``. The UV triangles are rasterised by :func:`flame_core.raster.rasterize`
as a flat mesh at depth 1 seen by a camera whose image plane is the UV square, so coverage rules, barycentrics
and supersampling are the renderer's.

``padding`` texels around the islands are filled by repeated dilation (each step gives an empty texel the
renormalised mean of its covered 8-neighbours), so texture filtering and mip-mapping near seams do not pull in
the background.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .camera import Camera
from .errors import FlameError
from .mesh import vertex_normals
from .render import Background, NormalMap, convention_matrix, render_normal_map


def uv_camera(size: Sequence[int]) -> Camera:
    """The camera that maps a point ``(u, 1 - v, 1)`` to texel coordinates of a (width, height) image."""
    w, h = int(size[0]), int(size[1])
    if w <= 0 or h <= 0:
        raise FlameError(f"size: expected (width, height) > 0, found {tuple(size)}")
    return Camera(float(w), float(h), 0.0, 0.0, w, h, near=0.5)


def render_uv_normal_map(
    vertices: np.ndarray,
    faces: np.ndarray,
    uv_coords: np.ndarray,
    uv_faces: np.ndarray,
    size: int | Sequence[int] = 1024,
    *,
    convention: str | np.ndarray | None = None,
    samples: int = 1,
    padding: int = 4,
    background: Background = None,
    normals: np.ndarray | None = None,
) -> NormalMap:
    """Bake the smooth normals of a mesh (vertices (V, 3), faces (F, 3)) into its UV layout.

    ``uv_coords`` (Vt, 2) and ``uv_faces`` (F, 3) give each face corner's texture coordinate (corner k of
    ``uv_faces[f]`` belongs to corner k of ``faces[f]``). ``size`` is an int (square) or (width, height).
    ``convention`` a world-space convention name of :func:`flame_core.render.convention_matrix` or a 3x3 matrix
    applied to the normals (default: the mesh's own axes). ``samples`` (1, 4, 9 ...) per texel, averaged;
    alpha is the covered fraction of the samples, then 1 on padded texels. ``background`` as in
    :func:`flame_core.render.render_normal_map` (default: transparent, RGB 0). ``normals`` (V, 3) overrides
    the vertex normals. Returns a :class:`~flame_core.render.NormalMap` with ``space == "uv"``: ``mask`` is
    the coverage before padding, ``face_index`` the face per texel (-1 outside), ``depth`` 1 on covered texels.
    """
    verts = np.asarray(vertices, dtype=np.float64)
    tris = np.asarray(faces)
    uv = np.asarray(uv_coords, dtype=np.float64)
    uv_tris = np.asarray(uv_faces)
    if verts.ndim != 2 or verts.shape[1] != 3 or tris.ndim != 2 or tris.shape[1] != 3:
        raise FlameError(f"expected vertices (V, 3) and faces (F, 3), found {verts.shape} and {tris.shape}")
    if uv.ndim != 2 or uv.shape[1] != 2 or uv_tris.shape != tris.shape:
        raise FlameError(f"expected uv_coords (Vt, 2) and uv_faces {tris.shape}, found {uv.shape} and {uv_tris.shape}")
    for name, index, count in (("faces", tris, verts.shape[0]), ("uv_faces", uv_tris, uv.shape[0])):
        if not np.issubdtype(index.dtype, np.integer) or (index.size and (index.min() < 0 or index.max() >= count)):
            raise FlameError(f"{name}: expected integer indices in [0, {count})")
    if not isinstance(padding, int | np.integer) or padding < 0:
        raise FlameError(f"padding: expected a non-negative integer, found {padding!r}")
    w, h = (int(size), int(size)) if isinstance(size, int | np.integer) else (int(size[0]), int(size[1]))
    camera = uv_camera((w, h))
    if normals is None:
        normals = vertex_normals(verts, tris.astype(np.intp))
    normals = np.asarray(normals, dtype=np.float64)
    if normals.shape != verts.shape:
        raise FlameError(f"normals: expected shape {verts.shape} like the vertices, found {normals.shape}")
    matrix, name = convention_matrix("world", convention)
    # One flat vertex per face corner: (u, 1 - v, 1) with that corner's mesh normal.
    corner_uv = uv[uv_tris].reshape(-1, 2)
    flat = np.column_stack([corner_uv[:, 0], 1.0 - corner_uv[:, 1], np.ones(corner_uv.shape[0])])
    corner_faces = np.arange(flat.shape[0], dtype=np.int64).reshape(-1, 3)
    corner_normals = normals[tris].reshape(-1, 3)
    baked = render_normal_map(
        flat, corner_faces, camera, space="world", convention=matrix, samples=samples,
        background=background, normals=corner_normals,
    )  # fmt: skip
    image = baked.image.copy()
    unit = baked.normals.copy()
    if padding:
        valid = _dilate(unit, baked.mask, padding)
        grown = valid & ~baked.mask
        image[grown, :3] = unit[grown] * np.float32(0.5) + np.float32(0.5)
        image[grown, 3] = 1.0
    return NormalMap(
        image=image, normals=unit, depth=baked.depth, face_index=baked.face_index, mask=baked.mask,
        space="uv", convention=name,
    )  # fmt: skip


def _dilate(normals: np.ndarray, mask: np.ndarray, steps: int) -> np.ndarray:
    """Grow unit normals (H, W, 3) from ``mask`` outwards by ``steps`` texels, in place; returns the new mask."""
    h, w = mask.shape
    valid = mask.copy()
    offsets = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
    for _ in range(steps):
        padded_n = np.pad(normals * valid[..., None], ((1, 1), (1, 1), (0, 0)))
        padded_v = np.pad(valid, 1)
        total = np.zeros_like(normals)
        count = np.zeros(mask.shape, dtype=np.int32)
        for dy, dx in offsets:
            total += padded_n[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
            count += padded_v[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
        length = np.linalg.norm(total, axis=-1)
        new = ~valid & (count > 0) & (length > 0)
        if not new.any():
            break
        normals[new] = total[new] / length[new, None]
        valid |= new
    return valid
