"""Triangle binding (GaussianAvatars convention): frames, bind/unbind, the bound PLY and flame_param.npz."""

from __future__ import annotations

import numpy as np
import pytest

from flame_core import FIELDS, FileFormatError, FlameError, FlameParams
from flame_core.binding import (
    SH_C0,
    bind_points,
    face_frames,
    flame_param_arrays,
    read_bound_ply,
    save_bound_points,
    unbind_points,
    write_bound_ply,
)
from flame_core.lbs import rodrigues
from flame_core.ply import read_ply
from flame_core.sampling import evaluate_samples, sample_surface
from flame_core.sequence import vhap_keys


def test_face_frame_of_a_known_triangle():
    verts = np.array([[0.0, 0, 0], [2, 0, 0], [0, 3, 0]])
    rot, size, centre = face_frames(verts, np.array([[0, 1, 2]]))
    # a0 along the first edge, a1 the face normal, a2 = -(a1 x a0) = a0 x a1.
    np.testing.assert_allclose(rot[0], [[1, 0, 0], [0, 0, -1], [0, 1, 0]], atol=1e-15)
    np.testing.assert_allclose(size, [2.5])  # (|v1 - v0| + |a2 . (v2 - v0)|) / 2 = (2 + 3) / 2
    np.testing.assert_allclose(centre[0], [2 / 3, 1, 0])


