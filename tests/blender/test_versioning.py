"""Files saved by earlier versions (a coefficient stored per list item, animated as ``flame.shape[i].value``)
open with their values, keys and drivers on the coefficient arrays."""

from __future__ import annotations

import bpy
import numpy as np
import pytest
from helpers import add_head, blender_axes, mesh_positions


def _earlier_head(addon, model_path):
    """A head as an earlier version saved it: values on the items, F-Curves and a driver on the item paths."""
    head = add_head(model_path=model_path)
    head.flame.shape[2]["value"] = 0.75  # what the item stored
    head.flame.expression[1]["value"] = -0.5
    assert not head.flame.shape_values[0][2]  # not in the array yet
    head.animation_data_create()
    action = bpy.data.actions.new("earlier")
    head.animation_data.action = action
    channels = [
        addon.animation.Channel("flame.expression[3].value", 0, np.array([1.0, 11.0]), np.array([0.0, 2.0])),
        addon.animation.Channel("flame.expression[1].value", 0, np.array([1.0]), np.array([-0.5])),
    ]
    addon.animation.write_keyframes(head, channels)
    driver = head.driver_add("flame.jaw", 0)  # re-pointed below to an earlier coefficient path
    driver.driver.type = "SCRIPTED"
    driver.driver.expression = "0.25"
    driver.data_path, driver.array_index = "flame.shape[4].value", 0
    return head


def test_an_earlier_file_opens_with_values_keys_and_drivers_on_the_arrays(addon, model_file, tmp_path):
    model_path, model = model_file
    _earlier_head(addon, model_path)
    path = str(tmp_path / "earlier.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path)
    bpy.ops.wm.open_mainfile(filepath=path)
    head = next(o for o in bpy.data.objects if o.flame.is_head)
    keys = addon.animation.read_keyframes(head)
    assert ("flame.expression_values", 3) in keys and ("flame.expression_values", 1) in keys
    assert not any(path.endswith(".value") for path, _ in keys)
    np.testing.assert_allclose(keys[("flame.expression_values", 3)][1], [0.0, 2.0])
    assert [(d.data_path, d.array_index) for d in head.animation_data.drivers] == [("flame.shape_values", 4)]
    assert head.flame.shape[2].get("value") is None  # moved, not copied
    assert head.flame.shape[2].value == pytest.approx(0.75)
    bpy.context.scene.frame_set(11)
    f = head.flame
    assert f.expression[3].value == pytest.approx(2.0)
    assert f.shape[4].value == pytest.approx(0.25)  # the driver
    shape, expression = np.zeros(model.n_shape), np.zeros(model.n_expression)
    shape[[2, 4]] = 0.75, 0.25
    expression[[1, 3]] = -0.5, 2.0
    expected = blender_axes(model.forward(shape=shape, expression=expression).vertices)
    np.testing.assert_allclose(mesh_positions(head), expected, atol=2e-6)


def test_upgrading_twice_changes_nothing(addon, model_file):
    model_path, _ = model_file
    head = _earlier_head(addon, model_path)
    assert addon.versioning.upgrade_file() > 0
    before = addon.animation.read_keyframes(head)
    assert addon.versioning.upgrade_file() == 0
    assert addon.animation.read_keyframes(head).keys() == before.keys()
    assert addon.versioning.new_path("flame.jaw") is None
    assert addon.versioning.new_path("flame.expression[12].value") == ("flame.expression_values", 12)
