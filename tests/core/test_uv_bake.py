"""UV-space normal baking: texel placement, interpolation, conventions, padding and input errors."""

from __future__ import annotations

import numpy as np
import pytest

from flame_core import FlameError
from flame_core.render import convention_matrix
from flame_core.uv_bake import render_uv_normal_map

# Two triangles of a bent quad (so the vertex normals differ), each with its own UV island.
VERTS = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.3], [0.0, 1.0, 0.6]])
FACES = np.array([[0, 1, 2], [0, 2, 3]])
UVS = np.array([[0.05, 0.55], [0.45, 0.55], [0.45, 0.95], [0.55, 0.05], [0.95, 0.45], [0.55, 0.45]])
UV_FACES = np.array([[0, 1, 2], [3, 4, 5]])


def _texel_centres(w, h):
    rows, cols = np.mgrid[0:h, 0:w]
    return np.stack([(cols + 0.5) / w, 1.0 - (rows + 0.5) / h], -1)  # (H, W, 2) UV of each texel centre


def _expected(normals, size):
    """Reference: barycentrics of each texel centre in each UV triangle, computed directly."""
    w, h = size
    uv = _texel_centres(w, h).reshape(-1, 2)
    out = np.zeros((uv.shape[0], 3))
    inside_any = np.zeros(uv.shape[0], bool)
    for f in range(2):
        a, b, c = UVS[UV_FACES[f]]
        m = np.array([b - a, c - a]).T
        l12 = np.linalg.solve(m, (uv - a).T).T
        bary = np.column_stack([1 - l12.sum(1), l12])
        inside = np.all(bary > 1e-6, axis=1)
        n = bary @ normals[FACES[f]]
        out[inside] = n[inside] / np.linalg.norm(n[inside], axis=1, keepdims=True)
        inside_any |= inside
    return out.reshape(h, w, 3), inside_any.reshape(h, w)


def test_texels_get_the_interpolated_normals():
    rng = np.random.default_rng(0)
    normals = rng.normal(size=(4, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    normals[:, 2] = np.abs(normals[:, 2]) + 0.5  # keep the blends away from zero length
    size = (40, 32)
    nm = render_uv_normal_map(VERTS, FACES, UVS, UV_FACES, size, normals=normals, padding=0)
    expected, inside = _expected(normals, size)
    assert nm.image.shape == (32, 40, 4) and nm.space == "uv"
    assert np.array_equal(nm.mask[inside], np.ones(inside.sum(), bool))  # strictly inside -> covered
    assert nm.mask.sum() <= inside.sum() + 2 * (32 + 40)  # edge texels only beyond that
    np.testing.assert_allclose(nm.normals[inside], expected[inside], atol=1e-5)
    np.testing.assert_allclose(nm.image[inside, :3], expected[inside] * 0.5 + 0.5, atol=1e-5)
    assert np.all(nm.image[~nm.mask] == 0)


def test_islands_land_where_their_uvs_are():
    nm = render_uv_normal_map(VERTS, FACES, UVS, UV_FACES, 64, padding=0)
    face = nm.face_index
    # Face 0 lies in u < 0.5, v > 0.5: the image's top-left quarter (row 0 is v = 1); face 1 bottom-right.
    assert np.all(np.isin(face[:32, :32], [-1, 0])) and (face[:32, :32] == 0).sum() > 100
    assert np.all(np.isin(face[32:, 32:], [-1, 1])) and (face[32:, 32:] == 1).sum() > 100
    assert np.all(face[:32, 32:] == -1) and np.all(face[32:, :32] == -1)


def test_default_normals_are_the_mesh_vertex_normals_and_conventions_turn_them():
    flat = VERTS.copy()
    flat[:, 2] = 0.0  # a flat quad facing +Z
    nm = render_uv_normal_map(flat, FACES, UVS, UV_FACES, 32, padding=0)
    np.testing.assert_allclose(nm.normals[nm.mask], np.tile([0.0, 0.0, 1.0], (nm.mask.sum(), 1)), atol=1e-6)
    turned = render_uv_normal_map(flat, FACES, UVS, UV_FACES, 32, padding=0, convention="blender")
    matrix, _ = convention_matrix("world", "blender")
    np.testing.assert_allclose(turned.normals[turned.mask], np.tile(matrix @ [0, 0, 1.0], (nm.mask.sum(), 1)),
                               atol=1e-6)
    assert turned.convention == "blender"


def test_padding_fills_a_border_around_islands():
    plain = render_uv_normal_map(VERTS, FACES, UVS, UV_FACES, 64, padding=0)
    padded = render_uv_normal_map(VERTS, FACES, UVS, UV_FACES, 64, padding=3)
    assert np.array_equal(padded.mask, plain.mask)  # the mask is the coverage before padding
    np.testing.assert_array_equal(padded.image[plain.mask], plain.image[plain.mask])
    filled = padded.image[..., 3] > 0
    grown = filled & ~plain.mask
    assert grown.sum() > 0
    # Every filled texel is within 3 texels (Chebyshev) of coverage, and every texel that close is filled.
    rows, cols = np.nonzero(plain.mask)
    r, c = np.mgrid[0:64, 0:64]
    dist = np.full((64, 64), np.inf)
    for y, x in zip(rows, cols):
        dist = np.minimum(dist, np.maximum(np.abs(r - y), np.abs(c - x)))
    assert np.all(dist[filled] <= 3) and np.all(filled[dist <= 3])
    assert np.all(padded.image[grown, 3] == 1.0)
    np.testing.assert_allclose(np.linalg.norm(padded.normals[grown], axis=-1), 1.0, atol=1e-5)
    # A padded texel next to an island copies the normal of its covered neighbours (here all nearly equal).
    assert np.all(np.abs(padded.image[grown, :3] - 0.5) <= 0.5)


def test_supersampling_gives_fractional_alpha_on_edges():
    nm = render_uv_normal_map(VERTS, FACES, UVS, UV_FACES, 32, samples=4, padding=0)
    alpha = nm.image[..., 3]
    assert np.any((alpha > 0) & (alpha < 1)) and alpha.max() == 1.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"uv_faces": UV_FACES[:1]},
        {"uv_coords": UVS[:, :1]},
        {"uv_faces": UV_FACES + 10},
        {"size": (0, 8)},
        {"padding": -1},
        {"samples": 3},
        {"convention": "opengl"},
    ],
)
def test_bad_input_raises_flame_error(kwargs):
    args = {"vertices": VERTS, "faces": FACES, "uv_coords": UVS, "uv_faces": UV_FACES, "size": 16}
    args.update(kwargs)
    with pytest.raises(FlameError):
        render_uv_normal_map(**args)
