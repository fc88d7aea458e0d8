"""Undo and redo of the operators that change the file, as the UI runs them (with an undo step each)."""

from __future__ import annotations

import bpy
import numpy as np
from helpers import mesh_positions


def as_ui(op, **kwargs):
    """Run an operator the way a button does: EXEC_DEFAULT with an undo step."""
    assert op("EXEC_DEFAULT", True, **kwargs) == {"FINISHED"}


def head():
    return next(o for o in bpy.data.objects if o.type == "MESH" and o.flame.is_head)


def test_undo_and_redo_restore_the_mesh_and_parameters():
    bpy.ops.ed.undo_push(message="start")
    as_ui(bpy.ops.flame.add_head)
    before = mesh_positions(head()).copy()
    as_ui(bpy.ops.flame.randomize_params, group="EXPRESSION", seed=3, scale=1.0)
    after = mesh_positions(head()).copy()
    assert np.abs(after - before).max() > 1e-3
    bpy.ops.ed.undo()
    np.testing.assert_array_equal(mesh_positions(head()), before)
    assert all(item.value == 0.0 for item in head().flame.expression)
    bpy.ops.ed.redo()
    np.testing.assert_array_equal(mesh_positions(head()), after)
    bpy.ops.ed.undo()
    bpy.ops.ed.undo()
    assert not any(o.type == "MESH" and o.flame.is_head for o in bpy.data.objects)  # add_head undone


def test_undo_removes_an_imported_animation_and_sampled_points(tmp_path, fc):
    path = fc.save_sequence(fc.demo_sequence(frames=5, fps=24.0), tmp_path / "seq.npz")
    bpy.ops.ed.undo_push(message="start")
    as_ui(bpy.ops.flame.add_head)
    rest = mesh_positions(head()).copy()
    as_ui(bpy.ops.flame.import_sequence, filepath=str(path))
    assert head().animation_data is not None and head().animation_data.action is not None
    as_ui(bpy.ops.flame.sample_points, count=100, seed=0)
    assert any(o.name.endswith("Points") for o in bpy.data.objects)
    bpy.ops.ed.undo()
    assert not any(o.name.endswith("Points") for o in bpy.data.objects)
    bpy.ops.ed.undo()
    assert head().animation_data is None or head().animation_data.action is None
    bpy.context.scene.frame_set(3)
    np.testing.assert_array_equal(mesh_positions(head()), rest)  # no keys drive it any more
