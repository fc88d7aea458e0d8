"""Saving and reopening .blend files, missing model files, preferences and the fast cache."""

from __future__ import annotations

import os
import shutil

import bpy
import numpy as np
import pytest
from conftest import MODULE
from helpers import add_head, blender_axes, mesh_positions


def test_save_and_reload_keeps_parameters_and_animation(tmp_path, model_file, addon):
    path, model = model_file
    obj = add_head(model_path=path)
    obj.flame.shape[0].value = 1.0
    obj.flame.expression[1].value = 0.0
    obj.keyframe_insert("flame.expression_values", index=1, frame=1)
    obj.flame.expression[1].value = 1.5
    obj.keyframe_insert("flame.expression_values", index=1, frame=9)
    bpy.context.scene.frame_set(9)
    blend = str(tmp_path / "head.blend")
    bpy.ops.wm.save_as_mainfile(filepath=blend)

    # Scramble the saved mesh positions so that only re-evaluation on load can restore them.
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.wm.open_mainfile(filepath=blend)
    obj = bpy.data.objects["FLAME Head"]
    obj.data.vertices.foreach_set("co", np.zeros(3 * len(obj.data.vertices), dtype=np.float32))
    obj.data.update()
    bpy.ops.wm.save_mainfile()
    bpy.ops.wm.open_mainfile(filepath=blend)

    obj = bpy.data.objects["FLAME Head"]
    assert obj.flame.is_head and obj.flame.model_path == path
    assert obj.flame.shape[0].value == pytest.approx(1.0)
    assert bpy.context.scene.frame_current == 9
    shape = np.zeros(model.n_shape)
    shape[0] = 1.0
    expression = np.zeros(model.n_expression)
    expression[1] = 1.5
    np.testing.assert_allclose(mesh_positions(obj), blender_axes(model.forward(shape=shape, expression=expression)
                                                                 .vertices), atol=2e-6)
    bpy.context.scene.frame_set(1)
    assert obj.flame.expression[1].value == pytest.approx(0.0)
    np.testing.assert_allclose(mesh_positions(obj), blender_axes(model.forward(shape=shape).vertices), atol=2e-6)
    assert addon.evaluate.error(obj) is None


def test_head_whose_file_disappears_keeps_its_mesh_and_warns(tmp_path, model_file, addon):
    path, model = model_file
    moved = str(tmp_path / "elsewhere.npz")
    obj = add_head(model_path=path)
    obj.flame.expression[0].value = 1.0
    before = mesh_positions(obj).copy()
    shutil.move(path, moved)
    obj.flame.expression[0].value = 2.0  # update callback: must not raise
    bpy.context.scene.frame_set(3)  # handler: must not raise
    np.testing.assert_array_equal(mesh_positions(obj), before)
    message = addon.evaluate.error(obj)
    assert message and "not found" in message and path in message
    shutil.move(moved, path)
    obj.flame.expression[0].value = 2.0
    assert addon.evaluate.error(obj) is None
    expression = np.zeros(model.n_expression)
    expression[0] = 2.0
    np.testing.assert_allclose(mesh_positions(obj), blender_axes(model.forward(expression=expression).vertices),
                               atol=2e-6)


def test_missing_file_on_load_keeps_saved_mesh(tmp_path, model_file, addon):
    path, _model = model_file
    obj = add_head(model_path=path)
    obj.flame.jaw[0] = 0.2
    saved = mesh_positions(obj).copy()
    blend = str(tmp_path / "head.blend")
    bpy.ops.wm.save_as_mainfile(filepath=blend)
    os.remove(path)
    bpy.ops.wm.open_mainfile(filepath=blend)
    obj = bpy.data.objects["FLAME Head"]
    np.testing.assert_array_equal(mesh_positions(obj), saved)
    assert "not found" in addon.evaluate.error(obj)


def test_preferences_model_is_the_default(model_file):
    path, model = model_file
    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.model_path = path
    obj = add_head()
    assert obj.flame.model_path == ""
    assert len(obj.data.vertices) == model.n_vertices


def test_convert_to_fast_cache(model_file, fc):
    path, model = model_file
    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.model_path = path
    assert bpy.ops.flame.convert_model_cache() == {"FINISHED"}
    cached = prefs.model_path
    assert cached.endswith(".safetensors") and os.path.isfile(cached)
    user = bpy.utils.extension_path_user(MODULE)
    assert os.path.commonpath([cached, user]) == user
    again = fc.load_model(cached)
    np.testing.assert_array_equal(again.v_template, model.v_template)
    np.testing.assert_array_equal(again.faces, model.faces)
    obj = add_head(n_shape=3)
    obj.flame.shape[2].value = 0.5
    shape = np.zeros(3)
    shape[2] = 0.5
    np.testing.assert_allclose(mesh_positions(obj), blender_axes(model.forward(shape=shape).vertices), atol=2e-6)


def test_convert_without_model_is_not_possible():
    assert not bpy.ops.flame.convert_model_cache.poll()
