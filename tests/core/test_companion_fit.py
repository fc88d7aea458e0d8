"""Companion files must be made for the model's mesh: refused on another topology, read on their own.

Two meshes with FLAME's sizes (5023 vertices, 9976 triangles) and different triangles: the demo head
and a random "FLAME-like" mesh. Each one's UVs, masks (per vertex and per triangle, SMIRK's layout)
and landmarks load on it and are refused on the other.
"""

from __future__ import annotations

import numpy as np
import pytest
import synthetic as syn
from conftest import random_arrays

import flame_core
from flame_core import FlameModel
from flame_core.errors import ModelFileError
from flame_core.io import attach, load_masks
from flame_core.sampling import sample_surface
from flame_core.topology import MAX_REGION_PIECES, face_region_pieces, uv_conflicts, vertex_region_pieces


@pytest.fixture(scope="module")
def demo() -> FlameModel:
    return flame_core.demo_model()


@pytest.fixture(scope="module")
def other() -> FlameModel:
    """FLAME's sizes, other triangles: the demo's vertices with a random triangulation."""
    arrays = random_arrays(n_verts=5023, n_faces=9976, seed=3)
    arrays["v_template"] = flame_core.demo_model().v_template.astype(np.float64)
    return FlameModel(**arrays)


def face_regions(model: FlameModel) -> dict[str, np.ndarray]:
    """Per-triangle regions of a model's vertex masks: the triangles with all three corners inside."""
    out = {}
    for name, idx in model.masks.items():
        inside = np.zeros(model.n_vertices, dtype=bool)
        inside[idx] = True
        out[name] = np.nonzero(inside[model.faces].all(axis=1))[0]
    return out


def test_uvs_from_npz(tmp_path, demo, other):
    path = syn.write_texture_npz(tmp_path / "FLAME_texture.npz", demo.uv_coords, demo.uv_faces)
    np.testing.assert_array_equal(attach(demo, uvs=path).uv_faces, demo.uv_faces)
    with pytest.raises(ModelFileError, match=r"FLAME_texture\.npz.*UVs were not made for this model's mesh"):
        attach(other, uvs=path)
    uv, uv_faces = syn.uv_layout(other.faces.astype(np.int64), n_uv=5118)
    theirs = syn.write_texture_npz(tmp_path / "other.npz", uv, uv_faces)
    assert attach(other, uvs=theirs).has_uvs
    with pytest.raises(ModelFileError, match=r"\d+ of \d+ UV vertices are used by corners of different mesh vertices"):
        attach(demo, uvs=theirs)


def test_uv_conflicts_count_shared_uv_vertices():
    faces = np.array([[0, 1, 2], [2, 1, 3]])
    assert uv_conflicts(faces, np.array([[0, 1, 2], [2, 1, 3]]), 4) == (0, 4)
    assert uv_conflicts(faces, np.array([[0, 1, 2], [0, 1, 3]]), 4) == (1, 4)  # UV 0 on vertices 0 and 2


def test_vertex_masks(tmp_path, demo, other):
    path = syn.write_py2_pickle(tmp_path / "FLAME_masks.pkl", dict(demo.masks))
    model = attach(demo, masks=path)
    assert model.masks.keys() == demo.masks.keys() and not model.face_masks
    with pytest.raises(ModelFileError, match=r"FLAME_masks\.pkl.*masks were not made for this model's mesh"):
        attach(other, masks=path)


def test_triangle_masks_smirk_layout(tmp_path, demo, other):
    regions = {f"{name}_triangles": idx for name, idx in face_regions(demo).items()}
    path = syn.write_object_npy(tmp_path / "FLAME_masks_triangles.npy", regions, modern=True)
    loaded = load_masks(path)
    assert loaded.keys() == regions.keys()
    assert all(np.array_equal(loaded[k], regions[k]) for k in regions)
    model = attach(demo, masks=path)
    assert model.face_masks.keys() == regions.keys() and model.masks.keys() == demo.masks.keys()
    assert model.metadata["face_masks_file"] == "FLAME_masks_triangles.npy"
    # a face region samples only its triangles; as a vertex mask it is its triangles' corners
    lips = model.region("lips_triangles")
    assert lips.dtype == bool and lips.sum() == len(regions["lips_triangles"])
    samples = sample_surface(model.v_template, model.faces, 500, seed=0, region=lips)
    assert np.isin(samples.face_index, regions["lips_triangles"]).all()
    corners = np.unique(demo.faces[regions["lips_triangles"]])
    np.testing.assert_array_equal(model.region_vertices("lips_triangles"), corners)
    assert set(model.region_names) == set(demo.masks) | set(regions)
    with pytest.raises(ModelFileError, match="masks were not made for this model's mesh") as info:
        attach(other, masks=path)
    assert "as faces:" in str(info.value)


def test_triangle_masks_are_saved_with_the_model(tmp_path, demo):
    path = syn.write_object_npy(tmp_path / "tri.npy", face_regions(demo))
    model = attach(demo, masks=path)
    back = flame_core.load_model(flame_core.save_model(model, tmp_path / "m.npz"))
    assert back.face_masks.keys() == model.face_masks.keys()
    assert all(np.array_equal(back.face_masks[k], model.face_masks[k]) for k in model.face_masks)


def test_region_pieces():
    faces = np.array([[0, 1, 2], [1, 2, 3], [4, 5, 6]])
    assert vertex_region_pieces(faces, 7, np.array([0, 1, 2, 3])) == 1
    assert vertex_region_pieces(faces, 7, np.array([0, 3])) == 2  # not joined by an edge
    assert vertex_region_pieces(faces, 7, np.array([0, 1, 4, 5])) == 2
    assert face_region_pieces(faces, 7, np.array([0, 1])) == 1 and face_region_pieces(faces, 7, np.array([0, 2])) == 2
    assert MAX_REGION_PIECES >= 2  # two eyes, two ears: unions of two patches are regions


def test_landmarks(tmp_path, demo, other):
    lmk = demo.landmarks
    path = tmp_path / "mediapipe_landmark_embedding.npz"
    np.savez(path, lmk_face_idx=lmk.face_index, lmk_b_coords=lmk.barycentric,
             landmark_indices=np.arange(len(lmk.face_index)))
    assert attach(demo, landmarks=path).landmarks.count == len(lmk.face_index)
    with pytest.raises(ModelFileError, match=r"mediapipe_landmark_embedding\.npz.*landmarks were not made"):
        attach(other, landmarks=path)
    theirs = syn.write_static_embedding(tmp_path / "static.pkl", other.n_faces, faces=other.faces.astype(np.int64))
    assert attach(other, landmarks=theirs).landmarks.count == 51
    with pytest.raises(ModelFileError, match="consecutive landmarks lie far apart"):
        attach(demo, landmarks=theirs)
    # the embedding objects are checked too, with their contour
    with pytest.raises(ModelFileError, match="landmarks were not made"):
        attach(other, landmarks=lmk)


def test_a_few_hand_picked_landmarks_are_not_judged(tmp_path, other):
    path = tmp_path / "five.npz"
    np.savez(path, lmk_face_idx=np.array([0, 5000, 9000, 100, 7000]), lmk_b_coords=np.full((5, 3), 1 / 3),
             landmark_indices=np.arange(5))
    assert attach(other, landmarks=path).landmarks.count == 5
