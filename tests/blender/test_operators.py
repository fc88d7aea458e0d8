"""Reset, randomize, copy/paste and the eyes look-at helper."""

from __future__ import annotations

import bpy
import numpy as np
import pytest
from helpers import add_head, blender_axes, mesh_positions


def _values(items):
    out = np.empty(len(items), dtype=np.float32)
    items.foreach_get("value", out)
    return out


def test_randomize_is_seeded_scaled_and_reset_clears(model_file):
    path, model = model_file
    obj = add_head(model_path=path)
    template = mesh_positions(obj).copy()
    assert bpy.ops.flame.randomize_params(group="EXPRESSION", seed=3, scale=0.5) == {"FINISHED"}
    first = _values(obj.flame.expression)
    assert np.all(first != 0) and np.abs(first).max() < 5 * 0.5
    assert not np.any(_values(obj.flame.shape))
    np.testing.assert_allclose(mesh_positions(obj), blender_axes(model.forward(expression=first).vertices),
                               atol=2e-6)
    bpy.ops.flame.randomize_params(group="EXPRESSION", seed=4, scale=0.5)
    assert not np.allclose(_values(obj.flame.expression), first)
    bpy.ops.flame.randomize_params(group="EXPRESSION", seed=3, scale=0.5)
    np.testing.assert_array_equal(_values(obj.flame.expression), first)
    bpy.ops.flame.randomize_params(group="SHAPE", seed=1, scale=1.0)
    obj.flame.jaw[0] = 0.3
    assert bpy.ops.flame.reset_params(group="SHAPE") == {"FINISHED"}
    assert not np.any(_values(obj.flame.shape)) and np.any(_values(obj.flame.expression))
    assert obj.flame.jaw[0] == pytest.approx(0.3)
    bpy.ops.flame.reset_params(group="POSE")
    assert tuple(obj.flame.jaw) == (0, 0, 0) and np.any(_values(obj.flame.expression))
    bpy.ops.flame.reset_params(group="ALL")
    np.testing.assert_allclose(mesh_positions(obj), template, atol=1e-7)


def test_copy_paste_between_heads(model_file):
    path, _model = model_file
    a = add_head(model_path=path)
    a.flame.shape[1].value = 0.8
    a.flame.expression[2].value = -1.0
    a.flame.jaw = (0.2, 0.0, 0.1)
    assert bpy.ops.flame.copy_params() == {"FINISHED"}
    b = add_head(model_path=path)
    assert b == bpy.context.active_object and not b.flame.shape[1].value
    assert bpy.ops.flame.paste_params(group="EXPRESSION") == {"FINISHED"}
    assert b.flame.expression[2].value == pytest.approx(-1.0) and b.flame.shape[1].value == 0
    assert bpy.ops.flame.paste_params(group="ALL") == {"FINISHED"}
    assert b.flame.shape[1].value == pytest.approx(0.8)
    assert tuple(b.flame.jaw) == pytest.approx((0.2, 0.0, 0.1))
    np.testing.assert_allclose(mesh_positions(b) - np.array(b.location), mesh_positions(a) - np.array(a.location),
                               atol=1e-7)


def test_paste_needs_a_copy_first(model_file):
    add_head(model_path=model_file[0])
    assert not bpy.ops.flame.paste_params.poll()


def test_paste_onto_a_head_with_a_missing_model_changes_nothing(tmp_path, model_file):
    path, _model = model_file
    add_head(model_path=path)
    bpy.context.active_object.flame.expression[0].value = 1.0
    bpy.ops.flame.copy_params()
    b = add_head(model_path=path)
    b.flame.model_path = str(tmp_path / "gone.npz")
    with pytest.raises(RuntimeError, match="not found"):
        bpy.ops.flame.paste_params()
    assert b.flame.expression[0].value == 0.0


def _eye_directions(fc, model, eyes, target):
    """World forward direction of each eye and the direction to the target (FLAME axes)."""
    from importlib import import_module

    lbs = import_module(fc.__name__ + ".lbs")
    out = model.forward(eyes=eyes)
    pose = fc.FlameParams(eyes=eyes).pose.reshape(5, 3)
    rot = lbs.rodrigues(pose)
    neck_world = rot[0] @ rot[1]
    result = []
    for side, joint in enumerate((3, 4)):
        forward = neck_world @ rot[3 + side] @ np.array([0.0, 0.0, 1.0])
        wanted = target - out.joints[joint]
        result.append((forward, wanted / np.linalg.norm(wanted)))
    return result


@pytest.mark.parametrize("where", ["cursor", "object"])
def test_eyes_look_at(fc, model_file, where):
    path, model = model_file
    obj = add_head(model_path=path)
    obj.location = (0.5, 0.0, 0.0)
    world = np.array([0.8, -0.6, 0.3])  # in front of the face (-Y), to the right and up
    if where == "cursor":
        bpy.context.scene.cursor.location = world
        assert bpy.ops.flame.eyes_look_at(target="CURSOR") == {"FINISHED"}
    else:
        empty = bpy.data.objects.new("Target", None)
        bpy.context.scene.collection.objects.link(empty)
        empty.location = world
        bpy.context.view_layer.update()
        assert bpy.ops.flame.eyes_look_at(target="OBJECT", target_object="Target") == {"FINISHED"}
    eyes = np.array(obj.flame.eyes)
    assert np.any(eyes)
    local = world - np.array(obj.location)
    target = np.array([local[0], local[2], -local[1]])  # Blender -> FLAME axes
    for forward, wanted in _eye_directions(fc, model, eyes, target):
        np.testing.assert_allclose(forward, wanted, atol=1e-5)


def test_look_at_missing_object_cancels(model_file):
    obj = add_head(model_path=model_file[0])
    with pytest.raises(RuntimeError, match="No object"):
        bpy.ops.flame.eyes_look_at(target="OBJECT", target_object="Nothing")
    assert tuple(obj.flame.eyes) == (0,) * 6
