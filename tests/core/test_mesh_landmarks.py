"""Vertex normals, face areas, and landmark evaluation with the yaw-dependent contour."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_arrays

from flame_core import FlameModel, FlameParams, LandmarkEmbedding, face_areas, vertex_normals
from flame_core.landmarks import barycentric_points, contour_rows
from flame_core.lbs import rodrigues


def test_vertex_normals_are_area_weighted() -> None:
    # Vertex 0 is shared by a big face in the z=0 plane and a small face in the x=0 plane.
    vertices = np.array([[0, 0, 0], [2, 0, 0], [0, 2, 0], [0, 0.0, 0.5], [0, 0.5, 0]], dtype=float)
    faces = np.array([[0, 1, 2], [0, 3, 4]])
    n = vertex_normals(vertices, faces)
    big, small = np.array([0, 0, 1.0]) * 4.0, np.array([-1.0, 0, 0]) * 0.25  # cross products: 2 x area
    expected = (big + small) / np.linalg.norm(big + small)
    np.testing.assert_allclose(n[0], expected, atol=1e-12)
    np.testing.assert_allclose(n[1], [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(face_areas(vertices, faces), [2.0, 0.125])


def test_vertex_normals_batched_and_unused_vertices() -> None:
    rng = np.random.default_rng(0)
    vertices = rng.normal(size=(4, 30, 3))
    faces = np.stack([rng.permutation(29)[:3] for _ in range(40)])  # vertex 29 is on no face
    batched = vertex_normals(vertices, faces)
    assert batched.shape == (4, 30, 3)
    for i in range(4):
        np.testing.assert_allclose(batched[i], vertex_normals(vertices[i], faces), atol=1e-12)
    np.testing.assert_array_equal(batched[:, 29], 0.0)
    used = np.linalg.norm(batched[:, :29], axis=-1)
    np.testing.assert_allclose(used[used > 0], 1.0, atol=1e-12)


def test_vertex_normals_point_out_of_a_sphere() -> None:
    lat, lon = np.meshgrid(np.linspace(0.2, np.pi - 0.2, 12), np.linspace(0, 2 * np.pi, 24, endpoint=False))
    points = np.stack([np.sin(lat) * np.cos(lon), np.sin(lat) * np.sin(lon), np.cos(lat)], -1).reshape(-1, 3)
    ring = 12
    faces = []
    for j in range(24):
        for i in range(ring - 1):
            a, b = j * ring + i, ((j + 1) % 24) * ring + i
            faces += [[a, a + 1, b], [b, a + 1, b + 1]]  # counter-clockwise seen from outside
    n = vertex_normals(points, np.array(faces))
    assert np.all(np.einsum("vd,vd->v", n, points) > 0.9)


def rot_y(degrees: float) -> list[float]:
    return [0.0, np.radians(degrees), 0.0]


@pytest.mark.parametrize(
    ("global_deg", "neck_deg", "row"),
    [
        (0, 0, 0),
        (-20, 0, 20),  # turned to the subject's right: yaw +20 degrees -> row 20
        (20, 0, 59),  # the other way: yaw -20 -> rows 40.. hold -1..-39
        (10, 15, 64),  # neck and global compose: -25 degrees
        (-60, 0, 39),  # clamped at +39
        (60, 0, 78),  # clamped at -39
        (-39.4, 0, 39),
        (0.4, 0, 0),  # rounds to 0
    ],
)
def test_contour_rows_follow_the_head_yaw(global_deg: float, neck_deg: float, row: int) -> None:
    rotations = rodrigues(np.array([rot_y(global_deg), rot_y(neck_deg)]))
    assert int(contour_rows(rotations[None])[0]) == row


def embedding_with_contour(n_faces: int, rng: np.random.Generator) -> LandmarkEmbedding:
    bary = rng.random((79, 17, 3))
    static_bary = rng.random((5, 3))
    return LandmarkEmbedding(
        face_index=rng.integers(0, n_faces, 5),
        barycentric=static_bary / static_bary.sum(1, keepdims=True),
        contour_face_index=rng.integers(0, n_faces, (79, 17)),
        contour_barycentric=bary / bary.sum(-1, keepdims=True),
    )


def test_forward_landmarks_pick_the_contour_row_of_each_frame() -> None:
    rng = np.random.default_rng(1)
    arrays = random_arrays(seed=2)
    embedding = embedding_with_contour(len(arrays["faces"]), rng)
    model = FlameModel(**arrays, landmarks=embedding, dtype=np.float64)
    yaws = np.array([0.0, 20.0, -20.0, 50.0])
    params = FlameParams(rotation=np.stack([rot_y(y) for y in yaws]), jaw=np.full((4, 3), 0.1))
    out = model.forward(params)
    assert out.landmarks is not None and out.landmarks.shape == (4, 22, 3)
    for i, row in enumerate([0, 59, 20, 78]):
        faces = model.faces[embedding.contour_face_index[row]]
        contour = barycentric_points(out.vertices[i], faces, embedding.contour_barycentric[row])
        np.testing.assert_allclose(out.landmarks[i, :17], contour, atol=1e-12)
        static = barycentric_points(out.vertices[i], model.faces[embedding.face_index], embedding.barycentric)
        np.testing.assert_allclose(out.landmarks[i, 17:], static, atol=1e-12)
        single = model.forward(params[i]).landmarks
        np.testing.assert_allclose(single, out.landmarks[i], atol=1e-12)
    mesh_only = model.forward(params, landmarks=False)  # skipped where only the mesh is wanted
    assert mesh_only.landmarks is None
    np.testing.assert_array_equal(mesh_only.vertices, out.vertices)


def test_landmark_faces_are_checked_against_the_mesh() -> None:
    arrays = random_arrays(seed=3)
    embedding = embedding_with_contour(len(arrays["faces"]) + 50, np.random.default_rng(4))
    with pytest.raises(ValueError, match="face index out of range"):
        FlameModel(**arrays, landmarks=embedding)


def test_vertex_count_check_names_the_mesh_and_the_way_out() -> None:
    from flame_core import MeshMismatchError
    from flame_core.mesh import check_vertex_count

    check_vertex_count("Head", 5023, 5023)
    with pytest.raises(MeshMismatchError, match=r"no longer has the model's 5023 vertices \(it has 20092\)") as info:
        check_vertex_count("Head", 5023, 20092)
    assert "Rebuild Mesh" in str(info.value) and info.value.found == 20092
