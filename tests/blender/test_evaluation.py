"""Properties drive the mesh exactly as flame_core's forward pass, directly and through animation."""

from __future__ import annotations

import bpy
import numpy as np
import pytest
from helpers import add_head, blender_axes, mesh_positions


def _expected(model, **fields):
    return blender_axes(model.forward(**fields).vertices)


def test_setting_properties_gives_forward_vertices(fc, model_file):
    path, model = model_file
    obj = add_head(model_path=path)
    f = obj.flame
    f.shape[2].value = 1.5
    f.expression[1].value = -0.7
    f.jaw = (0.25, 0.0, 0.05)
    f.rotation = (0.1, -0.2, 0.3)
    f.neck = (0.05, 0.1, 0.0)
    f.eyes = (0.1, 0.2, 0.0, -0.1, 0.2, 0.0)
    f.translation = (0.01, 0.02, -0.03)
    shape = np.zeros(model.n_shape)
    shape[2] = 1.5
    expression = np.zeros(model.n_expression)
    expression[1] = -0.7
    expected = _expected(
        model, shape=shape, expression=expression, jaw=[0.25, 0, 0.05], rotation=[0.1, -0.2, 0.3],
        neck=[0.05, 0.1, 0], eyes=[0.1, 0.2, 0, -0.1, 0.2, 0], translation=[0.01, 0.02, -0.03],
    )
    got = mesh_positions(obj)
    assert not np.allclose(got, blender_axes(model.v_template), atol=1e-4)
    np.testing.assert_allclose(got, expected, atol=2e-6)


def test_rotation_properties_are_radians_shown_as_degrees():
    obj = add_head()
    for name in ("rotation", "neck", "jaw", "eyes"):
        prop = obj.flame.bl_rna.properties[name]
        assert prop.unit == "ROTATION"
        assert prop.array_length == (6 if name == "eyes" else 3)
    assert obj.flame.bl_rna.properties["translation"].unit == "LENGTH"
    props = obj.flame.bl_rna.properties
    assert all(props[n].is_animatable for n in ("rotation", "neck", "jaw", "eyes", "translation"))
    assert props["shape_values"].is_animatable and props["expression_values"].is_animatable
    assert not obj.flame.shape[0].bl_rna.properties["value"].is_animatable  # a view of the array element
    assert not any(props[n].is_animatable for n in ("n_shape", "n_expression", "model_path", "shape_index"))
    obj.flame.jaw[0] = 0.5
    assert obj.flame.jaw[0] == pytest.approx(0.5)


def test_counts_grow_and_shrink_keeping_values(model_file):
    path, model = model_file
    obj = add_head(model_path=path, n_shape=5)
    f = obj.flame
    f.shape[1].value = 0.5
    f.shape[4].value = 0.9
    f.n_shape = 3
    assert len(f.shape) == 3 and f.shape[1].value == pytest.approx(0.5)
    f.n_shape = 8
    assert len(f.shape) == 8 and f.shape[1].value == pytest.approx(0.5)
    assert f.shape[4].value == 0.0 and f.shape[7].name == "Shape 008"
    f.n_shape = 300  # more than the file holds: clamped
    assert f.n_shape == len(f.shape) == model.n_shape
    f.shape[model.n_shape - 1].value = 0.3
    shape = np.zeros(model.n_shape)
    shape[1], shape[-1] = 0.5, 0.3
    np.testing.assert_allclose(mesh_positions(obj), _expected(model, shape=shape), atol=2e-6)


ALL_PATHS = (
    [("flame.shape_values", 0), ("flame.expression_values", 3)]
    + [(f"flame.{name}", i) for name in ("rotation", "neck", "jaw", "translation") for i in range(3)]
    + [("flame.eyes", i) for i in range(6)]
)


def test_every_property_path_is_keyframable_from_python(model_file):
    path, _model = model_file
    obj = add_head(model_path=path)
    for data_path, index in ALL_PATHS:
        assert obj.keyframe_insert(data_path, index=index, frame=1), data_path
    fcurves = _fcurves(obj)
    assert {(fc.data_path, fc.array_index) for fc in fcurves} == {(p, max(i, 0)) for p, i in ALL_PATHS}


def _fcurves(obj):
    action = obj.animation_data.action
    if hasattr(action, "fcurves"):  # Blender < 5.0
        try:
            return list(action.fcurves)
        except AttributeError:
            pass
    curves = []
    for layer in action.layers:
        for strip in layer.strips:
            for bag in strip.channelbags:
                curves.extend(bag.fcurves)
    return curves


def test_keyframes_drive_the_mesh_on_frame_change(model_file):
    path, model = model_file
    obj = add_head(model_path=path)
    scene = bpy.context.scene
    obj.flame.jaw = (0.0, 0.0, 0.0)
    obj.flame.expression[2].value = 0.0
    obj.keyframe_insert("flame.jaw", index=0, frame=1)
    obj.keyframe_insert("flame.expression_values", index=2, frame=1)
    obj.flame.jaw[0] = 0.4
    obj.flame.expression[2].value = 2.0
    obj.keyframe_insert("flame.jaw", index=0, frame=11)
    obj.keyframe_insert("flame.expression_values", index=2, frame=11)

    expression = np.zeros(model.n_expression)
    scene.frame_set(1)
    np.testing.assert_allclose(mesh_positions(obj), _expected(model, expression=expression), atol=2e-6)
    scene.frame_set(11)
    expression[2] = 2.0
    np.testing.assert_allclose(mesh_positions(obj), _expected(model, expression=expression, jaw=[0.4, 0, 0]),
                               atol=2e-6)
    scene.frame_set(6)
    jaw, value = obj.flame.jaw[0], obj.flame.expression[2].value
    assert 0.0 < jaw < 0.4 and 0.0 < value < 2.0
    expression[2] = value
    np.testing.assert_allclose(mesh_positions(obj), _expected(model, expression=expression, jaw=[jaw, 0, 0]),
                               atol=2e-6)


def test_two_heads_with_different_models_stay_independent(fc, model_file):
    path, model = model_file
    demo = fc.demo_model()
    a = add_head()
    b = add_head(model_path=path)
    assert len(a.data.vertices) != len(b.data.vertices)
    b.flame.expression[0].value = 1.0
    b.location.x = 1.0
    a.flame.jaw[0] = 0.3
    expression = np.zeros(model.n_expression)
    expression[0] = 1.0
    np.testing.assert_allclose(mesh_positions(b), _expected(model, expression=expression), atol=2e-6)
    np.testing.assert_allclose(mesh_positions(a), _expected(demo, jaw=[0.3, 0, 0]), atol=2e-6)
    bpy.context.scene.frame_set(5)  # the handler changes neither
    np.testing.assert_allclose(mesh_positions(b), _expected(model, expression=expression), atol=2e-6)
    np.testing.assert_allclose(mesh_positions(a), _expected(demo, jaw=[0.3, 0, 0]), atol=2e-6)
