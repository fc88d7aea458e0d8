"""Heads linked from another .blend: library overrides can be posed and keep their values (their mesh made
local); plain links are read-only for the operators."""

from __future__ import annotations

import bpy
import numpy as np
import pytest
from helpers import add_head, blender_axes, mesh_positions


def _library(tmp_path, model_path):
    """A .blend holding a head (in collection "Character") made from ``model_path``."""
    collection = bpy.data.collections.new("Character")
    bpy.context.scene.collection.children.link(collection)
    layer = bpy.context.view_layer.layer_collection.children["Character"]
    bpy.context.view_layer.active_layer_collection = layer
    head = add_head(model_path=model_path, n_shape=5, n_expression=5)
    head.name = "Linked Head"
    path = str(tmp_path / "library.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path)
    bpy.ops.wm.read_homefile(use_empty=True)
    return path


def _link_collection(path):
    with bpy.data.libraries.load(path, link=True) as (_src, dst):
        dst.collections = ["Character"]
    collection = dst.collections[0]
    bpy.context.scene.collection.children.link(collection)
    return collection


def test_library_override_keeps_posed_values_after_reload(tmp_path, model_file, addon):
    model_path, model = model_file
    library = _library(tmp_path, model_path)
    collection = _link_collection(library)
    collection.override_hierarchy_create(bpy.context.scene, bpy.context.view_layer)
    head = next(o for o in bpy.data.objects if o.override_library is not None and o.flame.is_head)
    head.override_library.is_system_override = False  # what "Make Editable" does in the outliner
    linked_mesh = head.data
    assert linked_mesh.library is not None
    head.flame.jaw[0] = 0.1  # posing just works: the linked mesh is made local once, and the panel says so
    assert addon.evaluate.error(head) is None
    assert head.data is not linked_mesh and head.data.library is None
    assert "made local" in addon.evaluate.note(head)
    local_mesh = head.data
    head.flame.jaw[0] = 0.12
    head.flame.jaw[0] = 0.1
    assert head.data == local_mesh  # once
    for name in ("shape_values", "expression_values", "rotation", "neck", "jaw", "eyes", "translation"):
        assert head.flame.is_property_overridable_library(name), name
    head.flame.neck[1] = 0.2
    head.flame.shape[2].value = 1.5
    assert head.keyframe_insert("flame.expression_values", index=1, frame=1)
    main = str(tmp_path / "main.blend")
    bpy.ops.wm.save_as_mainfile(filepath=main)
    bpy.ops.wm.open_mainfile(filepath=main)
    head = next(o for o in bpy.data.objects if o.override_library is not None and o.flame.is_head)
    assert head.flame.neck[1] == pytest.approx(0.2)
    assert head.flame.shape[2].value == pytest.approx(1.5)
    shape = np.zeros(model.n_shape)
    shape[2] = 1.5
    expected = blender_axes(model.forward(shape=shape, neck=[0, 0.2, 0], jaw=[0.1, 0, 0]).vertices)
    np.testing.assert_allclose(mesh_positions(head), expected, atol=2e-6)  # evaluated again on load
    assert head.data.library is None
    # The library changes and is saved again; the main file still opens posed.
    bpy.ops.wm.open_mainfile(filepath=library)
    bpy.data.objects["Linked Head"].location.x = 0.5
    bpy.ops.wm.save_mainfile()
    bpy.ops.wm.open_mainfile(filepath=main)
    head = next(o for o in bpy.data.objects if o.override_library is not None and o.flame.is_head)
    assert head.location.x == pytest.approx(0.5)
    head.flame.jaw[0] = 0.2
    assert addon.evaluate.error(head) is None
    expected = blender_axes(model.forward(shape=shape, neck=[0, 0.2, 0], jaw=[0.2, 0, 0]).vertices)
    np.testing.assert_allclose(mesh_positions(head), expected, atol=2e-6)


def test_linked_head_is_read_only_for_the_parameter_operators(tmp_path, model_file):
    library = _library(tmp_path, model_file[0])
    collection = _link_collection(library)
    head = collection.objects["Linked Head"]
    bpy.context.view_layer.objects.active = head
    assert head.flame.is_head and head.library is not None
    for name in ("reset_params", "randomize_params", "eyes_look_at", "add_rig"):
        assert not getattr(bpy.ops.flame, name).poll(), name
    before = mesh_positions(head).copy()
    with pytest.raises(RuntimeError, match="library"):
        bpy.ops.flame.import_sequence(filepath=str(tmp_path / "missing.npz"))
    np.testing.assert_array_equal(mesh_positions(head), before)
    # New objects made from a linked head go into the scene, not the (read-only) linked collection.
    assert bpy.ops.flame.sample_points(count=20, seed=0) == {"FINISHED"}
    points = bpy.context.view_layer.objects.active
    assert points.parent == head and points.name in bpy.context.scene.collection.objects
