"""Drivers, constraints and modes: whatever feeds a head updates its mesh at once, as shape keys would."""

from __future__ import annotations

import bpy
import numpy as np
import pytest
from helpers import add_head, blender_axes, mesh_positions


def _expected(model, **fields):
    return blender_axes(model.forward(**fields).vertices)


def _drive(head, path, index, target, expression=None, transform="LOC_X"):
    """A driver on ``head``'s ``path[index]`` reading ``target``'s world transform channel."""
    fcurve = head.driver_add(path, index) if index is not None else head.driver_add(path)
    driver = fcurve.driver
    variable = driver.variables.new()
    variable.name = "var"
    variable.type = "TRANSFORMS"
    variable.targets[0].id = target
    variable.targets[0].transform_type = transform
    variable.targets[0].transform_space = "WORLD_SPACE"
    if expression is None:
        driver.type = "AVERAGE"
    else:
        driver.type = "SCRIPTED"
        driver.expression = expression  # a simple expression: runs without Python auto-run
    return fcurve


def _empty(name):
    obj = bpy.data.objects.new(name, None)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def test_driver_on_a_pose_value_deforms_the_head_when_its_target_moves(model_file, addon, monkeypatch):
    path, model = model_file
    head = add_head(model_path=path)
    control = _empty("Jaw Control")
    _drive(head, "flame.jaw", 0, control)
    _drive(head, "flame.expression_values", 1, control, expression="2 * var", transform="LOC_Z")
    bpy.context.view_layer.update()
    writes = []
    original = addon.bridge.write_positions
    monkeypatch.setattr(addon.bridge, "write_positions", lambda *a: (writes.append(1), original(*a)))
    control.location = (0.25, 0.0, 0.4)  # dragging the driving object
    bpy.context.view_layer.update()
    expression = np.zeros(model.n_expression)
    expression[1] = 0.8
    np.testing.assert_allclose(mesh_positions(head), _expected(model, jaw=[0.25, 0, 0], expression=expression),
                               atol=2e-6)
    assert len(writes) == 1  # the head's own mesh write is reported back as an update, and stops there
    bpy.context.view_layer.update()
    bpy.context.view_layer.update()
    assert len(writes) == 1


def test_constraint_feeding_a_driver_updates_the_head(model_file):
    path, model = model_file
    head = add_head(model_path=path)
    leader, follower = _empty("Leader"), _empty("Follower")
    constraint = follower.constraints.new("COPY_LOCATION")
    constraint.target = leader
    _drive(head, "flame.neck", 1, follower)
    bpy.context.view_layer.update()
    leader.location.x = -0.3
    bpy.context.view_layer.update()
    np.testing.assert_allclose(mesh_positions(head), _expected(model, neck=[0, -0.3, 0]), atol=2e-6)


def test_a_parameter_source_drives_the_head(model_file, addon):
    """The hook a rig uses: a source changes the parameters and names what it depends on."""
    path, model = model_file
    head = add_head(model_path=path)
    control = _empty("Source Control")

    def params(obj, evaluated, fields):
        fields["jaw"] = np.array([control.evaluated_get(bpy.context.evaluated_depsgraph_get()).location.x, 0, 0],
                                 dtype=np.float32)
        return fields

    addon.evaluate.add_param_source("test", params, lambda obj: [control])
    try:
        control.location.x = 0.2
        bpy.context.view_layer.update()
        np.testing.assert_allclose(mesh_positions(head), _expected(model, jaw=[0.2, 0, 0]), atol=2e-6)
    finally:
        addon.evaluate.remove_param_source("test")
    bpy.context.view_layer.update()
    head.flame.jaw[1] = 0.0  # evaluated from its properties again
    np.testing.assert_allclose(mesh_positions(head), _expected(model), atol=2e-6)


@pytest.mark.parametrize("mode", ["EDIT", "SCULPT"])
def test_leaving_edit_or_sculpt_mode_shows_the_evaluated_head(model_file, mode):
    path, model = model_file
    head = add_head(model_path=path)
    head.keyframe_insert("flame.neck", frame=1)
    head.flame.neck = (0.0, 0.2, 0.0)
    head.keyframe_insert("flame.neck", frame=10)
    bpy.context.scene.frame_set(1)
    bpy.ops.object.mode_set(mode=mode)
    head.flame.jaw[0] = 0.3  # a value changed in the mode ...
    bpy.context.scene.frame_set(10)  # ... and a scrub
    bpy.ops.object.mode_set(mode="OBJECT")
    bpy.context.view_layer.update()
    np.testing.assert_allclose(mesh_positions(head), _expected(model, jaw=[0.3, 0, 0], neck=[0, 0.2, 0]), atol=2e-6)
