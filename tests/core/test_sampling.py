"""Surface sampling: points on their faces, area-proportional, deterministic, re-posable, blue noise."""

from __future__ import annotations

import numpy as np
import pytest

from flame_core import FlameError, FlameParams
from flame_core.sampling import SurfaceSamples, evaluate_samples, region_face_mask, sample_surface


def grid(nx: int = 8, ny: int = 6, size: tuple[float, float] = (2.0, 1.0), origin=(0.0, 0.0)):
    """A flat z = 0 grid of (nx x ny) quads split into triangles, counter-clockwise seen from +z."""
    xs = np.linspace(0, size[0], nx + 1) + origin[0]
    ys = np.linspace(0, size[1], ny + 1) + origin[1]
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    verts = np.stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)], axis=1)
    idx = np.arange(verts.shape[0]).reshape(nx + 1, ny + 1)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
    faces = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
    return verts, faces


def unequal_triangles(n_faces: int = 24, seed: int = 3):
    """Separate triangles whose areas span four orders of magnitude."""
    rng = np.random.default_rng(seed)
    corners = rng.normal(size=(n_faces, 3, 3)) * np.geomspace(0.01, 1.0, n_faces)[:, None, None]
    corners += np.arange(n_faces)[:, None, None] * 3.0
    return corners.reshape(-1, 3), np.arange(3 * n_faces).reshape(n_faces, 3)


def corners_of(verts, faces, s: SurfaceSamples):
    return verts[faces[s.face_index]]  # (n, 3 corners, 3)


def test_points_lie_on_their_triangles():
    verts, faces = unequal_triangles()
    s = sample_surface(verts, faces, 5000, seed=1)
    assert isinstance(s, SurfaceSamples) and len(s) == 5000
    assert s.positions.shape == s.normals.shape == s.barycentric.shape == (5000, 3)
    assert np.issubdtype(s.face_index.dtype, np.integer)
    assert np.all(s.barycentric >= -1e-12) and np.all(s.barycentric <= 1 + 1e-12)
    np.testing.assert_allclose(s.barycentric.sum(axis=1), 1.0, atol=1e-12)
    tri = corners_of(verts, faces, s)
    np.testing.assert_allclose(np.einsum("nk,nkj->nj", s.barycentric, tri), s.positions, atol=1e-12)
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    plane_distance = np.einsum("ij,ij->i", s.positions - tri[:, 0], normal)
    assert np.abs(plane_distance).max() < 1e-12


def test_face_frequency_is_proportional_to_area():
    verts, faces = unequal_triangles()
    n = 200_000
    s = sample_surface(verts, faces, n, seed=7)
    cross = np.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]])
    area = 0.5 * np.linalg.norm(cross, axis=1)
    expected = n * area / area.sum()
    observed = np.bincount(s.face_index, minlength=len(faces))
    dof = len(faces) - 1
    chi2 = np.sum((observed - expected) ** 2 / expected)
    assert chi2 < dof + 6 * np.sqrt(2 * dof)
    uniform = np.full(len(faces), n / len(faces))
    assert np.sum((observed - uniform) ** 2 / uniform) > 100 * dof  # the test can tell area weighting apart


def test_uniform_inside_a_triangle():
    verts = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    s = sample_surface(verts, np.array([[0, 1, 2]]), 100_000, seed=2)
    # Uniform in the triangle x, y >= 0, x + y <= 1: E[x] = E[y] = 1/3 and P(x + y < 1/2) = 1/4.
    np.testing.assert_allclose(s.positions[:, :2].mean(axis=0), 1 / 3, atol=5e-3)
    assert abs(np.mean(s.positions[:, :2].sum(axis=1) < 0.5) - 0.25) < 5e-3


