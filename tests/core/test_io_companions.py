"""Landmark embeddings, UV layouts and masks: every official layout, attached to a model."""

from __future__ import annotations

import numpy as np
import pytest
import synthetic as syn

import flame_core
from flame_core.io import load_landmarks, load_masks, load_uvs
from flame_core.landmarks import barycentric_points


@pytest.fixture
def files(tmp_path):
    return syn.write_all(tmp_path / "flame", n_verts=60, n_faces=100, seed=21)


def test_static_embedding(files):
    lmk = load_landmarks(files["static"])
    expected = syn.static_embedding(100, seed=21, faces=files["raw"]["f"].astype(np.int64))
    assert np.array_equal(lmk.face_index, expected["lmk_face_idx"])
    assert np.array_equal(lmk.barycentric, expected["lmk_b_coords"])
    assert lmk.count == 51 and not lmk.has_contour and lmk.face_index.dtype == np.int64
    np.testing.assert_allclose(lmk.barycentric.sum(axis=1), 1.0)


@pytest.mark.parametrize("modern", [False, True])
def test_dynamic_embedding_old_and_new_npy(tmp_path, modern):
    path = syn.write_dynamic_embedding(tmp_path / "flame_dynamic_embedding.npy", 100, seed=3, modern=modern)
    lmk = load_landmarks(path)
    expected = syn.dynamic_embedding(100, seed=3)
    assert np.array_equal(lmk.contour_face_index, expected["lmk_face_idx"])
    assert np.array_equal(lmk.contour_barycentric, expected["lmk_b_coords"])
    assert lmk.count == 17


def test_static_plus_dynamic_gives_68(files):
    lmk = load_landmarks(files["static"], files["dynamic"])
    assert lmk.count == 68 and lmk.has_contour
    model = flame_core.load_model(files["pkl"], landmarks=[files["static"], files["dynamic"]])
    out = model.forward(flame_core.FlameParams(rotation=[0, 0.3, 0]))
    assert out.landmarks.shape == (68, 3)
    static = barycentric_points(out.vertices, model.faces[lmk.face_index], lmk.barycentric)
    np.testing.assert_allclose(out.landmarks[17:], static, rtol=0, atol=1e-6)


def test_deca_bundle(files):
    lmk = load_landmarks(files["deca"])
    assert lmk.count == 68 and lmk.name == "deca"
    assert lmk.extra["full_face_index"].shape == (68,) and lmk.extra["full_barycentric"].shape == (68, 3)


def test_mediapipe(files):
    lmk = load_landmarks(files["mediapipe"])
    assert lmk.count == 105 and lmk.extra["landmark_indices"].shape == (105,)
    model = flame_core.load_model(files["pkl"], landmarks=files["mediapipe"])
    assert model.forward().landmarks.shape == (105, 3)


def test_landmarks_out_of_range_for_model(tmp_path, files):
    path = syn.write_static_embedding(tmp_path / "big.pkl", n_faces=5000)
    with pytest.raises(flame_core.ModelFileError, match="out of range"):
        flame_core.load_model(files["pkl"], landmarks=path)


def test_uvs_from_obj_and_texture(files):
    uv, uv_faces = load_uvs(files["obj"])
    np.testing.assert_allclose(uv, files["uv"], atol=1e-9)
    assert np.array_equal(uv_faces, files["uv_faces"])
    uv2, uv_faces2 = load_uvs(files["texture"])
    assert np.array_equal(uv2, files["uv"]) and np.array_equal(uv_faces2, files["uv_faces"])
    model = flame_core.load_model(files["pkl"], uvs=files["obj"])
    assert model.has_uvs and model.uv_faces.shape == model.faces.shape


def test_obj_of_another_topology_is_refused(tmp_path, files):
    raw = files["raw"]
    faces = raw["f"].astype(np.int64)[:, [1, 2, 0]]  # same triangles, other corner order
    path = syn.write_obj(tmp_path / "other.obj", raw["v_template"], faces, files["uv"], files["uv_faces"])
    with pytest.raises(flame_core.ModelFileError, match=r"other\.obj"):
        flame_core.load_model(files["pkl"], uvs=path)


def test_full_size_head_template(tmp_path):
    raw = syn.flame_arrays(n_verts=5023, n_faces=9976, n_shape=2, n_expr=1, seed=5)
    faces = raw["f"].astype(np.int64)
    uv, uv_faces = syn.uv_layout(faces, n_uv=5118)
    path = syn.write_obj(tmp_path / "head_template.obj", raw["v_template"], faces, uv, uv_faces)
    got_uv, got_faces = load_uvs(path)
    assert got_uv.shape == (5118, 2) and got_faces.shape == (9976, 3)
    assert np.array_equal(got_faces, uv_faces)


def test_masks(files):
    masks = load_masks(files["masks"])
    expected = syn.masks(60, seed=21)
    assert masks.keys() == expected.keys()
    assert all(np.array_equal(masks[k], expected[k]) for k in masks)
    model = flame_core.load_model(files["pkl"], masks=files["masks"])
    assert set(model.masks) == set(syn.MASK_NAMES)


def test_masks_out_of_range_for_model(tmp_path, files):
    path = syn.write_masks(tmp_path / "FLAME_masks.pkl", n_verts=5023)
    with pytest.raises(flame_core.ModelFileError, match=r"FLAME_masks\.pkl"):
        flame_core.load_model(files["pkl"], masks=path)