def test_face_frames_are_rotations_batched(small_model):
    rng = np.random.default_rng(0)
    verts = small_model.forward(FlameParams(jaw=rng.normal(size=(3, 3)) * 0.2)).vertices.astype(np.float64)
    rot, size, centre = face_frames(verts, small_model.faces)
    F = small_model.n_faces
    assert rot.shape == (3, F, 3, 3) and size.shape == (3, F) and centre.shape == (3, F, 3)
    np.testing.assert_allclose(rot @ np.swapaxes(rot, -1, -2), np.broadcast_to(np.eye(3), rot.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-12)
    tri = verts[:, small_model.faces]
    normal = np.cross(tri[..., 1, :] - tri[..., 0, :], tri[..., 2, :] - tri[..., 0, :])
    np.testing.assert_allclose(rot[..., :, 1], normal / np.linalg.norm(normal, axis=-1, keepdims=True), atol=1e-10)
    np.testing.assert_allclose(centre, tri.mean(axis=-2), atol=1e-15)
    single = face_frames(verts[1], small_model.faces)
    np.testing.assert_allclose(single[1], size[1])


def similarity(verts: np.ndarray) -> np.ndarray:
    return 2.5 * verts @ rodrigues(np.array([0.3, -1.1, 0.7])).T + np.array([0.4, -2.0, 1.0])


@pytest.mark.parametrize("n", [50, 5000])  # fewer and more points than faces
def test_bind_unbind_same_pose_and_similarity(small_model, n):
    verts = small_model.forward(FlameParams(expression=[0.5, -1.0])).vertices.astype(np.float64)
    faces = small_model.faces
    s = sample_surface(verts, faces, n, seed=2)
    local = bind_points(verts, faces, s.positions, s.face_index)
    np.testing.assert_allclose(unbind_points(verts, faces, s.face_index, local), s.positions, atol=1e-10)
    moved = similarity(verts)
    np.testing.assert_allclose(unbind_points(moved, faces, s.face_index, local), similarity(s.positions), atol=1e-10)
    batch = unbind_points(np.stack([verts, moved]), faces, s.face_index, local)
    assert batch.shape == (2, n, 3)
    np.testing.assert_allclose(batch[1], similarity(s.positions), atol=1e-10)
    # Points on the face have no normal component.
    assert np.abs(local[:, 1]).max() < 1e-9


def test_bound_ply_columns_and_defaults(tmp_path):
    rng = np.random.default_rng(3)
    local = rng.normal(size=(40, 3))
    fi = np.repeat([0, 5, 9], [10, 20, 10])
    path = write_bound_ply(tmp_path / "point_cloud.ply", local, fi)
    header = path.read_bytes().split(b"end_header")[0].decode().splitlines()
    names = [line.split()[2] for line in header if line.startswith("property")]
    assert all(line.split()[1] == "float" for line in header if line.startswith("property"))
    expected = (["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
                + [f"f_rest_{k}" for k in range(45)]
                + ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3", "binding_0"])
    assert names == expected
    cols = read_ply(path)
    np.testing.assert_allclose(1 / (1 + np.exp(-cols["opacity"])), 0.1, rtol=1e-6)
    np.testing.assert_array_equal(cols["rot_0"], 1.0)
    assert not np.any(cols["rot_1"]) and not np.any(cols["nx"]) and not np.any(cols["f_dc_0"])
    np.testing.assert_array_equal(cols["binding_0"], fi.astype(np.float32))
    # Twice the points on a face: smaller default scale; isotropic.
    np.testing.assert_allclose(cols["scale_0"][fi == 5] - cols["scale_0"][fi == 0][0], np.log(np.sqrt(0.5)), rtol=1e-5)
    np.testing.assert_array_equal(cols["scale_0"], cols["scale_2"])

    back, face_index, other = read_bound_ply(path)
    np.testing.assert_array_equal(back, local.astype(np.float32))
    np.testing.assert_array_equal(face_index, fi)
    assert "opacity" in other and "x" not in other and "binding_0" not in other


def test_bound_ply_given_values_and_degree(tmp_path):
    n = 5
    colors = np.array([[1.0, 0.5, 0.0]] * n)
    rot = np.tile([0.0, 1.0, 0.0, 0.0], (n, 1))
    path = write_bound_ply(tmp_path / "p.ply", np.zeros((n, 3)), np.arange(n), colors=colors, rotations=rot,
                           scales=np.full((n, 3), -2.0), opacity=np.zeros(n), sh_degree=1)
    cols = read_ply(path)
    assert sum(name.startswith("f_rest_") for name in cols) == 9
    np.testing.assert_allclose(0.5 + SH_C0 * cols["f_dc_0"], 1.0, rtol=1e-6)
    np.testing.assert_allclose(0.5 + SH_C0 * cols["f_dc_2"], 0.0, atol=1e-6)
    np.testing.assert_array_equal(cols["rot_1"], 1.0)
    np.testing.assert_array_equal(cols["scale_1"], -2.0)
    with pytest.raises(FlameError):
        write_bound_ply(tmp_path / "q.ply", np.zeros((n, 3)), np.arange(n), colors=colors, f_dc=np.zeros((n, 3)))
    with pytest.raises(FlameError):
        write_bound_ply(tmp_path / "q.ply", np.zeros((n, 3)), np.arange(n), scales=np.zeros((n, 2)))


def test_read_bound_ply_rejects_other_files(tmp_path):
    from flame_core.ply import write_ply

    plain = write_ply(tmp_path / "plain.ply", np.zeros((3, 3)))
    with pytest.raises(FileFormatError, match="binding_0"):
        read_bound_ply(plain)
    bad = write_ply(tmp_path / "bad.ply", np.zeros((3, 3)), extra={"binding_0": np.array([0.0, 1.5, 2.0])})
    with pytest.raises(FileFormatError, match="binding_0"):
        read_bound_ply(bad)


def test_key_mapping_covers_every_field():
    keys = [vhap_keys()[f.name] for f in FIELDS]
    assert keys == ["shape", "expr", "rotation", "neck_pose", "jaw_pose", "eyes_pose", "translation", "eyelid_params"]


def test_flame_param_arrays_layout():
    single = flame_param_arrays(FlameParams(expression=[1.0, 2.0], jaw=[0.1, 0, 0]), offset_vertices=None)
    assert single["shape"].shape == (300,) and single["expr"].shape == (1, 100)
    assert single["jaw_pose"].shape == (1, 3) and single["eyes_pose"].shape == (1, 6)
    assert all(v.dtype == np.float32 for v in single.values())
    assert "static_offset" not in single
    seq = flame_param_arrays(FlameParams(shape=np.ones(10), translation=np.zeros((7, 3))), offset_vertices=5143)
    assert seq["expr"].shape == (7, 100) and seq["translation"].shape == (7, 3)
    assert seq["static_offset"].shape == (1, 5143, 3) and seq["dynamic_offset"].shape == (7, 5143, 3)
    np.testing.assert_array_equal(seq["shape"][:10], 1.0)


def test_save_sample_bind_read_unbind(tmp_path, small_model):
    rng = np.random.default_rng(4)
    params = FlameParams(shape=rng.normal(size=20), expression=rng.normal(size=10), jaw=[0.15, 0.0, 0.0])
    verts = small_model.forward(params).vertices.astype(np.float64)
    faces = small_model.faces
    s = sample_surface(verts, faces, 4000, seed=8)
    ply_path, npz_path = save_bound_points(tmp_path / "out" / "point_cloud.ply", s, verts, faces, params)
    assert npz_path == ply_path.parent / "flame_param.npz"
    with np.load(npz_path) as npz:
        assert set(npz.files) >= {"shape", "expr", "rotation", "neck_pose", "jaw_pose", "eyes_pose", "translation"}
        np.testing.assert_allclose(npz["jaw_pose"], [[0.15, 0, 0]], rtol=1e-6)
        np.testing.assert_allclose(npz["expr"][0, :10], params.expression, rtol=1e-6)

    local, fi, other = read_bound_ply(ply_path)
    np.testing.assert_array_equal(fi, s.face_index)
    # Same pose: the points come back where they were sampled (float32 storage).
    np.testing.assert_allclose(unbind_points(verts, faces, fi, local), s.positions, atol=1e-6)
    # A similarity transform of the whole mesh moves them exactly with it.
    np.testing.assert_allclose(unbind_points(similarity(verts), faces, fi, local), similarity(s.positions),
                               atol=1e-5)
    # A non-rigid pose: rigid-per-face binding differs from the barycentric point, but stays near it.
    other_pose = small_model.forward(params.replace(jaw=[0.25, 0.0, 0.0])).vertices.astype(np.float64)
    bound = unbind_points(other_pose, faces, fi, local)
    on_surface, _ = evaluate_samples(other_pose, faces, s.face_index, s.barycentric)
    _, sizes, _ = face_frames(other_pose, faces)
    gap = np.linalg.norm(bound - on_surface, axis=1) / sizes[fi]
    assert np.median(gap) < 0.05 and gap.max() < 0.5
    assert gap.max() > 1e-6  # it is a different mapping, not the barycentric one
    # World scale = exp(scale) * face size = the mean sample spacing.
    _, rest_sizes, _ = face_frames(verts, faces)
    world = np.exp(other["scale_0"]) * rest_sizes[fi]
    np.testing.assert_allclose(world, world[0], rtol=1e-5)


def test_save_without_params(tmp_path):
    verts = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    s = sample_surface(verts, np.array([[0, 1, 2]]), 10, seed=0)
    ply_path, npz_path = save_bound_points(tmp_path / "pc.ply", s, verts, np.array([[0, 1, 2]]))
    assert npz_path is None and not (tmp_path / "flame_param.npz").exists()
    assert read_bound_ply(ply_path)[0].shape == (10, 3)
