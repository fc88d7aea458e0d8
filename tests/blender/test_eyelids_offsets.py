"""Eyelids keyed on import and exported back (sequence and bound flame_param.npz); static offsets on the head."""

from __future__ import annotations

import importlib
import itertools

import bpy
import numpy as np
import pytest
from helpers import add_head, blender_axes, mesh_positions

FRAMES = 5


def vhap_file(path, rng, *, offset_vertices=None, dynamic=False):
    f32 = np.float32
    arrays = {
        "shape": (rng.normal(size=300) * 0.3).astype(f32),
        "expr": (rng.normal(size=(FRAMES, 100)) * 0.3).astype(f32),
        "rotation": (rng.normal(size=(FRAMES, 3)) * 0.05).astype(f32),
        "neck_pose": (rng.normal(size=(FRAMES, 3)) * 0.05).astype(f32),
        "jaw_pose": np.abs(rng.normal(size=(FRAMES, 3)) * 0.05).astype(f32),
        "eyes_pose": (rng.normal(size=(FRAMES, 6)) * 0.05).astype(f32),
        "translation": (rng.normal(size=(FRAMES, 3)) * 0.01).astype(f32),
        "eyelid_params": rng.uniform(0.1, 0.9, size=(FRAMES, 2)).astype(f32),
    }
    if offset_vertices:
        arrays["static_offset"] = (rng.normal(size=(1, offset_vertices, 3)) * 1e-3).astype(f32)
    if dynamic:
        arrays["dynamic_offset"] = (rng.normal(size=(FRAMES, offset_vertices, 3)) * 1e-3).astype(f32)
    np.savez(path, **arrays)
    return arrays


def import_file(path, **kwargs):
    assert bpy.ops.flame.import_sequence(filepath=str(path), **kwargs) == {"FINISHED"}
    return bpy.context.view_layer.objects.active


def test_eyelids_keyed_on_import_drive_the_demo_head_and_export_back(fc, addon, tmp_path):
    a = vhap_file(tmp_path / "tracked_flame_params.npz", np.random.default_rng(1))
    head = import_file(tmp_path / "tracked_flame_params.npz", frame_start=1, fps_mode="FILE")
    keys = addon.animation.read_keyframes(head)
    for i in range(2):
        frames, values = keys[("flame.eyelids", i)]
        np.testing.assert_array_equal(frames, np.arange(1, FRAMES + 1))
        np.testing.assert_array_equal(values, a["eyelid_params"][:, i].astype(np.float64))
    scene = bpy.context.scene
    scene.frame_set(3)
    model = fc.demo_model()
    seq = fc.load_sequence(tmp_path / "tracked_flame_params.npz")
    params = addon.evaluate.model_params(model.truncated(len(head.flame.shape), len(head.flame.expression)),
                                         seq.params[2])
    expected = model.truncated(len(head.flame.shape), len(head.flame.expression)).forward(params).vertices
    np.testing.assert_allclose(mesh_positions(head), blender_axes(expected), atol=2e-5)
    without = model.truncated(len(head.flame.shape), len(head.flame.expression)).forward(
        params.replace(eyelids=None)).vertices
    assert np.abs(blender_axes(without) - mesh_positions(head)).max() > 1e-3  # the lids did move
    out = tmp_path / "exported.npz"
    assert bpy.ops.flame.export_sequence(filepath=str(out), frame_start=1, frame_end=FRAMES) == {"FINISHED"}
    with np.load(out) as back:
        np.testing.assert_allclose(back["eyelid_params"], a["eyelid_params"], rtol=0, atol=1e-7)


def test_bound_export_writes_eyelid_params(fc, tmp_path):
    head = add_head()
    head.flame.eyelids = (0.25, 0.75)
    assert bpy.ops.flame.sample_points(count=200, seed=1, bind=True) == {"FINISHED"}
    bpy.context.view_layer.objects.active = head
    assert bpy.ops.flame.export_points(filepath=str(tmp_path / "avatar" / "point_cloud.ply"),
                                       layout="BOUND") == {"FINISHED"}
    with np.load(tmp_path / "avatar" / "flame_param.npz") as npz:
        np.testing.assert_allclose(npz["eyelid_params"], [[0.25, 0.75]], atol=1e-7)
        assert npz["static_offset"].shape == (1, 5143, 3) and not npz["static_offset"].any()


def test_static_offset_is_applied_and_exported(fc, addon, model_file, tmp_path):
    model_path, model = model_file
    head = add_head(model_path=model_path, n_shape=10, n_expression=8)
    n = model.n_vertices
    a = vhap_file(tmp_path / "flame_param.npz", np.random.default_rng(2), offset_vertices=n, dynamic=True)
    a_params = fc.load_sequence(tmp_path / "flame_param.npz").params
    obj = import_file(tmp_path / "flame_param.npz", frame_start=1, fps_mode="FILE")
    assert obj == head
    np.testing.assert_array_equal(addon.offsets.read(head), a["static_offset"][0])
    bpy.context.scene.frame_set(2)
    params = addon.evaluate.model_params(model, a_params[1].replace(eyelids=None))
    expected = model.forward(params, static_offset=a["static_offset"]).vertices
    np.testing.assert_allclose(mesh_positions(head), blender_axes(expected), atol=2e-5)
    out = tmp_path / "exported.npz"
    assert bpy.ops.flame.export_sequence(filepath=str(out), frame_start=1, frame_end=FRAMES) == {"FINISHED"}
    with np.load(out) as back:
        np.testing.assert_array_equal(back["static_offset"], a["static_offset"])
        assert "dynamic_offset" not in back.files  # not kept in Blender