def test_seed_determinism():
    verts, faces = grid()
    a = sample_surface(verts, faces, 1000, seed=11)
    b = sample_surface(verts, faces, 1000, seed=11)
    c = sample_surface(verts, faces, 1000, seed=12)
    for name in ("positions", "normals", "face_index", "barycentric"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.allclose(a.positions, c.positions)


def test_float32_input_gives_float32_output():
    verts, faces = grid()
    s = sample_surface(verts.astype(np.float32), faces, 100, seed=0)
    assert s.positions.dtype == s.normals.dtype == s.barycentric.dtype == np.float32
    assert s.positions.flags.c_contiguous and s.normals.flags.c_contiguous


def test_normals_on_flat_mesh_match_face_normal():
    verts, faces = grid()
    s = sample_surface(verts, faces, 2000, seed=4)
    np.testing.assert_allclose(s.normals, np.tile([0.0, 0.0, 1.0], (2000, 1)), atol=1e-12)


def test_normals_are_unit_and_smooth_on_a_sphere():
    rng = np.random.default_rng(0)
    # A convex hull-like closed surface: project a subdivided octahedron onto the unit sphere.
    verts, faces = octasphere(4)
    s = sample_surface(verts, faces, 5000, seed=rng)
    np.testing.assert_allclose(np.linalg.norm(s.normals, axis=1), 1.0, atol=1e-12)
    radial = s.positions / np.linalg.norm(s.positions, axis=1, keepdims=True)
    assert np.einsum("ij,ij->i", s.normals, radial).min() > 0.99


def octasphere(levels: int):
    """Octahedron subdivided ``levels`` times (vectorised) and projected to the unit sphere."""
    verts = np.array([[1.0, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]])
    faces = np.array([[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]])
    for _ in range(levels):
        edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
        unique, inverse = np.unique(edges, axis=0, return_inverse=True)
        mids = len(verts) + inverse.reshape(3, -1).T  # midpoints of edges 01, 12, 20
        verts = np.concatenate([verts, verts[unique].mean(axis=1)])
        a, b, c = faces.T
        ab, bc, ca = mids.T
        faces = np.concatenate([np.stack(t, 1) for t in ((a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca))])
    return verts / np.linalg.norm(verts, axis=1, keepdims=True), faces


def test_evaluate_samples_follows_a_new_pose(small_model):
    rest = small_model.forward(FlameParams()).vertices
    faces = small_model.faces
    s = sample_surface(rest, faces, 3000, seed=5)
    pos, nrm = evaluate_samples(rest, faces, s.face_index, s.barycentric)
    np.testing.assert_allclose(pos, s.positions, atol=1e-12)
    np.testing.assert_allclose(nrm, s.normals, atol=1e-12)

    rng = np.random.default_rng(1)
    params = FlameParams(expression=rng.normal(size=(4, 10)), jaw=rng.normal(size=(4, 3)) * 0.2)
    posed = small_model.forward(params).vertices  # (4, V, 3)
    pos, nrm = evaluate_samples(posed, faces, s.face_index, s.barycentric)
    assert pos.shape == nrm.shape == (4, 3000, 3)
    for frame in range(4):
        tri = posed[frame][faces[s.face_index]]
        np.testing.assert_allclose(pos[frame], np.einsum("nk,nkj->nj", s.barycentric, tri), atol=1e-12)
        # Sampling the posed frame with the same seed picks the same faces and barycentrics.
        direct = sample_surface(posed[frame], faces, 3000, seed=5)
        if np.array_equal(direct.face_index, s.face_index):
            np.testing.assert_allclose(pos[frame], direct.positions, atol=1e-12)
            np.testing.assert_allclose(nrm[frame], direct.normals, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(nrm, axis=-1), 1.0, atol=1e-12)
    positions_only, none = evaluate_samples(posed, faces, s.face_index, s.barycentric, normals=False)
    assert none is None
    np.testing.assert_array_equal(positions_only, pos)


def test_region_filter_by_vertices_and_by_faces():
    verts, faces = grid(10, 10, (1.0, 1.0))
    region = np.flatnonzero(verts[:, 0] <= 0.5 + 1e-9)
    s = sample_surface(verts, faces, 4000, seed=0, region=region)
    inside = np.isin(faces[s.face_index], region)
    assert inside.all()
    assert s.positions[:, 0].max() <= 0.5 + 1e-12
    assert np.unique(s.face_index).size == np.count_nonzero(region_face_mask(faces, region, len(verts)))

    face_mask = np.zeros(len(faces), dtype=bool)
    face_mask[[3, 50, 77]] = True
    s = sample_surface(verts, faces, 600, seed=0, region=face_mask)
    assert set(np.unique(s.face_index)) == {3, 50, 77}

    with pytest.raises(FlameError):
        sample_surface(verts, faces, 10, region=np.array([0]))  # no face has all three corners in it
    with pytest.raises(FlameError):
        sample_surface(verts, faces, 10, region=np.ones(7, dtype=bool))


def test_face_weights_scale_density():
    verts, faces = grid(2, 1, (2.0, 1.0))  # four equal triangles
    weights = np.array([0.0, 1.0, 3.0, 0.0])
    s = sample_surface(verts, faces, 40_000, seed=1, face_weights=weights)
    counts = np.bincount(s.face_index, minlength=4)
    assert counts[0] == counts[3] == 0
    assert abs(counts[2] / counts[1] - 3.0) < 0.15


def test_vertex_colors_are_interpolated():
    verts, faces = grid()
    colors = np.stack([verts[:, 0] / 2, verts[:, 1], np.ones(len(verts))], axis=1)
    s = sample_surface(verts, faces, 500, seed=0, vertex_colors=colors)
    np.testing.assert_allclose(s.colors[:, 0], s.positions[:, 0] / 2, atol=1e-12)
    np.testing.assert_allclose(s.colors[:, 1], s.positions[:, 1], atol=1e-12)
    s8 = sample_surface(verts, faces, 500, seed=0, vertex_colors=np.full((len(verts), 3), 255, np.uint8))
    np.testing.assert_allclose(s8.colors, 1.0)


def pairwise_min(points: np.ndarray) -> float:
    d = np.linalg.norm(points[:, None] - points[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    return float(d.min())


@pytest.mark.parametrize("n", [300, 5000])
def test_min_distance_is_respected(n):
    verts, faces = octasphere(3)
    radius = 0.1
    s = sample_surface(verts, faces, n, seed=3, min_distance=radius)
    assert 0 < len(s) <= n
    assert pairwise_min(s.positions) >= radius * (1 - 1e-9)
    tri = corners_of(verts, faces, s)
    np.testing.assert_allclose(np.einsum("nk,nkj->nj", s.barycentric, tri), s.positions, atol=1e-12)
    np.testing.assert_array_equal(np.sort(s.face_index), s.face_index)
    if n == 5000:
        # The sphere (area 4 pi) is filled: close to the jamming density of random disks.
        assert len(s) > 0.5 * 0.7 * 4 * np.pi / radius**2


def test_min_distance_coverage_stays_area_proportional():
    small_v, small_f = grid(6, 6, (1.0, 1.0))
    big_v, big_f = grid(12, 12, (2.0, 2.0), origin=(5.0, 0.0))
    verts = np.concatenate([small_v, big_v])
    faces = np.concatenate([small_f, big_f + len(small_v)])
    s = sample_surface(verts, faces, 100_000, seed=9, min_distance=0.05)
    in_small = s.positions[:, 0] < 2.5
    ratio = np.count_nonzero(~in_small) / np.count_nonzero(in_small)
    assert abs(ratio - 4.0) < 0.4
    assert pairwise_min(s.positions[in_small]) >= 0.05 * (1 - 1e-9)
    # Even coverage: every 0.25 x 0.25 square of the small sheet holds a similar count.
    cells = np.floor(s.positions[in_small, :2] / 0.25).astype(int)
    counts = np.bincount(cells[:, 0] * 4 + cells[:, 1], minlength=16)
    assert counts.min() > 0.7 * counts.mean()


def test_bad_arguments():
    verts, faces = grid()
    with pytest.raises(FlameError):
        sample_surface(verts, faces, -1)
    with pytest.raises(FlameError):
        sample_surface(verts, faces + 1000, 10)
    with pytest.raises(FlameError):
        sample_surface(verts[:, :2], faces, 10)
    with pytest.raises(FlameError):
        sample_surface(verts, faces, 10, face_weights=np.ones(3))
    with pytest.raises(FlameError):
        sample_surface(verts, faces, 10, min_distance=0.0)
    with pytest.raises(FlameError):
        evaluate_samples(verts, faces, np.array([len(faces)]), np.array([[1.0, 0, 0]]))
    assert len(sample_surface(verts, faces, 0, seed=0)) == 0