def test_teeth_offsets_are_cut_to_a_head_without_teeth(fc, addon, tmp_path):
    head = add_head()
    a = vhap_file(tmp_path / "flame_param.npz", np.random.default_rng(3), offset_vertices=5143)
    import_file(tmp_path / "flame_param.npz", frame_start=1)
    np.testing.assert_array_equal(addon.offsets.read(head), a["static_offset"][0, :5023])


def test_failed_import_keeps_the_previous_offset(fc, addon, model_file, tmp_path):
    model_path, model = model_file
    head = add_head(model_path=model_path)
    before = np.full((model.n_vertices, 3), 1e-3, dtype=np.float32)
    addon.offsets.write(head, before)
    bad = tmp_path / "bad.npz"
    arrays = vhap_file(bad, np.random.default_rng(4), offset_vertices=model.n_vertices)
    arrays["static_offset"] = arrays["static_offset"][..., :2]  # (1, V, 2): not offsets
    np.savez(bad, **arrays)
    with pytest.raises(RuntimeError, match=r"static_offset must be \(1, V, 3\)"):
        bpy.ops.flame.import_sequence(filepath=str(bad))
    np.testing.assert_array_equal(addon.offsets.read(head), before)
    assert addon.animation.read_keyframes(head) == {}


def test_triangle_masks_are_regions_and_vertex_groups(fc, model_file, tmp_path):
    model_path, model = model_file
    upper = np.nonzero(model.v_template[model.faces].mean(axis=1)[:, 1] > 0.04)[0]  # a band of the grid
    assert 10 <= len(upper) < model.n_faces
    path = tmp_path / "FLAME_masks_triangles.npy"
    holder = np.empty((), dtype=object)
    holder[()] = {"upper_band": upper}
    np.save(path, holder, allow_pickle=True)
    prefs = bpy.context.preferences.addons["bl_ext.user_default.flame_head"].preferences
    prefs.masks_path = str(path)
    head = add_head(model_path=model_path)
    group = head.vertex_groups["upper_band"]
    members = [v.index for v in head.data.vertices if any(g.group == group.index for g in v.groups)]
    np.testing.assert_array_equal(members, np.unique(model.faces[upper]))
    assert bpy.ops.flame.sample_points(count=300, seed=1, region="upper_band") == {"FINISHED"}
    points = bpy.context.view_layer.objects.active
    attr = points.data.attributes["face_index"]
    face_index = np.empty(len(attr.data), dtype=np.int32)
    attr.data.foreach_get("value", face_index)
    assert len(face_index) == 300
    assert np.isin(face_index, upper).all()


def _prefs():
    return bpy.context.preferences.addons["bl_ext.user_default.flame_head"].preferences


def test_eyelid_shapes_from_the_preferences(fc, model_file, tmp_path):
    model_path, model = model_file
    dirs = np.zeros((model.n_vertices, 3, 2))
    for side, seed in enumerate((20, 150)):
        patch = np.unique(model.faces[np.isin(model.faces, seed).any(axis=1)])
        dirs[patch, 1, side] = -0.01
    np.save(tmp_path / "l_eyelid.npy", dirs[:, :, 0])
    np.save(tmp_path / "r_eyelid.npy", dirs[:, :, 1])
    _prefs().eyelids_path = str(tmp_path / "l_eyelid.npy")
    head = add_head(model_path=model_path)
    rest = mesh_positions(head).copy()
    head.flame.eyelids = (0.0, 1.0)
    moved = np.abs(mesh_positions(head) - rest).max(axis=1)
    np.testing.assert_allclose(mesh_positions(head) - rest, blender_axes(dirs[:, :, 1]), atol=1e-6)
    assert moved.max() > 5e-3


def test_teeth_from_the_preferences(fc, addon, tmp_path):
    teeth = importlib.import_module(f"{fc.__name__}.teeth")
    rng = np.random.default_rng(5)
    n = 5023
    faces = [[a, b, 0] for ring in (teeth.UPPER_LIP_RING, teeth.LOWER_LIP_RING) for a, b in itertools.pairwise(ring)]
    faces += [[i, i + 1, i + 2] for i in range(0, n - 2, 2)]  # FLAME's lip rings are paths along the edges
    weights = rng.random((n, 5))
    model = fc.FlameModel(
        v_template=rng.normal(size=(n, 3)) * 0.1, faces=np.array(faces), shapedirs=rng.normal(size=(n, 3, 4)) * 1e-3,
        exprdirs=rng.normal(size=(n, 3, 3)) * 1e-3, posedirs=np.zeros((n, 3, 36)),
        j_regressor=np.full((5, n), 1.0 / n), weights=weights / weights.sum(axis=1, keepdims=True),
    )
    path = fc.save_model(model, tmp_path / "flame_like.npz")
    _prefs().teeth = True
    head = add_head(model_path=str(path))
    assert len(head.data.vertices) == 5143 and "teeth" in head.vertex_groups
    a = vhap_file(tmp_path / "flame_param.npz", np.random.default_rng(6), offset_vertices=5143)
    import_file(tmp_path / "flame_param.npz", frame_start=1)
    np.testing.assert_array_equal(addon.offsets.read(head), a["static_offset"][0])
